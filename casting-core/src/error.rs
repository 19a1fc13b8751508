//! The one error of the service API.

use crate::{InvalidField, Permission, StoreError};

/// The kind of record an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A movie.
    Movie,
    /// An actor.
    Actor,
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordKind::Movie => "movie",
            RecordKind::Actor => "actor",
        })
    }
}

/// Why an operation of the [`Agency`](crate::Agency) did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller lacks the permission the operation needs.
    #[error("permission denied: {missing} is required")]
    Forbidden {
        /// The permission the caller would need.
        missing: Permission,
    },
    /// No record has that id.
    #[error("no {kind} with id {id}")]
    NotFound {
        /// What was looked for.
        kind: RecordKind,
        /// The id that names nothing.
        id: u64,
    },
    /// The input broke a rule; the field is named.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The store failed; the request itself may be fine.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl Error {
    /// Any failure of redb is a storage error.
    pub(crate) fn redb(error: impl Into<redb::Error>) -> Self {
        Error::Storage(StoreError::Redb(error.into()))
    }
}
