//! Recovery: a panic in redb is a damaged-store error, after which the
//! store reopens and goes on, and a closed store reopens on first use.

use std::sync::Arc;

use super::{actor_names, all_movies, new_actor, new_movie, temp_path};
use crate::backend::StoreError;
use crate::query::ActorQuery;
use crate::store::Store;

/// What redb does on a page it cannot make sense of, short of damaging a
/// file (`tests/damaged_file.rs` does that).
fn panic_in_redb(store: &Store) -> Result<(), StoreError> {
    store.guard(|| panic!("internal error: entered unreachable code"))
}

#[test]
fn a_panic_in_redb_is_a_damaged_store_error() {
    let (_dir, path) = temp_path();
    let store = Store::open(&path).unwrap();
    let error = panic_in_redb(&store).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the store file {} is damaged (redb panicked: internal error: entered unreachable \
             code): restore it from a backup",
            path.display()
        )
    );
}

#[test]
fn after_a_panic_in_redb_the_store_reopens_and_goes_on() {
    let (_dir, path) = temp_path();
    let store = Store::open(&path).unwrap();
    store
        .write(
            &crate::Principal::owner(),
            new_movie("Before", "2001-01-01"),
        )
        .unwrap();
    store.prepare_search().unwrap();
    let generation = store.generation();
    panic_in_redb(&store).unwrap_err();
    // A reopen moves the generation: the suspect handle is gone.
    assert_ne!(store.generation(), generation);
    assert!(store.is_writable());
    store
        .write(
            &crate::Principal::owner(),
            new_actor("Ann", 30, "Female", Some(1)),
        )
        .unwrap();
    store
        .write(&crate::Principal::owner(), new_movie("After", "2002-02-02"))
        .unwrap();
    let titles: Vec<String> = all_movies(&store).into_iter().map(|m| m.title).collect();
    assert_eq!(titles, ["Before", "After"]);
    let found = store.search_actors(&ActorQuery::default()).unwrap();
    assert_eq!(actor_names(found), ["Ann"]);
}

#[test]
fn a_first_search_on_a_closed_store_reopens_it_without_deadlocking() {
    let (_dir, path) = temp_path();
    let store = Arc::new(Store::open(&path).unwrap());
    store
        .write(
            &crate::Principal::owner(),
            new_actor("Ann", 30, "Female", None),
        )
        .unwrap();
    // As a reopen that failed over a second ago leaves it.
    *store.handle.write().unwrap() = crate::store::Handle::Closed;
    *store.last_reopen.lock().unwrap() = None;
    let (done, finished) = std::sync::mpsc::channel();
    let searcher = Arc::clone(&store);
    std::thread::spawn(move || {
        let found = searcher.search_actors(&ActorQuery::default());
        let _ = done.send(found.map(actor_names));
    });
    let found = finished
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the search never returned");
    assert_eq!(found.unwrap(), ["Ann"]);
}
