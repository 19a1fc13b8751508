//! The handlers movies and actors share: list, get, create, update and
//! delete differ only in names and types, which a [`Resource`] names.

use bytes::Bytes;
use std::sync::Arc;

use casting_core::{
    Agency, Error, InvalidField, JsonBody, Page, PageRequest, Principal, RecordKind, Versioned,
    Write, Written,
};
use http::{HeaderMap, header};
use hyper::body::Body;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{id, unprocessable};
use crate::http::error::ApiError;
use crate::http::etag::{etag, if_match};
use crate::http::response::{HttpResponse, created, ok};
use crate::http::{body, query};
use crate::state::{App, Rows};

/// What tells one kind of record from another: its path, the verbatim keys
/// of the original service's bodies, and the core calls that serve it. The
/// handlers below are written once over it.
pub trait Resource: 'static {
    /// The record, as read and as a write answers with it.
    type Record: Serialize + Identified + Send + 'static;
    /// A create body, validated.
    type New;
    /// An update body, validated.
    type Patch;

    /// The collection path, such as `/movies`.
    const PATH: &'static str;
    /// The kind of record.
    const KIND: RecordKind;
    /// The key of one record, such as `movie`.
    const ONE: &'static str;
    /// The key of the list in a plain list, such as `All Actors`.
    const LIST: &'static str;
    /// The key of the total in a plain list.
    const TOTAL: &'static str;
    /// The key of the list in a search.
    const FOUND: &'static str;
    /// The key of the record a create answers with.
    const ADDED: &'static str;
    /// The message of a create.
    const ADDED_MESSAGE: &'static str;
    /// The key of the record an update answers with.
    const CHANGED: &'static str;

    /// Reads a create body.
    ///
    /// # Errors
    /// The first field that breaks a rule.
    fn decode_new(body: &JsonBody<'_>) -> Result<Self::New, InvalidField>;
    /// Reads an update body.
    ///
    /// # Errors
    /// The first field that breaks a rule.
    fn decode_patch(body: &JsonBody<'_>) -> Result<Self::Patch, InvalidField>;
    /// The write that creates.
    fn create(input: Self::New) -> Write;
    /// The write that updates record `id`.
    fn update(id: u64, patch: Self::Patch) -> Write;
    /// The write that deletes record `id`.
    fn delete(id: u64) -> Write;
    /// The record a create or update wrote, if of this kind.
    fn written(written: Written) -> Option<Self::Record>;
    /// A page of records.
    ///
    /// # Errors
    /// As the agency's list.
    fn page(
        agency: &Agency,
        principal: &Principal,
        request: PageRequest,
    ) -> Result<Page<Self::Record>, Error>;
    /// One record, with its version.
    ///
    /// # Errors
    /// As the agency's get.
    fn get(
        agency: &Agency,
        principal: &Principal,
        id: u64,
    ) -> Result<Versioned<Self::Record>, Error>;
}

/// `{"success": true, ["message": M,] KEY: record}`, with the key chosen at
/// run time: the verbatim keys differ per resource, so they cannot be serde
/// attributes.
struct One<'a, R> {
    message: Option<&'static str>,
    key: &'static str,
    record: &'a R,
}

impl<R: Serialize> Serialize for One<'_, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("success", &true)?;
        if let Some(message) = self.message {
            map.serialize_entry("message", message)?;
        }
        map.serialize_entry(self.key, self.record)?;
        map.end()
    }
}

/// `{"success": true, KEY: [records], TOTAL_KEY: N, ["next": id or null]}`.
pub(super) struct List<'a, R> {
    key: &'static str,
    records: &'a [R],
    total_key: &'static str,
    total: u64,
    /// Present only when the request gave a `limit`.
    next: Option<Option<u64>>,
}

impl<'a, R> List<'a, R> {
    /// The body of `page` under `key` and `total_key`; `next` is written
    /// when the request had a limit.
    pub(super) fn new(
        key: &'static str,
        total_key: &'static str,
        page: &'a Page<R>,
        limited: bool,
    ) -> Self {
        List {
            key,
            records: &page.items,
            total_key,
            total: page.total,
            next: limited.then_some(page.next),
        }
    }
}

