//! Pooled learning through the broker: three models drift, their commands
//! are answered on the outcomes topic, their streams run on past the
//! reward's horizon (measured recovery and reported outcome make the
//! reward), and the lessons reach the lessons topic; then three other models drift, and their decisions draw on those
//! lessons (`decide.bandit.scope = "global"`, the default). Run once by
//! one instance and once by two instances of one group (each with its own
//! store, the models spread over them), on two brokers with the same topic
//! names: the second three decisions are identical, arm, confidence and
//! every arm's posterior.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::config::LoadedConfig;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::{AuditRecord, HealCommand, HealOutcome, OutcomeStatus, Prediction};
use jidoka::telemetry::Metrics;

const FIRST: [&str; 3] = ["fleet-a0", "fleet-a1", "fleet-a2"];
const SECOND: [&str; 3] = ["fleet-b0", "fleet-b1", "fleet-b2"];

/// The demo's drifting stream (churn-v7, 2,000 records, drift from record
/// 1,000); with `later` > 0, its continuation: the next `later` records.
fn churn(later: u64) -> Vec<Prediction> {
    let s = Scenario::demo(2000, 1000);
    let records = if later == 0 {
        s.predictions()
    } else {
        s.continued(later)
    };
    records
        .into_iter()
        .filter(|p| p.model_id == "churn-v7")
        .collect()
}

/// `base` as each of `models`, starting `offset` ms later, interleaved.
fn streams(models: &[&str], offset: i64, base: &[Prediction]) -> Vec<Prediction> {
    let mut out = Vec::new();
    for p in base {
        for m in models {
            let mut q = p.clone();
            q.model_id = m.to_string();
            q.prediction_id = format!("{m}-{}", p.prediction_id);
            q.event_time += offset;
            out.push(q);
        }
    }
    out
}

