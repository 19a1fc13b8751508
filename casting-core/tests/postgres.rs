//! The PostgreSQL backend against a real server (`CASTING_TEST_POSTGRES`,
//! an admin URL; see `casting_testkit::postgres`): its own rules (schema, ids
//! in commit order across processes, conditions under races, outages,
//! secrets), and, above all, the same answers as the redb store to the
//! same operations.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use casting_testkit::postgres as support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use casting_core::{
    ActorPatch, ActorQuery, Agency, AuditEntry, AuditQuery, Backend, CheckedWrite, Committed,
    Error, Item, MoviePatch, MovieQuery, NewActor, NewMovie, PageRequest, PgStore, Precondition,
    Principal, RecordKind, ReleaseDate, Role, Store, StoreError, Write, Written,
};
use support::TestDb;

const TIMEOUT: Duration = Duration::from_secs(10);

fn producer() -> Principal {
    Principal::with_role("ada", Role::Producer)
}

fn connect(db: &TestDb) -> PgStore {
    PgStore::connect(&db.url, TIMEOUT).unwrap()
}

fn date(s: &str) -> ReleaseDate {
    s.parse().unwrap()
}

fn checked(write: Write) -> CheckedWrite {
    Agency::check_write(&producer(), write).unwrap()
}

fn new_movie(title: &str) -> Write {
    Write::CreateMovie(NewMovie {
        title: title.into(),
        release: date("2010-10-13"),
    })
}

fn new_actor(name: &str, gender: &str, movie_id: Option<u64>) -> Write {
    Write::CreateActor(NewActor {
        name: name.into(),
        age: 40,
        gender: gender.into(),
        movie_id,
    })
}

fn commit_one(store: &dyn Backend, write: Write) -> Result<Committed, Error> {
    store.commit(vec![checked(write)]).unwrap().pop().unwrap()
}

/// Every audit entry, read a page at a time.
fn log(store: &dyn Backend) -> Vec<AuditEntry> {
    let mut query = AuditQuery {
        limit: 7,
        ..AuditQuery::default()
    };
    let mut entries = Vec::new();
    loop {
        let page = store.audit(&query).unwrap();
        entries.extend(page.entries);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return entries,
        }
    }
}

fn redb_store() -> (tempfile::TempDir, Store) {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let store = Store::open(dir.path().join("casting.redb")).unwrap();
    (dir, store)
}

#[test]
fn three_processes_starting_at_once_on_an_empty_database_all_succeed() {
    let Some(db) = TestDb::create() else { return };
    let barrier = Arc::new(Barrier::new(3));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (url, barrier) = (db.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PgStore::connect(&url, TIMEOUT).map(|store| store.counts().unwrap())
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap().unwrap(), Default::default());
    }
}

