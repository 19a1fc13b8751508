//! Snapshots, checks and restores through the public surface: a snapshot
//! taken under a stream of writes is a consistent store holding every write
//! acknowledged before it began; a restore installs only a sound casting
//! store, and never under a process that holds the file.

// The whole crate is a test: a panic is how it reports a failure, helpers
// included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use casting_core::{
    Actor, BackupError, Counts, NewActor, NewMovie, PageRequest, Store, Write, Written,
};
use redb::{Database, ReadableDatabase, TableDefinition, TableHandle};
use tempfile::TempDir;

fn new_movie(n: u64) -> Write {
    Write::CreateMovie(NewMovie {
        title: format!("movie {n}"),
        release: "2010-10-13".parse().unwrap(),
    })
}

fn new_actor(n: u64, movie_id: Option<u64>) -> Write {
    Write::CreateActor(NewActor {
        name: format!("actor {n}"),
        age: (n % 100) as u8,
        gender: "Female".into(),
        movie_id,
    })
}

/// A store with a few movies and actors, some cast, in a fresh directory.
fn populated() -> (TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("casting.redb");
    let store = Store::open(&path).unwrap();
    let writes = (1..=5)
        .map(new_movie)
        .chain((1..=20).map(|n| new_actor(n, (n % 3 != 0).then_some(1 + n % 5))))
        .collect();
    for result in store
        .write_batch(&casting_core::Principal::owner(), writes)
        .unwrap()
    {
        result.unwrap();
    }
    (dir, path, store)
}

fn all_actors(store: &Store) -> Vec<Actor> {
    store.actors(PageRequest::default()).unwrap().items
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_snapshot_taken_under_writes_holds_every_write_acknowledged_before_it_began() {
    let (dir, _path, store) = populated();
    let store = Arc::new(store);
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<Actor>::new()));
    let writer = {
        let (store, stop, acknowledged) = (store.clone(), stop.clone(), acknowledged.clone());
        std::thread::spawn(move || {
            let mut n = 100;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let written = store
                    .write(
                        &casting_core::Principal::owner(),
                        new_actor(n, Some(1 + n % 5)),
                    )
                    .unwrap();
                let Written::Actor(actor) = written else {
                    panic!("a create gave {written:?}")
                };
                acknowledged.lock().unwrap().push(actor);
            }
        })
    };
    // Let the writer get going, so the snapshot starts between commits.
    while acknowledged.lock().unwrap().len() < 20 {
        std::thread::yield_now();
    }
    let before = acknowledged.lock().unwrap().clone();
    let snapshot = dir.path().join("snapshot.redb");
    let info = store.snapshot(&snapshot).unwrap();
    let during = acknowledged.lock().unwrap().len();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        acknowledged.lock().unwrap().len() > before.len(),
        "the writer kept committing while the snapshot was taken"
    );

    assert_eq!(info.path, snapshot);
    assert_eq!(info.bytes, std::fs::metadata(&snapshot).unwrap().len());
    let copy = Store::open(&snapshot).unwrap();
    let actors = all_actors(&copy);
    assert_eq!(
        info.counts,
        Counts {
            movies: 5,
            actors: actors.len() as u64
        }
    );
    for actor in &before {
        assert_eq!(copy.actor(actor.id).unwrap().as_ref(), Some(actor));
    }
    // One transaction's view: the writes form a sequence, so the copy holds
    // a prefix of it, with no gap, and no more than was acknowledged.
    let ids: Vec<u64> = actors.iter().map(|a| a.id).collect();
    let expected: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, expected);
    assert!(ids.len() <= 20 + during + 1, "{} actors", ids.len());
    // Each movie lists exactly the actors that name it.
    for movie in copy.movies(PageRequest::default()).unwrap().items {
        let cast: Vec<u64> = actors
            .iter()
            .filter(|a| a.movie_id == Some(movie.id))
            .map(|a| a.id)
            .collect();
        assert_eq!(movie.actors, cast, "movie {}", movie.id);
    }
    // Ids go on where the snapshot's sequence left off.
    let next = copy
        .write(&casting_core::Principal::owner(), new_actor(0, None))
        .unwrap()
        .into_actor()
        .unwrap();
    assert_eq!(next.id, ids.len() as u64 + 1);
}

