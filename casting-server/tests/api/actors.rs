//! `/actors` and `/actors/{id}`: the original wire format, casting through
//! `movie_id`, validation and ids.

use serde_json::{Value, json};

use crate::helpers::{TestApp, id_of, ids, spawn_app};

fn robert(movie_id: Value) -> Value {
    json!({"name": "Robert Downey Jr", "age": 44, "gender": "Male", "movie_id": movie_id})
}

async fn post_actor(app: &TestApp, body: &Value) -> crate::helpers::Reply {
    app.post("/actors", &app.tokens.director, body).await
}

#[tokio::test]
async fn creating_an_actor_answers_200_with_the_original_body() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);

    let reply = post_actor(&app, &robert(json!(movie))).await;

    let json = reply.ok();
    let id = id_of(&json["actor added"]);
    assert_eq!(
        json,
        &json!({
            "success": true,
            "message": "actor added successfully",
            "actor added": {
                "id": id,
                "name": "Robert Downey Jr",
                "age": 44,
                "gender": "Male",
                "movie_id": movie,
            },
        })
    );
}

#[tokio::test]
async fn creating_an_actor_names_it_in_a_location_header() {
    let app = spawn_app().await;

    let reply = post_actor(&app, &robert(json!(null))).await;

    let id = id_of(&reply.ok()["actor added"]);
    let location = reply.header("location").unwrap_or_default();
    assert!(
        location.ends_with(&format!("/actors/{id}")),
        "Location {location:?} does not name /actors/{id}"
    );
}

#[tokio::test]
async fn an_actor_created_without_movie_id_is_not_cast() {
    let app = spawn_app().await;

    let body = json!({"name": "Robert Downey Jr", "age": 44, "gender": "Male"});
    let reply = post_actor(&app, &body).await;

    assert_eq!(reply.ok()["actor added"]["movie_id"], json!(null));
}

#[tokio::test]
async fn an_actor_created_with_a_null_movie_id_is_not_cast() {
    let app = spawn_app().await;

    let reply = post_actor(&app, &robert(json!(null))).await;

    assert_eq!(reply.ok()["actor added"]["movie_id"], json!(null));
}

#[tokio::test]
async fn an_actor_cast_on_create_appears_in_the_movie() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);

    let reply = post_actor(&app, &robert(json!(movie))).await;

    let actor = id_of(&reply.ok()["actor added"]);
    assert_eq!(app.movie(movie).await["actors"], json!([actor]));
}

#[tokio::test]
async fn a_movie_id_naming_no_movie_is_a_422_naming_movie_id() {
    let app = spawn_app().await;

    for movie_id in [4242, 0] {
        let reply = post_actor(&app, &robert(json!(movie_id))).await;
        reply.expect_unprocessable("movie_id");
    }
}

#[tokio::test]
async fn a_movie_id_of_a_deleted_movie_is_a_422_naming_movie_id() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    app.delete(&format!("/movies/{movie}"), &app.tokens.producer)
        .await
        .ok();

    let reply = post_actor(&app, &robert(json!(movie))).await;

    reply.expect_unprocessable("movie_id");
}

#[tokio::test]
async fn a_movie_id_of_the_wrong_type_is_a_422_naming_movie_id() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);

    for movie_id in [
        json!(movie.to_string()),
        json!(1.5),
        json!(-1),
        json!([movie]),
    ] {
        let reply = post_actor(&app, &robert(movie_id)).await;
        reply.expect_unprocessable("movie_id");
    }
}

#[tokio::test]
async fn a_missing_required_field_is_a_422_naming_it() {
    let app = spawn_app().await;

    for field in ["name", "age", "gender"] {
        let mut body = robert(json!(null));
        body.as_object_mut().map(|o| o.remove(field));
        let reply = post_actor(&app, &body).await;
        reply.expect_unprocessable(field);
    }
}

#[tokio::test]
async fn an_empty_or_blank_name_is_a_422_naming_name() {
    let app = spawn_app().await;

    for name in ["", "   ", "\t"] {
        let mut body = robert(json!(null));
        body["name"] = json!(name);
        post_actor(&app, &body).await.expect_unprocessable("name");
    }
}

#[tokio::test]
async fn a_name_may_have_200_characters_but_not_201() {
    let app = spawn_app().await;

    let mut body = robert(json!(null));
    body["name"] = json!("n".repeat(200));
    post_actor(&app, &body).await.ok();

    body["name"] = json!("n".repeat(201));
    post_actor(&app, &body).await.expect_unprocessable("name");
}