impl<R: Serialize> Serialize for List<'_, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("success", &true)?;
        map.serialize_entry(self.key, self.records)?;
        map.serialize_entry(self.total_key, &self.total)?;
        if let Some(next) = self.next {
            map.serialize_entry("next", &next)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Deleted {
    success: bool,
    deleted: u64,
}

/// `GET /things`
pub async fn list<R: Resource>(
    app: &App,
    principal: &Arc<Principal>,
    query: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let request = query::page(query)?;
    let rows = request
        .limit
        .map_or(Rows::Table(R::KIND), |limit| Rows::AtMost(limit.into()));
    let found = app
        .read(principal, rows, move |agency, p| {
            R::page(agency, p, request)
        })
        .await?;
    // A list's total is its table's size.
    app.saw_table_size(R::KIND, found.total);
    Ok(ok(&List::new(
        R::LIST,
        R::TOTAL,
        &found,
        request.limit.is_some(),
    ))?)
}

/// `GET /things/{id}`
pub async fn get<R: Resource>(
    app: &App,
    principal: &Arc<Principal>,
    raw_id: &str,
) -> Result<HttpResponse, ApiError> {
    let id = id(raw_id)?;
    let found = app
        .read(principal, Rows::AtMost(1), move |agency, p| {
            R::get(agency, p, id)
        })
        .await?;
    let mut response = ok(&One {
        message: None,
        key: R::ONE,
        record: &found.record,
    })?;
    response
        .headers_mut()
        .insert(header::ETAG, etag(id, found.version));
    Ok(response)
}

/// `POST /things`
pub async fn create<R: Resource, B>(
    app: &App,
    principal: &Arc<Principal>,
    headers: &HeaderMap,
    body: B,
) -> Result<HttpResponse, ApiError>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = body::read(headers, body, app.body_limit()).await?;
    let input = R::decode_new(&body::parse(&bytes)?).map_err(unprocessable)?;
    let (record, _) = app
        .write(principal, R::create(input), None, R::written)
        .await?;
    let location = format!("{}/{}", R::PATH, record.id());
    Ok(created(
        &One {
            message: Some(R::ADDED_MESSAGE),
            key: R::ADDED,
            record: &record,
        },
        location,
    )?)
}

/// `PATCH /things/{id}`
pub async fn update<R: Resource, B>(
    app: &App,
    principal: &Arc<Principal>,
    raw_id: &str,
    headers: &HeaderMap,
    body: B,
) -> Result<HttpResponse, ApiError>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let id = id(raw_id)?;
    let bytes = body::read(headers, body, app.body_limit()).await?;
    let patch = R::decode_patch(&body::parse(&bytes)?).map_err(unprocessable)?;
    let condition = if_match(headers, id);
    let (record, version) = app
        .write(principal, R::update(id, patch), condition, R::written)
        .await?;
    let mut response = ok(&One {
        message: Some("update successfull"),
        key: R::CHANGED,
        record: &record,
    })?;
    response
        .headers_mut()
        .insert(header::ETAG, etag(id, version));
    Ok(response)
}

/// `DELETE /things/{id}`
pub async fn delete<R: Resource>(
    app: &App,
    principal: &Arc<Principal>,
    raw_id: &str,
    headers: &HeaderMap,
) -> Result<HttpResponse, ApiError> {
    let id = id(raw_id)?;
    let condition = if_match(headers, id);
    let (deleted, _) = app
        .write(principal, R::delete(id), condition, Written::into_deleted)
        .await?;
    Ok(ok(&Deleted {
        success: true,
        deleted,
    })?)
}

/// A record with an id, for the `Location` of a create.
pub trait Identified {
    /// The record's id.
    fn id(&self) -> u64;
}

impl Identified for casting_core::Movie {
    fn id(&self) -> u64 {
        self.id
    }
}

impl Identified for casting_core::Actor {
    fn id(&self) -> u64 {
        self.id
    }
}
