//! Runs every setting on every selected stream through jidoka's processing
//! core ([`Processor`], with its RocksDB store in a temporary directory,
//! no Kafka) and sums the runs.
//!
//! Guarantees: each run (setting × stream × seed) is a fresh processor fed
//! the stream's records in order, one model, offsets 0, 1, …; run `j` of
//! every synthetic stream uses seed `base_seed + j`, so the settings see
//! the same records and a shift stream is the stationary stream of the same
//! seed plus its shift; the report does not depend on the number of worker
//! threads. Every setting's configuration on every stream is loaded, and a
//! shift checked to fall after its reference and a full window, before any
//! run starts.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use super::error::AlertsError;
use super::real;
use super::report::AlertsReport;
use super::setting::Setting;
use super::stream::{self, Stream, SyntheticPlan, REAL};
use super::summary::summarize;
use super::tally::Tally;
use crate::config::Config;
use crate::pipeline::{Processor, SourcePos};
use crate::state::Store;

/// Records between two checkpoints of a run's processor (bounds its
/// in-memory journals; outputs do not depend on it).
const CHECKPOINT_EVERY: usize = 10_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct AlertsOptions {
    /// Settings, in report order.
    pub settings: Vec<Setting>,
    /// Runs per synthetic stream.
    pub seeds: u64,
    /// Seed of the first run.
    pub base_seed: u64,
    /// Sizes of the synthetic streams.
    pub plan: SyntheticPlan,
    /// Stream names or families to run (empty: all).
    pub streams: Vec<String>,
    /// Directory of the exported real series (read if complete, else
    /// exported into); `None`: a temporary directory.
    pub data_dir: Option<PathBuf>,
    /// Python interpreter for the export.
    pub python: String,
    /// Worker threads.
    pub threads: usize,
}

/// One run to do.
struct Job {
    setting: usize,
    stream: usize,
    seed: u64,
}

