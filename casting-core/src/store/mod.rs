//! The redb store: every operation is one transaction, every commit is
//! durable before it returns, and readers never block writers.

mod audit;
mod backup;
mod damage;
mod entry;
mod index;
mod read;
mod record;
mod schema;
mod seam;
mod tables;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use redb::{
    Builder, Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, WriteTransaction,
};

pub use backup::{BackupError, SnapshotInfo};
use damage::{Failure, contain};

use crate::backend::{Counts, StoreError};

/// The database handle, as the last (re)open left it.
enum Handle {
    /// Open for reading and writing.
    Writable(Database),
    /// Reopened read-only, because a read-write open failed (a full disk
    /// cannot even commit the open's own transaction): reads go on, writes
    /// fail until a reopen succeeds.
    ReadOnly(ReadOnlyDatabase),
    /// No open has succeeded since the last failure.
    Closed,
}

/// An open store file. Cheap to share behind an `Arc`: reads run in
/// parallel, writes queue for the one writer redb allows.
///
/// After an I/O failure redb refuses every later operation on that handle
/// ("previous I/O error"), so the store closes the file and opens it again
/// ([`Store::reopen`]); redb's commit protocol leaves the last good commit
/// intact, so nothing acknowledged is lost.
///
/// A file damaged on disk never panics out of the store. Opening verifies
/// every page, so a file damaged at rest is refused with
/// [`StoreError::Damaged`]; damage that appears under the open store gives
/// that error to the operations that meet it, and when redb panicked on it
/// the store reopens the file at once. That read-write open fails its
/// check when the damage is in a page in use, and the store goes on
/// read-only (reads that do not touch the damage are answered, writes
/// fail with [`StoreError::Closed`]), or closed if even that open fails.
pub struct Store {
    path: PathBuf,
    handle: RwLock<Handle>,
    /// When a reopen was last tried, so failing opens are not retried in a
    /// tight loop by every request.
    last_reopen: Mutex<Option<Instant>>,
    /// The actors' searchable fields in memory, once a search asked.
    actor_index: RwLock<Option<index::ActorIndex>>,
    /// Counts commits and reopens; see [`Store::generation`].
    generation: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The least time between two automatic reopen attempts.
const REOPEN_INTERVAL: Duration = Duration::from_secs(1);

/// Opens the file read-write and brings its schema up to date.
fn open_writable(path: &Path) -> Result<Database, Failure> {
    // Every page's checksum is verified before anything is trusted: on a
    // file altered since redb wrote it, a plain open or the first commit
    // can panic twice over (once in redb's cleanup while unwinding), which
    // aborts the process past any catch_unwind. The check reads the whole
    // file once per open.
    let create = || {
        Ok(Builder::new()
            .set_check_integrity_on_open(true)
            .create(path)?)
    };
    let db = contain(path, create)?;
    // The migration runs apart from `db`, so that a panic in it does not
    // unwind past `db`: dropping a database closes the file, which panics
    // again on a lock the first panic poisoned, and a panic while unwinding
    // aborts the process.
    let migrated = contain(path, || {
        let txn = db.begin_write()?;
        schema::migrate(&txn)?;
        txn.commit()?;
        Ok(())
    });
    match migrated {
        Ok(()) => Ok(db),
        Err(failure) => {
            discard(path, db);
            Err(failure)
        }
    }
}

impl Store {
    /// Opens the store at `path`, creating it when missing, and brings its
    /// schema up to date.
    ///
    /// # Errors
    /// When the file cannot be opened or created, is locked by another
    /// process, is not a redb file, or was written by a newer casting
    /// ([`StoreError::NewerSchema`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let db = open_writable(&path)?;
        Ok(Store {
            path,
            handle: RwLock::new(Handle::Writable(db)),
            last_reopen: Mutex::new(None),
            actor_index: RwLock::new(None),
            generation: AtomicU64::new(0),
        })
    }

