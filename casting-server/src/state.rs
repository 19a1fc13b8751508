//! The state every request shares: the agency, the writer, the
//! authenticator, the settings, the caches. Handlers ([`crate::routes`])
//! depend on this and nothing above it; the dispatcher ([`crate::app`])
//! takes requests to them.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use casting_core::{Agency, Precondition, Principal, RecordKind, Write, Written};

use crate::auth::dev::DevIssuer;
use crate::auth::{Authenticator, FailureLimiter};
use crate::http::cache::ResponseCache;
use crate::http::error::ApiError;
use crate::metrics::SharedMetrics;
use crate::writer::Writer;

/// How many rows a read may touch, which decides where it runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rows {
    /// A known bound, such as one record or one page.
    AtMost(u64),
    /// Up to every record of a table.
    Table(RecordKind),
}

/// Reads touching at most this many rows run on the async worker.
const INLINE_ROWS: u64 = 1000;

/// A table size not learnt yet.
const UNKNOWN: u64 = u64::MAX;

/// The number of records of each kind as last seen, which decides where a
/// read of a whole table runs. A list read learns its table's size for
/// free (its page carries the total), so a later read need not open a
/// transaction of its own just to count: that cost a third of an
/// uncached `GET /movies`. A size seen a few writes ago only moves a read
/// near the bound to the other side of it.
#[derive(Debug)]
struct TableSizes {
    movies: AtomicU64,
    actors: AtomicU64,
}

impl TableSizes {
    fn of(&self, kind: RecordKind) -> &AtomicU64 {
        match kind {
            RecordKind::Movie => &self.movies,
            RecordKind::Actor => &self.actors,
        }
    }
}

/// The address of the client a request came from, set by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Development mode: the key the server signs its own tokens with, and
/// the public key set it serves.
#[derive(Debug)]
pub struct DevMode {
    issuer: Arc<DevIssuer>,
    jwks: Bytes,
}

impl DevMode {
    /// Development mode signing with `issuer`.
    pub fn new(issuer: Arc<DevIssuer>) -> Self {
        let jwks = Bytes::from(issuer.jwks().to_owned());
        DevMode { issuer, jwks }
    }

    /// The development key, which signs the token endpoint's tokens.
    pub(crate) fn issuer(&self) -> &DevIssuer {
        &self.issuer
    }

    /// The public key set, as `/.well-known/jwks.json` serves it.
    pub(crate) fn jwks(&self) -> &Bytes {
        &self.jwks
    }
}

/// Everything a request needs; cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Reads and the checks of writes.
    agency: Agency,
    /// The single durable write path.
    writer: Writer,
    /// Turns bearer tokens into principals.
    auth: Authenticator,
    /// Development mode: the server is its own issuer.
    dev: Option<DevMode>,
    /// The largest request body accepted, in bytes.
    body_limit: usize,
    /// Refuses clients with too many failed authentications, when set.
    limiter: Option<FailureLimiter>,
    /// Bodies of reads, while the store is unchanged.
    cache: ResponseCache,
    /// What the server counts.
    metrics: SharedMetrics,
    /// How many records each table held when last seen.
    sizes: TableSizes,
}

/// The subject of the token a request was made with, left on the response
/// for the access log.
#[derive(Debug, Clone)]
pub struct Subject(pub Arc<Principal>);

/// The settings of an [`App`] beside its store, writer and authenticator.
#[derive(Debug)]
pub struct AppOptions {
    /// Development mode, in which the server is its own issuer; `None`
    /// when it verifies the tokens of another.
    pub dev: Option<DevMode>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Refuses clients with too many failed authentications, when set.
    pub limiter: Option<FailureLimiter>,
    /// The memory bound of the response cache, in bytes.
    pub cache_bytes: usize,
    /// What the server counts.
    pub metrics: SharedMetrics,
}

