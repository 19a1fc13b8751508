//! `/movies/search` and `/actors/search`: every given filter must hold, `q`
//! matches case-insensitively anywhere, `total` counts every match.

use serde_json::json;

use crate::helpers::{TestApp, id_of, ids, spawn_app};

/// Three movies: "Universe" (2010), "The Universal Story" (2015), "Nothing
/// Else" (2020), in that id order.
async fn three_movies(app: &TestApp) -> [u64; 3] {
    [
        id_of(&app.create_movie("Universe", "2010-10-13").await),
        id_of(&app.create_movie("The Universal Story", "2015-06-15").await),
        id_of(&app.create_movie("Nothing Else", "2020-01-20").await),
    ]
}

/// Four actors: Robert (44, Male, in `movie`), Scarlett (35, Female, in
/// `movie`), Chris (50, Male, uncast), Roberta (20, Female, uncast).
async fn four_actors(app: &TestApp, movie: u64) -> [u64; 4] {
    [
        id_of(
            &app.create_actor("Robert Downey Jr", 44, "Male", Some(movie))
                .await,
        ),
        id_of(
            &app.create_actor("Scarlett Johansson", 35, "Female", Some(movie))
                .await,
        ),
        id_of(&app.create_actor("Chris Evans", 50, "Male", None).await),
        id_of(&app.create_actor("Roberta Flack", 20, "Female", None).await),
    ]
}

#[tokio::test]
async fn movie_search_answers_movies_and_total() {
    let app = spawn_app().await;
    let first = app.create_movie("Universe", "2010-10-13").await;
    app.create_movie("Galaxy", "2012-01-02").await;

    let reply = app
        .get("/movies/search?q=universe", &app.tokens.assistant)
        .await;

    assert_eq!(
        reply.ok(),
        &json!({"success": true, "movies": [first], "total": 1})
    );
}

#[tokio::test]
async fn movie_search_matches_q_case_insensitively_anywhere_in_the_title() {
    let app = spawn_app().await;
    let [universe, universal, _] = three_movies(&app).await;

    let reply = app
        .get("/movies/search?q=NIVERS", &app.tokens.assistant)
        .await;

    assert_eq!(ids(&reply.ok()["movies"]), [universe, universal]);
}

#[tokio::test]
async fn movie_search_without_filters_finds_every_movie() {
    let app = spawn_app().await;
    let all = three_movies(&app).await;

    let reply = app.get("/movies/search", &app.tokens.assistant).await;

    let json = reply.ok();
    assert_eq!(ids(&json["movies"]), all);
    assert_eq!(json["total"], json!(3));
}

#[tokio::test]
async fn movie_search_filters_by_released_after() {
    let app = spawn_app().await;
    let [_, universal, nothing] = three_movies(&app).await;

    let reply = app
        .get(
            "/movies/search?released_after=2012-01-01",
            &app.tokens.assistant,
        )
        .await;

    assert_eq!(ids(&reply.ok()["movies"]), [universal, nothing]);
}

#[tokio::test]
async fn movie_search_filters_by_released_before() {
    let app = spawn_app().await;
    let [universe, universal, _] = three_movies(&app).await;

    let reply = app
        .get(
            "/movies/search?released_before=2018-01-01",
            &app.tokens.assistant,
        )
        .await;

    assert_eq!(ids(&reply.ok()["movies"]), [universe, universal]);
}

#[tokio::test]
async fn movie_search_requires_every_given_filter() {
    let app = spawn_app().await;
    let [_, universal, _] = three_movies(&app).await;

    let reply = app
        .get(
            "/movies/search?q=univers&released_after=2012-01-01&released_before=2018-01-01",
            &app.tokens.assistant,
        )
        .await;

    let json = reply.ok();
    assert_eq!(ids(&json["movies"]), [universal]);
    assert_eq!(json["total"], json!(1));
}

#[tokio::test]
async fn movie_search_without_a_match_is_empty() {
    let app = spawn_app().await;
    three_movies(&app).await;

    let reply = app
        .get("/movies/search?q=zebra", &app.tokens.assistant)
        .await;

    assert_eq!(
        reply.ok(),
        &json!({"success": true, "movies": [], "total": 0})
    );
}

