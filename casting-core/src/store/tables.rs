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
