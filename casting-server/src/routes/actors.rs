//! `/actors`: the original routes with their verbatim keys, and the search
//! added beside them.

use std::sync::Arc;

use casting_core::{Actor, ActorPatch, NewActor, Principal, RecordKind, Write, Written};

use super::resource::{List, Resource};
use crate::app::{App, Rows};
use crate::http::error::ApiError;
use crate::http::query;
use crate::http::response::{HttpResponse, ok};

/// Actors, with the keys of the original service, spelling included (the
/// trailing space of `actor changed to ` too: its clients match on it).
pub const ACTORS: Resource<Actor, NewActor, ActorPatch> = Resource {
    path: "/actors",
    kind: RecordKind::Actor,
    one: "actor",
    list: "All Actors",
    total: "Total number of actors",
    found: "actors",
    added: "actor added",
    added_message: "actor added successfully",
    changed: "actor changed to ",
    decode_new: NewActor::from_json,
    decode_patch: ActorPatch::from_json,
    create: Write::CreateActor,
    update: Write::UpdateActor,
    delete: Write::DeleteActor,
    written: Written::into_actor,
    page: |agency, principal, page| agency.list_actors(principal, page),
    get: |agency, principal, id| agency.actor_versioned(principal, id),
};

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
    ok(&List::new(ACTORS.found, "total", &found, limited))
}
