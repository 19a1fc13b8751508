//! `GET /audit`: one entry per write, in commit order, paged and filtered,
//! readable only with `read:audit`, and kept across a restart.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PRODUCER, TestApp, id_of, send, spawn_app, spawn_app_with_issuer};

/// Every entry, walked a page of `limit` at a time with `filters`.
async fn walk(app: &TestApp, limit: u32, filters: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after = String::new();
    loop {
        let path = format!("/audit?limit={limit}{filters}{after}");
        let reply = app.get(&path, &app.tokens.producer).await;
        let body = reply.ok();
        let page = body["entries"].as_array().unwrap().clone();
        assert!(page.len() <= limit as usize, "{reply:?}");
        entries.extend(page);
        match body["next"].as_u64() {
            Some(next) => after = format!("&after={next}"),
            None => {
                assert_eq!(body["next"], Value::Null, "{reply:?}");
                return entries;
            }
        }
    }
}

/// The entries as `(action, kind, record)`.
fn summary(entries: &[Value]) -> Vec<(String, String, u64)> {
    entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["kind"].as_str().unwrap().to_owned(),
                e["record"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_write_appends_one_entry_in_the_contract_shape() {
    let app = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let actor = app
        .create_actor("Ann", 40, "Female", Some(id_of(&movie)))
        .await;
    let path = format!("/actors/{}", id_of(&actor));
    app.patch(&path, &app.tokens.producer, &json!({"age": 41}))
        .await
        .ok();

    let reply = app.get("/audit", &app.tokens.producer).await;
    let body = reply.ok();
    assert_eq!(body["success"], json!(true));
    assert_eq!(body["next"], Value::Null, "{reply:?}");
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(
        summary(entries),
        vec![
            ("create".into(), "movie".into(), id_of(&movie)),
            ("create".into(), "actor".into(), id_of(&actor)),
            ("update".into(), "actor".into(), id_of(&actor)),
        ]
    );
    let update = &entries[2];
    let mut keys: Vec<&str> = update
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "action", "after", "at", "before", "id", "kind", "record", "sub"
        ]
    );
    assert_eq!(update["sub"], json!("dev|producer"));
    assert_eq!(update["before"], actor);
    assert_eq!(update["after"]["age"], json!(41));
    assert_eq!(entries[0]["before"], Value::Null);
    let at = update["at"].as_str().unwrap();
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "not RFC 3339 UTC seconds: {at}"
    );
}

#[tokio::test]
async fn a_refused_write_appends_nothing() {
    let app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;
    let before = walk(&app, 100, "").await;
    app.patch("/movies/1", &app.tokens.producer, &json!({"title": ""}))
        .await
        .expect_unprocessable("title");
    app.delete("/movies/1", &app.tokens.director)
        .await
        .expect_error(403, "permission_denied");
    app.delete("/movies/9", &app.tokens.producer)
        .await
        .expect_error(404, "not_found");
    assert_eq!(walk(&app, 100, "").await, before);
}

#[tokio::test]
async fn deleting_a_movie_records_the_actors_it_detached() {
    let app = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let a = app.create_actor("Ann", 40, "Female", Some(1)).await;
    let b = app.create_actor("Bob", 50, "Male", Some(1)).await;
    app.delete("/movies/1", &app.tokens.producer).await.ok();
    let entries = walk(&app, 100, "").await;
    assert_eq!(
        summary(&entries[3..]),
        vec![
            ("delete".into(), "movie".into(), id_of(&movie)),
            ("update".into(), "actor".into(), id_of(&a)),
            ("update".into(), "actor".into(), id_of(&b)),
        ]
    );
    assert_eq!(entries[4]["after"]["movie_id"], Value::Null);
}

#[tokio::test]
async fn pages_walk_every_entry_once_in_ascending_order() {
    let app = spawn_app().await;
    for i in 0..7 {
        app.create_movie(&format!("M{i}"), "2010-10-13").await;
    }
    let walked = walk(&app, 3, "").await;
    let ids: Vec<u64> = walked.iter().map(id_of).collect();
    assert_eq!(ids, (1..=7).collect::<Vec<_>>());
    let first = app.get("/audit?limit=3", &app.tokens.producer).await;
    assert_eq!(first.ok()["next"], json!(3));
}

