//! The floors the server is measured against: a plain hyper HTTP/1.1
//! server answering a fixed body per path, and the same plus one RS256
//! verification of the request's bearer token (jsonwebtoken, aws-lc-rs),
//! which is the least any server checking tokens must do.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::net::TcpListener;

/// What a floor checks before answering.
struct Floor {
    bodies: HashMap<String, Bytes>,
    verify: Option<(DecodingKey, Validation)>,
}

/// The body file of a request path: `/movies/1` is `movies_1`.
pub(crate) fn body_name(path: &str) -> String {
    path.trim_start_matches('/').replace('/', "_")
}

impl Floor {
    fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        if let Some((key, validation)) = &self.verify {
            let token = request
                .headers()
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if jsonwebtoken::decode::<serde_json::Value>(token, key, validation).is_err() {
                return respond(StatusCode::UNAUTHORIZED, Bytes::new());
            }
        }
        match self.bodies.get(&body_name(request.uri().path())) {
            Some(body) => respond(StatusCode::OK, body.clone()),
            None => respond(StatusCode::NOT_FOUND, Bytes::new()),
        }
    }
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// `load floor BODIES_DIR [JWKS_FILE ISSUER AUDIENCE]`: serves until killed.
pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let dir = args.first().ok_or("floor: missing the bodies directory")?;
    let mut bodies = HashMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{dir}: {e}"))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        bodies.insert(
            name,
            Bytes::from(std::fs::read(&path).map_err(|e| e.to_string())?),
        );
    }
    let verify = match args.get(1..4) {
        Some([jwks, issuer, audience]) => Some(verifier(Path::new(jwks), issuer, audience)?),
        _ => None,
    };
    let floor = Arc::new(Floor { bodies, verify });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(serve(floor))
}

fn verifier(
    jwks: &Path,
    issuer: &str,
    audience: &str,
) -> Result<(DecodingKey, Validation), String> {
    let text = std::fs::read_to_string(jwks).map_err(|e| e.to_string())?;
    let set: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let key = &set["keys"][0];
    let (Some(n), Some(e)) = (key["n"].as_str(), key["e"].as_str()) else {
        return Err("the key set has no RSA key".into());
    };
    let key = DecodingKey::from_rsa_components(n, e).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    Ok((key, validation))
}

async fn serve(floor: Arc<Floor>) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let floor = Arc::clone(&floor);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = floor.answer(&request);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
