//! Reads of the audit log and of the records' versions.
//!
//! A filter on the kind or the record is a range read of the audit table
//! (see [`AUDIT`]), never a scan of the log, so a page costs the same at a
//! million entries as at ten. Without a kind, the two kinds' ranges are
//! read a page each and merged by id.

use redb::ReadableTable;

use super::Store;
use super::read::movie_in;
use super::record::ActorRecord;
use super::tables::{ABOUT, ACTORS, AUDIT, RECORD_SPACE};
use crate::audit::{AuditPage, AuditQuery, Versioned};
use crate::backend::StoreError;
use crate::model::{Actor, Movie, RecordKind};

/// How a kind is spelt in the keys of the audit table.
pub(super) fn kind_code(kind: RecordKind) -> u8 {
    match kind {
        RecordKind::Movie => 0,
        RecordKind::Actor => 1,
    }
}

const KINDS: [RecordKind; 2] = [RecordKind::Movie, RecordKind::Actor];

/// The version of a record: the entry id of the last row of its range in
/// the record index, 0 when it has none.
pub(super) fn version_in(
    audit: &impl ReadableTable<(u8, u64, u64), &'static [u8]>,
    kind: RecordKind,
    id: u64,
) -> Result<u64, StoreError> {
    let space = RECORD_SPACE + kind_code(kind);
    let last = audit
        .range((space, id, 0)..=(space, id, u64::MAX))?
        .next_back();
    Ok(match last {
        Some(row) => row?.0.value().2,
        None => 0,
    })
}

/// The first `take` ids (with their kind) from the entries of `kind` above
/// `start`, or, with `record`, from the entries about that record.
fn ids_of(
    audit: &impl ReadableTable<(u8, u64, u64), &'static [u8]>,
    kind: RecordKind,
    record: Option<u64>,
    start: u64,
    take: usize,
) -> Result<Vec<(u64, RecordKind)>, StoreError> {
    let code = kind_code(kind);
    let mut ids = Vec::with_capacity(take.min(1024));
    match record {
        None => {
            for row in audit
                .range((code, start, 0)..=(code, u64::MAX, u64::MAX))?
                .take(take)
            {
                ids.push((row?.0.value().1, kind));
            }
        }
        Some(record) => {
            let space = RECORD_SPACE + code;
            for row in audit.range((space, record, start)..=(space, record, u64::MAX))? {
                let (key, flag) = row?;
                // A cast change gives a movie a version, but is not about it.
                if flag.value() == ABOUT {
                    ids.push((key.value().2, kind));
                    if ids.len() == take {
                        break;
                    }
                }
            }
        }
    }
    Ok(ids)
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
            let version = version_in(&txn.open_table(AUDIT)?, RecordKind::Movie, id)?;
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
            let version = version_in(&txn.open_table(AUDIT)?, RecordKind::Actor, id)?;
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
            let audit = txn.open_table(AUDIT)?;
            let start = query.after.map_or(1, |after| after.saturating_add(1));
            let limit = query.limit as usize;
            // One more than the page, to know whether another follows; with
            // no kind given, that many of each kind, merged by id.
            let mut ids = Vec::new();
            for kind in KINDS {
                if query.kind.is_none_or(|k| k == kind) {
                    ids.extend(ids_of(&audit, kind, query.record, start, limit + 1)?);
                }
            }
            ids.sort_unstable_by_key(|(id, _)| *id);
            let more = ids.len() > limit;
            ids.truncate(limit);
            let entries = ids
                .iter()
                .map(|&(id, kind)| {
                    let bytes = audit.get((kind_code(kind), id, 0))?.ok_or_else(|| {
                        StoreError::Corrupt(format!("the audit index names missing entry {id}"))
                    })?;
                    super::entry::decode(id, bytes.value())
                })
                .collect::<Result<Vec<_>, _>>()?;
            let next = if more {
                ids.last().map(|(id, _)| *id)
            } else {
                None
            };
            Ok(AuditPage { entries, next })
        })
    }
}

#[cfg(test)]
mod tests;
