//! ETags on reads by id, `If-Match` on `PATCH` and `DELETE`, and
//! `If-None-Match` on `GET`, as docs/api.md describes them.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, send, spawn_app};

async fn etag_of(app: &TestApp, path: &str) -> String {
    let reply = app.get(path, &app.tokens.producer).await;
    reply.ok();
    reply
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag: {reply:?}"))
        .to_owned()
}

async fn patch_if(app: &TestApp, path: &str, etag: &str, body: &Value) -> Reply {
    send(
        app.authed(Method::PATCH, path, &app.tokens.producer)
            .header("if-match", etag)
            .json(body),
    )
    .await
}

async fn delete_if(app: &TestApp, path: &str, token: &str, etag: &str) -> Reply {
    send(
        app.authed(Method::DELETE, path, token)
            .header("if-match", etag),
    )
    .await
}

async fn audit_len(app: &TestApp) -> usize {
    let reply = app.get("/audit?limit=1000", &app.tokens.producer).await;
    reply.ok()["entries"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_read_by_id_carries_a_strong_etag_that_a_patch_changes() {
    let app = spawn_app().await;
    app.create_actor("Ann", 40, "Female", None).await;
    let first = etag_of(&app, "/actors/1").await;
    assert!(first.starts_with("\"1-") && first.ends_with('"'), "{first}");
    assert_eq!(etag_of(&app, "/actors/1").await, first);
    let reply = patch_if(&app, "/actors/1", &first, &json!({"age": 41})).await;
    reply.ok();
    let patched = reply.header("etag").unwrap().to_owned();
    assert_ne!(patched, first);
    assert_eq!(etag_of(&app, "/actors/1").await, patched);
}

#[tokio::test]
async fn a_record_back_in_an_earlier_state_gets_a_new_etag() {
    let app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;
    let first = etag_of(&app, "/movies/1").await;
    for title in ["Galaxy", "Universe"] {
        app.patch("/movies/1", &app.tokens.producer, &json!({"title": title}))
            .await
            .ok();
    }
    assert_ne!(etag_of(&app, "/movies/1").await, first);
}

#[tokio::test]
async fn a_movies_etag_changes_when_its_cast_changes() {
    let app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;
    let mut seen = vec![etag_of(&app, "/movies/1").await];
    app.create_actor("Ann", 40, "Female", Some(1)).await;
    seen.push(etag_of(&app, "/movies/1").await);
    app.patch(
        "/actors/1",
        &app.tokens.producer,
        &json!({"movie_id": null}),
    )
    .await
    .ok();
    seen.push(etag_of(&app, "/movies/1").await);
    app.patch("/actors/1", &app.tokens.producer, &json!({"movie_id": 1}))
        .await
        .ok();
    seen.push(etag_of(&app, "/movies/1").await);
    app.delete("/actors/1", &app.tokens.producer).await.ok();
    seen.push(etag_of(&app, "/movies/1").await);
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), seen.len(), "an ETag came back: {seen:?}");
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_actor("Ann", 40, "Female", None).await;
    let stale = etag_of(&app, "/actors/1").await;
    app.patch("/actors/1", &app.tokens.producer, &json!({"age": 41}))
        .await
        .ok();
    let entries = audit_len(&app).await;
    patch_if(&app, "/actors/1", &stale, &json!({"age": 99}))
        .await
        .expect_error(412, "precondition_failed");
    delete_if(&app, "/actors/1", &app.tokens.producer, &stale)
        .await
        .expect_error(412, "precondition_failed");
    assert_eq!(app.actor(1).await["age"], json!(41));
    assert_eq!(audit_len(&app).await, entries);
}

#[tokio::test]
async fn if_match_takes_a_list_and_a_star() {
    let app = spawn_app().await;
    app.create_actor("Ann", 40, "Female", None).await;
    let current = etag_of(&app, "/actors/1").await;
    let list = format!("\"1-999999\", {current}");
    let reply = patch_if(&app, "/actors/1", &list, &json!({"age": 41})).await;
    reply.ok();
    patch_if(&app, "/actors/1", "*", &json!({"age": 42}))
        .await
        .ok();
    let weak = format!("W/{}", etag_of(&app, "/actors/1").await);
    patch_if(&app, "/actors/1", &weak, &json!({"age": 43}))
        .await
        .expect_error(412, "precondition_failed");
    delete_if(&app, "/actors/1", &app.tokens.producer, "*")
        .await
        .ok();
}

