//! The Kafka loop around the [`Processor`]: a [`Pipeline`] of small steps.
//!
//! Guarantees (at-least-once, with deterministic output ids):
//! 1. a batch's outputs, dead letters included, are acknowledged before the
//!    loop takes the next batch;
//! 2. every `state.commit-interval` (and before stopping) the state changes
//!    of the interval go to the changelog (acknowledged), then to RocksDB in
//!    one atomic write, and only then are the input offsets committed;
//! 3. a record already reflected in the store is skipped, so a restart
//!    between 2's write and the offset commit does not repeat its effects;
//!    a crash before the write replays the interval, with the same ids;
//! 4. a bad record never stops the loop: it goes to the dead-letter topic;
//! 5. with transactions, an interval's outputs, changelog records and
//!    offsets commit in one Kafka transaction, RocksDB after it;
//! 6. restores and RocksDB writes run off the async workers, and a restore
//!    stops as soon as shutdown is asked for;
//! 7. a record of an input not keyed by model id is forwarded to its
//!    repartition topic ([`super::repartition`]) with the batch's outputs,
//!    and its offset committed to Kafka only (that topic holds no state).
//!
//! Revoked partitions: the interval is committed first (state, changelog,
//! stored offsets; the Kafka offset commit may be refused mid-rebalance),
//! then their cached state and the per-feature gauges of their models are
//! dropped; records replayed after the rebalance are recognised as applied
//! by the stored offsets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::Producer;
use tokio::sync::watch;
use tokio::time::Instant;

use super::consume::{next_batch, owned_only, Positions};
use super::error::PipelineError;
use super::health::{Health, OutputProducer};
use super::lessons::{self, LessonsReader};
use super::processor::{Output, Processor, SourcePos};
use super::rebalance::RebalanceLog;
use super::repartition;
use super::sink::{Encoded, Sink};
use crate::config::{Config, InputKind, LoadedConfig, ModelRules, Repartition};
use crate::detect::join::expiry_index;
use crate::detect::reference::ReferenceData;
use crate::ingest;
use crate::kafka::{consumer_config, producer_config};
use crate::schema::registry::{self, RegistryClient, Uses};
use crate::schema::{Codec, EvaluationRecord, HealOutcome, Label, OperatorCommand, Prediction};
use crate::state::changelog::{self, RestoreError};
use crate::state::{StateError, Store};
use crate::telemetry::{
    BatchCommitted, CategoriesCapped, DecisionTaken, DriftDetected, FeatureSeriesRevoked,
    FeaturesEvaluated, HealCommandPublished, HttpEndpoint, Metrics, RecordDeadLettered,
    RecordSkipped, RecordsRepartitioned, SchemaRegistryRetry, StateRestored,
};

/// Runs the pipeline until `shutdown` turns true (or its sender is dropped).
pub async fn run(
    loaded: &LoadedConfig,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), PipelineError> {
    let cfg: &Config = &loaded.config;
    metrics
        .features
        .set_limit(cfg.telemetry.feature_series_limit);
    // Served until this function returns.
    let _http = HttpEndpoint::start_if(&cfg.telemetry.http_address, metrics.clone()).await?;
    let (codec, registry) = registry::codec_for(cfg, &Uses::pipeline(cfg)).await?;
    if let Some(client) = &registry {
        super::mapping_check::check_mappings(cfg, client).await?;
    }
    let mut pipeline = Pipeline::start(loaded, metrics, shutdown, codec, registry)?;
    tracing::info!(
        topic = %cfg.topics.predictions,
        group = %cfg.kafka.group_id,
        config_version = %loaded.version,
        commit_interval = ?cfg.state.commit_interval,
        "pipeline started"
    );
    pipeline.run().await?;
    tracing::info!("pipeline stopped");
    Ok(())
}

