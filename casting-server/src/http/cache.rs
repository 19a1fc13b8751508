//! Whole response bodies of reads, kept while the store is unchanged.
//!
//! A read that ran while the store's generation was `g` is valid until the
//! next commit moves it on, so its body is kept under `g` and served to the
//! same request (path and query) without touching the store or the JSON
//! encoder; any commit empties the cache. Only what a request was already
//! authorised to read is served from it. A record's `ETag` is kept beside
//! its body: it was read in the same snapshot, so it stays as valid.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use http::HeaderValue;

use super::query;
use super::router::Endpoint;

/// The default bound on what the cache holds, keys and bodies together.
pub const DEFAULT_MAX_BYTES: usize = 8 * 1024 * 1024;
/// Bodies larger than this are not kept: they are rare, and memory matters
/// more than one encoding.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// A kept response: its body, and the record's `ETag` when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    /// The JSON body.
    pub body: Bytes,
    /// The `ETag` the response carried.
    pub etag: Option<HeaderValue>,
}

impl Cached {
    fn len(&self) -> usize {
        self.body.len() + self.etag.as_ref().map_or(0, HeaderValue::len)
    }
}

impl From<Bytes> for Cached {
    fn from(body: Bytes) -> Self {
        Cached { body, etag: None }
    }
}

#[derive(Debug, Default)]
struct Entries {
    generation: u64,
    bodies: HashMap<Box<str>, Cached>,
    /// The bytes of every key and body held.
    bytes: usize,
}

/// The cache; cheap to share.
#[derive(Debug)]
pub struct ResponseCache {
    entries: Mutex<Entries>,
    /// The most bytes of keys and bodies held at once; 0 turns it off.
    max_bytes: usize,
}

/// The key a read of `endpoint` is kept under: its path and the query
/// parameters the route reads, decoded, in a fixed order. Parameters the
/// route ignores (cache-busters) are left out, so they cannot make entries
/// of their own. `None` for a request that is not kept: one that is no
/// read, or that repeats a parameter (a 400).
pub fn key(endpoint: Endpoint<'_>, path: &str, query: Option<&str>) -> Option<String> {
    use Endpoint::*;
    let known: &[&str] = match endpoint {
        ListMovies | ListActors => &query::PAGE,
        SearchMovies => &query::MOVIE_SEARCH,
        SearchActors => &query::ACTOR_SEARCH,
        GetMovie(_) | GetActor(_) => &[],
        _ => return None,
    };
    let mut key = String::with_capacity(path.len() + 16);
    key.push_str(path);
    if known.is_empty() {
        return Some(key);
    }
    let mut values: Vec<Option<std::borrow::Cow<'_, str>>> = vec![None; known.len()];
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if let Some(slot) = known.iter().position(|k| *k == name)
            && values[slot].replace(value).is_some()
        {
            return None;
        }
    }
    // A NUL separates the parts: it cannot stand in a path, and a decoded
    // value holding one only makes a key of its own.
    for (name, value) in known.iter().zip(values) {
        if let Some(value) = value {
            key.push('\0');
            key.push_str(name);
            key.push('=');
            key.push_str(&value);
        }
    }
    Some(key)
}

impl Default for ResponseCache {
    fn default() -> Self {
        ResponseCache::new(DEFAULT_MAX_BYTES)
    }
}

impl ResponseCache {
    /// A cache holding at most `max_bytes` of keys and bodies; 0 keeps
    /// nothing.
    pub fn new(max_bytes: usize) -> Self {
        ResponseCache {
            entries: Mutex::default(),
            max_bytes,
        }
    }