#[test]
fn a_database_with_a_newer_schema_is_refused() {
    let Some(db) = TestDb::create() else { return };
    drop(connect(&db));
    support::execute(&db.url, "UPDATE casting_schema SET version = 99");
    match PgStore::connect(&db.url, TIMEOUT) {
        Err(StoreError::NewerSchema { found, supported }) => {
            assert_eq!((found, supported), (99, 1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_trigram_extension_that_cannot_be_created_is_named() {
    let Some(db) = TestDb::create() else { return };
    // A role that may connect but create nothing there.
    let role = format!("{}_r", db.name);
    support::execute(&db.url, &format!("CREATE ROLE {role} LOGIN"));
    let url = db.url.replacen("://postgres@", &format!("://{role}@"), 1);
    assert_ne!(url, db.url);
    let refused = PgStore::connect(&url, Duration::from_secs(2)).unwrap_err();
    support::execute(&db.url, &format!("DROP ROLE {role}"));
    let message = refused.to_string();
    assert!(message.contains("pg_trgm"), "{message}");
    assert!(message.contains("CREATE EXTENSION"), "{message}");
}

#[test]
fn ids_are_given_in_commit_order_by_concurrent_processes() {
    let Some(db) = TestDb::create() else { return };
    let stores: Vec<Arc<PgStore>> = (0..4).map(|_| Arc::new(connect(&db))).collect();
    commit_one(&*stores[0], new_movie("Seed")).unwrap();
    let threads: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(n, store)| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let batch = vec![
                        checked(new_movie(&format!("M{n}-{i}"))),
                        checked(new_actor(&format!("A{n}-{i}"), "F", Some(1))),
                    ];
                    for result in store.commit(batch).unwrap() {
                        result.unwrap();
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let entries = log(&*stores[1]);
    let ids: Vec<u64> = entries.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=201).collect::<Vec<_>>(), "no gap, no duplicate");
    for kind in [RecordKind::Movie, RecordKind::Actor] {
        let records: Vec<u64> = entries
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.record)
            .collect();
        let mut sorted = records.clone();
        sorted.sort_unstable();
        assert_eq!(records, sorted, "{kind} ids ascend with their entries");
        sorted.dedup();
        assert_eq!(sorted.len(), records.len());
    }
    let movie = stores[2].movie_versioned(1).unwrap().unwrap();
    assert_eq!(movie.record.actors.len(), 100);
    assert_eq!(
        movie.version, 201,
        "the last actor cast in it set its version"
    );
    assert_eq!(stores[3].counts().unwrap().actors, 100);
}

#[test]
fn a_refused_write_does_not_fail_its_batch() {
    let Some(db) = TestDb::create() else { return };
    let store = connect(&db);
    let (_dir, redb) = redb_store();
    let batch = || {
        vec![
            checked(new_movie("Up")),
            checked(Write::UpdateMovie(
                9,
                MoviePatch {
                    title: Some("X".into()),
                    release: None,
                },
            )),
            checked(new_actor("Ann", "F", Some(99))),
            checked(Write::DeleteMovie(1)).if_match(Precondition::OneOf(vec![7])),
            checked(new_actor("Bob", "M", Some(1))),
        ]
    };
    let results = store.commit(batch()).unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(Error::NotFound { id: 9, .. })));
    assert!(matches!(&results[2], Err(Error::Invalid(f)) if f.field == "movie_id"));
    assert!(matches!(
        results[3],
        Err(Error::PreconditionFailed { id: 1, .. })
    ));
    assert_eq!(results[4].as_ref().unwrap().entry, 2);
    let expected = redb.commit(batch()).unwrap();
    assert_eq!(normalize(&results), normalize(&expected));
    assert_eq!(strip(log(&store)), strip(log(&redb)));
}

#[test]
fn of_two_writes_conditional_on_one_version_exactly_one_wins() {
    let Some(db) = TestDb::create() else { return };
    let stores = [Arc::new(connect(&db)), Arc::new(connect(&db))];
    commit_one(&*stores[0], new_movie("Up")).unwrap();
    for round in 0..10 {
        let version = stores[0].movie_versioned(1).unwrap().unwrap().version;
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(n, store)| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let write = checked(Write::UpdateMovie(
                        1,
                        MoviePatch {
                            title: Some(format!("R{round}-{n}")),
                            release: None,
                        },
                    ))
                    .if_match(Precondition::OneOf(vec![version]));
                    barrier.wait();
                    store.commit(vec![write]).unwrap().pop().unwrap()
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        let lost = results
            .iter()
            .filter(|r| matches!(r, Err(Error::PreconditionFailed { .. })))
            .count();
        assert_eq!((won, lost), (1, 1), "{results:?}");
    }
}

#[test]
fn deleting_a_movie_detaches_its_actors_with_an_entry_each() {
    let Some(db) = TestDb::create() else { return };
    let store = connect(&db);
    let (_dir, redb) = redb_store();
    for backend in [&store as &dyn Backend, &redb] {
        commit_one(backend, new_movie("Up")).unwrap();
        for name in ["C", "A", "B"] {
            commit_one(backend, new_actor(name, "F", Some(1))).unwrap();
        }
        commit_one(backend, new_actor("Other", "F", None)).unwrap();
        let deleted = commit_one(backend, Write::DeleteMovie(1)).unwrap();
        assert_eq!(deleted.entry, 6);
    }
    let entries = log(&store);
    assert_eq!(strip(entries.clone()), strip(log(&redb)));
    let detached: Vec<u64> = entries[6..].iter().map(|e| e.record).collect();
    assert_eq!(detached, [1, 2, 3]);
    let actor = store.actor_versioned(2).unwrap().unwrap();
    assert_eq!((actor.record.movie_id, actor.version), (None, 8));
    assert_eq!(store.counts().unwrap().movies, 0);
}

#[test]
fn searches_fold_case_as_rust_does_and_match_wildcards_literally() {
    let Some(db) = TestDb::create() else { return };
    let store = connect(&db);
    let (_dir, redb) = redb_store();
    let names = [
        "İstanbul",
        "istanbul",
        "ΣΊΣΥΦΟΣ",
        "σίσυφος",
        "Straße",
        "STRASSE",
        "100% Pure",
        "under_score",
        "back\\slash",
        "plain",
        "i̇x",
    ];
    let genders = ["İ", "i̇", "Σ", "σ", "ς", "ß", "SS", "Male"];
    for backend in [&store as &dyn Backend, &redb] {
        for (n, name) in names.iter().enumerate() {
            commit_one(backend, new_movie(name)).unwrap();
            commit_one(backend, new_actor(name, genders[n % genders.len()], None)).unwrap();
        }
    }
    let queries = [
        "İ", "i̇", "i", "I", "Σ", "σ", "ς", "ß", "SS", "ss", "%", "_", "\\", "0%", "r_s", "e_s",
        "k\\s", "", "straße", "STRASSE", "ΣΟΣ",
    ];
    for q in queries {
        let query = MovieQuery {
            q: Some(q.into()),
            ..MovieQuery::default()
        };
        assert_eq!(
            store.search_movies(&query).unwrap(),
            redb.search_movies(&query).unwrap(),
            "movies {q:?}"
        );
        let query = ActorQuery {
            q: Some(q.into()),
            ..ActorQuery::default()
        };
        assert_eq!(
            store.search_actors(&query).unwrap(),
            redb.search_actors(&query).unwrap(),
            "actors {q:?}"
        );
        let query = ActorQuery {
            gender: Some(q.into()),
            ..ActorQuery::default()
        };
        assert_eq!(
            store.search_actors(&query).unwrap(),
            redb.search_actors(&query).unwrap(),
            "gender {q:?}"
        );
    }
    let percent = MovieQuery {
        q: Some("%".into()),
        ..MovieQuery::default()
    };
    assert_eq!(store.search_movies(&percent).unwrap().total, 1);
}

/// Every item of `store`'s export.
fn export(store: &dyn Backend) -> Vec<Item> {
    let mut items = Vec::new();
    store
        .export(&mut |item| {
            items.push(item);
            Ok(())
        })
        .unwrap();
    items
}

/// A store with a bit of everything: casts, moves, deletes, a detach.
fn fill(store: &dyn Backend) {
    for title in ["A", "B", "C"] {
        commit_one(store, new_movie(title)).unwrap();
    }
    for (name, movie) in [("a", Some(1)), ("b", Some(2)), ("c", None), ("d", Some(2))] {
        commit_one(store, new_actor(name, "F", movie)).unwrap();
    }
    let moved = ActorPatch {
        movie_id: Some(Some(3)),
        ..ActorPatch::default()
    };
    commit_one(store, Write::UpdateActor(1, moved)).unwrap();
    commit_one(store, Write::DeleteActor(3)).unwrap();
    commit_one(store, Write::DeleteMovie(2)).unwrap();
    commit_one(store, new_movie("D")).unwrap();
}

/// Every record with its version.
fn versions(store: &dyn Backend) -> Vec<(u64, u64)> {
    let mut all = Vec::new();
    for id in 0..12 {
        if let Some(movie) = store.movie_versioned(id).unwrap() {
            all.push((id, movie.version));
        }
        if let Some(actor) = store.actor_versioned(id).unwrap() {
            all.push((100 + id, actor.version));
        }
    }
    all
}

#[test]
fn a_copy_keeps_every_item_and_version_from_postgres_to_postgres_and_through_redb() {
    let Some(db) = TestDb::create() else { return };
    let Some(other) = TestDb::create() else {
        return;
    };
    let source = connect(&db);
    fill(&source);
    let items = export(&source);
    assert_eq!(items.len(), 3 + 3 + 13);
    let target = connect(&other);
    let counts = target
        .import(&mut items.clone().into_iter().map(Ok), false)
        .unwrap();
    assert_eq!((counts.movies, counts.actors), (3, 3));
    assert_eq!(export(&target), items);
    assert_eq!(versions(&target), versions(&source));
    // Without leave to replace, a store that holds anything is refused.
    match target.import(&mut items.clone().into_iter().map(Ok), false) {
        Err(StoreError::NotEmpty {
            movies,
            actors,
            entries,
        }) => assert_eq!((movies, actors, entries), (3, 3, 13)),
        other => panic!("{other:?}"),
    }
    // The sequences go on after the imported ids.
    let created = commit_one(&target, new_movie("E")).unwrap();
    assert_eq!(
        (created.entry, created.written.into_movie().unwrap().id),
        (14, 5)
    );

    // redb → PostgreSQL → redb.
    let (_dir, redb) = redb_store();
    fill(&redb);
    let from_redb = export(&redb);
    target
        .import(&mut from_redb.clone().into_iter().map(Ok), true)
        .unwrap();
    assert_eq!(versions(&target), versions(&redb));
    let (_dir2, back) = redb_store();
    back.import(&mut export(&target).into_iter().map(Ok), false)
        .unwrap();
    let strip_items = |items: Vec<Item>| -> Vec<Item> {
        items
            .into_iter()
            .map(|item| match item {
                Item::Audit(mut e) => {
                    e.at = jiff::Timestamp::UNIX_EPOCH;
                    Item::Audit(e)
                }
                other => other,
            })
            .collect()
    };
    assert_eq!(export(&back), from_redb);
    assert_eq!(strip_items(export(&target)), strip_items(from_redb));
    assert_eq!(versions(&back), versions(&redb));
}

#[test]
fn an_import_that_does_not_hold_together_leaves_nothing() {
    let Some(db) = TestDb::create() else { return };
    let store = connect(&db);
    let (_dir, redb) = redb_store();
    fill(&redb);
    let mut items = export(&redb);
    // An actor cast in a movie that does not come before it.
    items.retain(|item| !matches!(item, Item::Movie(m) if m.id == 3));
    let refused = store.import(&mut items.into_iter().map(Ok), false);
    assert!(matches!(refused, Err(StoreError::Import(_))), "{refused:?}");
    assert_eq!(export(&store), []);
    // A replace that fails keeps what was there.
    let items = export(&redb);
    store
        .import(&mut items.clone().into_iter().map(Ok), false)
        .unwrap();
    let mut failing = items
        .clone()
        .into_iter()
        .map(Ok)
        .take(5)
        .collect::<Vec<_>>();
    failing.push(Err(StoreError::Import("stop".into())));
    let refused = store.import(&mut failing.into_iter(), true);
    assert!(
        matches!(&refused, Err(StoreError::Import(m)) if m == "stop"),
        "{refused:?}"
    );
    assert_eq!(export(&store), items);
}

#[test]
fn the_password_never_shows() {
    assert_eq!(
        casting_core::redact_password(
            "postgres://app:s3cret@db.example:5432/casting?sslmode=require"
        ),
        "postgres://app:***@db.example:5432/casting?sslmode=require"
    );
    assert_eq!(
        casting_core::redact_password("postgresql://app:p@ss/word@db/casting"),
        "postgresql://app:***@db/casting"
    );
    assert_eq!(
        casting_core::redact_password("postgres://db/casting?user=app&password=s3cret"),
        "postgres://db/casting?user=app&password=***"
    );
    assert_eq!(
        casting_core::redact_password("postgres://app@db/casting"),
        "postgres://app@db/casting"
    );
    let error = PgStore::connect(
        "postgres://app:s3cret@127.0.0.1:1/casting",
        Duration::from_millis(300),
    )
    .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("s3cret"));
    let Some(db) = TestDb::create() else { return };
    // The test cluster trusts local connections, so any password works.
    let url = db.url.replacen("://postgres@", "://postgres:s3cret@", 1);
    assert_ne!(url, db.url);
    let store = PgStore::connect(&url, TIMEOUT).unwrap();
    let shown = format!("{store:?}");
    assert!(
        !shown.contains("s3cret") && shown.contains(&db.name),
        "{shown}"
    );
}

