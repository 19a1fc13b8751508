//! Every table of the store, in one place.

use redb::TableDefinition;

/// Movie id to its [`MovieRecord`](super::record::MovieRecord) bytes.
pub(crate) const MOVIES: TableDefinition<u64, &[u8]> = TableDefinition::new("movies");

/// Actor id to its [`ActorRecord`](super::record::ActorRecord) bytes.
pub(crate) const ACTORS: TableDefinition<u64, &[u8]> = TableDefinition::new("actors");

/// `(movie id, actor id)` for every actor cast in a movie: a movie's actor
/// list is one range read, in ascending actor order. Written in the same
/// transaction as the actor, so it always agrees with `movie_id`.
pub(crate) const CAST: TableDefinition<(u64, u64), ()> = TableDefinition::new("cast");

/// Named counters: the schema version and the last id each sequence gave.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The key of the schema version in [`META`].
pub(crate) const SCHEMA_VERSION: &str = "schema_version";
/// The key of the last movie id given, in [`META`].
pub(crate) const LAST_MOVIE_ID: &str = "last_movie_id";
/// The key of the last actor id given, in [`META`].
pub(crate) const LAST_ACTOR_ID: &str = "last_actor_id";

/// Audit entry id to the entry, as JSON: entries are read a page at a time
/// and never searched, so a compact layout would buy nothing.
pub(crate) const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

/// `(kind, entry id)` for every entry: the entries about one kind are one
/// range read, in ascending order, however long the log grows.
pub(crate) const AUDIT_BY_KIND: TableDefinition<(u8, u64), ()> =
    TableDefinition::new("audit_by_kind");

/// `(record id, entry id)` to the record's kind, for every entry: the
/// entries about one record are one range read. The kind is the value, not
/// part of the key, so a filter on the record alone is also one range.
pub(crate) const AUDIT_BY_RECORD: TableDefinition<(u64, u64), u8> =
    TableDefinition::new("audit_by_record");

/// `(kind, record id)` to the record's version: the id of the last audit
/// entry that changed it. A record missing here has not changed since the
/// store began its audit log, and is at version 0.
pub(crate) const VERSIONS: TableDefinition<(u8, u64), u64> = TableDefinition::new("versions");

/// The key of the last audit entry id given, in [`META`].
pub(crate) const LAST_AUDIT_ID: &str = "last_audit_id";
