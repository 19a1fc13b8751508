//! `/movies` and `/movies/{id}`: the original wire format, release dates,
//! validation, ids and what deleting a movie does to its actors.

use serde_json::json;

use crate::helpers::{id_of, ids, spawn_app};

#[tokio::test]
async fn creating_a_movie_answers_200_with_the_original_body() {
    let app = spawn_app().await;

    let body = json!({"title": "Universe", "release": "2010-10-13"});
    let reply = app.post("/movies", &app.tokens.producer, &body).await;

    let json = reply.ok();
    let id = id_of(&json["movie added"]);
    assert_eq!(
        json,
        &json!({
            "success": true,
            "message": "movie added successfully",
            "movie added": {
                "id": id,
                "title": "Universe",
                "release_date": "Wed, 13 Oct 2010 00:00:00 GMT",
                "actors": [],
            },
        })
    );
}

#[tokio::test]
async fn creating_a_movie_names_it_in_a_location_header() {
    let app = spawn_app().await;

    let body = json!({"title": "Universe", "release": "2010-10-13"});
    let reply = app.post("/movies", &app.tokens.producer, &body).await;

    let id = id_of(&reply.ok()["movie added"]);
    let location = reply.header("location").unwrap_or_default();
    assert!(
        location.ends_with(&format!("/movies/{id}")),
        "Location {location:?} does not name /movies/{id}"
    );
}

#[tokio::test]
async fn ids_are_positive_and_increase_with_each_create() {
    let app = spawn_app().await;

    let mut created = Vec::new();
    for title in ["One", "Two", "Three"] {
        created.push(id_of(&app.create_movie(title, "2001-01-01").await));
    }

    assert!(created[0] >= 1, "ids are positive: {created:?}");
    assert!(
        created.windows(2).all(|w| w[0] < w[1]),
        "ids increase: {created:?}"
    );
}

#[tokio::test]
async fn movie_ids_are_never_reused_after_a_delete() {
    let app = spawn_app().await;
    app.create_movie("First", "2001-01-01").await;
    let last = id_of(&app.create_movie("Second", "2001-01-01").await);
    app.delete(&format!("/movies/{last}"), &app.tokens.producer)
        .await
        .ok();

    let next = id_of(&app.create_movie("Third", "2001-01-01").await);

    assert!(
        next > last,
        "id {next} reuses or precedes the deleted {last}"
    );
}

#[tokio::test]
async fn release_keeps_the_date_part_of_an_rfc3339_date_time() {
    let app = spawn_app().await;

    for (release, written) in [
        ("2010-10-13T23:30:00-05:00", "Wed, 13 Oct 2010 00:00:00 GMT"),
        ("2010-10-13T01:00:00+09:00", "Wed, 13 Oct 2010 00:00:00 GMT"),
        ("2010-10-13T12:00:00Z", "Wed, 13 Oct 2010 00:00:00 GMT"),
    ] {
        let movie = app.create_movie("Universe", release).await;
        assert_eq!(movie["release_date"], json!(written), "release {release:?}");
    }
}

#[tokio::test]
async fn release_accepts_the_http_date_the_server_writes() {
    let app = spawn_app().await;

    let movie = app
        .create_movie("Universe", "Wed, 13 Oct 2010 00:00:00 GMT")
        .await;

    assert_eq!(
        movie["release_date"],
        json!("Wed, 13 Oct 2010 00:00:00 GMT")
    );
}

#[tokio::test]
async fn release_date_is_accepted_as_another_name_for_release() {
    let app = spawn_app().await;

    let body = json!({"title": "Universe", "release_date": "2010-10-13"});
    let reply = app.post("/movies", &app.tokens.producer, &body).await;

    assert_eq!(
        reply.ok()["movie added"]["release_date"],
        json!("Wed, 13 Oct 2010 00:00:00 GMT")
    );
}

