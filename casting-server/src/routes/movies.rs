//! `/movies`: the original routes with their verbatim keys, and the search
//! added beside them.

use std::sync::Arc;

use casting_core::{
    Agency, Error, InvalidField, JsonBody, Movie, MoviePatch, NewMovie, Page, PageRequest,
    Principal, RecordKind, Versioned, Write, Written,
};

use super::resource::{List, Resource};
use crate::http::error::ApiError;
use crate::http::query;
use crate::http::response::{HttpResponse, ok_written};
use crate::state::{App, Rows};

/// Movies, with the keys of the original service, spelling included (the
/// trailing space of `movie changed to ` too: its clients match on it).
#[derive(Debug, Clone, Copy)]
pub struct Movies;

impl Resource for Movies {
    type Record = Movie;
    type New = NewMovie;
    type Patch = MoviePatch;

    const PATH: &'static str = "/movies";
    const KIND: RecordKind = RecordKind::Movie;
    const ONE: &'static str = "movie";
    const LIST: &'static str = "movies";
    const TOTAL: &'static str = "Total number of movies";
    const FOUND: &'static str = "movies";
    const ADDED: &'static str = "movie added";
    const ADDED_MESSAGE: &'static str = "movie added successfully";
    const CHANGED: &'static str = "movie changed to ";

    fn decode_new(body: &JsonBody<'_>) -> Result<NewMovie, InvalidField> {
        NewMovie::from_body(body)
    }

    fn decode_patch(body: &JsonBody<'_>) -> Result<MoviePatch, InvalidField> {
        MoviePatch::from_body(body)
    }

    fn create(input: NewMovie) -> Write {
        Write::CreateMovie(input)
    }

    fn update(id: u64, patch: MoviePatch) -> Write {
        Write::UpdateMovie(id, patch)
    }

    fn delete(id: u64) -> Write {
        Write::DeleteMovie(id)
    }

    fn written(written: Written) -> Option<Movie> {
        written.into_movie()
    }

    fn page(
        agency: &Agency,
        principal: &Principal,
        request: PageRequest,
    ) -> Result<Page<Movie>, Error> {
        agency.list_movies(principal, request)
    }

    fn get(agency: &Agency, principal: &Principal, id: u64) -> Result<Versioned<Movie>, Error> {
        agency.movie_versioned(principal, id)
    }
}

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
    Ok(ok_written(&List::new(
        Movies::FOUND,
        "total",
        &found,
        limited,
    )))
}
