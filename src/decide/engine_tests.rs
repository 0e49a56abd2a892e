//! Engine tests: the invariants of the gate and the checks, over random
//! runs in which the bandit learns, plus the ordering of the proposal.

use super::*;
use crate::config::Config;
use crate::decide::control::Pause;
use crate::decide::lesson::Lesson;
use crate::decide::pool::LessonPool;
use proptest::prelude::*;
use rand::Rng;

fn config() -> DecideConfig {
    match Config::defaults() {
        Ok(c) => c.decide,
        Err(e) => panic!("defaults load: {e}"),
    }
}

fn policy(text: &str) -> Arc<Policy> {
    match Policy::from_toml_str(text, "test") {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("policy: {e}"),
    }
}

fn engine_with(text: &str) -> Engine {
    let mut cfg = config();
    cfg.policy = Some(policy(text));
    cfg.bandit.arms = [
        "none", "retrain", "rollback", "fallback", "hold", "escalate",
    ]
    .map(String::from)
    .to_vec();
    Engine::new(&cfg)
}

const MIXED: &str = r#"
[[rule]]
name = "collapse"
when = "accuracy_drop > 0.3"
action = "rollback"
priority = 100
hard = true
[[rule]]
name = "drift"
when = "drift > 0.2"
action = "retrain"
priority = 50
[[rule]]
name = "anomalies"
when = "anomaly_rate > 0.1"
action = "fallback"
priority = 40
"#;

fn request<'a>(
    id: &'a str,
    s: Signals,
    now: i64,
    bandit: Option<&'a LinearThompsonBandit>,
) -> DecisionRequest<'a> {
    DecisionRequest {
        decision_id: id,
        signals: s,
        now,
        stream_time: now,
        evidence_time: now,
        last_action_at: None,
        recent_commands: &[],
        control: Control::default(),
        bandit,
    }
}

#[test]
fn builtin_policy_parses_and_names_known_signals() {
    let p = builtin_policy();
    assert!(!p.rules().is_empty());
    assert!(p.rules().iter().any(|r| r.hard), "a hard safety rule");
}

#[test]
fn hard_rule_beats_a_confident_bandit() {
    let engine = engine_with(MIXED);
    let mut b = match engine.new_bandit() {
        Ok(b) => b,
        Err(e) => panic!("{e:?}"),
    };
    let s = Signals {
        accuracy_drop: 0.5,
        drift: 0.5,
        ..Signals::default()
    };
    let x = context::features(&s, &engine.policy().evaluate(&s));
    // Teach the bandit that "none" is excellent here and everything else bad.
    for _ in 0..200 {
        for arm in b.actions() {
            let r = if arm == Action::None { 5.0 } else { -5.0 };
            if let Err(e) = b.update(arm, &x, r) {
                panic!("{e:?}");
            }
        }
    }
    let d = engine.decide(&request("d1", s, 0, Some(&b)));
    let view = d.bandit.as_ref().map(|v| (v.chosen.clone(), v.confidence));
    assert_eq!(view.as_ref().map(|v| v.0.as_str()), Some("none"));
    assert!(view.is_some_and(|v| v.1 >= 0.8));
    assert_eq!(d.source, Source::Rules);
    assert_eq!(d.action, Some(Action::Rollback));
    // Without the hard rule firing, the confident bandit's "none" wins over
    // the default drift rule.
    let s2 = Signals {
        drift: 0.5,
        accuracy_drop: 0.5,
        ..Signals::default()
    };
    let e2 = engine_with(&MIXED.replace("hard = true", "hard = false"));
    let d2 = e2.decide(&request("d1", s2, 0, Some(&b)));
    assert_eq!(d2.source, Source::Bandit);
    assert_eq!(d2.action, None);
}