#[tokio::test]
async fn the_log_is_paged_by_a_hundred_without_a_limit() {
    let app = spawn_app().await;
    let actors: Vec<Value> = (0..101)
        .map(|i| json!({"name": format!("A{i}"), "age": 30, "gender": "F"}))
        .collect();
    for actor in &actors {
        app.post("/actors", &app.tokens.producer, actor).await.ok();
    }
    let reply = app.get("/audit", &app.tokens.producer).await;
    let body = reply.ok();
    assert_eq!(body["entries"].as_array().unwrap().len(), 100);
    assert_eq!(body["next"], json!(100));
}

#[tokio::test]
async fn kind_and_record_filter_the_entries() {
    let app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;
    app.create_actor("Ann", 40, "Female", None).await;
    app.create_actor("Bob", 50, "Male", None).await;
    app.patch("/actors/1", &app.tokens.producer, &json!({"age": 41}))
        .await
        .ok();
    let actors = walk(&app, 2, "&kind=actor").await;
    assert_eq!(
        summary(&actors),
        vec![
            ("create".into(), "actor".into(), 1),
            ("create".into(), "actor".into(), 2),
            ("update".into(), "actor".into(), 1),
        ]
    );
    let one = walk(&app, 1, "&record=1").await;
    assert_eq!(
        summary(&one),
        vec![
            ("create".into(), "movie".into(), 1),
            ("create".into(), "actor".into(), 1),
            ("update".into(), "actor".into(), 1),
        ]
    );
    let movie_one = walk(&app, 10, "&record=1&kind=movie").await;
    assert_eq!(
        summary(&movie_one),
        vec![("create".into(), "movie".into(), 1)]
    );
}

#[tokio::test]
async fn malformed_parameters_are_400() {
    let app = spawn_app().await;
    for query in [
        "kind=movies",
        "kind=",
        "record=0",
        "record=x",
        "limit=0",
        "limit=1001",
    ] {
        app.get(&format!("/audit?{query}"), &app.tokens.producer)
            .await
            .expect_error(400, "bad_request");
    }
}

#[tokio::test]
async fn only_the_producer_may_read_the_log() {
    let app = spawn_app().await;
    for token in [&app.tokens.assistant, &app.tokens.director] {
        let reply = app.get("/audit", token).await;
        reply.expect_error(403, "permission_denied");
        assert_eq!(
            reply.www_authenticate(),
            r#"Bearer error="insufficient_scope""#
        );
    }
    send(app.request(Method::GET, "/audit"))
        .await
        .expect_error(401, "authorization_header_missing");
    app.get("/audit", &app.tokens.producer).await.ok();
}

#[tokio::test]
async fn entries_survive_a_restart() {
    let mut app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;
    app.create_actor("Ann", 40, "Female", Some(1)).await;
    let before = walk(&app, 100, "").await;
    app.server.restart().await;
    assert_eq!(walk(&app, 100, "").await, before);
    app.create_movie("Galaxy", "2012-01-02").await;
    let after = walk(&app, 100, "").await;
    assert_eq!(after.len(), 3);
    assert_eq!(id_of(&after[2]), 3);
}

#[tokio::test]
async fn a_write_with_a_token_without_a_subject_is_recorded_with_a_null_sub() {
    let app = spawn_app_with_issuer().await;
    let mut claims = app.issuer().claims(PRODUCER);
    claims.as_object_mut().unwrap().remove("sub");
    let anonymous = app.issuer().sign(&claims);
    let body = json!({"title": "Universe", "release": "2010-10-13"});
    app.post("/movies", &anonymous, &body).await.ok();
    app.post("/movies", &app.tokens.producer, &body).await.ok();
    let entries = walk(&app, 10, "").await;
    let subs: Vec<&Value> = entries.iter().map(|e| &e["sub"]).collect();
    assert_eq!(subs, [&Value::Null, &json!("auth0|tester")]);
}
