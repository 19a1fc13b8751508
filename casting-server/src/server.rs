//! The listener: HTTP/1.1 and HTTP/2 (prior knowledge) on one port, the tower layers every
//! request passes (tracing, CORS, body deadline), connection limits and
//! timeouts, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, Request, header};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::{Layer, ServiceBuilder, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::RequestBodyDeadlineLayer;

use crate::config::CorsOrigins;
use crate::http::request_id;
use crate::http::response::HttpResponse;
use crate::http::router;
use crate::logging;
use crate::metrics::SharedMetrics;
use crate::state::{App, ClientAddr, Subject};

/// How long a client may take to send a request's headers, and how long an
/// idle keep-alive connection is kept.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a whole body.
const BODY_DEADLINE: Duration = Duration::from_secs(30);
/// The most connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 10_000;
/// The most bytes of headers an HTTP/2 request may carry: room for a
/// 16 KiB bearer token and the usual rest (hyper's default is 16 KiB in
/// all, which refuses such a token before the contract's own check).
const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;
/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The first bytes of an HTTP/2 connection with prior knowledge.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The protocol a connection speaks, told from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// HTTP/1.x: anything that does not open with the HTTP/2 preface.
    Http1,
    /// HTTP/2 with prior knowledge (h2c): the connection opens with the
    /// preface.
    Http2,
}

/// Waits, up to the header-read timeout, until the client has sent enough
/// to tell HTTP/1 from HTTP/2: one byte of an HTTP/1 request (hyper's own
/// header timeout runs from there), or the whole HTTP/2 preface; `None`
/// when the client closes or says nothing. hyper starts no timer before
/// the protocol is known, so without this a client that connects and says
/// nothing would hold a connection slot for ever. Knowing the protocol
/// here also lets the connection be served by hyper's HTTP/1 or HTTP/2
/// server directly, without hyper-util's auto-detection, which reads the
/// same bytes again and wraps every later read of the connection.
async fn first_bytes_arrive(stream: &tokio::net::TcpStream) -> Option<Protocol> {
    let wait = async {
        let mut buffer = [0u8; H2_PREFACE.len()];
        loop {
            let seen = match stream.peek(&mut buffer).await {
                Ok(0) | Err(_) => return None,
                Ok(seen) => seen,
            };
            if !H2_PREFACE.starts_with(&buffer[..seen]) {
                return Some(Protocol::Http1);
            }
            if seen == H2_PREFACE.len() {
                return Some(Protocol::Http2);
            }
            // Part of an HTTP/2 preface: peek returns what is buffered at
            // once, so wait a little for the rest.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(HEADER_READ_TIMEOUT, wait)
        .await
        .ok()
        .flatten()
}

/// The requests of one connection: how many are in flight, and when the
/// last one ended, so an idle connection can be closed.
#[derive(Debug)]
struct Activity {
    in_flight: std::sync::atomic::AtomicUsize,
    last_end: std::sync::Mutex<Instant>,
}

/// One request in flight on a connection; dropping it ends the request.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        *self
            .0
            .last_end
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Release);
    }
}

impl Activity {
    fn new() -> Self {
        Activity {
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            last_end: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Acquire);
        InFlight(Arc::clone(self))
    }

    fn busy(&self) -> bool {
        self.in_flight.load(std::sync::atomic::Ordering::Acquire) > 0
    }

    /// When to look again whether the connection is idle: the idle time
    /// after the last request ended, or after now while one is in flight.
    fn idle_deadline(&self) -> Instant {
        if self.busy() {
            return Instant::now() + HEADER_READ_TIMEOUT;
        }
        *self
            .last_end
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            + HEADER_READ_TIMEOUT
    }

    /// Whether no request is in flight and none ended for the idle time.
    fn is_idle(&self) -> bool {
        !self.busy() && Instant::now() >= self.idle_deadline()
    }
}

/// The method as a label: one of a fixed set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        _ => "other",
    }
}

/// What tower-http's CORS layer says in `Vary` on every response: whether
/// and how CORS headers are sent depends on these request headers, so a
/// shared cache must not answer a request with `Origin` from a response to
/// one without.
const CORS_VARY: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

/// Whether a request is one CORS has a say in: one carrying `Origin`, or
/// an `OPTIONS` (a preflight). Every other request skips the CORS layer,
/// whose answer to it would be headers no browser reads.
fn needs_cors(request: &Request<Incoming>) -> bool {
    request.method() == Method::OPTIONS || request.headers().contains_key(header::ORIGIN)
}