#[tokio::test]
async fn release_dates_are_written_as_imf_fixdates_with_the_right_weekday() {
    let app = spawn_app().await;

    for (release, written) in [
        ("2024-02-29", "Thu, 29 Feb 2024 00:00:00 GMT"),
        ("1999-12-31", "Fri, 31 Dec 1999 00:00:00 GMT"),
        ("2021-03-05", "Fri, 05 Mar 2021 00:00:00 GMT"),
        ("1970-01-01", "Thu, 01 Jan 1970 00:00:00 GMT"),
    ] {
        let movie = app.create_movie("Dated", release).await;
        assert_eq!(movie["release_date"], json!(written), "release {release:?}");
    }
}

#[tokio::test]
async fn an_unreadable_release_is_a_422_naming_release() {
    let app = spawn_app().await;

    for release in ["13/10/2010", "2010-02-30", "tomorrow", "2010-13-01", ""] {
        let body = json!({"title": "Universe", "release": release});
        let reply = app.post("/movies", &app.tokens.producer, &body).await;
        reply.expect_unprocessable("release");
    }
}

#[tokio::test]
async fn a_release_of_the_wrong_type_is_a_422_naming_release() {
    let app = spawn_app().await;

    for release in [
        json!(20101013),
        json!(null),
        json!(["2010-10-13"]),
        json!({}),
    ] {
        let body = json!({"title": "Universe", "release": release});
        let reply = app.post("/movies", &app.tokens.producer, &body).await;
        reply.expect_unprocessable("release");
    }
}

#[tokio::test]
async fn a_missing_title_is_a_422_naming_title() {
    let app = spawn_app().await;

    let body = json!({"release": "2010-10-13"});
    let reply = app.post("/movies", &app.tokens.producer, &body).await;

    reply.expect_unprocessable("title");
}

#[tokio::test]
async fn a_missing_release_is_a_422_naming_release() {
    let app = spawn_app().await;

    let body = json!({"title": "Universe"});
    let reply = app.post("/movies", &app.tokens.producer, &body).await;

    reply.expect_unprocessable("release");
}

#[tokio::test]
async fn a_title_of_the_wrong_type_is_a_422_naming_title() {
    let app = spawn_app().await;

    for title in [json!(42), json!(null), json!(["Universe"]), json!(true)] {
        let body = json!({"title": title, "release": "2010-10-13"});
        let reply = app.post("/movies", &app.tokens.producer, &body).await;
        reply.expect_unprocessable("title");
    }
}

#[tokio::test]
async fn an_empty_or_blank_title_is_a_422_naming_title() {
    let app = spawn_app().await;

    for title in ["", "   ", "\t\n "] {
        let body = json!({"title": title, "release": "2010-10-13"});
        let reply = app.post("/movies", &app.tokens.producer, &body).await;
        reply.expect_unprocessable("title");
    }
}

#[tokio::test]
async fn a_title_may_have_200_characters_but_not_201() {
    let app = spawn_app().await;

    let body = json!({"title": "t".repeat(200), "release": "2010-10-13"});
    app.post("/movies", &app.tokens.producer, &body).await.ok();

    let body = json!({"title": "t".repeat(201), "release": "2010-10-13"});
    let reply = app.post("/movies", &app.tokens.producer, &body).await;
    reply.expect_unprocessable("title");
}

#[tokio::test]
async fn the_title_limit_counts_characters_not_bytes() {
    let app = spawn_app().await;

    let body = json!({"title": "é".repeat(200), "release": "2010-10-13"});
    let reply = app.post("/movies", &app.tokens.producer, &body).await;

    assert_eq!(reply.ok()["movie added"]["title"], json!("é".repeat(200)));
}

#[tokio::test]
async fn an_unknown_field_in_a_new_movie_is_a_422_naming_it() {
    let app = spawn_app().await;

    let body = json!({"title": "Universe", "release": "2010-10-13", "rating": 5});
    let reply = app.post("/movies", &app.tokens.producer, &body).await;

    reply.expect_unprocessable("rating");
}

#[tokio::test]
async fn the_id_and_actors_in_a_new_movie_are_ignored() {
    let app = spawn_app().await;
    let actor = app.create_actor("Robert Downey Jr", 44, "Male", None).await;

    let body = json!({
        "id": 999,
        "actors": [id_of(&actor)],
        "title": "Universe",
        "release": "2010-10-13",
    });
    let reply = app.post("/movies", &app.tokens.producer, &body).await;

    let movie = &reply.ok()["movie added"];
    assert_ne!(movie["id"], json!(999), "the id was taken from the body");
    assert_eq!(
        movie["actors"],
        json!([]),
        "the actors were taken from the body"
    );
}

