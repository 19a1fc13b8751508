//! Backups without downtime: a snapshot copies every table from one read
//! transaction into a new file, so writers go on committing while it runs
//! (redb's readers never block its writer); a restore checks a snapshot
//! and puts it in place of a store no process holds.
//!
//! A file appears under its final name only once it is complete and on
//! disk: it is written under a temporary name in the same directory, synced,
//! renamed, and the directory synced, so a crash leaves either the old file
//! or the whole new one, never a torn one.

use std::fs::{File, OpenOptions, TryLockError};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use redb::backends::FileBackend;
use redb::{
    Builder, Database, DatabaseError, Key, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition, TableError, Value,
};

use super::record::{ActorRecord, MovieRecord};
use super::schema::CURRENT;
use super::tables::{ACTORS, CAST, LAST_ACTOR_ID, LAST_MOVIE_ID, META, MOVIES, SCHEMA_VERSION};
use super::{Counts, Store, StoreError};

/// What a snapshot wrote, or what a check found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The records it holds.
    pub counts: Counts,
}

/// Why a snapshot, a check or a restore did not happen. Each message is one
/// line that names the file.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Another process, most likely a running server, has the store open.
    #[error("{path} is in use by another process (a running casting-server?): stop it first")]
    Held {
        /// The store file.
        path: PathBuf,
    },
    /// The file to read does not exist.
    #[error("{path} does not exist")]
    Missing {
        /// The file looked for.
        path: PathBuf,
    },
    /// The file to write exists already and is not replaced.
    #[error("{path} exists already: choose another name or remove it")]
    Exists {
        /// The file that is in the way.
        path: PathBuf,
    },
    /// The file is not a casting store: not redb at all, or redb without
    /// the casting tables and schema version.
    #[error("{path} is not a casting store: {reason}")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// The file was written by a newer casting and is not installed.
    #[error(
        "{path} has schema version {found}, newer than the {supported} this build reads: upgrade casting"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The newest version this build knows.
        supported: u64,
    },
    /// The file is a casting store, but its pages or its records do not
    /// hold together.
    #[error("{path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The first fault found.
        reason: String,
    },
    /// The file could not be read, written, synced or renamed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The store being copied failed.
    #[error("cannot read the store {path}: {source}")]
    Store {
        /// The store file.
        path: PathBuf,
        /// Why.
        source: StoreError,
    },
}

/// Errors of redb and the OS can span lines; the messages of this module
/// are one line each, as the CLI prints them.
fn one_line(reason: impl std::fmt::Display) -> String {
    reason
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn write_error(path: &Path, reason: impl std::fmt::Display) -> BackupError {
    BackupError::Write {
        path: path.to_owned(),
        reason: one_line(reason),
    }
}

fn damaged(path: &Path, reason: impl std::fmt::Display) -> BackupError {
    BackupError::Damaged {
        path: path.to_owned(),
        reason: one_line(reason),
    }
}

fn foreign(path: &Path, reason: impl std::fmt::Display) -> BackupError {
    BackupError::Foreign {
        path: path.to_owned(),
        reason: one_line(reason),
    }
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "redb panicked".to_owned())
}

/// Runs `f`, turning a panic into a damaged-file error: redb may panic
/// rather than fail on a file altered outside it.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, BackupError>) -> Result<T, BackupError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(damaged(path, panic_message(payload.as_ref()))))
}

/// The temporary name a file is written under before it gets `path`: in
/// the same directory, so the rename is atomic, and hidden, so it matches
/// no backup name.
fn temporary(path: &Path, purpose: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "casting".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{purpose}"))
}

/// The directory `path` lives in.
fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A new, empty file at `path`, replacing a leftover of an earlier attempt
/// that was cut short.
fn fresh_file(path: &Path) -> Result<File, BackupError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(write_error(path, e)),
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| write_error(path, e))
}

/// Syncs `temp`, renames it to `path` and syncs the directory, so that the
/// new name survives a crash and names the whole file.
fn install(temp: &Path, path: &Path) -> Result<u64, BackupError> {
    let file = File::open(temp).map_err(|e| write_error(temp, e))?;
    file.sync_all().map_err(|e| write_error(temp, e))?;
    let bytes = file.metadata().map_err(|e| write_error(temp, e))?.len();
    drop(file);
    std::fs::rename(temp, path).map_err(|e| write_error(path, e))?;
    let dir = directory(path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| write_error(dir, e))?;
    Ok(bytes)
}

