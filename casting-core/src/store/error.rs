//! What can go wrong below the data: the disk, the file, its version.

use std::path::PathBuf;

/// The store could not do its work; nothing about the request was wrong.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb reported a failure: I/O, a full disk, a lock held by another process.
    #[error("storage: {0}")]
    Redb(#[from] redb::Error),
    /// The file was written by a newer version of casting and is left untouched.
    #[error(
        "the store has schema version {found}, newer than the {supported} this build reads: upgrade casting"
    )]
    NewerSchema {
        /// The version in the file.
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
    /// The write was committed together with others, and that commit failed.
    #[error("the commit this write was part of failed: {0}")]
    BatchFailed(String),
    /// An id sequence reached its end.
    #[error("no ids are left for {0}")]
    IdsExhausted(&'static str),
}

/// Turns each of redb's narrow errors into a [`StoreError`].
macro_rules! from_redb {
    ($($error:ty),*) => {
        $(impl From<$error> for StoreError {
            fn from(e: $error) -> Self {
                StoreError::Redb(e.into())
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
