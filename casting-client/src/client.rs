//! The [`Client`]: its shared state, the replaceable token, and the one
//! function every route goes through to send a request and read its answer.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::builder::ClientBuilder;
use crate::error::Error;
use crate::retry::{self, RetryPolicy};
use crate::token::{Credential, Fetch, Source, Tokens};

/// A client of the casting agency API; cheap to clone, and every clone
/// shares the connection pool and the token.
///
/// Each route of the contract is a method; see the crate documentation for
/// the list. Every method needs the permission of its route, carried by the
/// token, except [`Client::health`] and [`Client::openapi`].
///
/// # Tokens
/// A client sends either no token, a token it was given
/// ([`ClientBuilder::token`], [`Client::set_token`]), or tokens it obtains
/// itself with the OAuth 2.0 client-credentials grant
/// ([`ClientBuilder::client_credentials`]). Those it keeps until shortly
/// before they expire; when several requests need a new one at once, one
/// token request is made and they all wait for it. A request the API
/// answers with 401 is sent once more with a new token, whatever its
/// method: the API refuses a token before it looks at the request.
///
/// # Retries
/// Requests that are safe to repeat are sent again after a connection
/// failure or a 502, 503 or 504, as the [`RetryPolicy`] says.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// The connection pool, TLS and proxy settings.
    http: reqwest::Client,
    /// Where the API lives; route paths are appended to its path.
    base: Url,
    /// Where tokens come from; replaceable while requests run.
    tokens: Tokens,
    /// Per request, so it holds with a caller's own `reqwest::Client` too.
    timeout: Option<Duration>,
    /// Per request, for the same reason.
    user_agent: HeaderValue,
    /// Which failures are tried again, how often and how soon.
    retry: RetryPolicy,
}

