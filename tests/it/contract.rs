//! The executor contract (`docs/executors.md`): the JSON forms of real heal
//! commands and outcomes, taken off the broker after a real pipeline run,
//! satisfy the JSON Schemas in `schemas/json/`; a `hold` after an
//! operator's veto names the vetoed command in `target_command_id`; and the
//! schemas refuse what the contract forbids (so the check can fail).

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;
use jidoka::config::Secret;
use jidoka::demo::scenario::Scenario;
use jidoka::heal::report::{self, OutcomeReport};
use jidoka::operator;
use jidoka::schema::{
    Action, HealCommand, HealOutcome, OperatorCommand, OperatorKind, OutcomeStatus,
};

const KEY: &str = "contract-test-operator-key-0123456789abcdef";

fn validator(file: &str) -> Result<jsonschema::Validator, BoxError> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas/json")
        .join(file);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    jsonschema::draft202012::new(&schema).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| e.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_commands_and_outcomes_satisfy_the_json_schemas() -> TestResult {
    let commands_schema = validator("heal_command.schema.json")?;
    let outcomes_schema = validator("heal_outcome.schema.json")?;

    let mut env = TestEnv::start().await?;
    env.loaded.config.operator.hmac_key = Some(Secret::new(KEY));
    let cfg = env.cfg().clone();
    let running = start_pipeline(&env.loaded);
    let preds = Scenario::demo(3000, 1500).predictions();
    let records = encode_predictions(&env.codec, &preds)?;
    produce_raw(&producer(&cfg)?, &cfg.topics.predictions, &records).await?;
    let mut inputs = records.len() as u64;
    running.wait_done(inputs, Duration::from_secs(120)).await?;

    let read_commands = || -> Result<Vec<HealCommand>, BoxError> {
        Ok(
            read_all::<HealCommand>(&cfg, &env.codec, &cfg.topics.actions)?
                .into_iter()
                .map(|r| r.value)
                .collect(),
        )
    };
    let dispatched = read_commands()?;
    let Some(first) = dispatched
        .iter()
        .find(|c| c.model_id == "churn-v7")
        .cloned()
    else {
        panic!("the planted drift issues a command for churn-v7: {dispatched:?}");
    };
    assert_eq!(first.target_command_id, None, "a decision's own command");

    // An operator vetoes the dispatched command: jidoka issues a hold that
    // names it.
    let mut veto = OperatorCommand {
        command_id: operator::new_command_id(),
        kind: OperatorKind::Veto,
        model_id: Some("churn-v7".into()),
        target_command_id: Some(first.command_id.clone()),
        issued_by: "alice".into(),
        issued_at: first.issued_at + 1,
        signature: None,
        action: None,
        note: None,
    };
    operator::sign(&mut veto, KEY.as_bytes());
    operator::publish(&cfg, &veto).await?;
    inputs += 1;
    running.wait_done(inputs, Duration::from_secs(60)).await?;

    // The executor reports the first command's outcome, with a note.
    let request = OutcomeReport {
        command_id: first.command_id.clone(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.3,
        cost: 4.0,
        reported_at: 1_700_000_100_000,
        note: Some("https://ci.example/runs/7".into()),
    };
    report::report(&cfg, &request, false).await?;
    inputs += 1;
    running.wait_done(inputs, Duration::from_secs(60)).await?;
    running.stop().await?;

    let commands = read_commands()?;
    let holds: Vec<&HealCommand> = commands
        .iter()
        .filter(|c| c.action == Action::Hold)
        .collect();
    assert_eq!(holds.len(), 1, "{commands:#?}");
    assert_eq!(
        holds[0].target_command_id.as_deref(),
        Some(first.command_id.as_str())
    );
    for c in &commands {
        let instance = serde_json::to_value(c)?;
        let errs = errors(&commands_schema, &instance);
        assert!(errs.is_empty(), "{instance}: {errs:?}");
    }
    let outcomes: Vec<HealOutcome> =
        read_all::<HealOutcome>(&cfg, &env.codec, &cfg.topics.outcomes)?
            .into_iter()
            .map(|r| r.value)
            .collect();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(
        outcomes[0].note.as_deref(),
        Some("https://ci.example/runs/7")
    );
    let instance = serde_json::to_value(&outcomes[0])?;
    let errs = errors(&outcomes_schema, &instance);
    assert!(errs.is_empty(), "{instance}: {errs:?}");

    // What the contract forbids is refused: the check can fail.
    let mut no_action = serde_json::to_value(&first)?;
    no_action["action"] = json!("none");
    assert!(!errors(&commands_schema, &no_action).is_empty());
    let mut no_id = serde_json::to_value(&first)?;
    if let Some(o) = no_id.as_object_mut() {
        o.remove("command_id");
    }
    assert!(!errors(&commands_schema, &no_id).is_empty());
    let mut extra = serde_json::to_value(&first)?;
    extra["shell"] = json!("rm -rf /");
    assert!(!errors(&commands_schema, &extra).is_empty());
    for (field, bad) in [
        ("status", json!("completed")),
        ("recovery", json!("0.3")),
        ("note", json!("x".repeat(4097))),
    ] {
        let mut o = instance.clone();
        o[field] = bad;
        assert!(!errors(&outcomes_schema, &o).is_empty(), "{field}");
    }
    // A POST /outcomes body may leave out what the bridge fills in.
    let minimal = json!({"command_id": "c", "status": "failed", "recovery": 0, "cost": 1.5});
    assert!(errors(&outcomes_schema, &minimal).is_empty());
    Ok(())
}

/// Splits a shell line into words: double quotes group, nothing else is
/// special (the example's lines use nothing else).
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// `examples/github/jidoka-heal.yml` listens for the events the `github`
/// target sends (`jidoka-<action>` for executing actions) and its report
/// steps are `jidoka outcome report` command lines the real CLI accepts,
/// once GitHub has filled in its expressions.
#[test]
fn the_github_example_receives_dispatches_and_reports_with_the_real_cli() -> TestResult {
    use clap::Parser;
    use jidoka::cli::{Cli, Command, OutcomeSubcommand};

    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github/jidoka-heal.yml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&path)?)?;
    let types: Vec<&str> = doc["on"]["repository_dispatch"]["types"]
        .as_sequence()
        .ok_or("no repository_dispatch types")?
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    let executing: Vec<String> = [Action::Retrain, Action::Rollback, Action::Fallback]
        .iter()
        .map(|a| format!("jidoka-{}", a.as_str()))
        .collect();
    assert_eq!(types, executing);

    let steps = doc["jobs"]["heal"]["steps"]
        .as_sequence()
        .ok_or("no steps")?;
    let mut statuses = Vec::new();
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        if !run.trim_start().starts_with("jidoka ") {
            continue;
        }
        // GitHub's expressions and the job's variables, as they would be.
        let mut line = run.trim().to_string();
        while let Some(start) = line.find("${{") {
            let end = line[start..].find("}}").ok_or("unclosed expression")? + start + 2;
            line.replace_range(start..end, "0.25");
        }
        let line = line
            .replace("$COMMAND_ID", "cmd-1")
            .replace("$RUN_URL", "https://ci.example/runs/7");
        let cli = Cli::try_parse_from(words(&line)).map_err(|e| format!("`{line}`: {e}"))?;
        match cli.command {
            Command::Outcome {
                command: OutcomeSubcommand::Report(args),
            } => {
                assert_eq!(args.command, "cmd-1");
                assert_eq!(args.note.as_deref(), Some("https://ci.example/runs/7"));
                statuses.push(OutcomeStatus::from(args.status));
            }
            other => return Err(format!("`{line}` is not an outcome report: {other:?}").into()),
        }
    }
    assert_eq!(statuses, [OutcomeStatus::Succeeded, OutcomeStatus::Failed]);
    Ok(())
}
