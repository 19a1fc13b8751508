//! The HTTP side of the API: routing, errors, bodies, query strings and
//! responses. Nothing here knows the store; nothing in the core knows HTTP.

pub mod body;
pub mod cache;
pub mod error;
pub mod etag;
pub mod json;
pub mod query;
pub mod request_id;
pub mod response;
pub mod router;
