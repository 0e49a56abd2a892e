//! The RocksDB store.
//!
//! Guarantees: a [`Checkpoint`] is written atomically (one `WriteBatch`,
//! fsynced when `sync` is set), so the models, windows and applied input
//! offsets on disk always belong together; every read or write failure is a
//! [`StateError`], never a panic, and corrupt values are reported as such.

use std::path::{Path, PathBuf};

use rocksdb::{
    ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};

use super::model::ModelMeta;
use crate::detect::{CategoricalWindow, FeatureWindow, WindowDecodeError};

const CF_MODELS: &str = "models";
const CF_WINDOWS: &str = "windows";
const CF_OFFSETS: &str = "offsets";
const CF_CATEGORIES: &str = "categories";

/// A state error: external (disk) unless it says the data is corrupt.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// RocksDB failed (disk full, permissions, lock held by another process).
    #[error("rocksdb at {}: {source}", path.display())]
    Rocks {
        /// Store directory.
        path: PathBuf,
        /// RocksDB's error.
        source: rocksdb::Error,
    },
    /// A column family is missing from an opened store (internal).
    #[error("column family `{0}` is missing")]
    MissingColumnFamily(&'static str),
    /// A stored value does not decode.
    #[error("corrupt state for key `{key}`: {reason}")]
    Corrupt {
        /// Key, lossily printed.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl StateError {
    /// Whether retrying the operation may help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StateError::Rocks { .. })
    }
}

/// State changes and applied offsets to write together.
#[derive(Debug, Default)]
pub struct Checkpoint {
    /// Models whose bookkeeping changed.
    pub models: Vec<(String, ModelMeta)>,
    /// (model, feature, windows) of numeric features that changed.
    pub windows: Vec<(String, String, FeatureWindow)>,
    /// (model, feature, windows) of categorical features that changed.
    pub categorical: Vec<(String, String, CategoricalWindow)>,
    /// (topic, partition, next offset to apply).
    pub offsets: Vec<(String, i32, i64)>,
}

