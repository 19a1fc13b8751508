//! A key set: the RSA signing keys of a JWKS document, by `kid`.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::AuthError;
use super::token::refuse;

/// One key of a JWKS document, with only the members read here.
#[derive(Debug, Deserialize)]
struct Jwk {
    kty: Option<String>,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Jwks {
    keys: Vec<serde_json::Value>,
}

/// A verification key and the algorithm it is restricted to, if any.
#[derive(Clone)]
struct Key {
    key: Arc<DecodingKey>,
    algorithm: Option<Algorithm>,
}

/// The usable keys of a key set: RSA, for signing, with a `kid`, and an
/// `alg` (when given) among the allowed ones. Others are left out, so an
/// `oct` key can never turn into an HMAC secret.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Key>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.keys.keys()).finish()
    }
}

/// A JWKS document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a JWKS document with an RSA signing key: {0}")]
pub struct KeySetError(String);

impl KeySet {
    /// Reads a JWKS document, keeping the keys usable with `allowed`.
    ///
    /// # Errors
    /// When it is not a JWKS document, or holds no usable key.
    pub fn from_json(document: &[u8], allowed: &[Algorithm]) -> Result<Self, KeySetError> {
        let jwks: Jwks =
            serde_json::from_slice(document).map_err(|e| KeySetError(e.to_string()))?;
        let mut keys = HashMap::new();
        for value in jwks.keys {
            // A key this server cannot use is skipped, not an error: a key
            // set may hold keys for other parties.
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                continue;
            };
            if let Some((kid, key)) = usable(jwk, allowed) {
                keys.insert(kid, key);
            }
        }
        if keys.is_empty() {
            return Err(KeySetError("no usable key".into()));
        }
        Ok(KeySet { keys })
    }

    /// The key named `kid`, if it may verify `algorithm`.
    pub fn get(&self, kid: &str, algorithm: Algorithm) -> Option<Arc<DecodingKey>> {
        let key = self.keys.get(kid)?;
        match key.algorithm {
            Some(only) if only != algorithm => None,
            _ => Some(Arc::clone(&key.key)),
        }
    }

    /// The key that verifies a token naming `kid` and `algorithm`.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] when the set has no such key, or when
    /// the key is restricted to another algorithm; the reason is logged.
    pub(crate) fn verifier(
        &self,
        kid: &str,
        algorithm: Algorithm,
    ) -> Result<Arc<DecodingKey>, AuthError> {
        if !self.contains(kid) {
            return Err(refuse(
                AuthError::InvalidToken,
                format_args!("no key of the key set has kid {kid:?}"),
            ));
        }
        self.get(kid, algorithm).ok_or_else(|| {
            refuse(
                AuthError::InvalidToken,
                format_args!("the key {kid:?} does not verify {algorithm:?}"),
            )
        })
    }

    /// Whether the set names `kid`.
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn usable(jwk: Jwk, allowed: &[Algorithm]) -> Option<(String, Key)> {
    if jwk.kty.as_deref() != Some("RSA") || jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let algorithm = match jwk.alg.as_deref() {
        None => None,
        Some(name) => Some(
            name.parse::<Algorithm>()
                .ok()
                .filter(|a| allowed.contains(a))?,
        ),
    };
    let key = DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?;
    Some((
        jwk.kid?,
        Key {
            key: Arc::new(key),
            algorithm,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RS: &[Algorithm] = &[Algorithm::RS256];

    fn doc(keys: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({ "keys": keys })).unwrap()
    }

    fn rsa(kid: &str) -> serde_json::Value {
        json!({"kty": "RSA", "kid": kid, "use": "sig", "n": "sXch", "e": "AQAB"})
    }

    #[test]
    fn rsa_signing_keys_are_kept() {
        let set = KeySet::from_json(&doc(json!([rsa("a"), rsa("b")])), RS).unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.get("a", Algorithm::RS256).is_some());
        assert!(set.get("c", Algorithm::RS256).is_none());
    }

    #[test]
    fn other_keys_are_left_out() {
        let keys = json!([
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "e", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "hs", "alg": "HS256", "n": "sXch", "e": "AQAB"},
            "garbage",
            rsa("ok"),
        ]);
        let set = KeySet::from_json(&doc(keys), RS).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.contains("ok"));
    }

    #[test]
    fn a_key_restricted_to_one_algorithm_verifies_only_it() {
        let mut key = rsa("a");
        key["alg"] = json!("RS256");
        let set =
            KeySet::from_json(&doc(json!([key])), &[Algorithm::RS256, Algorithm::PS256]).unwrap();
        assert!(set.get("a", Algorithm::RS256).is_some());
        assert!(set.get("a", Algorithm::PS256).is_none());
    }

    #[test]
    fn documents_without_usable_keys_are_errors() {
        assert!(KeySet::from_json(b"<html>", RS).is_err());
        assert!(KeySet::from_json(&doc(json!([])), RS).is_err());
        assert!(KeySet::from_json(b"{\"keys\": 5}", RS).is_err());
    }
}
