//! The store's format version: recorded in every store, checked at open.
//!
//! Guarantees: a store is read only by the format version that wrote it.
//! Opening a store of an older format (version 1, the whole-window
//! snapshots, carried no version) clears it, with a warning saying the
//! state is rebuilt from the changelog (restore runs because the store no
//! longer holds the partition's offsets); a store of a newer format is an
//! error, never misread.

use std::path::Path;

use rocksdb::{Options, DB};

use super::cf::Cf;
use super::store::StateError;

/// The format this build reads and writes: 2 = windows as entry segments,
/// binary values (postcard) with a version byte.
pub const CURRENT: u32 = 2;

/// Key of the version in the default column family.
const KEY: &[u8] = b"jidoka-state-format";

/// What opening a store found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// No store yet: created.
    Created,
    /// A store of the current format.
    Current,
    /// A store of an older format, cleared to be rebuilt from the changelog.
    Rebuilt {
        /// The format found.
        from: u32,
    },
}

fn rocks(dir: &Path) -> impl Fn(rocksdb::Error) -> StateError + '_ {
    move |source| StateError::Rocks {
        path: dir.to_path_buf(),
        source,
    }
}

/// Checks the store in `dir` before it is opened, clearing an older one.
pub fn prepare(dir: &Path) -> Result<Opened, StateError> {
    let Ok(names) = DB::list_cf(&Options::default(), dir) else {
        return Ok(Opened::Created);
    };
    let found = {
        let db = DB::open_cf_for_read_only(&Options::default(), dir, &names, false)
            .map_err(rocks(dir))?;
        let raw = db.get(KEY).map_err(rocks(dir))?;
        raw.and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
            .map_or(1, u32::from_be_bytes)
    };
    let known = names
        .iter()
        .all(|n| n == "default" || Cf::from_name(n).is_some());
    if found > CURRENT {
        return Err(StateError::NewerFormat {
            path: dir.to_path_buf(),
            found,
            supported: CURRENT,
        });
    }
    if found == CURRENT && known {
        return Ok(Opened::Current);
    }
    tracing::warn!(
        path = %dir.display(),
        found,
        current = CURRENT,
        "local state has an older format: cleared, to be rebuilt from the changelog"
    );
    let io = |source| StateError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::remove_dir_all(dir).map_err(io)?;
    std::fs::create_dir_all(dir).map_err(io)?;
    Ok(Opened::Rebuilt { from: found })
}

/// Records the current format in an opened store.
pub fn stamp(db: &DB, dir: &Path) -> Result<(), StateError> {
    db.put(KEY, CURRENT.to_be_bytes()).map_err(rocks(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Store;
    use rocksdb::ColumnFamilyDescriptor;

    #[test]
    fn an_unversioned_store_of_the_first_format_is_cleared(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        {
            // The first format: whole windows, references apart, no version.
            let mut opts = Options::default();
            opts.create_if_missing(true);
            opts.create_missing_column_families(true);
            let cfs = ["models", "windows", "references", "categories", "offsets"]
                .map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
            let db = DB::open_cf_descriptors(&opts, dir.path(), cfs)?;
            let offsets = db.cf_handle("offsets").ok_or("no cf")?;
            db.put_cf(offsets, b"predictions\0\0\0\0\0", 5i64.to_be_bytes())?;
        }
        let store = Store::open(dir.path(), false)?;
        assert_eq!(store.opened(), Opened::Rebuilt { from: 1 });
        assert_eq!(store.applied_offset("predictions", 0)?, None);
        drop(store);
        assert_eq!(Store::open(dir.path(), false)?.opened(), Opened::Current);
        Ok(())
    }

    #[test]
    fn a_newer_store_is_an_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        {
            let store = Store::open(dir.path(), false)?;
            assert_eq!(store.opened(), Opened::Created);
        }
        {
            let names = DB::list_cf(&Options::default(), dir.path())?;
            let db = DB::open_cf(&Options::default(), dir.path(), &names)?;
            db.put(KEY, (CURRENT + 1).to_be_bytes())?;
        }
        match Store::open(dir.path(), false) {
            Err(StateError::NewerFormat { found, .. }) => assert_eq!(found, CURRENT + 1),
            other => return Err(format!("expected NewerFormat, got {other:?}").into()),
        }
        Ok(())
    }
}
