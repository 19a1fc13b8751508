//! The listener: HTTP/1.1 and HTTP/2 on one port, the tower layers every
//! request passes (tracing, CORS, body deadline), connection limits and
//! timeouts, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, Request, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::RequestBodyDeadlineLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::{App, ClientAddr};
use crate::config::CorsOrigins;

/// How long a client may take to send a request's headers, and how long an
/// idle keep-alive connection is kept.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a whole body.
const BODY_DEADLINE: Duration = Duration::from_secs(30);
/// The most connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 10_000;
/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The first bytes of an HTTP/2 connection with prior knowledge.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Waits, up to the header-read timeout, until the client has sent enough
/// to tell HTTP/1 from HTTP/2: one byte of an HTTP/1 request (hyper's own
/// header timeout runs from there), or the whole HTTP/2 preface. hyper
/// starts no timer before the protocol is known, so without this a client
/// that connects and says nothing would hold a connection slot for ever.
async fn first_bytes_arrive(stream: &tokio::net::TcpStream) -> bool {
    let wait = async {
        let mut buffer = [0u8; H2_PREFACE.len()];
        loop {
            let seen = match stream.peek(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(seen) => seen,
            };
            if seen == H2_PREFACE.len() || !H2_PREFACE.starts_with(&buffer[..seen]) {
                return true;
            }
            // Part of an HTTP/2 preface: peek returns what is buffered at
            // once, so wait a little for the rest.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(HEADER_READ_TIMEOUT, wait)
        .await
        .unwrap_or(false)
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
    let service = ServiceBuilder::new()
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Incoming>| {
                    // The path only: query strings are logged nowhere, and
                    // the Authorization header never is.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        sub = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(cors_layer(cors))
        .layer(RequestBodyDeadlineLayer::new(BODY_DEADLINE))
        .service_fn(move |request| {
            let app = handler.clone();
            async move { Ok::<_, Infallible>(app.handle(request).await) }
        });

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HEADER_READ_TIMEOUT)
        .keep_alive_timeout(HEADER_READ_TIMEOUT);

    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
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
        let builder = builder.clone();
        // Each connection's requests carry the client's address, for the
        // limit on failed authentications.
        let client = ClientAddr(peer.ip());
        let service = TowerToHyperService::new(service.clone().map_request(
            move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(client);
                request
            },
        ));
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            if first_bytes_arrive(&stream).await {
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                if let Err(error) = watcher.watch(connection.into_owned()).await {
                    tracing::debug!(%error, "connection ended with an error");
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; closing anyway");
    }
    app.close();
    Ok(())
}
