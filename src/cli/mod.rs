//! The `jidoka` command line: argument parsing and the commands.
//!
//! Exit codes: 0 success, 1 runtime failure (Kafka, disk, the demo's
//! expectation not met), 2 bad configuration or usage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod audit_args;
mod bench;
mod operator;
mod outcome;
mod signals;
pub use audit_args::{
    AuditCommand, AuditExportArgs, AuditFilterArgs, DriftCommand, DriftExportArgs, ExplainArgs,
    OutputArgs, RangeArgs, ReplayArgs, ReportArgs,
};
pub use bench::{AblationArgs, AlertsArgs, BenchCommand, ReportBenchArgs, ThroughputArgs};
pub use operator::{ApproveArgs, IssuerArgs, OperatorSubcommand, ScopeArgs, VetoArgs};
pub use outcome::{OutcomeSubcommand, ReportOutcomeArgs, StatusArg};
use tokio::sync::watch;

use crate::audit::{self, ReplayOptions};
use crate::config::{Config, LoadedConfig};
use crate::demo::{self, DemoOptions};
use crate::export;
use crate::kafka::{create_topics, TopicStatus};
use crate::pipeline;
use crate::telemetry::{self, Metrics};

/// jidoka: keeps production ML models healthy from their Kafka topics.
#[derive(Debug, Parser)]
#[command(name = "jidoka", version, about)]
pub struct Cli {
    /// Config file (TOML). Default: configs/jidoka.toml if it exists.
    #[arg(long, short, global = true, env = "JIDOKA_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the processor until SIGINT/SIGTERM.
    Run,
    /// Run the embedded demo (no Kafka needed), or with --produce write its
    /// stream to the configured Kafka.
    Demo(DemoArgs),
    /// Manage topics.
    Topics {
        /// Topic command.
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Read the audit trail: replay, verify, explain, export.
    Audit {
        /// Audit command.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Export the drift events.
    Drift {
        /// Drift command.
        #[command(subcommand)]
        command: DriftCommand,
    },
    /// Write a self-contained HTML report (drift history, decisions, action
    /// mix, bandit confidence, outcomes) from the drift-events, audit and
    /// evaluations topics.
    Report(ReportArgs),
    /// Issue a signed operator command (veto, approve, pause, resume).
    Operator {
        /// Operator command.
        #[command(subcommand)]
        command: OperatorSubcommand,
    },
    /// Run the executor bridge until SIGINT/SIGTERM: deliver heal commands
    /// from the actions topic to the configured targets (`[executor]`),
    /// and take outcomes on `POST /outcomes`.
    Executor,
    /// Report how a heal command ended (an executor's last step).
    Outcome {
        /// Outcome command.
        #[command(subcommand)]
        command: OutcomeSubcommand,
    },
    /// Inspect the configuration.
    Config {
        /// Config command.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// In-binary benchmarks.
    Bench {
        /// Benchmark.
        #[command(subcommand)]
        command: BenchCommand,
    },
}

/// Demo arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Records per model.
    #[arg(long, default_value_t = 5_000)]
    pub records: u64,
    /// Record at which churn-v7's tenure_days shifts.
    #[arg(long, default_value_t = 3_000)]
    pub shift_at: u64,
    /// Produce the demo stream (predictions of three models plus three
    /// corrupt records), then each model's stream run on past the reward's
    /// horizon plus one evaluation (so the commands issued within the stream
    /// can be measured again), to the configured Kafka's predictions topic and
    /// exit, instead of running the embedded demo.
    #[arg(long)]
    pub produce: bool,
    /// Embedded demo: serve /metrics and /health on this address while it
    /// runs (e.g. 127.0.0.1:9464).
    #[arg(long, conflicts_with = "produce")]
    pub http_address: Option<String>,
    /// Embedded demo: write the HTML report (drift history, decisions,
    /// outcomes) here at the end.
    #[arg(
        long,
        default_value = "jidoka-demo-report.html",
        conflicts_with = "produce"
    )]
    pub report: PathBuf,
    /// Embedded demo: how long the simulated executor takes to answer a
    /// heal command (e.g. 500ms, 2s).
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration, conflicts_with = "produce")]
    pub executor_delay: std::time::Duration,
}