/// The local store.
pub struct Store {
    db: DB,
    path: PathBuf,
    sync: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn window_key(model: &str, feature: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(model.len() + feature.len() + 1);
    key.extend_from_slice(model.as_bytes());
    key.push(0);
    key.extend_from_slice(feature.as_bytes());
    key
}

fn offset_key(topic: &str, partition: i32) -> Vec<u8> {
    let mut key = topic.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path, sync: bool) -> Result<Self, StateError> {
        let rocks = |source| StateError::Rocks {
            path: dir.to_path_buf(),
            source,
        };
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [CF_MODELS, CF_WINDOWS, CF_OFFSETS, CF_CATEGORIES]
            .into_iter()
            .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs).map_err(rocks)?;
        Ok(Store {
            db,
            path: dir.to_path_buf(),
            sync,
        })
    }

    fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StateError> {
        self.db
            .cf_handle(name)
            .ok_or(StateError::MissingColumnFamily(name))
    }

    fn rocks(&self, source: rocksdb::Error) -> StateError {
        StateError::Rocks {
            path: self.path.clone(),
            source,
        }
    }

    /// The bookkeeping of a model, if any was stored.
    pub fn model(&self, model: &str) -> Result<Option<ModelMeta>, StateError> {
        let raw = self
            .db
            .get_cf(self.cf(CF_MODELS)?, model.as_bytes())
            .map_err(|e| self.rocks(e))?;
        raw.map(|bytes| {
            serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                key: model.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    /// Every numeric feature window of a model, in feature-name order.
    pub fn windows(&self, model: &str) -> Result<Vec<(String, FeatureWindow)>, StateError> {
        self.scan(CF_WINDOWS, model, FeatureWindow::decode)
    }

    /// Every categorical feature window of a model, in feature-name order.
    pub fn categorical(&self, model: &str) -> Result<Vec<(String, CategoricalWindow)>, StateError> {
        self.scan(CF_CATEGORIES, model, CategoricalWindow::decode)
    }

    fn scan<T>(
        &self,
        cf: &'static str,
        model: &str,
        decode: impl Fn(&[u8]) -> Result<T, WindowDecodeError>,
    ) -> Result<Vec<(String, T)>, StateError> {
        let mut prefix = model.as_bytes().to_vec();
        prefix.push(0);
        let iter = self.db.iterator_cf(
            self.cf(cf)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item.map_err(|e| self.rocks(e))?;
            if !key.starts_with(&prefix) {
                break;
            }
            let feature = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            let window =
                decode(&value).map_err(|WindowDecodeError(reason)| StateError::Corrupt {
                    key: format!("{model}/{feature}"),
                    reason: reason.to_string(),
                })?;
            out.push((feature, window));
        }
        Ok(out)
    }

    /// The next offset of `topic`/`partition` not yet reflected in the state.
    pub fn applied_offset(&self, topic: &str, partition: i32) -> Result<Option<i64>, StateError> {
        let raw = self
            .db
            .get_cf(self.cf(CF_OFFSETS)?, offset_key(topic, partition))
            .map_err(|e| self.rocks(e))?;
        raw.map(|bytes| {
            <[u8; 8]>::try_from(bytes.as_slice())
                .map(i64::from_be_bytes)
                .map_err(|_| StateError::Corrupt {
                    key: format!("{topic}/{partition}"),
                    reason: format!("offset of {} bytes", bytes.len()),
                })
        })
        .transpose()
    }

    /// Writes a checkpoint atomically.
    pub fn write(&self, checkpoint: &Checkpoint) -> Result<(), StateError> {
        let mut batch = WriteBatch::default();
        let models = self.cf(CF_MODELS)?;
        for (model, meta) in &checkpoint.models {
            let bytes = serde_json::to_vec(meta).map_err(|e| StateError::Corrupt {
                key: model.clone(),
                reason: e.to_string(),
            })?;
            batch.put_cf(models, model.as_bytes(), bytes);
        }
        let windows = self.cf(CF_WINDOWS)?;
        for (model, feature, window) in &checkpoint.windows {
            batch.put_cf(windows, window_key(model, feature), window.encode());
        }
        let categories = self.cf(CF_CATEGORIES)?;
        for (model, feature, window) in &checkpoint.categorical {
            batch.put_cf(categories, window_key(model, feature), window.encode());
        }
        let offsets = self.cf(CF_OFFSETS)?;
        for (topic, partition, next) in &checkpoint.offsets {
            batch.put_cf(offsets, offset_key(topic, *partition), next.to_be_bytes());
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(self.sync);
        self.db.write_opt(batch, &opts).map_err(|e| self.rocks(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::WindowEntry;

    #[test]
    fn checkpoint_survives_reopen() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut w = FeatureWindow::default();
        for i in 0..10u64 {
            w.push(
                WindowEntry {
                    record: i + 1,
                    time: i as i64,
                    value: i as f64,
                },
                4,
                3,
            );
        }
        let mut cat = CategoricalWindow::default();
        for (i, v) in ["fr", "de", "fr", "us"].iter().enumerate() {
            cat.push(
                crate::detect::CategoryEntry {
                    record: i as u64 + 1,
                    time: i as i64,
                    value: v.to_string(),
                },
                2,
                5,
            );
        }
        let meta = ModelMeta {
            records_seen: 10,
            model_version: "2".into(),
            last_action_at: Some(99),
            decisions: 1,
            commands: 1,
            audit_sequence: 1,
            last_audit_hash: Some("ab".into()),
        };
        {
            let store = Store::open(dir.path(), true)?;
            assert_eq!(store.model("m")?, None);
            store.write(&Checkpoint {
                models: vec![("m".into(), meta.clone())],
                windows: vec![
                    ("m".into(), "b".into(), w.clone()),
                    ("m".into(), "a".into(), FeatureWindow::default()),
                    ("m2".into(), "a".into(), FeatureWindow::default()),
                ],
                categorical: vec![("m".into(), "country".into(), cat.clone())],
                offsets: vec![("predictions".into(), 2, 41)],
            })?;
        }
        let store = Store::open(dir.path(), true)?;
        assert_eq!(store.model("m")?, Some(meta));
        let windows = store.windows("m")?;
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[0].0, "a");
        assert_eq!(windows[1], ("b".to_string(), w));
        assert_eq!(store.applied_offset("predictions", 2)?, Some(41));
        assert_eq!(store.categorical("m")?, vec![("country".to_string(), cat)]);
        assert!(store.categorical("m2")?.is_empty());
        assert_eq!(store.applied_offset("predictions", 1)?, None);
        Ok(())
    }

    #[test]
    fn second_open_of_same_dir_is_an_error_not_a_panic() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let _first = Store::open(dir.path(), false)?;
        let second = Store::open(dir.path(), false);
        assert!(matches!(second, Err(StateError::Rocks { .. })));
        Ok(())
    }
}
