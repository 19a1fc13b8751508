//! The one error of the SDK: every answer of the contract's error table as
//! a variant that keeps the server's message, and the ways a request can
//! fail before such an answer arrives.

use std::fmt;

use serde::Deserialize;

/// A boxed error, the source of a transport failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a request did not give the record it asked for.
///
/// The variants for answers of the server keep the server's `message`
/// verbatim. An answer whose body is not the contract's error envelope (a
/// proxy's HTML page, say) still maps by its status; its message is then
/// the start of the body, or the status's reason when the body is empty.
///
/// The display form is `STATUS CODE: MESSAGE` for answers of the server,
/// such as `403 permission_denied: permission denied: post:movies is required`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 400 `bad_request`: the body is not JSON, or a query parameter (a page
    /// size out of range, an empty gender) is malformed.
    #[error("400 bad_request: {message}")]
    BadRequest {
        /// The server's message, naming the parameter.
        message: String,
    },
    /// 401: the token was refused; `code` says why.
    #[error("401 {code}: {message}")]
    Unauthorized {
        /// The contract's code.
        code: UnauthorizedCode,
        /// The server's message.
        message: String,
    },
    /// 403 `permission_denied`: the token lacks the route's permission.
    #[error("403 permission_denied: {message}")]
    Forbidden {
        /// The server's message, naming the permission.
        message: String,
    },
    /// 404 `not_found`: no record with that id (or no such route, when the
    /// base URL is wrong).
    #[error("404 not_found: {message}")]
    NotFound {
        /// The server's message.
        message: String,
    },
    /// 412 `precondition_failed`: the record changed since the ETag the
    /// write was conditional on, so nothing was changed. Read it again and
    /// decide anew.
    #[error("412 precondition_failed: {message}")]
    PreconditionFailed {
        /// The server's message.
        message: String,
    },
    /// 405 `method_not_allowed`: the path exists with other methods.
    #[error("405 method_not_allowed: {message}")]
    MethodNotAllowed {
        /// The `Allow` header, listing the methods the path takes.
        allow: Option<String>,
        /// The server's message.
        message: String,
    },
    /// 413 `payload_too_large`: the body is over the server's limit.
    #[error("413 payload_too_large: {message}")]
    PayloadTooLarge {
        /// The server's message, stating the limit.
        message: String,
    },
    /// 415 `unsupported_media_type`: the body was not declared as JSON.
    #[error("415 unsupported_media_type: {message}")]
    UnsupportedMediaType {
        /// The server's message.
        message: String,
    },
    /// 422 `unprocessable`: validation failed.
    #[error("422 unprocessable: {message}")]
    Invalid {
        /// The field the server named (`title`, `movie_id`, or `body` for
        /// the body as a whole), when its message names one.
        field: Option<String>,
        /// The server's message, `FIELD: REASON`.
        message: String,
    },
    /// 503 `auth_unavailable`: the server cannot fetch the keys that verify
    /// tokens and has none cached. Retrying later may succeed.
    #[error("503 auth_unavailable: {message}")]
    AuthUnavailable {
        /// The server's message.
        message: String,
    },
    /// Any other 5xx: a fault of the server, or of a proxy in front of it.
    #[error("{status} server error: {message}")]
    Server {
        /// The HTTP status, 500 to 599.
        status: u16,
        /// The server's message, which leaks no internals.
        message: String,
    },
    /// A status the contract does not list for this SDK's requests, such
    /// as 408 or 429.
    #[error("{status} unexpected status: {message}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The envelope's `code`, if the body was the envelope.
        code: Option<String>,
        /// The server's message.
        message: String,
    },
    /// No answer of the contract arrived: the connection failed or timed
    /// out, or the answer was not the contract's JSON.
    #[error("transport error ({kind}): {message}")]
    Transport {
        /// What failed.
        kind: TransportKind,
        /// What happened, for people.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// No token could be obtained with the client credentials: the token
    /// endpoint refused them, could not be reached, or answered something
    /// that is not a token. The request was not sent to the API.
    #[error("no token from the token endpoint: {message}")]
    Token {
        /// The token endpoint's status, when it answered.
        status: Option<u16>,
        /// The OAuth error code (RFC 6749 section 5.2), such as
        /// `invalid_client` or `access_denied`, when it sent one.
        code: Option<String>,
        /// The endpoint's `error_description`, or what went wrong on the
        /// way; never the secret or a token.
        message: String,
    },
    /// The client was given a base URL or a token it cannot use.
    #[error("invalid client configuration: {message}")]
    Config {
        /// What is wrong with it.
        message: String,
    },
}