#[test]
fn an_unreachable_server_is_unavailable_after_the_connect_timeout() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let result = PgStore::connect(
        &format!("postgres://postgres:pw@127.0.0.1:{port}/casting?sslmode=disable"),
        Duration::from_secs(1),
    );
    let waited = started.elapsed();
    match result {
        Err(error @ StoreError::Unavailable(_)) => assert!(error.is_unavailable()),
        other => panic!("{other:?}"),
    }
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn tls_verifies_against_the_named_ca_and_prefer_encrypts_without_verifying() {
    let Some(db) = TestDb::create() else { return };
    let Some(ca) = support::required("CASTING_TEST_POSTGRES_CA") else {
        return;
    };
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let with = |params: &str| format!("{}{sep}{params}", db.url);
    // The cluster's certificate is of a private CA, which Mozilla's roots
    // do not vouch for: `require` refuses it rather than trust it blindly.
    match PgStore::connect(&with("sslmode=require"), Duration::from_millis(500)) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("{other:?}"),
    }
    for params in [
        format!("sslmode=require&sslrootcert={ca}"),
        format!("sslmode=verify-full&sslrootcert={ca}"),
        "sslmode=prefer".to_owned(),
    ] {
        let store =
            PgStore::connect(&with(&params), TIMEOUT).unwrap_or_else(|e| panic!("{params}: {e}"));
        store.ready().unwrap();
        assert!(
            db.encrypted_sessions() > 0,
            "{params}: the store's sessions are encrypted"
        );
        drop(store);
    }
    let plain = PgStore::connect(&with("sslmode=disable"), TIMEOUT).unwrap();
    plain.ready().unwrap();
    // A file that holds no CA is refused by name.
    match PgStore::connect(&with("sslmode=require&sslrootcert=/dev/null"), TIMEOUT) {
        Err(error) => assert!(error.to_string().contains("/dev/null"), "{error}"),
        Ok(_) => panic!("a CA file without a certificate was accepted"),
    }
}

