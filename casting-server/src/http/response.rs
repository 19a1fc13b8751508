//! JSON responses, serialised straight from typed bodies (no JSON tree).
//!
//! A leaf: it knows nothing of the API's errors, which are built from it
//! ([`super::error`]) and convert its [`BodyError`].

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

/// The response type of every handler.
pub type HttpResponse = Response<Full<Bytes>>;

/// A JSON response of `status` carrying `body`, already serialised.
pub fn json_bytes(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Why a response could not be made: a fault of the server, never of the
/// request.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body could not be serialised.
    #[error("cannot serialise the response body: {0}")]
    Serialize(#[from] serde_json::Error),
    /// A header value held bytes a header cannot.
    #[error("cannot make a header value: {0}")]
    Header(#[from] http::header::InvalidHeaderValue),
}

/// A 200 JSON response carrying `body`.
///
/// # Errors
/// [`BodyError::Serialize`] if `body` cannot be serialised.
pub fn ok(body: &impl Serialize) -> Result<HttpResponse, BodyError> {
    let bytes = serde_json::to_vec(body)?;
    Ok(json_bytes(StatusCode::OK, bytes))
}

/// A 200 JSON response for a new record, with its `Location`.
///
/// # Errors
/// As [`ok`], and [`BodyError::Header`] if `location` is no header value.
pub fn created(body: &impl Serialize, location: String) -> Result<HttpResponse, BodyError> {
    let mut response = ok(body)?;
    let location = HeaderValue::try_from(location)?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}
