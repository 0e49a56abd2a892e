//! The end of a commit interval: outputs published (in the interval's
//! transaction when transactions are on), then the changelog records,
//! then (in the transaction) the offsets, then RocksDB, then (at least
//! once) the offsets; the order the runner's guarantees 1, 2 and 5 rest on.

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::Producer;
use tokio::time::Instant;

use super::super::error::PipelineError;
use super::super::health::Health;
use super::super::sink::Encoded;
use super::Pipeline;
use crate::kafka::{producer_config, KafkaError};
use crate::state::changelog;
use crate::state::Checkpoint;
use crate::telemetry::{Metrics, OffsetCommitFailed};

impl Pipeline<'_> {
    /// Publishes records: inside the interval's transaction (opened on
    /// first use) when transactions are on, else acknowledged one by one,
    /// replacing a producer that failed fatally.
    pub(super) async fn publish(&mut self, records: &[Encoded]) -> Result<(), PipelineError> {
        if records.is_empty() {
            return Ok(());
        }
        if self.cfg.kafka.transactions {
            self.begin_transaction()?;
            if let Err(e) = self
                .sink
                .publish_all(records, &self.metrics, &mut self.shutdown)
                .await
            {
                self.abort_transaction();
                return Err(e.into());
            }
            return Ok(());
        }
        loop {
            match self
                .sink
                .publish_all(records, &self.metrics, &mut self.shutdown)
                .await
            {
                Ok(()) => return Ok(()),
                Err(e) if e.fatal => {
                    tracing::warn!(error = %e, "replacing the output producer");
                    Metrics::add(&self.metrics.producers_replaced_total, 1);
                    self.sink.replace_producer(
                        producer_config(self.cfg)
                            .create_with_context(Health::new(self.metrics.clone()))?,
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(super) fn begin_transaction(&mut self) -> Result<(), PipelineError> {
        if !self.in_transaction {
            self.sink.producer().begin_transaction()?;
            self.in_transaction = true;
        }
        Ok(())
    }

    pub(super) fn abort_transaction(&mut self) {
        if std::mem::take(&mut self.in_transaction) {
            if let Err(abort) = self
                .sink
                .producer()
                .abort_transaction(self.cfg.kafka.produce_timeout)
            {
                tracing::warn!(error = %abort, "aborting the transaction failed");
            }
        }
    }

    /// Commits the interval: changelog records, then (in the transaction,
    /// when on) the offsets, then RocksDB, then (at-least-once) the offsets.
    pub(super) async fn commit(&mut self) -> Result<(), PipelineError> {
        self.last_commit = Instant::now();
        let checkpoint = self.processor.take_checkpoint()?;
        if checkpoint.writes.is_empty()
            && checkpoint.offsets.is_empty()
            && self.positions.is_empty()
        {
            return Ok(());
        }
        let changelog: Vec<Encoded> = if self.cfg.state.changelog {
            changelog::records(self.cfg, &checkpoint)
                .into_iter()
                .map(|r| Encoded {
                    topic: r.topic,
                    id: String::new(),
                    key: Some(r.key),
                    payload: r.value,
                    partition: Some(r.partition),
                })
                .collect()
        } else {
            Vec::new()
        };
        self.publish(&changelog).await?;
        if self.cfg.kafka.transactions {
            self.commit_transaction().await?;
            Metrics::add(&self.metrics.transactions_committed_total, 1);
        }
        let checkpoint = self.write_state(checkpoint).await?;
        self.processor.commit_checkpoint(&checkpoint);
        if !self.cfg.kafka.transactions {
            let result = self
                .positions
                .list()
                .and_then(|tpl| self.consumer.commit(&tpl, CommitMode::Sync));
            if let Err(e) = result {
                OffsetCommitFailed { error: &e }.emit(&self.metrics);
            }
        }
        self.positions.clear();
        Metrics::add(
            &self.metrics.changelog_records_total,
            changelog.len() as u64,
        );
        self.metrics
            .count_out(changelog.iter().map(|e| e.topic.as_str()));
        Ok(())
    }

    /// Sends the interval's offsets into its transaction and commits it
    /// (opening one if nothing was published).
    pub(super) async fn commit_transaction(&mut self) -> Result<(), PipelineError> {
        self.begin_transaction()?;
        let timeout = self.cfg.kafka.produce_timeout;
        let result = (|| {
            let offsets = self.positions.list()?;
            if offsets.count() > 0 {
                let group = self
                    .consumer
                    .group_metadata()
                    .ok_or(KafkaError::NoGroupMetadata)?;
                self.sink
                    .producer()
                    .send_offsets_to_transaction(&offsets, &group, timeout)?;
            }
            self.sink.producer().commit_transaction(timeout)?;
            Ok::<(), PipelineError>(())
        })();
        match result {
            Ok(()) => {
                self.in_transaction = false;
                Ok(())
            }
            Err(e) => {
                self.abort_transaction();
                Err(e)
            }
        }
    }

    /// Writes a checkpoint to RocksDB off the async workers.
    pub(super) async fn write_state(
        &self,
        checkpoint: Checkpoint,
    ) -> Result<Checkpoint, PipelineError> {
        let store = self.processor.shared_store();
        let (result, checkpoint) = tokio::task::spawn_blocking(move || {
            let r = store.write(&checkpoint);
            (r, checkpoint)
        })
        .await
        .map_err(|e| PipelineError::Blocking(e.to_string()))?;
        result?;
        Ok(checkpoint)
    }
}
