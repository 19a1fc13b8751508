//! The copy: every table of the store, from one read transaction, into a
//! new redb file under a temporary name, then installed.

use std::path::Path;

use redb::backends::FileBackend;
use redb::{
    Builder, Database, Key, ReadTransaction, ReadableTable, TableDefinition, TableError, Value,
};

use super::SnapshotInfo;
use super::error::{BackupError, damaged, foreign, guarded, one_line, write_error};
use super::file::{fresh_file, install, temporary};
use crate::store::Counts;
use crate::store::tables::{ACTORS, AUDIT, CAST, META, MOVIES};

/// Entries per transaction of a copy. Each transaction is a durable commit
/// of a few megabytes, so the disk takes a copy in steps rather than in one
/// flush at the end, which holds up the store's own commits beside it.
/// Measured on a million actors (`tests/snapshot_stall.rs`): the longest
/// single commit during a copy was 37 to 48 ms with one transaction per
/// table, 13 to 17 ms with these, against 6 to 12 ms before the copy; 10 000
/// did no better. Non-durable transactions made durable by a last commit do
/// not help: redb writes them out at that commit.
const CHUNK: usize = 50_000;

fn write_failure(e: impl std::fmt::Display) -> CopyFailure {
    CopyFailure::Write(one_line(e))
}

fn read_failure(e: impl std::fmt::Display) -> CopyFailure {
    CopyFailure::Read(one_line(e))
}

/// Copies one table, in durable transactions of [`CHUNK`] entries.
fn copy_table<K: Key + 'static, V: Value + 'static>(
    from: &ReadTransaction,
    to: &Database,
    table: TableDefinition<K, V>,
) -> Result<u64, CopyFailure> {
    let source = match from.open_table(table) {
        Ok(source) => source,
        Err(TableError::TableDoesNotExist(name)) => return Err(CopyFailure::NoTable(name)),
        Err(e) => return Err(read_failure(e)),
    };
    let mut entries = source.iter().map_err(read_failure)?;
    let mut copied = 0;
    loop {
        let txn = to.begin_write().map_err(write_failure)?;
        let mut in_chunk = 0;
        {
            let mut target = txn.open_table(table).map_err(write_failure)?;
            for entry in entries.by_ref().take(CHUNK) {
                let (key, value) = entry.map_err(read_failure)?;
                target
                    .insert(key.value(), value.value())
                    .map_err(write_failure)?;
                in_chunk += 1;
            }
        }
        txn.commit().map_err(write_failure)?;
        copied += in_chunk as u64;
        if in_chunk < CHUNK {
            return Ok(copied);
        }
    }
}

/// The copy of a table that a file of schema 1 does not have.
fn since_schema_2(copied: Result<u64, CopyFailure>) -> Result<u64, CopyFailure> {
    match copied {
        Err(CopyFailure::NoTable(_)) => Ok(0),
        other => other,
    }
}

/// Where a copy failed.
enum CopyFailure {
    /// The source lacks a casting table.
    NoTable(String),
    /// Reading the source failed.
    Read(String),
    /// Writing the copy failed.
    Write(String),
}

/// Copies every table of the store in `from` (one snapshot) into the new
/// database at `temp`, durably.
fn copy_into(from: &ReadTransaction, temp: &Path) -> Result<Counts, CopyFailure> {
    let file = fresh_file(temp).map_err(|e| CopyFailure::Write(e.to_string()))?;
    let backend = FileBackend::new(file).map_err(write_failure)?;
    let db = Builder::new()
        .create_with_backend(backend)
        .map_err(write_failure)?;
    // META first: a file without the casting tables is found out before
    // anything is copied.
    copy_table(from, &db, META)?;
    let movies = copy_table(from, &db, MOVIES)?;
    let actors = copy_table(from, &db, ACTORS)?;
    copy_table(from, &db, CAST)?;
    // The audit log and the versions are part of the data: a restored
    // store must not give an ETag again or lose who changed what. A file
    // of schema 1, which no server has opened since, has no audit table,
    // and its copy is a file of schema 1 too, migrated when opened.
    since_schema_2(copy_table(from, &db, AUDIT))?;
    db.close().map_err(write_failure)?;
    Ok(Counts { movies, actors })
}

/// Writes the snapshot in `from` of the store at `source` to `to`.
pub(super) fn snapshot_to(
    from: &ReadTransaction,
    source: &Path,
    to: &Path,
) -> Result<SnapshotInfo, BackupError> {
    let temp = temporary(to, "partial");
    let copied = guarded(source, || {
        copy_into(from, &temp).map_err(|failure| match failure {
            CopyFailure::NoTable(name) => foreign(source, format!("it has no {name} table")),
            CopyFailure::Read(reason) => damaged(source, reason),
            CopyFailure::Write(reason) => write_error(&temp, reason),
        })
    });
    let result = copied.and_then(|counts| {
        let bytes = install(&temp, to)?;
        Ok(SnapshotInfo {
            path: to.to_owned(),
            bytes,
            counts,
        })
    });
    if result.is_err() {
        // Only the temporary name is removed: `to` is either as it was or
        // already the whole new file.
        let _ = std::fs::remove_file(&temp);
    }
    result
}
