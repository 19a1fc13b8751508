//! The check of a file before it is installed: redb's own integrity check,
//! then casting's: the schema version, every record, and the relations.

use std::path::Path;

use redb::{Builder, DatabaseError, ReadTransaction, ReadableDatabase, ReadableTable, TableError};

use super::SnapshotInfo;
use super::error::{BackupError, damaged, foreign, guarded, one_line};
use crate::store::Counts;
use crate::store::record::{ActorRecord, MovieRecord};
use crate::store::schema::CURRENT;
use crate::store::tables::{
    ACTORS, CAST, LAST_ACTOR_ID, LAST_MOVIE_ID, META, MOVIES, SCHEMA_VERSION,
};

/// The typed reading of a file's contents.
fn read_contents(txn: &ReadTransaction, path: &Path) -> Result<Counts, BackupError> {
    let open_error = |e: TableError| match e {
        TableError::TableDoesNotExist(name) => foreign(path, format!("it has no {name} table")),
        TableError::TableTypeMismatch { table, .. } => {
            foreign(path, format!("its {table} table is not casting's"))
        }
        e => damaged(path, e),
    };
    let broken = |e: redb::StorageError| damaged(path, e);
    let meta = txn.open_table(META).map_err(open_error)?;
    let version = meta.get(SCHEMA_VERSION).map_err(broken)?.map(|v| v.value());
    match version {
        None | Some(0) => return Err(foreign(path, "it has no schema version")),
        Some(found) if found > CURRENT => {
            return Err(BackupError::NewerSchema {
                path: path.to_owned(),
                found,
                supported: CURRENT,
            });
        }
        Some(_) => {}
    }
    let last = |key: &str| -> Result<u64, BackupError> {
        Ok(meta.get(key).map_err(broken)?.map_or(0, |v| v.value()))
    };
    let (last_movie, last_actor) = (last(LAST_MOVIE_ID)?, last(LAST_ACTOR_ID)?);
    let movies_table = txn.open_table(MOVIES).map_err(open_error)?;
    let actors_table = txn.open_table(ACTORS).map_err(open_error)?;
    let cast_table = txn.open_table(CAST).map_err(open_error)?;

    let mut movies = Vec::new();
    for entry in movies_table.iter().map_err(broken)? {
        let (id, bytes) = entry.map_err(broken)?;
        let id = id.value();
        MovieRecord::decode(bytes.value())
            .map_err(|e| damaged(path, format!("movie {id}: {e}")))?;
        if id == 0 || id > last_movie {
            return Err(damaged(
                path,
                format!("movie {id} is beyond the last id given, {last_movie}"),
            ));
        }
        movies.push(id);
    }
    // From the actors, the cast table as it must be, in its own order.
    let mut cast = Vec::new();
    let mut actors = 0_u64;
    for entry in actors_table.iter().map_err(broken)? {
        let (id, bytes) = entry.map_err(broken)?;
        let id = id.value();
        let actor = ActorRecord::decode(bytes.value())
            .map_err(|e| damaged(path, format!("actor {id}: {e}")))?;
        if id == 0 || id > last_actor {
            return Err(damaged(
                path,
                format!("actor {id} is beyond the last id given, {last_actor}"),
            ));
        }
        if let Some(movie) = actor.movie_id {
            if movies.binary_search(&movie).is_err() {
                return Err(damaged(
                    path,
                    format!("actor {id} is cast in movie {movie}, which does not exist"),
                ));
            }
            cast.push((movie, id));
        }
        actors += 1;
    }
    cast.sort_unstable();
    let mut expected = cast.into_iter();
    for entry in cast_table.iter().map_err(broken)? {
        let (pair, ()) = entry.map(|(k, v)| (k.value(), v.value())).map_err(broken)?;
        if expected.next() != Some(pair) {
            return Err(damaged(
                path,
                format!(
                    "the cast table lists actor {} in movie {} but the actors do not agree",
                    pair.1, pair.0
                ),
            ));
        }
    }
    if let Some((movie, actor)) = expected.next() {
        return Err(damaged(
            path,
            format!("actor {actor} is cast in movie {movie} but the cast table does not list it"),
        ));
    }
    Ok(Counts {
        movies: movies.len() as u64,
        actors,
    })
}

/// Opens `path` for a check; it may be altered by redb's integrity check,
/// so only copies are handed to it.
pub(super) fn check_file(path: &Path) -> Result<SnapshotInfo, BackupError> {
    guarded(path, || {
        // A snapshot is closed cleanly; one that wants a repair was cut
        // short or altered, and is refused rather than repaired.
        let mut db = Builder::new()
            .set_repair_callback(|session| session.abort())
            .open(path)
            .map_err(|e| match e {
                DatabaseError::DatabaseAlreadyOpen => BackupError::Held {
                    path: path.to_owned(),
                },
                DatabaseError::RepairAborted => {
                    damaged(path, "it was not closed cleanly (cut short or altered)")
                }
                DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => {
                    damaged(path, reason)
                }
                DatabaseError::Storage(redb::StorageError::Io(e)) => {
                    foreign(path, format!("it is not a redb database ({})", one_line(e)))
                }
                e => foreign(
                    path,
                    format!("it is not a readable redb database ({})", one_line(e)),
                ),
            })?;
        match db.check_integrity() {
            Ok(true) => {}
            Ok(false) => return Err(damaged(path, "redb found faults in its pages")),
            Err(e) => return Err(damaged(path, e)),
        }
        let txn = db.begin_read().map_err(|e| damaged(path, e))?;
        let counts = read_contents(&txn, path)?;
        drop(txn);
        db.close().map_err(|e| damaged(path, e))?;
        let bytes = std::fs::metadata(path).map_err(|e| damaged(path, e))?.len();
        Ok(SnapshotInfo {
            path: path.to_owned(),
            bytes,
            counts,
        })
    })
}
