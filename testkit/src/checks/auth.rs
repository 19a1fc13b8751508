//! The checks of casting-server's `auth_header` and `auth_token` fuzz
//! targets: each target is one call to [`check_auth_header`] or
//! [`check_auth_token`], and `casting-server/tests/fuzz_corpus.rs` replays
//! `fuzz/corpus/<target>/` through the same functions in `cargo test`.
//!
//! Both hand an `Authorization` header to an [`Authenticator`] over a
//! fixed development key set, built once per process by [`fixture`], and
//! compare its answer with [`expected`], the contract's token verification
//! written out plainly: the bearer header, the JWS compact form, the
//! algorithm, the `kid`, the signature (checked here with aws-lc-rs against
//! the key set's `n` and `e`), then the claims. So a token is accepted only
//! if the development key signed exactly its header and payload, and then
//! only if its claims hold.
//!
//! - `auth_header`: the bytes are the header.
//! - `auth_token`: the bytes are edits to a valid development token: its
//!   scheme, the JSON of its header and payload, their encoding, and its
//!   signature (kept, re-signed with the development key, flipped, signed
//!   with another RSA key or as an HMAC keyed with the public key set).

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use casting_core::{Permission, PermissionSet, Principal, Role};
use casting_server::auth::dev::{DEV_AUDIENCE, DEV_ISSUER, DevIssuer};
use casting_server::auth::{AuthConfig, AuthError, Authenticator, KeySet, KeySource};
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

/// Seconds of tolerance on `exp` and `nbf`, the default.
const LEEWAY: u64 = 30;
/// The longest token the contract accepts.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The development key, a valid token signed with it, and another key.
pub struct Fixture {
    keys: Arc<KeySet>,
    kid: String,
    /// The key set as served, the "secret" of an HMAC confusion attempt.
    jwks: String,
    /// The public key's modulus and exponent, from the key set.
    n: Vec<u8>,
    e: Vec<u8>,
    signer: KeyPair,
    other: KeyPair,
    /// The base64url header, payload and signature of a producer's token.
    parts: [String; 3],
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The fixture, made on first use: an RSA key made by [`DevIssuer`] in a
/// temporary directory (read back from its file to sign edited tokens), a
/// producer's token valid for a day, and a second RSA key.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let issuer = DevIssuer::load_or_create(&dir.path().join("fuzz.redb")).unwrap();
        let pem = std::fs::read_to_string(issuer.place()).unwrap();
        let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let signer = KeyPair::from_pkcs8(&STANDARD.decode(der).unwrap()).unwrap();

        let jwks: Value = serde_json::from_str(issuer.jwks()).unwrap();
        let key = &jwks["keys"][0];
        let component = |name: &str| URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap()).unwrap();
        let token = issuer.token(Role::Producer, now(), 86_400).unwrap();
        let parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let object = |part: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap());
        Fixture {
            keys: Arc::new(issuer.key_set().unwrap()),
            kid: key["kid"].as_str().unwrap().to_owned(),
            jwks: issuer.jwks().to_owned(),
            n: component("n"),
            e: component("e"),
            signer,
            other: KeyPair::generate(KeySize::Rsa2048).unwrap(),
            header: object(&parts[0]).unwrap(),
            claims: object(&parts[1]).unwrap(),
            parts: parts.try_into().unwrap(),
        }
    })
}

/// The development configuration, with more algorithms allowed than the
/// key may verify: the key set restricts its key to RS256.
fn config() -> AuthConfig {
    AuthConfig {
        issuer: DEV_ISSUER.into(),
        audience: DEV_AUDIENCE.into(),
        algorithms: vec![Algorithm::RS256, Algorithm::RS384, Algorithm::PS256],
        leeway: LEEWAY,
    }
}

/// Runs `authenticate` to completion in one poll: with a fixed key set it
/// never waits, and a wait would be a finding.
pub fn authenticate(header: &[u8]) -> Result<Arc<Principal>, AuthError> {
    let authenticator = Authenticator::new(config(), KeySource::Fixed(Arc::clone(&fixture().keys)));
    let mut future = std::pin::pin!(authenticator.authenticate(Some(header)));
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("authentication with a fixed key set waited"),
    }
}

