//! A stand-in for Auth0: an HTTP server on `127.0.0.1:0` serving a JWKS from
//! state the test changes (which keys, failure modes, `Cache-Control`), that
//! counts its fetches; and the minting of tokens, good and bad, signed
//! directly with aws-lc-rs.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, RsaEncoding};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::app::{AUDIENCE, now};

/// An RSA key pair with the `kid` it is published under.
pub struct SigningKey {
    /// The `kid` it is published under.
    pub kid: &'static str,
    pair: KeyPair,
}

impl SigningKey {
    fn generate(kid: &'static str) -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("generate an RSA-2048 key");
        SigningKey { kid, pair }
    }

    /// The public JWK, labelled `alg: RS256` as Auth0 labels its keys when
    /// `with_alg`.
    pub fn jwk(&self, with_alg: bool) -> Value {
        let public = self.pair.public_key();
        let mut jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        });
        if with_alg {
            jwk["alg"] = json!("RS256");
        }
        jwk
    }

    /// The DER of the public key (RFC 8017 `RSAPublicKey`).
    pub fn public_der(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// A JWS of `header` and `claims` signed with this key.
    pub fn sign(
        &self,
        encoding: &'static dyn RsaEncoding,
        header: &Value,
        claims: &Value,
    ) -> String {
        let claims = serde_json::to_string(claims).expect("serialise JSON");
        self.sign_raw(encoding, header, &claims)
    }

    /// A JWS of `header` and the claims written out as `claims_json`, for
    /// claims no `Value` can hold (a number such as `1e400`).
    pub fn sign_raw(
        &self,
        encoding: &'static dyn RsaEncoding,
        header: &Value,
        claims_json: &str,
    ) -> String {
        let header = serde_json::to_vec(header).expect("serialise JSON");
        let input = format!("{}.{}", b64(&header), b64(claims_json.as_bytes()));
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                encoding,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing");
        format!("{input}.{}", b64(&signature))
    }

    /// An RS256 token with `kid` set to this key's.
    pub fn rs256(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        self.sign(&signature::RSA_PKCS1_SHA256, &header, claims)
    }
}

/// Keys are slow to make, so the whole suite shares these three.
pub struct Keys {
    /// Published from the start as `kid-1`.
    pub primary: SigningKey,
    /// Published when the test says so, as `kid-2`: a rotation.
    pub rotated: SigningKey,
    /// Never published in the key set: a forger's key.
    pub attacker: SigningKey,
}

/// The two RSA keys of every mock issuer of the process, made once.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        primary: SigningKey::generate("kid-1"),
        rotated: SigningKey::generate("kid-2"),
        attacker: SigningKey::generate("attacker"),
    })
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `base64url(header) "." base64url(claims)`.
pub fn signing_input(header: &Value, claims: &Value) -> String {
    let json = |value: &Value| serde_json::to_vec(value).expect("serialise JSON");
    format!("{}.{}", b64(&json(header)), b64(&json(claims)))
}

/// A JWS with an HMAC-SHA256 signature keyed by `secret`.
pub fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// A JWS with an empty signature, as `alg: none` has.
pub fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.", signing_input(header, claims))
}

/// How the key set answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 200 with the JWKS.
    Normal,
    /// 500.
    Error,
    /// Never answers.
    Hang,
    /// 200 with a body that is not JSON.
    Garbage,
}

struct State {
    mode: Mode,
    rotated_published: bool,
    label_alg: bool,
    extra_keys: Vec<Value>,
    max_age: Option<u32>,
    fetches: usize,
    attacker_fetches: usize,
    huge_fetches: usize,
}

impl State {
    fn jwks(&self) -> Value {
        let keys = keys();
        let mut published = vec![keys.primary.jwk(self.label_alg)];
        if self.rotated_published {
            published.push(keys.rotated.jwk(self.label_alg));
        }
        published.extend(self.extra_keys.iter().cloned());
        json!({ "keys": published })
    }
}

