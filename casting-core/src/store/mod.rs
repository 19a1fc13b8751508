//! The redb store: every operation is one transaction, every commit is
//! durable before it returns, and readers never block writers.

mod error;
mod read;
mod record;
mod schema;
mod tables;
mod write;

use std::path::Path;

use redb::{Database, ReadTransaction, ReadableDatabase};

pub use error::StoreError;
pub use write::{Write, Written};

/// Counts of the records in a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// How many movies there are.
    pub movies: u64,
    /// How many actors there are.
    pub actors: u64,
}

/// An open store file. Cheap to share behind an `Arc`: reads run in
/// parallel, writes queue for the one writer redb allows.
pub struct Store {
    db: Database,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
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
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        schema::migrate(&txn)?;
        txn.commit()?;
        Ok(Store { db })
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.db.begin_read()?)
    }
}

#[cfg(test)]
mod tests;
