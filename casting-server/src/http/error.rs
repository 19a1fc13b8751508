//! Every error the API answers with, and the one place each becomes a
//! status, a code, a message and headers.

use bytes::Bytes;
use casting_core::Permission;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;

use super::response::{BodyError, json_bytes};
use crate::auth::AuthError;

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON, or a query parameter is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401 or 503: the token was not accepted.
    #[error("{0}")]
    Auth(AuthError),
    /// 403: the token lacks the route's permission.
    #[error("permission denied: {0} is required")]
    Forbidden(Permission),
    /// 404: no such route or record.
    #[error("resource not found")]
    NotFound,
    /// 412: an `If-Match` names none of the record's current versions.
    #[error("precondition failed: the record has changed since the given ETag")]
    PreconditionFailed,
    /// 405: the path exists with other methods.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// 408: the body did not arrive in time.
    #[error("request timeout: the body was not received in time")]
    RequestTimeout,
    /// 429: too many failed authentications from this client; retry after
    /// the given seconds.
    #[error("too many failed authentications from this client; retry later")]
    TooManyFailures(u64),
    /// 413: the body is over the limit.
    #[error("payload too large: the limit is {0} bytes")]
    PayloadTooLarge(usize),
    /// 415: the body is not declared as JSON.
    #[error("unsupported media type: send application/json")]
    UnsupportedMediaType,
    /// 422: validation failed; the message names the field.
    #[error("{0}")]
    Unprocessable(String),
    /// 503: the database cannot be reached; nothing was done, and the cause
    /// is logged, never sent.
    #[error("the database cannot be reached; nothing was changed, retry later")]
    StorageUnavailable(String),
    /// 500: a fault of the server; the cause is logged, never sent.
    #[error("internal server error")]
    Internal(String),
}

#[derive(Serialize)]
struct Envelope<'a> {
    success: bool,
    error: u16,
    message: &'a str,
    code: &'a str,
}

