//! The `[executor]` section: how `jidoka executor`, the bridge from the
//! actions topic to the systems that carry commands out, reaches its
//! targets.
//!
//! Guarantees: [`ExecutorConfig::check`] is run at load, so a loaded config
//! names only known actions, every action routed to a target has what that
//! target needs (a URL, a repository and token, a program), and hold and
//! escalate go nowhere unless `send-hold` / `send-escalate` say so.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::secret::Secret;
use crate::schema::Action;

/// The executor bridge (`jidoka executor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExecutorConfig {
    /// Consumer group of the bridge on the actions topic; different from
    /// `kafka.group-id`. Delivery is at most once per bridge instance:
    /// instances sharing the group may repeat a command in flight during a
    /// rebalance (their delivery stores are their own).
    pub group_id: String,
    /// Directory of the bridge's RocksDB store (the delivery state of every
    /// command per target, which makes delivery at most once across
    /// restarts); created if missing.
    pub data_dir: PathBuf,
    /// `host:port` of the bridge's HTTP endpoint: `GET /metrics`,
    /// `GET /health`, `GET /health/live` and `POST /outcomes`. Empty: no
    /// endpoint.
    #[serde(default)]
    pub http_address: String,
    /// Key of the HMAC-SHA256 signatures: the bridge signs every request
    /// body it sends (`X-Jidoka-Signature-256`) and checks the signature of
    /// every `POST /outcomes`; at least 32 bytes. A [`Secret`]: a literal,
    /// `env:NAME` or `file:/path`. No default: `jidoka executor` refuses to
    /// start without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_key: Option<Secret>,
    /// How long one HTTP request (connect, send, answer) or one run of the
    /// `command` target may take (humantime). An HTTP request that times out
    /// may have reached the target: it is not retried (at most once).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Most attempts of one HTTP delivery (the first included) on 5xx
    /// answers and connection errors; after the last, the command is given
    /// up and reported `rejected`. At least 1.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled at every retry up to
    /// `backoff-max`, each wait drawn at random between half of it and all
    /// of it (jitter) (humantime).
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    /// Longest wait between two attempts (humantime).
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Commands whose record is older than this when the bridge reads them
    /// are not sent (a bridge started on a topic with a long history does
    /// not replay it to the targets); `0s`: no limit (humantime).
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// Target of every action not listed in `actions`: `webhook`, `github`,
    /// `command` or `none` (not sent; the offset is committed).
    pub target: TargetKind,
    /// Per-action target, overriding `target`, e.g.
    /// `retrain = "github"`, `rollback = "webhook"`. Keys: retrain,
    /// rollback, fallback, hold, escalate.
    #[serde(default)]
    pub actions: BTreeMap<String, TargetKind>,
    /// Send `hold` commands to their target (off: never sent).
    pub send_hold: bool,
    /// Send `escalate` commands to their target (off: never sent; they are
    /// for humans).
    pub send_escalate: bool,
    /// The `webhook` target.
    pub webhook: WebhookConfig,
    /// The `github` target (repository dispatch).
    pub github: GithubConfig,
    /// The `command` target (a local program).
    pub command: CommandConfig,
}

/// Where an action's commands go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// HTTP POST of the command as JSON, signed.
    Webhook,
    /// GitHub `repository_dispatch`.
    Github,
    /// A local program, the command as JSON on its stdin.
    Command,
    /// Not sent.
    None,
}

impl TargetKind {
    /// The name in config, metrics and the delivery state.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Webhook => "webhook",
            TargetKind::Github => "github",
            TargetKind::Command => "command",
            TargetKind::None => "none",
        }
    }
}

/// The `webhook` target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WebhookConfig {
    /// URL every webhook command is POSTed to, unless `urls` names one
    /// for its action.
    #[serde(default)]
    pub url: String,
    /// Per-action URL, e.g. `rollback = "https://deploy.example/hooks/rollback"`.
    #[serde(default)]
    pub urls: BTreeMap<String, String>,
}

