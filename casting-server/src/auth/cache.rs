//! A bounded cache of verified tokens, so a client that sends the same
//! token again skips the RSA verification (the dearest step of a request).
//!
//! Keyed by a hash of the token's last bytes, and an entry serves only a
//! token equal to the one it was made for, compared in full; holds only
//! successes. An entry
//! serves until the token's `exp` (checked again on every hit, with the
//! leeway) and at most 60 seconds, and only while the key set still names
//! the token's `kid`, so a removed key stops its tokens at once.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use casting_core::Principal;

/// The longest an entry serves.
const TTL: Duration = Duration::from_secs(60);
/// The most entries held.
const CAPACITY: usize = 16_384;

/// How many bytes at the end of a token its key is made from.
const KEY_BYTES: usize = 32;

/// A token's key in the map.
type Key = u64;

struct Entry {
    /// The token the entry was made for: a hit needs the same token, byte
    /// for byte, so two tokens sharing a key never share an entry.
    token: Box<str>,
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
    /// Seeds the keys afresh in each process, so no client can aim tokens
    /// at one key.
    seed: RandomState,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

impl TokenCache {
    /// The key of `token`: a hash of its last bytes only, which end its
    /// signature. Hashing the whole token (up to 16 KiB) cost more than the
    /// rest of a cached request's authentication; the tail of a signature
    /// varies from token to token as much as the whole does, only verified
    /// tokens are ever inserted, and a hit compares the whole token, so a
    /// token made to share a key with a cached one only misses.
    fn key(&self, token: &str) -> Key {
        let bytes = token.as_bytes();
        let tail = &bytes[bytes.len().saturating_sub(KEY_BYTES)..];
        self.seed.hash_one(tail)
    }

    /// Looks `token` up at `now` (seconds since the epoch) with `leeway`;
    /// `kid_known` says whether the key set still names a kid.
    pub(super) fn get(
        &self,
        token: &str,
        now: u64,
        leeway: u64,
        kid_known: impl Fn(&str) -> bool,
    ) -> Hit {
        let key = &self.key(token);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = entries.get(key) else {
            return Hit::Miss;
        };
        if *entry.token != *token {
            // Another token with the same key: verified in full, it may
            // take the entry over.
            return Hit::Miss;
        }
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

    /// Remembers `token` once verified in full.
    pub(super) fn insert(&self, token: &str, principal: Arc<Principal>, kid: &str, exp: f64) {
        let key = self.key(token);
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
                token: token.into(),
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
        cache.insert("token", principal(), "kid1", 1000.0);
        assert!(matches!(
            cache.get("token", 1000, 30, |_| true),
            Hit::Valid(_)
        ));
        assert!(matches!(
            cache.get("token", 1030, 30, |_| true),
            Hit::Valid(_)
        ));
        assert!(matches!(
            cache.get("token", 1031, 30, |_| true),
            Hit::Expired
        ));
        assert!(matches!(cache.get("token", 1000, 30, |_| true), Hit::Miss));
    }

    #[test]
    fn a_token_whose_key_left_the_set_is_a_miss() {
        let cache = TokenCache::default();
        cache.insert("token", principal(), "gone", 9e9);
        assert!(matches!(
            cache.get("token", 0, 30, |kid| kid != "gone"),
            Hit::Miss
        ));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn different_tokens_have_different_keys() {
        let cache = TokenCache::default();
        assert_ne!(cache.key("a"), cache.key("b"));
        assert_eq!(cache.key("a"), cache.key("a"));
    }

    #[test]
    fn a_token_sharing_the_key_of_a_cached_one_misses() {
        let cache = TokenCache::default();
        let tail = "s".repeat(KEY_BYTES);
        let cached = format!("header.claims.{tail}");
        let forged = format!("header.forged-claims.{tail}");
        assert_eq!(cache.key(&cached), cache.key(&forged));
        cache.insert(&cached, principal(), "kid1", 9e9);
        assert!(matches!(cache.get(&forged, 0, 30, |_| true), Hit::Miss));
        assert!(matches!(cache.get(&cached, 0, 30, |_| true), Hit::Valid(_)));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = TokenCache::default();
        for i in 0..CAPACITY + 10 {
            cache.insert(&i.to_string(), principal(), "k", 9e9);
        }
        assert!(cache.len() <= CAPACITY);
    }
}
