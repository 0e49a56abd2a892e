//! Fuzz targets of `tests/fuzz_inputs.rs` for the policy language: the
//! condition parser and the policy loader never panic on arbitrary text,
//! token soups, grammar-built or mutated conditions and mutated policy
//! files; errors point inside the text; accepted conditions print and
//! re-parse to themselves; nesting is bounded, never a stack overflow.

use jidoka::decide::rules::{Condition, Policy, Signals, SEED_POLICY};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::mutate::{self, cases, fail, fuzz, Ran};
use crate::common::TestResult;

/// Arbitrary signal values, including NaN and infinities.
fn signals() -> impl Strategy<Value = Signals> {
    let v = prop_oneof![3 => 0.0f64..1.0, 1 => any::<f64>()];
    prop::array::uniform9(v).prop_map(|v| Signals {
        drift: v[0],
        drifted_share: v[1],
        accuracy_drop: v[2],
        anomaly_rate: v[3],
        latency_shift: v[4],
        minutes_since_action: v[5],
        recent_actions: v[6],
        effect: v[7],
        effect_gate: v[8],
    })
}

/// Parses a condition: an error points inside the text (or just past it);
/// an accepted condition evaluates and prints to text that parses back to it.
fn check_condition(src: &str, s: &Signals) -> Result<Ran, TestCaseError> {
    match Condition::parse(src) {
        Ok(c) => {
            let _ = c.eval(s);
            let printed = c.to_string();
            let again = Condition::parse(&printed).map_err(|e| fail(format!("{printed}: {e}")))?;
            prop_assert_eq!(again, c);
            Ok(Ran::one(true))
        }
        Err(e) => {
            prop_assert!((1..=src.len() + 1).contains(&e.column), "{e} in {src:?}");
            prop_assert!(!e.to_string().is_empty());
            Ok(Ran::one(false))
        }
    }
}

#[test]
fn condition_parser_never_panics() -> TestResult {
    let text = prop_oneof![
        2 => mutate::text(120),
        3 => mutate::token_soup(),
        3 => mutate::condition_text(),
        3 => (mutate::condition_text(), prop::collection::vec(mutate::text_edit(), 1..3))
            .prop_map(|(c, e)| mutate::edited(&c, &e)),
        2 => mutate::text_edits().prop_map(|e| mutate::edited("drift > 0.2 or accuracy_drop > 0.15", &e)),
        1 => mutate::text_edits().prop_map(|e| {
            mutate::edited("not (anomaly_rate >= 5e-2 && !(0.1 < latency_shift)) || true", &e)
        }),
    ];
    fuzz(
        "policy/condition",
        cases(1),
        (text, signals()),
        |(src, s)| check_condition(&src, &s),
    )
}

/// Loads a policy: accepted rules are unique, sorted by priority, and
/// evaluate; errors say something.
fn check_policy(text: &str, s: &Signals) -> Result<Ran, TestCaseError> {
    match Policy::from_toml_str(text, "fuzz.toml") {
        Ok(policy) => {
            let rules = policy.rules();
            prop_assert!(!rules.is_empty());
            prop_assert!(rules.windows(2).all(|w| w[0].priority >= w[1].priority));
            let mut names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            prop_assert_eq!(names.len(), rules.len());
            let evaluation = policy.evaluate(s);
            prop_assert_eq!(evaluation.results.len(), rules.len());
            Ok(Ran::one(true))
        }
        Err(e) => {
            prop_assert!(e.to_string().starts_with("fuzz.toml: "), "{e}");
            Ok(Ran::one(false))
        }
    }
}

const POLICY_FILE: &str = include_str!("../../../configs/policy.toml");
const HARD_POLICY: &str = r#"
[[rule]]
name = "page-on-anomalies"
when = "anomaly_rate > 0.2 and not (recent_actions >= 3)"
action = "escalate"
hard = true

[[rule]]
name = "hold"
when = "minutes_since_action < 30 || latency_shift != 0"
action = "hold"
priority = -5
"#;

#[test]
fn policy_loader_never_panics_on_arbitrary_text() -> TestResult {
    let text = prop_oneof![
        1 => mutate::text(300),
        2 => mutate::token_soup(),
    ];
    fuzz(
        "policy/arbitrary-toml",
        cases(1),
        (text, signals()),
        |(text, s)| check_policy(&text, &s),
    )
}

#[test]
fn policy_loader_never_panics_on_mutated_policies() -> TestResult {
    let seeds = [POLICY_FILE, SEED_POLICY, HARD_POLICY];
    fuzz(
        "policy/mutated-toml",
        cases(1),
        (0..seeds.len(), mutate::text_edits(), signals()),
        |(i, edits, s)| check_policy(&mutate::edited(seeds[i], &edits), &s),
    )
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() -> TestResult {
    for depth in [1_000usize, 100_000] {
        let open = |t: &str| t.repeat(depth);
        for when in [open("("), open("not "), open("!"), open("drift > 0 or ")] {
            assert!(Condition::parse(&when).is_err());
            let toml = format!("[[rule]]\nname = \"r\"\nwhen = \"{when}\"\naction = \"none\"\n");
            assert!(Policy::from_toml_str(&toml, "deep.toml").is_err());
        }
        for toml in [
            format!("x = {}", open("[")),
            format!("x = {}", open("{a = ")),
            format!("{}\n", open("[[rule]]\n")),
            format!("{} = 1", open("a.")),
        ] {
            assert!(Policy::from_toml_str(&toml, "deep.toml").is_err());
        }
    }
    Ok(())
}
