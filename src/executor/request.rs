//! What the bridge sends for one command to one target, built without I/O
//! so it is unit-tested alone.
//!
//! Guarantees: the command's JSON is `serde_json` of
//! [`HealCommand`] (the contract's JSON form); every HTTP body is signed
//! (`X-Jidoka-Signature-256` over the exact bytes sent) and carries the
//! command id in `X-Jidoka-Command-Id` and `Idempotency-Key`; a GitHub
//! request is `POST {api-url}/repos/{owner}/{repo}/dispatches` with
//! `event_type = "jidoka-<action>"` and the command as `client_payload`.

use serde::{Deserialize, Serialize};

use super::sign::{self, COMMAND_ID_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER};
use crate::config::{ExecutorConfig, TargetKind};
use crate::schema::{HealCommand, OutcomeStatus};

/// One request to a target.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// An HTTP POST.
    Http {
        /// Where.
        url: String,
        /// Headers, lowercase names (the token's among them: never log them).
        headers: Vec<(String, String)>,
        /// The signed body.
        body: Vec<u8>,
    },
    /// A local program run.
    Program {
        /// Program.
        program: String,
        /// Arguments.
        args: Vec<String>,
        /// Its stdin: the command's JSON.
        stdin: Vec<u8>,
    },
}

/// Why no request could be built: the configuration's (checked at load, so
/// only a config built in code can get here).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The action has no target.
    #[error("action {0} has no target")]
    NoTarget(String),
    /// The webhook target has no URL for the action.
    #[error("no executor.webhook.url for action {0}")]
    NoUrl(String),
    /// GitHub without its token.
    #[error("executor.github.token is not set")]
    NoToken,
    /// The command did not encode (cannot happen for a decoded command).
    #[error("encoding the command as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The `repository_dispatch` body.
#[derive(Serialize)]
struct Dispatch<'a> {
    event_type: String,
    client_payload: &'a HealCommand,
}

/// The request for `command` to `kind`, signed with `key`.
pub fn build(
    cfg: &ExecutorConfig,
    key: &[u8],
    kind: TargetKind,
    command: &HealCommand,
) -> Result<Request, RequestError> {
    let action = command.action;
    match kind {
        TargetKind::Webhook => {
            let url = cfg
                .webhook_url(action)
                .ok_or_else(|| RequestError::NoUrl(action.to_string()))?;
            let body = serde_json::to_vec(command)?;
            Ok(http(
                url.to_string(),
                key,
                body,
                &command.command_id,
                vec![],
            ))
        }
        TargetKind::Github => {
            let token = cfg.github.token.as_ref().ok_or(RequestError::NoToken)?;
            let url = format!(
                "{}/repos/{}/dispatches",
                cfg.github.api_url.trim_end_matches('/'),
                cfg.github.repository.trim()
            );
            let body = serde_json::to_vec(&Dispatch {
                event_type: format!("jidoka-{action}"),
                client_payload: command,
            })?;
            let extra = vec![
                ("authorization".into(), format!("Bearer {}", token.expose())),
                ("accept".into(), "application/vnd.github+json".into()),
                ("x-github-api-version".into(), "2022-11-28".into()),
            ];
            Ok(http(url, key, body, &command.command_id, extra))
        }
        TargetKind::Command => Ok(Request::Program {
            program: cfg.command.program.clone(),
            args: cfg.command.args.clone(),
            stdin: serde_json::to_vec(command)?,
        }),
        TargetKind::None => Err(RequestError::NoTarget(action.to_string())),
    }
}

fn http(
    url: String,
    key: &[u8],
    body: Vec<u8>,
    command_id: &str,
    mut headers: Vec<(String, String)>,
) -> Request {
    headers.extend([
        ("content-type".to_string(), "application/json".to_string()),
        (
            "user-agent".into(),
            format!("jidoka/{}", env!("CARGO_PKG_VERSION")),
        ),
        (SIGNATURE_HEADER.into(), sign::header_value(key, &body)),
        (COMMAND_ID_HEADER.into(), command_id.to_string()),
        (IDEMPOTENCY_HEADER.into(), command_id.to_string()),
    ]);
    Request::Http { url, headers, body }
}