#[tokio::test]
async fn a_name_of_the_wrong_type_is_a_422_naming_name() {
    let app = spawn_app().await;

    for name in [json!(5), json!(null), json!({"first": "Robert"})] {
        let mut body = robert(json!(null));
        body["name"] = name;
        post_actor(&app, &body).await.expect_unprocessable("name");
    }
}

#[tokio::test]
async fn an_age_outside_0_to_150_is_a_422_naming_age() {
    let app = spawn_app().await;

    for age in [-1, 151, 1000, 256, 65_536] {
        let mut body = robert(json!(null));
        body["age"] = json!(age);
        post_actor(&app, &body).await.expect_unprocessable("age");
    }
}

#[tokio::test]
async fn ages_0_and_150_are_accepted() {
    let app = spawn_app().await;

    for age in [0, 150] {
        let mut body = robert(json!(null));
        body["age"] = json!(age);
        let reply = post_actor(&app, &body).await;
        assert_eq!(reply.ok()["actor added"]["age"], json!(age));
    }
}

#[tokio::test]
async fn an_age_that_is_not_an_integer_is_a_422_naming_age() {
    let app = spawn_app().await;

    for age in [json!("44"), json!(44.5), json!(null), json!(true)] {
        let mut body = robert(json!(null));
        body["age"] = age;
        post_actor(&app, &body).await.expect_unprocessable("age");
    }
}

#[tokio::test]
async fn an_empty_gender_is_a_422_naming_gender() {
    let app = spawn_app().await;

    let mut body = robert(json!(null));
    body["gender"] = json!("");
    let reply = post_actor(&app, &body).await;

    reply.expect_unprocessable("gender");
}

#[tokio::test]
async fn a_gender_may_have_64_characters_but_not_65() {
    let app = spawn_app().await;

    let mut body = robert(json!(null));
    body["gender"] = json!("g".repeat(64));
    post_actor(&app, &body).await.ok();

    body["gender"] = json!("g".repeat(65));
    post_actor(&app, &body).await.expect_unprocessable("gender");
}

#[tokio::test]
async fn a_gender_of_the_wrong_type_is_a_422_naming_gender() {
    let app = spawn_app().await;

    let mut body = robert(json!(null));
    body["gender"] = json!(1);
    let reply = post_actor(&app, &body).await;

    reply.expect_unprocessable("gender");
}

#[tokio::test]
async fn an_unknown_field_in_a_new_actor_is_a_422_naming_it() {
    let app = spawn_app().await;

    let mut body = robert(json!(null));
    body["nickname"] = json!("RDJ");
    let reply = post_actor(&app, &body).await;

    reply.expect_unprocessable("nickname");
}

#[tokio::test]
async fn the_id_in_a_new_actor_is_ignored() {
    let app = spawn_app().await;

    let mut body = robert(json!(null));
    body["id"] = json!(999);
    let reply = post_actor(&app, &body).await;

    assert_ne!(reply.ok()["actor added"]["id"], json!(999));
}

#[tokio::test]
async fn an_actor_read_back_can_be_posted_again() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let original = app
        .create_actor("Robert Downey Jr", 44, "Male", Some(movie))
        .await;
    let read_back = app.actor(id_of(&original)).await;

    let reply = post_actor(&app, &read_back).await;

    let mut copy = reply.ok()["actor added"].clone();
    assert_ne!(copy["id"], original["id"]);
    copy["id"] = original["id"].clone();
    assert_eq!(copy, original);
}

#[tokio::test]
async fn an_actor_read_back_can_be_patched_back_unchanged() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let actor = app
        .create_actor("Robert Downey Jr", 44, "Male", Some(movie))
        .await;
    let id = id_of(&actor);

    let reply = app
        .patch(&format!("/actors/{id}"), &app.tokens.director, &actor)
        .await;

    assert_eq!(reply.ok()["actor changed to "], actor);
}

#[tokio::test]
async fn getting_an_actor_answers_it_under_actor() {
    let app = spawn_app().await;
    let actor = app.create_actor("Robert Downey Jr", 44, "Male", None).await;
    let id = id_of(&actor);

    let reply = app
        .get(&format!("/actors/{id}"), &app.tokens.assistant)
        .await;

    assert_eq!(reply.ok(), &json!({"success": true, "actor": actor}));
}

