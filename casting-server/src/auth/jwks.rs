//! The issuer's key set, fetched over HTTPS and cached.
//!
//! A request never waits on a fetch when its `kid` is known. An unknown
//! `kid` triggers at most one fetch attempt per 30 seconds, shared by every
//! request that misses meanwhile, so rotated keys are picked up and a flood
//! of bad tokens cannot hammer the issuer. A background task refreshes the
//! set at its `Cache-Control: max-age` (else every 10 minutes); when that
//! fails, the cached keys keep serving for 24 hours after the last success.
//!
//! Every period here runs on tokio's clock, and the document comes from a
//! [`Source`], so that the unit tests below check these rules on a paused
//! clock, in virtual time, instead of waiting for them.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::time::Instant;

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
    /// No whole answer came within the fetch timeout.
    #[error("no whole answer within {} s", FETCH_TIMEOUT.as_secs())]
    TimedOut,
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

/// Where key set documents come from.
trait Source: Send + Sync {
    /// One fetch: the document, and the refresh period it asks for.
    fn fetch(&self) -> BoxFuture<'_, Result<(Vec<u8>, Duration), JwksError>>;
}

/// The issuer's key set over HTTP(S).
struct Http {
    url: String,
    client: reqwest::Client,
}

impl Source for Http {
    fn fetch(&self) -> BoxFuture<'_, Result<(Vec<u8>, Duration), JwksError>> {
        async move {
            let mut response = self.client.get(&self.url).send().await?;
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
            Ok((document, max_age))
        }
        .boxed()
    }
}

