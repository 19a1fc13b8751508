//! What a list or search asks for, and the page it gets back.

use serde::{Deserialize, Serialize};

use crate::ReleaseDate;

/// The most records one page may hold.
pub const MAX_LIMIT: u32 = 1000;

/// Keyset pagination: records with an id above `after`, at most `limit` of
/// them, in ascending id order. Without a limit, every record above `after`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// At most this many records, from 1 to [`MAX_LIMIT`]; `None` for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only records with an id above this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

impl PageRequest {
    /// The first page of `limit` records.
    pub fn first(limit: u32) -> Self {
        PageRequest {
            limit: Some(limit),
            after: None,
        }
    }

    /// The same size of page, after `id`.
    pub fn after(self, id: u64) -> Self {
        PageRequest {
            after: Some(id),
            ..self
        }
    }

    /// The lowest id the page may hold.
    pub fn start(self) -> u64 {
        self.after.map_or(1, |after| after.saturating_add(1))
    }
}

/// One page of records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The records, in ascending id order.
    pub items: Vec<T>,
    /// For a list, the number of records in the store; for a search, the
    /// number of records that match, on every page.
    pub total: u64,
    /// The `after` of the next page when more records follow this one.
    pub next: Option<u64>,
}

/// A search of movies; every given filter must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovieQuery {
    /// Matched case-insensitively anywhere in the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Only movies released strictly after this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_after: Option<ReleaseDate>,
    /// Only movies released strictly before this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_before: Option<ReleaseDate>,
    /// Which page of the matches.
    #[serde(flatten)]
    pub page: PageRequest,
}

/// A search of actors; every given filter must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorQuery {
    /// Matched case-insensitively anywhere in the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Matched case-insensitively against the whole gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Only actors at least this old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<u8>,
    /// Only actors at most this old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u8>,
    /// Only actors cast in this movie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub movie_id: Option<u64>,
    /// Which page of the matches.
    #[serde(flatten)]
    pub page: PageRequest,
}

/// Whether `haystack` contains `needle`, ignoring case as Unicode's
/// lowercase mapping does. `needle` must already be lowercase. ASCII text
/// takes a path that allocates nothing, because searches run it once per
/// record.
pub fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.is_ascii() && haystack.is_ascii() {
        let (hay, pin) = (haystack.as_bytes(), needle.as_bytes());
        return hay.len() >= pin.len()
            && hay.windows(pin.len()).any(|window| {
                window
                    .iter()
                    .zip(pin)
                    .all(|(h, p)| h.to_ascii_lowercase() == *p)
            });
    }
    haystack.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ignores_case() {
        assert!(contains_ignore_case("Robert Downey Jr", "downey"));
        assert!(contains_ignore_case("ROBERT", "rob"));
        assert!(contains_ignore_case("anything", ""));
        assert!(!contains_ignore_case("Rob", "robert"));
        assert!(contains_ignore_case("ÉLODIE", "élo"));
        assert!(!contains_ignore_case("Elodie", "élo"));
    }

    #[test]
    fn a_page_starts_above_after() {
        assert_eq!(PageRequest::default().start(), 1);
        assert_eq!(PageRequest::first(5).after(9).start(), 10);
        assert_eq!(PageRequest::first(5).after(u64::MAX).start(), u64::MAX);
    }
}