/// The services a request may pass, shared by every connection: cloned
/// only as far as the request needs (a CORS service carries several
/// header lists, costly to copy for requests that never use them).
struct Stacks<P, C> {
    /// The application behind the body deadline.
    plain: P,
    /// The same behind the CORS layer.
    with_cors: C,
    /// What the server counts.
    metrics: SharedMetrics,
}

/// Runs one request through the plain stack, or the CORS one when CORS
/// concerns it, with its id set for every line it logs, then counts it,
/// writes the access line and stamps the id on the answer.
async fn observed<P, C>(
    stacks: Arc<Stacks<P, C>>,
    request: Request<Incoming>,
) -> Result<HttpResponse, Infallible>
where
    P: tower::Service<Request<Incoming>, Response = HttpResponse, Error = Infallible> + Clone,
    C: tower::Service<Request<Incoming>, Response = HttpResponse, Error = Infallible> + Clone,
{
    let started = std::time::Instant::now();
    let id = request_id::of(request.headers());
    let method = method_label(request.method());
    let route = router::template(request.uri().path());
    let client = request
        .extensions()
        .get::<ClientAddr>()
        .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| {
            c.0
        });
    let mut response = if needs_cors(&request) {
        let served =
            logging::with_request_id(id.clone(), stacks.with_cors.clone().oneshot(request));
        let Ok(response) = served.await;
        response
    } else {
        let served = logging::with_request_id(id.clone(), stacks.plain.clone().oneshot(request));
        let Ok(mut response) = served.await;
        response.headers_mut().append(header::VARY, CORS_VARY);
        response
    };
    let took = started.elapsed();
    let status = response.status().as_u16();
    stacks.metrics.request(route, method, status, took);
    let sub = response
        .extensions()
        .get::<Subject>()
        .map(|s| Arc::clone(&s.0));
    logging::access(&logging::Access {
        // Ids are visible ASCII, taken or made, so to_str cannot fail.
        request_id: id.to_str().unwrap_or("-"),
        method,
        route,
        status,
        took,
        client,
        sub: sub.as_ref().map_or("", |p| p.subject.as_str()),
    });
    response.headers_mut().insert(request_id::X_REQUEST_ID, id);
    Ok(response)
}

