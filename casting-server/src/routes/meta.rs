//! The public routes: health, the OpenAPI document, the development key set.

use bytes::Bytes;
use http::StatusCode;

use crate::app::App;
use crate::http::error::ApiError;
use crate::http::response::{HttpResponse, json_bytes};
use crate::http::router::Endpoint;

/// The OpenAPI 3.1 description of every route, kept as a file beside the
/// code; a test checks it against the route table.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Answers a public endpoint.
///
/// # Errors
/// 404 for the key set outside development mode (the router already
/// refuses it there).
pub fn public(app: &App, endpoint: Endpoint<'_>) -> Result<HttpResponse, ApiError> {
    match endpoint {
        Endpoint::Health => Ok(json_bytes(
            StatusCode::OK,
            Bytes::from_static(br#"{"status":"ok"}"#),
        )),
        Endpoint::OpenApi => Ok(json_bytes(
            StatusCode::OK,
            Bytes::from_static(OPENAPI.as_bytes()),
        )),
        Endpoint::Jwks => app
            .dev_jwks()
            .map(|jwks| json_bytes(StatusCode::OK, jwks.clone()))
            .ok_or(ApiError::NotFound),
        _ => Err(ApiError::NotFound),
    }
}