#[test]
fn an_export_stops_at_the_first_error_of_its_consumer() {
    let Some(db) = TestDb::create() else { return };
    let store = connect(&db);
    for i in 0..2500 {
        if i % 500 == 0 {
            let batch = (0..500)
                .map(|j| checked(new_movie(&format!("M{}", i + j))))
                .collect();
            store.commit(batch).unwrap();
        }
    }
    let mut seen = 0;
    let stopped = store.export(&mut |_| {
        seen += 1;
        if seen == 1200 {
            Err(StoreError::Import("enough".into()))
        } else {
            Ok(())
        }
    });
    assert!(matches!(stopped, Err(StoreError::Import(m)) if m == "enough"));
    assert_eq!(seen, 1200);
    // The snapshot's connection went back, or away: the store goes on.
    assert_eq!(export(&store).len(), 2500 + 2500);
    assert_eq!(store.counts().unwrap().movies, 2500);
}

#[test]
fn a_live_store_recovers_after_its_connections_are_terminated() {
    let Some(db) = TestDb::create() else { return };
    let store = connect(&db);
    commit_one(&store, new_movie("Up")).unwrap();
    store.counts().unwrap();
    db.terminate_sessions();
    // The first operation may meet a dead connection; the next succeeds.
    match store.movies(PageRequest::default()) {
        Ok(page) => assert_eq!(page.total, 1),
        Err(e) => assert!(e.is_unavailable(), "{e:?}"),
    }
    assert_eq!(store.movies(PageRequest::default()).unwrap().total, 1);
    db.terminate_sessions();
    match store.commit(vec![checked(new_movie("Down"))]) {
        Ok(results) => assert!(results[0].is_ok()),
        Err(e) => assert!(e.is_unavailable(), "{e:?}"),
    }
    commit_one(&store, new_movie("Again")).unwrap();
    store.ready().unwrap();
}

