//! The OAuth 2.0 client-credentials grant (RFC 6749 section 4.4): what a
//! machine-to-machine client tells the issuer, and how the access token it
//! gets back is fetched.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{self, HeaderValue};
use serde::Deserialize;

use crate::error::Error;

/// How long before its expiry a token is replaced, unless told otherwise.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// The client credentials of a machine-to-machine application, and the
/// token endpoint of the issuer that accepts them.
///
/// Given to [`ClientBuilder::client_credentials`](crate::ClientBuilder::client_credentials),
/// it makes the client fetch its own access token: before its first
/// request, again shortly before the token expires, and once when the API
/// refuses a token with a 401 (see [`Client`](crate::Client)). The secret
/// and the tokens never appear in debug output or errors.
///
/// ```
/// use casting_client::{Client, ClientCredentials};
///
/// let credentials = ClientCredentials::auth0(
///     "your-tenant.us.auth0.com",
///     "my-client-id",
///     std::env::var("CLIENT_SECRET").unwrap_or_default(),
///     "casting-agency",
/// );
/// let client = Client::builder("https://casting.example")
///     .client_credentials(credentials)
///     .build()?;
/// assert!(client.has_token());
/// # Ok::<(), casting_client::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    token_url: String,
    client_id: String,
    client_secret: String,
    audience: Option<String>,
    scope: Option<String>,
    refresh_margin: Duration,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .field("refresh_margin", &self.refresh_margin)
            .finish()
    }
}

impl ClientCredentials {
    /// Credentials presented to the token endpoint at `token_url`, which
    /// must be `https://`, or `http://` to a loopback address (the secret
    /// travels in the request body).
    pub fn new(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        ClientCredentials {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            audience: None,
            scope: None,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
        }
    }

    /// Credentials of an Auth0 application for the API identified by
    /// `audience`, presented at `https://DOMAIN/oauth/token`.
    pub fn auth0(
        domain: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        let domain = domain.trim_end_matches('/');
        ClientCredentials::new(
            format!("https://{domain}/oauth/token"),
            client_id,
            client_secret,
        )
        .audience(audience)
    }

    /// The API the token is for, sent as `audience` (Auth0 needs it; plain
    /// RFC 6749 servers ignore it).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The scope asked for, space-separated; without it, the issuer grants
    /// the application's default.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// How long before its expiry a token is replaced
    /// ([`DEFAULT_REFRESH_MARGIN`] unless set). A token that lives less
    /// than twice the margin is replaced after half its life.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The token endpoint, checked before any secret is sent to it.
    pub(crate) fn endpoint(&self) -> Result<Url, Error> {
        let url = Url::parse(&self.token_url).map_err(|e| {
            Error::config(format!(
                "the token URL {:?} is not a URL: {e}",
                self.token_url
            ))
        })?;
        let host = url.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => Ok(url),
            "http" if loopback => Ok(url),
            _ => Err(Error::config(format!(
                "the token URL {:?} must be https:// (or http:// to a loopback address), as the client secret is sent to it",
                self.token_url
            ))),
        }
    }

    /// The form body of the grant: the credentials go in the body
    /// (`client_secret_post`), as Auth0 documents it.
    fn form(&self) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", &self.client_secret);
        if let Some(audience) = &self.audience {
            form.append_pair("audience", audience);
        }
        if let Some(scope) = &self.scope {
            form.append_pair("scope", scope);
        }
        form.finish()
    }

    /// How long a token that lives `lifetime` may be used before it is
    /// replaced.
    pub(crate) fn usable_for(&self, lifetime: Duration) -> Duration {
        let margin = self.refresh_margin.min(lifetime / 2);
        lifetime - margin
    }
}

/// An access token just obtained.
pub(crate) struct Grant {
    /// `Bearer TOKEN`, marked sensitive.
    pub(crate) authorization: HeaderValue,
    /// How long the issuer says it lives, when it says.
    pub(crate) lifetime: Option<Duration>,
}

