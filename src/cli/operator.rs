//! `jidoka operator veto|approve|pause|resume`: build a command, sign it with
//! `operator.hmac-key` and publish it to the operator topic.
//!
//! Exit codes: 0 written, 1 Kafka failure, 2 no key or a bad command.

use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::operator::{self, PublishError};
use crate::schema::{Action, AvroRecord, OperatorCommand, OperatorKind};

/// Issued-by name when neither `--by` nor `$USER` gives one.
const DEFAULT_ISSUER: &str = "operator";

/// Operator commands.
#[derive(Debug, Subcommand)]
pub enum OperatorSubcommand {
    /// Cancel a model's heal command (`--command`), or its next ones.
    Veto(VetoArgs),
    /// Approve an escalation, optionally with another action.
    Approve(ApproveArgs),
    /// Stop automatic actions of one model (`--model`) or of every model.
    Pause(ScopeArgs),
    /// Resume automatic actions of one model (`--model`) or of every model.
    Resume(ScopeArgs),
}

/// Arguments every operator command takes.
#[derive(Debug, Args)]
pub struct IssuerArgs {
    /// Who issues the command. Default: $USER, else "operator".
    #[arg(long)]
    pub by: Option<String>,
    /// Free-text reason, recorded with the command.
    #[arg(long)]
    pub note: Option<String>,
}

/// `veto` arguments.
#[derive(Debug, Args)]
pub struct VetoArgs {
    /// Model concerned.
    #[arg(long)]
    pub model: String,
    /// Heal command vetoed (its `command_id`).
    #[arg(long)]
    pub command: Option<String>,
    /// Issuer and note.
    #[command(flatten)]
    pub issuer: IssuerArgs,
}

/// `approve` arguments.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Model concerned.
    #[arg(long)]
    pub model: String,
    /// Escalation approved (its `command_id`).
    #[arg(long)]
    pub command: String,
    /// Action to take instead of the escalation's proposal.
    #[arg(long, value_parser = PossibleValuesParser::new(Action::COMMANDS.map(Action::as_str)))]
    pub action: Option<String>,
    /// Issuer and note.
    #[command(flatten)]
    pub issuer: IssuerArgs,
}

/// `pause` / `resume` arguments.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Model concerned; every model when absent.
    #[arg(long)]
    pub model: Option<String>,
    /// Issuer and note.
    #[command(flatten)]
    pub issuer: IssuerArgs,
}

/// The unsigned command the arguments ask for.
pub fn build(
    args: &OperatorSubcommand,
    command_id: String,
    issued_at: i64,
    user: Option<String>,
) -> OperatorCommand {
    let (kind, model, target, action, issuer) = match args {
        OperatorSubcommand::Veto(a) => (
            OperatorKind::Veto,
            Some(&a.model),
            a.command.as_ref(),
            None,
            &a.issuer,
        ),
        OperatorSubcommand::Approve(a) => (
            OperatorKind::Approve,
            Some(&a.model),
            Some(&a.command),
            a.action.as_ref(),
            &a.issuer,
        ),
        OperatorSubcommand::Pause(a) => {
            (OperatorKind::Pause, a.model.as_ref(), None, None, &a.issuer)
        }
        OperatorSubcommand::Resume(a) => (
            OperatorKind::Resume,
            a.model.as_ref(),
            None,
            None,
            &a.issuer,
        ),
    };
    let issued_by = issuer
        .by
        .clone()
        .or(user.filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_ISSUER.to_string());
    OperatorCommand {
        command_id,
        kind,
        model_id: model.cloned(),
        target_command_id: target.cloned(),
        issued_by,
        issued_at,
        signature: None,
        action: action.cloned(),
        note: issuer.note.clone(),
    }
}