/// The `github` target: `POST {api-url}/repos/{repository}/dispatches`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GithubConfig {
    /// Base URL of the GitHub REST API (`https://api.github.com`; GitHub
    /// Enterprise: `https://HOST/api/v3`).
    pub api_url: String,
    /// `owner/repo` receiving the `repository_dispatch` events.
    #[serde(default)]
    pub repository: String,
    /// Token with permission to dispatch (a fine-grained token with
    /// "Contents: write"). A [`Secret`]: a literal, `env:NAME` or
    /// `file:/path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
}

/// The `command` target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CommandConfig {
    /// Program run once per command (a path, or a name looked up in
    /// `PATH`), the command as JSON on its stdin.
    #[serde(default)]
    pub program: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

impl ExecutorConfig {
    /// Where commands of `action` go: `None` when they are not sent (target
    /// `none`, or hold and escalate without their opt-in).
    pub fn target_of(&self, action: Action) -> Option<TargetKind> {
        let opted_in = match action {
            Action::Hold => self.send_hold,
            Action::Escalate => self.send_escalate,
            Action::None => false,
            _ => true,
        };
        let kind = self
            .actions
            .get(action.as_str())
            .copied()
            .unwrap_or(self.target);
        (opted_in && kind != TargetKind::None).then_some(kind)
    }

    /// The webhook URL of `action`.
    pub fn webhook_url(&self, action: Action) -> Option<&str> {
        self.webhook
            .urls
            .get(action.as_str())
            .map(String::as_str)
            .or(Some(self.webhook.url.as_str()))
            .filter(|u| !u.trim().is_empty())
    }

    /// The endpoint's address, `None` when disabled.
    pub fn http_address(&self) -> Option<&str> {
        Some(self.http_address.trim()).filter(|a| !a.is_empty())
    }

