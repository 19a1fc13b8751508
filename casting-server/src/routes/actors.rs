//! `/actors`: the original routes with their verbatim keys, and the search
//! added beside them.

use std::sync::Arc;

use casting_core::{
    Actor, ActorPatch, Agency, Error, InvalidField, JsonBody, NewActor, Page, PageRequest,
    Principal, RecordKind, Versioned, Write, Written,
};

use super::resource::{List, Resource};
use crate::http::error::ApiError;
use crate::http::query;
use crate::http::response::{HttpResponse, ok_written};
use crate::state::{App, Rows};

/// Actors, with the keys of the original service, spelling included (the
/// trailing space of `actor changed to ` too: its clients match on it).
#[derive(Debug, Clone, Copy)]
pub struct Actors;

impl Resource for Actors {
    type Record = Actor;
    type New = NewActor;
    type Patch = ActorPatch;

    const PATH: &'static str = "/actors";
    const KIND: RecordKind = RecordKind::Actor;
    const ONE: &'static str = "actor";
    const LIST: &'static str = "All Actors";
    const TOTAL: &'static str = "Total number of actors";
    const FOUND: &'static str = "actors";
    const ADDED: &'static str = "actor added";
    const ADDED_MESSAGE: &'static str = "actor added successfully";
    const CHANGED: &'static str = "actor changed to ";

    fn decode_new(body: &JsonBody<'_>) -> Result<NewActor, InvalidField> {
        NewActor::from_body(body)
    }

    fn decode_patch(body: &JsonBody<'_>) -> Result<ActorPatch, InvalidField> {
        ActorPatch::from_body(body)
    }

    fn create(input: NewActor) -> Write {
        Write::CreateActor(input)
    }

    fn update(id: u64, patch: ActorPatch) -> Write {
        Write::UpdateActor(id, patch)
    }

    fn delete(id: u64) -> Write {
        Write::DeleteActor(id)
    }

    fn written(written: Written) -> Option<Actor> {
        written.into_actor()
    }

    fn page(
        agency: &Agency,
        principal: &Principal,
        request: PageRequest,
    ) -> Result<Page<Actor>, Error> {
        agency.list_actors(principal, request)
    }

    fn get(agency: &Agency, principal: &Principal, id: u64) -> Result<Versioned<Actor>, Error> {
        agency.actor_versioned(principal, id)
    }
}

/// `GET /actors/search`
pub async fn search(
    app: &App,
    principal: &Arc<Principal>,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let search = query::actor_search(query)?;
    let limited = search.page.limit.is_some();
    let found = app
        .read(
            principal,
            Rows::Table(RecordKind::Actor),
            move |agency, p| agency.search_actors(p, &search),
        )
        .await?;
    Ok(ok_written(&List::new(
        Actors::FOUND,
        "total",
        &found,
        limited,
    )))
}