/// Waits until `check` holds, polling; `what` names it in the error.
async fn until<F>(what: &str, limit: Duration, mut check: F) -> TestResult
where
    F: FnMut() -> Result<bool, BoxError>,
{
    let deadline = Instant::now() + limit;
    while !check()? {
        if Instant::now() > deadline {
            return Err(format!("{what}: not within {limit:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// The version-1 audit records of `models`, by model, one per decision.
fn decisions(
    env_cfg: &jidoka::config::Config,
    codec: &jidoka::schema::Codec,
    models: &[&str],
) -> Result<BTreeMap<String, Vec<AuditRecord>>, BoxError> {
    let mut out: BTreeMap<String, Vec<AuditRecord>> = BTreeMap::new();
    for r in read_all::<AuditRecord>(env_cfg, codec, &env_cfg.topics.audit)? {
        let a = r.value;
        if a.version == 1 && models.contains(&a.model_id.as_str()) {
            out.entry(a.model_id.clone()).or_default().push(a);
        }
    }
    // A replayed batch may publish a record twice: one per decision.
    for v in out.values_mut() {
        v.sort_by(|a, b| a.decision_id.cmp(&b.decision_id));
        v.dedup_by(|a, b| a.decision_id == b.decision_id);
        v.sort_by_key(|a| a.inputs.source_offset);
    }
    Ok(out)
}

/// One layout: `instances` pipelines of one group on `loaded`'s broker.
/// Returns the second models' decisions and the records each instance
/// processed.
async fn layout(
    loaded: &LoadedConfig,
    codec: &jidoka::schema::Codec,
    instances: usize,
) -> Result<(BTreeMap<String, Vec<AuditRecord>>, Vec<u64>), BoxError> {
    let cfg = &loaded.config;
    let dirs = (0..instances)
        .map(|_| tempfile::tempdir())
        .collect::<Result<Vec<_>, _>>()?;
    let running: Vec<Running> = dirs
        .iter()
        .map(|d| {
            let mut c = cfg.clone();
            c.state.data_dir = d.path().to_path_buf();
            Ok(start_pipeline(&with_version(c)?))
        })
        .collect::<Result<_, BoxError>>()?;
    // Every member in the group before the first record.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let producer = producer(cfg)?;
    let first = streams(&FIRST, 0, &churn(0));
    produce_raw(
        &producer,
        &cfg.topics.predictions,
        &encode_predictions(codec, &first)?,
    )
    .await?;
    let commands = || -> Result<Vec<HealCommand>, BoxError> {
        Ok(read_all::<HealCommand>(cfg, codec, &cfg.topics.actions)?
            .into_iter()
            .map(|r| r.value)
            .collect())
    };
    until(
        "a command for each first model",
        Duration::from_secs(120),
        || {
            let c = commands()?;
            Ok(FIRST.iter().all(|m| c.iter().any(|x| x.model_id == *m)))
        },
    )
    .await?;
    // Every command answered: succeeded, a recovery that makes it worth it.
    let answered: Vec<(String, Option<Vec<u8>>)> = commands()?
        .into_iter()
        .map(|c| {
            let o = HealOutcome {
                command_id: c.command_id.clone(),
                model_id: c.model_id.clone(),
                status: OutcomeStatus::Succeeded,
                recovery: 0.4,
                cost: 20.0,
                reported_at: 1,
                note: None,
            };
            Ok((c.model_id, Some(codec.encode(&o)?)))
        })
        .collect::<Result<_, BoxError>>()?;
    produce_raw(&producer, &cfg.topics.outcomes, &answered).await?;
    // The first models' streams run on 30 more minutes, past the horizon
    // (30 min) of their commands (about 25 min into their 33 min): each
    // reward is complete, measured and reported, and becomes a lesson.
    let on = streams(&FIRST, 0, &churn(1_800));
    produce_raw(
        &producer,
        &cfg.topics.predictions,
        &encode_predictions(codec, &on)?,
    )
    .await?;
    let lessons = cfg.lessons_topic();
    until(
        "a lesson for every outcome",
        Duration::from_secs(120),
        || Ok(read_raw(cfg, &lessons)?.len() >= answered.len()),
    )
    .await?;
    // Lessons spread to every instance before the next decisions.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = on.iter().map(|p| p.event_time).max().unwrap_or(0) + 3_600_000;
    let second = streams(&SECOND, later, &churn(0));
    produce_raw(
        &producer,
        &cfg.topics.predictions,
        &encode_predictions(codec, &second)?,
    )
    .await?;
    let total = (first.len() + on.len() + second.len() + answered.len()) as u64;
    until("every record processed", Duration::from_secs(180), || {
        Ok(running.iter().map(Running::done).sum::<u64>() >= total)
    })
    .await?;
    let mut processed = Vec::new();
    for r in running {
        processed.push(Metrics::get(&r.stop().await?.records_processed_total));
    }
    Ok((decisions(cfg, codec, &SECOND)?, processed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_make_the_pooled_decisions_of_one() -> TestResult {
    let one = TestEnv::start().await?;
    // The same topic and group names on a second broker: decision ids (and
    // so the bandit's draws) depend on the input topic's name.
    let broker = Broker::start()?;
    let mut two_cfg = one.cfg().clone();
    two_cfg.kafka.bootstrap_servers = broker.bootstrap();
    let two = with_version(two_cfg)?;
    create_topics(&two.config).await?;

    let (single, _) = layout(&one.loaded, &one.codec, 1).await?;
    let (split, processed) = layout(&two, &one.codec, 2).await?;
    println!("pooled: records processed by each of the two instances: {processed:?}");
    assert!(
        processed.iter().all(|n| *n > 0),
        "both instances took part: {processed:?}"
    );
    assert_eq!(
        single.keys().map(String::as_str).collect::<Vec<_>>(),
        SECOND.to_vec(),
        "every second model decided"
    );
    let summary = |d: &BTreeMap<String, Vec<AuditRecord>>| -> Vec<String> {
        d.values()
            .flatten()
            .map(|a| {
                let v = a.bandit.as_ref();
                format!(
                    "{} @{} {} by {} (bandit {:?} {:.3} folded {:?})",
                    a.model_id,
                    a.inputs.source_offset,
                    a.action,
                    a.decided_by,
                    v.map(|v| v.chosen.clone()),
                    v.map_or(0.0, |v| v.confidence),
                    v.map(|v| v
                        .arms
                        .iter()
                        .map(|arm| arm.observations)
                        .collect::<Vec<_>>())
                )
            })
            .collect()
    };
    println!("pooled: one instance {:#?}", summary(&single));
    println!("pooled: two instances {:#?}", summary(&split));
    for (model, ds) in &single {
        let other = split
            .get(model)
            .ok_or(format!("{model} not decided by two"))?;
        assert_eq!(ds.len(), other.len(), "{model}: decisions");
        for (a, b) in ds.iter().zip(other) {
            let folded: i64 = a
                .bandit
                .as_ref()
                .map_or(0, |v| v.arms.iter().map(|arm| arm.observations).sum());
            assert!(
                folded >= FIRST.len() as i64,
                "{model}: the decision drew on the first models' lessons ({folded})"
            );
            assert_eq!(a.decision_id, b.decision_id);
            assert_eq!(a.bandit, b.bandit, "{model}: bandit view");
            assert_eq!(
                (&a.action, &a.proposed_action, &a.decided_by, &a.gate_reason),
                (&b.action, &b.proposed_action, &b.decided_by, &b.gate_reason),
                "{model}: decision"
            );
        }
    }
    Ok(())
}
