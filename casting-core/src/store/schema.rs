//! The schema version of a store file, checked on open, with the path that
//! brings an older file up to date.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{ACTORS, CAST, META, MOVIES, SCHEMA_VERSION};
use crate::StoreError;

/// The schema this build writes. Raise it with a step in [`migrate`] when
/// the layout of a table changes.
pub(crate) const CURRENT: u64 = 1;

/// Brings the store in `txn` to [`CURRENT`], creating its tables when new.
///
/// # Errors
/// [`StoreError::NewerSchema`] when the file is from a newer build: it is
/// refused before anything is written, so that build can still read it.
pub(crate) fn migrate(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META)?;
    let found = meta.get(SCHEMA_VERSION)?.map(|v| v.value());
    match found {
        Some(found) if found > CURRENT => {
            return Err(StoreError::NewerSchema {
                found,
                supported: CURRENT,
            });
        }
        Some(found) if found == CURRENT => return Ok(()),
        // Version 1 is the first layout, so an older file is only a new one:
        // steps from version N to N + 1 go here as the layout changes.
        _ => {}
    }
    txn.open_table(MOVIES)?;
    txn.open_table(ACTORS)?;
    txn.open_table(CAST)?;
    meta.insert(SCHEMA_VERSION, CURRENT)?;
    Ok(())
}