/// Serves one connection until it ends, closing it gracefully when the
/// server stops or when it has carried no request for the idle time.
async fn drive<C>(connection: C, activity: &Activity, stopping: &mut watch::Receiver<bool>)
where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    let mut connection = std::pin::pin!(connection);
    let mut closing = false;
    loop {
        let idle_at = activity.idle_deadline();
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                break;
            }
            _ = stopping.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = tokio::time::sleep_until(idle_at), if !closing => {
                // An HTTP/2 client that only answers PINGs keeps hyper's
                // keep-alive happy for ever; no request for the idle time
                // closes it, as on HTTP/1.1.
                if activity.is_idle() {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

fn cors_layer(origins: &CorsOrigins) -> CorsLayer {
    let origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => {
            AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
        }
    };
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            header::LOCATION,
            request_id::X_REQUEST_ID,
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("allow"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting, lets requests in flight finish, and closes the store.
///
/// # Errors
/// Never once serving; accept errors are logged and retried.
pub async fn run(
    listener: TcpListener,
    app: App,
    cors: &CorsOrigins,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let handler = app.clone();
    // The request's futures are boxed where they are made: unboxed, the
    // whole application future (kilobytes, every route's state) is copied
    // each time a layer wraps or moves it, which measured at 2 µs of a 29 µs
    // cached GET.
    let plain = ServiceBuilder::new()
        .layer(RequestBodyDeadlineLayer::new(BODY_DEADLINE))
        .service_fn(move |request| {
            let app = handler.clone();
            Box::pin(async move { Ok::<_, Infallible>(app.handle(request).await) })
        });
    let stacks = Arc::new(Stacks {
        with_cors: cors_layer(cors).layer(plain.clone()),
        plain,
        metrics: Arc::clone(app.metrics()),
    });
    let service = tower::service_fn(move |request: Request<Incoming>| {
        Box::pin(observed(Arc::clone(&stacks), request))
    });

    let mut http1 = http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    http2
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_LIST_BYTES)
        .keep_alive_interval(HEADER_READ_TIMEOUT)
        .keep_alive_timeout(HEADER_READ_TIMEOUT);
    let builders = Arc::new((http1, http2));

    // Every connection task holds a slot until it ends, so holding them all
    // again means every connection has closed.
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: wait for some to free.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let builders = Arc::clone(&builders);
        // Each connection's requests carry the client's address, for the
        // limit on failed authentications.
        let client = ClientAddr(peer.ip());
        let activity = Arc::new(Activity::new());
        let tracked = Arc::clone(&activity);
        let service = TowerToHyperService::new(
            service
                .clone()
                .map_request(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(client);
                    request
                })
                .map_future(move |response| {
                    let request = tracked.begin();
                    async move {
                        let response = response.await;
                        drop(request);
                        response
                    }
                }),
        );
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let arrived = tokio::select! {
                arrived = first_bytes_arrive(&stream) => arrived,
                _ = stopping.changed() => None,
            };
            let io = TokioIo::new(stream);
            match arrived {
                Some(Protocol::Http1) => {
                    let connection = builders.0.serve_connection(io, service);
                    drive(connection, &activity, &mut stopping).await;
                }
                Some(Protocol::Http2) => {
                    let connection = builders.1.serve_connection(io, service);
                    drive(connection, &activity, &mut stopping).await;
                }
                None => {}
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    let _ = stop.send(true);
    let all = u32::try_from(MAX_CONNECTIONS).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; closing anyway");
    }
    app.close();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A connected pair over loopback: the client's end and the server's.
    async fn connection() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    // These run on tokio's paused clock: the timeout passes in virtual time,
    // and nothing arrives meanwhile that a real clock would have let in.

    #[tokio::test(start_paused = true)]
    async fn a_client_that_says_nothing_is_dropped_at_the_header_read_timeout() {
        let (_client, server) = connection().await;
        let started = Instant::now();
        assert_eq!(first_bytes_arrive(&server).await, None);
        assert_eq!(started.elapsed(), HEADER_READ_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_inside_the_http_2_preface_is_dropped_at_the_timeout() {
        let (mut client, server) = connection().await;
        client.write_all(&H2_PREFACE[..10]).await.unwrap();
        let started = Instant::now();
        assert_eq!(first_bytes_arrive(&server).await, None);
        assert_eq!(started.elapsed(), HEADER_READ_TIMEOUT);
    }

    #[tokio::test]
    async fn the_first_bytes_tell_the_protocol() {
        let (mut client, server) = connection().await;
        client.write_all(b"G").await.unwrap();
        assert_eq!(first_bytes_arrive(&server).await, Some(Protocol::Http1));

        let (mut client, server) = connection().await;
        client.write_all(H2_PREFACE).await.unwrap();
        assert_eq!(first_bytes_arrive(&server).await, Some(Protocol::Http2));

        let (client, server) = connection().await;
        drop(client);
        assert_eq!(first_bytes_arrive(&server).await, None, "closed at once");
    }

    #[tokio::test(start_paused = true)]
    async fn an_http_2_connection_that_only_answers_pings_is_closed_at_the_idle_time() {
        use http_body_util::{BodyExt, Empty};

        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let activity = Arc::new(Activity::new());
        let tracked = Arc::clone(&activity);
        let service = hyper::service::service_fn(move |_request: Request<Incoming>| {
            let request = tracked.begin();
            async move {
                drop(request);
                Ok::<_, Infallible>(http::Response::new(Empty::<bytes::Bytes>::new()))
            }
        });
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .keep_alive_interval(HEADER_READ_TIMEOUT)
            .keep_alive_timeout(HEADER_READ_TIMEOUT);
        let connection = builder.serve_connection(TokioIo::new(server_io), service);
        let (_stop, mut stopping) = watch::channel(false);
        let served = tokio::spawn(async move {
            drive(connection, &activity, &mut stopping).await;
            Instant::now()
        });

        let (mut sender, client) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .handshake::<_, Empty<bytes::Bytes>>(TokioIo::new(client_io))
            .await
            .unwrap();
        // The client's connection task answers the server's PINGs for as
        // long as it runs.
        let client = tokio::spawn(client);
        let request = http::Request::get("http://localhost/health")
            .body(Empty::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        response.into_body().collect().await.unwrap();
        let idle_since = Instant::now();

        let closed_at = served.await.unwrap();
        let idle = closed_at - idle_since;
        assert!(
            (HEADER_READ_TIMEOUT..HEADER_READ_TIMEOUT + Duration::from_secs(1)).contains(&idle),
            "closed after {idle:?} of idleness"
        );
        drop(sender);
        client.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_idle_once_no_request_ended_for_the_idle_time() {
        let activity = Arc::new(Activity::new());
        assert!(!activity.is_idle());
        tokio::time::sleep(HEADER_READ_TIMEOUT).await;
        assert!(activity.is_idle(), "no request for the idle time");

        let request = activity.begin();
        tokio::time::sleep(HEADER_READ_TIMEOUT * 3).await;
        assert!(!activity.is_idle(), "a request in flight, however long");
        drop(request);
        tokio::time::sleep(HEADER_READ_TIMEOUT - Duration::from_millis(1)).await;
        assert!(!activity.is_idle(), "a request ended within the idle time");
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(activity.is_idle());
    }
}
