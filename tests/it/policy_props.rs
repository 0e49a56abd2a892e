//! Property tests: print/parse round trip, parser robustness, seed policy semantics.

use jidoka::decide::rules::{CmpOp, Condition, Policy, Signal, Signals};
use jidoka::schema::Action;
use proptest::prelude::*;

fn arb_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("no NaN literals", |x| !x.is_nan()),
        prop::sample::select(vec![
            0.0,
            -0.0,
            0.2,
            -0.5,
            1e-3,
            1e-4,
            9.99e-5,
            1e16,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
        ]),
        (-1000i32..1000).prop_map(|i| f64::from(i) / 100.0),
    ]
}

fn arb_signal_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0f64..1.0,
        1 => any::<f64>(),
        1 => prop::sample::select(vec![0.0, 0.2, 0.15, 0.1, 0.05, f64::NAN, f64::INFINITY, -0.5]),
    ]
}

fn arb_signals() -> impl Strategy<Value = Signals> {
    prop::array::uniform9(arb_signal_value()).prop_map(|v| Signals {
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

fn arb_condition() -> impl Strategy<Value = Condition> {
    let leaf = prop_oneof![
        1 => any::<bool>().prop_map(Condition::Bool),
        4 => (
            prop::sample::select(Signal::ALL.to_vec()),
            prop::sample::select(CmpOp::ALL.to_vec()),
            arb_number(),
        )
            .prop_map(|(signal, op, value)| Condition::Cmp { signal, op, value }),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Condition::Not(Box::new(c))),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Condition::And),
            prop::collection::vec(inner, 2..5).prop_map(Condition::Or),
        ]
    })
}

/// Token soup that exercises the parser beyond random unicode.
fn arb_token_soup() -> impl Strategy<Value = String> {
    let tok = prop::sample::select(vec![
        "drift",
        "anomaly_rate",
        "bogus",
        "and",
        "or",
        "not",
        "&&",
        "||",
        "!",
        "(",
        ")",
        "<",
        "<=",
        ">",
        ">=",
        "==",
        "!=",
        "=",
        "&",
        "|",
        "0.2",
        "-0.5",
        "1e-3",
        "1e",
        "inf",
        "-inf",
        "true",
        "false",
        "1.2.3",
        "-",
        ".",
        "é",
        "\t",
        "",
    ]);
    (prop::collection::vec(tok, 0..24), any::<bool>())
        .prop_map(|(toks, spaced)| toks.join(if spaced { " " } else { "" }))
}

fn check_no_panic(src: &str) {
    if let Err(e) = Condition::parse(src) {
        assert!(e.column >= 1 && e.column <= src.len() + 1, "{src:?}: {e}");
        assert!(src.is_char_boundary(e.column - 1), "{src:?}: {e}");
    }
}

fn seed_direct(s: &Signals) -> Action {
    if s.drift > 0.2 || s.accuracy_drop > 0.15 {
        Action::Retrain
    } else if s.anomaly_rate > 0.05 {
        Action::Fallback
    } else if s.accuracy_drop > 0.1 {
        Action::Rollback
    } else {
        Action::None
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_reparses_to_equal_ast(c in arb_condition(), s in arb_signals()) {
        let printed = c.to_string();
        let back = Condition::parse(&printed)
            .map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(&back, &c, "printed as {}", printed);
        prop_assert_eq!(back.to_string(), printed);
        prop_assert_eq!(back.eval(&s), c.eval(&s));
    }

    #[test]
    fn parser_never_panics_on_arbitrary_strings(src in any::<String>()) {
        check_no_panic(&src);
    }

    #[test]
    fn parser_never_panics_on_token_soup(src in arb_token_soup()) {
        check_no_panic(&src);
    }

    #[test]
    fn seed_policy_matches_direct_implementation(s in arb_signals()) {
        let p = Policy::seed().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ev = p.evaluate(&s);
        prop_assert_eq!(ev.first_hard, None);
        let got = ev.default_match().map(|r| r.action);
        prop_assert_eq!(got, Some(seed_direct(&s)));
    }
}