impl ApiError {
    /// The status and the contract's code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Auth(AuthError::Missing) => {
                (StatusCode::UNAUTHORIZED, "authorization_header_missing")
            }
            ApiError::Auth(AuthError::InvalidHeader | AuthError::MalformedToken) => {
                (StatusCode::UNAUTHORIZED, "invalid_header")
            }
            ApiError::Auth(AuthError::Expired) => (StatusCode::UNAUTHORIZED, "token_expired"),
            ApiError::Auth(AuthError::InvalidClaims) => {
                (StatusCode::UNAUTHORIZED, "invalid_claims")
            }
            ApiError::Auth(AuthError::InvalidToken) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::Auth(AuthError::Unavailable) => {
                (StatusCode::SERVICE_UNAVAILABLE, "auth_unavailable")
            }
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "permission_denied"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::PreconditionFailed => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::TooManyFailures(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            ApiError::StorageUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    /// The `WWW-Authenticate` challenge of RFC 6750, for 401 and 403.
    fn challenge(&self) -> Option<&'static str> {
        match self {
            ApiError::Auth(AuthError::Missing) => Some("Bearer"),
            ApiError::Auth(AuthError::InvalidHeader) => Some(r#"Bearer error="invalid_request""#),
            ApiError::Auth(AuthError::Unavailable) => None,
            ApiError::Auth(_) => Some(r#"Bearer error="invalid_token""#),
            ApiError::Forbidden(_) => Some(r#"Bearer error="insufficient_scope""#),
            _ => None,
        }
    }

    /// The response: the JSON envelope and its headers.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Internal(cause) => {
                tracing::error!(request_id = %crate::logging::request_id(), %cause, "internal error");
            }
            ApiError::StorageUnavailable(cause) => {
                tracing::warn!(request_id = %crate::logging::request_id(), %cause, "the database cannot be reached");
            }
            _ => {}
        }
        let message = self.to_string();
        let body = serde_json::to_vec(&Envelope {
            success: false,
            error: status.as_u16(),
            message: &message,
            code,
        })
        .unwrap_or_default();
        let mut response = json_bytes(status, body);
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge() {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let ApiError::MethodNotAllowed(allow) = self {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if let ApiError::TooManyFailures(seconds) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError::Auth(error)
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl From<casting_core::Error> for ApiError {
    fn from(error: casting_core::Error) -> Self {
        use casting_core::Error;
        match error {
            Error::Forbidden { missing } => ApiError::Forbidden(missing),
            Error::NotFound { .. } => ApiError::NotFound,
            Error::PreconditionFailed { .. } => ApiError::PreconditionFailed,
            Error::Invalid(invalid) => ApiError::Unprocessable(invalid.to_string()),
            Error::Storage(e) if e.is_unavailable() => ApiError::StorageUnavailable(e.to_string()),
            Error::Storage(e) => ApiError::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(error: ApiError) -> (StatusCode, http::HeaderMap, serde_json::Value) {
        let response = error.into_response();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn errors_are_the_json_envelope_with_the_status_repeated() {
        let (status, headers, body) = body_of(ApiError::NotFound).await;
        assert_eq!(status, 404);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            body,
            serde_json::json!({"success": false, "error": 404, "message": "resource not found", "code": "not_found"})
        );
    }

    #[tokio::test]
    async fn challenges_follow_rfc_6750() {
        let (_, h, _) = body_of(ApiError::Auth(AuthError::Missing)).await;
        assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer");
        let (_, h, _) = body_of(ApiError::Auth(AuthError::InvalidHeader)).await;
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_request""#
        );
        let (status, h, body) = body_of(ApiError::Auth(AuthError::MalformedToken)).await;
        assert_eq!(status, 401);
        assert_eq!(body["code"], "invalid_header");
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
        let (_, h, _) = body_of(ApiError::Auth(AuthError::Expired)).await;
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
        let (_, h, body) = body_of(ApiError::Forbidden(Permission::PostMovies)).await;
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope""#
        );
        assert_eq!(body["code"], "permission_denied");
        let (status, h, _) = body_of(ApiError::Auth(AuthError::Unavailable)).await;
        assert_eq!(status, 503);
        assert!(h.get(header::WWW_AUTHENTICATE).is_none());
    }

    #[tokio::test]
    async fn an_unreachable_database_is_503_storage_unavailable_and_leaks_nothing() {
        use casting_core::{Error, StoreError};
        use std::sync::Arc;
        let outage = StoreError::Unavailable("connection refused to 10.0.0.9".into());
        let batch = StoreError::BatchFailed(Arc::new(outage));
        let (status, _, body) = body_of(Error::Storage(batch).into()).await;
        assert_eq!(status, 503);
        assert_eq!(body["code"], "storage_unavailable");
        assert!(!body["message"].as_str().unwrap().contains("10.0.0.9"));
        let uncertain = Error::Storage(StoreError::CommitUncertain);
        let (status, _, body) = body_of(uncertain.into()).await;
        assert_eq!(status, 500, "an outcome that is not known is not an outage");
        assert_eq!(body["code"], "internal_error");
    }

    #[tokio::test]
    async fn a_405_lists_the_allowed_methods() {
        let (status, h, body) = body_of(ApiError::MethodNotAllowed("GET, POST")).await;
        assert_eq!(status, 405);
        assert_eq!(h[header::ALLOW], "GET, POST");
        assert_eq!(body["code"], "method_not_allowed");
    }

    #[tokio::test]
    async fn a_failed_precondition_is_a_412() {
        let core = casting_core::Error::PreconditionFailed {
            kind: casting_core::RecordKind::Actor,
            id: 3,
        };
        let (status, _, body) = body_of(ApiError::from(core)).await;
        assert_eq!(status, 412);
        assert_eq!(body["code"], "precondition_failed");
    }

    #[tokio::test]
    async fn a_500_leaks_no_cause() {
        let (status, _, body) = body_of(ApiError::Internal("disk /dev/sda1 is full".into())).await;
        assert_eq!(status, 500);
        assert_eq!(body["message"], "internal server error");
        assert_eq!(body["code"], "internal_error");
    }
}
