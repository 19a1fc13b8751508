//! The metrics listener: `GET /metrics` in the Prometheus text format, on an
//! address of its own, so that it can stay off the public interface.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use casting_core::Backend;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::logging;
use crate::metrics::SharedMetrics;

/// The media type of the Prometheus text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn answer(
    metrics: &SharedMetrics,
    store: &Arc<dyn Backend>,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => {
            // Counting may wait on the database, so off the async workers.
            let (metrics, store) = (Arc::clone(metrics), Arc::clone(store));
            let rendered = tokio::task::spawn_blocking(move || {
                metrics.render(Some(store.as_ref()), logging::dropped_lines())
            })
            .await;
            match rendered {
                Ok(text) => (StatusCode::OK, text),
                Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, String::new()),
            }
        }
        (_, "/metrics") => (StatusCode::METHOD_NOT_ALLOWED, String::new()),
        _ => (StatusCode::NOT_FOUND, String::new()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(TEXT_FORMAT),
    );
    response
}

/// Serves the metrics on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: SharedMetrics,
    store: Arc<dyn Backend>,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "the metrics listener could not accept");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let metrics = Arc::clone(&metrics);
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (metrics, store) = (Arc::clone(&metrics), Arc::clone(&store));
                async move { Ok::<_, Infallible>(answer(&metrics, &store, &request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            // A scraper that hangs holds only its own connection; the
            // timeout keeps even that bounded.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), connection).await;
        });
    }
}