/// An outcome as JSON: the body of `POST /outcomes` and what a `command`
/// target may print on stdout. `status` is `completed` (or `succeeded`),
/// `failed` or `rejected`; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeBody {
    /// The command answered (required by `POST /outcomes`; a `command`
    /// target's is the command it ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<String>,
    /// How it ended.
    pub status: String,
    /// Measured improvement, finite.
    pub recovery: f64,
    /// What it cost, finite.
    pub cost: f64,
    /// Free text for people (a CI run's URL), at most 4,096 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl OutcomeBody {
    /// The status on the wire (`completed` is `succeeded`).
    pub fn status(&self) -> Option<OutcomeStatus> {
        match self.status.as_str() {
            "completed" => Some(OutcomeStatus::Succeeded),
            other => OutcomeStatus::from_name(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Secret};
    use crate::schema::Action;

    const KEY: &[u8] = b"request-test-key-0123456789abcdef";

    fn command(action: Action) -> HealCommand {
        HealCommand {
            command_id: "cmd-1".into(),
            decision_id: "dec-1".into(),
            model_id: "churn-v7".into(),
            model_version: "3".into(),
            action,
            reason: "drift".into(),
            evidence: vec!["e1".into()],
            issued_at: 1_700_000_000_000,
            config_version: "cfg".into(),
            target_command_id: None,
        }
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn webhook_posts_the_signed_command_json_to_the_actions_url(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults_with(&["[executor]\ntarget = \"webhook\"\n\
             webhook.url = \"http://h/all\"\nwebhook.urls.rollback = \"http://h/rb\"\n"])?;
        let Request::Http { url, headers, body } = build(
            &cfg.executor,
            KEY,
            TargetKind::Webhook,
            &command(Action::Rollback),
        )?
        else {
            panic!("not http");
        };
        assert_eq!(url, "http://h/rb");
        let back: HealCommand = serde_json::from_slice(&body)?;
        assert_eq!(back, command(Action::Rollback));
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(json["action"], "rollback");
        assert_eq!(
            sign::verify(KEY, &body, header(&headers, SIGNATURE_HEADER)),
            Ok(())
        );
        assert_eq!(header(&headers, COMMAND_ID_HEADER), Some("cmd-1"));
        assert_eq!(header(&headers, IDEMPOTENCY_HEADER), Some("cmd-1"));
        assert_eq!(header(&headers, "authorization"), None);
        let Request::Http { url, .. } = build(
            &cfg.executor,
            KEY,
            TargetKind::Webhook,
            &command(Action::Fallback),
        )?
        else {
            panic!("not http");
        };
        assert_eq!(url, "http://h/all");
        Ok(())
    }

    #[test]
    fn github_dispatches_an_event_per_action_with_the_command_as_payload(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let mut cfg = Config::defaults()?;
        cfg.executor.github.api_url = "http://ghe.local/api/v3/".into();
        cfg.executor.github.repository = "acme/models".into();
        cfg.executor.github.token = Some(Secret::new("ghp_token"));
        let Request::Http { url, headers, body } = build(
            &cfg.executor,
            KEY,
            TargetKind::Github,
            &command(Action::Retrain),
        )?
        else {
            panic!("not http");
        };
        assert_eq!(url, "http://ghe.local/api/v3/repos/acme/models/dispatches");
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(json["event_type"], "jidoka-retrain");
        let payload: HealCommand = serde_json::from_value(json["client_payload"].clone())?;
        assert_eq!(payload, command(Action::Retrain));
        assert_eq!(header(&headers, "authorization"), Some("Bearer ghp_token"));
        assert_eq!(
            header(&headers, "accept"),
            Some("application/vnd.github+json")
        );
        assert!(header(&headers, "user-agent").is_some());
        assert_eq!(
            sign::verify(KEY, &body, header(&headers, SIGNATURE_HEADER)),
            Ok(())
        );
        cfg.executor.github.token = None;
        assert!(matches!(
            build(
                &cfg.executor,
                KEY,
                TargetKind::Github,
                &command(Action::Retrain)
            ),
            Err(RequestError::NoToken)
        ));
        Ok(())
    }

    #[test]
    fn command_target_gets_the_json_on_stdin_and_none_builds_nothing(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let mut cfg = Config::defaults()?;
        cfg.executor.command.program = "kubectl".into();
        cfg.executor.command.args = vec!["apply".into(), "-f".into(), "-".into()];
        let r = build(
            &cfg.executor,
            KEY,
            TargetKind::Command,
            &command(Action::Hold),
        )?;
        let Request::Program {
            program,
            args,
            stdin,
        } = r
        else {
            panic!("not a program");
        };
        assert_eq!((program.as_str(), args.len()), ("kubectl", 3));
        assert_eq!(
            serde_json::from_slice::<HealCommand>(&stdin)?,
            command(Action::Hold)
        );
        assert!(build(&cfg.executor, KEY, TargetKind::None, &command(Action::Hold)).is_err());
        Ok(())
    }

    #[test]
    fn outcome_bodies_take_the_cli_and_wire_status_names() -> Result<(), serde_json::Error> {
        for (name, status) in [
            ("completed", Some(OutcomeStatus::Succeeded)),
            ("succeeded", Some(OutcomeStatus::Succeeded)),
            ("failed", Some(OutcomeStatus::Failed)),
            ("rejected", Some(OutcomeStatus::Rejected)),
            ("done", None),
        ] {
            let body: OutcomeBody = serde_json::from_str(&format!(
                r#"{{"status":"{name}","recovery":0.5,"cost":1,"note":"ignored"}}"#
            ))?;
            assert_eq!(body.status(), status, "{name}");
            assert_eq!(body.command_id, None);
        }
        Ok(())
    }
}
