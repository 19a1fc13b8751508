//! The audit log: who changed which record, when, and from what to what;
//! and the versions that let a write be conditional on a record being
//! unchanged.
//!
//! Every acknowledged write appends its entries in the same transaction as
//! the write itself, so the log and the records never disagree, even after
//! a crash. Entry ids count up in commit order. A record's version is the
//! id of the last entry that changed it (for a movie, its cast too), so it
//! is never given twice, even when a record returns to an earlier state.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{Actor, Movie, RecordKind};

/// The most entries one page of the audit log holds.
pub const MAX_AUDIT_LIMIT: u32 = 1000;
/// The entries a page holds when the request names no limit.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;

/// What a write did to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditAction {
    /// The record was created; the entry has no `before`.
    Create,
    /// The record was changed.
    Update,
    /// The record was deleted; the entry has no `after`.
    Delete,
}

/// A record as an audit entry shows it, before or after a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AuditRecord {
    /// A movie, with its cast at that moment.
    Movie(Movie),
    /// An actor.
    Actor(Actor),
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Positive, ascending in commit order, never reused.
    pub id: u64,
    /// When the write was committed, to the second, in UTC.
    #[serde(serialize_with = "write_seconds", deserialize_with = "read_seconds")]
    pub at: Timestamp,
    /// The subject of the token the write was made with, if it had one.
    pub sub: Option<String>,
    /// What the write did to the record.
    pub action: AuditAction,
    /// The kind of the record.
    pub kind: RecordKind,
    /// The record's id.
    pub record: u64,
    /// The record before the write; `None` for a create.
    pub before: Option<AuditRecord>,
    /// The record after the write; `None` for a delete.
    pub after: Option<AuditRecord>,
}

/// Writes `at` as RFC 3339 in UTC, whole seconds: `2026-12-02T10:00:00Z`.
fn write_seconds<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    // Whole seconds display without a fraction; a timestamp from a second
    // count is always whole.
    let whole = Timestamp::from_second(at.as_second()).unwrap_or(*at);
    serializer.collect_str(&whole)
}

fn read_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// Which entries of the audit log to read: those above `after`, at most
/// `limit`, of the given kind and record when those are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries with an id above this one.
    pub after: Option<u64>,
    /// At most this many entries, from 1 to [`MAX_AUDIT_LIMIT`].
    pub limit: u32,
    /// Only entries about records of this kind.
    pub kind: Option<RecordKind>,
    /// Only entries about the record with this id.
    pub record: Option<u64>,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            after: None,
            limit: DEFAULT_AUDIT_LIMIT,
            kind: None,
            record: None,
        }
    }
}

/// One page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditPage {
    /// The entries, ascending by id.
    pub entries: Vec<AuditEntry>,
    /// The `after` of the next page, or `None` on the last page.
    pub next: Option<u64>,
}

/// A record with its current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The record.
    pub record: T,
    /// Its version: the id of the last audit entry that changed it (for a
    /// movie, its cast too), or 0 when nothing has changed it since before
    /// the store kept an audit log.
    pub version: u64,
}

/// The condition a write is made on: the record's current version must be
/// one of these. A record that does not exist is not found, whatever the
/// condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// Any version: the record must only exist.
    Any,
    /// One of these versions; an empty list admits none.
    OneOf(Vec<u64>),
}

impl Precondition {
    /// Whether a record at `version` meets the condition.
    pub fn admits(&self, version: u64) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::OneOf(versions) => versions.contains(&version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry() -> AuditEntry {
        AuditEntry {
            id: 7,
            at: "2026-12-02T10:00:00.75Z".parse().unwrap(),
            sub: Some("auth0|abc".into()),
            action: AuditAction::Update,
            kind: RecordKind::Actor,
            record: 3,
            before: Some(AuditRecord::Actor(Actor {
                id: 3,
                name: "A".into(),
                age: 40,
                gender: "Female".into(),
                movie_id: None,
            })),
            after: None,
        }
    }

    #[test]
    fn an_entry_is_written_in_the_contract_shape_with_whole_seconds() {
        let value = serde_json::to_value(entry()).unwrap();
        assert_eq!(
            value,
            json!({"id": 7, "at": "2026-12-02T10:00:00Z", "sub": "auth0|abc", "action": "update",
                   "kind": "actor", "record": 3,
                   "before": {"id": 3, "name": "A", "age": 40, "gender": "Female", "movie_id": null},
                   "after": null})
        );
    }

    #[test]
    fn an_entry_reads_back_as_written() {
        let mut original = entry();
        original.at = Timestamp::from_second(original.at.as_second()).unwrap();
        let text = serde_json::to_string(&original).unwrap();
        assert_eq!(serde_json::from_str::<AuditEntry>(&text).unwrap(), original);
    }

    #[test]
    fn a_movie_record_reads_back_as_a_movie() {
        let movie = json!({"id": 1, "title": "U", "release_date": "Wed, 13 Oct 2010 00:00:00 GMT", "actors": [2]});
        assert!(matches!(
            serde_json::from_value::<AuditRecord>(movie).unwrap(),
            AuditRecord::Movie(_)
        ));
    }

    #[test]
    fn an_empty_list_of_versions_admits_none() {
        assert!(!Precondition::OneOf(vec![]).admits(0));
        assert!(Precondition::OneOf(vec![3, 5]).admits(5));
        assert!(!Precondition::OneOf(vec![3, 5]).admits(4));
        assert!(Precondition::Any.admits(0));
    }
}