#[tokio::test]
async fn a_movie_read_back_can_be_posted_again() {
    let app = spawn_app().await;
    let original = app.create_movie("Universe", "2010-10-13").await;
    let read_back = app.movie(id_of(&original)).await;

    let reply = app.post("/movies", &app.tokens.producer, &read_back).await;

    let copy = &reply.ok()["movie added"];
    assert_eq!(copy["title"], original["title"]);
    assert_eq!(copy["release_date"], original["release_date"]);
}

#[tokio::test]
async fn a_movie_read_back_can_be_patched_back_unchanged() {
    let app = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let id = id_of(&movie);
    app.create_actor("Robert Downey Jr", 44, "Male", Some(id))
        .await;
    let read_back = app.movie(id).await;

    let reply = app
        .patch(&format!("/movies/{id}"), &app.tokens.producer, &read_back)
        .await;

    assert_eq!(reply.ok()["movie changed to "], read_back);
}

#[tokio::test]
async fn getting_a_movie_answers_it_under_movie() {
    let app = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let id = id_of(&movie);

    let reply = app
        .get(&format!("/movies/{id}"), &app.tokens.assistant)
        .await;

    assert_eq!(reply.ok(), &json!({"success": true, "movie": movie}));
}

#[tokio::test]
async fn getting_an_unknown_movie_is_a_404() {
    let app = spawn_app().await;

    let reply = app.get("/movies/4242", &app.tokens.producer).await;

    reply.expect_error(404, "not_found");
}

#[tokio::test]
async fn listing_movies_answers_the_original_body() {
    let app = spawn_app().await;
    let first = app.create_movie("Universe", "2010-10-13").await;
    let second = app.create_movie("Galaxy", "2012-01-02").await;

    let reply = app.get("/movies", &app.tokens.assistant).await;

    assert_eq!(
        reply.ok(),
        &json!({
            "success": true,
            "movies": [first, second],
            "Total number of movies": 2,
        })
    );
}

#[tokio::test]
async fn listing_an_empty_store_answers_no_movies() {
    let app = spawn_app().await;

    let reply = app.get("/movies", &app.tokens.assistant).await;

    assert_eq!(
        reply.ok(),
        &json!({"success": true, "movies": [], "Total number of movies": 0})
    );
}