/// Runs the benchmark; `progress` hears about each finished run.
pub fn run_alerts(
    opts: &AlertsOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<AlertsReport, AlertsError> {
    let started = Instant::now();
    check(opts)?;
    let streams = select_streams(opts)?;
    let mut configs: Vec<Vec<Config>> = Vec::new();
    for setting in &opts.settings {
        let mut per_stream = Vec::new();
        for s in &streams {
            let config = setting.config(s)?;
            check_shift(setting, &config, s)?;
            per_stream.push(config);
        }
        configs.push(per_stream);
    }
    let mut jobs = Vec::new();
    for setting in 0..opts.settings.len() {
        for (stream, s) in streams.iter().enumerate() {
            let seeds = if s.is_seeded() { opts.seeds } else { 1 };
            for j in 0..seeds {
                jobs.push(Job {
                    setting,
                    stream,
                    seed: opts.base_seed.wrapping_add(j),
                });
            }
        }
    }
    let tallies = run_jobs(&jobs, &configs, &streams, opts, progress)?;
    let mut results = Vec::new();
    for (si, setting) in opts.settings.iter().enumerate() {
        for (ti, s) in streams.iter().enumerate() {
            let runs: Vec<Tally> = jobs
                .iter()
                .zip(&tallies)
                .filter(|(j, _)| j.setting == si && j.stream == ti)
                .map(|(_, t)| t.clone())
                .collect();
            results.push(summarize(setting, &configs[si][ti], s, &runs));
        }
    }
    Ok(AlertsReport {
        settings: opts.settings.clone(),
        streams: streams.iter().map(super::report::StreamInfo::of).collect(),
        seeds: opts.seeds,
        base_seed: opts.base_seed,
        results,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

fn check(opts: &AlertsOptions) -> Result<(), AlertsError> {
    if opts.settings.is_empty() {
        return Err(AlertsError::Usage("no settings to run".into()));
    }
    if opts.seeds == 0 {
        return Err(AlertsError::Usage("--seeds must be at least 1".into()));
    }
    if opts.plan.shifts.iter().any(|sd| !sd.is_finite()) {
        return Err(AlertsError::Usage("--shifts must be finite".into()));
    }
    let mut names: Vec<&str> = opts.settings.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(AlertsError::Usage("a setting is listed twice".into()));
    }
    Ok(())
}

/// A shift must fall after the reference and a full window (count
/// windows), or its delay would measure the warm-up.
fn check_shift(setting: &Setting, config: &Config, s: &Stream) -> Result<(), AlertsError> {
    let Some(shift) = s.shift() else {
        return Ok(());
    };
    let d = &config.detect;
    let needed = (d.reference_size + d.window_size) as u64;
    if shift.after < needed {
        return Err(AlertsError::Usage(format!(
            "stream {}: the shift after record {} (half of --records) comes before \
             setting `{}`'s reference and first full window ({needed} records); \
             raise --records to at least {}",
            s.name,
            shift.after,
            setting.name,
            2 * needed
        )));
    }
    Ok(())
}

/// The selected synthetic streams, then the selected real series (exported
/// or read from `--data-dir`).
fn select_streams(opts: &AlertsOptions) -> Result<Vec<Stream>, AlertsError> {
    let synthetic = opts.plan.streams();
    let mut known: Vec<String> = synthetic.iter().map(|s| s.name.clone()).collect();
    known.extend(REAL.iter().map(|r| r.name.to_string()));
    stream::check_filter(&opts.streams, &known)?;
    let mut out: Vec<Stream> = synthetic
        .into_iter()
        .filter(|s| stream::selects(&opts.streams, &s.name, s.family))
        .collect();
    let real: Vec<_> = REAL
        .iter()
        .filter(|r| stream::selects(&opts.streams, r.name, stream::Family::Real))
        .collect();
    if !real.is_empty() {
        let files: Vec<&str> = REAL.iter().map(|r| r.file).collect();
        let (dir, _guard) = real::exported(opts.data_dir.as_deref(), &files, &opts.python)?;
        for spec in real {
            out.push(Stream::real(spec, real::load(&dir.join(spec.file))?));
        }
    }
    if out.is_empty() {
        return Err(AlertsError::Usage("no stream selected".into()));
    }
    Ok(out)
}

/// Runs the jobs on worker threads; the tallies in job order.
fn run_jobs(
    jobs: &[Job],
    configs: &[Vec<Config>],
    streams: &[Stream],
    opts: &AlertsOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Tally>, AlertsError> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Result<Tally, AlertsError>)>();
    let mut tallies: Vec<Option<Tally>> = vec![None; jobs.len()];
    std::thread::scope(|scope| {
        for _ in 0..opts.threads.clamp(1, jobs.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let ran = run_one(
                    &configs[job.setting][job.stream],
                    &streams[job.stream],
                    job.seed,
                );
                let failed = ran.is_err();
                if tx.send((i, ran)).is_err() || failed {
                    // Stop taking jobs: the receiver is gone or the run failed.
                    next.store(jobs.len(), Ordering::Relaxed);
                    break;
                }
            });
        }
        drop(tx);
        let mut first_error = None;
        for (done, (i, ran)) in rx.iter().enumerate() {
            match ran {
                Ok(t) => {
                    let job = &jobs[i];
                    progress(&format!(
                        "[{}/{}] {} on {} (seed {}): {} evaluations, {} alerts opened",
                        done + 1,
                        jobs.len(),
                        opts.settings[job.setting].name,
                        streams[job.stream].name,
                        job.seed,
                        t.evaluations.len(),
                        t.openings.len()
                    ));
                    tallies[i] = Some(t);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })?;
    tallies
        .into_iter()
        .map(|t| t.ok_or_else(|| AlertsError::Internal("a run did not report".into())))
        .collect()
}

/// One run: a fresh processor fed the stream of `seed`.
pub fn run_one(config: &Config, stream: &Stream, seed: u64) -> Result<Tally, AlertsError> {
    let dir = tempfile::Builder::new()
        .prefix("jidoka-alerts-")
        .tempdir()
        .map_err(AlertsError::io("creating a run's state directory"))?;
    let store = Store::open(dir.path(), false)?;
    let mut processor = Processor::new(config, &config.version(), store);
    let mut tally = Tally::default();
    let mut pos = SourcePos {
        topic: "predictions".into(),
        partition: 0,
        offset: 0,
    };
    for (i, prediction) in stream.predictions(seed).enumerate() {
        pos.offset = i64::try_from(i).unwrap_or(i64::MAX);
        let outputs = processor.process(&pos, &prediction)?;
        tally.observe(&outputs);
        if (i + 1) % CHECKPOINT_EVERY == 0 {
            processor.checkpoint()?;
        }
    }
    Ok(tally)
}
