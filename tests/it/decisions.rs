//! The decision loop through a real broker: signed operator commands are
//! obeyed and forged ones audited and ignored, a veto holds back the next
//! command, and an executor's outcome on the outcomes topic, once the
//! model's stream has passed the reward's horizon, completes the decision's
//! audit record (a new version of the same key) with the reward the bandit
//! learned: the model's measured recovery and the executor's report.

use std::time::Duration;

use crate::common::*;
use jidoka::config::Secret;
use jidoka::demo::scenario::Scenario;
use jidoka::operator;
use jidoka::schema::{
    AuditRecord, HealCommand, HealOutcome, OperatorCommand, OperatorKind, OutcomeStatus,
};

const KEY: &str = "decisions-test-operator-key-0123456789abcdef";

fn command(kind: OperatorKind, model: Option<&str>, key: &str) -> OperatorCommand {
    let mut cmd = OperatorCommand {
        command_id: operator::new_command_id(),
        kind,
        model_id: model.map(str::to_string),
        target_command_id: None,
        issued_by: "alice".into(),
        issued_at: 1_700_000_000_000,
        signature: None,
        action: None,
        note: None,
    };
    operator::sign(&mut cmd, key.as_bytes());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vetoes_forgeries_and_outcomes_through_kafka() -> TestResult {
    let mut env = TestEnv::start().await?;
    env.loaded.config.operator.hmac_key = Some(Secret::new(KEY));
    let cfg = env.cfg().clone();
    let running = start_pipeline(&env.loaded);

    // A signed veto of churn-v7's next command, and a pause of every model
    // signed with the wrong key (one copy per partition).
    let veto = command(OperatorKind::Veto, Some("churn-v7"), KEY);
    let forged = command(
        OperatorKind::Pause,
        None,
        "not-the-operator-key-0123456789abcdef",
    );
    operator::publish(&cfg, &veto).await?;
    let copies = operator::publish(&cfg, &forged).await?.len() as u64;
    running
        .wait_done(1 + copies, Duration::from_secs(60))
        .await?;

    let scenario = Scenario::demo(3000, 1500);
    let preds = scenario.predictions();
    let records = encode_predictions(&env.codec, &preds)?;
    produce_raw(&producer(&cfg)?, &cfg.topics.predictions, &records).await?;
    let inputs = 1 + copies + records.len() as u64;
    running.wait_done(inputs, Duration::from_secs(120)).await?;

    let audits: Vec<AuditRecord> = read_all::<AuditRecord>(&cfg, &env.codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    let operator_records: Vec<&AuditRecord> = audits
        .iter()
        .filter(|a| a.operator_command_id.is_some() && a.version == 1)
        .collect();
    let accepted: Vec<_> = operator_records
        .iter()
        .filter(|a| a.operator_command_id.as_deref() == Some(veto.command_id.as_str()))
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].status, "accepted");
    let rejected: Vec<_> = operator_records
        .iter()
        .filter(|a| a.operator_command_id.as_deref() == Some(forged.command_id.as_str()))
        .collect();
    assert_eq!(rejected.len() as u64, copies, "one rejection per partition");
    assert!(rejected
        .iter()
        .all(|a| a.status == "rejected"
            && a.checks.iter().any(|c| c.name == "signature" && !c.passed)));

    // churn-v7: the first decision proposes a retrain and is vetoed; the
    // forged pause is ignored, so the next one retrains.
    // Audit records are keyed by decision id (spread over partitions): put
    // the model's chain in order.
    let mut churn: Vec<&AuditRecord> = audits
        .iter()
        .filter(|a| a.model_id == "churn-v7" && a.operator_command_id.is_none())
        .collect();
    churn.sort_by_key(|a| a.sequence);
    assert!(churn.len() >= 2, "{churn:?}");
    assert_eq!(
        (churn[0].proposed_action.as_str(), churn[0].action.as_str()),
        ("retrain", "none")
    );
    assert!(churn[0]
        .checks
        .iter()
        .any(|c| c.name == "veto" && !c.passed));
    let commands: Vec<HealCommand> =
        read_all::<HealCommand>(&cfg, &env.codec, &cfg.topics.actions)?
            .into_iter()
            .map(|r| r.value)
            .filter(|c| c.model_id == "churn-v7")
            .collect();
    assert_eq!(commands.len(), 1);
    let summary: Vec<_> = churn
        .iter()
        .map(|a| {
            (
                a.sequence,
                a.proposed_action.as_str(),
                a.action.as_str(),
                a.decision_id.as_str(),
            )
        })
        .collect();
    assert_eq!(commands[0].decision_id, churn[1].decision_id, "{summary:?}");

    // The executor reports; the reward waits for the model's stream to
    // pass the horizon (30 min) after the command (about 30 min into the
    // 50 min stream); then the decision's audit record gets version 2.
    let outcome = HealOutcome {
        command_id: commands[0].command_id.clone(),
        model_id: "churn-v7".into(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.25,
        cost: 5.0,
        reported_at: 1_700_000_100_000,
        note: None,
    };
    let raw = vec![("churn-v7".to_string(), Some(env.codec.encode(&outcome)?))];
    produce_raw(&producer(&cfg)?, &cfg.topics.outcomes, &raw).await?;
    running
        .wait_done(inputs + 1, Duration::from_secs(60))
        .await?;
    let early: Vec<AuditRecord> = read_all::<AuditRecord>(&cfg, &env.codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value)
        .filter(|a| a.decision_id == commands[0].decision_id && a.version > 1)
        .collect();
    assert!(early.is_empty(), "completed before the horizon: {early:#?}");
    let later = encode_predictions(&env.codec, &scenario.continued(1_500))?;
    produce_raw(&producer(&cfg)?, &cfg.topics.predictions, &later).await?;
    running
        .wait_done(inputs + 1 + later.len() as u64, Duration::from_secs(120))
        .await?;
    running.stop().await?;
    let audits: Vec<AuditRecord> = read_all::<AuditRecord>(&cfg, &env.codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    let mut completed: Vec<&AuditRecord> = audits
        .iter()
        .filter(|a| a.decision_id == commands[0].decision_id && a.version == 2)
        .collect();
    // At least once: a record resent after a produce timeout may be on the
    // topic twice, identical (same hash); there must be one version 2.
    completed.sort_by(|a, b| a.record_hash.cmp(&b.record_hash));
    completed.dedup_by(|a, b| a == b);
    assert_eq!(completed.len(), 1, "{completed:#?}");
    let reward = completed[0].outcome.as_ref().map(|o| o.reward);
    let w = completed[0].reward.as_ref().ok_or("the reward's parts")?;
    assert_eq!(w.parts, "measured+reported", "{w:?}");
    assert!(w.learned && w.measured_at >= Some(commands[0].issued_at + 30 * 60_000));
    assert_eq!(
        (w.reported_recovery, w.reported_cost),
        (Some(0.25), Some(5.0))
    );
    let m = w.measured_recovery.ok_or("measured")?;
    // 1.0 × (1 × m + 1 × 0.25) / 2 − 0.01 × 5
    assert!(
        reward.is_some_and(|r| (r - ((m + 0.25) / 2.0 - 0.05)).abs() < 1e-12),
        "{reward:?} {w:?}"
    );
    let reports = jidoka::audit::verify(audits);
    assert!(reports.iter().all(|r| r.is_intact()), "{reports:?}");
    Ok(())
}
