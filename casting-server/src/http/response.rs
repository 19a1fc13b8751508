//! JSON responses, serialised straight from typed bodies (no JSON tree).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

use super::error::ApiError;

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

/// A 200 JSON response carrying `body`.
///
/// # Errors
/// [`ApiError::Internal`] if `body` cannot be serialised.
pub fn ok(body: &impl Serialize) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json_bytes(StatusCode::OK, bytes))
}

/// A 200 JSON response for a new record, with its `Location`.
///
/// # Errors
/// As [`ok`].
pub fn created(body: &impl Serialize, location: String) -> Result<HttpResponse, ApiError> {
    let mut response = ok(body)?;
    let location =
        HeaderValue::try_from(location).map_err(|e| ApiError::Internal(e.to_string()))?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}
