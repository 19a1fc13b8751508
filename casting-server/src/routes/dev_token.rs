//! Development mode's token endpoint, `POST /oauth/token`: the OAuth 2.0
//! client-credentials grant (RFC 6749 section 4.4) with fixed, documented
//! credentials, so that a machine-to-machine client (such as
//! `casting-client` with `ClientCredentials`) can be tried against a local
//! server as it would be against Auth0.
//!
//! It exists only in development mode (the router does not know the path
//! otherwise) and answers only clients on a loopback address (any other
//! gets the 404 of a path that does not exist). The client id names a
//! built-in role, `casting-dev-assistant`, `casting-dev-director` or
//! `casting-dev-producer`; the secret is [`DEV_CLIENT_SECRET`] for all
//! three. Tokens are signed with the development key, like the tokens the
//! server prints at start.
//!
//! The credentials are read from a form body (`client_secret_post`, as the
//! RFC has it) or a JSON one (as Auth0 also takes). Errors are those of RFC
//! 6749 section 5.2, `{"error": CODE, "error_description": TEXT}`, not the
//! API's envelope, because token clients read that shape.

use bytes::Bytes;
use casting_core::Role;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body;
use serde::Deserialize;
use serde_json::json;

use crate::auth::dev::DEV_AUDIENCE;
use crate::http::error::ApiError;
use crate::http::response::{HttpResponse, json_bytes};
use crate::state::{App, ClientAddr};

/// The client secret of every development client. It is public: the
/// endpoint's protection is that it exists in development mode only and
/// answers loopback clients only.
pub const DEV_CLIENT_SECRET: &str = "casting-dev-secret";

/// The client id of a role is this prefix and the role's name.
pub const DEV_CLIENT_PREFIX: &str = "casting-dev-";

/// How long a granted token lives, in seconds.
pub const DEV_GRANT_TTL: u64 = 3600;

/// Whether the request came from this machine. A request without a known
/// address (one not made through the server's listener) is not.
fn from_loopback(parts: &Parts) -> bool {
    parts
        .extensions
        .get::<ClientAddr>()
        .is_some_and(|ClientAddr(ip)| ip.to_canonical().is_loopback())
}

/// The parameters of a token request.
#[derive(Debug, Default, Deserialize)]
struct Grant {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    audience: Option<String>,
}

impl Grant {
    fn from_form(body: &[u8]) -> Self {
        let mut grant = Grant::default();
        for (key, value) in form_urlencoded::parse(body) {
            let slot = match key.as_ref() {
                "grant_type" => &mut grant.grant_type,
                "client_id" => &mut grant.client_id,
                "client_secret" => &mut grant.client_secret,
                "audience" => &mut grant.audience,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        grant
    }
}

/// An RFC 6749 section 5.2 error answer.
fn refusal(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let body = json!({"error": error, "error_description": description});
    no_store(json_bytes(status, body.to_string()))
}

/// Token answers must not be cached (RFC 6749 section 5.1).
fn no_store(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The role whose development client is `client_id`, if the secret is right.
fn authenticate(client_id: Option<&str>, secret: Option<&str>) -> Option<Role> {
    let role = client_id?.strip_prefix(DEV_CLIENT_PREFIX)?.parse().ok()?;
    (secret? == DEV_CLIENT_SECRET).then_some(role)
}

/// Answers `POST /oauth/token`.
///
/// # Errors
/// 404 for a client off loopback, or outside development mode; 413 for a
/// body over the limit; 500 when the token cannot be signed. A refused
/// grant is an RFC 6749 answer, not an error of the API.
pub async fn answer<B>(app: &App, parts: &Parts, body: B) -> Result<HttpResponse, ApiError>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if !from_loopback(parts) {
        return Err(ApiError::NotFound);
    }
    let signer = app.dev().ok_or(ApiError::NotFound)?.issuer();
    let limit = app.body_limit();
    let bytes = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<LengthLimitError>() {
                ApiError::PayloadTooLarge(limit)
            } else {
                ApiError::BadRequest("the body could not be read".into())
            }
        })?
        .to_bytes();
    let media_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let grant = match media_type.as_deref() {
        Some("application/x-www-form-urlencoded") => Grant::from_form(&bytes),
        Some("application/json") => match serde_json::from_slice(&bytes) {
            Ok(grant) => grant,
            Err(_) => {
                return Ok(refusal(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the body is not a JSON object of strings",
                ));
            }
        },
        _ => {
            return Ok(refusal(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send the grant as application/x-www-form-urlencoded or application/json",
            ));
        }
    };
    match grant.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => {
            return Ok(refusal(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            ));
        }
        Some(_) => {
            return Ok(refusal(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is granted here",
            ));
        }
    }
    let Some(role) = authenticate(grant.client_id.as_deref(), grant.client_secret.as_deref())
    else {
        return Ok(refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the development clients are casting-dev-assistant, casting-dev-director and casting-dev-producer, with the documented secret",
        ));
    };
    if grant.audience.as_deref().is_some_and(|a| a != DEV_AUDIENCE) {
        return Ok(refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the only audience here is casting-agency",
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let token = signer
        .token(role, now, DEV_GRANT_TTL)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": DEV_GRANT_TTL});
    Ok(no_store(json_bytes(StatusCode::OK, body.to_string())))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn parts_from(addr: Option<&str>) -> Parts {
        let mut request = http::Request::new(());
        if let Some(addr) = addr {
            let ip: IpAddr = addr.parse().unwrap();
            request.extensions_mut().insert(ClientAddr(ip));
        }
        request.into_parts().0
    }

    #[test]
    fn only_loopback_clients_are_answered() {
        for local in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert!(from_loopback(&parts_from(Some(local))), "{local}");
        }
        for remote in ["10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "2001:db8::1"] {
            assert!(!from_loopback(&parts_from(Some(remote))), "{remote}");
        }
        assert!(!from_loopback(&parts_from(None)));
    }

    #[test]
    fn each_role_has_a_client_with_the_documented_secret() {
        for role in Role::ALL {
            let id = format!("{DEV_CLIENT_PREFIX}{role}");
            assert_eq!(authenticate(Some(&id), Some(DEV_CLIENT_SECRET)), Some(role));
            assert_eq!(authenticate(Some(&id), Some("wrong")), None);
            assert_eq!(authenticate(Some(&id), None), None);
        }
        assert_eq!(
            authenticate(Some("casting-dev-admin"), Some(DEV_CLIENT_SECRET)),
            None
        );
        assert_eq!(authenticate(None, Some(DEV_CLIENT_SECRET)), None);
    }

    #[test]
    fn a_form_grant_is_read_and_unknown_fields_ignored() {
        let grant = Grant::from_form(
            b"grant_type=client_credentials&client_id=casting-dev-producer&client_secret=a%26b&scope=x&audience=casting-agency",
        );
        assert_eq!(grant.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(grant.client_id.as_deref(), Some("casting-dev-producer"));
        assert_eq!(grant.client_secret.as_deref(), Some("a&b"));
        assert_eq!(grant.audience.as_deref(), Some("casting-agency"));
    }
}
