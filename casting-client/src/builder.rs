//! How a [`Client`] is made: the base URL, and optionally a token, a
//! timeout, a user agent and a `reqwest::Client` of the caller's own.

use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderValue;

use crate::client::{Client, bearer};
use crate::error::Error;

/// How long a request may take, headers and body, unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The `User-Agent` sent unless told otherwise: `casting-client/VERSION`.
pub const DEFAULT_USER_AGENT: &str = concat!("casting-client/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`]; made by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
///
/// let client = casting_client::Client::builder("http://127.0.0.1:8080")
///     .token("eyJhbGciOi...")
///     .timeout(Duration::from_secs(5))
///     .user_agent("my-tool/1.0")
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "http://127.0.0.1:8080/");
/// # Ok::<(), casting_client::Error>(())
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    token: Option<String>,
    timeout: Option<Duration>,
    user_agent: String,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    pub(crate) fn new(base_url: &str) -> Self {
        ClientBuilder {
            base_url: base_url.to_owned(),
            token: None,
            timeout: Some(DEFAULT_TIMEOUT),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            http: None,
        }
    }

    /// The access token sent as `Authorization: Bearer TOKEN`; it can be
    /// replaced later with [`Client::set_token`]. Without one, routes that
    /// need a permission answer 401 `authorization_header_missing`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// How long one request may take, from sending it to the last byte of
    /// the answer ([`DEFAULT_TIMEOUT`] unless set). For a stream, each page
    /// is one request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// No timeout: a request may wait as long as the server takes.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// The `User-Agent` of every request ([`DEFAULT_USER_AGENT`] unless set).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sends requests through `http` (sharing its connection pool, proxy and
    /// TLS settings) instead of a client of its own. The timeout and user
    /// agent set here still apply, per request.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`Error::Config`] when the base URL is not an `http` or `https` URL
    /// without a query or fragment, when the user agent or token cannot be
    /// sent in a header, or when the HTTP client cannot be built.
    pub fn build(self) -> Result<Client, Error> {
        let base = parse_base(&self.base_url)?;
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::config("the user agent is not a valid header value"))?;
        let token = self.token.as_deref().map(bearer).transpose()?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .build()
                .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?,
        };
        Ok(Client::from_parts(
            http,
            base,
            token,
            self.timeout,
            user_agent,
        ))
    }
}

/// The base URL, checked once so that joining paths to it cannot fail.
fn parse_base(raw: &str) -> Result<Url, Error> {
    let url = Url::parse(raw)
        .map_err(|e| Error::config(format!("the base URL {raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::config(format!(
            "the base URL {raw:?} must be an http:// or https:// URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "the base URL {raw:?} must not have a query or a fragment"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_http_or_https() {
        assert!(parse_base("http://127.0.0.1:8080").is_ok());
        assert!(parse_base("https://casting.example/api/").is_ok());
        for bad in [
            "",
            "127.0.0.1:8080",
            "ftp://x",
            "mailto:a@b",
            "http://x/?a=1",
            "http://x/#top",
        ] {
            assert!(
                matches!(parse_base(bad), Err(Error::Config { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_token_that_cannot_be_a_header_is_a_configuration_error() {
        let result = Client::builder("http://x").token("a\nb").build();
        assert!(matches!(result, Err(Error::Config { .. })));
    }
}
