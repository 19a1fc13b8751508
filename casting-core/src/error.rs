//! The one error of the service API.

pub(crate) use crate::model::RecordKind;
use crate::{InvalidField, Permission, StoreError};

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
    /// The write was conditional on a version of the record that is no
    /// longer its current one (an `If-Match` that does not match); nothing
    /// was changed.
    #[error("the {kind} with id {id} has changed since the version the write was conditional on")]
    PreconditionFailed {
        /// The kind of the record.
        kind: RecordKind,
        /// The record's id.
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
        Error::Storage(StoreError::from(error.into()))
    }
}
