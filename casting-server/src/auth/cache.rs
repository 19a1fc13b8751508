//! A bounded cache of verified tokens, so a client that sends the same
//! token again skips the RSA verification (the dearest step of a request).
//!
//! Keyed by the SHA-256 of the whole token; holds only successes. An entry
//! serves until the token's `exp` (checked again on every hit, with the
//! leeway) and at most 60 seconds, and only while the key set still names
//! the token's `kid`, so a removed key stops its tokens at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use casting_core::Principal;

/// The longest an entry serves.
const TTL: Duration = Duration::from_secs(60);
/// The most entries held.
const CAPACITY: usize = 16_384;

type Key = [u8; 32];

struct Entry {
    principal: Arc<Principal>,
    kid: Box<str>,
    /// The token's `exp`, seconds since the epoch.
    exp: f64,
    inserted: Instant,
}

/// What a lookup found.
pub(super) enum Hit {
    /// A verified token, still valid.
    Valid(Arc<Principal>),
    /// A verified token whose `exp` has passed since.
    Expired,
    /// Nothing usable: verify the token in full.
    Miss,
}

/// The cache; cheap to share.
#[derive(Default)]
pub(super) struct TokenCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

/// The cache key of `token`.
pub(super) fn key(token: &str) -> Key {
    let mut key = [0; 32];
    key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    key
}

impl TokenCache {
    /// Looks `key` up at `now` (seconds since the epoch) with `leeway`;
    /// `kid_known` says whether the key set still names a kid.
    pub(super) fn get(
        &self,
        key: &Key,
        now: u64,
        leeway: u64,
        kid_known: impl Fn(&str) -> bool,
    ) -> Hit {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = entries.get(key) else {
            return Hit::Miss;
        };
        if entry.inserted.elapsed() >= TTL || !kid_known(&entry.kid) {
            entries.remove(key);
            return Hit::Miss;
        }
        if now as f64 > entry.exp + leeway as f64 {
            entries.remove(key);
            return Hit::Expired;
        }
        Hit::Valid(Arc::clone(&entry.principal))
    }

    /// Remembers a token verified in full.
    pub(super) fn insert(&self, key: Key, principal: Arc<Principal>, kid: &str, exp: f64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.inserted.elapsed() < TTL);
            if entries.len() >= CAPACITY {
                // Still full of live entries: start afresh rather than track
                // recency on every hit; a miss only costs one verification.
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                principal,
                kid: kid.into(),
                exp,
                inserted: Instant::now(),
            },
        );
    }

    /// How many entries are held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casting_core::Role;

    fn principal() -> Arc<Principal> {
        Arc::new(Principal::with_role("u", Role::Assistant))
    }

    #[test]
    fn a_cached_token_is_found_until_its_expiry() {
        let cache = TokenCache::default();
        let k = key("token");
        cache.insert(k, principal(), "kid1", 1000.0);
        assert!(matches!(cache.get(&k, 1000, 30, |_| true), Hit::Valid(_)));
        assert!(matches!(cache.get(&k, 1030, 30, |_| true), Hit::Valid(_)));
        assert!(matches!(cache.get(&k, 1031, 30, |_| true), Hit::Expired));
        assert!(matches!(cache.get(&k, 1000, 30, |_| true), Hit::Miss));
    }

    #[test]
    fn a_token_whose_key_left_the_set_is_a_miss() {
        let cache = TokenCache::default();
        let k = key("token");
        cache.insert(k, principal(), "gone", 9e9);
        assert!(matches!(
            cache.get(&k, 0, 30, |kid| kid != "gone"),
            Hit::Miss
        ));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn different_tokens_have_different_keys() {
        assert_ne!(key("a"), key("b"));
        assert_eq!(key("a"), key("a"));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = TokenCache::default();
        for i in 0..CAPACITY + 10 {
            cache.insert(key(&i.to_string()), principal(), "k", 9e9);
        }
        assert!(cache.len() <= CAPACITY);
    }
}