/// A cached, self-refreshing JWKS.
pub struct JwksClient {
    /// Where the key set is, for the log.
    url: String,
    source: Box<dyn Source>,
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
        // The whole fetch is timed by tokio (see `fetch`); the
        // connect timeout only makes a dead address fail sooner.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("casting-server/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let source = Http {
            url: url.clone(),
            client,
        };
        Ok(Self::with_source(url, Box::new(source), allowed, metrics))
    }

    fn with_source(
        url: String,
        source: Box<dyn Source>,
        allowed: Vec<Algorithm>,
        metrics: SharedMetrics,
    ) -> Self {
        JwksClient {
            url,
            source,
            allowed,
            cache: RwLock::new(Cache::default()),
            fetching: Mutex::new(Fetching::default()),
            max_age: Mutex::new(DEFAULT_MAX_AGE),
            metrics,
        }
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
        let (document, max_age) = tokio::time::timeout(FETCH_TIMEOUT, self.source.fetch())
            .await
            .map_err(|_| JwksError::TimedOut)??;
        Ok((KeySet::from_json(&document, &self.allowed)?, max_age))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// What the scripted issuer answers to the next fetches.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Answer {
        /// A key set naming `kid-1`, asking to be refreshed after so many
        /// seconds.
        Keys { max_age: u64 },
        /// A 500.
        Fails,
        /// Nothing, ever.
        Hangs,
    }

    /// An issuer that answers as told and counts the fetches it was asked.
    struct Script {
        answer: Mutex<Answer>,
        fetches: AtomicUsize,
    }

    impl Script {
        fn answering(answer: Answer) -> Arc<Self> {
            Arc::new(Script {
                answer: Mutex::new(answer),
                fetches: AtomicUsize::new(0),
            })
        }

        fn set(&self, answer: Answer) {
            *self.answer.lock().unwrap() = answer;
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    impl Source for Arc<Script> {
        fn fetch(&self) -> BoxFuture<'_, Result<(Vec<u8>, Duration), JwksError>> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let answer = *self.answer.lock().unwrap();
            async move {
                match answer {
                    Answer::Keys { max_age } => {
                        let key = r#"{"kty": "RSA", "kid": "kid-1", "use": "sig", "n": "sXch", "e": "AQAB"}"#;
                        let document = format!(r#"{{"keys": [{key}]}}"#).into_bytes();
                        Ok((document, Duration::from_secs(max_age)))
                    }
                    Answer::Fails => Err(JwksError::Status(
                        reqwest::StatusCode::INTERNAL_SERVER_ERROR,
                    )),
                    Answer::Hangs => std::future::pending().await,
                }
            }
            .boxed()
        }
    }

    fn client(script: &Arc<Script>) -> Arc<JwksClient> {
        Arc::new(JwksClient::with_source(
            "scripted".into(),
            Box::new(Arc::clone(script)),
            vec![Algorithm::RS256],
            Arc::new(crate::metrics::Metrics::new()),
        ))
    }

    /// The key for `kid` and how long, in virtual time, finding it took.
    async fn timed_key(
        client: &Arc<JwksClient>,
        kid: &str,
    ) -> (Result<Arc<DecodingKey>, AuthError>, Duration) {
        let started = Instant::now();
        let key = client.key(kid, Algorithm::RS256).await;
        (key, started.elapsed())
    }

    /// Lets the clock run for `period`, spawned tasks with it.
    async fn pass(period: Duration) {
        tokio::time::sleep(period).await;
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_kids_cause_at_most_one_fetch_per_30_s() {
        let script = Script::answering(Answer::Keys { max_age: 3600 });
        let keys = client(&script);
        // Nothing is cached: the first request fetches.
        assert!(timed_key(&keys, "kid-1").await.0.is_ok());
        assert_eq!(script.fetches(), 1);

        let (refused, took) = timed_key(&keys, "rotated").await;
        assert!(matches!(refused, Err(AuthError::InvalidToken)));
        assert_eq!(took, Duration::ZERO, "a refused kid does not wait");
        pass(MISS_INTERVAL - Duration::from_secs(1)).await;
        for _ in 0..100 {
            let _ = keys.key("rotated", Algorithm::RS256).await;
        }
        assert_eq!(script.fetches(), 1, "no fetch within 30 s of the last");
        pass(Duration::from_secs(1)).await;
        let _ = keys.key("rotated", Algorithm::RS256).await;
        assert_eq!(script.fetches(), 2, "one fetch once 30 s have passed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_fetch_is_cut_after_5_s_and_shared_by_every_miss() {
        let script = Script::answering(Answer::Hangs);
        let keys = client(&script);
        let misses: Vec<_> = (0..1000)
            .map(|n| {
                let keys = Arc::clone(&keys);
                tokio::spawn(async move { timed_key(&keys, &format!("random-{n}")).await })
            })
            .collect();
        for miss in misses {
            let (refused, took) = miss.await.unwrap();
            assert!(matches!(refused, Err(AuthError::Unavailable)));
            assert_eq!(took, FETCH_TIMEOUT, "the fetch timeout cuts the wait");
        }
        assert_eq!(script.fetches(), 1, "a thousand misses, one fetch");
    }

    #[tokio::test(start_paused = true)]
    async fn known_kids_never_wait_on_a_hanging_background_refresh() {
        let script = Script::answering(Answer::Keys { max_age: 1 });
        let keys = client(&script);
        keys.start();
        pass(Duration::from_millis(10)).await;
        assert_eq!(script.fetches(), 1, "start fetches at once");
        script.set(Answer::Hangs);
        pass(Duration::from_secs(1)).await;
        assert_eq!(script.fetches(), 2, "refreshed at the max-age");
        for _ in 0..10 {
            let (key, took) = timed_key(&keys, "kid-1").await;
            assert!(key.is_ok());
            assert_eq!(took, Duration::ZERO);
            pass(Duration::from_millis(400)).await;
        }
        // The hanging refresh ends at its timeout, fails, and the next one
        // waits the miss interval.
        assert_eq!(script.fetches(), 2);
        pass(FETCH_TIMEOUT + MISS_INTERVAL).await;
        assert_eq!(script.fetches(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_set_down_at_startup_is_picked_up_within_30_s_of_coming_back() {
        for down in [Answer::Fails, Answer::Hangs] {
            let script = Script::answering(down);
            let keys = client(&script);
            keys.start();
            let (refused, took) = timed_key(&keys, "kid-1").await;
            assert!(matches!(refused, Err(AuthError::Unavailable)), "{down:?}");
            let limit = if down == Answer::Hangs {
                FETCH_TIMEOUT
            } else {
                Duration::ZERO
            };
            assert_eq!(took, limit, "{down:?}: the first refusal");

            script.set(Answer::Keys { max_age: 3600 });
            let back = Instant::now();
            // Requests meanwhile are answered at once: refused, or served
            // by a fetch of their own once the rate limit allows one.
            loop {
                let (key, took) = timed_key(&keys, "kid-1").await;
                assert_eq!(took, Duration::ZERO, "{down:?}: a request waited");
                if key.is_ok() {
                    break;
                }
                assert!(matches!(key, Err(AuthError::Unavailable)), "{down:?}");
                pass(Duration::from_millis(500)).await;
            }
            assert!(
                back.elapsed() <= MISS_INTERVAL,
                "{down:?}: picked up after {:?}",
                back.elapsed()
            );
            assert!(
                script.fetches() <= 3,
                "{down:?}: {} fetches",
                script.fetches()
            );
            assert!(timed_key(&keys, "kid-1").await.0.is_ok());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cached_keys_serve_for_24_h_of_failed_refreshes_then_503() {
        let script = Script::answering(Answer::Keys { max_age: 600 });
        let keys = client(&script);
        keys.start();
        pass(Duration::from_millis(10)).await;
        let fetched = Instant::now();
        script.set(Answer::Fails);

        pass(MAX_STALE - Duration::from_secs(60)).await;
        assert!(timed_key(&keys, "kid-1").await.0.is_ok(), "still serving");
        // Every 30 s a retry, after the first refresh at the max-age.
        let retries = (MAX_STALE - Duration::from_secs(60) - Duration::from_secs(600)).as_secs()
            / MISS_INTERVAL.as_secs();
        let fetches = script.fetches() as u64;
        assert!(
            (retries..=retries + 2).contains(&fetches),
            "{fetches} fetches in a day, expected about {retries}"
        );

        pass(fetched + MAX_STALE - Instant::now()).await;
        let (refused, _) = timed_key(&keys, "kid-1").await;
        assert!(
            matches!(refused, Err(AuthError::Unavailable)),
            "keys a day old no longer serve"
        );
        assert!(!keys.has_usable_keys());
    }

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
