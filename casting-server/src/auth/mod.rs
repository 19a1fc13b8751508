//! Authentication: from an `Authorization` header to a verified
//! [`Principal`], or to the contract's reason for refusing it.
//!
//! The order is the contract's: the header's shape, the token's shape, the
//! algorithm, the key named by `kid`, the signature, then the claims.

mod bearer;
mod cache;
pub mod dev;
mod jwks;
mod keys;
mod limit;
mod token;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use casting_core::Principal;
use jsonwebtoken::Algorithm;

pub use jwks::{JwksClient, JwksError};
pub use keys::KeySet;
pub use limit::FailureLimiter;

/// Why a request is not authenticated; each maps to one code of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("authorization header is expected")]
    Missing,
    /// The header itself is malformed: not `Bearer` followed by one token,
    /// or sent more than once.
    #[error("authorization header must be a bearer token holding a well-formed JWT")]
    InvalidHeader,
    /// A token was given but is not a well-formed JWT, or is longer than
    /// 16 KiB. The contract keeps the body code of a malformed header, but
    /// the challenge is RFC 6750's `invalid_token`: the token is at fault,
    /// not the header.
    #[error("authorization header must be a bearer token holding a well-formed JWT")]
    MalformedToken,
    /// `exp` has passed, beyond the leeway.
    #[error("token expired")]
    Expired,
    /// `iss`, `aud`, `exp`, `nbf` or `permissions` is wrong, missing or malformed.
    #[error("incorrect claims: check the issuer, audience, expiry and permissions")]
    InvalidClaims,
    /// Any other failure: signature, algorithm, `kid`.
    #[error("unable to verify the token")]
    InvalidToken,
    /// No usable key is cached and the key set cannot be fetched.
    #[error("authentication is unavailable: the signing keys could not be fetched")]
    Unavailable,
}

/// Where the verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A fixed key set: development mode's own key.
    Fixed(Arc<KeySet>),
    /// An issuer's JWKS, fetched and cached.
    Remote(Arc<JwksClient>),
}

/// What a token must satisfy.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The exact `iss`.
    pub issuer: String,
    /// A value `aud` must hold.
    pub audience: String,
    /// The signature algorithms accepted; all RSA.
    pub algorithms: Vec<Algorithm>,
    /// Seconds of tolerance on `exp` and `nbf`.
    pub leeway: u64,
}

/// Verifies bearer tokens.
#[derive(Debug, Clone)]
pub struct Authenticator {
    config: Arc<AuthConfig>,
    keys: KeySource,
    cache: Arc<cache::TokenCache>,
}

impl Authenticator {
    /// An authenticator checking tokens against `config` with keys from `keys`.
    pub fn new(config: AuthConfig, keys: KeySource) -> Self {
        Authenticator {
            config: Arc::new(config),
            keys,
            cache: Arc::default(),
        }
    }

    /// `None` when a usable key set is held, else why not: the readiness
    /// check of `/ready`.
    pub fn readiness(&self) -> Option<&'static str> {
        match &self.keys {
            KeySource::Fixed(_) => None,
            KeySource::Remote(jwks) => {
                (!jwks.has_usable_keys()).then_some("no usable key set is held")
            }
        }
    }

    /// Whether the key set still names `kid`.
    fn knows(&self, kid: &str) -> bool {
        match &self.keys {
            KeySource::Fixed(keys) => keys.contains(kid),
            KeySource::Remote(jwks) => jwks.knows(kid),
        }
    }

    /// Verifies the `Authorization` header of a request.
    ///
    /// # Errors
    /// The [`AuthError`] the contract assigns to the first check that fails.
    pub async fn authenticate(&self, header: Option<&[u8]>) -> Result<Arc<Principal>, AuthError> {
        let token = bearer::token(header.ok_or(AuthError::Missing)?)?;
        match self
            .cache
            .get(token, now(), self.config.leeway, |kid| self.knows(kid))
        {
            cache::Hit::Valid(principal) => return Ok(principal),
            cache::Hit::Expired => return Err(AuthError::Expired),
            cache::Hit::Miss => {}
        }
        let parsed = token::Parsed::parse(token)?;
        let algorithm = parsed.algorithm(&self.config.algorithms)?;
        let kid = parsed
            .kid()
            .ok_or_else(|| token::refuse(AuthError::InvalidToken, "the header names no kid"))?;
        let key = match &self.keys {
            KeySource::Fixed(keys) => keys.verifier(kid, algorithm)?,
            KeySource::Remote(jwks) => jwks.key(kid, algorithm).await?,
        };
        parsed.verify_signature(&key, algorithm)?;
        let (principal, exp) = parsed.claims(&self.config, now())?;
        let principal = Arc::new(principal);
        self.cache.insert(token, Arc::clone(&principal), kid, exp);
        Ok(principal)
    }
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
