//! What the server holds, as plain records: read whole through the lists,
//! with the invariants of the lists and of the movie/actor relation checked;
//! and the same records as the audit log tells them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{Server, client};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MovieRec {
    pub(crate) title: String,
    pub(crate) release_date: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActorRec {
    pub(crate) name: String,
    pub(crate) age: u64,
    pub(crate) gender: String,
    pub(crate) movie_id: Option<u64>,
}

/// Movies and actors by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Records {
    pub(crate) movies: BTreeMap<u64, MovieRec>,
    pub(crate) actors: BTreeMap<u64, ActorRec>,
}

/// A movie of the wire, its id and its `actors` list apart.
pub(crate) fn movie_of(movie: &Value) -> (u64, MovieRec, Vec<u64>) {
    let id = movie["id"].as_u64().expect("a movie id");
    let actors = movie["actors"]
        .as_array()
        .expect("an actors list")
        .iter()
        .map(|a| a.as_u64().expect("an actor id"))
        .collect();
    let movie = MovieRec {
        title: movie["title"].as_str().expect("a title").into(),
        release_date: movie["release_date"].as_str().expect("a date").into(),
    };
    (id, movie, actors)
}

/// An actor of the wire, its id apart.
pub(crate) fn actor_of(actor: &Value) -> (u64, ActorRec) {
    let id = actor["id"].as_u64().expect("an actor id");
    let actor = ActorRec {
        name: actor["name"].as_str().expect("a name").into(),
        age: actor["age"].as_u64().expect("an age"),
        gender: actor["gender"].as_str().expect("a gender").into(),
        movie_id: actor["movie_id"].as_u64(),
    };
    (id, actor)
}

async fn get_list(server: &Server, token: &str, path: &str) -> Value {
    let response = client()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response.json::<Value>().await.expect("a JSON list")
}

/// Everything the server holds. Checks that each list holds each id once,
/// in ascending order, that the totals count them, and that each movie's
/// `actors` is exactly the actors naming it.
pub(crate) async fn snapshot(server: &Server, token: &str) -> Records {
    let movies = get_list(server, token, "/movies").await;
    let actors = get_list(server, token, "/actors").await;
    let movie_list = movies["movies"].as_array().expect("a movie list");
    let actor_list = actors["All Actors"].as_array().expect("an actor list");
    assert_eq!(
        movies["Total number of movies"],
        json!(movie_list.len()),
        "the total counts the movies"
    );
    assert_eq!(
        actors["Total number of actors"],
        json!(actor_list.len()),
        "the total counts the actors"
    );

    let mut records = Records::default();
    let mut cast = BTreeMap::new();
    let mut last = 0;
    for movie in movie_list {
        let (id, movie, actors) = movie_of(movie);
        assert!(
            id > last,
            "movie ids are unique and ascending: {id} after {last}"
        );
        last = id;
        cast.insert(id, actors);
        records.movies.insert(id, movie);
    }
    let mut last = 0;
    for actor in actor_list {
        let (id, actor) = actor_of(actor);
        assert!(
            id > last,
            "actor ids are unique and ascending: {id} after {last}"
        );
        last = id;
        records.actors.insert(id, actor);
    }
    check_relation(&records, &cast);
    records
}

/// Each movie's `actors` is exactly the actors that name it, in ascending
/// order, and every `movie_id` names a movie.
fn check_relation(records: &Records, cast: &BTreeMap<u64, Vec<u64>>) {
    let mut expected: BTreeMap<u64, Vec<u64>> =
        records.movies.keys().map(|id| (*id, Vec::new())).collect();
    for (id, actor) in &records.actors {
        if let Some(movie) = actor.movie_id {
            expected
                .get_mut(&movie)
                .unwrap_or_else(|| panic!("actor {id} names movie {movie}, which is gone"))
                .push(*id);
        }
    }
    assert_eq!(cast, &expected, "the movies' actors lists");
}

/// The records the audit log says the server holds: each record as the
/// `after` of its last entry, and gone after its `delete`; with the number
/// of entries. Checks that entry ids run 1, 2, 3 ... without a gap, as each
/// is given in the transaction of its write.
pub(crate) async fn replay_audit(server: &Server, token: &str) -> (Records, u64) {
    let mut records = Records::default();
    let mut last = 0;
    loop {
        let page = get_list(server, token, &format!("/audit?limit=1000&after={last}")).await;
        for entry in page["entries"].as_array().expect("an entry list") {
            let id = entry["id"].as_u64().expect("an entry id");
            assert_eq!(id, last + 1, "audit entry ids run without a gap: {entry}");
            last = id;
            let record = entry["record"].as_u64().expect("a record id");
            match (entry["kind"].as_str(), entry["action"].as_str()) {
                (Some("movie"), Some("delete")) => {
                    records.movies.remove(&record);
                }
                (Some("actor"), Some("delete")) => {
                    records.actors.remove(&record);
                }
                (Some("movie"), Some("create" | "update")) => {
                    let (id, movie, _) = movie_of(&entry["after"]);
                    assert_eq!(id, record, "{entry}");
                    records.movies.insert(id, movie);
                }
                (Some("actor"), Some("create" | "update")) => {
                    let (id, actor) = actor_of(&entry["after"]);
                    assert_eq!(id, record, "{entry}");
                    records.actors.insert(id, actor);
                }
                _ => panic!("an entry of no known kind or action: {entry}"),
            }
        }
        if page["next"].is_null() {
            return (records, last);
        }
    }
}
