//! `casting-server copy`: every movie, actor and audit entry, ids kept,
//! between redb files and NDJSON; a non-empty destination refused without
//! `--force`; bad input refused with nothing written.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Exit, Launch, TestApp, send, spawn_app};

/// A side of a copy: NDJSON as it is, a test store as the harness maps it
/// (to a PostgreSQL database when the suite runs against one).
fn side(path: &Path) -> std::ffi::OsString {
    if path.extension().is_some_and(|e| e == "redb") {
        crate::helpers::database_for(path)
    } else {
        path.into()
    }
}

/// `casting-server copy --from FROM --to TO`, and more arguments.
async fn copy(from: &Path, to: &Path, extra: &[&str]) -> Exit {
    Launch::new()
        .arg("copy")
        .arg("--from")
        .arg(side(from))
        .arg("--to")
        .arg(side(to))
        .args(extra.iter().copied())
        .run_to_exit()
        .await
}

fn succeeded(exit: &Exit) -> bool {
    exit.status.is_some_and(|s| s.success())
}

/// A store with movies, actors (one cast, one deleted) and their audit
/// entries, written through the API; the server is stopped after, so the
/// file is free. Returns the app (for its directory) and the database path.
async fn filled_store() -> (TestApp, std::path::PathBuf) {
    let mut app = spawn_app().await;
    let producer = app.tokens.producer.clone();
    for (title, release) in [("Universe", "2010-10-13"), ("Ünïcode Σ", "1999-01-02")] {
        let reply = send(
            app.authed(Method::POST, "/movies", &producer)
                .json(&json!({"title": title, "release": release})),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    for (name, movie) in [("Ann", json!(1)), ("Bob", json!(null)), ("Cid", json!(2))] {
        let reply = send(
            app.authed(Method::POST, "/actors", &producer)
                .json(&json!({"name": name, "age": 40, "gender": "Female", "movie_id": movie})),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    // The last actor is deleted, so its id must not come back after a copy.
    let reply = send(app.authed(Method::DELETE, "/actors/3", &producer)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let status = app.server.terminate().await;
    assert!(status.success());
    let db = app.dir.path().join("casting.redb");
    (app, db)
}

/// What a dev server on `db` answers for the lists, the audit log and the
/// ETag of movie 1 (empty when there is none).
async fn contents(db: &Path) -> (Value, Value, Value, String) {
    let server = Launch::dev(db).start().await;
    let token = server.printed_token("producer").expect("a producer token");
    let client = crate::helpers::client();
    let get = |path: &str| client.get(server.url(path)).bearer_auth(&token);
    let movies = send(get("/movies")).await.json;
    let actors = send(get("/actors")).await.json;
    let audit = send(get("/audit?limit=1000")).await.json;
    let etag = send(get("/movies/1"))
        .await
        .headers
        .get("etag")
        .map(|v| v.to_str().expect("an ASCII ETag").to_owned())
        .unwrap_or_default();
    (movies, actors, audit, etag)
}

#[tokio::test]
async fn a_store_copied_through_ndjson_answers_as_the_original_and_keeps_its_id_sequences() {
    let (app, db) = filled_store().await;
    let dump = app.dir.path().join("dump.ndjson");
    let out = copy(&db, &dump, &[]).await;
    assert!(succeeded(&out), "{out:?}");
    assert!(
        out.stderr
            .contains("copied 2 movies, 2 actors, 6 audit entries"),
        "{out:?}"
    );

    let text = std::fs::read_to_string(&dump).expect("the dump");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| {
            l.as_object()
                .and_then(|o| o.keys().next())
                .map_or("", |k| k.as_str())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "movie", "movie", "actor", "actor", "audit", "audit", "audit", "audit", "audit",
            "audit"
        ],
        "movies, then actors, then entries"
    );
    assert_eq!(
        lines[0]["movie"]["release_date"],
        "Wed, 13 Oct 2010 00:00:00 GMT"
    );

    let copied = app.dir.path().join("copied.redb");
    let back = copy(&dump, &copied, &[]).await;
    assert!(succeeded(&back), "{back:?}");
    assert_eq!(contents(&db).await, contents(&copied).await);

    // The deleted actor 3 used its id: the copy goes on from 4.
    let server = Launch::dev(&copied).start().await;
    let token = server.printed_token("producer").expect("a producer token");
    let reply = send(
        crate::helpers::client()
            .post(server.url("/actors"))
            .bearer_auth(&token)
            .json(&json!({"name": "Dee", "age": 30, "gender": "Male"})),
    )
    .await;
    assert_eq!(reply.json["actor added"]["id"], 4, "{reply:?}");
}

#[tokio::test]
async fn a_copy_into_a_store_that_holds_data_is_refused_unless_forced() {
    let (app, db) = filled_store().await;
    let other = app.dir.path().join("other.redb");
    assert!(succeeded(&copy(&db, &other, &[]).await));

    let refused = copy(&db, &other, &[]).await;
    assert_eq!(
        refused.status.and_then(|s| s.code()),
        Some(1),
        "{refused:?}"
    );
    let lines: Vec<&str> = refused.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{refused:?}");
    assert!(
        lines[0].contains("not empty") && lines[0].contains("--force"),
        "{lines:?}"
    );

    let forced = copy(&db, &other, &["--force"]).await;
    assert!(succeeded(&forced), "{forced:?}");
    assert_eq!(contents(&db).await, contents(&other).await);
}

#[tokio::test]
async fn the_copy_goes_to_standard_output_with_a_dash() {
    let (_app, db) = filled_store().await;
    let out = copy(&db, Path::new("-"), &[]).await;
    assert!(succeeded(&out), "{out:?}");
    let first: Value =
        serde_json::from_str(out.stdout.lines().next().expect("a line")).expect("JSON");
    assert_eq!(first["movie"]["title"], "Universe");
    assert_eq!(out.stdout.lines().count(), 10);
}

#[tokio::test]
async fn bad_input_is_refused_naming_its_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("a directory");
    let dump = dir.path().join("bad.ndjson");
    let movie = r#"{"movie":{"id":1,"title":"A","release_date":"Wed, 13 Oct 2010 00:00:00 GMT","actors":[]}}"#;
    let orphan = r#"{"actor":{"id":1,"name":"B","age":3,"gender":"Male","movie_id":9}}"#;
    let target = dir.path().join("target.redb");
    for (text, words) in [
        (format!("{movie}\nnot json\n"), vec!["line 2"]),
        (format!("{movie}\n{orphan}\n"), vec!["actor 1", "movie 9"]),
    ] {
        std::fs::write(&dump, text).expect("written");
        let refused = copy(&dump, &target, &[]).await;
        assert_eq!(
            refused.status.and_then(|s| s.code()),
            Some(1),
            "{refused:?}"
        );
        for word in words {
            assert!(refused.stderr.contains(word), "{word:?} in {refused:?}");
        }
        let (movies, ..) = contents(&target).await;
        assert_eq!(movies["Total number of movies"], 0, "nothing was imported");
    }
    if crate::helpers::over_postgres() {
        return;
    }
    let missing = copy(&dir.path().join("absent.redb"), &target, &[]).await;
    assert!(missing.stderr.contains("does not exist"), "{missing:?}");
    assert!(
        !dir.path().join("absent.redb").exists(),
        "a missing source is not created"
    );
}