/// `arm_means` at a decision's signals is what the decision's audit view
/// showed: the same context vector, the same posterior means, the same
/// observation counts; and it follows what the bandit learns.
#[test]
fn arm_means_equal_the_decisions_view_and_follow_learning() {
    let engine = engine_with(MIXED);
    let mut b = match engine.new_bandit() {
        Ok(b) => b,
        Err(e) => panic!("{e:?}"),
    };
    let s = Signals {
        drift: 0.35,
        drifted_share: 0.5,
        ..Signals::default()
    };
    let x = context::features(&s, &engine.policy().evaluate(&s));
    for _ in 0..5 {
        if let Err(e) = b.update(Action::Retrain, &x, 0.7) {
            panic!("{e:?}");
        }
    }
    let d = engine.decide(&request("d1", s, 0, Some(&b)));
    let Some(view) = d.bandit else {
        panic!("the bandit was consulted")
    };
    let means = engine.arm_means(&b, &s);
    assert_eq!(means, view.arms);
    let retrain = means.iter().find(|a| a.action == "retrain");
    assert!(
        retrain.is_some_and(|a| a.observations == 5 && (a.posterior_mean - 0.7).abs() < 0.2),
        "{retrain:?}"
    );
    let untried = means.iter().find(|a| a.action == "rollback");
    assert!(untried.is_some_and(|a| a.observations == 0 && a.posterior_mean == 0.0));
}

#[test]
fn nothing_matched_and_no_confidence_escalates() {
    let engine = engine_with(MIXED);
    let d = engine.decide(&request("d", Signals::default(), 0, None));
    assert_eq!(d.source, Source::Escalation);
    assert_eq!(d.action, Some(Action::Escalate));
    assert!(d.bandit.is_none());
    assert!(d.gate_reason.contains("escalate"), "{}", d.gate_reason);
}

#[test]
fn every_check_is_recorded_with_the_first_failure_as_reason() {
    let engine = engine_with(MIXED);
    let s = Signals {
        drift: 0.5,
        ..Signals::default()
    };
    let pause = Pause {
        command_id: "op-1".into(),
        by: "alice".into(),
        at: 0,
        global: false,
    };
    let mut req = request("d", s, 10 * HOUR_MS, None);
    req.control.pause = Some(&pause);
    req.last_action_at = Some(10 * HOUR_MS - 60_000);
    let d = engine.decide(&req);
    assert_eq!(d.action, None);
    let names: Vec<(&str, bool)> = d
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.passed))
        .collect();
    assert_eq!(
        names,
        vec![
            ("gate", false),
            ("evidence-age", true),
            ("pause", false),
            ("cooldown", false),
            ("rate-limit", true)
        ]
    );
    assert!(
        d.gate_reason.contains("paused by alice"),
        "{}",
        d.gate_reason
    );
}

#[test]
fn stale_evidence_holds_the_command_back() {
    let engine = engine_with(MIXED);
    let s = Signals {
        drift: 0.5,
        ..Signals::default()
    };
    let mut req = request("d", s, 5 * HOUR_MS, None);
    req.evidence_time = 5 * HOUR_MS - 2 * HOUR_MS;
    let d = engine.decide(&req);
    assert_eq!(d.proposed, Action::Retrain);
    assert_eq!(d.action, None);
    assert!(d.gate_reason.contains("stale"), "{}", d.gate_reason);
}

#[test]
fn same_request_same_decision() {
    let engine = engine_with(MIXED);
    let b = match engine.new_bandit() {
        Ok(b) => b,
        Err(e) => panic!("{e:?}"),
    };
    let s = Signals {
        drift: 0.25,
        ..Signals::default()
    };
    let a = engine.decide(&request("same", s, 0, Some(&b)));
    let again = engine.decide(&request("same", s, 0, Some(&b)));
    assert_eq!(a, again);
    let other = engine.decide(&request("other", s, 0, Some(&b)));
    assert_ne!(a.bandit, other.bandit, "draws depend on the decision id");
}

