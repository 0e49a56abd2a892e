//! The RocksDB store.
//!
//! Guarantees: a [`Checkpoint`] is written atomically (one `WriteBatch`,
//! fsynced when `sync` is set), so the models, windows and applied input
//! offsets on disk always belong together; the store records its format
//! version and never reads a store of another one (see
//! [`super::version`]); every read or write failure is a [`StateError`],
//! never a panic, and corrupt values are reported as such.

use std::path::{Path, PathBuf};

use rocksdb::{
    ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};

pub use super::cf::Cf;
use super::version::{self, Opened};

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
    /// The store was written by a newer jidoka (its format version is
    /// unknown here): the user's to resolve, never read.
    #[error("state at {}: format version {found} is newer than this jidoka's {supported}; run a newer jidoka or remove the directory to rebuild it from the changelog", path.display())]
    NewerFormat {
        /// Store directory.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version this build writes.
        supported: u32,
    },
    /// The store directory could not be cleared for a rebuild.
    #[error("state at {}: {source}", path.display())]
    Io {
        /// Store directory.
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
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

/// Keys and values in key order.
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// One key written (or deleted, `value: None`) in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Store.
    pub cf: Cf,
    /// Key.
    pub key: Vec<u8>,
    /// New value, `None` to delete.
    pub value: Option<Vec<u8>>,
    /// Input partition the key belongs to (that of its model): the
    /// changelog partition it goes to.
    pub partition: i32,
}

/// State changes and applied offsets to write together.
#[derive(Debug, Default)]
pub struct Checkpoint {
    /// Every key written or deleted.
    pub writes: Vec<Write>,
    /// (topic, partition, next offset to apply).
    pub offsets: Vec<(String, i32, i64)>,
}

impl Checkpoint {
    /// The writes including the offsets, as they go to the changelog.
    pub fn changelog(&self) -> impl Iterator<Item = Write> + '_ {
        let writes = self.writes.iter().filter(|w| w.cf.changelogged()).cloned();
        writes.chain(self.offsets.iter().map(|(t, p, next)| Write {
            cf: Cf::Offsets,
            key: offset_key(t, *p),
            value: Some(next.to_be_bytes().to_vec()),
            partition: *p,
        }))
    }
}

