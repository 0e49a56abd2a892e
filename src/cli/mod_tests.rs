//! Command-line parsing tests: the commands' arguments, filters and time
//! bounds parse as documented.

use super::*;
use crate::audit::Filter;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("jidoka").chain(args.iter().copied()))
}

#[test]
fn replay_takes_every_filter() -> Result<(), clap::Error> {
    let cli = parse(&[
        "audit",
        "replay",
        "--latest",
        "--model",
        "churn-v7",
        "--action",
        "none",
        "--decided-by",
        "bandit",
        "--from",
        "2024-06-01",
        "--to",
        "1717286400000",
        "--json",
    ])?;
    let Command::Audit {
        command: AuditCommand::Replay(a),
    } = cli.command
    else {
        panic!("not a replay: {:?}", cli.command);
    };
    assert!(a.latest && a.json && !a.follow);
    let f = a.filter.filter();
    assert_eq!(f.model.as_deref(), Some("churn-v7"));
    assert_eq!(f.action.as_deref(), Some("none"));
    assert_eq!(f.decided_by.as_deref(), Some("bandit"));
    assert_eq!(
        (f.from, f.to),
        (Some(1_717_200_000_000), Some(1_717_286_400_000))
    );
    Ok(())
}

#[test]
fn exports_take_the_replay_filters_and_a_format() -> Result<(), clap::Error> {
    let cli = parse(&[
        "audit",
        "export",
        "--format",
        "parquet",
        "--out",
        "/tmp/a.bin",
        "--latest",
        "--model",
        "churn-v7",
        "--action",
        "retrain",
        "--decided-by",
        "rules",
        "--from",
        "2024-06-01",
        "--to",
        "1717286400000",
    ])?;
    let Command::Audit {
        command: AuditCommand::Export(a),
    } = cli.command
    else {
        panic!("not an audit export: {:?}", cli.command);
    };
    assert!(a.latest);
    assert_eq!(a.output.format(), Ok(export::Format::Parquet));
    assert_eq!(
        a.filter.filter(),
        Filter {
            model: Some("churn-v7".into()),
            action: Some("retrain".into()),
            decided_by: Some("rules".into()),
            from: Some(1_717_200_000_000),
            to: Some(1_717_286_400_000),
        }
    );
    let cli = parse(&[
        "drift", "export", "--out", "d.CSV", "--kind", "concept", "--model", "m",
    ])?;
    let Command::Drift {
        command: DriftCommand::Export(d),
    } = cli.command
    else {
        panic!("not a drift export: {:?}", cli.command);
    };
    assert_eq!(d.output.format(), Ok(export::Format::Csv));
    assert_eq!(
        (d.kind.as_deref(), d.range.model.as_deref(), d.range.from),
        (Some("concept"), Some("m"), None)
    );
    // Without --format, an extension that says nothing is a usage error.
    let cli = parse(&["drift", "export", "--out", "d.txt"])?;
    let Command::Drift {
        command: DriftCommand::Export(d),
    } = cli.command
    else {
        panic!("not a drift export");
    };
    assert!(d.output.format().is_err_and(|e| e.contains("d.txt")));
    Ok(())
}

#[test]
fn bad_export_arguments_are_usage_errors() {
    for args in [
        &["audit", "export", "--format", "parquet"][..],
        &["audit", "export", "--out", "a.parquet", "--format", "xlsx"],
        &["audit", "export", "--out", "a.parquet", "--follow"],
        &[
            "audit",
            "export",
            "--out",
            "a.parquet",
            "--action",
            "reboot",
        ],
        &["drift", "export", "--out", "d.csv", "--kind", "weird"],
        &["drift", "export", "--out", "d.csv", "--action", "retrain"],
        &["drift", "export", "--out", "d.csv", "--to", "soon"],
    ] {
        assert!(parse(args).is_err(), "{args:?}");
    }
}

#[test]
fn bad_replay_arguments_are_usage_errors() {
    for args in [
        &["audit", "replay", "--latest", "--follow"][..],
        &["audit", "replay", "--from", "yesterday"],
        &["audit", "replay", "--action", "reboot"],
        &["audit", "replay", "--decided-by", "cat"],
        &["audit", "explain"],
    ] {
        assert!(parse(args).is_err(), "{args:?}");
    }
}

#[test]
fn explain_and_report_parse() -> Result<(), clap::Error> {
    let cli = parse(&["audit", "explain", "dec-77ab"])?;
    assert!(matches!(
        cli.command,
        Command::Audit { command: AuditCommand::Explain(ExplainArgs { ref decision_id }) } if decision_id == "dec-77ab"
    ));
    let cli = parse(&["report"])?;
    let Command::Report(r) = cli.command else {
        panic!("not a report");
    };
    assert_eq!((r.out, r.range.model), (PathBuf::from("report.html"), None));
    let cli = parse(&["report", "--out", "/tmp/r.html", "--model", "m"])?;
    let Command::Report(r) = cli.command else {
        panic!("not a report");
    };
    assert_eq!(
        (r.out, r.range.model.as_deref(), r.range.from, r.range.to),
        (PathBuf::from("/tmp/r.html"), Some("m"), None, None)
    );
    let cli = parse(&[
        "report",
        "--from",
        "2024-06-01T02:00:00+02:00",
        "--to",
        "1717286400000",
    ])?;
    let Command::Report(r) = cli.command else {
        panic!("not a report");
    };
    assert_eq!(
        (r.range.from, r.range.to),
        (Some(1_717_200_000_000), Some(1_717_286_400_000))
    );
    assert!(parse(&["report", "--from", "last tuesday"]).is_err());
    Ok(())
}

#[test]
fn the_verify_summary_counts_models_and_versions() {
    let reports = vec![
        audit::ChainReport {
            model_id: "a".into(),
            records: 5,
            compacted: 3,
            compacted_unnamed: 1,
            ..Default::default()
        },
        audit::ChainReport {
            model_id: "b".into(),
            records: 2,
            gaps: vec![(2, 3)],
            ..Default::default()
        },
    ];
    let text = verify_summary(&reports, 1);
    assert!(
        text.contains("a: intact: 5 records checked, 4 compacted versions accounted for"),
        "{text}"
    );
    assert!(text.contains("b: BROKEN: 2 records checked"), "{text}");
    assert!(
        text.contains("\n  gap: sequences 2 to 3 are missing\n"),
        "{text}"
    );
    assert!(text.ends_with(
        "2 models checked: 1 intact, 1 broken; 7 records, 4 compacted versions accounted for, 1 undecodable records\n"
    ), "{text}");
}