/// The mock issuer; stops when dropped.
pub struct MockIssuer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MockIssuer {
    /// Serves on its own thread and runtime, so it answers whatever the
    /// test's runtime is doing.
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the mock issuer");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("mock issuer address");
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Normal,
            rotated_published: false,
            label_alg: true,
            extra_keys: Vec::new(),
            max_age: None,
            fetches: 0,
            attacker_fetches: 0,
            huge_fetches: 0,
        }));
        let (stop, stopped) = oneshot::channel();
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || serve(listener, shared, stopped));
        MockIssuer {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }

    /// `http://127.0.0.1:PORT/`, the `iss` of its tokens.
    pub fn issuer(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The URL of `path` on the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The URL of its key set.
    pub fn jwks_url(&self) -> String {
        self.url("/.well-known/jwks.json")
    }

    /// How it answers key set fetches from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.state().mode = mode;
    }

    /// Adds `kid-2` to the key set.
    pub fn publish_rotated_key(&self) {
        self.state().rotated_published = true;
    }

    /// Takes `kid-2` out of the key set again.
    pub fn withdraw_rotated_key(&self) {
        self.state().rotated_published = false;
    }

    /// Whether the JWKs carry `"alg": "RS256"` (they do unless told).
    pub fn label_keys_with_alg(&self, label: bool) {
        self.state().label_alg = label;
    }

    /// Adds a raw JWK to the key set.
    pub fn publish_jwk(&self, jwk: Value) {
        self.state().extra_keys.push(jwk);
    }

    /// Serves the key set with `Cache-Control: max-age=SECONDS`.
    pub fn set_max_age(&self, seconds: u32) {
        self.state().max_age = Some(seconds);
    }

    /// How many times the key set was asked for.
    pub fn fetches(&self) -> usize {
        self.state().fetches
    }

    /// How many times anything under `/attacker/` was asked for.
    pub fn attacker_fetches(&self) -> usize {
        self.state().attacker_fetches
    }

    /// How many times `/huge-jwks.json` was asked for.
    pub fn huge_fetches(&self) -> usize {
        self.state().huge_fetches
    }

    /// Good claims: this issuer, the audience, an hour to live.
    pub fn claims(&self, permissions: &[&str]) -> Value {
        let now = now();
        json!({
            "iss": self.issuer(),
            "sub": "auth0|tester",
            "aud": AUDIENCE,
            "azp": "test-client",
            "iat": now,
            "exp": now + 3600,
            "permissions": permissions,
        })
    }

    /// A good token with `permissions`, RS256 with `kid-1`.
    pub fn token(&self, permissions: &[&str]) -> String {
        keys().primary.rs256(&self.claims(permissions))
    }

    /// `claims`, RS256 with `kid-1`.
    pub fn sign(&self, claims: &Value) -> String {
        keys().primary.rs256(claims)
    }
}

impl Drop for MockIssuer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: std::net::TcpListener,
    state: Arc<Mutex<State>>,
    mut stopped: oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("mock issuer runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let state = Arc::clone(&state);
                    tokio::spawn(async move {
                        let service = service_fn(move |request| respond(Arc::clone(&state), request));
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        }
    });
    // Dropping the runtime drops the connections still open, hung ones too.
}

type Answer = Result<Response<Full<Bytes>>, Infallible>;

fn answer(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert("content-type", value);
    }
    response
}

async fn respond(state: Arc<Mutex<State>>, request: Request<Incoming>) -> Answer {
    let path = request.uri().path().to_owned();
    match path.as_str() {
        "/.well-known/jwks.json" => {
            let (mode, body, max_age) = {
                let mut state = state.lock().expect("not poisoned");
                state.fetches += 1;
                (state.mode, state.jwks().to_string(), state.max_age)
            };
            match mode {
                Mode::Normal => {
                    let mut response = answer(StatusCode::OK, "application/json", body);
                    if let Some(seconds) = max_age
                        && let Ok(value) = format!("public, max-age={seconds}").parse()
                    {
                        response.headers_mut().insert("cache-control", value);
                    }
                    Ok(response)
                }
                Mode::Error => Ok(answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    "issuer down",
                )),
                Mode::Garbage => Ok(answer(
                    StatusCode::OK,
                    "application/json",
                    "<html>this is not a key set",
                )),
                Mode::Hang => std::future::pending().await,
            }
        }
        "/redirect-jwks.json" => {
            let mut response = answer(StatusCode::FOUND, "text/plain", "");
            if let Ok(value) = "/.well-known/jwks.json".parse() {
                response.headers_mut().insert("location", value);
            }
            Ok(response)
        }
        "/huge-jwks.json" => {
            let body = {
                let mut state = state.lock().expect("not poisoned");
                state.huge_fetches += 1;
                let mut jwks = state.jwks();
                jwks["padding"] = json!("x".repeat(16 * 1024 * 1024));
                jwks.to_string()
            };
            Ok(answer(StatusCode::OK, "application/json", body))
        }
        attacker if attacker.starts_with("/attacker/") => {
            state.lock().expect("not poisoned").attacker_fetches += 1;
            let body = json!({"keys": [keys().attacker.jwk(true)]}).to_string();
            Ok(answer(StatusCode::OK, "application/json", body))
        }
        _ => Ok(answer(StatusCode::NOT_FOUND, "text/plain", "not found")),
    }
}
