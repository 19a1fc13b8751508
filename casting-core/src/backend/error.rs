//! What can go wrong below the data, whatever the backend: the disk, the
//! file, the database server, the schema version.

use std::path::PathBuf;
use std::sync::Arc;

/// The store could not do its work; nothing about the request was wrong.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine reported a failure: I/O, a full disk, a lock held
    /// by another process, a statement the database refused.
    #[error("storage: {0}")]
    Engine(#[from] EngineError),
    /// The database cannot be reached (a PostgreSQL server down, a
    /// connection lost before the transaction committed). Nothing of the
    /// operation was done; retrying later may succeed.
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
    /// The connection was lost while the commit was under way, so whether
    /// it happened is unknown: the write is not reported as done.
    #[error("the connection to the database was lost during the commit; its outcome is unknown")]
    CommitUncertain,
    /// The store was written by a newer version of casting and is left untouched.
    #[error(
        "the store has schema version {found}, newer than the {supported} this build reads: upgrade casting"
    )]
    NewerSchema {
        /// The version in the store.
        found: u64,
        /// The newest version this build knows.
        supported: u64,
    },
    /// A record could not be read back.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The file holds what neither casting nor redb wrote: its pages or
    /// records were changed on disk. Nothing in it can be trusted until it
    /// is restored; the rest of the process is unaffected.
    #[error(
        "the store file {} is damaged ({detail}): restore it from a backup",
        file.display()
    )]
    Damaged {
        /// The store file, as it was given to [`Store::open`](crate::Store::open).
        file: PathBuf,
        /// What was found, on one line: redb's report, or the message of
        /// the panic redb raised on a page it could not make sense of.
        detail: String,
    },
    /// The file is closed after a storage failure (an I/O error, or a
    /// reopen after damage that failed), or open read-only, and a reopen
    /// has not succeeded yet.
    #[error(
        "the store is unavailable for this operation after a storage failure; retrying the open"
    )]
    Closed,
    /// The store has been shut down: the process is stopping, and takes
    /// no more writes.
    #[error("the store is shut down and takes no more writes")]
    ShutDown,
    /// The write was committed together with others, and that commit failed
    /// for the reason given.
    #[error("the commit this write was part of failed: {0}")]
    BatchFailed(Arc<StoreError>),
    /// An id sequence reached its end.
    #[error("no ids are left for {0}")]
    IdsExhausted(&'static str),
    /// Data given to [`Backend::import`](crate::Backend::import) does not
    /// hold together; nothing was imported.
    #[error("cannot import: {0}")]
    Import(String),
    /// [`Backend::import`](crate::Backend::import) was asked to fill a
    /// store that holds records, without leave to empty it.
    #[error("the store is not empty ({movies} movies, {actors} actors, {entries} audit entries)")]
    NotEmpty {
        /// The movies it holds.
        movies: u64,
        /// The actors it holds.
        actors: u64,
        /// The audit entries it holds.
        entries: u64,
    },
}

impl StoreError {
    /// Whether the failure is the database being out of reach, which the
    /// server answers 503 `storage_unavailable`: nothing was done, and a
    /// retry may succeed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::BatchFailed(cause) => cause.is_unavailable(),
            _ => false,
        }
    }
}

/// A failure reported by the storage engine itself. Opaque, so that no
/// engine's types are part of this crate's API; its message is the
/// engine's, and [`std::error::Error::source`] reaches the engine's error.
/// Boxed, because engines' errors are large and every result carries room
/// for one.
#[derive(Debug)]
pub struct EngineError(pub(crate) Box<Repr>);

/// The engine errors an [`EngineError`] may hold.
#[derive(Debug)]
pub(crate) enum Repr {
    /// From the redb store.
    Redb(redb::Error),
    /// From the PostgreSQL store.
    #[cfg(feature = "postgres")]
    Postgres(tokio_postgres::Error),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            Repr::Redb(e) => e.fmt(f),
            #[cfg(feature = "postgres")]
            Repr::Postgres(e) => match e.as_db_error() {
                // The server's own message, without the SQLSTATE noise.
                Some(db) => write!(f, "{}: {}", db.severity(), db.message()),
                None => e.fmt(f),
            },
        }
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            Repr::Redb(e) => Some(e),
            #[cfg(feature = "postgres")]
            Repr::Postgres(e) => Some(e),
        }
    }
}

impl EngineError {
    /// The redb error inside, for the redb store's own handling.
    pub(crate) fn redb(&self) -> Option<&redb::Error> {
        match &*self.0 {
            Repr::Redb(e) => Some(e),
            #[cfg(feature = "postgres")]
            Repr::Postgres(_) => None,
        }
    }
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        StoreError::Engine(EngineError(Box::new(Repr::Redb(e))))
    }
}

/// Turns each of redb's narrow errors into a [`StoreError`].
macro_rules! from_redb {
    ($($error:ty),*) => {
        $(impl From<$error> for StoreError {
            fn from(e: $error) -> Self {
                StoreError::from(redb::Error::from(e))
            }
        })*
    };
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_error_shows_the_engines_message_and_keeps_it_as_source() {
        let error = StoreError::from(redb::Error::Corrupted("page 9".into()));
        assert_eq!(error.to_string(), "storage: DB corrupted: page 9");
        let StoreError::Engine(engine) = &error else {
            panic!("{error:?}")
        };
        assert!(std::error::Error::source(engine).is_some());
    }

    #[test]
    fn a_batch_failure_keeps_its_cause_and_whether_it_was_an_outage() {
        let cause = Arc::new(StoreError::Unavailable("connection refused".into()));
        let error = StoreError::BatchFailed(cause);
        assert!(error.is_unavailable());
        assert!(error.to_string().ends_with("connection refused"));
        assert!(!StoreError::Closed.is_unavailable());
    }
}
