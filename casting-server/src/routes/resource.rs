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

use super::{id, unprocessable};
use crate::http::error::ApiError;
use crate::http::etag::{etag, if_match};
use crate::http::json::{self, WriteJson};
use crate::http::response::{HttpResponse, created, ok, ok_written};
use crate::http::{body, query};
use crate::state::{App, Rows};

/// What tells one kind of record from another: its path, the verbatim keys
/// of the original service's bodies, and the core calls that serve it. The
/// handlers below are written once over it.
pub trait Resource: 'static {
    /// The record, as read and as a write answers with it.
    type Record: WriteJson + Identified + Send + 'static;
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

impl<R: WriteJson> WriteJson for One<'_, R> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"success\":true,");
        if let Some(message) = self.message {
            json::string(out, "message");
            out.push(b':');
            json::string(out, message);
            out.push(b',');
        }
        json::string(out, self.key);
        out.push(b':');
        self.record.write_json(out);
        out.push(b'}');
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

impl<R: WriteJson> WriteJson for List<'_, R> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"success\":true,");
        json::string(out, self.key);
        out.extend_from_slice(b":[");
        for (i, record) in self.records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            record.write_json(out);
        }
        out.extend_from_slice(b"],");
        json::string(out, self.total_key);
        out.push(b':');
        json::number(out, self.total);
        if let Some(next) = self.next {
            out.extend_from_slice(b",\"next\":");
            json::optional(out, next);
        }
        out.push(b'}');
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
    Ok(ok_written(&List::new(
        R::LIST,
        R::TOTAL,
        &found,
        request.limit.is_some(),
    )))
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
    let mut response = ok_written(&One {
        message: None,
        key: R::ONE,
        record: &found.record,
    });
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
    let mut response = ok_written(&One {
        message: Some("update successfull"),
        key: R::CHANGED,
        record: &record,
    });
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

#[cfg(test)]
mod tests {
    use casting_core::{Actor, Movie};

    use super::*;
    use crate::http::json::written;

    fn movie(id: u64) -> Movie {
        Movie {
            id,
            title: format!("Movie \"{id}\""),
            release_date: "2010-10-13".parse().unwrap(),
            actors: vec![2, 3],
        }
    }

    #[test]
    fn a_list_keeps_the_original_keys_in_order_and_adds_next_only_when_limited() {
        let page = Page {
            items: vec![movie(1), movie(4)],
            total: 7,
            next: None,
        };
        let movies = r#"[{"id":1,"title":"Movie \"1\"","release_date":"Wed, 13 Oct 2010 00:00:00 GMT","actors":[2,3]},{"id":4,"title":"Movie \"4\"","release_date":"Wed, 13 Oct 2010 00:00:00 GMT","actors":[2,3]}]"#;
        assert_eq!(
            written(&List::new("movies", "Total number of movies", &page, false)),
            format!(r#"{{"success":true,"movies":{movies},"Total number of movies":7}}"#)
        );
        assert_eq!(
            written(&List::new("movies", "total", &page, true)),
            format!(r#"{{"success":true,"movies":{movies},"total":7,"next":null}}"#)
        );
        let empty = Page::<Movie> {
            items: Vec::new(),
            total: 7,
            next: Some(4),
        };
        assert_eq!(
            written(&List::new(
                "All Actors",
                "Total number of actors",
                &empty,
                true
            )),
            r#"{"success":true,"All Actors":[],"Total number of actors":7,"next":4}"#
        );
    }

    #[test]
    fn one_record_comes_with_its_message_when_it_has_one() {
        let actor = Actor {
            id: 3,
            name: "A\nB".into(),
            age: 44,
            gender: "Male".into(),
            movie_id: None,
        };
        assert_eq!(
            written(&One {
                message: Some("actor added successfully"),
                key: "actor added",
                record: &actor,
            }),
            r#"{"success":true,"message":"actor added successfully","actor added":{"id":3,"name":"A\nB","age":44,"gender":"Male","movie_id":null}}"#
        );
        assert_eq!(
            written(&One {
                message: None,
                key: "movie",
                record: &movie(2),
            }),
            r#"{"success":true,"movie":{"id":2,"title":"Movie \"2\"","release_date":"Wed, 13 Oct 2010 00:00:00 GMT","actors":[2,3]}}"#
        );
    }
}
