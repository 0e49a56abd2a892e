//! `jidoka bench`: the in-binary benchmarks' arguments and their runs.
//!
//! Exit codes as for every command: 0 success, 1 the benchmark failed
//! (broker, lost records), 2 bad usage.

use std::process::ExitCode;

use clap::{Args, Subcommand};

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The seed system's ablation (rules, bandit, hybrid, oracle) and jidoka's engine.
    Ablation(AblationArgs),
    /// Records/s of the pipeline end to end against a plain consumer, on
    /// an in-process mock broker; restore speed, peak RSS, state bytes.
    Throughput(ThroughputArgs),
    /// Time and size of the HTML report for many evaluations (decode, fold
    /// into the history, build, render), without Kafka.
    Report(ReportBenchArgs),
}

/// Report benchmark arguments.
#[derive(Debug, Args)]
pub struct ReportBenchArgs {
    /// Evaluation records.
    #[arg(long, default_value_t = 1_000_000)]
    pub evaluations: u64,
    /// Models.
    #[arg(long, default_value_t = 20)]
    pub models: u32,
    /// Features per model.
    #[arg(long, default_value_t = 10)]
    pub features: u32,
    /// Days the evaluations span.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Write the page here too (to look at it).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Print one JSON object instead of the lines.
    #[arg(long)]
    pub json: bool,
}

/// Throughput arguments.
#[derive(Debug, Args)]
pub struct ThroughputArgs {
    /// Predictions to produce and process.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Models (record keys); drift is planted in a tenth of them.
    #[arg(long, default_value_t = 1_000)]
    pub models: u32,
    /// Numeric features per prediction.
    #[arg(long, default_value_t = 10)]
    pub features: u32,
    /// Partitions of every topic (default: sized so that the mock broker
    /// keeps every record).
    #[arg(long)]
    pub partitions: Option<i32>,
    /// Detection window size (`detect.window-size`).
    #[arg(long, default_value_t = 500)]
    pub window: usize,
    /// Cases to run, comma-separated: changelog, no-changelog, transactions.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "changelog,no-changelog,transactions",
        value_parser = crate::bench::throughput::Case::parse
    )]
    pub cases: Vec<crate::bench::throughput::Case>,
    /// Seed of the generated predictions.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Ablation arguments.
#[derive(Debug, Args)]
pub struct AblationArgs {
    /// Seeds (replicates of 200 scenarios each).
    #[arg(long, default_value_t = 30)]
    pub seeds: usize,
    /// Base seed.
    #[arg(long, default_value_t = 20_240_601)]
    pub base_seed: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs a benchmark and prints its report.
pub async fn main(command: &BenchCommand) -> ExitCode {
    match command {
        BenchCommand::Ablation(args) => {
            let report = crate::bench::ablation::run_ablation(args.seeds, args.base_seed);
            if args.json {
                println!("{}", crate::bench::ablation::to_json(&report));
            } else {
                print!("{}", crate::bench::ablation::to_table(&report));
            }
            ExitCode::SUCCESS
        }
        BenchCommand::Throughput(args) => throughput(args).await,
        BenchCommand::Report(args) => report(args),
    }
}

fn report(args: &ReportBenchArgs) -> ExitCode {
    use crate::bench::report::{self as rb, ReportBenchError, ReportBenchOptions};
    let opts = ReportBenchOptions {
        evaluations: args.evaluations,
        models: args.models,
        features: args.features,
        days: args.days,
        seed: args.seed,
    };
    match rb::run_report_bench(opts, args.out.as_deref()) {
        Ok(r) => {
            if args.json {
                println!("{}", rb::to_json(&r));
            } else {
                print!("{}", rb::to_table(&r));
            }
            ExitCode::SUCCESS
        }
        Err(e @ ReportBenchError::Usage(_)) => {
            eprintln!("jidoka bench report: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("jidoka bench report: {e}");
            ExitCode::from(1)
        }
    }
}

async fn throughput(args: &ThroughputArgs) -> ExitCode {
    use crate::bench::throughput::{self as tp, BenchError};
    let opts = tp::ThroughputOptions {
        records: args.records,
        models: args.models,
        features: args.features,
        partitions: args.partitions,
        window: args.window,
        cases: tp::Case::in_run_order(&args.cases),
        seed: args.seed,
    };
    let ran = tokio::task::spawn_blocking(move || {
        tp::run_throughput(&opts, &mut |line: &str| eprintln!("jidoka bench: {line}"))
    })
    .await;
    match ran {
        Ok(Ok(report)) => {
            if args.json {
                println!("{}", tp::to_json(&report));
            } else {
                print!("{}", tp::to_table(&report));
            }
            ExitCode::SUCCESS
        }
        Ok(Err(e @ BenchError::Usage(_))) => {
            eprintln!("jidoka bench throughput: {e}");
            ExitCode::from(2)
        }
        Ok(Err(e)) => {
            eprintln!("jidoka bench throughput: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("jidoka bench throughput: {e}");
            ExitCode::from(1)
        }
    }
}