// ---------------------------------------------------------------- the contract

/// What the contract says of a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Accepted, as this principal.
    Accept(Principal),
    /// Refused with one of these.
    Refuse(&'static [AuthError]),
    /// The answer depends on the second the server read the clock in.
    EitherSideOfASecond,
}

/// The token of a `Bearer` header, the scheme in any case, whatever its
/// length.
fn bearer(header: &[u8]) -> Option<&str> {
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim_matches(' ');
    let well_formed =
        scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ');
    well_formed.then_some(token)
}

/// A JWS in compact form: three base64url parts without padding, the
/// first two JSON objects, the header naming an `alg`.
struct Jws<'a> {
    header: Map<String, Value>,
    /// `None` for an object holding a number no `Value` can (`1e400`).
    claims: Option<Map<String, Value>>,
    message: &'a str,
    signature: Vec<u8>,
}

fn jws(token: &str) -> Option<Jws<'_>> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let object = |part: &str| -> Option<Map<String, Value>> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let raw_object = |part: &str| -> Option<()> {
        let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
        serde_json::from_slice::<std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>>(&bytes)
            .ok()
            .map(drop)
    };
    let claims = match object(payload) {
        Some(claims) => Some(claims),
        None => {
            raw_object(payload)?;
            None
        }
    };
    let jws = Jws {
        header: object(header)?,
        claims,
        message: &token[..header.len() + 1 + payload.len()],
        signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
    };
    jws.header.get("alg")?.as_str()?;
    Some(jws)
}

/// What the claims of a verified token come to at `now`.
fn claims_at(claims: &Map<String, Value>, now: u64) -> Expected {
    let (now, leeway) = (now as f64, LEEWAY as f64);
    let mut expired = false;
    let mut invalid = false;
    match claims.get("exp").and_then(Value::as_f64) {
        Some(exp) => expired = now > exp + leeway,
        None => invalid = true,
    }
    if let Some(nbf) = claims.get("nbf") {
        invalid |= nbf.as_f64().is_none_or(|nbf| nbf > now + leeway);
    }
    invalid |= claims.get("iss") != Some(&json!(DEV_ISSUER));
    invalid |= match claims.get("aud") {
        Some(Value::String(aud)) => aud != DEV_AUDIENCE,
        Some(Value::Array(auds)) => {
            !auds.iter().all(Value::is_string) || !auds.contains(&json!(DEV_AUDIENCE))
        }
        _ => true,
    };
    let strings: Option<Vec<&str>> = match (claims.get("permissions"), claims.get("scope")) {
        (Some(Value::Array(items)), _) => items.iter().map(Value::as_str).collect(),
        (Some(_), _) => None,
        (None, Some(Value::String(scope))) => Some(scope.split_whitespace().collect()),
        (None, Some(_)) => None,
        (None, None) => Some(Vec::new()),
    };
    invalid |= strings.is_none();
    match (expired, invalid) {
        (false, false) => {
            let permissions: PermissionSet = Permission::ALL
                .into_iter()
                .filter(|p| strings.iter().flatten().any(|s| *s == p.as_str()))
                .collect();
            let subject = claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Expected::Accept(Principal::new(subject, permissions))
        }
        (true, false) => Expected::Refuse(&[AuthError::Expired]),
        (false, true) => Expected::Refuse(&[AuthError::InvalidClaims]),
        (true, true) => Expected::Refuse(&[AuthError::Expired, AuthError::InvalidClaims]),
    }
}

impl Fixture {
    /// Whether the development key signed `message` (RS256).
    fn signed(&self, message: &str, signature: &[u8]) -> bool {
        let key = RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        };
        key.verify(&RSA_PKCS1_2048_8192_SHA256, message.as_bytes(), signature)
            .is_ok()
    }
}

