//! `jidoka bench`: the in-binary benchmarks' arguments and their runs.
//!
//! Exit codes as for every command: 0 success, 1 the benchmark failed
//! (broker, lost records), 2 bad usage.

use std::process::ExitCode;

use crate::decide::bandit::{Deviation, Scope};
use clap::{Args, Subcommand};

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The seed system's ablation (rules, bandit, hybrid, oracle) and jidoka's engine.
    Ablation(AblationArgs),
    /// Covariate alerts per 10,000 records where nothing changed, per
    /// detection setting, on stationary, seasonal and real seasonal
    /// streams; detection delay after planted shifts.
    Alerts(AlertsArgs),
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
    /// A scenario file (TOML, see `benches/scenarios/`): run rules, the seed
    /// hybrid, the oracle and the engine learning per model and pooled on
    /// it, with learning curves and recovery after a change.
    #[arg(long)]
    pub scenario: Option<std::path::PathBuf>,
    /// Worker threads (the report does not depend on it).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// With `--scenario`: `decide.bandit.forgetting` (default: the config default).
    #[arg(long)]
    pub forgetting: Option<f64>,
    /// With `--scenario`: `decide.bandit.pool-strength`.
    #[arg(long)]
    pub pool_strength: Option<f64>,
    /// With `--scenario`: `decide.bandit.deviation`, `estimated` or a
    /// number ≥ 0.
    #[arg(long, value_parser = parse_deviation)]
    pub deviation: Option<Deviation>,
    /// With `--scenario`: `decide.bandit.rules-prior`.
    #[arg(long)]
    pub rules_prior: Option<f64>,
    /// With `--scenario`: `decide.bandit.prior-precision`.
    #[arg(long)]
    pub prior_precision: Option<f64>,
    /// With `--scenario`: `decide.bandit.noise-shape`.
    #[arg(long)]
    pub noise_shape: Option<f64>,
    /// With `--scenario`: `decide.bandit.noise-scale`.
    #[arg(long)]
    pub noise_scale: Option<f64>,
    /// With `--scenario`: `decide.confidence-gate`.
    #[arg(long)]
    pub gate: Option<f64>,
    /// With `--scenario`: the scope of `jidoka-pooled`, `global` or `group`
    /// (`jidoka-model` is always `model`).
    #[arg(long, default_value = "global", value_parser = ["global", "group"])]
    pub scope: String,
}

/// Alerts arguments.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Settings to compare, comma-separated (built in: default, rolling).
    #[arg(long, value_delimiter = ',', default_value = "default,rolling")]
    pub settings: Vec<String>,
    /// Runs (seeds) per synthetic stream.
    #[arg(long, default_value_t = 10)]
    pub seeds: u64,
    /// Seed of the first run.
    #[arg(long, default_value_t = 15)]
    pub base_seed: u64,
    /// Records of the stationary, hourly seasonal and shift streams (the
    /// shift comes after half of them).
    #[arg(long, default_value_t = 50_000)]
    pub records: u64,
    /// Years (one record a day) of the daily seasonal stream.
    #[arg(long, default_value_t = 30)]
    pub years: u64,
    /// Planted shifts in standard deviations, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.25,0.5,1")]
    pub shifts: Vec<f64>,
    /// Streams to run, comma-separated: names (stationary, seasonal-daily,
    /// seasonal-hourly, shift-<sd>, co2, elnino, sunspots) or families
    /// (stationary, seasonal, shift, real, synthetic); default all.
    #[arg(long, value_delimiter = ',')]
    pub streams: Vec<String>,
    /// Directory of the real series: read when it holds them all, else
    /// exported into it with Python (needs `pip install statsmodels`);
    /// default a temporary directory.
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Python interpreter that exports the real series.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Worker threads (the report does not depend on it).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `estimated` or a variance ≥ 0.
fn parse_deviation(s: &str) -> Result<Deviation, String> {
    let d = match s {
        "estimated" => Deviation::ESTIMATED,
        _ => Deviation::Fixed(
            s.parse()
                .map_err(|_| format!("`{s}` is neither `estimated` nor a number"))?,
        ),
    };
    if d.is_valid() {
        Ok(d)
    } else {
        Err(format!("`{s}` must be ≥ 0"))
    }
}