#[test]
fn a_connection_lost_during_the_commit_is_never_reported_as_success() {
    let Some(db) = TestDb::create() else { return };
    let direct = connect(&db);
    let cutter = support::CommitCutter::start(db.address());
    let url = format!("{}?sslmode=disable", db.url_through(cutter.port));
    let store = PgStore::connect(&url, TIMEOUT).unwrap();
    commit_one(&store, new_movie("Before")).unwrap();
    // The server gets the COMMIT and commits; the client hears nothing.
    cutter.arm(support::AFTER);
    let cut = store.commit(vec![checked(new_movie("Committed"))]);
    assert!(matches!(cut, Err(StoreError::CommitUncertain)), "{cut:?}");
    assert_eq!(direct.counts().unwrap().movies, 2, "it did commit");
    // The COMMIT never reaches the server: it rolls back.
    cutter.arm(support::BEFORE);
    let cut = store.commit(vec![checked(new_movie("Lost"))]);
    assert!(matches!(cut, Err(StoreError::CommitUncertain)), "{cut:?}");
    assert_eq!(direct.counts().unwrap().movies, 2, "it did not");
    // The store goes on, with the ids the sequences give next.
    let next = commit_one(&store, new_movie("After")).unwrap();
    assert_eq!(next.written.into_movie().unwrap().id, 3);
}

