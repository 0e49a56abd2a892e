//! Typed tables: a column family with a binary, versioned value codec.
//!
//! Guarantees: a value is stored as one format-version byte followed by its
//! postcard encoding (compact, not self-describing: a change of a stored
//! type bumps the table's version, and the store's format version in
//! [`super::version`]); a value of another version, or bytes that do not
//! decode, are [`StateError::Corrupt`] naming the table and key, never a
//! panic and never a silent misread. A table may also read earlier
//! versions ([`Legacy`]: the value is converted when read and written back
//! in the current version with its next change), so a stored type can gain
//! a field without clearing the store or its changelog. Reads and writes go through the
//! interval's [`StateBatch`], so the state layer owns every write.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::batch::StateBatch;
use super::cf::Cf;
use super::store::{StateError, Store};

/// A typed view of (part of) a column family.
#[derive(Debug)]
pub struct Table<V: 'static> {
    cf: Cf,
    name: &'static str,
    version: u8,
    legacy: &'static [Legacy<V>],
    value: PhantomData<fn() -> V>,
}

/// An earlier version of a table's values that is still read.
#[derive(Debug)]
pub struct Legacy<V> {
    /// Its version byte.
    pub version: u8,
    /// Decodes its postcard bytes (after the version byte) into the
    /// current type.
    pub decode: fn(&[u8]) -> Result<V, postcard::Error>,
}

impl<V> Clone for Legacy<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Legacy<V> {}

impl<V: 'static> Clone for Table<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V: 'static> Copy for Table<V> {}

impl<V: Serialize + DeserializeOwned + 'static> Table<V> {
    /// A table named `name` (for errors) in `cf`, its values at `version`.
    pub const fn new(cf: Cf, name: &'static str, version: u8) -> Self {
        Table {
            cf,
            name,
            version,
            legacy: &[],
            value: PhantomData,
        }
    }

    /// The same table, also reading values of earlier versions.
    pub const fn reading(self, legacy: &'static [Legacy<V>]) -> Self {
        Table { legacy, ..self }
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
            Some((v, rest)) => match self.legacy.iter().find(|l| l.version == *v) {
                Some(l) => (l.decode)(rest).map_err(|e| corrupt(format!("version {v}: {e}"))),
                None => Err(corrupt(format!(
                    "format version {v}, expected {}",
                    self.version
                ))),
            },
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

    /// Version 1 stored `(u64, String)`; version 2 added an optional field.
    fn from_v1(bytes: &[u8]) -> Result<(u64, String, Option<f64>), postcard::Error> {
        let (n, s): (u64, String) = postcard::from_bytes(bytes)?;
        Ok((n, s, None))
    }

    #[test]
    fn reads_its_legacy_version_and_writes_the_current_one(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let v1: Table<(u64, String)> = Table::new(Cf::Decisions, "test", 1);
        let v2: Table<(u64, String, Option<f64>)> =
            Table::new(Cf::Decisions, "test", 2).reading(&[Legacy {
                version: 1,
                decode: from_v1,
            }]);
        let old = v1.encode(&(7, "x".to_string()))?;
        assert_eq!(v2.decode(b"k", &old)?, (7, "x".to_string(), None));
        let new = v2.encode(&(7, "x".to_string(), Some(1.5)))?;
        assert_eq!(new[0], 2, "written in the current version");
        assert_eq!(v2.decode(b"k", &new)?, (7, "x".to_string(), Some(1.5)));
        // A version neither current nor legacy, or legacy bytes that do not
        // decode, stay corrupt.
        let mut v3 = new.clone();
        v3[0] = 3;
        assert!(matches!(
            v2.decode(b"k", &v3),
            Err(StateError::Corrupt { .. })
        ));
        assert!(matches!(
            v2.decode(b"k", &[1, 0xff]),
            Err(StateError::Corrupt { .. })
        ));
        Ok(())
    }
}
