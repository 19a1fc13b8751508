//! The schema version of a store file, checked on open, with the path that
//! brings an older file up to date.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{ACTORS, AUDIT, CAST, META, MOVIES, SCHEMA_VERSION};
use crate::StoreError;

/// The schema this build writes. Raise it with a step in [`migrate`] when
/// the layout of a table changes.
///
/// - 1: movies, actors, their cast and the id sequences.
/// - 2: the audit log, with its indexes and the records' versions.
pub(crate) const CURRENT: u64 = 2;

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
        _ => {}
    }
    // Creating a table that exists changes nothing, so one path serves a
    // new file and every older one: version 1 to 2 only adds the audit
    // table. The log of a migrated store starts empty, and its records
    // are at version 0 until their first change, which gives them a
    // version above every entry id before it, so no ETag comes back.
    txn.open_table(MOVIES)?;
    txn.open_table(ACTORS)?;
    txn.open_table(CAST)?;
    txn.open_table(AUDIT)?;
    meta.insert(SCHEMA_VERSION, CURRENT)?;
    Ok(())
}