    /// Closes the file and opens it again, read-write if it can, else
    /// read-only. Call it after a storage failure.
    ///
    /// # Errors
    /// When a read-write open fails (the store may then be open read-only);
    /// when even a read-only open fails, the store answers every call with
    /// [`StoreError::Closed`] until a reopen succeeds.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut handle = self.handle.write().unwrap_or_else(PoisonError::into_inner);
        *self
            .last_reopen
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        // The old handle holds the file lock, so it must go first; the index
        // is rebuilt from what the file holds now.
        close(&self.path, &mut handle);
        *self
            .actor_index
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.generation.fetch_add(1, Ordering::Release);
        match open_writable(&self.path) {
            Ok(db) => {
                *handle = Handle::Writable(db);
                Ok(())
            }
            Err(failure) => {
                let read_only = || Ok(Builder::new().open_read_only(&self.path)?);
                if let Ok(db) = contain(&self.path, read_only) {
                    *handle = Handle::ReadOnly(db);
                }
                Err(failure.into())
            }
        }
    }

    /// Runs `op`, which calls redb, so that a damaged file gives
    /// [`StoreError::Damaged`] rather than a panic. Every public operation
    /// runs its redb calls in here.
    fn guard<T>(&self, op: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        contain(&self.path, op).map_err(|failure| {
            if let Failure::Panic(_) = failure {
                // redb may have stopped holding one of its locks or halfway
                // through changing its in-memory state, so the handle is
                // replaced before anything else uses it. At once rather than
                // by the reopen a second, because until then every other
                // request would fail with `Closed`, also those the damage
                // does not touch.
                let _ = self.reopen();
            }
            failure.into()
        })
    }

    /// A number that changes whenever what a read could see may have
    /// changed (a commit, a reopen). A read that starts after taking it sees
    /// data at least that new, so a result kept under it stays valid until
    /// it changes: the server caches whole responses this way.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether the store can take writes now.
    pub fn is_writable(&self) -> bool {
        matches!(
            *self.handle.read().unwrap_or_else(PoisonError::into_inner),
            Handle::Writable(_)
        )
    }

    /// Reopens, unless a reopen was tried within the last second.
    fn reopen_now_and_then(&self) {
        let recent = self
            .last_reopen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < REOPEN_INTERVAL);
        if !recent {
            let _ = self.reopen();
        }
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        match self.read_without_reopening() {
            Err(StoreError::Closed) => {
                self.reopen_now_and_then();
                self.read_without_reopening()
            }
            other => other,
        }
    }

    /// A read transaction on the handle as it is: [`StoreError::Closed`]
    /// when there is none, rather than a reopen, for a caller that holds a
    /// lock a reopen takes.
    fn read_without_reopening(&self) -> Result<ReadTransaction, StoreError> {
        match &*self.handle.read().unwrap_or_else(PoisonError::into_inner) {
            Handle::Writable(db) => Ok(db.begin_read()?),
            Handle::ReadOnly(db) => Ok(db.begin_read()?),
            Handle::Closed => Err(StoreError::Closed),
        }
    }

    fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        if let Handle::Writable(db) = &*self.handle.read().unwrap_or_else(PoisonError::into_inner) {
            return Ok(db.begin_write()?);
        }
        self.reopen_now_and_then();
        match &*self.handle.read().unwrap_or_else(PoisonError::into_inner) {
            Handle::Writable(db) => Ok(db.begin_write()?),
            _ => Err(StoreError::Closed),
        }
    }
}

/// Closes the file of `handle`, leaving it [`Handle::Closed`].
fn close(path: &Path, handle: &mut Handle) {
    discard(path, std::mem::replace(handle, Handle::Closed));
}

/// Drops `value`, a redb handle, catching a panic. Closing a file makes
/// redb write its allocator state, walking pages that may be damaged, and
/// take locks that an earlier panic may have poisoned: the file is closed
/// either way, and nobody is left to tell.
fn discard<T>(path: &Path, value: T) {
    let _ = contain(path, || {
        drop(value);
        Ok(())
    });
}

impl Drop for Store {
    fn drop(&mut self) {
        let handle = self
            .handle
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        close(&self.path, handle);
    }
}

#[cfg(test)]
mod tests;