#[test]
fn the_store_works_and_drops_inside_another_runtime() {
    let Some(db) = TestDb::create() else { return };
    let store = connect(&db);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        commit_one(&store, new_movie("Up")).unwrap();
        assert_eq!(store.counts().unwrap().movies, 1);
        drop(store);
    });
}

#[test]
fn racing_processes_agree_on_one_setting() {
    let Some(db) = TestDb::create() else { return };
    let stores: Vec<Arc<PgStore>> = (0..3).map(|_| Arc::new(connect(&db))).collect();
    assert_eq!(stores[0].setting("dev_key").unwrap(), None);
    let barrier = Arc::new(Barrier::new(3));
    let threads: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(n, store)| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store
                    .put_setting_once("dev_key", &format!("key {n}"))
                    .unwrap()
            })
        })
        .collect();
    let values: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
    assert_eq!(
        stores[1].setting("dev_key").unwrap(),
        Some(values[0].clone())
    );
}

#[test]
fn no_text_field_may_contain_u0000() {
    let actor = NewActor {
        name: "A\0".into(),
        age: 3,
        gender: "F".into(),
        movie_id: None,
    };
    assert_eq!(actor.validate().unwrap_err().field, "name");
    let movie = NewMovie {
        title: "\0T".into(),
        release: date("2010-10-13"),
    };
    assert_eq!(movie.validate().unwrap_err().field, "title");
}

/// The time of a commit of one write and of a batch of 64, printed (run
/// with `--nocapture`): a measurement, not a check.
#[test]
fn commit_timings() {
    let Some(db) = TestDb::create() else { return };
    let store = connect(&db);
    commit_one(&store, new_movie("Warm")).unwrap();
    let rounds = 200;
    let started = Instant::now();
    for i in 0..rounds {
        commit_one(&store, new_actor(&format!("A{i}"), "F", Some(1))).unwrap();
    }
    let one = started.elapsed() / rounds;
    let started = Instant::now();
    for _ in 0..rounds {
        store.ready().unwrap();
    }
    let ping = started.elapsed() / rounds;
    let started = Instant::now();
    for _ in 0..rounds {
        commit_one(&store, new_movie("M")).unwrap();
    }
    let movie = started.elapsed() / rounds;
    let started = Instant::now();
    for round in 0..20 {
        let batch = (0..64)
            .map(|i| checked(new_actor(&format!("B{round}-{i}"), "F", Some(1))))
            .collect();
        store.commit(batch).unwrap();
    }
    let batch = started.elapsed() / 20;
    eprintln!(
        "commit of one write: {one:?} (an actor cast in a movie), {movie:?} (a movie); \
         of a batch of 64 actors: {batch:?}; a `SELECT 1`: {ping:?}"
    );
}

// --- The differential test -------------------------------------------

/// A result both stores can give, errors by what they say.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok(Written, u64),
    NotFound(RecordKind, u64),
    Failed(RecordKind, u64),
    Invalid(String, String),
}

fn normalize(results: &[Result<Committed, Error>]) -> Vec<Outcome> {
    results
        .iter()
        .map(|result| match result {
            Ok(c) => Outcome::Ok(c.written.clone(), c.entry),
            Err(Error::NotFound { kind, id }) => Outcome::NotFound(*kind, *id),
            Err(Error::PreconditionFailed { kind, id }) => Outcome::Failed(*kind, *id),
            Err(Error::Invalid(f)) => Outcome::Invalid(f.field.to_string(), f.reason.to_string()),
            Err(other) => panic!("a store failed: {other}"),
        })
        .collect()
}

