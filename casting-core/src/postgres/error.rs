//! How a failure of the PostgreSQL client becomes a [`StoreError`]: an
//! outage (the server gone, the connection lost, no connection to be had
//! in time) is [`StoreError::Unavailable`], which the server answers 503
//! and which leaves nothing done; anything the database itself refused is
//! an [`EngineError`] holding the client's error.

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

use crate::backend::{EngineError, Repr, StoreError};

/// Whether `e` means the connection or the server is gone, rather than a
/// statement the database refused: nothing done on that connection since
/// its last commit survives, and another connection may well succeed.
pub(super) fn is_outage(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        // Class 08 is "connection exception"; 57P01 to 57P03 are an
        // administrator's shutdown or termination and a server starting.
        return code.code().starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW;
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    // The client's kinds are private, but their messages are fixed: its
    // own timeout has no source, and a connection that failed in its TLS
    // handshake (a server without TLS under `sslmode=require`, a
    // certificate not trusted) never started a session.
    let message = e.to_string();
    [
        "timeout waiting for server",
        "error connecting to server",
        "error performing TLS handshake",
    ]
    .iter()
    .any(|prefix| message.starts_with(prefix))
}

/// Whether the database refused the transaction only because of another
/// one running at the same time, so that running it again may succeed.
pub(super) fn is_conflict(e: &StoreError) -> bool {
    match e {
        StoreError::Engine(EngineError(repr)) => match &**repr {
            Repr::Postgres(e) => e.code().is_some_and(|code| {
                *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED
            }),
            Repr::Redb(_) => false,
        },
        _ => false,
    }
}

/// The [`StoreError`] of a client error.
pub(super) fn pg(e: tokio_postgres::Error) -> StoreError {
    if is_outage(&e) {
        // The client's messages name no URL, user or password.
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Engine(EngineError(Box::new(Repr::Postgres(e))))
    }
}

/// The [`StoreError`] of a failure to take a connection from the pool.
pub(super) fn pool(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => pg(e),
        PoolError::Timeout(_) => {
            StoreError::Unavailable("no database connection could be had in time".into())
        }
        PoolError::Closed => StoreError::ShutDown,
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Converts an id to the `bigint` it is stored as. Ids stay far below
/// `i64::MAX` (the sequences give them one at a time); an import naming a
/// larger one is refused.
pub(super) fn to_db(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id)
        .map_err(|_| StoreError::Import(format!("id {id} exceeds what PostgreSQL's bigint holds")))
}

/// Converts a stored `bigint` back to an id; a negative one is damage.
pub(super) fn from_db(id: i64) -> Result<u64, StoreError> {
    u64::try_from(id).map_err(|_| StoreError::Corrupt(format!("negative id {id} in the database")))
}

/// An id from a request as a `bigint` bound: beyond `i64::MAX` nothing is
/// stored, so the largest `bigint` (for a lower bound) or -1 (for an
/// equality, matching nothing) stands for it.
pub(super) fn bound(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// An id from a request compared for equality: -1, matching no row, when
/// it is beyond any stored id.
pub(super) fn exact(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(-1)
}
