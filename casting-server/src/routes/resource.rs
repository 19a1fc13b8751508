//! The handlers movies and actors share: list, get, create, update and
//! delete differ only in names and types, which a [`Resource`] holds.

use bytes::Bytes;
use std::sync::Arc;

use casting_core::{
    Agency, Error, InvalidField, Page, PageRequest, Principal, RecordKind, Versioned, Write,
    Written,
};
use http::{HeaderMap, header};
use hyper::body::Body;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::{id, unprocessable};
use crate::app::{App, Rows};
use crate::http::error::ApiError;
use crate::http::etag::{etag, if_match};
use crate::http::response::{HttpResponse, created, ok};
use crate::http::{body, query};

/// What tells one kind of record from another: its path, the verbatim keys
/// of the original service's bodies, and the core calls that serve it.
pub struct Resource<R, N, P> {
    /// The collection path, such as `/movies`.
    pub path: &'static str,
    /// The kind of record.
    pub kind: RecordKind,
    /// The key of one record, such as `movie`.
    pub one: &'static str,
    /// The key of the list in a plain list, such as `All Actors`.
    pub list: &'static str,
    /// The key of the total in a plain list.
    pub total: &'static str,
    /// The key of the list in a search.
    pub found: &'static str,
    /// The key of the record a create answers with.
    pub added: &'static str,
    /// The message of a create.
    pub added_message: &'static str,
    /// The key of the record an update answers with.
    pub changed: &'static str,
    /// Reads a create body.
    pub decode_new: fn(&Value) -> Result<N, InvalidField>,
    /// Reads an update body.
    pub decode_patch: fn(&Value) -> Result<P, InvalidField>,
    /// The write that creates.
    pub create: fn(N) -> Write,
    /// The write that updates.
    pub update: fn(u64, P) -> Write,
    /// The write that deletes.
    pub delete: fn(u64) -> Write,
    /// The record a create or update wrote.
    pub written: fn(Written) -> Option<R>,
    /// A page of records.
    pub page: fn(&Agency, &Principal, PageRequest) -> Result<Page<R>, Error>,
    /// One record, with its version.
    pub get: fn(&Agency, &Principal, u64) -> Result<Versioned<R>, Error>,
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

impl<R, N, P> Resource<R, N, P>
where
    R: Serialize + Send + 'static,
{
    /// `GET /things`
    pub async fn list(
        &self,
        app: &App,
        principal: &Arc<Principal>,
        query: Option<&str>,
    ) -> Result<HttpResponse, ApiError> {
        let request = query::page(query)?;
        let rows = request
            .limit
            .map_or(Rows::Table(self.kind), |limit| Rows::AtMost(limit.into()));
        let page = self.page;
        let found = app
            .read(principal, rows, move |agency, p| page(agency, p, request))
            .await?;
        // A list's total is its table's size.
        app.saw_table_size(self.kind, found.total);
        ok(&List::new(
            self.list,
            self.total,
            &found,
            request.limit.is_some(),
        ))
    }

    /// `GET /things/{id}`
    pub async fn get(
        &self,
        app: &App,
        principal: &Arc<Principal>,
        raw_id: &str,
    ) -> Result<HttpResponse, ApiError> {
        let id = id(raw_id)?;
        let get = self.get;
        let found = app
            .read(principal, Rows::AtMost(1), move |agency, p| {
                get(agency, p, id)
            })
            .await?;
        let mut response = ok(&One {
            message: None,
            key: self.one,
            record: &found.record,
        })?;
        response
            .headers_mut()
            .insert(header::ETAG, etag(id, found.version));
        Ok(response)
    }

    /// `POST /things`
    pub async fn create<B>(
        &self,
        app: &App,
        principal: &Arc<Principal>,
        headers: &HeaderMap,
        body: B,
    ) -> Result<HttpResponse, ApiError>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        R: Identified,
    {
        let value = body::read_json(headers, body, app.body_limit()).await?;
        let input = (self.decode_new)(&value).map_err(unprocessable)?;
        let (record, _) = app
            .write(principal, (self.create)(input), None, self.written)
            .await?;
        let location = format!("{}/{}", self.path, record.id());
        created(
            &One {
                message: Some(self.added_message),
                key: self.added,
                record: &record,
            },
            location,
        )
    }

    /// `PATCH /things/{id}`
    pub async fn update<B>(
        &self,
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
        let value = body::read_json(headers, body, app.body_limit()).await?;
        let patch = (self.decode_patch)(&value).map_err(unprocessable)?;
        let condition = if_match(headers, id);
        let (record, version) = app
            .write(principal, (self.update)(id, patch), condition, self.written)
            .await?;
        let mut response = ok(&One {
            message: Some("update successfull"),
            key: self.changed,
            record: &record,
        })?;
        response
            .headers_mut()
            .insert(header::ETAG, etag(id, version));
        Ok(response)
    }

    /// `DELETE /things/{id}`
    pub async fn delete(
        &self,
        app: &App,
        principal: &Arc<Principal>,
        raw_id: &str,
        headers: &HeaderMap,
    ) -> Result<HttpResponse, ApiError> {
        let id = id(raw_id)?;
        let condition = if_match(headers, id);
        let (deleted, _) = app
            .write(
                principal,
                (self.delete)(id),
                condition,
                Written::into_deleted,
            )
            .await?;
        ok(&Deleted {
            success: true,
            deleted,
        })
    }
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
