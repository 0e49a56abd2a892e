//! Operator commands against a real broker, in-process (the library
//! function behind `jidoka operator`): a model's command lands on the
//! partition of the model's key, a global command on every partition, and
//! every copy decodes and verifies with the key, and only with it.

use crate::common::*;
use jidoka::config::{Config, Secret};
use jidoka::operator::{self, PublishError, SignatureError};
use jidoka::schema::{Codec, OperatorCommand, OperatorKind};

const KEY: &str = "integration-test-operator-key-0123456789";

fn command(kind: OperatorKind, model: Option<&str>, target: Option<&str>) -> OperatorCommand {
    let mut cmd = OperatorCommand {
        command_id: operator::new_command_id(),
        kind,
        model_id: model.map(str::to_string),
        target_command_id: target.map(str::to_string),
        issued_by: "alice".into(),
        issued_at: 1_700_000_000_000,
        signature: None,
        action: None,
        note: Some("integration test".into()),
    };
    operator::sign(&mut cmd, KEY.as_bytes());
    cmd
}

fn signed_config(broker: &Broker, dir: &std::path::Path) -> Result<Config, BoxError> {
    let mut cfg = test_config(broker, dir)?.config;
    cfg.operator.hmac_key = Some(Secret::new(KEY));
    Ok(cfg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_command_on_its_key_partition_global_command_on_every_partition() -> TestResult {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let cfg = signed_config(&broker, dir.path())?;
    create_topics(&cfg).await?;
    let codec = Codec::new(cfg.schemas.ids)?;
    let key = operator::signing_key(&cfg)?;
    assert_eq!(key, KEY.as_bytes());

    // Where this model's predictions go (a producer with
    // `kafka.partitioner`, like the tests' prediction producers).
    let model = "churn-v7";
    produce_raw(
        &producer(&cfg)?,
        &cfg.topics.predictions,
        &[(model.to_string(), Some(b"x".to_vec()))],
    )
    .await?;
    let predictions = read_raw(&cfg, &cfg.topics.predictions)?;
    let model_partition = predictions
        .first()
        .map(|r| r.partition)
        .ok_or("no prediction")?;

    let veto = command(OperatorKind::Veto, Some(model), Some("cmd-1"));
    let written = operator::publish(&cfg, &veto).await?;
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(written[0].0, model_partition);

    let pause = command(OperatorKind::Pause, None, None);
    let written = operator::publish(&cfg, &pause).await?;
    let partitions: Vec<i32> = written.iter().map(|(p, _)| *p).collect();
    assert_eq!(partitions, (0..cfg.topics.partitions).collect::<Vec<_>>());

    let records = read_raw(&cfg, &cfg.topics.operator)?;
    assert_eq!(
        records.len(),
        1 + cfg.topics.partitions as usize,
        "{records:?}"
    );
    let mut pause_partitions = Vec::new();
    for r in &records {
        let cmd: OperatorCommand = codec.decode(r.value.as_deref())?;
        assert_eq!(operator::verify(&cmd, KEY.as_bytes()), Ok(()));
        assert_eq!(
            operator::verify(&cmd, b"another-key-of-at-least-32-bytes-long"),
            Err(SignatureError::Mismatch)
        );
        if cmd.command_id == veto.command_id {
            assert_eq!(cmd, veto);
            assert_eq!(r.key.as_deref(), Some(model));
            assert_eq!(r.partition, model_partition);
        } else {
            assert_eq!(cmd, pause);
            assert_eq!(r.key, None);
            pause_partitions.push(r.partition);
        }
    }
    pause_partitions.sort_unstable();
    assert_eq!(pause_partitions, partitions);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_invalid_and_topicless_commands_are_refused() -> TestResult {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let mut cfg = signed_config(&broker, dir.path())?;
    create_topics(&cfg).await?;

    let mut unsigned = command(OperatorKind::Resume, None, None);
    unsigned.signature = None;
    assert!(matches!(
        operator::publish(&cfg, &unsigned).await,
        Err(PublishError::Unsigned(_))
    ));
    let approve_without_target = command(OperatorKind::Approve, Some("m"), None);
    assert!(matches!(
        operator::publish(&cfg, &approve_without_target).await,
        Err(PublishError::Invalid(_))
    ));
    assert!(read_raw(&cfg, &cfg.topics.operator)?.is_empty());

    cfg.topics.operator = unique("missing-operator");
    let err = operator::publish(&cfg, &command(OperatorKind::Pause, None, None))
        .await
        .err();
    assert!(matches!(err, Some(PublishError::NoTopic { .. })), "{err:?}");
    Ok(())
}