#[tokio::test]
async fn the_movie_total_counts_the_store_not_the_page() {
    let app = spawn_app().await;
    for title in ["One", "Two", "Three"] {
        app.create_movie(title, "2001-01-01").await;
    }

    let reply = app.get("/movies?limit=1", &app.tokens.assistant).await;

    let json = reply.ok();
    assert_eq!(json["movies"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["Total number of movies"], json!(3));
}

#[tokio::test]
async fn patching_a_title_answers_the_original_body_and_keeps_the_rest() {
    let app = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let id = id_of(&movie);

    let body = json!({"title": "Multiverse"});
    let reply = app
        .patch(&format!("/movies/{id}"), &app.tokens.director, &body)
        .await;

    assert_eq!(
        reply.ok(),
        &json!({
            "success": true,
            "message": "update successfull",
            "movie changed to ": {
                "id": id,
                "title": "Multiverse",
                "release_date": "Wed, 13 Oct 2010 00:00:00 GMT",
                "actors": [],
            },
        })
    );
}

#[tokio::test]
async fn patching_a_release_changes_only_the_date() {
    let app = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let id = id_of(&movie);

    let body = json!({"release": "2011-11-11"});
    let reply = app
        .patch(&format!("/movies/{id}"), &app.tokens.director, &body)
        .await;

    let changed = &reply.ok()["movie changed to "];
    assert_eq!(
        changed["release_date"],
        json!("Fri, 11 Nov 2011 00:00:00 GMT")
    );
    assert_eq!(changed["title"], json!("Universe"));
}

#[tokio::test]
async fn a_patch_accepts_release_date_as_another_name_for_release() {
    let app = spawn_app().await;
    let id = id_of(&app.create_movie("Universe", "2010-10-13").await);

    let body = json!({"release_date": "Fri, 11 Nov 2011 00:00:00 GMT"});
    let reply = app
        .patch(&format!("/movies/{id}"), &app.tokens.director, &body)
        .await;

    assert_eq!(
        reply.ok()["movie changed to "]["release_date"],
        json!("Fri, 11 Nov 2011 00:00:00 GMT")
    );
}

#[tokio::test]
async fn a_patched_movie_reads_back_changed() {
    let app = spawn_app().await;
    let id = id_of(&app.create_movie("Universe", "2010-10-13").await);

    let body = json!({"title": "Multiverse"});
    app.patch(&format!("/movies/{id}"), &app.tokens.director, &body)
        .await
        .ok();

    assert_eq!(app.movie(id).await["title"], json!("Multiverse"));
}

#[tokio::test]
async fn the_actors_in_a_movie_patch_are_ignored() {
    let app = spawn_app().await;
    let id = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let actor = id_of(&app.create_actor("Robert Downey Jr", 44, "Male", None).await);

    let body = json!({"title": "Multiverse", "actors": [actor], "id": 777});
    let reply = app
        .patch(&format!("/movies/{id}"), &app.tokens.director, &body)
        .await;

    let changed = &reply.ok()["movie changed to "];
    assert_eq!(changed["actors"], json!([]));
    assert_eq!(changed["id"], json!(id));
}

#[tokio::test]
async fn an_empty_movie_patch_is_a_422() {
    let app = spawn_app().await;
    let id = id_of(&app.create_movie("Universe", "2010-10-13").await);

    let reply = app
        .patch(&format!("/movies/{id}"), &app.tokens.director, &json!({}))
        .await;

    reply.expect_error(422, "unprocessable");
}

#[tokio::test]
async fn a_movie_patch_with_a_blank_title_is_a_422_and_changes_nothing() {
    let app = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let id = id_of(&movie);

    let body = json!({"title": "  ", "release": "2011-11-11"});
    let reply = app
        .patch(&format!("/movies/{id}"), &app.tokens.director, &body)
        .await;

    reply.expect_unprocessable("title");
    assert_eq!(app.movie(id).await, movie);
}

#[tokio::test]
async fn a_movie_patch_with_an_unknown_field_is_a_422_naming_it() {
    let app = spawn_app().await;
    let id = id_of(&app.create_movie("Universe", "2010-10-13").await);

    let body = json!({"title": "Multiverse", "director": "Someone"});
    let reply = app
        .patch(&format!("/movies/{id}"), &app.tokens.director, &body)
        .await;

    reply.expect_unprocessable("director");
}

#[tokio::test]
async fn a_movie_patch_with_a_wrong_type_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let id = id_of(&app.create_movie("Universe", "2010-10-13").await);

    let body = json!({"title": 7});
    let reply = app
        .patch(&format!("/movies/{id}"), &app.tokens.director, &body)
        .await;

    reply.expect_unprocessable("title");
}

#[tokio::test]
async fn patching_an_unknown_movie_is_a_404() {
    let app = spawn_app().await;

    let body = json!({"title": "Multiverse"});
    let reply = app.patch("/movies/4242", &app.tokens.director, &body).await;

    reply.expect_error(404, "not_found");
}

#[tokio::test]
async fn deleting_a_movie_answers_its_id() {
    let app = spawn_app().await;
    let id = id_of(&app.create_movie("Universe", "2010-10-13").await);

    let reply = app
        .delete(&format!("/movies/{id}"), &app.tokens.producer)
        .await;

    assert_eq!(reply.ok(), &json!({"success": true, "deleted": id}));
}

#[tokio::test]
async fn a_deleted_movie_is_gone() {
    let app = spawn_app().await;
    let kept = app.create_movie("Kept", "2010-10-13").await;
    let id = id_of(&app.create_movie("Gone", "2010-10-13").await);

    app.delete(&format!("/movies/{id}"), &app.tokens.producer)
        .await
        .ok();

    app.get(&format!("/movies/{id}"), &app.tokens.producer)
        .await
        .expect_error(404, "not_found");
    let list = app.get("/movies", &app.tokens.producer).await;
    assert_eq!(list.ok()["movies"], json!([kept]));
}

