//! The issuer's key set, fetched over HTTPS and cached.
//!
//! A request never waits on a fetch when its `kid` is known. An unknown
//! `kid` triggers at most one fetch attempt per 30 seconds, shared by every
//! request that misses meanwhile, so rotated keys are picked up and a flood
//! of bad tokens cannot hammer the issuer. A background task refreshes the
//! set at its `Cache-Control: max-age` (else every 10 minutes); when that
//! fails, the cached keys keep serving for 24 hours after the last success.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::AuthError;
use super::keys::{KeySet, KeySetError};
use super::token::refuse;
use crate::metrics::SharedMetrics;

/// The least time between two fetches caused by unknown `kid`s.
const MISS_INTERVAL: Duration = Duration::from_secs(30);
/// How long the last good key set serves while fetches fail.
const MAX_STALE: Duration = Duration::from_secs(24 * 60 * 60);
/// The refresh period when the issuer gives no `max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// Bounds on an issuer's `max-age`, so `max-age=0` cannot turn the refresh
/// into a busy loop and a typo cannot pin keys for days.
const MIN_MAX_AGE: Duration = Duration::from_secs(1);
const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// The largest key set document read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// How long one fetch may take in all.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A key set fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The request failed: connection, timeout, TLS.
    #[error("request failed: {}", causes(.0))]
    Request(#[from] reqwest::Error),
    /// The issuer answered with another status than 200.
    #[error("the issuer answered {0}")]
    Status(reqwest::StatusCode),
    /// The document is larger than the cap.
    #[error("the key set is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    /// The document is not a usable key set.
    #[error(transparent)]
    Document(#[from] KeySetError),
}

#[derive(Default)]
struct Cache {
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<Instant>,
}

#[derive(Default)]
struct Fetching {
    /// When an unknown `kid` last started a fetch, for the miss rate
    /// limit. Background refreshes do not count: they would otherwise keep
    /// a rotated key out for 30 s after every refresh.
    last_attempt: Option<Instant>,
    /// The fetch in flight, which late comers wait on instead of starting one.
    in_flight: Option<Shared<BoxFuture<'static, ()>>>,
}

/// A cached, self-refreshing JWKS.
pub struct JwksClient {
    url: String,
    http: reqwest::Client,
    allowed: Vec<Algorithm>,
    cache: RwLock<Cache>,
    fetching: Mutex<Fetching>,
    /// The refresh period the last good document asked for.
    max_age: Mutex<Duration>,
    /// Where fetch outcomes are counted.
    metrics: SharedMetrics,
}

impl std::fmt::Debug for JwksClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The `max-age` of a `Cache-Control` header, within sane bounds.
fn max_age(header: Option<&reqwest::header::HeaderValue>) -> Duration {
    header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|directive| directive.trim().strip_prefix("max-age="))
                .find_map(|secs| secs.trim_matches('"').parse::<u64>().ok())
        })
        .map_or(DEFAULT_MAX_AGE, |secs| {
            Duration::from_secs(secs).clamp(MIN_MAX_AGE, MAX_MAX_AGE)
        })
}

/// An error and every cause beneath it, joined with `: `, so that a log
/// says "connection refused" rather than only "error sending request".
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