#[tokio::test]
async fn a_missing_record_is_404_whatever_if_match_says() {
    let app = spawn_app().await;
    for etag in ["*", "\"9-1\"", "\"1-1\""] {
        patch_if(&app, "/actors/9", etag, &json!({"age": 41}))
            .await
            .expect_error(404, "not_found");
        delete_if(&app, "/movies/9", &app.tokens.producer, etag)
            .await
            .expect_error(404, "not_found");
    }
}

#[tokio::test]
async fn permission_is_decided_before_the_precondition() {
    let app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;
    delete_if(&app, "/movies/1", &app.tokens.director, "\"1-999\"")
        .await
        .expect_error(403, "permission_denied");
    send(
        app.request(Method::DELETE, "/movies/1")
            .header("if-match", "\"1-999\""),
    )
    .await
    .expect_error(401, "authorization_header_missing");
}

#[tokio::test]
async fn of_many_racing_patches_on_one_etag_exactly_one_wins() {
    let app = Arc::new(spawn_app().await);
    app.create_actor("Ann", 40, "Female", None).await;
    let etag = etag_of(&app, "/actors/1").await;
    let entries = audit_len(&app).await;
    let racers: Vec<_> = (0..16u64)
        .map(|age| {
            let app = Arc::clone(&app);
            let etag = etag.clone();
            tokio::spawn(async move {
                patch_if(&app, "/actors/1", &etag, &json!({"age": 50 + age})).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        let reply = racer.await.unwrap();
        match reply.status {
            200 => winners.push(reply.json["actor changed to "]["age"].clone()),
            _ => {
                reply.expect_error(412, "precondition_failed");
            }
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(app.actor(1).await["age"], winners[0]);
    assert_eq!(audit_len(&app).await, entries + 1);
}

#[tokio::test]
async fn if_none_match_on_the_current_etag_is_304_with_no_body() {
    let app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;
    let etag = etag_of(&app, "/movies/1").await;
    // Twice: the first answer may come from the store, the second from the
    // response cache, and both must be 304.
    for _ in 0..2 {
        let reply = send(
            app.authed(Method::GET, "/movies/1", &app.tokens.producer)
                .header("if-none-match", &etag),
        )
        .await;
        assert_eq!(reply.status, 304, "{reply:?}");
        assert_eq!(reply.text, "");
        assert_eq!(reply.header("etag"), Some(etag.as_str()));
    }
    let other = send(
        app.authed(Method::GET, "/movies/1", &app.tokens.producer)
            .header("if-none-match", "\"1-999999\""),
    )
    .await;
    other.ok();
    assert_eq!(other.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn a_cached_read_still_carries_the_etag_and_a_write_moves_it_on() {
    let app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;
    let first = etag_of(&app, "/movies/1").await;
    assert_eq!(etag_of(&app, "/movies/1").await, first);
    app.create_actor("Ann", 40, "Female", Some(1)).await;
    let stale = send(
        app.authed(Method::GET, "/movies/1", &app.tokens.producer)
            .header("if-none-match", &first),
    )
    .await;
    assert_eq!(stale.ok()["movie"]["actors"], json!([1]));
    assert_ne!(stale.header("etag"), Some(first.as_str()));
}

#[tokio::test]
async fn head_answers_like_get_with_the_etag_and_the_304() {
    let app = spawn_app().await;
    app.create_actor("Ann", 40, "Female", None).await;
    let etag = etag_of(&app, "/actors/1").await;
    let head = send(app.authed(Method::HEAD, "/actors/1", &app.tokens.producer)).await;
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    let fresh = send(
        app.authed(Method::HEAD, "/actors/1", &app.tokens.producer)
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(fresh.status, 304, "{fresh:?}");
}

#[tokio::test]
async fn lists_carry_no_etag() {
    let app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;
    let reply = app.get("/movies", &app.tokens.producer).await;
    reply.ok();
    assert_eq!(reply.header("etag"), None);
}
