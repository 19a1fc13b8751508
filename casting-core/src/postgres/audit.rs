//! Audit entries as rows of the `audit` table, and pages of the log.
//!
//! `before` and `after` are JSON in a layout of this module's own
//! ([`Stored`]), with the release date as its `YYYYMMDD` number, so that
//! what is read back is exactly what was written.

use deadpool_postgres::Pool;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use tokio_postgres::types::Json;

use super::error::{bound, exact, from_db, pg, pool as pool_error, to_db};
use crate::audit::{AuditAction, AuditEntry, AuditPage, AuditQuery, AuditRecord};
use crate::backend::StoreError;
use crate::model::{Actor, Movie, RecordKind, ReleaseDate};

/// A record as the `before` and `after` columns hold it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(super) enum Stored {
    /// A movie with its cast at that moment.
    Movie {
        id: u64,
        title: String,
        release: u32,
        actors: Vec<u64>,
    },
    /// An actor.
    Actor {
        id: u64,
        name: String,
        age: u8,
        gender: String,
        movie_id: Option<u64>,
    },
}

impl Stored {
    fn of(record: &AuditRecord) -> Self {
        match record.clone() {
            AuditRecord::Movie(movie) => Stored::Movie {
                id: movie.id,
                title: movie.title,
                release: movie.release_date.to_ordinal(),
                actors: movie.actors,
            },
            AuditRecord::Actor(actor) => Stored::Actor {
                id: actor.id,
                name: actor.name,
                age: actor.age,
                gender: actor.gender,
                movie_id: actor.movie_id,
            },
        }
    }

    fn into_record(self) -> Result<AuditRecord, StoreError> {
        Ok(match self {
            Stored::Movie {
                id,
                title,
                release,
                actors,
            } => AuditRecord::Movie(Movie {
                id,
                title,
                release_date: ReleaseDate::from_ordinal(release).map_err(|_| {
                    StoreError::Corrupt(format!("release date {release} in the log"))
                })?,
                actors,
            }),
            Stored::Actor {
                id,
                name,
                age,
                gender,
                movie_id,
            } => AuditRecord::Actor(Actor {
                id,
                name,
                age,
                gender,
                movie_id,
            }),
        })
    }
}

/// How a kind is stored.
pub(super) fn kind_code(kind: RecordKind) -> i16 {
    match kind {
        RecordKind::Movie => 0,
        RecordKind::Actor => 1,
    }
}

fn action_code(action: AuditAction) -> i16 {
    match action {
        AuditAction::Create => 0,
        AuditAction::Update => 1,
        AuditAction::Delete => 2,
    }
}

/// The columns of an entry, in the order of [`INSERT`] and [`COLUMNS`].
pub(super) const COLUMNS: &str = "id, kind, record, at, sub, action, before, after";

/// Appends any number of entries in one statement, each column as an
/// array.
pub(super) const INSERT: &str =
    "INSERT INTO audit (id, kind, record, at, sub, action, before, after)
    SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::bigint[], $5::text[],
                         $6::smallint[], $7::jsonb[], $8::jsonb[])";

/// Entries as the columns of [`INSERT`].
#[derive(Debug, Default)]
pub(super) struct Columns {
    ids: Vec<i64>,
    kinds: Vec<i16>,
    records: Vec<i64>,
    ats: Vec<i64>,
    subs: Vec<Option<String>>,
    actions: Vec<i16>,
    befores: Vec<Option<Json<Stored>>>,
    afters: Vec<Option<Json<Stored>>>,
}

impl Columns {
    /// Adds `entry`.
    ///
    /// # Errors
    /// [`StoreError::Import`] for an id beyond a `bigint`.
    pub(super) fn push(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.ids.push(to_db(entry.id)?);
        self.kinds.push(kind_code(entry.kind));
        self.records.push(to_db(entry.record)?);
        self.ats.push(entry.at.as_second());
        self.subs.push(entry.sub.clone());
        self.actions.push(action_code(entry.action));
        self.befores
            .push(entry.before.as_ref().map(|r| Json(Stored::of(r))));
        self.afters
            .push(entry.after.as_ref().map(|r| Json(Stored::of(r))));
        Ok(())
    }

    /// How many entries there are.
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The parameters of [`INSERT`].
    pub(super) fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 8] {
        [
            &self.ids,
            &self.kinds,
            &self.records,
            &self.ats,
            &self.subs,
            &self.actions,
            &self.befores,
            &self.afters,
        ]
    }
}

/// The entry in `row`, read with [`COLUMNS`].
pub(super) fn entry_of(row: &Row) -> Result<AuditEntry, StoreError> {
    let id = from_db(row.try_get(0).map_err(pg)?)?;
    let kind = match row.try_get::<_, i16>(1).map_err(pg)? {
        0 => RecordKind::Movie,
        1 => RecordKind::Actor,
        other => {
            return Err(StoreError::Corrupt(format!(
                "audit entry {id} has kind {other}"
            )));
        }
    };
    let record = from_db(row.try_get(2).map_err(pg)?)?;
    let at = Timestamp::from_second(row.try_get(3).map_err(pg)?)
        .map_err(|_| StoreError::Corrupt(format!("audit entry {id} has an impossible time")))?;
    let sub = row.try_get(4).map_err(pg)?;
    let action = match row.try_get::<_, i16>(5).map_err(pg)? {
        0 => AuditAction::Create,
        1 => AuditAction::Update,
        2 => AuditAction::Delete,
        other => {
            return Err(StoreError::Corrupt(format!(
                "audit entry {id} has action {other}"
            )));
        }
    };
    let record_at = |column: usize| -> Result<Option<AuditRecord>, StoreError> {
        row.try_get::<_, Option<Json<Stored>>>(column)
            .map_err(pg)?
            .map(|Json(stored)| stored.into_record())
            .transpose()
    };
    Ok(AuditEntry {
        id,
        at,
        sub,
        action,
        kind,
        record,
        before: record_at(6)?,
        after: record_at(7)?,
    })
}

/// A page of the log, as the redb store answers it: ascending by id,
/// above `after`, of one kind and one record when given; `next` set when
/// more entries follow.
pub(super) async fn page(pool: Pool, query: AuditQuery) -> Result<AuditPage, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let start = bound(query.after.map_or(1, |after| after.saturating_add(1)));
    // One more than the page, to know whether another follows.
    let take = i64::from(query.limit) + 1;
    let kind = query.kind.map(kind_code);
    let record = query.record.map(exact);
    // A statement per combination of filters, so each gets the plan that
    // uses its index.
    let mut filter = String::from("id >= $1");
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&start, &take];
    if let Some(kind) = &kind {
        params.push(kind);
        filter.push_str(&format!(" AND kind = ${}", params.len()));
    }
    if let Some(record) = &record {
        params.push(record);
        filter.push_str(&format!(" AND record = ${}", params.len()));
    }
    let sql = format!("SELECT {COLUMNS} FROM audit WHERE {filter} ORDER BY id LIMIT $2");
    let statement = client.prepare_cached(&sql).await.map_err(pg)?;
    let rows = client.query(&statement, &params).await.map_err(pg)?;
    let limit = query.limit as usize;
    let more = rows.len() > limit;
    let entries = rows
        .iter()
        .take(limit)
        .map(entry_of)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if more {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(AuditPage { entries, next })
}