/// The consumer, the processor and the sink, with what the current commit
/// interval has done.
struct Pipeline<'a> {
    cfg: &'a Config,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
    codec: Codec,
    /// The Schema Registry, when configured: writer schemas of new ids
    /// are fetched from it before a batch is decoded.
    registry: Option<RegistryClient>,
    /// How the input topics are read (`[input]`).
    inputs: ingest::Inputs,
    processor: Processor,
    consumer: StreamConsumer<RebalanceLog>,
    sink: Sink,
    /// The input topics not keyed by model id, forwarded to their
    /// repartition topics.
    repartitions: Vec<Repartition>,
    /// The topics whose partitions hold state (`Config::input_topics`).
    stateful: std::collections::BTreeSet<String>,
    /// Input positions reached since the last commit.
    positions: Positions,
    /// Records processed since the last commit.
    processed: u64,
    last_commit: Instant,
    /// A Kafka transaction is open (transactions on).
    in_transaction: bool,
    /// The lessons topic, read whole: every decision's posterior is built
    /// from the lessons of its pool.
    lessons: LessonsReader,
}

#[path = "runner_commit.rs"]
mod commit;

/// Longest the start-up read of the lessons topic may take.
const LESSONS_CATCH_UP: Duration = Duration::from_secs(60);

/// How a restore of newly assigned partitions ended.
enum Restore {
    Done,
    Stopped,
}

impl<'a> Pipeline<'a> {
    /// Opens the store, the clients and the processor.
    fn start(
        loaded: &'a LoadedConfig,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
        codec: Codec,
        registry: Option<RegistryClient>,
    ) -> Result<Self, PipelineError> {
        let cfg = &loaded.config;
        std::fs::create_dir_all(&cfg.state.data_dir).map_err(|source| PipelineError::DataDir {
            path: cfg.state.data_dir.display().to_string(),
            source,
        })?;
        let store = Store::open(&cfg.state.data_dir, cfg.state.sync_writes)?;
        let mut processor = Processor::new(cfg, &loaded.version, store);
        for path in ModelRules::new(cfg).reference_files() {
            let reference = Arc::new(ReferenceData::from_file(&path)?);
            processor = processor.with_reference(path, reference);
        }
        let consumer: StreamConsumer<RebalanceLog> =
            consumer_config(cfg).create_with_context(RebalanceLog::new(metrics.clone()))?;
        let consumed = cfg.consumed_topics();
        consumer.subscribe(&consumed.iter().map(String::as_str).collect::<Vec<_>>())?;
        let producer: OutputProducer =
            producer_config(cfg).create_with_context(Health::new(metrics.clone()))?;
        if cfg.kafka.transactions {
            producer.init_transactions(cfg.kafka.produce_timeout)?;
            tracing::info!(transactional_id = %cfg.transactional_id(), "transactions on");
        }
        // Learning starts from every lesson published so far.
        let lessons = {
            let reader = LessonsReader::new(cfg, Duration::from_secs(10))?;
            let read = reader.catch_up(LESSONS_CATCH_UP);
            tracing::info!(
                lessons = read.lessons.len(),
                skipped = read.bad.len(),
                "lessons read for pooled learning"
            );
            learn(&mut processor, read);
            reader
        };
        let sink = Sink::new(
            producer,
            codec.clone(),
            cfg.topics.clone(),
            cfg.lessons_topic(),
            cfg.evaluations.enabled,
            cfg.kafka.produce_timeout,
        );
        Ok(Pipeline {
            cfg,
            metrics,
            shutdown,
            codec,
            registry,
            inputs: ingest::Inputs::new(&cfg.input),
            processor,
            consumer,
            sink,
            repartitions: cfg.repartitions(),
            stateful: cfg.input_topics().into_iter().collect(),
            positions: Positions::default(),
            processed: 0,
            last_commit: Instant::now(),
            in_transaction: false,
            lessons,
        })
    }

    /// The loop: batches until shutdown, a commit every interval, and a
    /// last commit before stopping.
    async fn run(&mut self) -> Result<(), PipelineError> {
        while let Some(batch) =
            next_batch(&self.consumer, &self.cfg.pipeline, &mut self.shutdown).await
        {
            let epoch = self.metrics.readiness.epoch();
            let batch = self.on_revoked(batch).await?;
            if let Restore::Stopped = self.on_assigned().await? {
                return Ok(());
            }
            self.metrics.readiness.restored(epoch);
            self.take_lessons();
            if !batch.is_empty() {
                if !self.fetch_writers(&batch).await {
                    // Shutdown while the registry failed: the batch is
                    // read again after a restart.
                    break;
                }
                self.process(&batch).await?;
            }
            if self.last_commit.elapsed() >= self.cfg.state.commit_interval {
                self.commit().await?;
            }
        }
        self.commit().await
    }