/// `Bearer TOKEN` as a sensitive header value.
pub(crate) fn bearer(token: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| Error::config("the token holds characters a header cannot carry"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// An answer of the server that is not a success, kept whole until it is
/// known whether the request is sent again.
struct Refusal {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Client {
    /// A client of the API at `base_url` (such as `http://127.0.0.1:8080`,
    /// or `https://host/prefix` behind a proxy), with no token and the
    /// default settings of [`ClientBuilder`].
    ///
    /// # Errors
    /// As [`ClientBuilder::build`].
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Self::builder(base_url).build()
    }

    /// A builder of a client of the API at `base_url`.
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder::new(base_url)
    }

    pub(crate) fn from_parts(
        http: reqwest::Client,
        base: Url,
        source: Source,
        timeout: Option<Duration>,
        user_agent: HeaderValue,
        retry: RetryPolicy,
    ) -> Self {
        Client {
            inner: Arc::new(Inner {
                http,
                base,
                tokens: Tokens::new(source),
                timeout,
                user_agent,
                retry,
            }),
        }
    }

    /// The base URL every route is joined to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Replaces the token of this client and all its clones, for every
    /// request sent from now on (requests in flight keep the old one). Use
    /// it when a token is refreshed, or to act as another role. A client
    /// that had client credentials uses this token from now on instead.
    ///
    /// # Errors
    /// [`Error::Config`] when the token holds characters a header cannot
    /// carry; the old token is then kept.
    pub fn set_token(&self, token: &str) -> Result<(), Error> {
        let value = bearer(token)?;
        self.inner.tokens.replace(Source::Fixed(value));
        Ok(())
    }

    /// Removes the token (or the client credentials): requests go without
    /// an `Authorization` header.
    pub fn clear_token(&self) {
        self.inner.tokens.replace(Source::Anonymous);
    }

    /// Whether the client sends a token: one it was given, or one it
    /// obtains with client credentials.
    pub fn has_token(&self) -> bool {
        !matches!(self.inner.tokens.source(), Source::Anonymous)
    }

    /// The URL of `segments` below the base, each one percent-encoded.
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.inner.base.clone();
        // The builder refused URLs that cannot be a base, for which alone
        // `path_segments_mut` fails; such a URL is left as it is.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    fn fetch(&self) -> Fetch<'_> {
        Fetch {
            http: &self.inner.http,
            user_agent: &self.inner.user_agent,
            timeout: self.inner.timeout,
        }
    }

    /// Sends `method` to `segments` with `query` and, if given, `body` as
    /// JSON, and reads a 2xx answer as `T`, any other as an [`Error`].
    ///
    /// A 401 to a token of the client-credentials grant is answered by
    /// one new token and one more attempt; a failure that may pass, of a
    /// request that is safe to repeat, by the retries of the policy.
    pub(crate) async fn send<T, B>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, Error>
    where
        T: DeserializeOwned,
        B: Serialize + ?Sized,
    {
        self.send_with(method, segments, query, HeaderMap::new(), body)
            .await
            .map(|(answer, _)| answer)
    }

    /// [`Client::send`] with extra request `headers`, answering with the
    /// response's headers too (for its `ETag`).
    pub(crate) async fn send_with<T, B>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        headers: HeaderMap,
        body: Option<&B>,
    ) -> Result<(T, HeaderMap), Error>
    where
        T: DeserializeOwned,
        B: Serialize + ?Sized,
    {
        let url = self.url(segments, query);
        let what = format!("{method} {}", url.path());
        // Serialised once, so that every attempt sends the same bytes.
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::config(format!("cannot serialise the body of {what}: {e}")))?;
        // A PATCH with `If-Match` is safe to repeat: a second attempt after
        // a first that did land is refused with a 412, changing nothing.
        let repeatable = retry::is_repeatable(&method, &headers);
        let started = Instant::now();
        let mut attempts = 0;
        let mut refreshed = false;
        loop {
            let credential = self.inner.tokens.credential(&self.fetch()).await?;
            attempts += 1;
            let (error, retry_after) = match self
                .attempt(
                    &method,
                    &url,
                    &headers,
                    body.as_deref(),
                    credential.as_ref(),
                )
                .await
            {
                Ok(Ok((bytes, answered))) => {
                    return serde_json::from_slice(&bytes)
                        .map(|answer| (answer, answered))
                        .map_err(|e| Error::decode(&what, e));
                }
                Ok(Err(refusal)) => {
                    if refusal.status == StatusCode::UNAUTHORIZED
                        && !refreshed
                        && let Some(Credential {
                            authorization,
                            cache: Some(cache),
                        }) = &credential
                    {
                        refreshed = true;
                        // Not counted as an attempt: the API did nothing
                        // with a request whose token it refused.
                        attempts -= 1;
                        cache.replace_refused(&self.fetch(), authorization).await?;
                        continue;
                    }
                    let retry_after = retry::retry_after(
                        refusal.headers.get(header::RETRY_AFTER),
                        SystemTime::now(),
                    );
                    let allow = refusal
                        .headers
                        .get(header::ALLOW)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let status = refusal.status.as_u16();
                    let error = Error::from_response(status, allow, &refusal.body);
                    if !(repeatable && retry::is_transient(status)) {
                        return Err(error);
                    }
                    (error, retry_after)
                }
                Err(error) => {
                    let connect_failed = matches!(
                        error,
                        Error::Transport {
                            kind: crate::TransportKind::Connect,
                            ..
                        }
                    );
                    if !(repeatable && connect_failed) {
                        return Err(error);
                    }
                    (error, None)
                }
            };
            match self
                .inner
                .retry
                .delay(attempts, started.elapsed(), retry_after)
            {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(error),
            }
        }
    }

    /// One attempt: the body of a 2xx answer, or the answer that refused
    /// the request, or the transport error that stopped it.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: Option<&[u8]>,
        credential: Option<&Credential>,
    ) -> Result<Result<(Vec<u8>, HeaderMap), Refusal>, Error> {
        let mut request = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .headers(headers.clone())
            .header(header::USER_AGENT, self.inner.user_agent.clone())
            .header(header::ACCEPT, "application/json");
        if let Some(credential) = credential {
            request = request.header(header::AUTHORIZATION, credential.authorization.clone());
        }
        if let Some(timeout) = self.inner.timeout {
            request = request.timeout(timeout);
        }
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = request.send().await.map_err(Error::transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(Error::body)?.to_vec();
        Ok(if status.is_success() {
            Ok((bytes, headers))
        } else {
            Err(Refusal {
                status,
                headers,
                body: bytes,
            })
        })
    }

    /// [`Client::send`] without a body.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        self.send::<T, ()>(Method::GET, segments, query, None).await
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("has_token", &self.has_token())
            .field("token_source", &self.inner.tokens.source().describe())
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(base).unwrap()
    }

    #[test]
    fn paths_are_joined_below_the_base() {
        assert_eq!(
            client("http://h:1").url(&["movies", "3"], &[]).as_str(),
            "http://h:1/movies/3"
        );
        assert_eq!(
            client("http://h:1/api/").url(&["movies"], &[]).as_str(),
            "http://h:1/api/movies"
        );
        assert_eq!(
            client("http://h:1/api")
                .url(&["actors", "search"], &[])
                .as_str(),
            "http://h:1/api/actors/search"
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        let url = client("http://h").url(
            &["movies", "search"],
            &[("q", "a b&c=d".into()), ("limit", "5".into())],
        );
        assert_eq!(url.as_str(), "http://h/movies/search?q=a+b%26c%3Dd&limit=5");
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let client = Client::builder("http://h")
            .token("secret-token")
            .build()
            .unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("secret-token"), "{debug}");
        assert!(debug.contains("has_token: true"), "{debug}");
    }

    fn authorization(client: &Client) -> Option<String> {
        match client.inner.tokens.source() {
            Source::Fixed(value) => Some(value.to_str().unwrap().to_owned()),
            _ => None,
        }
    }

    #[test]
    fn a_token_can_be_set_replaced_and_cleared() {
        let client = client("http://h");
        assert!(!client.has_token());
        client.set_token("one").unwrap();
        let clone = client.clone();
        clone.set_token("two").unwrap();
        assert_eq!(authorization(&client).as_deref(), Some("Bearer two"));
        assert!(client.set_token("bad\r\n").is_err());
        assert_eq!(authorization(&client).as_deref(), Some("Bearer two"));
        clone.clear_token();
        assert!(!client.has_token());
    }
}