/// Entries without their time, which each store stamps on its own.
fn strip(entries: Vec<AuditEntry>) -> Vec<AuditEntry> {
    entries
        .into_iter()
        .map(|mut e| {
            e.at = jiff::Timestamp::UNIX_EPOCH;
            e
        })
        .collect()
}

/// xorshift64*: a seeded generator, so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn id(&mut self) -> u64 {
        self.below(12)
    }

    fn text(&mut self) -> String {
        const ALPHABET: [&str; 14] = [
            "a", "B", "İ", "i", "Σ", "σ", "ς", "ß", "S", "%", "_", "\\", " ", "x",
        ];
        let len = 1 + self.below(5);
        let mut text: String = (0..len).map(|_| *self.pick(&ALPHABET)).collect();
        if text.trim().is_empty() {
            text.push('a');
        }
        text
    }

    fn query(&mut self) -> Option<String> {
        const ALPHABET: [&str; 12] = ["a", "İ", "i̇", "i", "Σ", "σ", "ß", "ss", "%", "_", "\\", "B"];
        self.chance(70).then(|| {
            let len = self.below(3);
            (0..len).map(|_| *self.pick(&ALPHABET)).collect()
        })
    }

    fn gender(&mut self) -> String {
        (*self.pick(&["Male", "male", "FEMALE", "female", "ß", "SS", "Σ", "σ", "İ"])).to_owned()
    }

    fn date(&mut self) -> ReleaseDate {
        ReleaseDate::new(2000 + self.below(4) as i16, 1 + self.below(2) as i8, 1).unwrap()
    }

    fn page(&mut self) -> PageRequest {
        PageRequest {
            limit: self.chance(80).then(|| 1 + self.below(5) as u32),
            after: self.chance(50).then(|| self.id()),
        }
    }

    fn write(&mut self) -> Write {
        match self.below(6) {
            0 => Write::CreateMovie(NewMovie {
                title: self.text(),
                release: self.date(),
            }),
            1 => Write::UpdateMovie(
                self.id(),
                MoviePatch {
                    title: self.chance(60).then(|| self.text()),
                    release: self.chance(60).then(|| self.date()),
                },
            ),
            2 => Write::DeleteMovie(self.id()),
            3 => Write::CreateActor(NewActor {
                name: self.text(),
                age: self.below(151) as u8,
                gender: self.gender(),
                movie_id: self.chance(70).then(|| self.id()),
            }),
            4 => Write::UpdateActor(
                self.id(),
                ActorPatch {
                    name: self.chance(40).then(|| self.text()),
                    age: self.chance(40).then(|| self.below(151) as u8),
                    gender: self.chance(30).then(|| self.gender()),
                    movie_id: self.chance(50).then(|| self.chance(70).then(|| self.id())),
                },
            ),
            _ => Write::DeleteActor(self.id()),
        }
    }
}

/// The record a write is about, for its condition.
fn target(write: &Write) -> Option<(RecordKind, u64)> {
    match write {
        Write::UpdateMovie(id, _) | Write::DeleteMovie(id) => Some((RecordKind::Movie, *id)),
        Write::UpdateActor(id, _) | Write::DeleteActor(id) => Some((RecordKind::Actor, *id)),
        _ => None,
    }
}

fn version_of(store: &dyn Backend, kind: RecordKind, id: u64) -> Option<u64> {
    match kind {
        RecordKind::Movie => store.movie_versioned(id).unwrap().map(|v| v.version),
        RecordKind::Actor => store.actor_versioned(id).unwrap().map(|v| v.version),
    }
}