/// Config commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML, each value with where it
    /// came from (default, file, env JIDOKA__…, or a [models."<glob>"]
    /// table).
    Show {
        /// Print this model's effective per-model settings (detection,
        /// features monitored, policy file) instead.
        #[arg(long)]
        model: Option<String>,
    },
}

/// Topic commands.
#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create every topic with its config (existing topics are left alone).
    Create,
}

/// Runs a parsed command line.
pub async fn main(cli: Cli) -> ExitCode {
    if let Command::Demo(args) = &cli.command {
        if !args.produce {
            return run_demo(args).await;
        }
    }
    if let Command::Bench { command } = &cli.command {
        return bench::main(command).await;
    }
    let output = match &cli.command {
        Command::Audit {
            command: AuditCommand::Export(a),
        } => Some(&a.output),
        Command::Drift {
            command: DriftCommand::Export(a),
        } => Some(&a.output),
        _ => None,
    };
    if let Some(Err(e)) = output.map(OutputArgs::format) {
        eprintln!("jidoka: {e}");
        return ExitCode::from(2);
    }
    if let Command::Report(args) = &cli.command {
        if let Err(e) = crate::report::Selection::new(None, args.range.from, args.range.to) {
            eprintln!("jidoka report: {e}");
            return ExitCode::from(2);
        }
    }
    if let Command::Config {
        command: ConfigCommand::Show { model },
    } = &cli.command
    {
        return match Config::show(cli.config.as_deref(), model.as_deref()) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("jidoka: {e}");
                ExitCode::from(2)
            }
        };
    }
    let loaded = match Config::load(cli.config.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("jidoka: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&loaded.config.telemetry);
    if matches!(cli.command, Command::Executor) && loaded.config.executor.hmac_key.is_none() {
        eprintln!("jidoka executor: {}", crate::executor::ExecutorError::NoKey);
        return ExitCode::from(2);
    }
    if let Command::Operator { command } = cli.command {
        return operator::main(&loaded.config, command).await;
    }
    if let Command::Outcome { command } = cli.command {
        return outcome::main(&loaded.config, command).await;
    }
    let result = match cli.command {
        Command::Run => run(&loaded).await,
        Command::Executor => executor(&loaded).await,
        Command::Topics {
            command: TopicsCommand::Create,
        } => topics_create(&loaded.config).await,
        Command::Audit {
            command: AuditCommand::Replay(args),
        } => replay(&loaded.config, args).await,
        Command::Audit {
            command: AuditCommand::Verify,
        } => verify(&loaded.config).await,
        Command::Audit {
            command: AuditCommand::Explain(args),
        } => explain(&loaded.config, args).await,
        Command::Audit {
            command: AuditCommand::Export(args),
        } => audit_export(&loaded.config, args).await,
        Command::Drift {
            command: DriftCommand::Export(args),
        } => drift_export(&loaded.config, args).await,
        Command::Report(args) => report(&loaded.config, args).await,
        Command::Demo(args) => demo_produce(&loaded.config, &args).await,
        Command::Bench { .. }
        | Command::Config { .. }
        | Command::Operator { .. }
        | Command::Outcome { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jidoka: {e}");
            ExitCode::from(1)
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wall-clock time in ms since the epoch (0 before it), for the commands
/// that stamp what they issue.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// How long the topic check at start waits for the broker.
const TOPIC_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Refuses to start `role` on topics that are missing, unequally
/// partitioned or not compacted where they must be.
async fn check_topics(cfg: &Config, role: crate::kafka::Role) -> Result<(), BoxError> {
    crate::kafka::check_topics(cfg, role, TOPIC_CHECK_TIMEOUT).await??;
    Ok(())
}

async fn run(loaded: &LoadedConfig) -> Result<(), BoxError> {
    check_topics(&loaded.config, crate::kafka::Role::Processor).await?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(signals::drain_on_signal(
        tx,
        loaded.config.pipeline.drain_timeout,
    ));
    pipeline::run(loaded, Arc::new(Metrics::default()), rx).await?;
    Ok(())
}

async fn executor(loaded: &LoadedConfig) -> Result<(), BoxError> {
    check_topics(&loaded.config, crate::kafka::Role::Executor).await?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(signals::drain_on_signal(
        tx,
        loaded.config.pipeline.drain_timeout,
    ));
    crate::executor::run(
        loaded,
        Arc::new(crate::executor::ExecutorMetrics::default()),
        rx,
    )
    .await?;
    Ok(())
}

async fn topics_create(cfg: &Config) -> Result<(), BoxError> {
    for (topic, status) in create_topics(cfg, Duration::from_secs(30)).await? {
        let status = match status {
            TopicStatus::Created => "created",
            TopicStatus::AlreadyExists => "exists",
        };
        println!("{topic}: {status}");
    }
    Ok(())
}

async fn replay(cfg: &Config, args: ReplayArgs) -> Result<(), BoxError> {
    let cfg = cfg.clone();
    let opts = ReplayOptions {
        filter: args.filter.filter(),
        latest: args.latest,
        from_beginning: args.from_beginning,
        follow: args.follow,
        order: args.order,
        json: args.json,
        progress: true,
    };
    let following = opts.follow || !opts.from_beginning;
    if following && opts.order == audit::ReplayOrder::Time {
        eprintln!(
            "following: records are printed in decision-time order within each batch \
             that arrived before the read caught up; a record that arrives later is \
             printed later (--order offset prints them as read)"
        );
    }
    let counts = tokio::task::spawn_blocking(move || {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        audit::replay(&cfg, &opts, &mut lock)
    })
    .await??;
    eprintln!(
        "{} audit records read, {} printed, {} undecodable",
        counts.read, counts.printed, counts.undecodable
    );
    Ok(())
}

async fn audit_export(cfg: &Config, args: AuditExportArgs) -> Result<(), BoxError> {
    let cfg = cfg.clone();
    let format = args.output.format()?;
    let out = args.output.out.clone();
    let filter = args.filter.filter();
    let counts = tokio::task::spawn_blocking(move || {
        let target = export::Target {
            out: &out,
            format,
            progress: true,
        };
        export::export_audit(&cfg, &filter, args.latest, &target)
    })
    .await??;
    print_export(&args.output, format, "audit", counts);
    Ok(())
}

async fn drift_export(cfg: &Config, args: DriftExportArgs) -> Result<(), BoxError> {
    let cfg = cfg.clone();
    let format = args.output.format()?;
    let out = args.output.out.clone();
    let filter = export::DriftFilter {
        model: args.range.model.clone(),
        kind: args.kind.clone(),
        from: args.range.from,
        to: args.range.to,
    };
    let counts = tokio::task::spawn_blocking(move || {
        let target = export::Target {
            out: &out,
            format,
            progress: true,
        };
        export::export_drift(&cfg, &filter, &target)
    })
    .await??;
    print_export(&args.output, format, "drift-events", counts);
    Ok(())
}

fn print_export(output: &OutputArgs, format: export::Format, what: &str, c: export::ExportCounts) {
    println!(
        "wrote {} ({}): {} rows; {} {what} records read, {} undecodable",
        output.out.display(),
        format.as_str(),
        c.rows,
        c.read,
        c.undecodable
    );
}

async fn verify(cfg: &Config) -> Result<(), BoxError> {
    let cfg = cfg.clone();
    let (reports, undecodable) =
        tokio::task::spawn_blocking(move || audit::verify_topic(&cfg)).await??;
    let broken = reports.iter().filter(|r| !r.is_intact()).count();
    print!("{}", verify_summary(&reports, undecodable));
    if broken > 0 || undecodable > 0 {
        return Err(format!(
            "audit trail broken for {broken} models ({undecodable} undecodable records)"
        )
        .into());
    }
    Ok(())
}

/// What `audit verify` prints: one block per model, then the totals.
pub fn verify_summary(reports: &[audit::ChainReport], undecodable: u64) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!("{r}\n"));
    }
    let broken = reports.iter().filter(|r| !r.is_intact()).count();
    let compacted: u64 = reports
        .iter()
        .map(|r| r.compacted + r.compacted_unnamed)
        .sum();
    let records: u64 = reports.iter().map(|r| r.records).sum();
    out.push_str(&format!(
        "{} models checked: {} intact, {broken} broken; {records} records, {compacted} compacted versions accounted for, {undecodable} undecodable records\n",
        reports.len(),
        reports.len() - broken,
    ));
    out
}

async fn explain(cfg: &Config, args: ExplainArgs) -> Result<(), BoxError> {
    let cfg = cfg.clone();
    let text = tokio::task::spawn_blocking(move || -> Result<String, audit::AuditError> {
        let versions = audit::decision_versions(&cfg, &args.decision_id)?;
        let ids: Vec<String> = versions
            .iter()
            .flat_map(|r| r.evidence.iter().filter_map(|e| e.drift_event_id.clone()))
            .collect();
        // The linked drift events add their time and kind; without them
        // the explanation still stands.
        let events = audit::drift_events(&cfg, &ids).unwrap_or_else(|e| {
            eprintln!("jidoka: drift events not read ({e}); explaining without them");
            Vec::new()
        });
        Ok(audit::explain_with_events(&versions, &events))
    })
    .await??;
    print!("{text}");
    Ok(())
}

async fn report(cfg: &Config, args: ReportArgs) -> Result<(), BoxError> {
    let cfg = cfg.clone();
    let now = now_ms();
    let out = args.out.clone();
    let selection =
        crate::report::Selection::new(args.range.model.as_deref(), args.range.from, args.range.to)?;
    let data = tokio::task::spawn_blocking(move || {
        crate::report::write_report(&cfg, &out, &selection, now)
    })
    .await??;
    let decisions: usize = data.models.iter().map(|m| m.decisions.len()).sum();
    let shown: u64 = data.models.iter().map(|m| m.evaluations).sum();
    println!(
        "wrote {}: {} models, {decisions} decisions, {} drift events, {} audit records, {} evaluation records ({shown} in range)",
        args.out.display(),
        data.models.len(),
        data.drift_events,
        data.audit_records,
        data.evaluations
    );
    Ok(())
}

async fn demo_produce(cfg: &Config, args: &DemoArgs) -> Result<(), BoxError> {
    let opts = DemoOptions {
        records: args.records,
        shift_at: args.shift_at,
        ..DemoOptions::default()
    };
    let produced = demo::produce_to(cfg, &opts).await?;
    println!(
        "produced {} predictions and {} corrupt records to {} at {}",
        produced.predictions, produced.corrupt, cfg.topics.predictions, cfg.kafka.bootstrap_servers
    );
    if produced.later > 0 {
        println!(
            "time passes: {} more predictions, each model's stream runs {} min on, past the {} horizon (and one evaluation) of every command its first {} records can trigger",
            produced.later,
            produced.later_ms / 60_000,
            humantime::format_duration(cfg.decide.reward.horizon),
            opts.records
        );
    }
    Ok(())
}

async fn run_demo(args: &DemoArgs) -> ExitCode {
    telemetry::init(&crate::config::TelemetryConfig::logging(
        crate::config::LogFormat::Text,
        "error",
    ));
    let opts = DemoOptions {
        records: args.records,
        shift_at: args.shift_at,
        http_address: args.http_address.clone(),
        executor_delay: args.executor_delay,
        report: Some(args.report.clone()),
        ..DemoOptions::default()
    };
    match demo::run(&opts).await {
        Ok(summary) => {
            println!("{}", demo::summary_line(&summary, &opts));
            if summary.is_expected(&opts) {
                ExitCode::SUCCESS
            } else {
                eprintln!("jidoka demo: the loop did not produce the expected commands");
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("jidoka demo: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