impl App {
    /// An application over `agency`, writing through `writer`.
    pub fn new(agency: Agency, writer: Writer, auth: Authenticator, options: AppOptions) -> Self {
        App {
            inner: Arc::new(Inner {
                agency,
                writer,
                auth,
                dev: options.dev,
                body_limit: options.body_limit,
                limiter: options.limiter,
                cache: ResponseCache::new(options.cache_bytes),
                metrics: options.metrics,
                sizes: TableSizes {
                    movies: AtomicU64::new(UNKNOWN),
                    actors: AtomicU64::new(UNKNOWN),
                },
            }),
        }
    }

    /// Stops the writer after the writes it holds; call once no request is
    /// in flight.
    pub fn close(&self) {
        self.inner.writer.close();
    }

    /// The largest request body accepted.
    pub(crate) fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The agency, for the readiness check.
    pub(crate) fn agency(&self) -> &Agency {
        &self.inner.agency
    }

    /// The authenticator, for the readiness check.
    pub(crate) fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    /// What the server counts.
    pub fn metrics(&self) -> &SharedMetrics {
        &self.inner.metrics
    }

    /// Development mode, if the server is in it.
    pub(crate) fn dev(&self) -> Option<&DevMode> {
        self.inner.dev.as_ref()
    }

    /// Refuses clients with too many failed authentications, when set.
    pub(crate) fn limiter(&self) -> Option<&FailureLimiter> {
        self.inner.limiter.as_ref()
    }

    /// Bodies of reads, while the store is unchanged.
    pub(crate) fn cache(&self) -> &ResponseCache {
        &self.inner.cache
    }

    /// Runs a read of the agency. A read of a few rows runs right here,
    /// as it takes microseconds and a hop to another thread would cost
    /// more than the read; a read that may scan a large table goes to the
    /// blocking pool, so it never holds up an async worker.
    pub(crate) async fn read<T, F>(
        &self,
        principal: &Arc<Principal>,
        rows: Rows,
        read: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Agency, &Principal) -> Result<T, casting_core::Error> + Send + 'static,
    {
        let agency = &self.inner.agency;
        let backend = agency.backend();
        let small = !backend.reads_block()
            && match rows {
                Rows::AtMost(n) => n <= INLINE_ROWS,
                Rows::Table(kind) => self.table_size(kind).is_some_and(|n| n <= INLINE_ROWS),
            };
        if small {
            return read(agency, principal).map_err(ApiError::from);
        }
        let agency = agency.clone();
        let principal = Arc::clone(principal);
        tokio::task::spawn_blocking(move || read(&agency, &principal))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(ApiError::from)
    }

    /// How many records of `kind` there are, as last seen, counted now
    /// when never seen; `None` when the store cannot count them.
    fn table_size(&self, kind: RecordKind) -> Option<u64> {
        let seen = self.inner.sizes.of(kind).load(Ordering::Relaxed);
        if seen != UNKNOWN {
            return Some(seen);
        }
        let counts = self.inner.agency.backend().counts().ok()?;
        self.saw_table_size(RecordKind::Movie, counts.movies);
        self.saw_table_size(RecordKind::Actor, counts.actors);
        Some(match kind {
            RecordKind::Movie => counts.movies,
            RecordKind::Actor => counts.actors,
        })
    }

    /// Notes that a read found `size` records of `kind` in the store.
    pub(crate) fn saw_table_size(&self, kind: RecordKind, size: u64) {
        self.inner.sizes.of(kind).store(size, Ordering::Relaxed);
    }

    /// Checks a write for `principal`, then commits it through the writer,
    /// on `condition` when there is one. Answers with what `take` finds in
    /// the result and the version the write gave its record.
    pub(crate) async fn write<T>(
        &self,
        principal: &Principal,
        write: Write,
        condition: Option<Precondition>,
        take: fn(Written) -> Option<T>,
    ) -> Result<(T, u64), ApiError> {
        let mut checked = Agency::check_write(principal, write)?;
        if let Some(condition) = condition {
            checked = checked.if_match(condition);
        }
        let committed = self.inner.writer.submit(checked).await?;
        let record = take(committed.written).ok_or_else(|| {
            ApiError::Internal("a write answered with a record of another kind".into())
        })?;
        Ok((record, committed.entry))
    }
}
