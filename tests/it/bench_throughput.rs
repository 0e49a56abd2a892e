//! `jidoka bench throughput` end to end at tiny sizes, as a user runs it:
//! the binary starts its own mock broker and `jidoka run` children, and the
//! JSON report accounts for every record. Rates are only checked to be
//! positive: no speed is asserted.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const RECORDS: u64 = 3_000;

#[test]
fn every_case_processes_every_record_and_reports_positive_rates() -> TestResult {
    let cwd = tempfile::tempdir()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_jidoka"))
        .current_dir(cwd.path())
        .args(["bench", "throughput", "--json", "--models", "10"])
        .args(["--records", &RECORDS.to_string(), "--features", "3"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // A guard against a hang, not a speed bound: the command bounds its own
    // waits by progress.
    let deadline = Instant::now() + Duration::from_secs(900);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("bench throughput did not finish within 15 minutes".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr)?;
    }
    assert!(status.success(), "{status}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim())?;

    assert_eq!(report["records"], RECORDS, "{report}");
    assert_eq!(report["drifted_models"], 1);
    assert_eq!(report["ceiling"]["records"], RECORDS);
    assert!(report["ceiling"]["records_per_sec"].as_f64() > Some(0.0));
    let cases = report["cases"].as_array().ok_or("no cases")?;
    let names: Vec<&str> = cases.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["changelog", "no-changelog", "transactions"]);
    for case in cases {
        assert_eq!(case["records_processed"], RECORDS, "{case}");
        assert_eq!(case["dead_lettered"], 0, "{case}");
        assert!(
            case["rate"]["records_per_sec"].as_f64() > Some(0.0),
            "{case}"
        );
        assert!(case["ratio_to_ceiling"].as_f64() > Some(0.0), "{case}");
        assert!(case["peak_rss_bytes"].as_u64() > Some(0), "{case}");
        assert!(
            case["state_bytes_per_record"].as_f64() > Some(0.0),
            "{case}"
        );
        assert_eq!(case["clean_exit"], true, "{case}\n{stderr}");
        let changelog = case["changelog"] == true;
        assert_eq!(
            case["changelog_records"].as_u64() > Some(0),
            changelog,
            "{case}"
        );
    }
    let restore = &report["restore"];
    assert_eq!(restore["case"], "changelog", "{report}");
    assert!(restore["rate"]["records"].as_u64() > Some(0), "{restore}");
    assert!(restore["bytes"].as_u64() > Some(0), "{restore}");
    Ok(())
}
