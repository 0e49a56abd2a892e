//! `jidoka outcome report`: the last step of an executor's job (a CI
//! workflow, a deploy script) reports how a heal command ended; see
//! [`crate::heal::report`].
//!
//! Exit codes: 0 written, 1 Kafka failure, 2 bad arguments, 3 the command
//! id is not on the actions topic (nothing written).

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::config::Config;
use crate::heal::report::{self, OutcomeReport, ReportError};
use crate::schema::OutcomeStatus;

/// Outcome commands.
#[derive(Debug, Subcommand)]
pub enum OutcomeSubcommand {
    /// Report how a heal command ended, to the outcomes topic (the
    /// bandit's reward: recovery minus weighted cost).
    Report(ReportOutcomeArgs),
}

/// How a command ended, as the executor says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// The action ran and completed (the wire's `succeeded`).
    #[value(alias = "succeeded")]
    Completed,
    /// The action ran and failed.
    Failed,
    /// The executor refused the action.
    Rejected,
}

impl From<StatusArg> for OutcomeStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Completed => OutcomeStatus::Succeeded,
            StatusArg::Failed => OutcomeStatus::Failed,
            StatusArg::Rejected => OutcomeStatus::Rejected,
        }
    }
}

/// `outcome report` arguments.
#[derive(Debug, Args)]
pub struct ReportOutcomeArgs {
    /// The command answered (its `command_id` on the actions topic).
    #[arg(long)]
    pub command: String,
    /// How it ended.
    #[arg(long, value_enum)]
    pub status: StatusArg,
    /// Measured improvement (for example the accuracy regained), finite.
    #[arg(long, allow_negative_numbers = true)]
    pub recovery: f64,
    /// What the action cost (the unit `decide.bandit.cost-weight` expects),
    /// finite.
    #[arg(long, allow_negative_numbers = true)]
    pub cost: f64,
    /// Free text for people reading the outcome (a CI run's URL, why it
    /// failed), at most 4,096 bytes; not part of the reward.
    #[arg(long)]
    pub note: Option<String>,
}

/// Runs `outcome report`.
pub async fn main(cfg: &Config, command: OutcomeSubcommand) -> ExitCode {
    let OutcomeSubcommand::Report(args) = command;
    let request = OutcomeReport {
        command_id: args.command,
        status: args.status.into(),
        recovery: args.recovery,
        cost: args.cost,
        reported_at: super::now_ms(),
        note: args.note,
    };
    match report::report(cfg, &request, true).await {
        Ok(r) => {
            println!(
                "outcome of {} ({}, model {}) written to {} partition {} offset {}",
                r.outcome.command_id,
                r.outcome.status.as_str(),
                r.outcome.model_id,
                cfg.topics.outcomes,
                r.partition,
                r.offset
            );
            ExitCode::SUCCESS
        }
        Err(e @ ReportError::UnknownCommand { .. }) => fail(e, 3),
        Err(e) if e.is_refusal() => fail(e, 2),
        Err(e) => fail(e, 1),
    }
}

fn fail(e: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("jidoka outcome: {e}");
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<ReportOutcomeArgs, clap::Error> {
        let cli = Cli::try_parse_from(["jidoka", "outcome", "report"].iter().chain(args))?;
        match cli.command {
            Command::Outcome {
                command: OutcomeSubcommand::Report(a),
            } => Ok(a),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn arguments_parse_with_the_wire_status_and_negative_numbers() -> Result<(), clap::Error> {
        let a = parse(&[
            "--command",
            "cmd-1",
            "--status",
            "completed",
            "--recovery",
            "-0.5",
            "--cost",
            "12",
            "--note",
            "https://ci.example/runs/7",
        ])?;
        assert_eq!(a.note.as_deref(), Some("https://ci.example/runs/7"));
        assert_eq!(
            (a.command.as_str(), a.recovery, a.cost),
            ("cmd-1", -0.5, 12.0)
        );
        assert_eq!(OutcomeStatus::from(a.status), OutcomeStatus::Succeeded);
        let b = parse(&[
            "--command",
            "c",
            "--status",
            "succeeded",
            "--recovery",
            "0",
            "--cost",
            "0",
        ])?;
        assert_eq!(b.status, StatusArg::Completed);
        for bad in [
            vec!["--status", "completed", "--recovery", "0", "--cost", "0"],
            vec![
                "--command",
                "c",
                "--status",
                "done",
                "--recovery",
                "0",
                "--cost",
                "0",
            ],
            vec![
                "--command",
                "c",
                "--status",
                "failed",
                "--recovery",
                "x",
                "--cost",
                "0",
            ],
        ] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
        Ok(())
    }
}