    /// Gives the processor the lessons that arrived on the lessons topic.
    fn take_lessons(&mut self) {
        let read = self.lessons.drain();
        learn(&mut self.processor, read);
    }

    /// Before revoked partitions are dropped, commits the interval's work
    /// (their state too, with the input offsets it reflects, so records
    /// replayed after the rebalance are recognised as applied); returns
    /// the records of the batch still owned.
    async fn on_revoked(
        &mut self,
        batch: Vec<OwnedMessage>,
    ) -> Result<Vec<OwnedMessage>, PipelineError> {
        let revoked = self.consumer.context().take_revoked();
        if revoked.is_empty() {
            return Ok(batch);
        }
        if self.cfg.kafka.transactions {
            // Offsets of partitions no longer owned cannot join the
            // transaction; the stored offsets (changelogged) still cover
            // them.
            for (topic, partition) in &revoked {
                self.positions.forget(topic, *partition);
            }
        }
        self.commit().await?;
        // A topic forwarded to a repartition topic holds no state: its
        // partitions need not match the state's.
        let partitions: std::collections::BTreeSet<i32> = revoked
            .iter()
            .filter(|(topic, _)| self.stateful.contains(topic))
            .map(|(_, p)| *p)
            .collect();
        for partition in partitions {
            self.processor.forget_partition(partition);
            // Its models are served elsewhere now: their gauges too.
            FeatureSeriesRevoked { partition }.emit(&self.metrics);
        }
        for (topic, partition) in &revoked {
            self.positions.forget(topic, *partition);
        }
        // Records fetched before a revoke belong to the partition's new
        // owner now: it restores the committed state and processes them.
        Ok(owned_only(&self.consumer, batch))
    }

    /// Restores newly assigned partitions from the changelog (when on),
    /// off the async workers, stopping at shutdown.
    async fn on_assigned(&mut self) -> Result<Restore, PipelineError> {
        let assigned: std::collections::BTreeSet<i32> = self
            .consumer
            .context()
            .take_assigned()
            .into_iter()
            .filter(|(topic, _)| self.stateful.contains(topic))
            .map(|(_, p)| p)
            .collect();
        if !self.cfg.state.changelog {
            return Ok(Restore::Done);
        }
        for partition in assigned {
            if *self.shutdown.borrow() {
                return Ok(Restore::Stopped);
            }
            let cfg = self.cfg.clone();
            let store = self.processor.shared_store();
            let stop = Arc::new(AtomicBool::new(false));
            let stop_task = stop.clone();
            let mut task = tokio::task::spawn_blocking(move || {
                if !changelog::needs_restore(&cfg, &store, partition)? {
                    return Ok(None);
                }
                changelog::restore(&cfg, &store, partition, &expiry_index, &stop_task).map(Some)
            });
            let result = tokio::select! {
                r = &mut task => r,
                _ = self.shutdown.changed() => {
                    stop.store(true, Ordering::Relaxed);
                    let _ = task.await;
                    tracing::info!(partition, "restore stopped by shutdown");
                    return Ok(Restore::Stopped);
                }
            };
            let done = match result {
                Ok(Ok(done)) => done,
                Ok(Err(RestoreError::Stopped(_))) => return Ok(Restore::Stopped),
                Ok(Err(e)) => return Err(e.into()),
                Err(join) => return Err(PipelineError::Blocking(join.to_string())),
            };
            if let Some(done) = done {
                self.processor.forget_partition(partition);
                StateRestored {
                    partition,
                    records: done.records,
                    bytes: done.bytes,
                    elapsed: done.elapsed,
                }
                .emit(&self.metrics);
            }
        }
        Ok(Restore::Done)
    }