/// Entries per transaction of a copy. Each transaction is a durable commit
/// of a few megabytes, so the disk takes a copy in steps: in one transaction
/// (or in non-durable ones made durable by a last commit), the flush of the
/// whole copy at its end held the store's own commits up for several of
/// theirs (measured on a million actors: a 44 ms commit at the end of the
/// copy, against 12 to 23 ms for the longest one otherwise).
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
    db.close().map_err(write_failure)?;
    Ok(Counts { movies, actors })
}

/// Writes the snapshot in `from` of the store at `source` to `to`.
fn snapshot_to(
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

/// Holds the OS lock that redb takes on a store file, so that no server
/// opens it meanwhile; released when dropped.
struct FileLock {
    _file: File,
    /// Whether the file was made here to be locked, and goes if nothing
    /// is installed.
    created: Option<PathBuf>,
}

impl FileLock {
    /// Locks `path`, creating it empty when missing, so that a server
    /// starting meanwhile finds it locked rather than creating it.
    fn take(path: &Path) -> Result<Self, BackupError> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| write_error(path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(FileLock {
                _file: file,
                created: (!existed).then(|| path.to_owned()),
            }),
            Err(TryLockError::WouldBlock) => Err(BackupError::Held {
                path: path.to_owned(),
            }),
            Err(TryLockError::Error(e)) => Err(write_error(path, e)),
        }
    }

    /// Keeps the file made by [`FileLock::take`]: something was installed.
    fn keep(&mut self) {
        self.created = None;
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if let Some(path) = &self.created {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The typed reading of a file's contents.
fn read_contents(txn: &ReadTransaction, path: &Path) -> Result<Counts, BackupError> {
    let open_error = |e: TableError| match e {
        TableError::TableDoesNotExist(name) => foreign(path, format!("it has no {name} table")),
        TableError::TableTypeMismatch { table, .. } => {
            foreign(path, format!("its {table} table is not casting's"))
        }
        e => damaged(path, e),
    };
    let broken = |e: redb::StorageError| damaged(path, e);
    let meta = txn.open_table(META).map_err(open_error)?;
    let version = meta.get(SCHEMA_VERSION).map_err(broken)?.map(|v| v.value());
    match version {
        None | Some(0) => return Err(foreign(path, "it has no schema version")),
        Some(found) if found > CURRENT => {
            return Err(BackupError::NewerSchema {
                path: path.to_owned(),
                found,
                supported: CURRENT,
            });
        }
        Some(_) => {}
    }
    let last = |key: &str| -> Result<u64, BackupError> {
        Ok(meta.get(key).map_err(broken)?.map_or(0, |v| v.value()))
    };
    let (last_movie, last_actor) = (last(LAST_MOVIE_ID)?, last(LAST_ACTOR_ID)?);
    let movies_table = txn.open_table(MOVIES).map_err(open_error)?;
    let actors_table = txn.open_table(ACTORS).map_err(open_error)?;
    let cast_table = txn.open_table(CAST).map_err(open_error)?;

    let mut movies = Vec::new();
    for entry in movies_table.iter().map_err(broken)? {
        let (id, bytes) = entry.map_err(broken)?;
        let id = id.value();
        MovieRecord::decode(bytes.value())
            .map_err(|e| damaged(path, format!("movie {id}: {e}")))?;
        if id == 0 || id > last_movie {
            return Err(damaged(
                path,
                format!("movie {id} is beyond the last id given, {last_movie}"),
            ));
        }
        movies.push(id);
    }
    // From the actors, the cast table as it must be, in its own order.
    let mut cast = Vec::new();
    let mut actors = 0_u64;
    for entry in actors_table.iter().map_err(broken)? {
        let (id, bytes) = entry.map_err(broken)?;
        let id = id.value();
        let actor = ActorRecord::decode(bytes.value())
            .map_err(|e| damaged(path, format!("actor {id}: {e}")))?;
        if id == 0 || id > last_actor {
            return Err(damaged(
                path,
                format!("actor {id} is beyond the last id given, {last_actor}"),
            ));
        }
        if let Some(movie) = actor.movie_id {
            if movies.binary_search(&movie).is_err() {
                return Err(damaged(
                    path,
                    format!("actor {id} is cast in movie {movie}, which does not exist"),
                ));
            }
            cast.push((movie, id));
        }
        actors += 1;
    }
    cast.sort_unstable();
    let mut expected = cast.into_iter();
    for entry in cast_table.iter().map_err(broken)? {
        let (pair, ()) = entry.map(|(k, v)| (k.value(), v.value())).map_err(broken)?;
        if expected.next() != Some(pair) {
            return Err(damaged(
                path,
                format!(
                    "the cast table lists actor {} in movie {} but the actors do not agree",
                    pair.1, pair.0
                ),
            ));
        }
    }
    if let Some((movie, actor)) = expected.next() {
        return Err(damaged(
            path,
            format!("actor {actor} is cast in movie {movie} but the cast table does not list it"),
        ));
    }
    Ok(Counts {
        movies: movies.len() as u64,
        actors,
    })
}

/// Opens `path` for a check; it may be altered by redb's integrity check,
/// so only copies are handed to it.
fn check_file(path: &Path) -> Result<SnapshotInfo, BackupError> {
    guarded(path, || {
        // A snapshot is closed cleanly; one that wants a repair was cut
        // short or altered, and is refused rather than repaired.
        let mut db = Builder::new()
            .set_repair_callback(|session| session.abort())
            .open(path)
            .map_err(|e| match e {
                DatabaseError::DatabaseAlreadyOpen => BackupError::Held {
                    path: path.to_owned(),
                },
                DatabaseError::RepairAborted => {
                    damaged(path, "it was not closed cleanly (cut short or altered)")
                }
                DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => {
                    damaged(path, reason)
                }
                DatabaseError::Storage(redb::StorageError::Io(e)) => {
                    foreign(path, format!("it is not a redb database ({})", one_line(e)))
                }
                e => foreign(
                    path,
                    format!("it is not a readable redb database ({})", one_line(e)),
                ),
            })?;
        match db.check_integrity() {
            Ok(true) => {}
            Ok(false) => return Err(damaged(path, "redb found faults in its pages")),
            Err(e) => return Err(damaged(path, e)),
        }
        let txn = db.begin_read().map_err(|e| damaged(path, e))?;
        let counts = read_contents(&txn, path)?;
        drop(txn);
        db.close().map_err(|e| damaged(path, e))?;
        let bytes = std::fs::metadata(path).map_err(|e| damaged(path, e))?.len();
        Ok(SnapshotInfo {
            path: path.to_owned(),
            bytes,
            counts,
        })
    })
}

impl Store {
    /// Writes a consistent copy of the whole store to `to`, from one read
    /// transaction: writes go on meanwhile and are not in the copy. The
    /// copy is complete and on disk before it appears under `to`, which
    /// it replaces if present.
    ///
    /// # Errors
    /// [`BackupError::Store`] when the store cannot be read,
    /// [`BackupError::Write`] when the copy cannot be written.
    pub fn snapshot(&self, to: &Path) -> Result<SnapshotInfo, BackupError> {
        let txn = self.read().map_err(|source| BackupError::Store {
            path: self.path.clone(),
            source,
        })?;
        snapshot_to(&txn, &self.path, to)
    }

    /// Writes a consistent copy of the store at `db`, which no other
    /// process may hold, to `to`, which must not exist.
    ///
    /// # Errors
    /// [`BackupError::Held`] while a server has `db` open,
    /// [`BackupError::Missing`] when there is no `db`, [`BackupError::Exists`]
    /// when `to` exists, [`BackupError::Foreign`] or [`BackupError::Damaged`]
    /// for a file that is no sound casting store, [`BackupError::Write`]
    /// when the copy cannot be written.
    pub fn backup(db: &Path, to: &Path) -> Result<SnapshotInfo, BackupError> {
        if !db.exists() {
            return Err(BackupError::Missing {
                path: db.to_owned(),
            });
        }
        if to.exists() {
            return Err(BackupError::Exists {
                path: to.to_owned(),
            });
        }
        guarded(db, || {
            let held = || BackupError::Held {
                path: db.to_owned(),
            };
            let unreadable = |e: DatabaseError| {
                foreign(
                    db,
                    format!("it is not a readable redb database ({})", one_line(e)),
                )
            };
            match Builder::new().open_read_only(db) {
                Ok(source) => {
                    let txn = source.begin_read().map_err(|e| damaged(db, e))?;
                    snapshot_to(&txn, db, to)
                }
                Err(DatabaseError::DatabaseAlreadyOpen) => Err(held()),
                // A store whose server was killed needs the recovery a
                // server start would run, which only a writable open does.
                Err(DatabaseError::RepairAborted) => {
                    let source = Builder::new().open(db).map_err(|e| match e {
                        DatabaseError::DatabaseAlreadyOpen => held(),
                        e => unreadable(e),
                    })?;
                    let txn = source.begin_read().map_err(|e| damaged(db, e))?;
                    snapshot_to(&txn, db, to)
                }
                Err(e) => Err(unreadable(e)),
            }
        })
    }

    /// Checks that the file at `path` is a sound casting store: redb's
    /// integrity check passes, the schema version is one this build reads,
    /// every record decodes, every actor's movie exists and the cast table
    /// agrees with the actors. The check may write to the file (redb's
    /// integrity check commits), so check a copy of what must stay as it is.
    ///
    /// # Errors
    /// [`BackupError::Missing`], [`BackupError::Foreign`],
    /// [`BackupError::NewerSchema`] or [`BackupError::Damaged`] saying what
    /// is wrong; [`BackupError::Held`] when another process has it open.
    pub fn check(path: &Path) -> Result<SnapshotInfo, BackupError> {
        if !path.is_file() {
            return Err(BackupError::Missing {
                path: path.to_owned(),
            });
        }
        check_file(path)
    }

    /// Checks the snapshot `from` and installs a copy of it as the store
    /// `db`, which no process may hold. `db` is locked throughout, so no
    /// server can open it meanwhile, and it is replaced in one rename: it is
    /// either as it was or the whole snapshot. `from` is not changed.
    ///
    /// # Errors
    /// [`BackupError::Held`] while a server has `db` open; what
    /// [`Store::check`] says of a snapshot that is not sound;
    /// [`BackupError::Write`] when the copy cannot be written.
    pub fn restore(from: &Path, db: &Path) -> Result<SnapshotInfo, BackupError> {
        if !from.is_file() {
            return Err(BackupError::Missing {
                path: from.to_owned(),
            });
        }
        let mut lock = FileLock::take(db)?;
        let temp = temporary(db, "restoring");
        let result = (|| {
            let mut file = fresh_file(&temp)?;
            let mut snapshot = File::open(from).map_err(|e| write_error(from, e))?;
            std::io::copy(&mut snapshot, &mut file).map_err(|e| write_error(&temp, e))?;
            drop(file);
            // What is checked is the copy that is installed; errors name
            // the snapshot, which is what the operator gave.
            let mut info = check_file(&temp).map_err(|e| rename_error(e, from))?;
            install(&temp, db)?;
            info.path = db.to_owned();
            Ok(info)
        })();
        match &result {
            Ok(_) => lock.keep(),
            Err(_) => {
                let _ = std::fs::remove_file(&temp);
            }
        }
        result
    }
}

/// The same error about `path` instead of the temporary copy it was found in.
fn rename_error(error: BackupError, path: &Path) -> BackupError {
    let path = path.to_owned();
    match error {
        BackupError::Held { .. } => BackupError::Held { path },
        BackupError::Missing { .. } => BackupError::Missing { path },
        BackupError::Exists { .. } => BackupError::Exists { path },
        BackupError::Foreign { reason, .. } => BackupError::Foreign { path, reason },
        BackupError::NewerSchema {
            found, supported, ..
        } => BackupError::NewerSchema {
            path,
            found,
            supported,
        },
        BackupError::Damaged { reason, .. } => BackupError::Damaged { path, reason },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_cannot_be_opened_while_a_restore_holds_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("casting.redb");
        drop(Store::open(&path).unwrap());
        let lock = FileLock::take(&path).unwrap();
        assert!(Store::open(&path).is_err());
        drop(lock);
        assert!(Store::open(&path).is_ok());
    }

    #[test]
    fn a_lock_on_a_missing_file_leaves_nothing_behind_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("casting.redb");
        drop(FileLock::take(&path).unwrap());
        assert!(!path.exists());
        let mut lock = FileLock::take(&path).unwrap();
        lock.keep();
        drop(lock);
        assert!(path.exists());
    }

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
        let error = damaged(Path::new("x.redb"), "page\nfault");
        assert_eq!(error.to_string(), "x.redb is damaged: page fault");
    }

    #[test]
    fn temporary_names_are_hidden_beside_the_file() {
        assert_eq!(
            temporary(Path::new("/b/casting-1.redb"), "partial"),
            PathBuf::from("/b/.casting-1.redb.partial")
        );
    }
}
