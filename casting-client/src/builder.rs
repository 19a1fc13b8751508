//! How a [`Client`] is made: the base URL, and optionally a token or
//! client credentials, a timeout, a retry policy, a user agent and a
//! `reqwest::Client` of the caller's own.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderValue;

use crate::client::{Client, bearer};
use crate::credentials::ClientCredentials;
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::token::{Source, TokenCache};

/// How long each attempt of a request may take, headers and body, unless
/// told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The `User-Agent` sent unless told otherwise: `casting-client/VERSION`.
pub const DEFAULT_USER_AGENT: &str = concat!("casting-client/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`]; made by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use casting_client::RetryPolicy;
///
/// let client = casting_client::Client::builder("http://127.0.0.1:8080")
///     .token("eyJhbGciOi...")
///     .timeout(Duration::from_secs(5))
///     .retry(RetryPolicy::default().max_attempts(4))
///     .user_agent("my-tool/1.0")
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "http://127.0.0.1:8080/");
/// # Ok::<(), casting_client::Error>(())
/// ```
pub struct ClientBuilder {
    base_url: String,
    auth: Auth,
    timeout: Option<Duration>,
    retry: RetryPolicy,
    user_agent: String,
    http: Option<reqwest::Client>,
}

/// What the client will authenticate with; the last setter wins.
enum Auth {
    Anonymous,
    Token(String),
    Credentials(ClientCredentials),
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth: &dyn fmt::Debug = match &self.auth {
            Auth::Anonymous => &"none",
            // Never the token itself.
            Auth::Token(_) => &"static token",
            Auth::Credentials(credentials) => credentials,
        };
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("auth", auth)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("http", &self.http)
            .finish()
    }
}

impl ClientBuilder {
    pub(crate) fn new(base_url: &str) -> Self {
        ClientBuilder {
            base_url: base_url.to_owned(),
            auth: Auth::Anonymous,
            timeout: Some(DEFAULT_TIMEOUT),
            retry: RetryPolicy::default(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            http: None,
        }
    }

    /// The access token sent as `Authorization: Bearer TOKEN`; it can be
    /// replaced later with [`Client::set_token`]. Without one, routes that
    /// need a permission answer 401 `authorization_header_missing`.
    /// Replaces client credentials given before.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth = Auth::Token(token.into());
        self
    }

    /// Obtains tokens with the OAuth 2.0 client-credentials grant instead
    /// of being given one: the first request asks the token endpoint for a
    /// token, which is kept until shortly before it expires and shared by
    /// every clone of the client. Replaces a token given before.
    ///
    /// ```no_run
    /// use casting_client::{Client, ClientCredentials};
    ///
    /// # async fn run() -> Result<(), casting_client::Error> {
    /// let client = Client::builder("http://127.0.0.1:8080")
    ///     .client_credentials(ClientCredentials::new(
    ///         "http://127.0.0.1:8080/oauth/token",
    ///         "casting-dev-assistant",
    ///         "casting-dev-secret",
    ///     ))
    ///     .build()?;
    /// let first = client.list_movies(Default::default()).await?;
    /// println!("{} movies", first.total);
    /// # Ok(())
    /// # }
    /// ```
    pub fn client_credentials(mut self, credentials: ClientCredentials) -> Self {
        self.auth = Auth::Credentials(credentials);
        self
    }

    /// Which failed requests are sent again, how often and how soon
    /// ([`RetryPolicy::default`] unless set).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends every request once, whatever happens to it.
    pub fn no_retries(self) -> Self {
        self.retry(RetryPolicy::never())
    }

    /// How long one attempt of a request may take, from sending it to the
    /// last byte of the answer ([`DEFAULT_TIMEOUT`] unless set); a token
    /// request is held to it too. For a stream, each page is one request;
    /// a request that is retried gets this long for each attempt, and the
    /// [`RetryPolicy`] bounds the attempts.
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
    /// sent in a header, when the token URL of the client credentials is
    /// not `https://` (or `http://` to a loopback address), or when the
    /// HTTP client cannot be built.
    pub fn build(self) -> Result<Client, Error> {
        let base = parse_base(&self.base_url)?;
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::config("the user agent is not a valid header value"))?;
        let source = match self.auth {
            Auth::Anonymous => Source::Anonymous,
            Auth::Token(token) => Source::Fixed(bearer(&token)?),
            Auth::Credentials(credentials) => {
                credentials.endpoint()?;
                Source::Granted(Arc::new(TokenCache::new(credentials)))
            }
        };
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .build()
                .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?,
        };
        Ok(Client::from_parts(
            http,
            base,
            source,
            self.timeout,
            user_agent,
            self.retry,
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

    #[test]
    fn debug_output_of_a_builder_never_shows_a_token_or_secret() {
        let with_token = Client::builder("http://x").token("tok-3n-value");
        let with_secret = Client::builder("http://x").client_credentials(ClientCredentials::new(
            "https://issuer/oauth/token",
            "id",
            "s3cr3t-value",
        ));
        let debug = format!("{with_token:?} {with_secret:?}");
        assert!(!debug.contains("tok-3n-value"), "{debug}");
        assert!(!debug.contains("s3cr3t-value"), "{debug}");
        assert!(debug.contains("static token"), "{debug}");
    }

    #[test]
    fn client_credentials_for_a_plain_http_issuer_are_refused() {
        let result = Client::builder("http://x")
            .client_credentials(ClientCredentials::new(
                "http://issuer.example/oauth/token",
                "id",
                "secret",
            ))
            .build();
        assert!(matches!(result, Err(Error::Config { .. })), "{result:?}");
    }
}