#[tokio::test]
async fn getting_an_unknown_actor_is_a_404() {
    let app = spawn_app().await;

    let reply = app.get("/actors/4242", &app.tokens.assistant).await;

    reply.expect_error(404, "not_found");
}

#[tokio::test]
async fn listing_actors_answers_the_original_body() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let first = app
        .create_actor("Robert Downey Jr", 44, "Male", Some(movie))
        .await;
    let second = app
        .create_actor("Scarlett Johansson", 35, "Female", None)
        .await;

    let reply = app.get("/actors", &app.tokens.assistant).await;

    assert_eq!(
        reply.ok(),
        &json!({
            "success": true,
            "All Actors": [first, second],
            "Total number of actors": 2,
        })
    );
}

#[tokio::test]
async fn listing_an_empty_store_answers_no_actors() {
    let app = spawn_app().await;

    let reply = app.get("/actors", &app.tokens.assistant).await;

    assert_eq!(
        reply.ok(),
        &json!({"success": true, "All Actors": [], "Total number of actors": 0})
    );
}

#[tokio::test]
async fn the_actor_total_counts_the_store_not_the_page() {
    let app = spawn_app().await;
    for name in ["One", "Two", "Three"] {
        app.create_actor(name, 30, "Female", None).await;
    }

    let reply = app.get("/actors?limit=2", &app.tokens.assistant).await;

    let json = reply.ok();
    assert_eq!(json["All Actors"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["Total number of actors"], json!(3));
}

#[tokio::test]
async fn patching_an_age_answers_the_original_body_and_keeps_the_rest() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let actor = app
        .create_actor("Robert Downey Jr", 44, "Male", Some(movie))
        .await;
    let id = id_of(&actor);

    let reply = app
        .patch(
            &format!("/actors/{id}"),
            &app.tokens.director,
            &json!({"age": 45}),
        )
        .await;

    let mut expected = actor;
    expected["age"] = json!(45);
    assert_eq!(
        reply.ok(),
        &json!({
            "success": true,
            "message": "update successfull",
            "actor changed to ": expected,
        })
    );
}

#[tokio::test]
async fn patching_movie_id_to_null_takes_the_actor_off_its_movie() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let id = id_of(
        &app.create_actor("Robert Downey Jr", 44, "Male", Some(movie))
            .await,
    );

    let body = json!({"movie_id": null});
    let reply = app
        .patch(&format!("/actors/{id}"), &app.tokens.director, &body)
        .await;

    assert_eq!(reply.ok()["actor changed to "]["movie_id"], json!(null));
    assert_eq!(app.movie(movie).await["actors"], json!([]));
}

#[tokio::test]
async fn a_patch_without_movie_id_leaves_the_cast_as_it_is() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let id = id_of(
        &app.create_actor("Robert Downey Jr", 44, "Male", Some(movie))
            .await,
    );

    let body = json!({"name": "Robert John Downey Jr"});
    let reply = app
        .patch(&format!("/actors/{id}"), &app.tokens.director, &body)
        .await;

    assert_eq!(reply.ok()["actor changed to "]["movie_id"], json!(movie));
}

#[tokio::test]
async fn patching_movie_id_moves_the_actor_to_another_movie() {
    let app = spawn_app().await;
    let from = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let to = id_of(&app.create_movie("Galaxy", "2012-01-02").await);
    let id = id_of(
        &app.create_actor("Robert Downey Jr", 44, "Male", Some(from))
            .await,
    );

    let body = json!({"movie_id": to});
    app.patch(&format!("/actors/{id}"), &app.tokens.director, &body)
        .await
        .ok();

    assert_eq!(app.movie(from).await["actors"], json!([]));
    assert_eq!(app.movie(to).await["actors"], json!([id]));
}

#[tokio::test]
async fn patching_movie_id_to_a_missing_movie_is_a_422_naming_movie_id() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let actor = app
        .create_actor("Robert Downey Jr", 44, "Male", Some(movie))
        .await;
    let id = id_of(&actor);

    let body = json!({"movie_id": 4242});
    let reply = app
        .patch(&format!("/actors/{id}"), &app.tokens.director, &body)
        .await;

    reply.expect_unprocessable("movie_id");
    assert_eq!(app.actor(id).await, actor);
}

#[tokio::test]
async fn an_empty_actor_patch_is_a_422() {
    let app = spawn_app().await;
    let id = id_of(&app.create_actor("Robert Downey Jr", 44, "Male", None).await);

    let reply = app
        .patch(&format!("/actors/{id}"), &app.tokens.director, &json!({}))
        .await;

    reply.expect_error(422, "unprocessable");
}