#[test]
fn a_snapshot_has_every_table_of_the_store() {
    let (dir, path, store) = populated();
    let snapshot = dir.path().join("snapshot.redb");
    store.snapshot(&snapshot).unwrap();
    drop(store);
    let tables = |path: &Path| -> Vec<String> {
        let db = Database::open(path).unwrap();
        let txn = db.begin_read().unwrap();
        let mut names: Vec<String> = txn
            .list_tables()
            .unwrap()
            .map(|t| t.name().to_owned())
            .collect();
        names.sort();
        names
    };
    let source = tables(&path);
    assert!(source.len() >= 4, "{source:?}");
    assert_eq!(tables(&snapshot), source);
}

#[test]
fn a_snapshot_leaves_no_temporary_file_and_replaces_its_target_whole() {
    let (dir, _path, store) = populated();
    let snapshot = dir.path().join("snapshot.redb");
    std::fs::write(&snapshot, "an older file").unwrap();
    store.snapshot(&snapshot).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["casting.redb", "snapshot.redb"]);
    assert_eq!(Store::check(&snapshot).unwrap().counts.actors, 20);
}

#[test]
fn a_snapshot_into_a_missing_directory_fails_naming_it() {
    let (dir, _path, store) = populated();
    let target = dir.path().join("nowhere").join("snapshot.redb");
    let error = store.snapshot(&target).unwrap_err();
    assert!(matches!(error, BackupError::Write { .. }), "{error:?}");
    assert!(error.to_string().contains("nowhere"), "{error}");
}

#[test]
fn restore_installs_a_snapshot_in_place_of_the_store() {
    let (dir, path, store) = populated();
    let snapshot = dir.path().join("snapshot.redb");
    store.snapshot(&snapshot).unwrap();
    let kept = all_actors(&store);
    store
        .write(&casting_core::Principal::owner(), Write::DeleteActor(1))
        .unwrap();
    store
        .write(&casting_core::Principal::owner(), new_actor(99, None))
        .unwrap();
    drop(store);
    let snapshot_bytes = file_bytes(&snapshot);

    let info = Store::restore(&snapshot, &path).unwrap();
    assert_eq!(info.path, path);
    assert_eq!(
        info.counts,
        Counts {
            movies: 5,
            actors: 20
        }
    );
    assert_eq!(
        file_bytes(&snapshot),
        snapshot_bytes,
        "the snapshot is unchanged"
    );
    let restored = Store::open(&path).unwrap();
    assert_eq!(all_actors(&restored), kept);
}

#[test]
fn restore_creates_a_store_that_did_not_exist() {
    let (dir, _path, store) = populated();
    let snapshot = dir.path().join("snapshot.redb");
    store.snapshot(&snapshot).unwrap();
    let fresh = dir.path().join("fresh.redb");
    Store::restore(&snapshot, &fresh).unwrap();
    assert_eq!(Store::open(&fresh).unwrap().counts().unwrap().actors, 20);
}

#[test]
fn restore_refuses_a_store_that_another_process_holds() {
    let (dir, path, store) = populated();
    let snapshot = dir.path().join("snapshot.redb");
    store.snapshot(&snapshot).unwrap();
    store
        .write(&casting_core::Principal::owner(), new_actor(99, None))
        .unwrap();

    let error = Store::restore(&snapshot, &path).unwrap_err();
    assert!(matches!(error, BackupError::Held { .. }), "{error:?}");
    assert!(error.to_string().contains("casting.redb"), "{error}");
    assert_eq!(store.counts().unwrap().actors, 21, "the store is untouched");
}

