//! A JWT in compact form: its parts, header, signature and claims.
//!
//! jsonwebtoken checks the signature; the claims are checked here, because
//! its defaults are not the contract's (it accepts an `iss` array, leaves
//! `nbf` unchecked, requires only `exp`, and reports `alg: none` as a
//! malformed header rather than a refused algorithm).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casting_core::Principal;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{AuthConfig, AuthError};

/// A token split into its parts, with header and claims decoded but nothing
/// verified yet.
#[derive(Debug)]
pub(super) struct Parsed<'a> {
    header: Map<String, Value>,
    /// The claims, or `None` when the payload is a JSON object holding a
    /// value no claim can take (a number such as `1e400`): that is a fault
    /// of the claims, reported once the signature has been checked.
    claims: Option<Map<String, Value>>,
    /// `header.payload`, the signed bytes.
    message: &'a str,
    signature: &'a str,
}

fn decode(part: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| refuse(AuthError::MalformedToken, "a part is not base64url"))
}

fn object(part: &str) -> Result<Map<String, Value>, AuthError> {
    serde_json::from_slice(&decode(part)?)
        .map_err(|_| refuse(AuthError::MalformedToken, "the header is not a JSON object"))
}

/// The payload's claims; `Ok(None)` for an object with an unrepresentable
/// value, which serde_json refuses as a `Value` but accepts as raw JSON.
fn claims(part: &str) -> Result<Option<Map<String, Value>>, AuthError> {
    let bytes = decode(part)?;
    if let Ok(claims) = serde_json::from_slice(&bytes) {
        return Ok(Some(claims));
    }
    match serde_json::from_slice::<std::collections::BTreeMap<String, Box<RawValue>>>(&bytes) {
        Ok(_) => Ok(None),
        Err(_) => Err(refuse(
            AuthError::MalformedToken,
            "the payload is not a JSON object",
        )),
    }
}

/// Logs why a token was refused (never the token itself) and returns the
/// error; the client sees only the generic message of `error`.
pub(super) fn refuse(error: AuthError, reason: impl std::fmt::Display) -> AuthError {
    tracing::info!(request_id = %crate::logging::request_id(), %reason, "token refused");
    error
}

impl<'a> Parsed<'a> {
    /// Splits and decodes `token`.
    ///
    /// # Errors
    /// [`AuthError::MalformedToken`] unless it is three base64url parts,
    /// the first two JSON objects, the header naming an `alg`.
    pub(super) fn parse(token: &'a str) -> Result<Self, AuthError> {
        let malformed = || refuse(AuthError::MalformedToken, "not three dot-separated parts");
        let (message, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (header, payload) = message.split_once('.').ok_or_else(malformed)?;
        let header = object(header)?;
        let claims = claims(payload)?;
        if !header.get("alg").is_some_and(Value::is_string) {
            return Err(refuse(AuthError::MalformedToken, "the header names no alg"));
        }
        decode(signature)?;
        Ok(Parsed {
            header,
            claims,
            message,
            signature,
        })
    }

    /// The header's algorithm, if it is one of `allowed` and the header
    /// asks for no extension.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for any other algorithm, `none` and HMAC
    /// included, and for a header with `crit`: no extension is understood
    /// here, so one the issuer marks critical must be refused (RFC 7515
    /// section 4.1.11).
    pub(super) fn algorithm(&self, allowed: &[Algorithm]) -> Result<Algorithm, AuthError> {
        if self.header.contains_key("crit") {
            return Err(refuse(
                AuthError::InvalidToken,
                "the header has a crit parameter",
            ));
        }
        let name = self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match name.parse::<Algorithm>() {
            Ok(algorithm) if allowed.contains(&algorithm) => Ok(algorithm),
            _ => Err(refuse(
                AuthError::InvalidToken,
                format_args!("algorithm {name:?} is not among {allowed:?}"),
            )),
        }
    }

    /// The header's `kid`. Keys the header carries itself (`jwk`, `jku`,
    /// `x5u`) are never read: only the issuer's key set is trusted.
    pub(super) fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Checks the signature with `key`.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] when it does not match.
    pub(super) fn verify_signature(
        &self,
        key: &DecodingKey,
        algorithm: Algorithm,
    ) -> Result<(), AuthError> {
        match jsonwebtoken::crypto::verify(self.signature, self.message.as_bytes(), key, algorithm)
        {
            Ok(true) => Ok(()),
            _ => Err(refuse(
                AuthError::InvalidToken,
                "the signature does not verify",
            )),
        }
    }