impl JwksClient {
    /// A client for the key set at `url`, keeping keys usable with `allowed`.
    /// Nothing is fetched until [`JwksClient::start`] or a request.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS roots).
    pub fn new(
        url: String,
        allowed: Vec<Algorithm>,
        metrics: SharedMetrics,
    ) -> Result<Self, JwksError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("casting-server/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(JwksClient {
            url,
            http,
            allowed,
            cache: RwLock::new(Cache::default()),
            fetching: Mutex::new(Fetching::default()),
            max_age: Mutex::new(DEFAULT_MAX_AGE),
            metrics,
        })
    }

    /// Starts the first fetch and the background refresh. The task ends
    /// when the last other handle to the client is dropped.
    pub fn start(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(client) = weak.upgrade() else { return };
                let ok = client.shared_fetch(true).await;
                let wait = if ok {
                    *client
                        .max_age
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                } else {
                    MISS_INTERVAL
                };
                drop(client);
                tokio::time::sleep(wait).await;
            }
        });
    }

    /// The cached keys, unless the last good fetch is older than 24 hours.
    fn usable(&self) -> Option<Arc<KeySet>> {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        match (&cache.keys, cache.fetched_at) {
            (Some(keys), Some(at)) if at.elapsed() < MAX_STALE => Some(Arc::clone(keys)),
            _ => None,
        }
    }

    /// Whether a key set fetched within the last 24 hours is held.
    pub fn has_usable_keys(&self) -> bool {
        self.usable().is_some()
    }

    /// Whether the usable key set names `kid`; never fetches.
    pub fn knows(&self, kid: &str) -> bool {
        self.usable().is_some_and(|keys| keys.contains(kid))
    }

    /// The key named `kid` for `algorithm`, fetching the key set when the
    /// `kid` is unknown and the rate limit allows.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] when the key set does not name `kid`;
    /// [`AuthError::Unavailable`] when no usable key is cached at all.
    pub async fn key(
        self: &Arc<Self>,
        kid: &str,
        algorithm: Algorithm,
    ) -> Result<Arc<DecodingKey>, AuthError> {
        // A known kid never waits on a fetch, whatever the algorithm: a key
        // that does not verify it is a refusal now, not after a refetch.
        if let Some(keys) = self.usable().filter(|keys| keys.contains(kid)) {
            return keys.verifier(kid, algorithm);
        }
        self.shared_fetch(false).await;
        match self.usable() {
            Some(keys) => keys.verifier(kid, algorithm),
            None => Err(refuse(
                AuthError::Unavailable,
                "no usable key set is cached and the key set could not be fetched",
            )),
        }
    }

    /// Joins the fetch in flight, or starts one; unless `forced` (the
    /// background refresh), at most one per 30 seconds. Returns whether the cache holds
    /// a key set fetched by this call or the one it joined.
    async fn shared_fetch(self: &Arc<Self>, forced: bool) -> bool {
        let before = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .fetched_at;
        let fetch = {
            let mut fetching = self.fetching.lock().unwrap_or_else(PoisonError::into_inner);
            match &fetching.in_flight {
                Some(fetch) => fetch.clone(),
                None => {
                    if !forced {
                        let recent = fetching
                            .last_attempt
                            .is_some_and(|at| at.elapsed() < MISS_INTERVAL);
                        if recent {
                            return false;
                        }
                        fetching.last_attempt = Some(Instant::now());
                    }
                    let client = Arc::clone(self);
                    // Spawned, so the fetch finishes even when the request
                    // that started it goes away.
                    let task = tokio::spawn(async move {
                        client.fetch_and_store().await;
                        client
                            .fetching
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .in_flight = None;
                    });
                    let fetch = task.map(|_| ()).boxed().shared();
                    fetching.in_flight = Some(fetch.clone());
                    fetch
                }
            }
        };
        fetch.await;
        let after = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .fetched_at;
        after != before
    }

    async fn fetch_and_store(&self) {
        let fetched = self.fetch().await;
        self.metrics.key_set_fetch(fetched.is_ok());
        match fetched {
            Ok((keys, max_age)) => {
                tracing::debug!(url = %self.url, keys = keys.len(), "fetched the key set");
                *self.max_age.lock().unwrap_or_else(PoisonError::into_inner) = max_age;
                let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
                cache.keys = Some(Arc::new(keys));
                cache.fetched_at = Some(Instant::now());
            }
            Err(error) => match self.usable() {
                Some(keys) => tracing::warn!(
                    url = %self.url,
                    %error,
                    cached_keys = keys.len(),
                    "could not fetch the key set; the cached keys keep serving"
                ),
                None => tracing::error!(
                    url = %self.url,
                    %error,
                    "could not fetch the key set and no key is cached: requests are refused with 503 until a fetch succeeds"
                ),
            },
        }
    }

    async fn fetch(&self) -> Result<(KeySet, Duration), JwksError> {
        let mut response = self.http.get(&self.url).send().await?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(JwksError::Status(response.status()));
        }
        let max_age = max_age(response.headers().get(reqwest::header::CACHE_CONTROL));
        let mut document = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if document.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(JwksError::TooLarge);
            }
            document.extend_from_slice(&chunk);
        }
        Ok((KeySet::from_json(&document, &self.allowed)?, max_age))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn max_age_is_read_and_bounded() {
        let age = |v: &str| max_age(Some(&HeaderValue::from_str(v).unwrap()));
        assert_eq!(age("public, max-age=120"), Duration::from_secs(120));
        assert_eq!(age("max-age=0"), MIN_MAX_AGE);
        assert_eq!(age("max-age=99999999"), MAX_MAX_AGE);
        assert_eq!(age("no-cache"), DEFAULT_MAX_AGE);
        assert_eq!(max_age(None), DEFAULT_MAX_AGE);
    }
}
