//! Backups of the embedded store: snapshots on schedule and on SIGUSR1, the
//! newest N kept, and the `backup` and `restore` subcommands, which refuse a
//! store a server holds and a snapshot that is damaged or foreign.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    Exit, Launch, Server, TestApp, client, id_of, send, spawn_dev_process_app_with,
};

/// How long a snapshot may take to show up on a machine under load.
const PATIENCE: Duration = Duration::from_secs(20);

/// The snapshots in `dir`, oldest first.
fn snapshots(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("a directory entry").path())
                .filter(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy();
                    name.starts_with("casting-") && name.ends_with("Z.redb")
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Polls `done` until it holds, failing with `what` and the server's log
/// after [`PATIENCE`].
async fn wait_until(server: &Server, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} within {PATIENCE:?}; log:\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many snapshots the server logged as written.
fn written(server: &Server) -> usize {
    server
        .stderr()
        .lines()
        .filter(|l| l.contains("snapshot written"))
        .count()
}

/// A development server with backups into `backups`, and more arguments.
async fn with_backups(backups: &Path, extra: &[&str]) -> TestApp {
    let dir = backups.to_str().expect("a UTF-8 path");
    let mut args = vec!["--backup-dir", dir];
    args.extend_from_slice(extra);
    // The snapshots are told by the log, and taken on SIGUSR1.
    spawn_dev_process_app_with(&args).await
}

/// Runs `casting-server` with `args` to its end.
async fn run(args: &[&Path]) -> Exit {
    Launch::new().args(args.iter().copied()).run_to_exit().await
}

/// `casting-server backup --db DB --to TO`.
async fn backup(db: &Path, to: &Path) -> Exit {
    run(&[
        Path::new("backup"),
        Path::new("--db"),
        db,
        Path::new("--to"),
        to,
    ])
    .await
}

/// `casting-server restore --from FROM --db DB`.
async fn restore(from: &Path, db: &Path) -> Exit {
    run(&[
        Path::new("restore"),
        Path::new("--from"),
        from,
        Path::new("--db"),
        db,
    ])
    .await
}

fn succeeded(exit: &Exit) -> bool {
    exit.status.is_some_and(|s| s.success())
}

/// Asserts that the run failed with one line on standard error that
/// contains each of `words`.
#[track_caller]
fn assert_refused(exit: &Exit, words: &[&str]) {
    assert!(
        exit.status
            .is_some_and(|s| !s.success() && s.code().is_some()),
        "{exit:?}"
    );
    let lines: Vec<&str> = exit.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {exit:?}");
    for word in words {
        assert!(lines[0].contains(word), "{word:?} is not in {:?}", lines[0]);
    }
}

#[tokio::test]
async fn snapshots_appear_one_interval_after_start_and_every_interval_after() {
    if crate::helpers::embedded_only(
        "snapshots_appear_one_interval_after_start_and_every_interval_after",
    ) {
        return;
    }
    let backups = tempfile::tempdir().expect("temporary directory");
    let app = with_backups(backups.path(), &["--backup-interval", "3s"]).await;
    assert!(
        snapshots(backups.path()).is_empty(),
        "none before the first interval"
    );
    app.create_movie("Universe", "2010-10-13").await;

    wait_until(&app.server, "two scheduled snapshots", || {
        snapshots(backups.path()).len() >= 2
    })
    .await;
    let log = app
        .server
        .log_once(|log| log.contains("snapshot written"))
        .await;
    let line = log
        .lines()
        .find(|l| l.contains("snapshot written"))
        .expect("a logged snapshot");
    assert!(line.contains("schedule"), "{line}");
    let first = &snapshots(backups.path())[0];
    assert!(line.contains(&*first.to_string_lossy()), "{line}");
    assert!(line.contains("bytes="), "{line}");
    assert!(line.contains("duration_ms="), "{line}");
}

#[tokio::test]
async fn sigusr1_takes_a_snapshot_at_once() {
    if crate::helpers::embedded_only("sigusr1_takes_a_snapshot_at_once") {
        return;
    }
    let backups = tempfile::tempdir().expect("temporary directory");
    let app = with_backups(backups.path(), &["--backup-interval", "1h"]).await;
    let movie = app.create_movie("Universe", "2010-10-13").await;

    app.server.signal("USR1");
    wait_until(&app.server, "a snapshot on SIGUSR1", || {
        written(&app.server) == 1
    })
    .await;

    let files = snapshots(backups.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let info = casting_core::Store::check(&files[0]).expect("a sound snapshot");
    assert_eq!(info.counts.movies, 1);
    assert!(app.server.stderr().contains("SIGUSR1"));
    // The server goes on serving.
    assert_eq!(app.movie(id_of(&movie)).await["title"], json!("Universe"));
}

#[tokio::test]
async fn only_the_newest_snapshots_are_kept() {
    if crate::helpers::embedded_only("only_the_newest_snapshots_are_kept") {
        return;
    }
    let backups = tempfile::tempdir().expect("temporary directory");
    std::fs::write(backups.path().join("notes.txt"), "not a snapshot").expect("write");
    let app = with_backups(
        backups.path(),
        &["--backup-interval", "1s", "--backup-keep", "2"],
    )
    .await;

    wait_until(&app.server, "four snapshots", || written(&app.server) >= 4).await;

    let files = snapshots(backups.path());
    assert_eq!(files.len(), 2, "{files:?}");
    let log = app
        .server
        .log_once(|log| log.contains("old snapshot removed"))
        .await;
    assert!(log.contains("old snapshot removed"), "{log}");
    // The newest are those kept: the last one written is among them.
    let last = log
        .lines()
        .rfind(|l| l.contains("snapshot written"))
        .expect("a logged snapshot");
    assert!(
        files.iter().any(|f| last.contains(&*f.to_string_lossy())),
        "{last} is not one of {files:?}"
    );
    assert!(backups.path().join("notes.txt").exists());
}

#[tokio::test]
async fn sigterm_during_a_snapshot_exits_0_and_leaves_no_partial_file() {
    if crate::helpers::embedded_only("sigterm_during_a_snapshot_exits_0_and_leaves_no_partial_file")
    {
        return;
    }
    let backups = tempfile::tempdir().expect("temporary directory");
    let mut app = with_backups(backups.path(), &["--backup-interval", "1h"]).await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    for n in 0..50 {
        app.create_actor(&format!("Actor {n}"), 30, "Male", Some(id_of(&movie)))
            .await;
    }

    app.server.signal("USR1");
    let status = app.server.terminate().await;

    assert!(status.success(), "{status}; log:\n{}", app.server.stderr());
    let names: Vec<String> = std::fs::read_dir(backups.path())
        .expect("list the backups")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "a partial file was left: {names:?}"
    );
    for snapshot in snapshots(backups.path()) {
        let info = casting_core::Store::check(&snapshot).expect("a whole snapshot");
        assert_eq!(info.counts.actors, 50);
    }
}

#[tokio::test]
async fn sigusr1_without_a_backup_directory_is_ignored_and_the_server_goes_on() {
    let mut app = spawn_dev_process_app_with(&[]).await;

    app.server.signal("USR1");
    wait_until(&app.server, "the ignored signal logged", || {
        app.server.stderr().contains("SIGUSR1 ignored")
    })
    .await;

    assert!(
        app.server
            .wait_exit(Duration::from_millis(200))
            .await
            .is_none()
    );
    app.get_anonymously("/health").await.ok();
    app.create_movie("Still here", "2020-01-01").await;
}

#[tokio::test]
async fn a_snapshot_taken_under_writes_restores_every_write_acknowledged_before_it() {
    if crate::helpers::embedded_only(
        "a_snapshot_taken_under_writes_restores_every_write_acknowledged_before_it",
    ) {
        return;
    }
    let backups = tempfile::tempdir().expect("temporary directory");
    let app = with_backups(backups.path(), &["--backup-interval", "1h"]).await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let app = Arc::new(app);

    let acknowledged: Arc<Mutex<BTreeMap<u64, Value>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (app, acknowledged, stop) = (app.clone(), acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let cast = (n % 2 == 0).then_some(movie);
                let actor = app
                    .create_actor(&format!("writer {w} actor {n}"), 30, "Female", cast)
                    .await;
                acknowledged
                    .lock()
                    .expect("not poisoned")
                    .insert(id_of(&actor), actor);
            }
        }));
    }
    let deadline = Instant::now() + PATIENCE;
    while acknowledged.lock().expect("not poisoned").len() < 40 {
        assert!(Instant::now() < deadline, "the writers are stuck");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let before = acknowledged.lock().expect("not poisoned").clone();
    app.server.signal("USR1");
    wait_until(&app.server, "a snapshot on SIGUSR1", || {
        written(&app.server) == 1
    })
    .await;
    let after_snapshot = acknowledged.lock().expect("not poisoned").len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("a writer finished");
    }
    assert!(
        acknowledged.lock().expect("not poisoned").len() > after_snapshot,
        "writes went on after the snapshot"
    );
    let mut app = Arc::into_inner(app).expect("the writers are done");
    assert!(app.server.terminate().await.success());

    let snapshot = snapshots(backups.path()).pop().expect("a snapshot");
    let target = tempfile::tempdir().expect("temporary directory");
    let db = target.path().join("restored.redb");
    let exit = restore(&snapshot, &db).await;
    assert!(succeeded(&exit), "{exit:?}");
    assert!(exit.stdout.contains("restored"), "{exit:?}");

    let server = Launch::dev(&db).start().await;
    let token = server.printed_token("producer").expect("a producer token");
    let client = client();
    let get = |path: &str| send(client.get(server.url(path)).bearer_auth(&token));
    let actors = get("/actors").await.ok()["All Actors"].clone();
    let restored: BTreeMap<u64, Value> = actors
        .as_array()
        .expect("a list")
        .iter()
        .map(|a| (id_of(a), a.clone()))
        .collect();
    for (id, actor) in &before {
        assert_eq!(restored.get(id), Some(actor), "actor {id}");
    }
    // Consistent: the movie lists exactly the actors that name it.
    let cast: Vec<u64> = restored
        .values()
        .filter(|a| a["movie_id"] == json!(movie))
        .map(id_of)
        .collect();
    let listed = get(&format!("/movies/{movie}")).await.ok()["movie"]["actors"].clone();
    assert_eq!(listed, json!(cast));
    drop(app);
}

