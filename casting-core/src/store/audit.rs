//! Reads of the audit log and of the records' versions.
//!
//! A filter on the kind or the record is a range read of its index, never
//! a scan of the log, so a page costs the same at a million entries as at
//! ten.

use redb::{ReadOnlyTable, ReadTransaction};

use super::read::movie_in;
use super::record::ActorRecord;
use super::tables::{ACTORS, AUDIT, AUDIT_BY_KIND, AUDIT_BY_RECORD, VERSIONS};
use super::{Store, StoreError};
use crate::audit::{AuditEntry, AuditPage, AuditQuery, Versioned};
use crate::model::{Actor, Movie, RecordKind};

/// How a kind is spelt in the index keys.
pub(super) fn kind_code(kind: RecordKind) -> u8 {
    match kind {
        RecordKind::Movie => 0,
        RecordKind::Actor => 1,
    }
}

/// The version of a record, 0 when it has none yet.
fn version_in(txn: &ReadTransaction, kind: RecordKind, id: u64) -> Result<u64, StoreError> {
    let versions = txn.open_table(VERSIONS)?;
    Ok(versions
        .get((kind_code(kind), id))?
        .map_or(0, |v| v.value()))
}

/// The entry with `id`, which an index names.
fn entry(table: &ReadOnlyTable<u64, &'static [u8]>, id: u64) -> Result<AuditEntry, StoreError> {
    let bytes = table
        .get(id)?
        .ok_or_else(|| StoreError::Corrupt(format!("an audit index names missing entry {id}")))?;
    decode(bytes.value())
}

fn decode(bytes: &[u8]) -> Result<AuditEntry, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("malformed audit entry: {e}")))
}

/// Takes up to `limit` ids from `ids`, and says whether one more follows.
fn take_page(
    ids: impl Iterator<Item = Result<u64, StoreError>>,
    limit: usize,
) -> Result<(Vec<u64>, bool), StoreError> {
    let mut page = Vec::with_capacity(limit.min(1024));
    for id in ids {
        let id = id?;
        if page.len() == limit {
            return Ok((page, true));
        }
        page.push(id);
    }
    Ok((page, false))
}

impl Store {
    /// The movie with `id` and its version, if it exists; both from one
    /// snapshot.
    ///
    /// # Errors
    /// When the store fails.
    pub fn movie_versioned(&self, id: u64) -> Result<Option<Versioned<Movie>>, StoreError> {
        self.guard(|| {
            let txn = self.read()?;
            let Some(movie) = movie_in(&txn, id)? else {
                return Ok(None);
            };
            let version = version_in(&txn, RecordKind::Movie, id)?;
            Ok(Some(Versioned {
                record: movie,
                version,
            }))
        })
    }

    /// The actor with `id` and its version, if it exists; both from one
    /// snapshot.
    ///
    /// # Errors
    /// When the store fails.
    pub fn actor_versioned(&self, id: u64) -> Result<Option<Versioned<Actor>>, StoreError> {
        self.guard(|| {
            let txn = self.read()?;
            let actors = txn.open_table(ACTORS)?;
            let Some(bytes) = actors.get(id)? else {
                return Ok(None);
            };
            let actor = ActorRecord::decode(bytes.value())?.into_actor(id);
            let version = version_in(&txn, RecordKind::Actor, id)?;
            Ok(Some(Versioned {
                record: actor,
                version,
            }))
        })
    }

    /// A page of the audit log, ascending by id. The limit is taken as
    /// given: checking it is the caller's part (the
    /// [`Agency`](crate::Agency) does it).
    ///
    /// # Errors
    /// When the store fails.
    pub fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        self.guard(|| {
            let txn = self.read()?;
            let log = txn.open_table(AUDIT)?;
            let start = query.after.map_or(1, |after| after.saturating_add(1));
            let limit = query.limit as usize;
            let (ids, more) = match (query.record, query.kind) {
                (Some(record), kind) => {
                    let index = txn.open_table(AUDIT_BY_RECORD)?;
                    let wanted = kind.map(kind_code);
                    let ids = index
                        .range((record, start)..=(record, u64::MAX))?
                        .filter_map(|item| match item {
                            Ok((key, kind)) => wanted
                                .is_none_or(|w| w == kind.value())
                                .then(|| Ok(key.value().1)),
                            Err(e) => Some(Err(e.into())),
                        });
                    take_page(ids, limit)?
                }
                (None, Some(kind)) => {
                    let index = txn.open_table(AUDIT_BY_KIND)?;
                    let code = kind_code(kind);
                    let ids = index
                        .range((code, start)..=(code, u64::MAX))?
                        .map(|item| Ok(item?.0.value().1));
                    take_page(ids, limit)?
                }
                (None, None) => {
                    let ids = log.range(start..)?.map(|item| Ok(item?.0.value()));
                    take_page(ids, limit)?
                }
            };
            let entries = ids
                .iter()
                .map(|&id| entry(&log, id))
                .collect::<Result<Vec<_>, _>>()?;
            let next = if more { ids.last().copied() } else { None };
            Ok(AuditPage { entries, next })
        })
    }
}

#[cfg(test)]
mod tests;