#[test]
fn backup_refuses_a_store_that_another_process_holds_and_copies_one_that_none_does() {
    let (dir, path, store) = populated();
    let out = dir.path().join("out.redb");
    let error = Store::backup(&path, &out).unwrap_err();
    assert!(matches!(error, BackupError::Held { .. }), "{error:?}");
    assert!(!out.exists());

    let expected = all_actors(&store);
    drop(store);
    let info = Store::backup(&path, &out).unwrap();
    assert_eq!(
        info.counts,
        Counts {
            movies: 5,
            actors: 20
        }
    );
    assert_eq!(all_actors(&Store::open(&out).unwrap()), expected);
}

#[test]
fn backup_refuses_to_overwrite_a_file_or_to_read_a_missing_store() {
    let (dir, path, store) = populated();
    drop(store);
    let out = dir.path().join("out.redb");
    std::fs::write(&out, "keep me").unwrap();
    let error = Store::backup(&path, &out).unwrap_err();
    assert!(matches!(error, BackupError::Exists { .. }), "{error:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");

    let error = Store::backup(&dir.path().join("none.redb"), &dir.path().join("x")).unwrap_err();
    assert!(matches!(error, BackupError::Missing { .. }), "{error:?}");
}

/// Restores `bad` over a populated store and returns the refusal, having
/// checked that the store was left as it was.
fn refused_restore(bad: &Path, dir: &Path, store_path: &Path) -> BackupError {
    let before = file_bytes(store_path);
    let error = Store::restore(bad, store_path).unwrap_err();
    assert_eq!(file_bytes(store_path), before, "the store is untouched");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let message = error.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    let name = bad.file_name().unwrap().to_string_lossy().into_owned();
    assert!(message.contains(&name), "names the file: {message}");
    error
}

#[test]
fn restore_refuses_a_damaged_snapshot() {
    let (dir, path, store) = populated();
    // Enough records for the data to fill pages of their own.
    let writes = (100..3000).map(|n| new_actor(n, Some(1))).collect();
    store
        .write_batch(&casting_core::Principal::owner(), writes)
        .unwrap();
    let snapshot = dir.path().join("snapshot.redb");
    store.snapshot(&snapshot).unwrap();
    drop(store);
    let mut bytes = file_bytes(&snapshot);
    let middle = bytes.len() / 2;
    bytes[middle..middle + 4096].fill(0xA5);
    std::fs::write(&snapshot, &bytes).unwrap();

    let error = refused_restore(&snapshot, dir.path(), &path);
    assert!(matches!(error, BackupError::Damaged { .. }), "{error:?}");
}

#[test]
fn restore_refuses_a_snapshot_cut_short() {
    let (dir, path, store) = populated();
    let snapshot = dir.path().join("snapshot.redb");
    store.snapshot(&snapshot).unwrap();
    drop(store);
    let bytes = file_bytes(&snapshot);
    std::fs::write(&snapshot, &bytes[..bytes.len() / 3]).unwrap();

    let error = refused_restore(&snapshot, dir.path(), &path);
    assert!(matches!(error, BackupError::Damaged { .. }), "{error:?}");
}

#[test]
fn restore_refuses_a_text_file_as_foreign() {
    let (dir, path, store) = populated();
    drop(store);
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "these are not the movies you are looking for\n".repeat(200),
    )
    .unwrap();
    let error = refused_restore(&text, dir.path(), &path);
    assert!(matches!(error, BackupError::Foreign { .. }), "{error:?}");
}

#[test]
fn restore_refuses_an_empty_file_as_foreign() {
    let (dir, path, store) = populated();
    drop(store);
    let empty = dir.path().join("empty.redb");
    std::fs::write(&empty, "").unwrap();
    let error = refused_restore(&empty, dir.path(), &path);
    assert!(matches!(error, BackupError::Foreign { .. }), "{error:?}");
}