/// The local store.
pub struct Store {
    db: DB,
    path: PathBuf,
    sync: bool,
    opened: Opened,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Key of a (model, name) entry: model id, NUL, name.
pub fn window_key(model: &str, feature: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(model.len() + feature.len() + 1);
    key.extend_from_slice(model.as_bytes());
    key.push(0);
    key.extend_from_slice(feature.as_bytes());
    key
}

/// Key in the `decisions` store: scope (a model id, or empty for a
/// partition-wide entry), NUL, kind byte, id.
pub fn decision_key(scope: &str, kind: u8, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(scope.len() + id.len() + 2);
    key.extend_from_slice(scope.as_bytes());
    key.push(0);
    key.push(kind);
    key.extend_from_slice(id.as_bytes());
    key
}

/// Key of an input partition's offset.
pub fn offset_key(topic: &str, partition: i32) -> Vec<u8> {
    let mut key = topic.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

/// Memory all column families' memtables share (RocksDB flushes the
/// largest when they reach it). Without it each family may hold two 64 MiB
/// memtables: up to 896 MiB for the seven families, most of a process's
/// memory next to the windows themselves.
const MEMTABLE_BUDGET: usize = 64 << 20;

impl Store {
    /// Opens (or creates) the store in `dir`. A store of an older format
    /// is cleared, to be rebuilt from the changelog, with a warning that
    /// says so; one of a newer format is an error.
    pub fn open(dir: &Path, sync: bool) -> Result<Self, StateError> {
        let rocks = |source| StateError::Rocks {
            path: dir.to_path_buf(),
            source,
        };
        let opened = version::prepare(dir)?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_db_write_buffer_size(MEMTABLE_BUDGET);
        let cfs = Cf::ALL
            .into_iter()
            .map(|cf| ColumnFamilyDescriptor::new(cf.name(), Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs).map_err(rocks)?;
        version::stamp(&db, dir)?;
        Ok(Store {
            db,
            path: dir.to_path_buf(),
            sync,
            opened,
        })
    }

    /// What opening found: a new store, the current format, or an older
    /// format that was cleared.
    pub fn opened(&self) -> Opened {
        self.opened
    }

    /// The RocksDB handle of a column family.
    pub fn handle(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StateError> {
        self.cf(cf)
    }

    fn cf(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StateError> {
        self.db
            .cf_handle(cf.name())
            .ok_or(StateError::MissingColumnFamily(cf.name()))
    }

    /// The value of `key` in `cf`.
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.db.get_cf(self.cf(cf)?, key).map_err(|e| self.rocks(e))
    }

    /// Every (key, value) of `cf` with `from <= key < to`, in key order.
    pub fn range(&self, cf: Cf, from: &[u8], to: &[u8]) -> Result<KeyValues, StateError> {
        let iter = self
            .db
            .iterator_cf(self.cf(cf)?, IteratorMode::From(from, Direction::Forward));
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item.map_err(|e| self.rocks(e))?;
            if &*key >= to {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Whether any input offset of `partition` (of any topic) is stored:
    /// the local store holds that partition's state.
    pub fn has_partition(&self, topics: &[&str], partition: i32) -> Result<bool, StateError> {
        for topic in topics {
            if self.applied_offset(topic, partition)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Writes a batch of restored records (fsynced when `sync` and the
    /// store syncs).
    pub fn apply(&self, batch: WriteBatch, sync: bool) -> Result<(), StateError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(self.sync && sync);
        self.db.write_opt(batch, &opts).map_err(|e| self.rocks(e))
    }

    fn rocks(&self, source: rocksdb::Error) -> StateError {
        StateError::Rocks {
            path: self.path.clone(),
            source,
        }
    }

    /// The next offset of `topic`/`partition` not yet reflected in the state.
    pub fn applied_offset(&self, topic: &str, partition: i32) -> Result<Option<i64>, StateError> {
        let raw = self
            .db
            .get_cf(self.cf(Cf::Offsets)?, offset_key(topic, partition))
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
        for w in &checkpoint.writes {
            let handle = self.cf(w.cf)?;
            match &w.value {
                Some(v) => batch.put_cf(handle, &w.key, v),
                None => batch.delete_cf(handle, &w.key),
            }
        }
        let offsets = self.cf(Cf::Offsets)?;
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

    #[test]
    fn checkpoint_survives_reopen() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let put = |cf, key: &[u8], value: &[u8]| Write {
            cf,
            key: key.to_vec(),
            value: Some(value.to_vec()),
            partition: 0,
        };
        {
            let store = Store::open(dir.path(), true)?;
            assert_eq!(store.opened(), Opened::Created);
            let cp = Checkpoint {
                writes: vec![
                    put(Cf::Models, b"m", b"meta"),
                    put(Cf::Windows, b"m\0a", b"w"),
                    put(Cf::Expiry, b"m\0x", b""),
                    put(Cf::Pending, b"gone", &[1]),
                ],
                offsets: vec![("predictions".into(), 2, 41)],
            };
            assert_eq!(cp.changelog().count(), 4);
            assert!(cp.changelog().all(|w| w.cf.changelogged()));
            store.write(&cp)?;
            store.write(&Checkpoint {
                writes: vec![Write {
                    cf: Cf::Pending,
                    key: b"gone".to_vec(),
                    value: None,
                    partition: 0,
                }],
                offsets: Vec::new(),
            })?;
        }
        let store = Store::open(dir.path(), true)?;
        assert_eq!(store.opened(), Opened::Current);
        assert_eq!(store.get(Cf::Models, b"m")?, Some(b"meta".to_vec()));
        assert_eq!(store.applied_offset("predictions", 2)?, Some(41));
        assert!(store.has_partition(&["labels", "predictions"], 2)?);
        assert!(!store.has_partition(&["labels", "predictions"], 1)?);
        assert_eq!(store.applied_offset("predictions", 1)?, None);
        assert_eq!(store.get(Cf::Pending, b"gone")?, None);
        assert_eq!(store.range(Cf::Windows, b"m\0", b"m\x01")?.len(), 1);
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