fn signals() -> impl Strategy<Value = Signals> {
    (
        0.0..0.6f64,
        0.0..1.0f64,
        0.0..0.5f64,
        0.0..0.3f64,
        -0.5..2.0f64,
    )
        .prop_map(|(d, share, a, r, l)| Signals {
            drift: d,
            drifted_share: share,
            accuracy_drop: a,
            anomaly_rate: r,
            latency_shift: l,
            ..Signals::default()
        })
}

#[derive(Debug, Clone)]
struct Step {
    signals: Signals,
    advance_ms: i64,
    stale_ms: i64,
    pause: bool,
    veto: u8,
    reward_seed: u64,
}

fn step() -> impl Strategy<Value = Step> {
    (
        signals(),
        0i64..(40 * 60_000),
        prop_oneof![Just(0i64), 0i64..(2 * HOUR_MS)],
        proptest::bool::weighted(0.15),
        0u8..8,
        any::<u64>(),
    )
        .prop_map(
            |(signals, advance_ms, stale_ms, pause, veto, reward_seed)| Step {
                signals,
                advance_ms,
                stale_ms,
                pause,
                veto,
                reward_seed,
            },
        )
}

/// What the engine draws from in a run: one model's own bandit, or the
/// posterior of a pool its lessons share with other models'.
enum Learner {
    Own(LinearThompsonBandit),
    Pooled {
        pool: LessonPool,
        engine: Box<Engine>,
    },
}

impl Learner {
    fn new(engine: &Engine, pooled: bool) -> Result<Learner, TestCaseError> {
        let fresh = engine
            .new_bandit()
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        Ok(if pooled {
            Learner::Pooled {
                pool: LessonPool::new(crate::decide::bandit::Scope::Global, 2000),
                engine: Box::new(engine.clone()),
            }
        } else {
            Learner::Own(fresh)
        })
    }

    /// The bandit a decision at `now` draws from.
    fn current(&self, now: i64) -> Result<LinearThompsonBandit, TestCaseError> {
        match self {
            Learner::Own(b) => Ok(b.clone()),
            Learner::Pooled { pool, engine } => pool
                .posterior("m", "*", now, engine)
                .map(|(bandit, _)| bandit)
                .map_err(|e| TestCaseError::fail(format!("{e:?}"))),
        }
    }

    /// Learns `reward` for `action` in `features`, from model `model`'s
    /// decision `id` at `now`.
    fn learn(
        &mut self,
        model: &str,
        id: &str,
        action: Action,
        features: &[f64],
        reward: f64,
        now: i64,
    ) {
        match self {
            Learner::Own(b) => {
                let _ = b.update(action, features, reward);
            }
            Learner::Pooled { pool, .. } => {
                pool.insert(Lesson {
                    decision_id: format!("{model}/{id}/{action}"),
                    model_id: model.into(),
                    group: "*".into(),
                    action,
                    features: features.to_vec(),
                    reward,
                    learned_at: now,
                });
            }
        }
    }
}

