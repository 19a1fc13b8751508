//! What a store holds below its public API, read from a snapshot: the id
//! counters of its meta table and the pairs of its cast index. A snapshot
//! is one read transaction copied table by table ([`Store::snapshot`]), so
//! what it shows is one consistent state of the store, taken while the
//! store stays open.
//!
//! The table names and types are the store's file format (schema 2), which
//! the backup tests also read directly.

use std::collections::BTreeSet;
use std::path::Path;

use casting_core::Store;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CAST: TableDefinition<(u64, u64), ()> = TableDefinition::new("cast");

/// The state a snapshot of a store shows below the public API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// `last_movie_id` in the meta table, 0 when absent.
    pub last_movie_id: u64,
    /// `last_actor_id` in the meta table, 0 when absent.
    pub last_actor_id: u64,
    /// Every `(movie id, actor id)` pair of the cast index.
    pub cast: BTreeSet<(u64, u64)>,
}

/// Snapshots `store` into `dir` (as a new file) and reads the snapshot.
pub fn stored(store: &Store, dir: &Path) -> Stored {
    let snapshot = tempfile::Builder::new()
        .prefix("snapshot")
        .tempdir_in(dir)
        .unwrap();
    let path = snapshot.path().join("snapshot.redb");
    store.snapshot(&path).unwrap();
    let db = Database::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    let last = |key: &str| meta.get(key).unwrap().map_or(0, |v| v.value());
    let cast = txn
        .open_table(CAST)
        .unwrap()
        .iter()
        .unwrap()
        .map(|entry| entry.unwrap().0.value())
        .collect();
    Stored {
        last_movie_id: last("last_movie_id"),
        last_actor_id: last("last_actor_id"),
        cast,
    }
}
