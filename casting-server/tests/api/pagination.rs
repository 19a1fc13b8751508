//! `limit` and `after` on every list route: ascending ids above `after`, at
//! most `limit` of them, and `next` only when a limit was asked for.

use serde_json::{Value, json};

use crate::helpers::{TestApp, id_of, ids, spawn_app};

async fn movies(app: &TestApp, count: usize) -> Vec<u64> {
    let mut created = Vec::new();
    for n in 0..count {
        created.push(id_of(
            &app.create_movie(&format!("Movie {n}"), "2001-01-01").await,
        ));
    }
    created
}

async fn list(app: &TestApp, path: &str) -> Value {
    app.get(path, &app.tokens.assistant).await.ok().clone()
}

#[tokio::test]
async fn a_limit_returns_the_first_records_and_the_next_cursor() {
    let app = spawn_app().await;
    let all = movies(&app, 5).await;

    let page = list(&app, "/movies?limit=2").await;

    assert_eq!(ids(&page["movies"]), all[..2]);
    assert_eq!(page["next"], json!(all[1]));
}

#[tokio::test]
async fn after_skips_the_records_up_to_that_id() {
    let app = spawn_app().await;
    let all = movies(&app, 5).await;

    let page = list(&app, &format!("/movies?limit=2&after={}", all[1])).await;

    assert_eq!(ids(&page["movies"]), all[2..4]);
    assert_eq!(page["next"], json!(all[3]));
}

#[tokio::test]
async fn the_last_page_has_a_null_next() {
    let app = spawn_app().await;
    let all = movies(&app, 5).await;

    let page = list(&app, &format!("/movies?limit=2&after={}", all[3])).await;

    assert_eq!(ids(&page["movies"]), all[4..]);
    assert_eq!(page.get("next"), Some(&json!(null)), "{page}");
}

#[tokio::test]
async fn a_page_ending_on_the_last_record_has_a_null_next() {
    let app = spawn_app().await;
    let all = movies(&app, 4).await;

    let page = list(&app, &format!("/movies?limit=2&after={}", all[1])).await;

    assert_eq!(ids(&page["movies"]), all[2..]);
    assert_eq!(page.get("next"), Some(&json!(null)), "{page}");
}

#[tokio::test]
async fn a_limit_above_the_count_returns_everything_with_a_null_next() {
    let app = spawn_app().await;
    let all = movies(&app, 3).await;

    let page = list(&app, "/movies?limit=1000").await;

    assert_eq!(ids(&page["movies"]), all);
    assert_eq!(page.get("next"), Some(&json!(null)), "{page}");
}

#[tokio::test]
async fn a_limit_of_one_is_accepted() {
    let app = spawn_app().await;
    let all = movies(&app, 2).await;

    let page = list(&app, "/movies?limit=1").await;

    assert_eq!(ids(&page["movies"]), all[..1]);
}

#[tokio::test]
async fn without_limit_the_whole_list_comes_back_without_next() {
    let app = spawn_app().await;
    let all = movies(&app, 3).await;

    let page = list(&app, "/movies").await;

    assert_eq!(ids(&page["movies"]), all);
    assert!(page.get("next").is_none(), "no limit, yet a next: {page}");
}

#[tokio::test]
async fn after_without_limit_returns_every_later_record_without_next() {
    let app = spawn_app().await;
    let all = movies(&app, 4).await;

    let page = list(&app, &format!("/movies?after={}", all[0])).await;

    assert_eq!(ids(&page["movies"]), all[1..]);
    assert!(page.get("next").is_none(), "no limit, yet a next: {page}");
}

#[tokio::test]
async fn following_next_walks_every_record_once() {
    let app = spawn_app().await;
    let all = movies(&app, 7).await;

    let mut seen = Vec::new();
    let mut path = "/movies?limit=3".to_owned();
    for _ in 0..10 {
        let page = list(&app, &path).await;
        seen.extend(ids(&page["movies"]));
        match page["next"].as_u64() {
            Some(next) => path = format!("/movies?limit=3&after={next}"),
            None => break,
        }
    }

    assert_eq!(seen, all);
}

