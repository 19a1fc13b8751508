//! The tables, created or migrated at startup by one process at a time,
//! and the settings table the server keeps its development key in.
//!
//! - `casting_schema(version)`: one row, the schema version.
//! - `casting_sequences(name, last)`: the last id each sequence gave
//!   (`movie`, `actor`, `audit`) and the number of records of each kind
//!   (`movie_count`, `actor_count`). Every write transaction locks the
//!   `audit` row first, which serializes writers across processes, so the
//!   ids it gives are in commit order (a PostgreSQL `SEQUENCE` is not:
//!   `nextval` order is not commit order), and updates the counts, which a
//!   read of a page takes from the same snapshot as its records.
//! - `movies`, `actors`: the records, with each one's version (the id of
//!   the last audit entry that changed it, for a movie its cast too) and
//!   the text fields folded by Rust's `str::to_lowercase` for searches:
//!   PostgreSQL's `lower()` folds some letters otherwise (`İ`, `Σ`), and
//!   searches must answer as the redb store's do.
//! - `audit`: the log, one row an entry, `before` and `after` as JSON.
//! - `casting_settings(name, value)`.

use std::time::Instant;

use deadpool_postgres::{Object, Pool};

use super::error::{is_outage, pg, pool as pool_error};
use super::{FIRST_BACKOFF, MAX_BACKOFF};
use crate::backend::StoreError;

/// The schema this build writes. Raise it with a step in [`migrate`].
///
/// - 1: records, sequences and counts, the audit log, settings.
pub(super) const CURRENT: i64 = 1;

/// The advisory lock key that one process at a time migrates under:
/// `casting` in ASCII.
const LOCK_KEY: i64 = 0x63_61_73_74_69_6e_67;

/// Version 1, created in one transaction. Every statement may meet a
/// database that has it already (a migration that failed halfway rolled
/// back, but a table created by hand may be there).
const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS casting_schema (version bigint NOT NULL);
CREATE TABLE IF NOT EXISTS casting_sequences (name text PRIMARY KEY, last bigint NOT NULL);
INSERT INTO casting_sequences (name, last) VALUES
    ('movie', 0), ('actor', 0), ('audit', 0), ('movie_count', 0), ('actor_count', 0)
    ON CONFLICT (name) DO NOTHING;
