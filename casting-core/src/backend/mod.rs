//! The seam between the service API and where the data lives.
//!
//! A [`Backend`] keeps movies, actors and the audit log, and answers reads
//! and applies checked writes, each in one transaction. Two implement it:
//! the embedded redb file ([`Store`](crate::Store)) and, with the
//! `postgres` feature, a PostgreSQL database that any number of processes
//! share ([`PgStore`](crate::PgStore)). Only this crate's own types cross
//! it: no engine's types appear in a signature or a public error
//! ([`StoreError`], [`EngineError`]).
//!
//! - `write`: [`Write`], [`CheckedWrite`] (only the
//!   [`Agency`](crate::Agency)'s check makes one, so no write reaches a
//!   backend unchecked) and what a commit answers.
//! - `error`: [`StoreError`] and [`EngineError`].
//! - `item`: [`Item`], one record or audit entry as a copy moves it.

mod error;
pub(crate) mod import;
mod item;
mod url;
mod write;

#[cfg(feature = "postgres")]
pub(crate) use error::Repr;
pub use error::{EngineError, StoreError};
pub use item::Item;
pub use url::redact_password;
pub use write::{CheckedWrite, Committed, Write, WriteKind, Written};

use crate::audit::{AuditPage, AuditQuery, Versioned};
use crate::error::Error;
use crate::model::{Actor, Movie};
use crate::query::{ActorQuery, MovieQuery, Page, PageRequest};

/// Counts of the records in a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// How many movies there are.
    pub movies: u64,
    /// How many actors there are.
    pub actors: u64,
}

/// Where the data lives: reads, each from one consistent snapshot, and
/// checked writes, applied in one transaction per batch.
///
/// The methods block the calling thread until the backend answers; an
/// async caller runs them on a thread that may block (the server uses
/// tokio's blocking pool when [`Backend::reads_block`] says so).
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The movie with `id` and its version, if it exists; both from one
    /// snapshot.
    ///
    /// # Errors
    /// When the store fails.
    fn movie_versioned(&self, id: u64) -> Result<Option<Versioned<Movie>>, StoreError>;

    /// The actor with `id` and its version, if it exists.
    ///
    /// # Errors
    /// When the store fails.
    fn actor_versioned(&self, id: u64) -> Result<Option<Versioned<Actor>>, StoreError>;

    /// A page of movies; `total` is the number of movies, from the same
    /// snapshot as the page.
    ///
    /// # Errors
    /// When the store fails.
    fn movies(&self, request: PageRequest) -> Result<Page<Movie>, StoreError>;

    /// A page of actors; `total` is the number of actors.
    ///
    /// # Errors
    /// When the store fails.
    fn actors(&self, request: PageRequest) -> Result<Page<Actor>, StoreError>;

    /// A page of the movies that match `query`; `total` counts every match.
    ///
    /// # Errors
    /// When the store fails.
    fn search_movies(&self, query: &MovieQuery) -> Result<Page<Movie>, StoreError>;

    /// A page of the actors that match `query`; `total` counts every match.
    ///
    /// # Errors
    /// When the store fails.
    fn search_actors(&self, query: &ActorQuery) -> Result<Page<Actor>, StoreError>;

    /// How many movies and actors there are.
    ///
    /// # Errors
    /// When the store fails.
    fn counts(&self) -> Result<Counts, StoreError>;

    /// A page of the audit log, ascending by id; the limit is taken as
    /// given (the [`Agency`](crate::Agency) checks it).
    ///
    /// # Errors
    /// When the store fails.
    fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError>;

    /// Applies checked writes in one transaction with one durable commit,
    /// in order, each with its own result: a refused write (not found, a
    /// failed condition, an invalid `movie_id`) changes nothing and does
    /// not stop the others. Each applied write appends its audit entries
    /// in that same transaction. Results are final once this returns `Ok`.
    ///
    /// # Errors
    /// When the store fails, nothing of the batch was written (or, for
    /// [`StoreError::CommitUncertain`], whether it was is unknown), and
    /// the error stands for every write in it.
    fn commit(
        &self,
        writes: Vec<CheckedWrite>,
    ) -> Result<Vec<Result<Committed, Error>>, StoreError>;

    /// A number that changes whenever what a read could see may have
    /// changed, so a result kept under it stays valid until it changes;
    /// `None` when other processes may change the data unseen (a shared
    /// database), so nothing may be kept.
    fn generation(&self) -> Option<u64>;

    /// Whether a read may wait on the network or a large scan, so that an
    /// async caller should move even small reads off its workers.
    fn reads_block(&self) -> bool;

    /// Checks that the store answers a read now, for a readiness probe.
    ///
    /// # Errors
    /// Why it does not.
    fn ready(&self) -> Result<(), StoreError> {
        self.counts().map(drop)
    }

    /// Does once, now, the work the first search would otherwise wait for.
    ///
    /// # Errors
    /// When the store fails.
    fn prepare_search(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Hands every movie, then every actor, then every audit entry, each
    /// ascending by id, to `each`, all from one consistent snapshot; stops
    /// at the first error `each` returns.
    ///
    /// # Errors
    /// When the store fails, or as `each`.
    fn export(
        &self,
        each: &mut dyn FnMut(Item) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Fills the store with `items` (movies before the actors cast in
    /// them), ids kept, in one transaction: the id sequences continue
    /// after the highest id the items name, and each record's version is
    /// the last audit entry that changed it, as if the log had been
    /// written here. With `replace`, whatever the store held is removed
    /// first; without, a store that holds anything is refused.
    ///
    /// # Errors
    /// [`StoreError::NotEmpty`], [`StoreError::Import`] for items that do
    /// not hold together (a duplicate id, an actor cast in a missing
    /// movie), or an error `items` yields; nothing is imported then.
    fn import(
        &self,
        items: &mut dyn Iterator<Item = Result<Item, StoreError>>,
        replace: bool,
    ) -> Result<Counts, StoreError>;
}