/// The contract's answer to `header`, for a server that read the clock
/// between `before` and `after`.
pub fn expected(header: &[u8], before: u64, after: u64) -> Expected {
    use AuthError::{InvalidClaims, InvalidHeader, InvalidToken, MalformedToken};
    let fixture = fixture();
    let Some(token) = bearer(header) else {
        return Expected::Refuse(&[InvalidHeader]);
    };
    let Some(jws) = Some(token)
        .filter(|token| token.len() <= MAX_TOKEN_BYTES)
        .and_then(jws)
    else {
        return Expected::Refuse(&[MalformedToken]);
    };
    // The only key is restricted to RS256, whatever else is allowed; no
    // extension is understood, so a crit header is refused.
    if jws.header.get("alg") != Some(&json!("RS256"))
        || jws.header.contains_key("crit")
        || jws.header.get("kid") != Some(&json!(fixture.kid))
        || !fixture.signed(jws.message, &jws.signature)
    {
        return Expected::Refuse(&[InvalidToken]);
    }
    let Some(claims) = &jws.claims else {
        return Expected::Refuse(&[InvalidClaims]);
    };
    let early = claims_at(claims, before);
    if early == claims_at(claims, after) {
        early
    } else {
        Expected::EitherSideOfASecond
    }
}

/// Authenticates `header` and checks the answer against [`expected`].
fn judge(header: &[u8]) {
    let before = now();
    let result = authenticate(header);
    let after = now();
    let expected = expected(header, before, after);
    let shown = String::from_utf8_lossy(header);
    // The property the rest only refines: nothing is accepted that the
    // development key did not sign exactly as sent.
    if result.is_ok() {
        let signed = bearer(header)
            .and_then(jws)
            .is_some_and(|jws| fixture().signed(jws.message, &jws.signature));
        assert!(
            signed,
            "accepted a token the development key did not sign: {shown}"
        );
    }
    match (&expected, &result) {
        (Expected::Accept(principal), Ok(got)) => {
            assert_eq!(**got, *principal, "the wrong principal for {shown}")
        }
        (Expected::Refuse(allowed), Err(error)) if allowed.contains(error) => {}
        (Expected::EitherSideOfASecond, _) => {}
        _ => panic!("{shown}\nexpected {expected:?}, got {result:?}"),
    }
}

// ---------------------------------------------------------------- auth_header

/// `data` as an `Authorization` header.
pub fn check_auth_header(data: &[u8]) {
    judge(data);
}

// ---------------------------------------------------------------- auth_token

/// A fuzz input read one byte at a time; past its end every byte reads as
/// 0, so every input decodes to something.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&first, rest)) => {
                self.0 = rest;
                first
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        taken
    }

    fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[usize::from(self.byte()) % choices.len()]
    }
}

/// The most edits of one input.
const MAX_EDITS: usize = 8;

const SCHEMES: [&str; 8] = [
    "Bearer ", "bearer ", "BEARER ", "Bearer  ", "Basic ", "Bearer\t", "", "Bearer",
];

const KEYS: [&str; 16] = [
    "alg",
    "kid",
    "typ",
    "crit",
    "jku",
    "jwk",
    "x5u",
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "sub",
    "permissions",
    "scope",
    "",
];

/// Strings worth trying as values; `None` stands for the key's `kid`.
const STRINGS: [Option<&str>; 16] = [
    None,
    Some("RS256"),
    Some("none"),
    Some("HS256"),
    Some("RS384"),
    Some("PS256"),
    Some("rs256"),
    Some(DEV_ISSUER),
    Some(DEV_AUDIENCE),
    Some("casting-dev/"),
    Some("Casting-Agency"),
    Some("get:movies"),
    Some("post:movies delete:movies"),
    Some("delete:movies fly:planes"),
    Some(""),
    Some("JWT"),
];

const PERMISSIONS: [&str; 6] = [
    "get:movies",
    "post:movies",
    "delete:actors",
    "search:actors",
    "GET:MOVIES",
    "fly:planes",
];

