//! Whole response bodies of reads, kept while the store is unchanged.
//!
//! A read that ran while the store's generation was `g` is valid until the
//! next commit moves it on, so its body is kept under `g` and served to the
//! same request (path and query) without touching the store or the JSON
//! encoder; any commit empties the cache. Only what a request was already
//! authorised to read is served from it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

/// The most bodies kept; past it the cache starts afresh.
const MAX_ENTRIES: usize = 1024;
/// Bodies larger than this are not kept: they are rare, and memory matters
/// more than one encoding.
const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, Default)]
struct Entries {
    generation: u64,
    bodies: HashMap<Box<str>, Bytes>,
}

/// The cache; cheap to share.
#[derive(Debug, Default)]
pub struct ResponseCache {
    entries: Mutex<Entries>,
}

impl ResponseCache {
    /// The body kept for `key`, if it was read at `generation`.
    pub fn get(&self, key: &str, generation: u64) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.generation != generation {
            return None;
        }
        entries.bodies.get(key).cloned()
    }

    /// Keeps `body` for `key`, read at `generation`. A body of an older
    /// generation than the cache's is dropped; a newer one empties it.
    pub fn put(&self, key: &str, generation: u64, body: Bytes) {
        if body.len() > MAX_BODY_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if generation < entries.generation {
            return;
        }
        if generation > entries.generation || entries.bodies.len() >= MAX_ENTRIES {
            entries.generation = generation;
            entries.bodies.clear();
        }
        entries.bodies.insert(key.into(), body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_served_only_at_its_generation() {
        let cache = ResponseCache::default();
        cache.put("/movies", 3, Bytes::from_static(b"three"));
        assert_eq!(cache.get("/movies", 3), Some(Bytes::from_static(b"three")));
        assert_eq!(cache.get("/movies", 4), None);
        assert_eq!(cache.get("/actors", 3), None);
    }

    #[test]
    fn a_newer_generation_empties_the_cache_and_an_older_one_is_dropped() {
        let cache = ResponseCache::default();
        cache.put("/a", 1, Bytes::from_static(b"a1"));
        cache.put("/b", 2, Bytes::from_static(b"b2"));
        assert_eq!(cache.get("/a", 1), None);
        assert_eq!(cache.get("/b", 2), Some(Bytes::from_static(b"b2")));
        cache.put("/a", 1, Bytes::from_static(b"late"));
        assert_eq!(cache.get("/a", 2), None);
    }

    #[test]
    fn large_bodies_are_not_kept() {
        let cache = ResponseCache::default();
        cache.put("/big", 0, Bytes::from(vec![b' '; MAX_BODY_BYTES + 1]));
        assert_eq!(cache.get("/big", 0), None);
    }
}
