//! Typed tables: a column family with a binary, versioned value codec.
//!
//! Guarantees: a value is stored as one format-version byte followed by its
//! postcard encoding (compact, not self-describing: a change of a stored
//! type bumps the table's version, and the store's format version in
//! [`super::version`]); a value of another version, or bytes that do not
//! decode, are [`StateError::Corrupt`] naming the table and key, never a
//! panic and never a silent misread. Reads and writes go through the
//! interval's [`StateBatch`], so the state layer owns every write.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::batch::StateBatch;
use super::cf::Cf;
use super::store::{StateError, Store};

/// A typed view of (part of) a column family.
#[derive(Debug)]
pub struct Table<V> {
    cf: Cf,
    name: &'static str,
    version: u8,
    value: PhantomData<fn() -> V>,
}

impl<V> Clone for Table<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Table<V> {}

impl<V: Serialize + DeserializeOwned> Table<V> {
    /// A table named `name` (for errors) in `cf`, its values at `version`.
    pub const fn new(cf: Cf, name: &'static str, version: u8) -> Self {
        Table {
            cf,
            name,
            version,
            value: PhantomData,
        }
    }

    /// The column family.
    pub fn cf(&self) -> Cf {
        self.cf
    }

    /// The stored bytes of `value`.
    pub fn encode(&self, value: &V) -> Result<Vec<u8>, StateError> {
        let mut out = vec![self.version];
        postcard::to_io(value, &mut out).map_err(|e| StateError::Corrupt {
            key: self.name.to_string(),
            reason: format!("does not encode: {e}"),
        })?;
        Ok(out)
    }

    /// The value of stored bytes.
    pub fn decode(&self, key: &[u8], bytes: &[u8]) -> Result<V, StateError> {
        let corrupt = |reason: String| StateError::Corrupt {
            key: format!("{}/{}", self.name, String::from_utf8_lossy(key)),
            reason,
        };
        match bytes.split_first() {
            Some((v, rest)) if *v == self.version => {
                postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string()))
            }
            Some((v, _)) => Err(corrupt(format!(
                "format version {v}, expected {}",
                self.version
            ))),
            None => Err(corrupt("empty value".into())),
        }
    }

    /// The value of `key` (this interval's write, else the store's).
    pub fn get(
        &self,
        batch: &StateBatch,
        store: &Store,
        key: &[u8],
    ) -> Result<Option<V>, StateError> {
        batch
            .get(store, self.cf, key)?
            .map(|bytes| self.decode(key, &bytes))
            .transpose()
    }

    /// Writes `value` (`None` deletes) under `key`, for `partition`.
    pub fn put(
        &self,
        batch: &mut StateBatch,
        key: Vec<u8>,
        value: Option<&V>,
        partition: i32,
    ) -> Result<(), StateError> {
        let bytes = value.map(|v| self.encode(v)).transpose()?;
        batch.put(self.cf, key, bytes, partition);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_versions() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path(), false)?;
        let t: Table<(u64, String, Option<f64>)> = Table::new(Cf::Decisions, "test", 2);
        let mut batch = StateBatch::default();
        let v = (7, "x".to_string(), Some(0.5));
        t.put(&mut batch, b"k".to_vec(), Some(&v), 0)?;
        assert_eq!(t.get(&batch, &store, b"k")?, Some(v.clone()));
        let bytes = t.encode(&v)?;
        assert_eq!(bytes[0], 2);
        let older: Table<(u64, String, Option<f64>)> = Table::new(Cf::Decisions, "test", 1);
        let err = older.decode(b"k", &bytes);
        assert!(matches!(err, Err(StateError::Corrupt { .. })), "{err:?}");
        assert!(t.decode(b"k", &[]).is_err());
        assert!(t.decode(b"k", &[2, 0xff]).is_err());
        t.put(&mut batch, b"k".to_vec(), None, 0)?;
        assert_eq!(t.get(&batch, &store, b"k")?, None);
        Ok(())
    }
}