#[tokio::test]
async fn movie_search_total_counts_every_match_not_the_page() {
    let app = spawn_app().await;
    three_movies(&app).await;

    let reply = app
        .get("/movies/search?q=e&limit=1", &app.tokens.assistant)
        .await;

    let json = reply.ok();
    assert_eq!(json["movies"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["total"], json!(3));
}

#[tokio::test]
async fn actor_search_answers_actors_and_total() {
    let app = spawn_app().await;
    let robert = app.create_actor("Robert Downey Jr", 44, "Male", None).await;
    app.create_actor("Scarlett Johansson", 35, "Female", None)
        .await;

    let reply = app
        .get("/actors/search?q=downey", &app.tokens.assistant)
        .await;

    assert_eq!(
        reply.ok(),
        &json!({"success": true, "actors": [robert], "total": 1})
    );
}

#[tokio::test]
async fn actor_search_matches_q_case_insensitively_anywhere_in_the_name() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let [robert, _, _, roberta] = four_actors(&app, movie).await;

    let reply = app
        .get("/actors/search?q=oBeR", &app.tokens.assistant)
        .await;

    assert_eq!(ids(&reply.ok()["actors"]), [robert, roberta]);
}

#[tokio::test]
async fn actor_search_filters_by_gender() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let [_, scarlett, _, roberta] = four_actors(&app, movie).await;

    let reply = app
        .get("/actors/search?gender=Female", &app.tokens.assistant)
        .await;

    assert_eq!(ids(&reply.ok()["actors"]), [scarlett, roberta]);
}

#[tokio::test]
async fn actor_search_filters_by_min_age() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let [robert, _, chris, _] = four_actors(&app, movie).await;

    let reply = app
        .get("/actors/search?min_age=40", &app.tokens.assistant)
        .await;

    assert_eq!(ids(&reply.ok()["actors"]), [robert, chris]);
}

#[tokio::test]
async fn actor_search_filters_by_max_age() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let [_, scarlett, _, roberta] = four_actors(&app, movie).await;

    let reply = app
        .get("/actors/search?max_age=40", &app.tokens.assistant)
        .await;

    assert_eq!(ids(&reply.ok()["actors"]), [scarlett, roberta]);
}

#[tokio::test]
async fn actor_search_filters_by_movie_id() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let other = id_of(&app.create_movie("Galaxy", "2012-01-02").await);
    let [robert, scarlett, chris, _] = four_actors(&app, movie).await;
    app.patch(
        &format!("/actors/{chris}"),
        &app.tokens.director,
        &json!({"movie_id": other}),
    )
    .await
    .ok();

    let reply = app
        .get(
            &format!("/actors/search?movie_id={movie}"),
            &app.tokens.assistant,
        )
        .await;

    assert_eq!(ids(&reply.ok()["actors"]), [robert, scarlett]);
}

#[tokio::test]
async fn actor_search_requires_every_given_filter() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let [robert, ..] = four_actors(&app, movie).await;

    let query = format!("/actors/search?q=rob&gender=Male&min_age=30&max_age=60&movie_id={movie}");
    let reply = app.get(&query, &app.tokens.assistant).await;

    let json = reply.ok();
    assert_eq!(ids(&json["actors"]), [robert]);
    assert_eq!(json["total"], json!(1));
}

#[tokio::test]
async fn actor_search_without_a_match_is_empty() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    four_actors(&app, movie).await;

    let reply = app
        .get("/actors/search?min_age=100", &app.tokens.assistant)
        .await;

    assert_eq!(
        reply.ok(),
        &json!({"success": true, "actors": [], "total": 0})
    );
}

#[tokio::test]
async fn actor_search_total_counts_every_match_not_the_page() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let [_, scarlett, _, _] = four_actors(&app, movie).await;

    let reply = app
        .get(
            "/actors/search?gender=Female&limit=1",
            &app.tokens.assistant,
        )
        .await;

    let json = reply.ok();
    assert_eq!(ids(&json["actors"]), [scarlett]);
    assert_eq!(json["total"], json!(2));
}

#[tokio::test]
async fn a_search_query_may_be_percent_encoded() {
    let app = spawn_app().await;
    let [_, universal, _] = three_movies(&app).await;

    let reply = app
        .get("/movies/search?q=the%20universal", &app.tokens.assistant)
        .await;

    assert_eq!(ids(&reply.ok()["movies"]), [universal]);
}

#[tokio::test]
async fn q_is_matched_literally() {
    let app = spawn_app().await;
    let mister = id_of(&app.create_movie("Mr. Smith", "2001-01-01").await);
    app.create_movie("Mrs Smith", "2001-01-01").await;
    app.create_movie("Smith (*)", "2001-01-01").await;

    let reply = app.get("/movies/search?q=r.", &app.tokens.assistant).await;

    assert_eq!(ids(&reply.ok()["movies"]), [mister]);
}

#[tokio::test]
async fn q_ignores_case_beyond_ascii() {
    let app = spawn_app().await;
    let amelie = id_of(
        &app.create_movie("Le Fabuleux Destin d'Amélie", "2001-04-25")
            .await,
    );
    app.create_movie("Amelia", "2009-10-23").await;

    let reply = app
        .get("/movies/search?q=AM%C3%89LIE", &app.tokens.assistant)
        .await;

    assert_eq!(ids(&reply.ok()["movies"]), [amelie]);
}
