//! The decisions operator alone, over a real RocksDB in a temp dir: the
//! model's signals and alerts are set by hand, no detection, no Kafka.

use super::*;
use crate::stage::SourcePos;
use crate::state::{Alert, Checkpoint, SignalSnapshot};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Fixture {
    _dir: tempfile::TempDir,
    decisions: Decisions,
    models: Models,
}

fn fixture() -> Result<Fixture, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path(), false)?);
    let cfg = Config::defaults()?;
    Ok(Fixture {
        _dir: dir,
        decisions: Decisions::new(&cfg, "cfg-1", store.clone()),
        models: Models::new(store),
    })
}

/// Model `m` with an open covariate alert on `x`, opened by event `e1`.
fn degrade(models: &mut Models) -> Result<FeatureTest, StateError> {
    models.track("m", 0);
    let meta = &mut models.load("m")?.meta;
    let mut alert = Alert::default();
    alert.state.observe(true, 1);
    alert.opened_by = Some("e1".into());
    meta.alerts.insert(AlertKey::Feature("x".into()), alert);
    meta.model_version = "v1".into();
    meta.signals = SignalSnapshot {
        drift: 0.4,
        drifted_share: 1.0,
        anomaly_rate: 0.0,
        latency_shift: 0.0,
        at: 1_000,
    };
    Ok(FeatureTest {
        feature: "x".into(),
        test: TestKind::Ks,
        statistic: 0.4,
        p_value: 0.001,
        adjusted_p_value: 0.001,
        drifted: true,
        significant: true,
        effect_size: Some(1.2),
        min_effect: 0.0,
        threshold: 0.05,
        reference_size: 500,
        reference_start_time: 0,
        reference_end_time: 0,
        window_size: 250,
        window_start_record: 1,
        window_end_record: 250,
        window_start_time: 0,
        window_end_time: 0,
    })
}

fn pos(offset: i64) -> SourcePos {
    SourcePos {
        topic: "predictions".into(),
        partition: 0,
        offset,
    }
}

fn decide(
    f: &mut Fixture,
    offset: i64,
    now: i64,
    test: &FeatureTest,
) -> Result<Vec<Output>, StateError> {
    let pos = pos(offset);
    let at = Evaluation {
        pos: &pos,
        model_id: "m",
        model_version: "v1",
        event_time: now,
        record: 250,
    };
    f.decisions
        .process(&mut f.models, &at, std::slice::from_ref(test))
}

fn split(out: &[Output]) -> (Vec<&HealCommand>, Vec<&AuditRecord>) {
    let commands = out
        .iter()
        .filter_map(|o| match o {
            Output::Command(c) => Some(c),
            _ => None,
        })
        .collect();
    let audits = out
        .iter()
        .filter_map(|o| match o {
            Output::Audit(a) => Some(a),
            _ => None,
        })
        .collect();
    (commands, audits)
}

/// The shipped policy ignores drift below the effect gate: the same
/// significant drift is retrained with a large effect and answered `none`
/// (rule `negligible-drift`) with a small one; the audit record's context
/// shows the effect size and the gate either way.
#[test]
fn the_shipped_policy_ignores_drift_below_the_effect_gate() -> TestResult {
    for (effect, gate, action, rule) in [
        (1.2, 0.1, "retrain", "covariate-drift"),
        (0.04, 0.0, "none", "negligible-drift"),
    ] {
        let mut f = fixture()?;
        let mut test = degrade(&mut f.models)?;
        test.effect_size = Some(effect);
        test.min_effect = gate;
        let out = decide(&mut f, 7, 1_000, &test)?;
        let (commands, audits) = split(&out);
        let a = audits[0];
        assert_eq!(a.action, action, "{a:?}");
        assert_eq!(commands.len(), usize::from(action != "none"));
        let first_matched = a
            .rules
            .iter()
            .filter(|r| r.matched)
            .max_by_key(|r| r.priority)
            .map(|r| r.name.as_str());
        assert_eq!(first_matched, Some(rule), "{:?}", a.rules);
        assert_eq!(
            (a.context.get("effect"), a.context.get("effect_gate")),
            (Some(&effect), Some(&gate))
        );
    }
    Ok(())
}