/// The success answer of a token endpoint (RFC 6749 section 5.1).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The error answer of a token endpoint (RFC 6749 section 5.2), read
/// leniently: an issuer's own error page still maps by its status.
#[derive(Deserialize)]
struct TokenRefusal {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Why no token was obtained, in a form every waiting caller can share.
#[derive(Debug, Clone)]
pub(crate) struct GrantFailure {
    pub(crate) status: Option<u16>,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl From<GrantFailure> for Error {
    fn from(failure: GrantFailure) -> Self {
        Error::Token {
            status: failure.status,
            code: failure.code,
            message: failure.message,
        }
    }
}

/// Asks the token endpoint for a token, with the client's own connection
/// pool, user agent and timeout.
pub(crate) async fn request_token(
    credentials: &ClientCredentials,
    http: &reqwest::Client,
    user_agent: &HeaderValue,
    timeout: Option<Duration>,
) -> Result<Grant, GrantFailure> {
    let endpoint = credentials.endpoint().map_err(|e| GrantFailure {
        status: None,
        code: None,
        message: e.message().to_owned(),
    })?;
    let mut request = http
        .post(endpoint)
        .header(header::USER_AGENT, user_agent.clone())
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(credentials.form());
    if let Some(timeout) = timeout {
        request = request.timeout(timeout);
    }
    let unreachable = |e: reqwest::Error| GrantFailure {
        status: None,
        code: None,
        // The error names the URL and the cause, never the body.
        message: format!("the token endpoint could not be reached: {e}"),
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(unreachable)?;
    if !status.is_success() {
        let refusal = serde_json::from_slice::<TokenRefusal>(&bytes).ok();
        let (code, description) = refusal
            .map(|r| (r.error, r.error_description))
            .unwrap_or_default();
        let message = description
            .or_else(|| code.clone())
            .unwrap_or_else(|| format!("the token endpoint answered {status}"));
        return Err(GrantFailure {
            status: Some(status.as_u16()),
            code,
            message,
        });
    }
    let malformed = |why: &str| GrantFailure {
        status: Some(status.as_u16()),
        code: None,
        message: format!("the token endpoint's answer is {why}"),
    };
    // The answer holds the token: its parse error is not shown, lest it
    // quote a piece of it.
    let answer: TokenAnswer = serde_json::from_slice(&bytes)
        .map_err(|_| malformed("not a token response (RFC 6749 section 5.1)"))?;
    if let Some(kind) = &answer.token_type
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(malformed(&format!("a {kind:?} token, not a bearer token")));
    }
    let authorization = crate::client::bearer(&answer.access_token)
        .map_err(|_| malformed("a token a header cannot carry"))?;
    Ok(Grant {
        authorization,
        lifetime: answer.expires_in.map(Duration::from_secs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(url: &str) -> ClientCredentials {
        ClientCredentials::new(url, "machine", "s3cr3t-value")
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let debug = format!("{:?}", credentials("https://issuer/oauth/token"));
        assert!(!debug.contains("s3cr3t-value"), "{debug}");
        assert!(debug.contains("machine"), "{debug}");
    }

    #[test]
    fn the_form_carries_the_grant_the_credentials_and_the_audience() {
        let form = credentials("https://issuer/oauth/token")
            .audience("casting agency")
            .scope("get:movies get:actors")
            .form();
        let pairs: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        let expected = [
            ("grant_type", "client_credentials"),
            ("client_id", "machine"),
            ("client_secret", "s3cr3t-value"),
            ("audience", "casting agency"),
            ("scope", "get:movies get:actors"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(pairs, expected);
    }

    #[test]
    fn the_secret_is_sent_only_over_https_or_to_loopback() {
        for good in [
            "https://tenant.auth0.com/oauth/token",
            "http://127.0.0.1:8080/oauth/token",
            "http://[::1]:8080/oauth/token",
            "http://localhost:8080/oauth/token",
        ] {
            assert!(credentials(good).endpoint().is_ok(), "{good}");
        }
        for bad in [
            "http://tenant.auth0.com/oauth/token",
            "http://10.0.0.1/oauth/token",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            assert!(
                matches!(credentials(bad).endpoint(), Err(Error::Config { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn auth0_credentials_use_the_tenants_token_endpoint() {
        let credentials = ClientCredentials::auth0("tenant.auth0.com/", "id", "secret", "api");
        assert_eq!(
            credentials.endpoint().unwrap().as_str(),
            "https://tenant.auth0.com/oauth/token"
        );
        assert_eq!(credentials.audience.as_deref(), Some("api"));
    }

    #[test]
    fn a_token_is_replaced_a_margin_before_it_expires_or_at_half_life() {
        let credentials = credentials("https://i/").refresh_margin(Duration::from_secs(30));
        assert_eq!(
            credentials.usable_for(Duration::from_secs(3600)),
            Duration::from_secs(3570)
        );
        assert_eq!(
            credentials.usable_for(Duration::from_secs(40)),
            Duration::from_secs(20)
        );
        assert_eq!(credentials.usable_for(Duration::ZERO), Duration::ZERO);
    }
}