    /// Checks the rules across fields: `Err((key, message))`.
    pub fn check(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, message: String| Err((key.to_string(), message));
        if self.group_id.trim().is_empty() {
            return fail("executor.group-id", "must not be empty".into());
        }
        if self.max_attempts == 0 {
            return fail("executor.max-attempts", "must be at least 1".into());
        }
        if self.timeout.is_zero() {
            return fail("executor.timeout", "must be more than 0s".into());
        }
        if self.backoff_initial > self.backoff_max {
            return fail(
                "executor.backoff-initial",
                "must not be more than executor.backoff-max".into(),
            );
        }
        for (table, keys) in [
            ("executor.actions", self.actions.keys().collect::<Vec<_>>()),
            (
                "executor.webhook.urls",
                self.webhook.urls.keys().collect::<Vec<_>>(),
            ),
        ] {
            for key in keys {
                if Action::command_from_name(key).is_none() {
                    return fail(
                        &format!("{table}.{key}"),
                        "is not an action (retrain, rollback, fallback, hold, escalate)".into(),
                    );
                }
            }
        }
        for action in Action::COMMANDS {
            let Some(kind) = self.target_of(action) else {
                continue;
            };
            let key = match self.actions.contains_key(action.as_str()) {
                true => format!("executor.actions.{action}"),
                false => "executor.target".to_string(),
            };
            match kind {
                TargetKind::Webhook => match self.webhook_url(action) {
                    None => {
                        return fail(
                            &key,
                            format!("sends {action} to the webhook, but neither executor.webhook.url nor executor.webhook.urls.{action} is set"),
                        )
                    }
                    Some(url) => {
                        if let Err(e) = reqwest::Url::parse(url) {
                            return fail(
                                &format!("executor.webhook.urls.{action}"),
                                format!("`{url}` is not a URL: {e}"),
                            );
                        }
                    }
                },
                TargetKind::Github => {
                    let repo = self.github.repository.trim();
                    let parts: Vec<&str> = repo.split('/').collect();
                    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                        return fail(
                            "executor.github.repository",
                            format!("must be `owner/repo` (executor sends {action} to github), got `{repo}`"),
                        );
                    }
                    if self.github.token.is_none() {
                        return fail(
                            "executor.github.token",
                            format!("is required: executor sends {action} to github"),
                        );
                    }
                    if let Err(e) = reqwest::Url::parse(&self.github.api_url) {
                        return fail(
                            "executor.github.api-url",
                            format!("`{}` is not a URL: {e}", self.github.api_url),
                        );
                    }
                }
                TargetKind::Command => {
                    if self.command.program.trim().is_empty() {
                        return fail(
                            "executor.command.program",
                            format!("is required: executor sends {action} to command"),
                        );
                    }
                }
                TargetKind::None => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn with(snippets: &[&str]) -> Result<Config, String> {
        Config::defaults_with(snippets).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_send_nothing() -> Result<(), String> {
        let cfg = with(&[])?;
        for a in Action::ALL {
            assert_eq!(cfg.executor.target_of(a), None, "{a}");
        }
        assert_eq!(cfg.executor.group_id, "jidoka-executor");
        Ok(())
    }

    #[test]
    fn per_action_targets_override_the_default_and_hold_escalate_need_opt_in() -> Result<(), String>
    {
        let cfg = with(&["[executor]\ntarget = \"webhook\"\n\
             webhook.url = \"http://127.0.0.1:9/all\"\n\
             webhook.urls.rollback = \"http://127.0.0.1:9/rollback\"\n\
             actions.retrain = \"command\"\n\
             command.program = \"/bin/cat\"\n"])?;
        let e = &cfg.executor;
        assert_eq!(e.target_of(Action::Retrain), Some(TargetKind::Command));
        assert_eq!(e.target_of(Action::Rollback), Some(TargetKind::Webhook));
        assert_eq!(e.target_of(Action::Fallback), Some(TargetKind::Webhook));
        assert_eq!(e.target_of(Action::Hold), None);
        assert_eq!(e.target_of(Action::Escalate), None);
        assert_eq!(e.target_of(Action::None), None);
        assert_eq!(
            e.webhook_url(Action::Rollback),
            Some("http://127.0.0.1:9/rollback")
        );
        assert_eq!(
            e.webhook_url(Action::Fallback),
            Some("http://127.0.0.1:9/all")
        );
        let opted = with(&[
            "[executor]\ntarget = \"webhook\"\nwebhook.url = \"http://x/\"\nsend-hold = true\nsend-escalate = true\nactions.escalate = \"none\"\n",
        ])?;
        assert_eq!(
            opted.executor.target_of(Action::Hold),
            Some(TargetKind::Webhook)
        );
        assert_eq!(opted.executor.target_of(Action::Escalate), None);
        Ok(())
    }

    #[test]
    fn missing_target_settings_name_the_key() {
        for (snippet, key) in [
            ("[executor]\ntarget = \"webhook\"\n", "executor.target"),
            (
                "[executor]\nactions.rollback = \"webhook\"\n",
                "executor.actions.rollback",
            ),
            (
                "[executor]\ntarget = \"github\"\ngithub.repository = \"acme\"\ngithub.token = \"t\"\n",
                "executor.github.repository",
            ),
            (
                "[executor]\ntarget = \"github\"\ngithub.repository = \"acme/models\"\n",
                "executor.github.token",
            ),
            ("[executor]\ntarget = \"command\"\n", "executor.command.program"),
            ("[executor]\nactions.reboot = \"none\"\n", "executor.actions.reboot"),
            ("[executor]\nmax-attempts = 0\n", "executor.max-attempts"),
            (
                "[executor]\nbackoff-initial = \"1m\"\nbackoff-max = \"1s\"\n",
                "executor.backoff-initial",
            ),
            (
                "[executor]\nhmac-key = \"short\"\n",
                "executor.hmac-key",
            ),
        ] {
            let err = with(&[snippet]).err().unwrap_or_default();
            assert!(err.contains(key), "{snippet}: {err}");
        }
    }
}