    /// Checks the claims of a token whose signature was verified, at time
    /// `now` (seconds since the epoch), and builds its principal; also
    /// returns the token's `exp`.
    ///
    /// # Errors
    /// [`AuthError::Expired`] past `exp` plus the leeway;
    /// [`AuthError::InvalidClaims`] for a wrong, missing or malformed `iss`,
    /// `aud`, `exp` or `nbf`, a `nbf` in the future, or malformed permissions.
    pub(super) fn claims(
        &self,
        config: &AuthConfig,
        now: u64,
    ) -> Result<(Principal, f64), AuthError> {
        let invalid = |reason: std::fmt::Arguments<'_>| refuse(AuthError::InvalidClaims, reason);
        let Some(claims) = &self.claims else {
            return Err(invalid(format_args!(
                "a claim holds a number no claim can take"
            )));
        };
        let now = now as f64;
        let leeway = config.leeway as f64;
        let exp = match claims.get("exp") {
            None => return Err(invalid(format_args!("exp is missing"))),
            Some(exp) => exp
                .as_f64()
                .ok_or_else(|| invalid(format_args!("exp is not a number: {exp}")))?,
        };
        if now > exp + leeway {
            return Err(refuse(
                AuthError::Expired,
                format_args!("exp {exp} has passed (now {now}, leeway {leeway} s)"),
            ));
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf
                .as_f64()
                .ok_or_else(|| invalid(format_args!("nbf is not a number: {nbf}")))?;
            if nbf > now + leeway {
                return Err(invalid(format_args!(
                    "nbf {nbf} is in the future (now {now}, leeway {leeway} s)"
                )));
            }
        }
        match claims.get("iss") {
            Some(Value::String(iss)) if *iss == config.issuer => {}
            Some(iss) => {
                return Err(invalid(format_args!(
                    "iss is {iss}, expected {:?}",
                    config.issuer
                )));
            }
            None => {
                return Err(invalid(format_args!(
                    "iss is missing, expected {:?}",
                    config.issuer
                )));
            }
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == config.audience,
            Some(Value::Array(auds)) => {
                auds.iter().all(Value::is_string)
                    && auds.iter().any(|a| a.as_str() == Some(&config.audience))
            }
            _ => false,
        };
        if !audience_ok {
            let got = claims
                .get("aud")
                .map_or_else(|| "missing".to_owned(), Value::to_string);
            return Err(invalid(format_args!(
                "aud is {got}, expected {:?} (a string, or an array of strings holding it)",
                config.audience
            )));
        }
        let principal = Principal::from_claims(claims)
            .map_err(|e| invalid(format_args!("permissions: {e}")))?;
        Ok((principal, exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casting_core::{Permission, PermissionSet};
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn config() -> AuthConfig {
        AuthConfig {
            issuer: "https://issuer.example/".into(),
            audience: "casting".into(),
            algorithms: vec![Algorithm::RS256],
            leeway: 30,
        }
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    fn token(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.{}",
            b64(&header),
            b64(&claims),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    fn good_claims() -> Value {
        json!({"iss": "https://issuer.example/", "aud": "casting", "exp": NOW + 60, "sub": "u1", "permissions": ["get:movies"]})
    }

    fn claims_result(claims: Value) -> Result<Principal, AuthError> {
        let t = token(json!({"alg": "RS256", "kid": "k"}), claims);
        Parsed::parse(&t)
            .unwrap()
            .claims(&config(), NOW)
            .map(|(principal, _)| principal)
    }

    fn with(key: &str, value: Value) -> Value {
        let mut c = good_claims();
        c[key] = value;
        c
    }

    fn without(key: &str) -> Value {
        let mut c = good_claims();
        c.as_object_mut().unwrap().remove(key);
        c
    }

    #[test]
    fn good_claims_give_a_principal() {
        let p = claims_result(good_claims()).unwrap();
        assert_eq!(p.subject, "u1");
        assert_eq!(p.permissions, PermissionSet::of(&[Permission::GetMovies]));
    }

    #[test]
    fn malformed_tokens_are_malformed() {
        let good_header = b64(&json!({"alg": "RS256"}));
        let good_claims = b64(&good_claims());
        for bad in [
            "abc".to_string(),
            "a.b".to_string(),
            format!("{good_header}.{good_claims}"),
            format!("{good_header}.{good_claims}.sig!"),
            format!("!!.{good_claims}.sig"),
            format!("{}.{good_claims}.sig", b64(&json!(["RS256"]))),
            format!("{}.{good_claims}.sig", b64(&json!({"typ": "JWT"}))),
            format!("{good_header}.{}.sig", URL_SAFE_NO_PAD.encode("not json")),
            format!("{good_header}.{good_claims}.sig.extra"),
        ] {
            assert_eq!(
                Parsed::parse(&bad).unwrap_err(),
                AuthError::MalformedToken,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_header_with_crit_is_an_invalid_token() {
        let t = token(
            json!({"alg": "RS256", "kid": "k", "crit": ["exp"], "exp": 1}),
            good_claims(),
        );
        assert_eq!(
            Parsed::parse(&t).unwrap().algorithm(&[Algorithm::RS256]),
            Err(AuthError::InvalidToken)
        );
    }

    #[test]
    fn a_claim_no_number_can_hold_is_invalid_claims_not_a_malformed_token() {
        for payload in [
            r#"{"iss":"https://issuer.example/","aud":"casting","exp":1e400}"#,
            r#"{"iss":"https://issuer.example/","aud":"casting","exp":4000000000,"x":-1e999}"#,
        ] {
            let t = format!(
                "{}.{}.{}",
                b64(&json!({"alg": "RS256", "kid": "k"})),
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(b"sig")
            );
            let parsed = Parsed::parse(&t).expect("well-formed");
            assert_eq!(
                parsed.claims(&config(), NOW).unwrap_err(),
                AuthError::InvalidClaims,
                "{payload}"
            );
        }
    }

    #[test]
    fn algorithms_outside_the_list_are_invalid_tokens() {
        for alg in ["none", "HS256", "RS384", "ES256", "rs256", "XYZ"] {
            let t = token(json!({"alg": alg, "kid": "k"}), good_claims());
            let parsed = Parsed::parse(&t).unwrap();
            assert_eq!(
                parsed.algorithm(&[Algorithm::RS256]),
                Err(AuthError::InvalidToken),
                "{alg}"
            );
        }
        let t = token(json!({"alg": "RS256"}), good_claims());
        assert_eq!(
            Parsed::parse(&t).unwrap().algorithm(&[Algorithm::RS256]),
            Ok(Algorithm::RS256)
        );
    }

    #[test]
    fn expiry_allows_the_leeway() {
        assert!(claims_result(with("exp", json!(NOW - 30))).is_ok());
        assert_eq!(
            claims_result(with("exp", json!(NOW - 31))).unwrap_err(),
            AuthError::Expired
        );
        assert!(claims_result(with("exp", json!((NOW - 10) as f64 + 0.5))).is_ok());
    }

    #[test]
    fn a_missing_or_malformed_exp_is_invalid_claims() {
        assert_eq!(
            claims_result(without("exp")).unwrap_err(),
            AuthError::InvalidClaims
        );
        assert_eq!(
            claims_result(with("exp", json!("tomorrow"))).unwrap_err(),
            AuthError::InvalidClaims
        );
    }

    #[test]
    fn a_future_nbf_is_invalid_claims() {
        assert_eq!(
            claims_result(with("nbf", json!(NOW + 31))).unwrap_err(),
            AuthError::InvalidClaims
        );
        assert!(claims_result(with("nbf", json!(NOW + 30))).is_ok());
        assert_eq!(
            claims_result(with("nbf", json!("now"))).unwrap_err(),
            AuthError::InvalidClaims
        );
    }

    #[test]
    fn the_issuer_must_be_one_exact_string() {
        for iss in [
            json!("https://issuer.example"),
            json!(["https://issuer.example/"]),
            json!(null),
            json!(1),
        ] {
            assert_eq!(
                claims_result(with("iss", iss.clone())).unwrap_err(),
                AuthError::InvalidClaims,
                "{iss}"
            );
        }
        assert_eq!(
            claims_result(without("iss")).unwrap_err(),
            AuthError::InvalidClaims
        );
    }

    #[test]
    fn the_audience_may_be_a_string_or_an_array_holding_it() {
        assert!(claims_result(with("aud", json!(["other", "casting"]))).is_ok());
        for aud in [
            json!("other"),
            json!(["other"]),
            json!([]),
            json!(["casting", 1]),
            json!(5),
        ] {
            assert_eq!(
                claims_result(with("aud", aud.clone())).unwrap_err(),
                AuthError::InvalidClaims,
                "{aud}"
            );
        }
        assert_eq!(
            claims_result(without("aud")).unwrap_err(),
            AuthError::InvalidClaims
        );
    }

    #[test]
    fn permissions_that_are_not_strings_are_invalid_claims() {
        assert_eq!(
            claims_result(with("permissions", json!("get:movies"))).unwrap_err(),
            AuthError::InvalidClaims
        );
        assert_eq!(
            claims_result(with("permissions", json!([1]))).unwrap_err(),
            AuthError::InvalidClaims
        );
    }

    #[test]
    fn scope_is_used_when_permissions_are_absent() {
        let p = claims_result({
            let mut c = without("permissions");
            c["scope"] = json!("openid search:actors");
            c
        })
        .unwrap();
        assert_eq!(
            p.permissions,
            PermissionSet::of(&[Permission::SearchActors])
        );
    }

    #[test]
    fn only_the_key_sets_kid_is_read_from_the_header() {
        let t = token(
            json!({"alg": "RS256", "jwk": {"kty": "RSA"}, "jku": "http://evil"}),
            good_claims(),
        );
        assert_eq!(Parsed::parse(&t).unwrap().kid(), None);
        let t = token(json!({"alg": "RS256", "kid": 5}), good_claims());
        assert_eq!(Parsed::parse(&t).unwrap().kid(), None);
    }
}