CREATE TABLE IF NOT EXISTS movies (
    id bigint PRIMARY KEY,
    title text NOT NULL,
    title_folded text NOT NULL,
    release integer NOT NULL,
    version bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS actors (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    name_folded text NOT NULL,
    age smallint NOT NULL,
    gender text NOT NULL,
    gender_folded text NOT NULL,
    movie_id bigint,
    version bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS actors_movie_id ON actors (movie_id, id);
CREATE INDEX IF NOT EXISTS movies_title_trgm ON movies USING gin (title_folded gin_trgm_ops);
CREATE INDEX IF NOT EXISTS actors_name_trgm ON actors USING gin (name_folded gin_trgm_ops);
CREATE TABLE IF NOT EXISTS audit (
    id bigint PRIMARY KEY,
    kind smallint NOT NULL,
    record bigint NOT NULL,
    at bigint NOT NULL,
    sub text,
    action smallint NOT NULL,
    before jsonb,
    after jsonb
);
CREATE INDEX IF NOT EXISTS audit_kind ON audit (kind, id);
CREATE INDEX IF NOT EXISTS audit_record ON audit (record, kind, id);
CREATE TABLE IF NOT EXISTS casting_settings (name text PRIMARY KEY, value text NOT NULL);
";

/// Connects, trying again with a growing pause until `deadline`, then
/// brings the schema up to date.
pub(super) async fn start(pool: Pool, deadline: Instant) -> Result<(), StoreError> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let failure = match pool.get().await {
            Ok(client) => match migrate(client, deadline).await {
                Ok(()) => return Ok(()),
                Err(Attempt::Retry(reason)) => reason,
                Err(Attempt::Stop(e)) => return Err(e),
            },
            Err(e) => match pool_error(e) {
                StoreError::Unavailable(reason) => reason,
                other => return Err(other),
            },
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(StoreError::Unavailable(failure));
        }
        tokio::time::sleep(backoff.min(deadline - now)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Why an attempt to migrate failed.
enum Attempt {
    /// An outage, which another attempt may get past.
    Retry(String),
    /// What another attempt would meet again.
    Stop(StoreError),
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(reason) => Attempt::Retry(reason),
            other => Attempt::Stop(other),
        }
    }
}

/// Brings the schema to [`CURRENT`] under the advisory lock, on a session
/// of its own that is closed afterwards, so the lock cannot outlive it
/// even when a step fails.
async fn migrate(client: Object, deadline: Instant) -> Result<(), Attempt> {
    let mut client = Object::take(client);
    // Another process migrating holds the lock; wait for it no longer
    // than the connect timeout allows.
    let wait = deadline
        .saturating_duration_since(Instant::now())
        .as_millis()
        .max(1);
    client
        .batch_execute(&format!("SET lock_timeout = {wait}"))
        .await
        .map_err(pg)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(|e| match e.code() {
            Some(code) if *code == tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE => {
                StoreError::Unavailable(
                    "another process is migrating the schema and did not finish in time".into(),
                )
            }
            _ => pg(e),
        })?;
    let migrated = migrate_locked(&mut client).await;
    // Dropping the client closes the session, which releases the lock
    // whatever happened; the unlock says so at once.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    migrated
}

async fn migrate_locked(client: &mut tokio_postgres::Client) -> Result<(), Attempt> {
    let found = version(client).await?;
    match found {
        Some(found) if found > CURRENT => {
            return Err(Attempt::Stop(StoreError::NewerSchema {
                found: u64::try_from(found).unwrap_or(u64::MAX),
                supported: CURRENT.unsigned_abs(),
            }));
        }
        Some(found) if found == CURRENT => return Ok(()),
        _ => {}
    }
    let has_trgm = client
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'", &[])
        .await
        .map_err(pg)?
        .is_some();
    if !has_trgm {
        client
            .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            .await
            .map_err(|e| {
                if is_outage(&e) {
                    return Attempt::from(pg(e));
                }
                let reason = e
                    .as_db_error()
                    .map_or_else(|| e.to_string(), |db| db.message().to_owned());
                // Not tried again: it would fail the same way.
                Attempt::Stop(StoreError::Unavailable(format!(
                    "the pg_trgm extension (in postgresql-contrib) is missing and cannot be \
                     created ({reason}): a superuser can run CREATE EXTENSION pg_trgm in this database"
                )))
            })?;
    }
    let txn = client.transaction().await.map_err(pg)?;
    txn.batch_execute(SCHEMA_1).await.map_err(pg)?;
    txn.execute("DELETE FROM casting_schema", &[])
        .await
        .map_err(pg)?;
    txn.execute(
        "INSERT INTO casting_schema (version) VALUES ($1)",
        &[&CURRENT],
    )
    .await
    .map_err(pg)?;
    txn.commit().await.map_err(pg)?;
    Ok(())
}

/// The schema version of the database, `None` when it has none yet.
async fn version(client: &tokio_postgres::Client) -> Result<Option<i64>, StoreError> {
    let exists = client
        .query_one("SELECT to_regclass('casting_schema') IS NOT NULL", &[])
        .await
        .map_err(pg)?
        .try_get::<_, bool>(0)
        .map_err(pg)?;
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_one("SELECT max(version) FROM casting_schema", &[])
        .await
        .map_err(pg)?;
    row.try_get(0).map_err(pg)
}

/// The setting `name`, if stored.
pub(super) async fn setting(pool: Pool, name: String) -> Result<Option<String>, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let row = client
        .query_opt(
            "SELECT value FROM casting_settings WHERE name = $1",
            &[&name],
        )
        .await
        .map_err(pg)?;
    row.map(|row| row.try_get(0).map_err(pg)).transpose()
}

/// Stores `value` under `name` unless a value is there, and returns the
/// stored one.
pub(super) async fn put_setting_once(
    pool: Pool,
    name: String,
    value: String,
) -> Result<String, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    // The insert does nothing when a value is there, or when a racing
    // process's insert commits first (ON CONFLICT waits for it); the read
    // after, a statement with a snapshot of its own, sees whichever won.
    client
        .execute(
            "INSERT INTO casting_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &value],
        )
        .await
        .map_err(pg)?;
    let row = client
        .query_one(
            "SELECT value FROM casting_settings WHERE name = $1",
            &[&name],
        )
        .await
        .map_err(pg)?;
    row.try_get(0).map_err(pg)
}