fn value(input: &mut Bytes, depth: u8) -> Value {
    let near_now = || now() as i64;
    match input.byte() % 12 {
        0 => Value::Null,
        1 => json!(input.byte() % 2 == 1),
        2 => json!(input.byte() as i8),
        // Seconds near now, to land on either side of the leeway.
        3 => json!(near_now() + i64::from(input.byte() as i8)),
        4 => json!(near_now() as f64 + f64::from(input.byte() as i8) + 0.5),
        5 => match input.pick(&STRINGS) {
            Some(s) => json!(s),
            None => json!(fixture().kid),
        },
        6 if depth < 2 => {
            let n = input.byte() % 4;
            Value::Array((0..n).map(|_| value(input, depth + 1)).collect())
        }
        7 if depth < 2 => {
            let key = input.pick(&KEYS).to_owned();
            Value::Object(Map::from_iter([(key, value(input, depth + 1))]))
        }
        // Long enough to take a token past 16 KiB.
        8 => {
            let len = usize::from(u16::from_le_bytes([input.byte(), input.byte()])) % 20_000;
            json!("a".repeat(len))
        }
        9 => match input.byte() % 6 {
            0 => json!(u64::MAX),
            1 => json!(i64::MIN),
            2 => json!(1e300),
            3 => json!(-1e300),
            4 => json!(-0.0),
            _ => json!(4_102_444_800u64),
        },
        10 => {
            let n = input.byte() % 4;
            Value::Array((0..n).map(|_| json!(input.pick(&PERMISSIONS))).collect())
        }
        _ => {
            let n = usize::from(input.byte() % 12);
            json!(String::from_utf8_lossy(input.take(n)))
        }
    }
}

/// `object` as JSON text, with `duplicates` appended as repeated members.
fn json_text(object: &Map<String, Value>, duplicates: &[(&str, Value)]) -> String {
    let mut text = serde_json::to_string(object).unwrap();
    for (key, value) in duplicates {
        text.pop();
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str(&format!("{}:{value}}}", json!(key)));
    }
    text
}

fn sign(key: &KeyPair, message: &str) -> String {
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .unwrap();
    URL_SAFE_NO_PAD.encode(signature)
}

/// The `Authorization` header that `data` makes of the fixture's token.
pub fn mutated_token_header(data: &[u8]) -> Vec<u8> {
    let fixture = fixture();
    let mut input = Bytes(data);
    let scheme = input.pick(&SCHEMES);
    let trailer = input.pick(&["", "", "", " "]);
    let signing = input.byte() % 6;
    let flip = usize::from(u16::from_le_bytes([input.byte(), input.byte()]));
    let encoding = input.pick(&[
        &URL_SAFE_NO_PAD,
        &URL_SAFE_NO_PAD,
        &URL_SAFE,
        &STANDARD_NO_PAD,
    ]);

    let [header_part, payload_part, signature_part] = &fixture.parts;
    let mut header = fixture.header.clone();
    let mut claims = fixture.claims.clone();
    let mut duplicates: [Vec<(&str, Value)>; 2] = [Vec::new(), Vec::new()];
    let mut edited = false;
    for _ in 0..MAX_EDITS {
        if input.0.is_empty() {
            break;
        }
        let op = input.byte();
        let in_claims = usize::from(op & 1);
        let key = input.pick(&KEYS);
        let object = if in_claims == 1 {
            &mut claims
        } else {
            &mut header
        };
        match (op >> 1) % 4 {
            0 | 1 => {
                object.insert(key.to_owned(), value(&mut input, 0));
            }
            2 => {
                object.remove(key);
            }
            _ => duplicates[in_claims].push((key, value(&mut input, 0))),
        }
        edited = true;
    }
    let message = if edited {
        let [in_header, in_claims] = &duplicates;
        format!(
            "{}.{}",
            encoding.encode(json_text(&header, in_header)),
            encoding.encode(json_text(&claims, in_claims))
        )
    } else {
        format!("{header_part}.{payload_part}")
    };
    let signature = match signing {
        0 => signature_part.clone(),
        1 => sign(&fixture.signer, &message),
        2 => {
            let mut bytes = URL_SAFE_NO_PAD.decode(signature_part).unwrap();
            let i = flip % bytes.len();
            bytes[i] ^= 1 << (flip % 8);
            URL_SAFE_NO_PAD.encode(bytes)
        }
        3 => sign(&fixture.other, &message),
        4 => {
            let key =
                aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, fixture.jwks.as_bytes());
            URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&key, message.as_bytes()))
        }
        _ => String::new(),
    };
    format!("{scheme}{message}.{signature}{trailer}").into_bytes()
}

/// `data` as edits to a valid development token.
pub fn check_auth_token(data: &[u8]) {
    judge(&mutated_token_header(data));
}