    /// With a Schema Registry, fetches the writer schemas of the batch's
    /// ids not seen before, retrying while the registry fails; false when
    /// shutdown came first (the batch is left unprocessed, uncommitted).
    async fn fetch_writers(&mut self, batch: &[OwnedMessage]) -> bool {
        let (Some(client), Some(cache)) = (&self.registry, self.codec.writers()) else {
            return true;
        };
        let missing = cache.missing(batch.iter().map(|m| m.payload()));
        if missing.is_empty() {
            return true;
        }
        let metrics = &self.metrics;
        registry::fetch_missing(
            &self.codec,
            client,
            missing,
            registry::Backoff::default(),
            &mut self.shutdown,
            |id, error, retry_in| {
                SchemaRegistryRetry {
                    id,
                    error,
                    retry_in,
                }
                .emit(metrics)
            },
        )
        .await
        .is_ok()
    }

    /// Processes one batch and publishes its outputs and dead letters.
    async fn process(&mut self, batch: &[OwnedMessage]) -> Result<(), PipelineError> {
        Metrics::set(&self.metrics.broker_reachable, true);
        self.metrics.count_in(batch.iter().map(|m| m.topic()));
        // Outputs with their input partition (the per-model gauges').
        let mut outputs: Vec<(i32, Output)> = Vec::new();
        // Evaluations apart, with their input partition, for the gauges.
        let mut evaluations: Vec<(i32, EvaluationRecord)> = Vec::new();
        let mut encoded: Vec<Encoded> = Vec::new();
        // Records forwarded per repartition topic.
        let mut forwarded = vec![0u64; self.repartitions.len()];
        for msg in batch {
            let pos = SourcePos {
                topic: msg.topic().to_string(),
                partition: msg.partition(),
                offset: msg.offset(),
            };
            if let Some(i) = self.repartitions.iter().position(|r| r.source == pos.topic) {
                // Stateless: its offsets are committed to Kafka (in the
                // transaction when on), never stored with the state.
                match repartition::forward(&self.codec, &self.inputs, &self.repartitions[i], msg) {
                    Ok(record) => {
                        encoded.push(record?);
                        forwarded[i] += 1;
                    }
                    Err(dead) => encoded.push(self.dead_letter(&pos, &dead)?),
                }
                continue;
            }
            if self.processor.already_applied(&pos)? {
                RecordSkipped {
                    topic: &pos.topic,
                    partition: pos.partition,
                    offset: pos.offset,
                }
                .emit(&self.metrics);
                continue;
            }
            let started = std::time::Instant::now();
            match self.apply(&pos, msg) {
                Ok(outs) => {
                    let outs = outs?;
                    observe_latency(&self.metrics, started.elapsed(), &outs);
                    for out in outs {
                        encoded.extend(self.sink.encode(&out)?);
                        match out {
                            Output::Evaluation(e) => evaluations.push((pos.partition, e)),
                            out => outputs.push((pos.partition, out)),
                        }
                    }
                    self.processed += 1;
                }
                Err(dead) => {
                    encoded.push(self.dead_letter(&pos, &dead)?);
                    self.processor.mark_done(&pos);
                }
            }
        }
        self.positions.advance(batch);
        self.publish(&encoded).await?;
        self.metrics
            .count_out(encoded.iter().map(|e| e.topic.as_str()));
        for (rp, records) in self.repartitions.iter().zip(forwarded) {
            if records > 0 {
                RecordsRepartitioned {
                    topic: &rp.source,
                    repartition_topic: &rp.topic,
                    records,
                }
                .emit(&self.metrics);
            }
        }
        for (partition, out) in &outputs {
            emit_output(*partition, out, &self.metrics);
        }
        FeaturesEvaluated {
            evaluations: &evaluations,
        }
        .emit(&self.metrics);
        let capped = self.processor.take_capped();
        if capped > 0 {
            CategoriesCapped { values: capped }.emit(&self.metrics);
        }
        // Counted last: a reader that sees the records processed sees
        // their telemetry too.
        Metrics::add(
            &self.metrics.records_processed_total,
            std::mem::take(&mut self.processed),
        );
        BatchCommitted {
            records: batch.len(),
            outputs: encoded.len(),
        }
        .emit(&self.metrics);
        Ok(())
    }

