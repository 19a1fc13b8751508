//! `/movies`: the original routes with their verbatim keys, and the search
//! added beside them.

use std::sync::Arc;

use casting_core::{Movie, MoviePatch, NewMovie, Principal, RecordKind, Write, Written};

use super::resource::{List, Resource};
use crate::app::{App, Rows};
use crate::http::error::ApiError;
use crate::http::query;
use crate::http::response::{HttpResponse, ok};

/// Movies, with the keys of the original service, spelling included (the
/// trailing space of `movie changed to ` too: its clients match on it).
pub const MOVIES: Resource<Movie, NewMovie, MoviePatch> = Resource {
    path: "/movies",
    kind: RecordKind::Movie,
    one: "movie",
    list: "movies",
    total: "Total number of movies",
    found: "movies",
    added: "movie added",
    added_message: "movie added successfully",
    changed: "movie changed to ",
    decode_new: NewMovie::from_json,
    decode_patch: MoviePatch::from_json,
    create: Write::CreateMovie,
    update: Write::UpdateMovie,
    delete: Write::DeleteMovie,
    written: Written::into_movie,
    page: |agency, principal, page| agency.list_movies(principal, page),
    get: |agency, principal, id| agency.movie_versioned(principal, id),
};

/// `GET /movies/search`
pub async fn search(
    app: &App,
    principal: &Arc<Principal>,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let search = query::movie_search(query)?;
    let limited = search.page.limit.is_some();
    let found = app
        .read(
            principal,
            Rows::Table(RecordKind::Movie),
            move |agency, p| agency.search_movies(p, &search),
        )
        .await?;
    ok(&List::new(MOVIES.found, "total", &found, limited))
}
