//! A store that cannot grow: writes fail with a 500 envelope and a logged
//! cause, reads keep answering, nothing acknowledged is lost, and the store
//! works again once space returns.
//!
//! No root-only mount is needed: `prlimit` (util-linux) caps the size of the
//! files the running server may write (`RLIMIT_FSIZE`) at the size of its
//! store, so the store's next growth fails with `EFBIG`, as it would with
//! `ENOSPC` on a full disk (the same path in redb: a failed write or
//! `set_len`), and lifting the cap is space returning. Beyond the cap the
//! kernel also sends SIGXFSZ, which kills a process by default: the server
//! must catch it, so that the write fails instead.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{Launch, Reply, Server, send, unpooled_client};
use crate::records::{Records, actor_of, movie_of, snapshot};

/// How many writes the filling may take before the cap must have been hit.
const MAX_FILL_WRITES: usize = 4000;
/// How many clients fill at once; concurrent writes share commits.
const FILLERS: usize = 8;

/// Sets the file size limit of process `pid` (`prlimit --fsize`).
fn set_file_size_limit(pid: u32, soft: &str) {
    let output = Command::new("prlimit")
        .arg("--pid")
        .arg(pid.to_string())
        .arg(format!("--fsize={soft}:unlimited"))
        .output()
        .expect("run prlimit (util-linux)");
    assert!(
        output.status.success(),
        "prlimit --fsize={soft}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A server in development mode on `db`.
async fn start(db: &Path) -> (Server, String) {
    let server = Launch::dev(db).process().start().await;
    let token = server
        .printed_token("producer")
        .expect("a producer token is printed");
    (server, token)
}

/// A write as the producer, on a connection of its own.
async fn write(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let method = method.parse().expect("a method");
    let mut request = unpooled_client()
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// A movie title of the most characters allowed, so the store grows fast.
fn long_title(n: usize) -> String {
    let title = format!("movie {n} ");
    format!("{title}{}", "x".repeat(200 - title.len()))
}

/// Asserts a write refused for want of space: a 500 `internal_error`
/// envelope whose message says nothing of the cause, or a 503.
#[track_caller]
fn expect_refused(reply: &Reply) {
    match reply.status {
        500 => {
            let message = reply.expect_error(500, "internal_error");
            assert!(
                !message.contains("os error") && !message.contains("large"),
                "a 500 leaks its cause: {message}"
            );
        }
        503 => {
            assert_eq!(reply.json["error"], json!(503), "{reply:?}");
            assert_eq!(reply.json["success"], json!(false), "{reply:?}");
        }
        _ => panic!("expected a 500 or 503 for a write the store cannot take, got {reply:?}"),
    }
}

/// Writes as a few clients at once until one write is refused; returns the
/// records acknowledged and the first refusal.
async fn fill(server: &Server, token: &str, records: &mut Records) -> (usize, Reply) {
    let mut fillers = JoinSet::new();
    let mut next = 0;
    let mut refused = None;
    let mut written = 0;
    while refused.is_none() && next < MAX_FILL_WRITES {
        while fillers.len() < FILLERS {
            next += 1;
            let body = json!({"title": long_title(next), "release": "2010-10-13"});
            let request = unpooled_client()
                .post(server.url("/movies"))
                .bearer_auth(token)
                .json(&body);
            fillers.spawn(send(request));
        }
        let reply = fillers
            .join_next()
            .await
            .expect("a filler is running")
            .expect("a filler finished");
        if reply.status == 200 {
            let (id, movie, _) = movie_of(&reply.json["movie added"]);
            records.movies.insert(id, movie);
            written += 1;
        } else {
            refused = Some(reply);
        }
    }
    // The writes still in flight may land either way.
    while let Some(reply) = fillers.join_next().await {
        let reply = reply.expect("a filler finished");
        if reply.status == 200 {
            let (id, movie, _) = movie_of(&reply.json["movie added"]);
            records.movies.insert(id, movie);
            written += 1;
        } else {
            expect_refused(&reply);
        }
    }
    let refused = refused.unwrap_or_else(|| {
        panic!("{MAX_FILL_WRITES} writes went through a store capped at its size")
    });
    (written, refused)
}

/// A few movies and actors, some cast, acknowledged before the cap.
async fn seed(server: &Server, token: &str) -> Records {
    let mut records = Records::default();
    let mut movie_ids = Vec::new();
    for n in 0..5 {
        let body = json!({"title": format!("Seed movie {n}"), "release": "1999-03-31"});
        let reply = write(server, token, "POST", "/movies", Some(body)).await;
        let (id, movie, _) = movie_of(&reply.ok()["movie added"]);
        records.movies.insert(id, movie);
        movie_ids.push(id);
    }
    for n in 0..10 {
        let movie_id = (n % 2 == 0).then(|| movie_ids[n % movie_ids.len()]);
        let body = json!({"name": format!("Seed actor {n}"), "age": 30 + n, "gender": "Female", "movie_id": movie_id});
        let reply = write(server, token, "POST", "/actors", Some(body)).await;
        let (id, actor) = actor_of(&reply.ok()["actor added"]);
        records.actors.insert(id, actor);
    }
    records
}

/// Every kind of write once more, each refused or (should it fit) done.
async fn every_kind_of_write(server: &Server, token: &str, records: &mut Records) {
    let movie = *records.movies.keys().next().expect("a movie");
    let actor = *records.actors.keys().next().expect("an actor");
    let last_actor = *records.actors.keys().last().expect("an actor");
    let writes = [
        (
            "POST",
            "/movies".to_owned(),
            Some(json!({"title": long_title(0), "release": "2010-10-13"})),
        ),
        (
            "POST",
            "/actors".to_owned(),
            Some(json!({"name": "Full", "age": 40, "gender": "Male", "movie_id": movie})),
        ),
        (
            "PATCH",
            format!("/movies/{movie}"),
            Some(json!({"title": long_title(1)})),
        ),
        (
            "PATCH",
            format!("/actors/{actor}"),
            Some(json!({"age": 99, "movie_id": null})),
        ),
        ("DELETE", format!("/actors/{last_actor}"), None),
        ("DELETE", format!("/movies/{movie}"), None),
    ];
    for (method, path, body) in writes {
        let reply = write(server, token, method, &path, body).await;
        if reply.status == 200 {
            // It fitted after all; then the store must show it.
            let json = &reply.json;
            match (method, path.starts_with("/movies")) {
                ("DELETE", true) => {
                    records.movies.remove(&movie);
                    for actor in records.actors.values_mut() {
                        if actor.movie_id == Some(movie) {
                            actor.movie_id = None;
                        }
                    }
                }
                ("DELETE", false) => {
                    records.actors.remove(&last_actor);
                }
                (_, true) => {
                    let record = json.get("movie added").or(json.get("movie changed to "));
                    let (id, movie, _) = movie_of(record.expect("a movie"));
                    records.movies.insert(id, movie);
                }
                (_, false) => {
                    let record = json.get("actor added").or(json.get("actor changed to "));
                    let (id, actor) = actor_of(record.expect("an actor"));
                    records.actors.insert(id, actor);
                }
            }
        } else {
            expect_refused(&reply);
        }
    }
}

/// The reads of a full store: each answers 200 with what was acknowledged.
async fn reads_answer(server: &Server, token: &str, records: &Records) {
    let health = send(unpooled_client().get(server.url("/health"))).await;
    health.ok();
    assert_eq!(&snapshot(server, token).await, records, "the lists");
    let (id, movie) = records.movies.iter().next().expect("a movie");
    let reply = send(
        unpooled_client()
            .get(server.url(&format!("/movies/{id}")))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(movie_of(&reply.ok()["movie"]).1, *movie, "GET /movies/{id}");
    for path in ["/movies/search?q=seed", "/actors/search?q=seed&limit=3"] {
        let reply = send(unpooled_client().get(server.url(path)).bearer_auth(token)).await;
        reply.ok();
    }
}

/// Whether the server process still runs.
async fn alive(server: &mut Server) -> bool {
    server.wait_exit(Duration::from_millis(50)).await.is_none()
}

#[tokio::test]
async fn a_store_that_cannot_grow_refuses_writes_keeps_reads_and_loses_nothing() {
    let _machine = crate::shared().await;
    // Started plainly: SIGXFSZ must not kill it.
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("casting.redb");
    let (mut server, token) = start(&db).await;
    let mut records = seed(&server, &token).await;
    let size = std::fs::metadata(&db).expect("the store").len();
    set_file_size_limit(server.pid(), &size.to_string());

    let (filled, refused) = fill(&server, &token, &mut records).await;
    eprintln!("disk full: {filled} writes fitted under a cap of {size} bytes");
    expect_refused(&refused);
    every_kind_of_write(&server, &token, &mut records).await;

    assert!(
        alive(&mut server).await,
        "the server died: {}",
        server.stderr()
    );
    let log = server
        .log_once(|log| log.contains("File too large") || log.contains("os error 27"))
        .await;
    assert!(
        log.contains("File too large") || log.contains("os error 27"),
        "the cause of the 500s is not logged:\n{log}"
    );
    reads_answer(&server, &token, &records).await;

    // Space returns; a restart finds everything acknowledged, and takes
    // writes with ids never given before.
    set_file_size_limit(server.pid(), "unlimited");
    let status = server.terminate().await;
    assert!(status.success(), "SIGTERM after a full store: {status}");
    let (server, token) = start(&db).await;
    assert_eq!(snapshot(&server, &token).await, records, "after a restart");
    let body = json!({"title": "After the restart", "release": "2010-10-13"});
    let reply = write(&server, &token, "POST", "/movies", Some(body)).await;
    let id = movie_of(&reply.ok()["movie added"]).0;
    let last = *records.movies.keys().last().expect("a movie");
    assert!(id > last, "id {id} after {last}");
}

#[tokio::test]
async fn writes_work_again_once_space_returns_without_a_restart() {
    let _machine = crate::shared().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("casting.redb");
    let (server, token) = start(&db).await;
    let mut records = seed(&server, &token).await;
    let size = std::fs::metadata(&db).expect("the store").len();
    set_file_size_limit(server.pid(), &size.to_string());
    let (_, refused) = fill(&server, &token, &mut records).await;
    expect_refused(&refused);

    set_file_size_limit(server.pid(), "unlimited");
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < Duration::from_secs(5) {
        let body = json!({"title": "Space is back", "release": "2010-10-13"});
        let reply = write(&server, &token, "POST", "/movies", Some(body)).await;
        if reply.status == 200 {
            let (id, movie, _) = movie_of(&reply.json["movie added"]);
            records.movies.insert(id, movie);
            assert_eq!(snapshot(&server, &token).await, records);
            return;
        }
        expect_refused(&reply);
        last = Some(reply);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("writes still fail 5 s after space returned: {last:?}");
}
