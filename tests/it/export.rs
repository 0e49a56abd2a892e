//! Analyst exports through the binary, on a real broker: a shifted stream
//! runs through the pipeline (drift events, decisions), an executor's
//! outcome completes the decision that acted (a second version of its
//! audit record); then `jidoka audit export` and `jidoka drift export`
//! write Parquet, CSV and JSON lines, and `tests/it/export/check_exports.py`
//! reads them back with pyarrow and DuckDB (from PyPI, installed by
//! `tests/run.sh`) and compares every cell with `jidoka audit replay
//! --json` (all records, `--latest`, a filtered subset) and with the drift
//! events read from the topic; the CSV and JSON lines agree with the
//! Parquet cell by cell. The audit topic is created without compaction,
//! so the broker cannot remove a version between two reads. Without Python, pyarrow or DuckDB the test fails,
//! saying so.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::{AuditRecord, DriftEvent, HealCommand, HealOutcome, OutcomeStatus};

/// Runs the binary with `args` against the test's broker and topics;
/// fails unless it exits 0; returns its stdout.
fn jidoka(cfg: &jidoka::config::Config, dir: &Path, args: &[&str]) -> Result<String, BoxError> {
    let out = jidoka_command(cfg, dir).args(args).output()?;
    let stdout = String::from_utf8(out.stdout)?;
    if !out.status.success() {
        return Err(format!(
            "jidoka {} exited with {}: {}{}",
            args.join(" "),
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(stdout)
}

/// The number of rows an export says it wrote.
fn rows_written(stdout: &str) -> Option<usize> {
    let (_, tail) = stdout.split_once("): ")?;
    tail.split_once(" rows")?.0.parse().ok()
}

fn write_json_lines<T: serde::Serialize>(path: &Path, items: &[T]) -> TestResult {
    let mut text = String::new();
    for item in items {
        text.push_str(&serde_json::to_string(item)?);
        text.push('\n');
    }
    std::fs::write(path, text)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_load_in_pyarrow_and_duckdb_with_the_replayed_rows() -> TestResult {
    let mut env = TestEnv::start().await?;
    // The audit topic without compaction: the replays and the exports
    // below read it one after the other, and must see the same records.
    env.loaded.config.topics.audit = unique("audit-plain");
    create_plain_topic(env.cfg(), &env.cfg().topics.audit).await?;
    let cfg = env.cfg().clone();
    let running = start_pipeline(&env.loaded);
    let scenario = Scenario::demo(3000, 1500);
    let records = encode_predictions(&env.codec, &scenario.predictions())?;
    produce_raw(&producer(&cfg)?, &cfg.topics.predictions, &records).await?;
    let inputs = records.len() as u64;
    running.wait_done(inputs, Duration::from_secs(120)).await?;

    // The executor reports on the command, and the model's stream runs on
    // 25 min, past the reward's horizon (30 min) after the command (about
    // 27 min into the 50 min stream): its decision gets version 2, with
    // the reward's measured and reported parts.
    let commands: Vec<HealCommand> = read_all(&cfg, &env.codec, &cfg.topics.actions)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    let command = commands.first().ok_or("no heal command")?;
    let outcome = HealOutcome {
        command_id: command.command_id.clone(),
        model_id: command.model_id.clone(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.25,
        cost: 5.0,
        reported_at: 1_700_000_100_000,
        note: None,
    };
    let raw = vec![(outcome.model_id.clone(), Some(env.codec.encode(&outcome)?))];
    produce_raw(&producer(&cfg)?, &cfg.topics.outcomes, &raw).await?;
    let later = encode_predictions(&env.codec, &scenario.continued(1_500))?;
    produce_raw(&producer(&cfg)?, &cfg.topics.predictions, &later).await?;
    running
        .wait_done(inputs + 1 + later.len() as u64, Duration::from_secs(120))
        .await?;
    running.stop().await?;

    let audits: Vec<AuditRecord> = read_all(&cfg, &env.codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    assert!(
        audits.iter().any(|a| a.decision_id == command.decision_id
            && a.version == 2
            && a.outcome.is_some()
            && a.reward.as_ref().map(|w| w.parts.as_str()) == Some("measured+reported")),
        "the outcome and the measurement did not complete the decision"
    );
    let events: Vec<DriftEvent> = read_all(&cfg, &env.codec, &cfg.topics.drift_events)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    assert!(!events.is_empty(), "no drift event");

    // A subset: the model's decisions without action from the middle of
    // the trail on (not the first, which acted).
    let mut times: Vec<i64> = audits.iter().map(|a| a.decided_at).collect();
    times.sort_unstable();
    let middle = times[times.len() / 2].to_string();
    let subset_flags = [
        "--model",
        command.model_id.as_str(),
        "--action",
        "none",
        "--from",
        &middle,
    ];
    // The model's covariate drift events up to its command's decision.
    let decided = audits
        .iter()
        .find(|a| a.decision_id == command.decision_id)
        .map(|a| a.decided_at)
        .ok_or("the command's decision is not audited")?;
    let to = decided.to_string();
    let drift_flags = [
        "--model",
        command.model_id.as_str(),
        "--kind",
        "covariate",
        "--to",
        &to,
    ];
    let drift_subset: Vec<&DriftEvent> = events
        .iter()
        .filter(|e| {
            e.model_id == command.model_id && e.kind == "covariate" && e.event_time <= decided
        })
        .collect();
    assert!(
        !drift_subset.is_empty(),
        "no drift event before the command"
    );

    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let at = |name: &str| d.join(name).display().to_string();
    let replay =
        |extra: &[&str]| jidoka(&cfg, d, &[&["audit", "replay", "--json"], extra].concat());
    std::fs::write(d.join("replay.jsonl"), replay(&["--from-beginning"])?)?;
    std::fs::write(d.join("latest.jsonl"), replay(&["--latest"])?)?;
    let subset = replay(&[&["--from-beginning"][..], &subset_flags].concat())?;
    let (all_n, subset_n) = (
        std::fs::read_to_string(d.join("replay.jsonl"))?
            .lines()
            .count(),
        subset.lines().count(),
    );
    assert_eq!(all_n, audits.len());
    assert!(
        0 < subset_n && subset_n < all_n,
        "the subset is not a proper one: {subset_n} of {all_n}"
    );
    std::fs::write(d.join("subset.jsonl"), subset)?;
    write_json_lines(&d.join("drift_ref.jsonl"), &events)?;
    write_json_lines(&d.join("drift_subset_ref.jsonl"), &drift_subset)?;

    // The exports: the format from the extension, or named.
    for (args, expected) in [
        (
            vec!["audit", "export", "--out", &at("audit.parquet")],
            all_n,
        ),
        (
            vec![
                "audit",
                "export",
                "--format",
                "csv",
                "--out",
                &at("audit.csv"),
            ],
            all_n,
        ),
        (
            vec![
                "audit",
                "export",
                "--format",
                "jsonl",
                "--out",
                &at("audit.jsonl"),
            ],
            all_n,
        ),
        (
            vec![
                "audit",
                "export",
                "--latest",
                "--out",
                &at("latest.parquet"),
            ],
            all_n - 1,
        ),
        (
            [
                &["audit", "export", "--out", &at("subset.parquet")][..],
                &subset_flags,
            ]
            .concat(),
            subset_n,
        ),
        (
            vec!["drift", "export", "--out", &at("drift.parquet")],
            events.len(),
        ),
        (
            vec!["drift", "export", "--out", &at("drift.csv")],
            events.len(),
        ),
        (
            vec![
                "drift",
                "export",
                "--format",
                "jsonl",
                "--out",
                &at("drift.jsonl"),
            ],
            events.len(),
        ),
        (
            [
                &["drift", "export", "--out", &at("drift_subset.parquet")][..],
                &drift_flags,
            ]
            .concat(),
            drift_subset.len(),
        ),
    ] {
        let stdout = jidoka(&cfg, d, &args)?;
        assert_eq!(rows_written(&stdout), Some(expected), "{args:?}: {stdout}");
    }

    // A usage error writes nothing: no format, and an extension that says none.
    let out = jidoka_command(&cfg, d)
        .args(["audit", "export", "--out", &at("audit.txt")])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(!d.join("audit.txt").exists());

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/export/check_exports.py");
    let checked = Command::new("python3")
        .arg(&script)
        .arg(d)
        .output()
        .map_err(|e| {
            format!("cannot run python3 ({e}): the export test needs Python 3 with pyarrow and duckdb (pip install pyarrow duckdb)")
        })?;
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(
        checked.status.success(),
        "check_exports.py failed: {report}"
    );
    println!("{report}");
    Ok(())
}