#[test]
fn restore_refuses_a_redb_database_without_the_casting_tables() {
    let (dir, path, store) = populated();
    drop(store);
    let other = dir.path().join("other.redb");
    let db = Database::create(&other).unwrap();
    let txn = db.begin_write().unwrap();
    let table: TableDefinition<u64, u64> = TableDefinition::new("something_else");
    txn.open_table(table).unwrap().insert(1, 2).unwrap();
    txn.commit().unwrap();
    drop(db);

    let error = refused_restore(&other, dir.path(), &path);
    assert!(matches!(error, BackupError::Foreign { .. }), "{error:?}");
    assert!(error.to_string().contains("meta"), "{error}");
}

#[test]
fn restore_refuses_an_empty_redb_database() {
    let (dir, path, store) = populated();
    drop(store);
    let empty = dir.path().join("empty.redb");
    drop(Database::create(&empty).unwrap());
    let error = refused_restore(&empty, dir.path(), &path);
    assert!(matches!(error, BackupError::Foreign { .. }), "{error:?}");
}

/// A snapshot of a populated store, changed behind casting's back by
/// `edit` in one redb transaction, and a refused restore of it over the
/// store.
fn refused_after_editing(edit: impl FnOnce(&redb::WriteTransaction)) -> BackupError {
    let (dir, path, store) = populated();
    let snapshot = dir.path().join("snapshot.redb");
    store.snapshot(&snapshot).unwrap();
    drop(store);
    let db = Database::open(&snapshot).unwrap();
    let txn = db.begin_write().unwrap();
    edit(&txn);
    txn.commit().unwrap();
    drop(db);
    refused_restore(&snapshot, dir.path(), &path)
}

#[test]
fn restore_refuses_a_store_of_a_newer_schema() {
    let error = refused_after_editing(|txn| {
        let meta: TableDefinition<&str, u64> = TableDefinition::new("meta");
        txn.open_table(meta)
            .unwrap()
            .insert("schema_version", 1_000)
            .unwrap();
    });
    assert!(
        matches!(error, BackupError::NewerSchema { found: 1_000, .. }),
        "{error:?}"
    );
}

#[test]
fn restore_refuses_a_store_whose_cast_disagrees_with_its_actors() {
    let error = refused_after_editing(|txn| {
        let cast: TableDefinition<(u64, u64), ()> = TableDefinition::new("cast");
        txn.open_table(cast).unwrap().insert((4, 3), ()).unwrap();
    });
    assert!(matches!(error, BackupError::Damaged { .. }), "{error:?}");
    assert!(error.to_string().contains("cast"), "{error}");
}

#[test]
fn restore_refuses_a_store_whose_actor_names_a_missing_movie() {
    let error = refused_after_editing(|txn| {
        let movies: TableDefinition<u64, &[u8]> = TableDefinition::new("movies");
        txn.open_table(movies).unwrap().remove(2).unwrap();
    });
    assert!(matches!(error, BackupError::Damaged { .. }), "{error:?}");
    assert!(error.to_string().contains("movie 2"), "{error}");
}

#[test]
fn check_accepts_a_snapshot_and_counts_its_records() {
    let (dir, _path, store) = populated();
    let snapshot = dir.path().join("snapshot.redb");
    store.snapshot(&snapshot).unwrap();
    let info = Store::check(&snapshot).unwrap();
    assert_eq!(
        info.counts,
        Counts {
            movies: 5,
            actors: 20
        }
    );
}

#[test]
fn restore_replaces_a_store_file_that_is_past_opening() {
    let (dir, path, store) = populated();
    let snapshot = dir.path().join("snapshot.redb");
    store.snapshot(&snapshot).unwrap();
    drop(store);
    std::fs::write(&path, "overwritten by accident").unwrap();
    assert!(Store::open(&path).is_err());

    Store::restore(&snapshot, &path).unwrap();
    assert_eq!(Store::open(&path).unwrap().counts().unwrap().actors, 20);
}