/// The contract's code of a 401.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnauthorizedCode {
    /// `authorization_header_missing`: the client has no token.
    AuthorizationHeaderMissing,
    /// `invalid_header`: the token is not a well-formed JWT, or too long.
    InvalidHeader,
    /// `token_expired`: the token's `exp` has passed.
    TokenExpired,
    /// `invalid_claims`: the issuer, audience, expiry or permissions claim
    /// is wrong, missing or malformed.
    InvalidClaims,
    /// `invalid_token`: the signature, algorithm or key id was refused.
    InvalidToken,
    /// A code this SDK does not know, as sent (empty when the body had none).
    Other(String),
}

impl UnauthorizedCode {
    /// The code as the server spells it.
    pub fn as_str(&self) -> &str {
        match self {
            UnauthorizedCode::AuthorizationHeaderMissing => "authorization_header_missing",
            UnauthorizedCode::InvalidHeader => "invalid_header",
            UnauthorizedCode::TokenExpired => "token_expired",
            UnauthorizedCode::InvalidClaims => "invalid_claims",
            UnauthorizedCode::InvalidToken => "invalid_token",
            UnauthorizedCode::Other(code) => code,
        }
    }

    fn parse(code: Option<String>) -> Self {
        match code.as_deref() {
            Some("authorization_header_missing") => UnauthorizedCode::AuthorizationHeaderMissing,
            Some("invalid_header") => UnauthorizedCode::InvalidHeader,
            Some("token_expired") => UnauthorizedCode::TokenExpired,
            Some("invalid_claims") => UnauthorizedCode::InvalidClaims,
            Some("invalid_token") => UnauthorizedCode::InvalidToken,
            _ => UnauthorizedCode::Other(code.unwrap_or_default()),
        }
    }
}

impl fmt::Display for UnauthorizedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What failed when no answer of the contract arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be made: nothing listens there, or the name
    /// does not resolve, or TLS failed.
    Connect,
    /// The request took longer than the client's timeout.
    Timeout,
    /// The connection broke while the answer was being read.
    Body,
    /// The answer arrived but is not the contract's JSON.
    Decode,
    /// Anything else: a redirect loop, a request that could not be sent.
    Request,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Body => "body",
            TransportKind::Decode => "decode",
            TransportKind::Request => "request",
        })
    }
}

