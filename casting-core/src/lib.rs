//! The casting agency engine: movies, actors, who may touch them, and a
//! durable store that keeps them.
//!
//! # Layout
//! - [`model`]: [`Movie`], [`Actor`], the inputs that create and change
//!   them with the contract's validation rules, and [`ReleaseDate`].
//! - [`permission`]: the eleven [`Permission`]s, [`PermissionSet`], the three
//!   built-in [`Role`]s and the [`Principal`] a request acts as.
//! - [`audit`]: the [`AuditEntry`]s every write appends, the pages they are
//!   read in, and the [`Versioned`] records and [`Precondition`]s of
//!   conditional writes.
//! - [`query`]: list and search requests and the [`Page`] they return.
//! - `store` (feature `store`, on by default): [`Store`], the redb file,
//!   with its snapshots and checked restores ([`SnapshotInfo`], [`BackupError`]).
//! - `agency` (feature `store`): [`Agency`], the service API that checks the
//!   permission, then the input, then runs one transaction.
//! - `postgres` (feature `postgres`): `PgStore`, the same store in a
//!   PostgreSQL database that any number of processes share.
//!
//! Without the `store` feature this crate is only the shared types, for the
//! SDK, and brings no redb.
//!
//! # Example
//! ```
//! # #[cfg(feature = "store")] {
//! use casting_core::{Agency, Error, NewActor, NewMovie, Principal, Role};
//!
//! let dir = tempfile::tempdir()?;
//! let agency = Agency::open(dir.path().join("casting.redb"))?;
//! let producer = Principal::with_role("ada", Role::Producer);
//! let assistant = Principal::with_role("bob", Role::Assistant);
//!
//! let movie = agency.create_movie(&producer, NewMovie {
//!     title: "Universe".into(),
//!     release: "2010-10-13".parse()?,
//! })?;
//! let actor = agency.create_actor(&producer, NewActor {
//!     name: "Robert Downey Jr".into(),
//!     age: 44,
//!     gender: "Male".into(),
//!     movie_id: Some(movie.id),
//! })?;
//! assert_eq!(agency.movie(&assistant, movie.id)?.actors, vec![actor.id]);
//!
//! let refused = agency.delete_movie(&assistant, movie.id);
//! assert!(matches!(refused, Err(Error::Forbidden { .. })));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit;
pub mod model;
pub mod permission;
pub mod query;

#[cfg(feature = "store")]
mod agency;
#[cfg(feature = "store")]
mod backend;
#[cfg(feature = "store")]
mod error;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "store")]
mod store;

#[cfg(feature = "store")]
pub use agency::{Agency, authorize};
pub use audit::{
    AuditAction, AuditEntry, AuditPage, AuditQuery, AuditRecord, Precondition, Versioned,
};
#[cfg(feature = "store")]
pub use backend::{
    Backend, CheckedWrite, Committed, Counts, EngineError, Item, StoreError, Write, WriteKind,
    Written, redact_password,
};
#[cfg(feature = "store")]
pub use error::Error;
pub use model::{
    Actor, ActorPatch, InvalidField, JsonBody, Movie, MoviePatch, NewActor, NewMovie, RecordKind,
    ReleaseDate, ReleaseDateError,
};
pub use permission::{Permission, PermissionSet, Principal, Role};
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
pub use query::{ActorQuery, MovieQuery, Page, PageRequest};
#[cfg(feature = "store")]
pub use store::{BackupError, SnapshotInfo, Store};
