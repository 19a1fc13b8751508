//! The application: the state every request shares, and the one function
//! that takes a request through router, authentication, permission and
//! handler, in the contract's order.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use casting_core::{Agency, Precondition, Principal, RecordKind, Write, Written, authorize};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Body;

use crate::auth::{AuthError, Authenticator, FailureLimiter};
use crate::http::cache::{self, ResponseCache};
use crate::http::error::ApiError;
use crate::http::response::{HttpResponse, json_bytes};
use crate::http::router::{self, Endpoint, NoRoute};
use crate::metrics::SharedMetrics;
use crate::routes;
use crate::routes::actors::ACTORS;
use crate::routes::movies::MOVIES;
use crate::writer::Writer;

/// The answer to a `HEAD`: the `GET` answer's status and headers, its
/// `Content-Length` included, and no body.
fn without_body(response: HttpResponse) -> HttpResponse {
    let (mut head, body) = response.into_parts();
    let length = body.size_hint().exact().unwrap_or(0);
    head.headers
        .insert(header::CONTENT_LENGTH, http::HeaderValue::from(length));
    HttpResponse::from_parts(head, Full::new(Bytes::new()))
}

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
    /// The development key set, served only in development mode.
    dev_jwks: Option<Bytes>,
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
    /// The development key set, served only in development mode.
    pub dev_jwks: Option<String>,
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
                dev_jwks: options.dev_jwks.map(Bytes::from),
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

    /// The development key set, if in development mode.
    pub(crate) fn dev_jwks(&self) -> Option<&Bytes> {
        self.inner.dev_jwks.as_ref()
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

    /// Answers one request; every failure becomes the contract's envelope.
    pub async fn handle<B>(&self, request: Request<B>) -> HttpResponse
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let unread_body =
            !request.body().is_end_stream() && request.version() <= http::Version::HTTP_11;
        let head = request.method() == Method::HEAD;
        let mut response = self
            .dispatch(request)
            .await
            .unwrap_or_else(ApiError::into_response);
        if head {
            response = without_body(response);
        }
        let status = response.status();
        if unread_body && (status.is_client_error() || status.is_server_error()) {
            // The body of a refused request may be left unread, so the
            // connection cannot carry another request; saying so lets a
            // keep-alive client reconnect instead of failing (RFC 9112 9.6).
            response
                .headers_mut()
                .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
        }
        response
    }

    async fn dispatch<B>(&self, request: Request<B>) -> Result<HttpResponse, ApiError>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        if parts.version == http::Version::HTTP_11
            && parts.headers.get_all(header::HOST).iter().count() != 1
        {
            // RFC 9112 section 3.2: exactly one Host in an HTTP/1.1 request.
            return Err(ApiError::BadRequest(
                "an HTTP/1.1 request must carry exactly one Host header".into(),
            ));
        }
        let endpoint = router::resolve(
            parts.method.as_str(),
            parts.uri.path(),
            self.inner.dev_jwks.is_some(),
        )
        .map_err(|no_route| match no_route {
            NoRoute::NotFound => ApiError::NotFound,
            NoRoute::MethodNotAllowed(allow) => ApiError::MethodNotAllowed(allow),
        })?;
        if endpoint == Endpoint::DevToken {
            return routes::dev_token::answer(self, &parts, body).await;
        }
        let Some(permission) = endpoint.permission() else {
            return routes::meta::public(self, endpoint);
        };
        let mut authorizations = parts.headers.get_all(header::AUTHORIZATION).iter();
        let authorization = authorizations.next().map(|v| v.as_bytes());
        if authorizations.next().is_some() {
            // Which of several credentials to believe is not ours to guess.
            return Err(AuthError::InvalidHeader.into());
        }
        let client = parts.extensions.get::<ClientAddr>().map(|c| c.0);
        let limited = self.inner.limiter.as_ref().zip(client);
        if let Some(wait) = limited.and_then(|(limiter, ip)| limiter.blocked(ip)) {
            return Err(ApiError::TooManyFailures(wait));
        }
        let verified = self.inner.auth.authenticate(authorization).await;
        self.inner.metrics.token(match &verified {
            Ok(_) => "ok",
            Err(error) => ApiError::Auth(*error).status_and_code().1,
        });
        let principal = match verified {
            Ok(principal) => principal,
            Err(error) => {
                // An outage of the issuer is not the client's failure.
                if let Some((limiter, ip)) = limited.filter(|_| error != AuthError::Unavailable) {
                    limiter.failed(ip);
                }
                return Err(error.into());
            }
        };
        let subject = Subject(Arc::clone(&principal));
        let mut response = self
            .serve(endpoint, &parts, body, principal, permission)
            .await?;
        response.extensions_mut().insert(subject);
        Ok(response)
    }

    /// The rest of [`App::dispatch`], once the token is verified.
    async fn serve<B>(
        &self,
        endpoint: Endpoint<'_>,
        parts: &http::request::Parts,
        body: B,
        principal: Arc<Principal>,
        permission: casting_core::Permission,
    ) -> Result<HttpResponse, ApiError>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        authorize(&principal, permission)?;

        // A read's whole body may be served from the cache; the generation
        // is taken before the read, so a body kept under it is no older. A
        // backend that other processes write (PostgreSQL) has no
        // generation this process could see change, so nothing is kept.
        let generation = self.inner.agency.backend().generation();
        let cache_key = generation
            .filter(|_| matches!(parts.method, Method::GET | Method::HEAD))
            .and_then(|_| cache::key(endpoint, parts.uri.path(), parts.uri.query()));
        let generation = generation.unwrap_or_default();
        if let Some(key) = cache_key.as_deref() {
            let hit = self.inner.cache.get(key, generation);
            self.inner.metrics.cache(hit.is_some());
            if let Some(kept) = hit {
                let mut response = json_bytes(StatusCode::OK, kept.body);
                if let Some(etag) = kept.etag {
                    response.headers_mut().insert(header::ETAG, etag);
                }
                return Ok(not_modified(&parts.headers, response));
            }
        }

        let query = parts.uri.query();
        let headers = &parts.headers;
        let p = &principal;
        use Endpoint::*;
        let response = match endpoint {
            ListMovies => MOVIES.list(self, p, query).await,
            SearchMovies => routes::movies::search(self, p, query).await,
            GetMovie(id) => MOVIES.get(self, p, id).await,
            CreateMovie => MOVIES.create(self, p, headers, body).await,
            UpdateMovie(id) => MOVIES.update(self, p, id, headers, body).await,
            DeleteMovie(id) => MOVIES.delete(self, p, id, headers).await,
            ListActors => ACTORS.list(self, p, query).await,
            SearchActors => routes::actors::search(self, p, query).await,
            GetActor(id) => ACTORS.get(self, p, id).await,
            CreateActor => ACTORS.create(self, p, headers, body).await,
            UpdateActor(id) => ACTORS.update(self, p, id, headers, body).await,
            DeleteActor(id) => ACTORS.delete(self, p, id, headers).await,
            Audit => routes::audit::list(self, p, query).await,
            Health | Ready | OpenApi | Docs | Jwks | DevToken => {
                routes::meta::public(self, endpoint)
            }
        }?;
        let response = match cache_key {
            Some(key) if response.status() == StatusCode::OK => {
                let (head, body) = response.into_parts();
                // A full body cannot fail to collect: its error type is Infallible.
                let Ok(collected) = body.collect().await;
                let body = collected.to_bytes();
                let etag = head.headers.get(header::ETAG).cloned();
                let kept = cache::Cached {
                    body: body.clone(),
                    etag,
                };
                self.inner.cache.put(&key, generation, kept);
                HttpResponse::from_parts(head, Full::new(body))
            }
            _ => response,
        };
        Ok(not_modified(&parts.headers, response))
    }
}

/// A 200 carrying an `ETag` that the request's `If-None-Match` names
/// becomes a 304 with no body: the client's copy is current. Checked after
/// the cache, so a hit and a miss answer alike.
fn not_modified(request: &http::HeaderMap, response: HttpResponse) -> HttpResponse {
    let current = response.headers().get(header::ETAG);
    let fresh = response.status() == StatusCode::OK
        && current.is_some_and(|etag| crate::http::etag::none_match(request, etag));
    if !fresh {
        return response;
    }
    let (mut head, _) = response.into_parts();
    head.status = StatusCode::NOT_MODIFIED;
    // RFC 9110 section 15.4.5: a 304 has no content, so nothing describes any.
    head.headers.remove(header::CONTENT_TYPE);
    head.headers.remove(header::CONTENT_LENGTH);
    HttpResponse::from_parts(head, Full::new(Bytes::new()))
}