/// Builds, signs and publishes the command; prints its id and the
/// partitions written.
pub async fn main(cfg: &Config, args: OperatorSubcommand) -> ExitCode {
    let key = match operator::signing_key(cfg) {
        Ok(key) => key,
        Err(e) => return fail(e, 2),
    };
    let mut cmd = build(
        &args,
        operator::new_command_id(),
        super::now_ms(),
        std::env::var("USER").ok(),
    );
    if cmd.issued_by.trim().is_empty() {
        return fail("--by must not be empty", 2);
    }
    if let Err(e) = cmd.check() {
        return fail(format!("invalid command: {e}"), 2);
    }
    operator::sign(&mut cmd, key);
    match operator::publish(cfg, &cmd).await {
        Ok(written) => {
            let scope = cmd.model_id.as_deref().unwrap_or("every model");
            let copies: Vec<String> = written
                .iter()
                .map(|(p, o)| format!("partition {p} offset {o}"))
                .collect();
            println!(
                "{} {} ({scope}) written to {}: {}",
                cmd.command_id,
                cmd.kind,
                cfg.topics.operator,
                copies.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e @ (PublishError::Invalid(_) | PublishError::NoTopic { .. })) => fail(e, 2),
        Err(e) => fail(e, 1),
    }
}

fn fail(e: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("jidoka operator: {e}");
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<OperatorSubcommand, clap::Error> {
        let cli = Cli::try_parse_from(["jidoka", "operator"].iter().chain(args))?;
        match cli.command {
            Command::Operator { command } => Ok(command),
            other => panic!("parsed as {other:?}"),
        }
    }

    fn built(args: &[&str], user: Option<&str>) -> Result<OperatorCommand, clap::Error> {
        Ok(build(
            &parse(args)?,
            "op-1".into(),
            42,
            user.map(str::to_string),
        ))
    }

    #[test]
    fn veto_names_model_and_optional_command() -> Result<(), clap::Error> {
        let c = built(
            &[
                "veto",
                "--model",
                "churn-v7",
                "--command",
                "cmd-1",
                "--note",
                "bad data",
            ],
            Some("alice"),
        )?;
        assert_eq!(c.kind, OperatorKind::Veto);
        assert_eq!(c.model_id.as_deref(), Some("churn-v7"));
        assert_eq!(c.target_command_id.as_deref(), Some("cmd-1"));
        assert_eq!(c.note.as_deref(), Some("bad data"));
        assert_eq!(c.issued_by, "alice");
        assert_eq!((c.command_id.as_str(), c.issued_at), ("op-1", 42));
        assert_eq!((c.signature, c.action), (None, None));
        let c = built(&["veto", "--model", "m"], None)?;
        assert_eq!(c.target_command_id, None);
        assert!(parse(&["veto"]).is_err(), "--model is required");
        Ok(())
    }

    #[test]
    fn approve_requires_command_and_checks_action() -> Result<(), clap::Error> {
        let c = built(
            &[
                "approve",
                "--model",
                "m",
                "--command",
                "esc-1",
                "--action",
                "rollback",
                "--by",
                "bob",
            ],
            Some("alice"),
        )?;
        assert_eq!(c.kind, OperatorKind::Approve);
        assert_eq!(c.target_command_id.as_deref(), Some("esc-1"));
        assert_eq!(c.action.as_deref(), Some("rollback"));
        assert_eq!(c.issued_by, "bob");
        assert_eq!(c.check(), Ok(()));
        assert!(parse(&["approve", "--model", "m"]).is_err());
        assert!(parse(&[
            "approve",
            "--model",
            "m",
            "--command",
            "c",
            "--action",
            "reboot"
        ])
        .is_err());
        Ok(())
    }

    #[test]
    fn pause_and_resume_with_or_without_model() -> Result<(), clap::Error> {
        let c = built(&["pause"], None)?;
        assert_eq!((c.kind, c.model_id.clone()), (OperatorKind::Pause, None));
        assert_eq!(c.issued_by, DEFAULT_ISSUER);
        assert_eq!(c.check(), Ok(()));
        let c = built(&["resume", "--model", "m", "--note", "fixed"], Some(" "))?;
        assert_eq!(c.kind, OperatorKind::Resume);
        assert_eq!(c.model_id.as_deref(), Some("m"));
        assert_eq!(c.note.as_deref(), Some("fixed"));
        assert_eq!(c.issued_by, DEFAULT_ISSUER);
        Ok(())
    }

    #[tokio::test]
    async fn no_key_is_a_configuration_error() -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults()?;
        assert!(matches!(
            operator::signing_key(&cfg),
            Err(PublishError::NoKey)
        ));
        assert!(PublishError::NoKey
            .to_string()
            .contains("operator.hmac-key"));
        let code = main(&cfg, parse(&["pause"])?).await;
        assert_eq!(code, ExitCode::from(2));
        Ok(())
    }
}
