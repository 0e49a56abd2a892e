//! Bad input at scale: 96,000 good predictions of three models with about
//! 5% corrupt records of sixteen kinds mixed in at seeded random places
//! (keyed by the models' ids and by stray keys, so on every partition),
//! through a real broker and the pipeline. Every corrupt record gets
//! exactly one dead letter, at its source position, with its original
//! bytes, the right error class and a reason; every good record is
//! processed; the committed offsets cover the whole input; and the heal
//! commands, audit records and drift events equal, id for id, those of a
//! processor that saw the good records alone.

mod kinds;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::pipeline::{Output, Processor, SourcePos};
use jidoka::schema::{AuditRecord, DeadLetter, DriftEvent, HealCommand, Prediction};
use jidoka::state::Store;
use jidoka::telemetry::Metrics;
use kinds::{Corrupt, Kind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Records per model (three models).
const RECORDS_PER_MODEL: u64 = 32_000;
/// A corrupt record follows a good one with this probability (~5% of all).
const CORRUPT_SHARE: f64 = 1.0 / 19.0;
/// Share of corrupt records keyed by a stray key instead of a model id.
const STRAY_SHARE: f64 = 0.15;

/// One record of the input stream.
#[derive(Debug, Clone)]
enum Input {
    Good(usize),
    Bad(Corrupt),
}

/// The mixed stream: keyed values and what each is.
fn mixed_stream(
    codec: &jidoka::schema::Codec,
    preds: &[Prediction],
) -> Result<(Vec<RawRecord>, Vec<Input>), BoxError> {
    let mut rng = StdRng::seed_from_u64(0x00c0_4407);
    let mut by_model: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in preds.iter().enumerate() {
        by_model.entry(p.model_id.as_str()).or_default().push(i);
    }
    let models: Vec<&str> = by_model.keys().copied().collect();
    let mut records = Vec::with_capacity(preds.len() * 21 / 20);
    let mut inputs = Vec::with_capacity(records.capacity());
    for (i, p) in preds.iter().enumerate() {
        records.push((p.model_id.clone(), Some(codec.encode(p)?)));
        inputs.push(Input::Good(i));
        if rng.gen_bool(CORRUPT_SHARE) {
            let model = models[rng.gen_range(0..models.len())];
            let of_model = &by_model[model];
            let base = &preds[of_model[rng.gen_range(0..of_model.len())]];
            let kind = Kind::ALL[rng.gen_range(0..Kind::ALL.len())];
            let bad = kinds::build(kind, base, codec, &mut rng)?;
            let key = if rng.gen_bool(STRAY_SHARE) {
                format!("stray-{}", rng.gen::<u16>())
            } else {
                model.to_string()
            };
            records.push((key, bad.payload.clone()));
            inputs.push(Input::Bad(bad));
        }
    }
    Ok((records, inputs))
}

/// What a processor that sees only `good` (at their positions) publishes:
/// commands and audit records by id, and drift event ids.
type Decisions = (
    BTreeMap<String, HealCommand>,
    BTreeMap<String, AuditRecord>,
    Vec<String>,
);

fn reference(
    loaded: &jidoka::config::LoadedConfig,
    good: &[(SourcePos, &Prediction)],
) -> Result<Decisions, BoxError> {
    let dir = tempfile::tempdir()?;
    let mut processor = Processor::new(
        &loaded.config,
        &loaded.version,
        Store::open(dir.path(), false)?,
    );
    let (mut commands, mut audits, mut drifts) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    for (pos, p) in good {
        for out in processor.process(pos, p)? {
            match out {
                Output::Command(c) => {
                    commands.insert(c.command_id.clone(), c);
                }
                Output::Audit(a) => {
                    audits.insert(a.decision_id.clone(), a);
                }
                Output::Drift(d) => drifts.push(d.event_id),
                Output::Evaluation(_) | Output::Lesson(_) => {}
            }
        }
    }
    drifts.sort();
    Ok((commands, audits, drifts))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_records_at_scale_are_dead_lettered_once_and_change_no_decision() -> TestResult {
    let started = Instant::now();
    let env = TestEnv::start().await?;
    let (cfg, codec) = (env.cfg(), &env.codec);
    let preds = Scenario::demo(RECORDS_PER_MODEL, RECORDS_PER_MODEL / 2).predictions();
    let (records, inputs) = mixed_stream(codec, &preds)?;
    let total = records.len() as u64;
    let good_count = preds.len() as u64;
    let bad_count = total - good_count;
    assert!(total >= 100_000, "{total} records");

    // Run the pipeline over the mixed stream.
    let phase = Instant::now();
    let running = start_pipeline(&env.loaded);
    produce_raw(&producer(cfg)?, &cfg.topics.predictions, &records).await?;
    let produced = phase.elapsed();
    running.wait_done(total, Duration::from_secs(240)).await?;
    let metrics = running.stop().await?;
    let piped = phase.elapsed();
    assert_eq!(Metrics::get(&metrics.records_in_total), total);
    assert_eq!(Metrics::get(&metrics.records_skipped_total), 0);
    assert_eq!(
        Metrics::get(&metrics.records_processed_total),
        good_count,
        "every good record processed"
    );
    assert_eq!(
        Metrics::get(&metrics.records_dead_lettered_total),
        bad_count
    );
    let group = &cfg.kafka.group_id;
    let committed = committed_total(cfg, group, &cfg.topics.predictions, 3)?;
    assert_eq!(committed, total as i64, "committed offsets cover the input");

    // Where each input landed: per partition, the topic holds exactly the
    // records of that partition's keys, in the order produced.
    let mut on_topic = read_raw(cfg, &cfg.topics.predictions)?;
    on_topic.sort_by_key(|r| (r.partition, r.offset));
    let mut partition_of: HashMap<String, i32> = HashMap::new();
    for r in &on_topic {
        let key = r.key.clone().ok_or("record without key")?;
        let p = *partition_of.entry(key).or_insert(r.partition);
        assert_eq!(p, r.partition, "one key, one partition");
    }
    let mut position: Vec<Option<(i32, i64)>> = vec![None; records.len()];
    let mut per_partition: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, (key, _)) in records.iter().enumerate() {
        let p = *partition_of
            .get(key)
            .ok_or(format!("key {key} not on topic"))?;
        per_partition.entry(p).or_default().push(i);
    }
    let mut read = on_topic.iter();
    for (p, indices) in &per_partition {
        for &i in indices {
            let r = read
                .next()
                .ok_or("topic holds fewer records than produced")?;
            assert_eq!(r.partition, *p);
            assert_eq!(r.key.as_deref(), Some(records[i].0.as_str()));
            assert_eq!(r.value, records[i].1, "record {i} in produce order");
            position[i] = Some((r.partition, r.offset));
        }
    }
    assert!(
        read.next().is_none(),
        "topic holds more records than produced"
    );

    // Exactly one dead letter per corrupt record, at its position.
    let mut dead: BTreeMap<(i32, i64), Vec<DeadLetter>> = BTreeMap::new();
    for r in read_all::<DeadLetter>(cfg, codec, &cfg.topics.dead_letter)? {
        dead.entry((r.value.source_partition, r.value.source_offset))
            .or_default()
            .push(r.value);
    }
    let mut by_kind: BTreeMap<(Kind, &str), u64> = BTreeMap::new();
    let mut partitions_hit: BTreeMap<i32, u64> = BTreeMap::new();
    let mut good: Vec<(SourcePos, &Prediction)> = Vec::with_capacity(preds.len());
    for (i, input) in inputs.iter().enumerate() {
        let (partition, offset) = position[i].ok_or("input without position")?;
        let letters = dead.remove(&(partition, offset)).unwrap_or_default();
        match input {
            Input::Good(g) => {
                assert!(
                    letters.is_empty(),
                    "good record {i} dead-lettered: {letters:?}"
                );
                let pos = SourcePos {
                    topic: cfg.topics.predictions.clone(),
                    partition,
                    offset,
                };
                good.push((pos, &preds[*g]));
            }
            Input::Bad(bad) => {
                assert_eq!(letters.len(), 1, "{:?} at {partition}/{offset}", bad.kind);
                let d = &letters[0];
                assert_eq!(d.error_kind, bad.class, "{:?}: {}", bad.kind, d.reason);
                assert!(
                    d.reason.to_lowercase().contains(&bad.word.to_lowercase()),
                    "{:?}: reason `{}` lacks `{}`",
                    bad.kind,
                    d.reason,
                    bad.word
                );
                assert_eq!(d.payload, bad.payload, "{:?}: original bytes", bad.kind);
                assert_eq!(d.source_topic, cfg.topics.predictions);
                assert_eq!(d.source_key.as_deref(), Some(records[i].0.as_bytes()));
                assert!(!d.payload_truncated);
                *by_kind.entry((bad.kind, bad.class)).or_default() += 1;
                *partitions_hit.entry(partition).or_default() += 1;
            }
        }
    }
    assert!(dead.is_empty(), "dead letters for no input: {dead:?}");
    assert_eq!(
        partitions_hit.len(),
        3,
        "corrupt records on every partition"
    );
    assert_eq!(
        by_kind.len(),
        Kind::ALL.len(),
        "every kind of corrupt record"
    );

    // Decisions equal those of the good records alone.
    good.sort_by_key(|(pos, _)| (pos.partition, pos.offset));
    let (ref_commands, ref_audits, ref_drifts) = reference(&env.loaded, &good)?;
    let commands: BTreeMap<String, HealCommand> =
        read_all::<HealCommand>(cfg, codec, &cfg.topics.actions)?
            .into_iter()
            .map(|r| (r.value.command_id.clone(), r.value))
            .collect();
    let audits: BTreeMap<String, AuditRecord> =
        read_all::<AuditRecord>(cfg, codec, &cfg.topics.audit)?
            .into_iter()
            .map(|r| (r.value.decision_id.clone(), r.value))
            .collect();
    let mut drifts: Vec<String> = read_all::<DriftEvent>(cfg, codec, &cfg.topics.drift_events)?
        .into_iter()
        .map(|r| r.value.event_id)
        .collect();
    drifts.sort();
    assert!(!ref_commands.is_empty(), "the shifted model gets commands");
    assert_eq!(commands, ref_commands, "heal commands");
    assert_eq!(audits, ref_audits, "audit records");
    assert_eq!(drifts, ref_drifts, "drift events");
    assert_eq!(
        Metrics::get(&metrics.heal_commands_total),
        ref_commands.len() as u64
    );

    println!(
        "corrupt mix: {total} records ({good_count} good, {bad_count} corrupt = {:.2}%), \
         {} commands, {} audit records, {} drift events",
        100.0 * bad_count as f64 / total as f64,
        commands.len(),
        audits.len(),
        drifts.len()
    );
    for ((kind, class), n) in &by_kind {
        println!("  {kind:?} ({class}): {n}");
    }
    println!("  corrupt records per partition: {partitions_hit:?}");
    println!(
        "  produce {produced:.1?}, pipeline done {piped:.1?}, whole test {:.1?}",
        started.elapsed()
    );
    Ok(())
}
