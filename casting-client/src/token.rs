//! Where the bearer token of a request comes from: nowhere, a token the
//! caller sets and replaces, or the client-credentials grant, whose token
//! is cached and refreshed by one request at a time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use reqwest::header::HeaderValue;
use tokio::time::Instant;

use crate::credentials::{ClientCredentials, GrantFailure, request_token};
use crate::error::Error;

/// What a client authenticates with; shared by all its clones.
#[derive(Clone)]
pub(crate) enum Source {
    /// No `Authorization` header.
    Anonymous,
    /// A token set by the caller, marked sensitive.
    Fixed(HeaderValue),
    /// Tokens of the client-credentials grant.
    Granted(Arc<TokenCache>),
}

impl Source {
    /// What the source is, for debug output that never shows a token.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Source::Anonymous => "none",
            Source::Fixed(_) => "static token",
            Source::Granted(_) => "client credentials",
        }
    }
}

/// The `Authorization` of one request, and where it came from, so that a
/// 401 can refresh that very token.
pub(crate) struct Credential {
    pub(crate) authorization: HeaderValue,
    pub(crate) cache: Option<Arc<TokenCache>>,
}

/// A replaceable [`Source`].
pub(crate) struct Tokens {
    source: RwLock<Source>,
}

impl Tokens {
    pub(crate) fn new(source: Source) -> Self {
        Tokens {
            source: RwLock::new(source),
        }
    }

    pub(crate) fn replace(&self, source: Source) {
        // The lock guards a plain value that no panic can leave half
        // written, so a poisoned lock is still good to use.
        *self.source.write().unwrap_or_else(PoisonError::into_inner) = source;
    }

    pub(crate) fn source(&self) -> Source {
        self.source
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The credential for a request about to be sent, fetching a token
    /// first when the cached one is missing or about to expire.
    pub(crate) async fn credential(&self, fetch: &Fetch<'_>) -> Result<Option<Credential>, Error> {
        Ok(match self.source() {
            Source::Anonymous => None,
            Source::Fixed(authorization) => Some(Credential {
                authorization,
                cache: None,
            }),
            Source::Granted(cache) => Some(Credential {
                authorization: cache.current(fetch).await?,
                cache: Some(cache),
            }),
        })
    }
}

/// What a token request needs from the client.
pub(crate) struct Fetch<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) user_agent: &'a HeaderValue,
    pub(crate) timeout: Option<Duration>,
}

/// A token of the client-credentials grant, valid until `refresh_at`.
#[derive(Clone)]
struct Cached {
    authorization: HeaderValue,
    /// `None` when the issuer gave no lifetime: the token is then used
    /// until the API refuses it.
    refresh_at: Option<Instant>,
}

impl Cached {
    fn is_fresh(&self, now: Instant) -> bool {
        self.refresh_at.is_none_or(|at| now < at)
    }
}

/// The cached token of the grant and the single flight that renews it.
pub(crate) struct TokenCache {
    credentials: ClientCredentials,
    /// The token in use; read without waiting by every request.
    current: RwLock<Option<Cached>>,
    /// Held while a token is requested, so that however many requests need
    /// a new token, one token request is in flight; the others wait for it
    /// and take its outcome.
    flight: tokio::sync::Mutex<Option<GrantFailure>>,
    /// How many token requests have completed, to tell a waiter whether the
    /// flight it waited for has landed.
    completed: AtomicU64,
}

impl TokenCache {
    pub(crate) fn new(credentials: ClientCredentials) -> Self {
        TokenCache {
            credentials,
            current: RwLock::new(None),
            flight: tokio::sync::Mutex::new(None),
            completed: AtomicU64::new(0),
        }
    }

    fn cached(&self) -> Option<Cached> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A token that is not about to expire.
    async fn current(&self, fetch: &Fetch<'_>) -> Result<HeaderValue, Error> {
        match self.cached() {
            Some(cached) if cached.is_fresh(Instant::now()) => Ok(cached.authorization),
            _ => self.renew(fetch, None).await,
        }
    }

    /// A token other than `refused`, which the API answered 401 to.
    pub(crate) async fn replace_refused(
        &self,
        fetch: &Fetch<'_>,
        refused: &HeaderValue,
    ) -> Result<HeaderValue, Error> {
        self.renew(fetch, Some(refused)).await
    }

    /// Requests a token, unless one that will do arrived while waiting for
    /// the flight; when the flight waited for failed, its failure is the
    /// answer too, so a failing issuer gets one request per wave of
    /// callers, not one per caller.
    async fn renew(
        &self,
        fetch: &Fetch<'_>,
        refused: Option<&HeaderValue>,
    ) -> Result<HeaderValue, Error> {
        let seen = self.completed.load(Ordering::Acquire);
        let mut last_failure = self.flight.lock().await;
        if let Some(cached) = self.cached()
            && cached.is_fresh(Instant::now())
            && Some(&cached.authorization) != refused
        {
            return Ok(cached.authorization);
        }
        if self.completed.load(Ordering::Acquire) != seen
            && let Some(failure) = last_failure.as_ref()
        {
            return Err(failure.clone().into());
        }
        let asked_at = Instant::now();
        let outcome = request_token(
            &self.credentials,
            fetch.http,
            fetch.user_agent,
            fetch.timeout,
        )
        .await;
        self.completed.fetch_add(1, Ordering::AcqRel);
        match outcome {
            Ok(grant) => {
                // Measured from when the token was asked for, so the time
                // the answer took counts against the token's life.
                let refresh_at = grant
                    .lifetime
                    .map(|lifetime| asked_at + self.credentials.usable_for(lifetime));
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Cached {
                    authorization: grant.authorization.clone(),
                    refresh_at,
                });
                *last_failure = None;
                Ok(grant.authorization)
            }
            Err(failure) => {
                *last_failure = Some(failure.clone());
                Err(failure.into())
            }
        }
    }
}