impl Error {
    /// The HTTP status of an answer of the server; `None` for transport,
    /// token and configuration errors.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            Error::BadRequest { .. } => 400,
            Error::Unauthorized { .. } => 401,
            Error::Forbidden { .. } => 403,
            Error::NotFound { .. } => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::PreconditionFailed { .. } => 412,
            Error::PayloadTooLarge { .. } => 413,
            Error::UnsupportedMediaType { .. } => 415,
            Error::Invalid { .. } => 422,
            Error::AuthUnavailable { .. } => 503,
            Error::Server { status, .. } | Error::UnexpectedStatus { status, .. } => *status,
            Error::Transport { .. } | Error::Token { .. } | Error::Config { .. } => return None,
        })
    }

    /// The server's message, or what went wrong on the way.
    pub fn message(&self) -> &str {
        match self {
            Error::BadRequest { message }
            | Error::Unauthorized { message, .. }
            | Error::Forbidden { message }
            | Error::NotFound { message }
            | Error::MethodNotAllowed { message, .. }
            | Error::PreconditionFailed { message }
            | Error::PayloadTooLarge { message }
            | Error::UnsupportedMediaType { message }
            | Error::Invalid { message, .. }
            | Error::AuthUnavailable { message }
            | Error::Server { message, .. }
            | Error::UnexpectedStatus { message, .. }
            | Error::Transport { message, .. }
            | Error::Token { message, .. }
            | Error::Config { message } => message,
        }
    }

    /// Whether this is a 404: handy for "get it if it exists".
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// Whether no answer of the contract arrived (see [`Error::Transport`]).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// A failure of reqwest, sorted by what failed.
    pub(crate) fn transport(error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() {
            TransportKind::Timeout
        } else if error.is_connect() {
            TransportKind::Connect
        } else if error.is_decode() {
            TransportKind::Decode
        } else if error.is_body() {
            TransportKind::Body
        } else {
            TransportKind::Request
        };
        Error::Transport {
            kind,
            message: chain(&error),
            source: Some(Box::new(error)),
        }
    }

    /// A failure while reading an answer's body, which reqwest reports as
    /// a decoding error although the connection broke.
    pub(crate) fn body(error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() {
            TransportKind::Timeout
        } else {
            TransportKind::Body
        };
        Error::Transport {
            kind,
            message: chain(&error),
            source: Some(Box::new(error)),
        }
    }

    /// A successful answer whose body is not what the contract says.
    pub(crate) fn decode(what: &str, error: serde_json::Error) -> Self {
        Error::Transport {
            kind: TransportKind::Decode,
            message: format!("the answer to {what} is not the contract's JSON: {error}"),
            source: Some(Box::new(error)),
        }
    }

    /// The error for an answer of `status` (not a success) with `body`;
    /// `allow` is the `Allow` header. Never fails, whatever the body.
    pub(crate) fn from_response(status: u16, allow: Option<String>, body: &[u8]) -> Self {
        let (code, message) = match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope {
                message: Some(message),
                code,
            }) => (code, message),
            Ok(Envelope {
                message: None,
                code,
            }) => (code, fallback_message(status, body)),
            Err(_) => (None, fallback_message(status, body)),
        };
        match (status, code.as_deref()) {
            (400, _) => Error::BadRequest { message },
            (401, _) => Error::Unauthorized {
                code: UnauthorizedCode::parse(code),
                message,
            },
            (403, _) => Error::Forbidden { message },
            (404, _) => Error::NotFound { message },
            (405, _) => Error::MethodNotAllowed { allow, message },
            (412, _) => Error::PreconditionFailed { message },
            (413, _) => Error::PayloadTooLarge { message },
            (415, _) => Error::UnsupportedMediaType { message },
            (422, _) => Error::Invalid {
                field: field_of(&message),
                message,
            },
            (503, Some("auth_unavailable")) => Error::AuthUnavailable { message },
            (500..=599, _) => Error::Server { status, message },
            _ => Error::UnexpectedStatus {
                status,
                code,
                message,
            },
        }
    }
}

/// The envelope `{"success": false, "error": STATUS, "message": str, "code": str}`,
/// read leniently: a field of another type counts as absent.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "lenient")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    code: Option<String>,
}

fn lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(value.as_str().map(str::to_owned))
}

/// The longest piece of an unexpected body kept as a message, in characters.
const SNIPPET_CHARS: usize = 200;

/// The message of an answer without the envelope: the start of its body,
/// or the status's reason when the body is empty.
fn fallback_message(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no message")
            .to_lowercase();
    }
    let mut snippet: String = text.chars().take(SNIPPET_CHARS).collect();
    if text.chars().count() > SNIPPET_CHARS {
        snippet.push_str("...");
    }
    snippet
}

/// The field a 422's `FIELD: REASON` message names, if it names one.
fn field_of(message: &str) -> Option<String> {
    let (field, _) = message.split_once(": ")?;
    let is_name = !field.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    is_name.then(|| field.to_owned())
}

