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
use serde_json::{Map, Value};

use super::{AuthConfig, AuthError};

/// A token split into its parts, with header and claims decoded but nothing
/// verified yet.
#[derive(Debug)]
pub(super) struct Parsed<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    /// `header.payload`, the signed bytes.
    message: &'a str,
    signature: &'a str,
}

fn object(part: &str) -> Result<Map<String, Value>, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::InvalidHeader)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::InvalidHeader)
}

impl<'a> Parsed<'a> {
    /// Splits and decodes `token`.
    ///
    /// # Errors
    /// [`AuthError::InvalidHeader`] unless it is three base64url parts, the
    /// first two JSON objects, the header naming an `alg`.
    pub(super) fn parse(token: &'a str) -> Result<Self, AuthError> {
        let (message, signature) = token.rsplit_once('.').ok_or(AuthError::InvalidHeader)?;
        let (header, payload) = message.split_once('.').ok_or(AuthError::InvalidHeader)?;
        let header = object(header)?;
        let claims = object(payload)?;
        if !header.get("alg").is_some_and(Value::is_string) {
            return Err(AuthError::InvalidHeader);
        }
        URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::InvalidHeader)?;
        Ok(Parsed {
            header,
            claims,
            message,
            signature,
        })
    }

    /// The header's algorithm, if it is one of `allowed`.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for any other, `none` and HMAC included.
    pub(super) fn algorithm(&self, allowed: &[Algorithm]) -> Result<Algorithm, AuthError> {
        let name = self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let algorithm: Algorithm = name.parse().map_err(|_| AuthError::InvalidToken)?;
        if allowed.contains(&algorithm) {
            Ok(algorithm)
        } else {
            Err(AuthError::InvalidToken)
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
            _ => Err(AuthError::InvalidToken),
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
        let claims = &self.claims;
        let now = now as f64;
        let leeway = config.leeway as f64;
        let exp = claims
            .get("exp")
            .and_then(Value::as_f64)
            .ok_or(AuthError::InvalidClaims)?;
        if now > exp + leeway {
            return Err(AuthError::Expired);
        }
        match claims.get("nbf") {
            None => {}
            Some(nbf) => {
                let nbf = nbf.as_f64().ok_or(AuthError::InvalidClaims)?;
                if nbf > now + leeway {
                    return Err(AuthError::InvalidClaims);
                }
            }
        }
        if claims.get("iss").and_then(Value::as_str) != Some(config.issuer.as_str()) {
            return Err(AuthError::InvalidClaims);
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
            return Err(AuthError::InvalidClaims);
        }
        let principal = Principal::from_claims(claims).map_err(|_| AuthError::InvalidClaims)?;
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
    fn malformed_tokens_are_invalid_headers() {
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
                AuthError::InvalidHeader,
                "{bad}"
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