/// Runs a benchmark and prints its report.
pub async fn main(command: &BenchCommand) -> ExitCode {
    match command {
        BenchCommand::Ablation(args) if args.scenario.is_some() => scenario(args),
        BenchCommand::Ablation(args) => {
            let report = crate::bench::ablation::run_ablation(args.seeds, args.base_seed);
            if args.json {
                println!("{}", crate::bench::ablation::to_json(&report));
            } else {
                print!("{}", crate::bench::ablation::to_table(&report));
            }
            ExitCode::SUCCESS
        }
        BenchCommand::Alerts(args) => alerts(args).await,
        BenchCommand::Throughput(args) => throughput(args).await,
        BenchCommand::Report(args) => report(args),
    }
}

fn scenario(args: &AblationArgs) -> ExitCode {
    use crate::bench::ablation::{spec::ScenarioSpec, study, study_report};
    let Some(path) = &args.scenario else {
        return ExitCode::from(2);
    };
    let spec = match ScenarioSpec::from_file(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut cfg = study::StudyConfig {
        threads: args.threads,
        ..study::StudyConfig::default()
    };
    let l = &mut cfg.learner;
    l.learn.forgetting = args.forgetting.unwrap_or(l.learn.forgetting);
    l.learn.pool_strength = args.pool_strength.unwrap_or(l.learn.pool_strength);
    l.learn.rules_prior = args.rules_prior.unwrap_or(l.learn.rules_prior);
    l.learn.deviation = args.deviation.unwrap_or(l.learn.deviation);
    l.learn.prior.precision = args.prior_precision.unwrap_or(l.learn.prior.precision);
    l.learn.prior.a0 = args.noise_shape.unwrap_or(l.learn.prior.a0);
    l.learn.prior.b0 = args.noise_scale.unwrap_or(l.learn.prior.b0);
    l.gate = args.gate.unwrap_or(l.gate);
    l.learn.scope = Scope::from_name(&args.scope).unwrap_or(Scope::Global);
    let ok = |v: f64, lo: f64, hi: f64| v.is_finite() && v >= lo && v <= hi;
    if !(ok(l.learn.forgetting, f64::MIN_POSITIVE, 1.0)
        && ok(l.learn.pool_strength, 0.0, 1.0)
        && ok(l.learn.rules_prior, 0.0, f64::MAX)
        && ok(l.learn.prior.precision, f64::MIN_POSITIVE, f64::MAX)
        && ok(l.learn.prior.a0, f64::MIN_POSITIVE, f64::MAX)
        && ok(l.learn.prior.b0, f64::MIN_POSITIVE, f64::MAX)
        && ok(l.gate, 0.0, 1.0))
    {
        eprintln!("error: --forgetting must be in (0, 1], --pool-strength and --gate in [0, 1], --rules-prior ≥ 0, --prior-precision, --noise-shape and --noise-scale > 0");
        return ExitCode::from(2);
    }
    let report = study::run_study(&spec, &cfg, args.seeds, args.base_seed);
    if args.json {
        println!("{}", study_report::study_json(&report));
    } else {
        print!("{}", study_report::study_table(&report));
    }
    ExitCode::SUCCESS
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

async fn alerts(args: &AlertsArgs) -> ExitCode {
    use crate::bench::alerts::{self as al, AlertsError};
    let settings = match al::Setting::named(&args.settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jidoka bench alerts: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = al::AlertsOptions {
        settings,
        seeds: args.seeds,
        base_seed: args.base_seed,
        plan: al::SyntheticPlan {
            records: args.records,
            years: args.years,
            shifts: args.shifts.clone(),
        },
        streams: args.streams.clone(),
        data_dir: args.data_dir.clone(),
        python: args.python.clone(),
        threads: args.threads,
    };
    let ran = tokio::task::spawn_blocking(move || {
        al::run_alerts(&opts, &mut |line: &str| eprintln!("jidoka bench: {line}"))
    })
    .await;
    match ran {
        Ok(Ok(report)) => {
            if args.json {
                println!("{}", al::to_json(&report));
            } else {
                print!("{}", al::to_table(&report));
            }
            ExitCode::SUCCESS
        }
        Ok(Err(e @ AlertsError::Usage(_))) => {
            eprintln!("jidoka bench alerts: {e}");
            ExitCode::from(2)
        }
        Ok(Err(e)) => {
            eprintln!("jidoka bench alerts: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("jidoka bench alerts: {e}");
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