/// One random operation on both stores, which must answer alike.
fn step(rng: &mut Rng, pg: &PgStore, redb: &Store, trace: &mut Vec<String>) {
    let principals = [
        producer(),
        Principal::with_role("", Role::Producer),
        Principal::with_role("bob|Σ", Role::Producer),
    ];
    match rng.below(10) {
        0..=3 => {
            let len = if rng.chance(50) { 1 } else { 2 + rng.below(7) };
            let mut batch = Vec::new();
            for _ in 0..len {
                let write = rng.write();
                let principal = rng.pick(&principals);
                let Ok(mut checked) = Agency::check_write(principal, write.clone()) else {
                    continue;
                };
                if let Some((kind, id)) = target(&write).filter(|_| rng.chance(40)) {
                    let version = version_of(pg, kind, id);
                    assert_eq!(
                        version,
                        version_of(redb, kind, id),
                        "version of {kind} {id}"
                    );
                    let version = version.unwrap_or(0);
                    checked = checked.if_match(match rng.below(3) {
                        0 => Precondition::Any,
                        1 => Precondition::OneOf(vec![version]),
                        _ => Precondition::OneOf(vec![version + 1, 0]),
                    });
                }
                batch.push(checked);
            }
            trace.push(format!("commit {batch:?}"));
            let a = pg.commit(batch.clone()).unwrap();
            let b = redb.commit(batch).unwrap();
            assert_eq!(normalize(&a), normalize(&b), "{trace:#?}");
        }
        4 => {
            let page = rng.page();
            trace.push(format!("movies {page:?}"));
            assert_eq!(
                pg.movies(page).unwrap(),
                redb.movies(page).unwrap(),
                "{trace:#?}"
            );
            assert_eq!(
                pg.actors(page).unwrap(),
                redb.actors(page).unwrap(),
                "{trace:#?}"
            );
        }
        5 => {
            let query = MovieQuery {
                q: rng.query(),
                released_after: rng.chance(30).then(|| rng.date()),
                released_before: rng.chance(30).then(|| rng.date()),
                page: rng.page(),
            };
            trace.push(format!("{query:?}"));
            assert_eq!(
                pg.search_movies(&query).unwrap(),
                redb.search_movies(&query).unwrap(),
                "{trace:#?}"
            );
        }
        6 => {
            let query = ActorQuery {
                q: rng.query(),
                gender: rng.chance(30).then(|| rng.gender().to_uppercase()),
                min_age: rng.chance(30).then(|| rng.below(151) as u8),
                max_age: rng.chance(30).then(|| rng.below(151) as u8),
                movie_id: rng.chance(30).then(|| rng.id()),
                page: rng.page(),
            };
            trace.push(format!("{query:?}"));
            assert_eq!(
                pg.search_actors(&query).unwrap(),
                redb.search_actors(&query).unwrap(),
                "{trace:#?}"
            );
        }
        7 => {
            let query = AuditQuery {
                after: rng.chance(50).then(|| rng.below(30)),
                limit: 1 + rng.below(6) as u32,
                kind: rng
                    .chance(50)
                    .then(|| *rng.pick(&[RecordKind::Movie, RecordKind::Actor])),
                record: rng.chance(40).then(|| rng.id()),
            };
            trace.push(format!("{query:?}"));
            let (a, b) = (pg.audit(&query).unwrap(), redb.audit(&query).unwrap());
            assert_eq!(a.next, b.next, "{trace:#?}");
            assert_eq!(strip(a.entries), strip(b.entries), "{trace:#?}");
        }
        8 => {
            let id = rng.id();
            trace.push(format!("versioned {id}"));
            assert_eq!(
                pg.movie_versioned(id).unwrap(),
                redb.movie_versioned(id).unwrap()
            );
            assert_eq!(
                pg.actor_versioned(id).unwrap(),
                redb.actor_versioned(id).unwrap()
            );
        }
        _ => {
            trace.push("counts".into());
            assert_eq!(pg.counts().unwrap(), redb.counts().unwrap(), "{trace:#?}");
        }
    }
}

#[test]
fn postgres_answers_as_redb_does_to_random_operations() {
    let Some(db) = TestDb::create() else { return };
    let pg = connect(&db);
    let cases: u64 = std::env::var("CASTING_DIFF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    for case in 0..cases {
        let seed = 0x9E37_79B9_7F4A_7C15 ^ (case + 1);
        let mut rng = Rng(seed);
        // An empty import with leave to replace empties the store and
        // starts its sequences again.
        pg.import(&mut std::iter::empty(), true).unwrap();
        let (_dir, redb) = redb_store();
        let mut trace = vec![format!("case {case}, seed {seed:#x}")];
        for _ in 0..40 {
            step(&mut rng, &pg, &redb, &mut trace);
        }
        assert_eq!(strip(log(&pg)), strip(log(&redb)), "{trace:#?}");
        assert_eq!(versions(&pg), versions(&redb), "{trace:#?}");
        assert_eq!(export(&pg).len(), export(&redb).len());
    }
}
