//! One case's `jidoka run` as a child process of the benchmark: started
//! with its generated config, watched through its `/metrics` endpoint,
//! measured (peak RSS, state directory size) and stopped with SIGTERM.
//!
//! Guarantees: the child never outlives [`run_child`] (a guard kills it on
//! every early return); the run is timed from the first observation of a
//! processed record to the observation that every record was processed or
//! dead-lettered, and the rate counts only the records processed in that
//! span; waiting is bounded by progress (no record for [`STALL`]), never by
//! a fixed total time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::error::BenchError;
use super::probe::{scrape, Progress};

/// Longest time without a newly processed record once processing started.
pub const STALL: Duration = Duration::from_secs(180);
/// How often `/metrics` is read.
const POLL: Duration = Duration::from_millis(20);

/// What a child did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChildRun {
    /// Counters when every record was processed.
    pub progress: Progress,
    /// Records processed between the first and the last observation.
    pub timed_records: u64,
    /// From the first observed processed record to the last.
    pub elapsed: Duration,
    /// From the start of the process to the first observed processed
    /// record (group join, partition restore checks).
    pub startup: Duration,
    /// VmHWM of the child just before it was stopped, if readable.
    pub peak_rss_bytes: Option<u64>,
    /// Size of RocksDB's data files in the state directory once the child stopped.
    pub state_dir_bytes: u64,
    /// The child exited with status 0 after SIGTERM.
    pub clean_exit: bool,
}

/// Kills the child when dropped, unless it already exited.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ChildSpec<'a> {
    /// Case name, for errors.
    pub case: &'static str,
    /// The config file.
    pub config: &'a Path,
    /// Its `telemetry.http-address`.
    pub metrics: SocketAddr,
    /// Its `state.data-dir`.
    pub data_dir: &'a Path,
    /// Where its stderr goes.
    pub log: PathBuf,
    /// Records to wait for.
    pub expected: u64,
    /// Bound on the start-up (before the first processed record).
    pub startup_limit: Duration,
}

/// Runs `jidoka run --config …` until it processed `expected` records.
pub fn run_child(spec: &ChildSpec<'_>) -> Result<ChildRun, BenchError> {
    let exe = std::env::current_exe().map_err(BenchError::io("locating the jidoka binary"))?;
    let log = std::fs::File::create(&spec.log)
        .map_err(BenchError::io(format!("creating {}", spec.log.display())))?;
    let started = Instant::now();
    let child = Command::new(exe)
        .arg("run")
        .arg("--config")
        .arg(spec.config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(BenchError::io("starting jidoka run"))?;
    let mut guard = Guard(child);
    let fail = |reason: String| BenchError::Case {
        case: spec.case,
        reason: format!("{reason}\n--- end of its log ---\n{}", tail(&spec.log)),
    };
    let mut first: Option<(Instant, u64)> = None;
    let mut last_change = Instant::now();
    let mut last = Progress::default();
    let (done_at, progress) = loop {
        std::thread::sleep(POLL);
        if let Ok(Some(status)) = guard.0.try_wait() {
            return Err(fail(format!(
                "jidoka run exited ({status}) after {} of {} records",
                last.processed, spec.expected
            )));
        }
        let now = Instant::now();
        if let Ok(p) = scrape(spec.metrics) {
            if p.processed != last.processed {
                last_change = now;
            }
            last = p;
            if p.processed > 0 && first.is_none() {
                first = Some((now, p.processed));
            }
            if p.processed + p.dead_lettered >= spec.expected {
                break (now, p);
            }
        }
        match first {
            None if now - started > spec.startup_limit => {
                return Err(fail(format!(
                    "no record processed within {:?} of the start",
                    spec.startup_limit
                )))
            }
            Some(_) if now - last_change > STALL => {
                return Err(fail(format!(
                    "stuck at {} of {} records for {STALL:?}",
                    last.processed, spec.expected
                )))
            }
            _ => {}
        }
    };
    let (first_at, first_count) = first.unwrap_or((done_at, 0));
    let peak_rss_bytes = peak_rss(guard.0.id());
    // After the stop: the last commit interval reaches RocksDB on shutdown.
    let clean_exit = stop(&mut guard.0);
    let state_dir_bytes = dir_size(spec.data_dir);
    Ok(ChildRun {
        progress,
        timed_records: progress.processed.saturating_sub(first_count),
        elapsed: done_at - first_at,
        startup: first_at - started,
        peak_rss_bytes,
        state_dir_bytes,
        clean_exit,
    })
}

/// SIGTERM, then up to a minute to drain and exit; SIGKILL after that.
/// True if it exited 0.
fn stop(child: &mut Child) -> bool {
    let sent = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .is_ok_and(|s| s.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    while sent && Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// VmHWM (peak resident set) of a process, in bytes (Linux).
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_hwm(&status)
}

/// The `VmHWM:` line of a `/proc/<pid>/status` text, in bytes.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Total size of RocksDB's data files under `dir`: tables (`.sst`),
/// write-ahead logs (`.log`) and blobs (`.blob`); 0 if it cannot be read.
/// The info log (`LOG`), options and manifest are left out: their size
/// depends on how long the store ran, not on the data written.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) if is_data_file(&e.path()) => m.len(),
            _ => 0,
        })
        .sum()
}

fn is_data_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == "sst" || ext == "log" || ext == "blob")
}

/// The last lines of a log file.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_from_proc_status() {
        let status = "Name:\tjidoka\nVmPeak:\t  900 kB\nVmHWM:\t   51234 kB\nVmRSS:\t 4 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(51_234 * 1024));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
        assert!(peak_rss(std::process::id()).is_some_and(|b| b > 0));
    }

    #[test]
    fn dir_size_sums_nested_data_files() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("a"))?;
        std::fs::write(dir.path().join("a/000012.sst"), [0u8; 100])?;
        std::fs::write(dir.path().join("000013.log"), [0u8; 20])?;
        std::fs::write(dir.path().join("LOG"), [0u8; 7])?;
        std::fs::write(dir.path().join("MANIFEST-000005"), [0u8; 3])?;
        assert_eq!(dir_size(dir.path()), 120);
        assert_eq!(dir_size(&dir.path().join("missing")), 0);
        Ok(())
    }
}