#[test]
fn a_degraded_model_gets_a_command_a_sealed_audit_and_a_remembered_record() -> TestResult {
    let mut f = fixture()?;
    let test = degrade(&mut f.models)?;
    let out = decide(&mut f, 7, 1_000, &test)?;
    assert!(matches!(
        out.as_slice(),
        [Output::Command(_), Output::Audit(_)]
    ));
    let (commands, audits) = split(&out);
    let (c, a) = (commands[0], audits[0]);
    let decision_id = ids::decision_id("m", pos(7).as_ref());
    assert_eq!(c.decision_id, decision_id);
    assert_eq!(c.action, Action::Retrain, "the covariate-drift rule");
    assert_eq!(c.command_id, ids::command_id(&decision_id, "retrain"));
    assert_eq!(c.evidence, vec!["e1".to_string()]);
    assert_eq!((c.issued_at, c.config_version.as_str()), (1_000, "cfg-1"));
    assert_eq!(a.command_id.as_deref(), Some(c.command_id.as_str()));
    assert_eq!(
        (a.sequence, a.version, a.status.as_str()),
        (1, 1, "dispatched")
    );
    assert_eq!(a.evidence[0].drift_event_id.as_deref(), Some("e1"));
    let entry = f.models.get("m").ok_or("cached")?;
    assert!(entry.dirty);
    assert_eq!(entry.meta.last_action_at, Some(1_000));
    assert_eq!(
        entry.meta.last_audit_hash.as_deref(),
        Some(a.record_hash.as_str())
    );
    let record = f
        .decisions
        .command("m", &c.command_id)?
        .ok_or("remembered")?;
    assert_eq!(&record.command, c);
    assert_eq!(record.status, "dispatched");
    // Measured by default: the command waits for its reward, due one
    // horizon (30m) of the model's stream time after the decision.
    let pending = f.decisions.pending("m", &c.command_id)?.ok_or("measured")?;
    assert_eq!(pending.due, 1_000 + 30 * 60 * 1_000);
    assert_eq!(pending.before.drifted_share, 1.0);
    assert_eq!(f.decisions.waiting("m")?, 1);

    // The checkpoint writes the record, the pending measurement and its
    // index entry (and nothing of anybody else's).
    let mut batch = StateBatch::default();
    f.decisions.on_checkpoint(&f.models, &mut batch)?;
    let writes = batch.take();
    assert_eq!(writes.len(), 3);
    assert!(writes.iter().all(|w| w.cf == Cf::Decisions));
    f.models.store().write(&Checkpoint {
        writes,
        offsets: Vec::new(),
    })?;
    assert!(
        f.decisions.command("m", &c.command_id)?.is_some(),
        "read from the store"
    );
    assert!(
        f.decisions.pending("m", &c.command_id)?.is_some(),
        "read from the store"
    );
    Ok(())
}

#[test]
fn the_cooldown_holds_the_next_decision_and_the_chain_links_it() -> TestResult {
    let mut f = fixture()?;
    let test = degrade(&mut f.models)?;
    let first = decide(&mut f, 7, 1_000, &test)?;
    let second = decide(&mut f, 8, 2_000, &test)?;
    let (commands, audits) = split(&second);
    assert!(commands.is_empty(), "in cooldown: {second:?}");
    let (_, first_audits) = split(&first);
    assert_eq!(audits[0].sequence, 2);
    assert_eq!(
        audits[0].previous_hash.as_deref(),
        Some(first_audits[0].record_hash.as_str())
    );
    assert_eq!(audits[0].status, "decided");
    Ok(())
}

#[test]
fn a_paused_partition_gets_no_command() -> TestResult {
    let mut f = fixture()?;
    let test = degrade(&mut f.models)?;
    let pause = PartitionControl {
        pause: Some(Pause {
            command_id: "op1".into(),
            by: "alice".into(),
            at: 0,
            global: true,
        }),
    };
    f.decisions
        .put_partition_control(&f.models, "m", 0, &pause)?;
    assert_eq!(f.decisions.partition_control(0)?, pause);
    assert_eq!(
        f.decisions.partition_control(1)?,
        PartitionControl::default()
    );
    let out = decide(&mut f, 7, 1_000, &test)?;
    let (commands, audits) = split(&out);
    assert!(commands.is_empty());
    assert_eq!(audits[0].action, "none");
    Ok(())
}

#[test]
fn a_concept_decision_needs_a_cached_model_with_the_alert() -> TestResult {
    let mut f = fixture()?;
    assert!(f
        .decisions
        .concept(&mut f.models, &pos(1), "m", 5)?
        .is_empty());
    degrade(&mut f.models)?;
    assert!(
        f.decisions
            .concept(&mut f.models, &pos(1), "m", 5)?
            .is_empty(),
        "no concept alert"
    );
    Ok(())
}

#[test]
fn a_revoke_drops_the_partitions_writes() -> TestResult {
    let mut f = fixture()?;
    let test = degrade(&mut f.models)?;
    decide(&mut f, 7, 1_000, &test)?;
    f.decisions.on_revoke(0, &["m".to_string()]);
    let mut batch = StateBatch::default();
    f.decisions.on_checkpoint(&f.models, &mut batch)?;
    assert!(batch.is_empty());
    Ok(())
}