/// Over a run in which the bandit learns from random rewards (its own, or
/// with `pooled` a pool's, where other models' lessons praise one arm
/// loudly): no command during cooldown, past the rate limit, while paused or
/// on stale evidence; no bandit-sourced decision below the gate; a hard
/// rule's action is always the proposal; every standing veto blocks the
/// next command it applies to; the same request always decides the same.
fn invariants(steps: &[Step], pooled: bool) -> Result<(), TestCaseError> {
    let mut cfg = config();
    cfg.policy = Some(policy(MIXED));
    cfg.bandit.samples = 60;
    let engine = Engine::new(&cfg);
    let span = millis(cfg.cooldown);
    let mut learner = Learner::new(&engine, pooled)?;
    let mut now = 0i64;
    let mut last: Option<i64> = None;
    let mut recent: Vec<i64> = Vec::new();
    let mut vetoes: Vec<Veto> = Vec::new();
    let pause = Pause {
        command_id: "op-p".into(),
        by: "ops".into(),
        at: 0,
        global: true,
    };
    for (i, st) in steps.iter().enumerate() {
        now += st.advance_ms;
        let id = format!("dec-{i}");
        match st.veto {
            0 => vetoes.push(Veto {
                command_id: format!("op-{i}"),
                by: "bob".into(),
                target: None,
            }),
            1 => {
                // A veto naming the exact command this decision would issue.
                for a in ["retrain", "rollback", "fallback", "hold", "escalate"] {
                    vetoes.push(Veto {
                        command_id: format!("op-{i}-{a}"),
                        by: "carol".into(),
                        target: Some(ids::command_id(&id, a)),
                    });
                }
            }
            _ => {}
        }
        let bandit = learner.current(now)?;
        let req = DecisionRequest {
            decision_id: &id,
            signals: st.signals,
            now,
            stream_time: now,
            evidence_time: now - st.stale_ms,
            last_action_at: last,
            recent_commands: &recent,
            control: Control {
                pause: st.pause.then_some(&pause),
                vetoes: &vetoes,
            },
            bandit: Some(&bandit),
        };
        let d = engine.decide(&req);
        prop_assert_eq!(&engine.decide(&req), &d);
        let evaluation = engine.policy().evaluate(&st.signals);
        if let Some(hard) = evaluation.hard_match() {
            prop_assert_eq!(d.proposed, hard.action);
            prop_assert_eq!(d.source, Source::Rules);
        }
        if d.source == Source::Bandit {
            let conf = d.bandit.as_ref().map_or(-1.0, |v| v.confidence);
            prop_assert!(
                conf >= cfg.confidence_gate,
                "ungated bandit decision: {conf}"
            );
        }
        let would_pass = st.stale_ms <= millis(cfg.max_evidence_age)
            && !st.pause
            && last.is_none_or(|l| now >= l && now - l >= span)
            && recent.iter().filter(|t| now - **t < HOUR_MS).count()
                < cfg.rate_limit_per_hour as usize;
        let mut rng = StdRng::seed_from_u64(st.reward_seed);
        if let Some(action) = d.action {
            prop_assert!(would_pass, "command {action} despite a failed check: {d:?}");
            prop_assert!(d.vetoed_by.is_none());
            let cid = d.command_id.clone().unwrap_or_default();
            prop_assert!(req.control.veto_for(&cid).is_none(), "veto not honoured");
            last = Some(now);
            recent.push(now);
            let reward =
                if action == Action::Retrain { 1.0 } else { -1.0 } + rng.gen_range(-0.1..0.1);
            learner.learn("m", &id, action, &d.features, reward, now);
        } else if would_pass && d.proposed.command().is_some() {
            // Only a veto can hold back a command every other check let through.
            let v = d.vetoed_by.clone();
            prop_assert!(v.is_some(), "command held back without reason: {d:?}");
            vetoes.retain(|x| Some(x) != v.as_ref());
        }
        if d.action.is_none() && d.source != Source::Bandit {
            // The bandit also learns what "nothing" was worth.
            learner.learn("m", &id, Action::None, &d.features, -0.5, now);
        }
        if pooled {
            // Another model of the pool finds rollback excellent, often.
            for k in 0..3 {
                let reward = 2.0 + rng.gen_range(-0.1..0.1);
                learner.learn(
                    "other",
                    &format!("{id}-{k}"),
                    Action::Rollback,
                    &d.features,
                    reward,
                    now,
                );
            }
        }
    }
    Ok(())
}