#[tokio::test]
async fn after_may_name_a_deleted_record() {
    let app = spawn_app().await;
    let all = movies(&app, 4).await;
    app.delete(&format!("/movies/{}", all[1]), &app.tokens.producer)
        .await
        .ok();

    let page = list(&app, &format!("/movies?limit=10&after={}", all[1])).await;

    assert_eq!(ids(&page["movies"]), all[2..]);
}

#[tokio::test]
async fn after_past_the_last_id_is_an_empty_page() {
    let app = spawn_app().await;
    let all = movies(&app, 2).await;

    let page = list(&app, &format!("/movies?limit=5&after={}", all[1] + 100)).await;

    assert_eq!(page["movies"], json!([]));
    assert_eq!(page.get("next"), Some(&json!(null)), "{page}");
    assert_eq!(page["Total number of movies"], json!(2));
}

#[tokio::test]
async fn the_actor_list_pages_the_same_way() {
    let app = spawn_app().await;
    let mut all = Vec::new();
    for name in ["A", "B", "C"] {
        all.push(id_of(&app.create_actor(name, 30, "Female", None).await));
    }

    let first = list(&app, "/actors?limit=2").await;
    let second = list(&app, &format!("/actors?limit=2&after={}", all[1])).await;

    assert_eq!(ids(&first["All Actors"]), all[..2]);
    assert_eq!(first["next"], json!(all[1]));
    assert_eq!(first["Total number of actors"], json!(3));
    assert_eq!(ids(&second["All Actors"]), all[2..]);
    assert_eq!(second.get("next"), Some(&json!(null)), "{second}");
}

#[tokio::test]
async fn movie_search_pages_through_the_matches_only() {
    let app = spawn_app().await;
    let a = id_of(&app.create_movie("Match one", "2001-01-01").await);
    app.create_movie("Other", "2001-01-01").await;
    let b = id_of(&app.create_movie("Match two", "2001-01-01").await);
    app.create_movie("Other again", "2001-01-01").await;
    let c = id_of(&app.create_movie("Match three", "2001-01-01").await);

    let first = list(&app, "/movies/search?q=match&limit=2").await;
    let second = list(&app, &format!("/movies/search?q=match&limit=2&after={b}")).await;

    assert_eq!(ids(&first["movies"]), [a, b]);
    assert_eq!(first["next"], json!(b));
    assert_eq!(first["total"], json!(3));
    assert_eq!(ids(&second["movies"]), [c]);
    assert_eq!(second.get("next"), Some(&json!(null)), "{second}");
    assert_eq!(second["total"], json!(3));
}

#[tokio::test]
async fn actor_search_pages_through_the_matches_only() {
    let app = spawn_app().await;
    let a = id_of(&app.create_actor("Ann", 30, "Female", None).await);
    app.create_actor("Bob", 30, "Male", None).await;
    let b = id_of(&app.create_actor("Cat", 30, "Female", None).await);
    let c = id_of(&app.create_actor("Dee", 30, "Female", None).await);

    let first = list(&app, "/actors/search?gender=Female&limit=2").await;
    let second = list(
        &app,
        &format!("/actors/search?gender=Female&limit=2&after={b}"),
    )
    .await;

    assert_eq!(ids(&first["actors"]), [a, b]);
    assert_eq!(first["next"], json!(b));
    assert_eq!(first["total"], json!(3));
    assert_eq!(ids(&second["actors"]), [c]);
    assert_eq!(second.get("next"), Some(&json!(null)), "{second}");
}

#[tokio::test]
async fn a_search_without_limit_has_no_next() {
    let app = spawn_app().await;
    movies(&app, 2).await;

    let movies = list(&app, "/movies/search?q=movie").await;
    let actors = list(&app, "/actors/search").await;

    assert!(movies.get("next").is_none(), "{movies}");
    assert!(actors.get("next").is_none(), "{actors}");
}
