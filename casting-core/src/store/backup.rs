//! Backups without downtime: a snapshot copies every table from one read
//! transaction into a new file, so writers go on committing while it runs
//! (redb's readers never block its writer); a restore checks a snapshot
//! and puts it in place of a store no process holds.
//!
//! A file appears under its final name only once it is complete and on
//! disk: it is written under a temporary name in the same directory, synced,
//! renamed, and the directory synced, so a crash leaves either the old file
//! or the whole new one, never a torn one.
//!
//! - `copy`: the tables, from one read transaction into a new file.
//! - `check`: redb's integrity check, then the schema version, the records
//!   and their relations.
//! - `file`: temporary names, the sync-rename-sync, the store's lock.
//! - `error`: [`BackupError`], one line naming the file.

mod check;
mod copy;
mod error;
mod file;

use std::fs::File;
use std::path::{Path, PathBuf};

use redb::{Builder, DatabaseError, ReadableDatabase};

use self::check::check_file;
use self::copy::snapshot_to;
use self::error::{damaged, foreign, guarded, one_line, write_error};
use self::file::{FileLock, fresh_file, install, temporary};
use super::Store;
use crate::backend::Counts;

pub use self::error::BackupError;

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
    ///
    /// # Example
    /// ```
    /// use casting_core::{BackupError, NewMovie, Store, Write};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let (db, snapshot) = (dir.path().join("casting.redb"), dir.path().join("snapshot.redb"));
    /// let store = Store::open(&db)?;
    /// store.write(&casting_core::Principal::owner(), Write::CreateMovie(NewMovie {
    ///     title: "Universe".into(),
    ///     release: "2010-10-13".parse()?,
    /// }))?;
    /// store.snapshot(&snapshot)?;
    ///
    /// // Refused while the store is open: a server would be holding it.
    /// assert!(matches!(Store::restore(&snapshot, &db), Err(BackupError::Held { .. })));
    /// drop(store);
    /// let restored = Store::restore(&snapshot, &db)?;
    /// assert_eq!(restored.counts.movies, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
            let mut info = check_file(&temp).map_err(|e| e.about(from))?;
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
