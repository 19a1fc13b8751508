//! The schema guard: a new store records its version, and a store of a
//! newer build is refused untouched.

use std::collections::BTreeSet;
use std::path::Path;

use redb::{Database, ReadableDatabase, TableHandle};

use super::{last_id, temp_path};
use crate::backend::StoreError;
use crate::store::Store;
use crate::store::schema::CURRENT;
use crate::store::tables::{META, SCHEMA_VERSION};

#[test]
fn a_new_store_records_the_current_schema_version() {
    let (_dir, path) = temp_path();
    let store = Store::open(&path).unwrap();
    assert_eq!(last_id(&store, SCHEMA_VERSION), CURRENT);
}

/// The names of the tables in the file at `path`, with the schema version.
fn file_state(path: &Path) -> (BTreeSet<String>, Option<u64>) {
    let db = Database::create(path).unwrap();
    let txn = db.begin_read().unwrap();
    let tables = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_owned())
        .collect();
    let version = txn
        .open_table(META)
        .unwrap()
        .get(SCHEMA_VERSION)
        .unwrap()
        .map(|v| v.value());
    (tables, version)
}

#[test]
fn a_store_from_a_newer_build_is_refused_and_left_untouched() {
    let (_dir, path) = temp_path();
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(SCHEMA_VERSION, CURRENT + 1)
            .unwrap();
        txn.commit().unwrap();
    }
    let before = file_state(&path);

    let refused = Store::open(&path);
    assert!(
        matches!(
            refused,
            Err(StoreError::NewerSchema { found, supported })
                if found == CURRENT + 1 && supported == CURRENT
        ),
        "{refused:?}"
    );

    let after = file_state(&path);
    assert_eq!(after, before);
    assert_eq!(
        after,
        (BTreeSet::from(["meta".to_owned()]), Some(CURRENT + 1))
    );
}