    /// The response kept for `key`, if it was read at `generation`.
    pub fn get(&self, key: &str, generation: u64) -> Option<Cached> {
        if self.max_bytes == 0 {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.generation != generation {
            return None;
        }
        entries.bodies.get(key).cloned()
    }

    /// Keeps `body` for `key`, read at `generation`. A body of an older
    /// generation than the cache's is dropped; a newer one empties it. When
    /// the body would take the cache past its bound, the cache starts
    /// afresh: simpler than any eviction order, and a read that misses
    /// costs only one encoding.
    pub fn put(&self, key: &str, generation: u64, kept: impl Into<Cached>) {
        let kept = kept.into();
        let size = key.len() + kept.len();
        if kept.body.len() > MAX_BODY_BYTES || size > self.max_bytes {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if generation < entries.generation {
            return;
        }
        if generation > entries.generation || entries.bytes + size > self.max_bytes {
            entries.generation = generation;
            entries.bodies.clear();
            entries.bytes = 0;
        }
        if let Some(old) = entries.bodies.insert(key.into(), kept) {
            entries.bytes -= key.len() + old.len();
        }
        entries.bytes += size;
    }

    /// The bytes of keys and bodies held now.
    pub fn bytes(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_served_only_at_its_generation() {
        let cache = ResponseCache::default();
        cache.put("/movies", 3, Bytes::from_static(b"three"));
        assert_eq!(
            cache.get("/movies", 3).map(|c| c.body),
            Some(Bytes::from_static(b"three"))
        );
        assert_eq!(cache.get("/movies", 4).map(|c| c.body), None);
        assert_eq!(cache.get("/actors", 3).map(|c| c.body), None);
    }

    #[test]
    fn a_newer_generation_empties_the_cache_and_an_older_one_is_dropped() {
        let cache = ResponseCache::default();
        cache.put("/a", 1, Bytes::from_static(b"a1"));
        cache.put("/b", 2, Bytes::from_static(b"b2"));
        assert_eq!(cache.get("/a", 1).map(|c| c.body), None);
        assert_eq!(
            cache.get("/b", 2).map(|c| c.body),
            Some(Bytes::from_static(b"b2"))
        );
        cache.put("/a", 1, Bytes::from_static(b"late"));
        assert_eq!(cache.get("/a", 2).map(|c| c.body), None);
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bound() {
        let cache = ResponseCache::new(10_000);
        for i in 0..1000 {
            cache.put(
                &format!("/movies?limit={i}"),
                0,
                Bytes::from(vec![b'x'; 900]),
            );
            assert!(cache.bytes() <= 10_000, "{} bytes", cache.bytes());
        }
        assert!(cache.get("/movies?limit=999", 0).map(|c| c.body).is_some());
        cache.put("/movies?limit=999", 0, Bytes::from(vec![b'y'; 10]));
        assert_eq!(
            cache.get("/movies?limit=999", 0).map(|c| c.body),
            Some(Bytes::from(vec![b'y'; 10]))
        );
    }

    #[test]
    fn a_bound_of_zero_keeps_nothing() {
        let cache = ResponseCache::new(0);
        cache.put("/movies", 0, Bytes::from_static(b"x"));
        assert_eq!(cache.get("/movies", 0).map(|c| c.body), None);
    }

    #[test]
    fn ignored_parameters_do_not_change_the_key() {
        let plain = key(Endpoint::ListMovies, "/movies", Some("limit=5&after=2"));
        assert_eq!(
            key(
                Endpoint::ListMovies,
                "/movies",
                Some("after=2&bust=1&limit=5&x=%20")
            ),
            plain
        );
        assert_eq!(
            key(Endpoint::GetMovie("1"), "/movies/1", Some("bust=7")),
            Some("/movies/1".to_owned())
        );
        assert_ne!(
            key(Endpoint::ListMovies, "/movies", Some("limit=6")),
            key(Endpoint::ListMovies, "/movies", Some("limit=5"))
        );
        assert_eq!(
            key(Endpoint::SearchActors, "/actors/search", Some("q=a%20b")),
            key(Endpoint::SearchActors, "/actors/search", Some("q=a+b"))
        );
    }

    #[test]
    fn repeated_parameters_and_writes_are_not_kept() {
        assert_eq!(
            key(Endpoint::ListMovies, "/movies", Some("limit=1&limit=2")),
            None
        );
        assert_eq!(key(Endpoint::CreateMovie, "/movies", None), None);
    }

    #[test]
    fn an_etag_is_kept_beside_its_body() {
        let cache = ResponseCache::default();
        let kept = Cached {
            body: Bytes::from_static(b"{}"),
            etag: Some(HeaderValue::from_static("\"1-2\"")),
        };
        cache.put("/movies/1", 0, kept.clone());
        assert_eq!(cache.get("/movies/1", 0), Some(kept));
    }

    #[test]
    fn large_bodies_are_not_kept() {
        let cache = ResponseCache::default();
        cache.put("/big", 0, Bytes::from(vec![b' '; MAX_BODY_BYTES + 1]));
        assert_eq!(cache.get("/big", 0).map(|c| c.body), None);
    }
}