#[tokio::test]
async fn deleting_an_unknown_movie_is_a_404() {
    let app = spawn_app().await;
    let id = id_of(&app.create_movie("Universe", "2010-10-13").await);
    app.delete(&format!("/movies/{id}"), &app.tokens.producer)
        .await
        .ok();

    let reply = app
        .delete(&format!("/movies/{id}"), &app.tokens.producer)
        .await;

    reply.expect_error(404, "not_found");
}

#[tokio::test]
async fn deleting_a_movie_unassigns_its_actors() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let actor = app
        .create_actor("Robert Downey Jr", 44, "Male", Some(movie))
        .await;
    let id = id_of(&actor);

    app.delete(&format!("/movies/{movie}"), &app.tokens.producer)
        .await
        .ok();

    let mut expected = actor.clone();
    expected["movie_id"] = json!(null);
    assert_eq!(app.actor(id).await, expected);
}

#[tokio::test]
async fn deleting_a_movie_keeps_its_actors() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    app.create_actor("One", 30, "Female", Some(movie)).await;
    app.create_actor("Two", 31, "Male", Some(movie)).await;

    app.delete(&format!("/movies/{movie}"), &app.tokens.producer)
        .await
        .ok();

    let list = app.get("/actors", &app.tokens.producer).await;
    assert_eq!(list.ok()["Total number of actors"], json!(2));
}

#[tokio::test]
async fn a_movie_lists_its_actors_in_ascending_id_order() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let first = id_of(&app.create_actor("One", 30, "Female", None).await);
    let second = id_of(&app.create_actor("Two", 31, "Male", None).await);
    let third = id_of(&app.create_actor("Three", 32, "Male", None).await);

    // Cast in another order than the ids.
    for actor in [third, first, second] {
        let body = json!({"movie_id": movie});
        app.patch(&format!("/actors/{actor}"), &app.tokens.director, &body)
            .await
            .ok();
    }

    assert_eq!(
        app.movie(movie).await["actors"],
        json!([first, second, third])
    );
}

#[tokio::test]
async fn the_movie_list_is_in_ascending_id_order() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for title in ["C", "A", "B"] {
        created.push(id_of(&app.create_movie(title, "2001-01-01").await));
    }

    let reply = app.get("/movies", &app.tokens.assistant).await;

    assert_eq!(ids(&reply.ok()["movies"]), created);
}

#[tokio::test]
async fn a_null_in_a_movie_patch_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let id = id_of(&movie);

    for (field, body) in [
        ("title", json!({"title": null, "release": "2011-11-11"})),
        ("release", json!({"title": "Multiverse", "release": null})),
    ] {
        let reply = app
            .patch(&format!("/movies/{id}"), &app.tokens.director, &body)
            .await;
        reply.expect_unprocessable(field);
    }
    assert_eq!(app.movie(id).await, movie);
}

#[tokio::test]
async fn concurrent_creates_get_distinct_ids() {
    let app = spawn_app().await;

    let mut creates = tokio::task::JoinSet::new();
    for n in 0..40 {
        let request = app
            .authed(reqwest::Method::POST, "/movies", &app.tokens.producer)
            .json(&json!({"title": format!("Movie {n}"), "release": "2001-01-01"}));
        creates.spawn(crate::helpers::send(request));
    }
    let mut created = Vec::new();
    while let Some(reply) = creates.join_next().await {
        let reply = reply.expect("the request task finished");
        created.push(id_of(&reply.ok()["movie added"]));
    }

    created.sort_unstable();
    created.dedup();
    assert_eq!(created.len(), 40, "ids were shared: {created:?}");
    let list = app.get("/movies", &app.tokens.producer).await;
    assert_eq!(list.ok()["Total number of movies"], json!(40));
}

#[tokio::test]
async fn answers_are_json() {
    let app = spawn_app().await;
    app.create_movie("Universe", "2010-10-13").await;

    let reply = app.get("/movies", &app.tokens.assistant).await;

    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type:?}"
    );
}