/// Other models' lessons alone (none of the deciding model's own) carry
/// the bandit past the gate: pooled learning is what lets a model with no
/// incident history of its own act on what the fleet learned.
#[test]
fn the_pool_alone_can_carry_the_bandit_past_the_gate() -> Result<(), TestCaseError> {
    let mut cfg = config();
    cfg.policy = Some(policy(MIXED));
    let engine = Engine::new(&cfg);
    let signals = Signals {
        drift: 0.35,
        drifted_share: 0.5,
        accuracy_drop: 0.05,
        ..Signals::default()
    };
    let features = context::features(&signals, &engine.policy().evaluate(&signals));
    let mut learner = Learner::new(&engine, true)?;
    let decide = |learner: &Learner| -> Result<Decision, TestCaseError> {
        let bandit = learner.current(10_000)?;
        Ok(engine.decide(&request("dec-x", signals, 10_000, Some(&bandit))))
    };
    // Before any lesson the bandit does not override the rules.
    let rules = engine
        .policy()
        .evaluate(&signals)
        .default_match()
        .map(|r| r.action);
    let before = decide(&learner)?;
    prop_assert_ne!(before.source, Source::Bandit);
    prop_assert_eq!(Some(before.proposed), rules);
    prop_assert_ne!(rules, Some(Action::Rollback));
    for k in 0..40 {
        for (action, reward) in [
            (Action::Rollback, 2.0),
            (Action::Retrain, -1.0),
            (Action::Hold, -1.0),
        ] {
            learner.learn(
                "other",
                &format!("d{k}"),
                action,
                &features,
                reward + 0.01 * f64::from(k % 3),
                5_000,
            );
        }
    }
    let d = decide(&learner)?;
    prop_assert_eq!(d.source, Source::Bandit);
    prop_assert_eq!(d.proposed, Action::Rollback);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn invariants_hold_over_a_learning_run(steps in proptest::collection::vec(step(), 40..120)) {
        invariants(&steps, false)?;
    }

    #[test]
    fn invariants_hold_with_pooled_learning(steps in proptest::collection::vec(step(), 40..120)) {
        invariants(&steps, true)?;
    }
}

/// The audit's bandit view carries what reproduces the decision: the seed,
/// the arm the confidence was measured against (the matching default
/// rule's), and per arm the τ² its pooled prior was widened by (computed
/// with the posterior; 0 for a model's own bandit).
#[test]
fn the_bandit_view_records_seed_reference_and_deviation() -> Result<(), BanditError> {
    let mut cfg = config();
    cfg.policy = Some(policy(MIXED));
    cfg.bandit.arms = ["none", "retrain", "fallback"].map(String::from).to_vec();
    cfg.bandit.seed = 9;
    cfg.bandit.scope = crate::decide::bandit::Scope::Global;
    cfg.bandit.deviation = crate::decide::bandit::Deviation::Fixed(0.5);
    let engine = Engine::new(&cfg);
    let s = Signals {
        drift: 0.35,
        drifted_share: 0.5,
        ..Signals::default()
    };
    let x = context::features(&s, &engine.policy().evaluate(&s));
    let mut stats = engine.statistics()?;
    stats.observe("other", "*", Action::Retrain, &x, 0.5, 1.0)?;
    let pooled = engine.pooled_bandit(&stats, "m", "*")?;
    let d = engine.decide(&request("d1", s, 0, Some(&pooled)));
    let Some(view) = d.bandit else {
        panic!("the bandit was consulted")
    };
    assert_eq!(view.seed, Some(9));
    assert_eq!(view.against.as_deref(), Some("retrain"));
    assert_eq!(view.arms.len(), 3);
    assert!(
        view.arms.iter().all(|a| a.deviation == Some(0.5)),
        "{view:?}"
    );

    // A model's own bandit is not widened; no default rule matched: the
    // confidence is against every arm.
    let own = engine.new_bandit()?;
    let calm = Signals::default();
    let d = engine.decide(&request("d2", calm, 0, Some(&own)));
    let Some(view) = d.bandit else {
        panic!("the bandit was consulted")
    };
    assert_eq!((view.seed, view.against.as_deref()), (Some(9), None));
    assert!(
        view.arms.iter().all(|a| a.deviation == Some(0.0)),
        "{view:?}"
    );
    Ok(())
}
