//! Loading, validation, ordering and evaluation of policy files.

use jidoka::decide::rules::{Policy, PolicyError, Signals, SEED_POLICY};
use jidoka::schema::Action;

fn load(text: &str) -> Result<Policy, PolicyError> {
    Policy::from_toml_str(text, "configs/policy.toml")
}

fn load_err(text: &str) -> PolicyError {
    match load(text) {
        Ok(p) => panic!("loaded {p:?}"),
        Err(e) => e,
    }
}

#[test]
fn sorts_by_priority_desc_ties_in_file_order() {
    let p = load(
        r#"
[[rule]]
name = "a"
when = "true"
action = "hold"
priority = 1
[[rule]]
name = "b"
when = "drift > 0.2"
action = "retrain"
priority = 10
hard = true
[[rule]]
name = "c"
when = "true"
action = "escalate"
priority = 1
[[rule]]
name = "d"
when = "false"
action = "rollback"
"#,
    )
    .unwrap();
    let names: Vec<_> = p.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["b", "a", "c", "d"]);
    assert_eq!(p.rules()[0].source, "drift > 0.2");
    assert!(p.rules()[0].hard);
    assert_eq!(p.rules()[3].priority, 0);

    let ev = p.evaluate(&Signals::default());
    assert_eq!(ev.results.len(), 4);
    assert_eq!(ev.first_hard, None);
    assert_eq!(ev.first_default, Some(1));
    assert_eq!(ev.default_match().unwrap().action, Action::Hold);

    let ev = p.evaluate(&Signals {
        drift: 0.5,
        ..Signals::default()
    });
    assert_eq!(ev.first_hard, Some(0));
    assert_eq!(ev.hard_match().unwrap().action, Action::Retrain);
    assert_eq!(ev.results[0].condition, "drift > 0.2");
    assert!(ev.results[0].matched && !ev.results[3].matched);
}

#[test]
fn syntax_error_names_file_rule_and_column() {
    let e = load_err(
        "[[rule]]\nname = \"big-drift\"\nwhen = \"drift > 0.2 or or\"\naction = \"retrain\"\n",
    );
    assert!(matches!(e, PolicyError::Syntax { column: 16, .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "configs/policy.toml: rule \"big-drift\": at column 16: expected a number or signal name \
         (or \"(\", \"not\", \"true\", \"false\"), found \"or\""
    );
}

#[test]
fn unknown_signal_is_a_load_error() {
    let e = load_err("[[rule]]\nname = \"x\"\nwhen = \"true and lag > 3\"\naction = \"hold\"\n");
    match &e {
        PolicyError::UnknownSignal {
            file,
            rule,
            column,
            name,
        } => {
            assert_eq!((file.as_str(), rule.as_str()), ("configs/policy.toml", "x"));
            assert_eq!((*column, name.as_str()), (10, "lag"));
        }
        other => panic!("{other:?}"),
    }
    assert!(e
        .to_string()
        .contains("at column 10: unknown signal \"lag\""));
}

#[test]
fn other_load_errors() {
    let e = load_err("[[rule]]\nname = \"x\"\nwhen = \"true\"\naction = \"reboot\"\n");
    assert!(matches!(e, PolicyError::UnknownAction { ref action, .. } if action == "reboot"));
    assert!(e.to_string().contains("expected one of retrain"));

    let twice = "[[rule]]\nname = \"x\"\nwhen = \"true\"\naction = \"hold\"\n";
    let e = load_err(&format!("{twice}{twice}"));
    assert!(matches!(e, PolicyError::DuplicateRule { ref rule, .. } if rule == "x"));

    assert!(matches!(load_err(""), PolicyError::Empty { .. }));
    assert!(matches!(load_err("rule = []"), PolicyError::Empty { .. }));

    let e = load_err("[[rule]]\nname = \"x\"\nwhen = \"true\"\naction = \"hold\"\nweight = 3\n");
    let msg = e.to_string();
    assert!(matches!(e, PolicyError::Toml { .. }));
    assert!(
        msg.starts_with("configs/policy.toml: invalid policy TOML"),
        "{msg}"
    );
    assert!(msg.contains("line 5") && msg.contains("weight"), "{msg}");

    let e = load_err("[[rule]]\nname = \"x\"\naction = \"hold\"\n");
    assert!(e.to_string().contains("when"), "{e}");
    let e = load_err("[[rules]]\nname = \"x\"\n");
    assert!(matches!(e, PolicyError::Toml { .. }));
    let e =
        load_err("[[rule]]\nname = \"x\"\nwhen = \"true\"\naction = \"hold\"\npriority = 1e3\n");
    assert!(matches!(e, PolicyError::Toml { .. }));
}

#[test]
fn from_file_reads_and_names_missing_files() {
    let dir = std::env::temp_dir().join(format!("policy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.toml");
    std::fs::write(&path, SEED_POLICY).unwrap();
    let p = Policy::from_file(&path).unwrap();
    assert_eq!(p.rules().len(), 4);

    let missing = dir.join("nope.toml");
    let e = Policy::from_file(&missing).unwrap_err();
    assert!(matches!(e, PolicyError::Io { .. }));
    assert!(e.to_string().contains("nope.toml"), "{e}");

    std::fs::write(&path, "[[rule]]\nname = 1\n").unwrap();
    let e = Policy::from_file(&path).unwrap_err();
    assert!(e.to_string().contains("policy.toml"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn seed_policy_shape() {
    let p = Policy::seed().unwrap();
    let got: Vec<_> = p
        .rules()
        .iter()
        .map(|r| (r.priority, r.action, r.hard, r.condition.to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                40,
                Action::Retrain,
                false,
                "drift > 0.2 or accuracy_drop > 0.15".to_string()
            ),
            (
                30,
                Action::Fallback,
                false,
                "anomaly_rate > 0.05".to_string()
            ),
            (
                20,
                Action::Rollback,
                false,
                "accuracy_drop > 0.1".to_string()
            ),
            (10, Action::None, false, "true".to_string()),
        ]
    );
}

#[test]
fn shipped_policy_files_load() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    // configs/policy.toml is the built-in policy, with a hard safety rule.
    let shipped = Policy::from_file(&dir.join("policy.toml"))?;
    assert_eq!(shipped, *jidoka::decide::builtin_policy());
    assert!(shipped.rules().iter().any(|r| r.hard));
    // configs/seed-policy.toml is the seed system's rules (the ablation's).
    let shipped = Policy::from_file(&dir.join("seed-policy.toml"))?;
    let seed = Policy::seed()?;
    let names = |p: &Policy| {
        p.rules()
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.condition.to_string(),
                    r.action,
                    r.priority,
                    r.hard,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&shipped), names(&seed));
    Ok(())
}
