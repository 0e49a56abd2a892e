//! Outcome reporting against a real broker, in-process (the library
//! function behind `jidoka outcome report`): the command is found on the
//! actions topic, the outcome names its model and lands on the partition
//! of the model's key, decoding to exactly what was reported; an unknown
//! command id and a non-finite value write nothing; the binary's exit codes
//! say which (3 unknown, 2 bad value, 0 written).

use crate::common::*;
use jidoka::heal::report::{self, OutcomeReport, ReportError};
use jidoka::schema::{Action, Codec, HealCommand, HealOutcome, OutcomeStatus};

fn command(id: &str, model: &str) -> HealCommand {
    HealCommand {
        command_id: id.into(),
        decision_id: format!("dec-{id}"),
        model_id: model.into(),
        model_version: "3".into(),
        action: Action::Retrain,
        reason: "drift".into(),
        evidence: vec!["drift-1".into()],
        issued_at: 1_700_000_000_000,
        config_version: "cfg".into(),
        target_command_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_lands_on_its_models_partition_and_unknown_commands_write_nothing() -> TestResult
{
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let cfg = test_config(&broker, dir.path())?.config;
    create_topics(&cfg).await?;
    let codec = Codec::new(cfg.schemas.ids)?;

    // Where this model's predictions go (`kafka.partitioner`, which the
    // platform's producers in the tests use).
    let model = "churn-v7";
    let p = producer(&cfg)?;
    produce_raw(
        &p,
        &cfg.topics.predictions,
        &[(model.to_string(), Some(b"x".to_vec()))],
    )
    .await?;
    let model_partition = read_raw(&cfg, &cfg.topics.predictions)?
        .first()
        .map(|r| r.partition)
        .ok_or("no prediction")?;

    // Two commands on the actions topic, as the processor writes them.
    let commands = [command("cmd-a", model), command("cmd-b", "fraud-v2")];
    let raw: Vec<(String, Option<Vec<u8>>)> = commands
        .iter()
        .map(|c| Ok((c.model_id.clone(), Some(codec.encode(c)?))))
        .collect::<Result<_, BoxError>>()?;
    produce_raw(&p, &cfg.topics.actions, &raw).await?;

    let request = OutcomeReport {
        command_id: "cmd-a".into(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.25,
        cost: -1.5,
        reported_at: 1_700_000_100_000,
        note: Some("https://ci.example/runs/7".into()),
    };
    let written = report::report(&cfg, &request, false).await?;
    let expected = HealOutcome {
        command_id: "cmd-a".into(),
        model_id: model.into(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.25,
        cost: -1.5,
        reported_at: 1_700_000_100_000,
        note: Some("https://ci.example/runs/7".into()),
    };
    assert_eq!(written.outcome, expected);
    assert_eq!(written.partition, model_partition);

    // Refused: an id that is not on the actions topic, a value that is
    // not finite. Neither writes anything.
    let unknown = OutcomeReport {
        command_id: "cmd-zzz".into(),
        ..request.clone()
    };
    match report::report(&cfg, &unknown, false).await {
        Err(e @ ReportError::UnknownCommand { .. }) => {
            assert!(e.is_refusal());
            let text = e.to_string();
            assert!(
                text.contains("cmd-zzz") && text.contains(&cfg.topics.actions),
                "{text}"
            );
            assert!(text.contains("2 commands read"), "{text}");
        }
        other => panic!("expected an unknown command, got {other:?}"),
    }
    let nan = OutcomeReport {
        recovery: f64::NAN,
        ..request.clone()
    };
    assert!(matches!(
        report::report(&cfg, &nan, false).await,
        Err(ReportError::Invalid(_))
    ));
    let long_note = OutcomeReport {
        note: Some("x".repeat(report::MAX_NOTE_BYTES + 1)),
        ..request.clone()
    };
    assert!(matches!(
        report::report(&cfg, &long_note, false).await,
        Err(ReportError::Invalid(_))
    ));

    // The binary: exit 3 for the unknown id, 2 for a bad number, 0 and a
    // second outcome for the known one.
    let run = |args: &[&str]| {
        jidoka_command(&cfg, dir.path())
            .args(["outcome", "report"])
            .args(args)
            .output()
    };
    let base = ["--status", "failed", "--recovery", "0", "--cost", "2"];
    let out = run(&[&["--command", "cmd-zzz"][..], &base[..]].concat())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("unknown command `cmd-zzz`"), "{stderr}");
    let out = run(&[
        "--command",
        "cmd-b",
        "--status",
        "failed",
        "--recovery",
        "inf",
        "--cost",
        "2",
    ])?;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[&["--command", "cmd-b"][..], &base[..]].concat())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("outcome of cmd-b (failed, model fraud-v2)"),
        "{stdout}"
    );

    let outcomes = read_raw(&cfg, &cfg.topics.outcomes)?;
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    let by_cli: HealOutcome = codec.decode(
        outcomes
            .iter()
            .find(|r| r.key.as_deref() == Some("fraud-v2"))
            .and_then(|r| r.value.as_deref()),
    )?;
    assert_eq!(
        (by_cli.command_id.as_str(), by_cli.status, by_cli.cost),
        ("cmd-b", OutcomeStatus::Failed, 2.0)
    );
    let outcomes: Vec<_> = outcomes
        .into_iter()
        .filter(|r| r.key.as_deref() == Some(model))
        .collect();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    let r = &outcomes[0];
    assert_eq!(
        (r.partition, r.key.as_deref()),
        (model_partition, Some(model))
    );
    let decoded: HealOutcome = codec.decode(r.value.as_deref())?;
    assert_eq!(decoded, expected);
    Ok(())
}
