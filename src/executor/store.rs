//! The bridge's delivery state: one RocksDB entry per (target, command id),
//! and the model of every command seen (for `POST /outcomes`).
//!
//! Guarantees: every write is synced to disk before it returns, so what
//! the bridge recorded survives a SIGKILL. The bridge writes
//! [`Delivery::Sending`] before every attempt that could reach a target;
//! an entry still `Sending` when the bridge reads the command again
//! (after a crash) means the result is unknown, and the command is never
//! sent again. Values carry a format version byte; an entry that does not
//! decode is an error, never a default.

use std::path::Path;

use rocksdb::{Options, WriteBatch, WriteOptions, DB};
use serde::{Deserialize, Serialize};

use crate::config::TargetKind;
use crate::schema::OutcomeStatus;

/// Format version of the values.
const FORMAT: u8 = 1;

/// Where a command stands with one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Delivery {
    /// An attempt may have reached the target; its result is not recorded.
    Sending,
    /// Every attempt so far was answered 5xx or could not connect: the
    /// target has not taken it, a retry is safe.
    Retrying {
        /// Attempts made.
        attempts: u32,
    },
    /// The target took it (`accepted`) or finally refused it.
    Finished {
        /// Taken (true) or refused (false).
        accepted: bool,
        /// An outcome still to produce (cleared once produced).
        pending: Option<PendingOutcome>,
    },
    /// Found `Sending` after a restart, or a timeout: never resent.
    Unconfirmed,
}

/// An outcome the bridge owes the outcomes topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingOutcome {
    /// `succeeded`, `failed` or `rejected`.
    pub status: String,
    /// Recovery.
    pub recovery: f64,
    /// Cost.
    pub cost: f64,
    /// When it was decided (ms).
    pub reported_at: i64,
    /// The outcome's note: the target's, or why it was refused.
    pub note: Option<String>,
}

impl PendingOutcome {
    /// The status.
    pub fn status(&self) -> OutcomeStatus {
        OutcomeStatus::from_name(&self.status).unwrap_or(OutcomeStatus::Rejected)
    }
}

/// A store failure: external (disk) or a corrupt entry; the bridge stops.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("delivery store: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// An entry did not decode.
    #[error("delivery store: entry of `{key}` does not decode: {reason}")]
    Corrupt {
        /// Its key.
        key: String,
        /// Why.
        reason: String,
    },
}

/// The delivery state store.
pub struct DeliveryStore {
    db: DB,
}

impl std::fmt::Debug for DeliveryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryStore")
            .field("path", &self.db.path())
            .finish()
    }
}

fn delivery_key(target: TargetKind, command_id: &str) -> Vec<u8> {
    [
        b"d\0",
        target.as_str().as_bytes(),
        b"\0",
        command_id.as_bytes(),
    ]
    .concat()
}

fn model_key(command_id: &str) -> Vec<u8> {
    [b"m\0", command_id.as_bytes()].concat()
}

fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

impl DeliveryStore {
    /// Opens (creating) the store in `dir`.
    pub fn open(dir: &Path) -> Result<DeliveryStore, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        Ok(DeliveryStore {
            db: DB::open(&opts, dir)?,
        })
    }

    /// The state of `command_id` with `target`, if any.
    pub fn get(
        &self,
        target: TargetKind,
        command_id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        let Some(bytes) = self.db.get(delivery_key(target, command_id))? else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt {
            key: format!("{}/{command_id}", target.as_str()),
            reason,
        };
        match bytes.split_first() {
            Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string())),
            Some((v, _)) => Err(corrupt(format!("unknown format {v}"))),
            None => Err(corrupt("empty".into())),
        }
        .map(Some)
    }

    /// Records `state` (synced), with the command's model.
    pub fn put(
        &self,
        target: TargetKind,
        command_id: &str,
        model_id: &str,
        state: &Delivery,
    ) -> Result<(), StoreError> {
        let mut value = vec![FORMAT];
        value.extend(
            postcard::to_allocvec(state).map_err(|e| StoreError::Corrupt {
                key: command_id.to_string(),
                reason: e.to_string(),
            })?,
        );
        let mut batch = WriteBatch::default();
        batch.put(delivery_key(target, command_id), value);
        batch.put(model_key(command_id), model_id.as_bytes());
        self.db.write_opt(batch, &synced())?;
        Ok(())
    }

    /// The model of a command the bridge has read.
    pub fn model_of(&self, command_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .get(model_key(command_id))?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_survive_a_reopen_per_target() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let pending = PendingOutcome {
            status: "rejected".into(),
            recovery: 0.0,
            cost: 0.0,
            reported_at: 5,
            note: None,
        };
        {
            let s = DeliveryStore::open(dir.path())?;
            assert_eq!(s.get(TargetKind::Webhook, "c1")?, None);
            s.put(TargetKind::Webhook, "c1", "m1", &Delivery::Sending)?;
            s.put(
                TargetKind::Github,
                "c1",
                "m1",
                &Delivery::Finished {
                    accepted: false,
                    pending: Some(pending.clone()),
                },
            )?;
            s.put(
                TargetKind::Webhook,
                "c2",
                "m2",
                &Delivery::Retrying { attempts: 3 },
            )?;
        }
        let s = DeliveryStore::open(dir.path())?;
        assert_eq!(s.get(TargetKind::Webhook, "c1")?, Some(Delivery::Sending));
        assert_eq!(
            s.get(TargetKind::Github, "c1")?,
            Some(Delivery::Finished {
                accepted: false,
                pending: Some(pending.clone())
            })
        );
        assert_eq!(
            s.get(TargetKind::Webhook, "c2")?,
            Some(Delivery::Retrying { attempts: 3 })
        );
        assert_eq!(s.get(TargetKind::Command, "c1")?, None);
        assert_eq!(s.model_of("c2")?.as_deref(), Some("m2"));
        assert_eq!(s.model_of("c3")?, None);
        assert_eq!(pending.status(), OutcomeStatus::Rejected);
        // A corrupt entry is an error, not a fresh start.
        s.db.put(delivery_key(TargetKind::Webhook, "c9"), [9u8, 1])?;
        assert!(matches!(
            s.get(TargetKind::Webhook, "c9"),
            Err(StoreError::Corrupt { .. })
        ));
        Ok(())
    }
}
