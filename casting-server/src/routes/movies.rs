//! `/movies`: the original routes, verbatim keys included, and the reads
//! and search added beside them.

use bytes::Bytes;
use casting_core::{Movie, MoviePatch, NewMovie, Principal, Write, Written};
use http::HeaderMap;
use hyper::body::Body;
use serde::Serialize;

use super::{id, unprocessable};
use crate::app::App;
use crate::http::error::ApiError;
use crate::http::response::{HttpResponse, created, ok};
use crate::http::{body, query};

#[derive(Serialize)]
struct List<'a> {
    success: bool,
    movies: &'a [Movie],
    #[serde(rename = "Total number of movies")]
    total: u64,
    /// Present only when the request gave a `limit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Option<u64>>,
}

#[derive(Serialize)]
struct Search<'a> {
    success: bool,
    movies: &'a [Movie],
    total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Option<u64>>,
}

#[derive(Serialize)]
struct One<'a> {
    success: bool,
    movie: &'a Movie,
}

#[derive(Serialize)]
struct Added<'a> {
    success: bool,
    message: &'static str,
    #[serde(rename = "movie added")]
    movie: &'a Movie,
}

#[derive(Serialize)]
struct Changed<'a> {
    success: bool,
    message: &'static str,
    // The trailing space is the original service's, kept for its clients.
    #[serde(rename = "movie changed to ")]
    movie: &'a Movie,
}

#[derive(Serialize)]
pub(super) struct Deleted {
    pub(super) success: bool,
    pub(super) deleted: u64,
}

/// `GET /movies`
pub async fn list(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let page = query::page(query)?;
    let found = app
        .read(principal, move |agency, p| agency.list_movies(p, page))
        .await?;
    let next = page.limit.map(|_| found.next);
    ok(&List {
        success: true,
        movies: &found.items,
        total: found.total,
        next,
    })
}

/// `GET /movies/search`
pub async fn search(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let search = query::movie_search(query)?;
    let limited = search.page.limit.is_some();
    let found = app
        .read(principal, move |agency, p| agency.search_movies(p, &search))
        .await?;
    let next = limited.then_some(found.next);
    ok(&Search {
        success: true,
        movies: &found.items,
        total: found.total,
        next,
    })
}

/// `GET /movies/{id}`
pub async fn get(
    app: &App,
    principal: &Principal,
    raw_id: &str,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    query::none(query)?;
    let id = id(raw_id)?;
    let movie = app
        .read(principal, move |agency, p| agency.movie(p, id))
        .await?;
    ok(&One {
        success: true,
        movie: &movie,
    })
}

/// `POST /movies`
pub async fn create<B>(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
    headers: &HeaderMap,
    body: B,
) -> Result<HttpResponse, ApiError>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    query::none(query)?;
    let value = body::read_json(headers, body, app.body_limit()).await?;
    let input = NewMovie::from_json(&value).map_err(unprocessable)?;
    let movie = app
        .write(principal, Write::CreateMovie(input), Written::into_movie)
        .await?;
    let body = Added {
        success: true,
        message: "movie added successfully",
        movie: &movie,
    };
    created(&body, format!("/movies/{}", movie.id))
}

/// `PATCH /movies/{id}`
pub async fn update<B>(
    app: &App,
    principal: &Principal,
    raw_id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: B,
) -> Result<HttpResponse, ApiError>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    query::none(query)?;
    let id = id(raw_id)?;
    let value = body::read_json(headers, body, app.body_limit()).await?;
    let patch = MoviePatch::from_json(&value).map_err(unprocessable)?;
    let movie = app
        .write(
            principal,
            Write::UpdateMovie(id, patch),
            Written::into_movie,
        )
        .await?;
    ok(&Changed {
        success: true,
        message: "update successfull",
        movie: &movie,
    })
}

/// `DELETE /movies/{id}`
pub async fn delete(
    app: &App,
    principal: &Principal,
    raw_id: &str,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    query::none(query)?;
    let id = id(raw_id)?;
    let deleted = app
        .write(principal, Write::DeleteMovie(id), Written::into_deleted)
        .await?;
    ok(&Deleted {
        success: true,
        deleted,
    })
}