#[tokio::test]
async fn an_actor_patch_with_an_invalid_age_is_a_422_and_changes_nothing() {
    let app = spawn_app().await;
    let actor = app.create_actor("Robert Downey Jr", 44, "Male", None).await;
    let id = id_of(&actor);

    let body = json!({"name": "Someone Else", "age": 151});
    let reply = app
        .patch(&format!("/actors/{id}"), &app.tokens.director, &body)
        .await;

    reply.expect_unprocessable("age");
    assert_eq!(app.actor(id).await, actor);
}

#[tokio::test]
async fn an_actor_patch_with_an_unknown_field_is_a_422_naming_it() {
    let app = spawn_app().await;
    let id = id_of(&app.create_actor("Robert Downey Jr", 44, "Male", None).await);

    let body = json!({"age": 45, "height": 174});
    let reply = app
        .patch(&format!("/actors/{id}"), &app.tokens.director, &body)
        .await;

    reply.expect_unprocessable("height");
}

#[tokio::test]
async fn an_actor_patch_with_a_blank_gender_is_a_422_naming_gender() {
    let app = spawn_app().await;
    let id = id_of(&app.create_actor("Robert Downey Jr", 44, "Male", None).await);

    let body = json!({"gender": ""});
    let reply = app
        .patch(&format!("/actors/{id}"), &app.tokens.director, &body)
        .await;

    reply.expect_unprocessable("gender");
}

#[tokio::test]
async fn patching_an_unknown_actor_is_a_404() {
    let app = spawn_app().await;

    let reply = app
        .patch("/actors/4242", &app.tokens.director, &json!({"age": 45}))
        .await;

    reply.expect_error(404, "not_found");
}

#[tokio::test]
async fn deleting_an_actor_answers_its_id() {
    let app = spawn_app().await;
    let id = id_of(&app.create_actor("Robert Downey Jr", 44, "Male", None).await);

    let reply = app
        .delete(&format!("/actors/{id}"), &app.tokens.director)
        .await;

    assert_eq!(reply.ok(), &json!({"success": true, "deleted": id}));
}

#[tokio::test]
async fn a_deleted_actor_leaves_its_movie() {
    let app = spawn_app().await;
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let gone = id_of(&app.create_actor("Gone", 44, "Male", Some(movie)).await);
    let kept = id_of(&app.create_actor("Kept", 35, "Female", Some(movie)).await);

    app.delete(&format!("/actors/{gone}"), &app.tokens.director)
        .await
        .ok();

    assert_eq!(app.movie(movie).await["actors"], json!([kept]));
    app.get(&format!("/actors/{gone}"), &app.tokens.director)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn deleting_an_unknown_actor_is_a_404() {
    let app = spawn_app().await;

    let reply = app.delete("/actors/4242", &app.tokens.director).await;

    reply.expect_error(404, "not_found");
}

#[tokio::test]
async fn actor_ids_are_never_reused_after_a_delete() {
    let app = spawn_app().await;
    app.create_actor("One", 30, "Female", None).await;
    let last = id_of(&app.create_actor("Two", 31, "Male", None).await);
    app.delete(&format!("/actors/{last}"), &app.tokens.director)
        .await
        .ok();

    let next = id_of(&app.create_actor("Three", 32, "Male", None).await);

    assert!(
        next > last,
        "id {next} reuses or precedes the deleted {last}"
    );
}

#[tokio::test]
async fn the_actor_list_is_in_ascending_id_order() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for name in ["Zed", "Amy", "Max"] {
        created.push(id_of(&app.create_actor(name, 30, "Female", None).await));
    }

    let reply = app.get("/actors", &app.tokens.assistant).await;

    assert_eq!(ids(&reply.ok()["All Actors"]), created);
}

#[tokio::test]
async fn a_null_in_an_actor_patch_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let actor = app.create_actor("Robert Downey Jr", 44, "Male", None).await;
    let id = id_of(&actor);

    for (field, body) in [
        ("name", json!({"name": null, "age": 45})),
        ("age", json!({"age": null, "gender": "Female"})),
        ("gender", json!({"gender": null, "age": 45})),
    ] {
        let reply = app
            .patch(&format!("/actors/{id}"), &app.tokens.director, &body)
            .await;
        reply.expect_unprocessable(field);
    }
    assert_eq!(app.actor(id).await, actor);
}
