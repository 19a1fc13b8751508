//! The [`Client`]: its shared state, the replaceable token, and the one
//! function every route goes through to send a request and read its answer.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use reqwest::header::{self, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::builder::ClientBuilder;
use crate::error::Error;

/// A client of the casting agency API; cheap to clone, and every clone
/// shares the connection pool and the token.
///
/// Each route of the contract is a method; see the crate documentation for
/// the list. Every method needs the permission of its route, carried by the
/// token, except [`Client::health`] and [`Client::openapi`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// The connection pool, TLS and proxy settings.
    http: reqwest::Client,
    /// Where the API lives; route paths are appended to its path.
    base: Url,
    /// `Bearer TOKEN`, marked sensitive so it never shows in debug output.
    /// Behind a lock so that a token can be refreshed while requests run.
    authorization: RwLock<Option<HeaderValue>>,
    /// Per request, so it holds with a caller's own `reqwest::Client` too.
    timeout: Option<Duration>,
    /// Per request, for the same reason.
    user_agent: HeaderValue,
}

/// `Bearer TOKEN` as a sensitive header value.
pub(crate) fn bearer(token: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| Error::config("the token holds characters a header cannot carry"))?;
    value.set_sensitive(true);
    Ok(value)
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
        authorization: Option<HeaderValue>,
        timeout: Option<Duration>,
        user_agent: HeaderValue,
    ) -> Self {
        Client {
            inner: Arc::new(Inner {
                http,
                base,
                authorization: RwLock::new(authorization),
                timeout,
                user_agent,
            }),
        }
    }

    /// The base URL every route is joined to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Replaces the token of this client and all its clones, for every
    /// request sent from now on (requests in flight keep the old one). Use
    /// it when a token is refreshed, or to act as another role.
    ///
    /// # Errors
    /// [`Error::Config`] when the token holds characters a header cannot
    /// carry; the old token is then kept.
    pub fn set_token(&self, token: &str) -> Result<(), Error> {
        let value = bearer(token)?;
        *self.write_authorization() = Some(value);
        Ok(())
    }

    /// Removes the token: requests go without an `Authorization` header.
    pub fn clear_token(&self) {
        *self.write_authorization() = None;
    }

    /// Whether the client has a token.
    pub fn has_token(&self) -> bool {
        self.read_authorization().is_some()
    }

    fn write_authorization(&self) -> std::sync::RwLockWriteGuard<'_, Option<HeaderValue>> {
        // The lock guards a plain value that no panic can leave half
        // written, so a poisoned lock is still good to use.
        self.inner
            .authorization
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn read_authorization(&self) -> Option<HeaderValue> {
        self.inner
            .authorization
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
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

    /// Sends `method` to `segments` with `query` and, if given, `body` as
    /// JSON, and reads a 2xx answer as `T`, any other as an [`Error`].
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
        let url = self.url(segments, query);
        let what = format!("{method} {}", url.path());
        let mut request = self
            .inner
            .http
            .request(method, url)
            .header(header::USER_AGENT, self.inner.user_agent.clone())
            .header(header::ACCEPT, "application/json");
        if let Some(authorization) = self.read_authorization() {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        if let Some(timeout) = self.inner.timeout {
            request = request.timeout(timeout);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(Error::transport)?;
        let status = response.status();
        let allow = response
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.map_err(Error::body)?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| Error::decode(&what, e))
        } else {
            Err(Error::from_response(status.as_u16(), allow, &bytes))
        }
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
            .field("timeout", &self.inner.timeout)
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

    #[test]
    fn a_token_can_be_set_replaced_and_cleared() {
        let client = client("http://h");
        assert!(!client.has_token());
        client.set_token("one").unwrap();
        let clone = client.clone();
        clone.set_token("two").unwrap();
        assert_eq!(
            client.read_authorization().unwrap().to_str().unwrap(),
            "Bearer two"
        );
        assert!(client.set_token("bad\r\n").is_err());
        assert_eq!(
            client.read_authorization().unwrap().to_str().unwrap(),
            "Bearer two"
        );
        clone.clear_token();
        assert!(!client.has_token());
    }
}
