//! The bodies of the contract's successful answers, with their verbatim keys
//! (spaces and the original's spelling included), and the query strings of
//! lists and searches.

use casting_core::{Actor, ActorQuery, Movie, MovieQuery, Page, PageRequest, ReleaseDate};
use serde::Deserialize;

/// `GET /movies`
#[derive(Deserialize)]
pub(crate) struct MovieList {
    movies: Vec<Movie>,
    #[serde(rename = "Total number of movies")]
    total: u64,
    #[serde(default)]
    next: Option<u64>,
}

/// `GET /actors`
#[derive(Deserialize)]
pub(crate) struct ActorList {
    #[serde(rename = "All Actors")]
    actors: Vec<Actor>,
    #[serde(rename = "Total number of actors")]
    total: u64,
    #[serde(default)]
    next: Option<u64>,
}

/// `GET /movies/search`
#[derive(Deserialize)]
pub(crate) struct MovieSearch {
    movies: Vec<Movie>,
    total: u64,
    #[serde(default)]
    next: Option<u64>,
}

/// `GET /actors/search`
#[derive(Deserialize)]
pub(crate) struct ActorSearch {
    actors: Vec<Actor>,
    total: u64,
    #[serde(default)]
    next: Option<u64>,
}

impl From<MovieList> for Page<Movie> {
    fn from(list: MovieList) -> Self {
        Page {
            items: list.movies,
            total: list.total,
            next: list.next,
        }
    }
}

impl From<ActorList> for Page<Actor> {
    fn from(list: ActorList) -> Self {
        Page {
            items: list.actors,
            total: list.total,
            next: list.next,
        }
    }
}

impl From<MovieSearch> for Page<Movie> {
    fn from(search: MovieSearch) -> Self {
        Page {
            items: search.movies,
            total: search.total,
            next: search.next,
        }
    }
}

impl From<ActorSearch> for Page<Actor> {
    fn from(search: ActorSearch) -> Self {
        Page {
            items: search.actors,
            total: search.total,
            next: search.next,
        }
    }
}

/// `GET /movies/{id}`
#[derive(Deserialize)]
pub(crate) struct OneMovie {
    pub(crate) movie: Movie,
}

/// `GET /actors/{id}`
#[derive(Deserialize)]
pub(crate) struct OneActor {
    pub(crate) actor: Actor,
}

/// `POST /movies`
#[derive(Deserialize)]
pub(crate) struct MovieAdded {
    #[serde(rename = "movie added")]
    pub(crate) movie: Movie,
}

/// `POST /actors`
#[derive(Deserialize)]
pub(crate) struct ActorAdded {
    #[serde(rename = "actor added")]
    pub(crate) actor: Actor,
}

/// `PATCH /movies/{id}`; the trailing space is the original service's.
#[derive(Deserialize)]
pub(crate) struct MovieChanged {
    #[serde(rename = "movie changed to ")]
    pub(crate) movie: Movie,
}

/// `PATCH /actors/{id}`; the trailing space is the original service's.
#[derive(Deserialize)]
pub(crate) struct ActorChanged {
    #[serde(rename = "actor changed to ")]
    pub(crate) actor: Actor,
}

/// `DELETE /movies/{id}` and `DELETE /actors/{id}`
#[derive(Deserialize)]
pub(crate) struct Deleted {
    pub(crate) deleted: u64,
}

/// The parameters of a page.
pub(crate) fn page_params(page: PageRequest) -> Vec<(&'static str, String)> {
    let mut params = Vec::with_capacity(2);
    if let Some(limit) = page.limit {
        params.push(("limit", limit.to_string()));
    }
    if let Some(after) = page.after {
        params.push(("after", after.to_string()));
    }
    params
}

/// A date as `YYYY-MM-DD`, the plainest form the server reads.
fn iso(date: ReleaseDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

/// The parameters of a movie search.
pub(crate) fn movie_params(query: &MovieQuery) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    if let Some(q) = &query.q {
        params.push(("q", q.clone()));
    }
    if let Some(after) = query.released_after {
        params.push(("released_after", iso(after)));
    }
    if let Some(before) = query.released_before {
        params.push(("released_before", iso(before)));
    }
    params.extend(page_params(query.page));
    params
}

/// The parameters of an actor search.
pub(crate) fn actor_params(query: &ActorQuery) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    if let Some(q) = &query.q {
        params.push(("q", q.clone()));
    }
    if let Some(gender) = &query.gender {
        params.push(("gender", gender.clone()));
    }
    if let Some(min_age) = query.min_age {
        params.push(("min_age", min_age.to_string()));
    }
    if let Some(max_age) = query.max_age {
        params.push(("max_age", max_age.to_string()));
    }
    if let Some(movie_id) = query.movie_id {
        params.push(("movie_id", movie_id.to_string()));
    }
    params.extend(page_params(query.page));
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_original_list_keys_are_read() {
        let list: MovieList = serde_json::from_value(json!({
            "success": true,
            "movies": [{"id": 1, "title": "Universe", "release_date": "Wed, 13 Oct 2010 00:00:00 GMT", "actors": [2]}],
            "Total number of movies": 7,
        }))
        .unwrap();
        let page = Page::from(list);
        assert_eq!((page.items.len(), page.total, page.next), (1, 7, None));

        let list: ActorList = serde_json::from_value(json!({
            "success": true,
            "All Actors": [],
            "Total number of actors": 3,
            "next": 9,
        }))
        .unwrap();
        assert_eq!(Page::from(list).next, Some(9));
    }

    #[test]
    fn the_trailing_space_of_the_changed_keys_is_kept() {
        let changed: ActorChanged = serde_json::from_value(json!({
            "success": true,
            "message": "update successfull",
            "actor changed to ": {"id": 1, "name": "A", "age": 4, "gender": "F", "movie_id": null},
        }))
        .unwrap();
        assert_eq!(changed.actor.movie_id, None);
    }

    #[test]
    fn searches_send_only_the_given_filters() {
        let query = MovieQuery {
            q: Some("uni".into()),
            released_after: Some("2000-01-02".parse().unwrap()),
            page: PageRequest::first(10).after(4),
            ..MovieQuery::default()
        };
        assert_eq!(
            movie_params(&query),
            [
                ("q", "uni".to_owned()),
                ("released_after", "2000-01-02".to_owned()),
                ("limit", "10".to_owned()),
                ("after", "4".to_owned()),
            ]
        );
        assert!(actor_params(&ActorQuery::default()).is_empty());
        let query = ActorQuery {
            gender: Some("Female".into()),
            min_age: Some(20),
            max_age: Some(30),
            movie_id: Some(2),
            ..ActorQuery::default()
        };
        assert_eq!(
            actor_params(&query),
            [
                ("gender", "Female".to_owned()),
                ("min_age", "20".to_owned()),
                ("max_age", "30".to_owned()),
                ("movie_id", "2".to_owned()),
            ]
        );
    }
}

/// `GET /audit`
#[derive(Deserialize)]
pub(crate) struct AuditList {
    pub(crate) entries: Vec<casting_core::AuditEntry>,
    pub(crate) next: Option<u64>,
}

/// The parameters of a page of the audit log.
pub(crate) fn audit_params(query: &casting_core::AuditQuery) -> Vec<(&'static str, String)> {
    let mut params = vec![("limit", query.limit.to_string())];
    if let Some(after) = query.after {
        params.push(("after", after.to_string()));
    }
    if let Some(kind) = query.kind {
        params.push(("kind", kind.as_str().to_owned()));
    }
    if let Some(record) = query.record {
        params.push(("record", record.to_string()));
    }
    params
}
