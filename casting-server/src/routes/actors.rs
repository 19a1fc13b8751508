//! `/actors`: the original routes, verbatim keys included, and the reads
//! and search added beside them.

use bytes::Bytes;
use casting_core::{Actor, ActorPatch, NewActor, Principal, Write, Written};
use http::HeaderMap;
use hyper::body::Body;
use serde::Serialize;

use super::movies::Deleted;
use super::{id, unprocessable};
use crate::app::App;
use crate::http::error::ApiError;
use crate::http::response::{HttpResponse, created, ok};
use crate::http::{body, query};

#[derive(Serialize)]
struct List<'a> {
    success: bool,
    #[serde(rename = "All Actors")]
    actors: &'a [Actor],
    #[serde(rename = "Total number of actors")]
    total: u64,
    /// Present only when the request gave a `limit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Option<u64>>,
}

#[derive(Serialize)]
struct Search<'a> {
    success: bool,
    actors: &'a [Actor],
    total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Option<u64>>,
}

#[derive(Serialize)]
struct One<'a> {
    success: bool,
    actor: &'a Actor,
}

#[derive(Serialize)]
struct Added<'a> {
    success: bool,
    message: &'static str,
    #[serde(rename = "actor added")]
    actor: &'a Actor,
}

#[derive(Serialize)]
struct Changed<'a> {
    success: bool,
    message: &'static str,
    // The trailing space is the original service's, kept for its clients.
    #[serde(rename = "actor changed to ")]
    actor: &'a Actor,
}

/// `GET /actors`
pub async fn list(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let page = query::page(query)?;
    let found = app
        .read(principal, move |agency, p| agency.list_actors(p, page))
        .await?;
    let next = page.limit.map(|_| found.next);
    ok(&List {
        success: true,
        actors: &found.items,
        total: found.total,
        next,
    })
}

/// `GET /actors/search`
pub async fn search(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let search = query::actor_search(query)?;
    let limited = search.page.limit.is_some();
    let found = app
        .read(principal, move |agency, p| agency.search_actors(p, &search))
        .await?;
    let next = limited.then_some(found.next);
    ok(&Search {
        success: true,
        actors: &found.items,
        total: found.total,
        next,
    })
}

/// `GET /actors/{id}`
pub async fn get(
    app: &App,
    principal: &Principal,
    raw_id: &str,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    query::none(query)?;
    let id = id(raw_id)?;
    let actor = app
        .read(principal, move |agency, p| agency.actor(p, id))
        .await?;
    ok(&One {
        success: true,
        actor: &actor,
    })
}

/// `POST /actors`
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
    let input = NewActor::from_json(&value).map_err(unprocessable)?;
    let actor = app
        .write(principal, Write::CreateActor(input), Written::into_actor)
        .await?;
    let body = Added {
        success: true,
        message: "actor added successfully",
        actor: &actor,
    };
    created(&body, format!("/actors/{}", actor.id))
}

/// `PATCH /actors/{id}`
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
    let patch = ActorPatch::from_json(&value).map_err(unprocessable)?;
    let actor = app
        .write(
            principal,
            Write::UpdateActor(id, patch),
            Written::into_actor,
        )
        .await?;
    ok(&Changed {
        success: true,
        message: "update successfull",
        actor: &actor,
    })
}

/// `DELETE /actors/{id}`
pub async fn delete(
    app: &App,
    principal: &Principal,
    raw_id: &str,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    query::none(query)?;
    let id = id(raw_id)?;
    let deleted = app
        .write(principal, Write::DeleteActor(id), Written::into_deleted)
        .await?;
    ok(&Deleted {
        success: true,
        deleted,
    })
}