/// An error and its sources, joined with `: `; reqwest's own display leaves
/// out the cause (such as "connection refused").
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(status: u16, code: &str, message: &str) -> Vec<u8> {
        serde_json::json!({"success": false, "error": status, "message": message, "code": code})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn each_status_of_the_contract_has_its_variant() {
        let cases: [(u16, &str); 11] = [
            (400, "bad_request"),
            (401, "invalid_token"),
            (403, "permission_denied"),
            (404, "not_found"),
            (405, "method_not_allowed"),
            (413, "payload_too_large"),
            (415, "unsupported_media_type"),
            (422, "unprocessable"),
            (500, "internal_error"),
            (503, "auth_unavailable"),
            (408, "request_timeout"),
        ];
        for (status, code) in cases {
            let error = Error::from_response(status, None, &envelope(status, code, "m"));
            assert_eq!(error.status(), Some(status), "{code}");
            assert_eq!(error.message(), "m", "{code}");
            let expected = match status {
                400 => matches!(error, Error::BadRequest { .. }),
                401 => matches!(error, Error::Unauthorized { .. }),
                403 => matches!(error, Error::Forbidden { .. }),
                404 => matches!(error, Error::NotFound { .. }),
                405 => matches!(error, Error::MethodNotAllowed { .. }),
                413 => matches!(error, Error::PayloadTooLarge { .. }),
                415 => matches!(error, Error::UnsupportedMediaType { .. }),
                422 => matches!(error, Error::Invalid { .. }),
                500 => matches!(error, Error::Server { status: 500, .. }),
                503 => matches!(error, Error::AuthUnavailable { .. }),
                _ => {
                    matches!(error, Error::UnexpectedStatus { status: 408, code: Some(ref c), .. } if c == "request_timeout")
                }
            };
            assert!(expected, "{status}: {error:?}");
        }
    }

    #[test]
    fn every_unauthorized_code_is_recognised() {
        for code in [
            "authorization_header_missing",
            "invalid_header",
            "token_expired",
            "invalid_claims",
            "invalid_token",
            "something_new",
        ] {
            let Error::Unauthorized { code: parsed, .. } =
                Error::from_response(401, None, &envelope(401, code, "no"))
            else {
                panic!("{code} is not unauthorized");
            };
            assert_eq!(parsed.as_str(), code);
        }
        let Error::Unauthorized { code, .. } =
            Error::from_response(401, None, &envelope(401, "token_expired", "late"))
        else {
            panic!("not unauthorized");
        };
        assert_eq!(code, UnauthorizedCode::TokenExpired);
    }

    #[test]
    fn a_422_names_the_field_of_the_message() {
        let error = Error::from_response(
            422,
            None,
            &envelope(422, "unprocessable", "title: must not be empty"),
        );
        assert!(
            matches!(error, Error::Invalid { field: Some(ref f), .. } if f == "title"),
            "{error:?}"
        );
        let error = Error::from_response(422, None, &envelope(422, "unprocessable", "no field"));
        assert!(matches!(error, Error::Invalid { field: None, .. }));
    }

    #[test]
    fn a_503_without_the_auth_code_is_a_server_error() {
        let error = Error::from_response(503, None, b"<html>busy</html>");
        assert!(
            matches!(error, Error::Server { status: 503, .. }),
            "{error:?}"
        );
        assert_eq!(error.message(), "<html>busy</html>");
    }

    #[test]
    fn unexpected_bodies_never_panic_and_keep_a_message() {
        for body in [
            &b""[..],
            b"not json",
            b"{\"message\": 5}",
            b"[1, 2]",
            b"\xff\xfe",
            b"null",
        ] {
            let error = Error::from_response(404, None, body);
            assert!(error.is_not_found());
            assert!(!error.message().is_empty(), "{body:?}");
        }
        assert_eq!(
            Error::from_response(502, None, b"").message(),
            "bad gateway"
        );
        let long = "x".repeat(1000);
        assert_eq!(
            Error::from_response(500, None, long.as_bytes())
                .message()
                .chars()
                .count(),
            SNIPPET_CHARS + 3
        );
    }

    #[test]
    fn a_405_keeps_the_allow_header() {
        let error = Error::from_response(
            405,
            Some("GET, POST".into()),
            &envelope(405, "method_not_allowed", "method not allowed"),
        );
        assert!(
            matches!(error, Error::MethodNotAllowed { allow: Some(ref a), .. } if a == "GET, POST")
        );
    }

    #[test]
    fn the_display_form_has_status_code_and_message() {
        let error = Error::from_response(
            403,
            None,
            &envelope(
                403,
                "permission_denied",
                "permission denied: post:movies is required",
            ),
        );
        assert_eq!(
            error.to_string(),
            "403 permission_denied: permission denied: post:movies is required"
        );
    }
}