    /// Decodes one record for its topic and hands it to the processor: the
    /// outer error is a dead letter, the inner one a state failure. A
    /// repartition topic's records are jidoka's own Avro; the platform's
    /// topics are read as the platform writes them.
    #[allow(clippy::type_complexity)]
    fn apply(
        &mut self,
        pos: &SourcePos,
        msg: &OwnedMessage,
    ) -> Result<Result<Vec<Output>, StateError>, Box<crate::schema::DeadLetter>> {
        let topics = &self.cfg.topics;
        let codec = &self.codec;
        let processor = &mut self.processor;
        if let Some(rp) = self.repartitions.iter().find(|r| r.topic == pos.topic) {
            match rp.kind {
                InputKind::Predictions => {
                    ingest::decode::<Prediction>(codec, msg).map(|p| processor.process(pos, &p))
                }
                InputKind::Labels => ingest::decode::<Label>(codec, msg)
                    .map(|label| processor.process_label(pos, &label)),
            }
        } else if pos.topic == topics.labels {
            self.inputs
                .label(codec, msg)
                .map(|label| processor.process_label(pos, &label))
        } else if pos.topic == topics.outcomes {
            ingest::decode::<HealOutcome>(codec, msg).map(|o| processor.process_outcome(pos, &o))
        } else if pos.topic == topics.operator {
            ingest::decode::<OperatorCommand>(codec, msg).map(|c| {
                let verified = crate::operator::check(self.cfg, &c);
                processor.process_operator(pos, &c, verified)
            })
        } else {
            self.inputs
                .prediction(codec, msg)
                .map(|p| processor.process(pos, &p))
        }
    }

    /// Counts and logs the dead letter of the record at `pos` and encodes
    /// it for the dead-letter topic.
    fn dead_letter(
        &self,
        pos: &SourcePos,
        dead: &crate::schema::DeadLetter,
    ) -> Result<Encoded, PipelineError> {
        RecordDeadLettered {
            topic: &pos.topic,
            partition: pos.partition,
            offset: pos.offset,
            kind: &dead.error_kind,
            reason: &dead.reason,
        }
        .emit(&self.metrics);
        Ok(self.sink.encode_dead_letter(dead)?)
    }
}

fn emit_output(partition: i32, out: &Output, metrics: &Metrics) {
    match out {
        Output::Drift(e) => DriftDetected {
            partition,
            model_id: &e.model_id,
            kind: &e.kind,
            status: &e.status,
            feature: &e.feature,
            statistic: e.statistic,
            p_value: e.p_value,
            record: e.window_end_record,
        }
        .emit(metrics),
        Output::Command(c) => HealCommandPublished {
            partition,
            model_id: &c.model_id,
            command_id: &c.command_id,
            action: c.action.as_str(),
        }
        .emit(metrics),
        // Later versions of a decision (outcome, approval, veto) and the
        // records of operator commands are not new decisions.
        Output::Audit(a) if a.version == 1 && a.operator_command_id.is_none() => DecisionTaken {
            model_id: &a.model_id,
            decision_id: &a.decision_id,
            action: &a.action,
            reason: &a.gate_reason,
            source: &a.decided_by,
        }
        .emit(metrics),
        // Evaluations go to the gauges, a batch at a time
        // ([`FeaturesEvaluated`]).
        Output::Audit(_) | Output::Evaluation(_) | Output::Lesson(_) => {}
    }
}

/// Folds lessons read into the processor's pools; a record that is not a
/// lesson, and a client error, are logged and skipped.
fn learn(processor: &mut Processor, read: lessons::Read) {
    for error in read.errors {
        tracing::debug!(%error, "reading the lessons topic");
    }
    for (partition, offset, reason) in read.bad {
        tracing::warn!(partition, offset, %reason, "skipped a record of the lessons topic");
    }
    for lesson in read.lessons {
        processor.learn(lesson);
    }
}

/// Processing time of one record: detection always, decision when the
/// record led to one (an audit record).
fn observe_latency(metrics: &Metrics, elapsed: Duration, outs: &[Output]) {
    metrics.observe_detect_latency(elapsed);
    if outs.iter().any(|o| matches!(o, Output::Audit(_))) {
        metrics.observe_decision_latency(elapsed);
    }
}