/// A store with a movie and an actor that no server holds any more.
async fn a_stopped_store(dir: &Path) -> PathBuf {
    let db = dir.join("casting.redb");
    let mut app = TestAppOn::start(&db).await;
    let movie = app.0.create_movie("Universe", "2010-10-13").await;
    app.0
        .create_actor("Ann", 40, "Female", Some(id_of(&movie)))
        .await;
    assert!(app.0.server.terminate().await.success());
    db
}

/// A development app on a given database file.
struct TestAppOn(TestApp);

impl TestAppOn {
    async fn start(db: &Path) -> Self {
        // A process: dropping it kills it, as a crash would.
        let server = Launch::dev(db).process().start().await;
        let token = |role: &str| server.printed_token(role).expect("a printed token");
        let tokens = crate::helpers::Tokens {
            assistant: token("assistant"),
            director: token("director"),
            producer: token("producer"),
        };
        TestAppOn(TestApp {
            server,
            client: client(),
            tokens,
            issuer: None,
            dir: tempfile::tempdir().expect("temporary directory"),
        })
    }
}

#[tokio::test]
async fn backup_copies_a_store_no_server_holds_and_refuses_one_a_server_holds() {
    if crate::helpers::embedded_only(
        "backup_copies_a_store_no_server_holds_and_refuses_one_a_server_holds",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = a_stopped_store(dir.path()).await;
    let out = dir.path().join("out.redb");

    let held = TestAppOn::start(&db).await;
    let exit = backup(&db, &out).await;
    assert_refused(&exit, &["casting.redb", "in use"]);
    assert!(!out.exists());
    // Killed, as a crashed server would be: the copy runs the recovery
    // a server start would.
    drop(held);

    let exit = backup(&db, &out).await;
    assert!(succeeded(&exit), "{exit:?}");
    assert!(exit.stdout.contains("out.redb"), "{exit:?}");
    let info = casting_core::Store::check(&out).expect("a sound copy");
    assert_eq!((info.counts.movies, info.counts.actors), (1, 1));
}

#[tokio::test]
async fn restore_refuses_while_a_server_holds_the_store() {
    if crate::helpers::embedded_only("restore_refuses_while_a_server_holds_the_store") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = a_stopped_store(dir.path()).await;
    let snapshot = dir.path().join("snapshot.redb");
    let exit = backup(&db, &snapshot).await;
    assert!(succeeded(&exit), "{exit:?}");

    let app = TestAppOn::start(&db).await;
    app.0.create_movie("After the snapshot", "2020-01-01").await;
    let exit = restore(&snapshot, &db).await;
    assert_refused(&exit, &["casting.redb", "in use"]);

    let movies = app.0.get("/movies", &app.0.tokens.producer).await;
    assert_eq!(movies.ok()["Total number of movies"], json!(2));
}

/// Restores `bad` over a stopped store, asserts a one-line refusal with
/// `words`, and that the store is as it was.
async fn assert_restore_refused(dir: &Path, bad: &Path, words: &[&str]) {
    let db = a_stopped_store(dir).await;
    let before = std::fs::read(&db).expect("read the store");
    let exit = restore(bad, &db).await;
    assert_refused(&exit, words);
    assert_eq!(std::fs::read(&db).expect("read the store"), before);
}

#[tokio::test]
async fn restore_refuses_a_damaged_snapshot() {
    if crate::helpers::embedded_only("restore_refuses_a_damaged_snapshot") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = tempfile::tempdir().expect("temporary directory");
    let db = a_stopped_store(source.path()).await;
    let snapshot = dir.path().join("damaged.redb");
    let exit = backup(&db, &snapshot).await;
    assert!(succeeded(&exit), "{exit:?}");
    let mut bytes = std::fs::read(&snapshot).expect("read the snapshot");
    // The header stays, so the file still says it is redb; every page
    // after it, where the tables live, is overwritten.
    bytes[4096..].fill(0x5A);
    std::fs::write(&snapshot, &bytes).expect("write the snapshot");

    assert_restore_refused(dir.path(), &snapshot, &["damaged.redb", "damaged"]).await;
}

#[tokio::test]
async fn restore_refuses_a_text_file_as_foreign() {
    if crate::helpers::embedded_only("restore_refuses_a_text_file_as_foreign") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "movies and actors\n".repeat(1000)).expect("write");
    assert_restore_refused(dir.path(), &text, &["notes.txt", "not a casting store"]).await;
}

#[tokio::test]
async fn restore_refuses_an_empty_file_as_foreign() {
    if crate::helpers::embedded_only("restore_refuses_an_empty_file_as_foreign") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let empty = dir.path().join("empty.redb");
    std::fs::write(&empty, "").expect("write");
    assert_restore_refused(dir.path(), &empty, &["empty.redb", "not a casting store"]).await;
}

#[tokio::test]
async fn restore_refuses_a_missing_snapshot() {
    if crate::helpers::embedded_only("restore_refuses_a_missing_snapshot") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("missing.redb");
    assert_restore_refused(dir.path(), &missing, &["missing.redb", "does not exist"]).await;
}
