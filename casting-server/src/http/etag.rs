//! Entity tags of records and the conditional headers that name them
//! (RFC 9110 section 13).
//!
//! A record's tag is `"ID-VERSION"`: the version comes from a store-wide
//! counter, so a tag is never given twice to one record, and the id in it
//! keeps a tag of one record from ever matching another's.

use casting_core::Precondition;
use http::{HeaderMap, HeaderValue, header};

/// The strong `ETag` of record `id` at `version`.
pub fn etag(id: u64, version: u64) -> HeaderValue {
    // Digits, a dash and quotes are always a valid header value.
    HeaderValue::from_str(&format!("\"{id}-{version}\""))
        .unwrap_or(HeaderValue::from_static("\"\""))
}

/// The tags listed in every `name` header, as they were written. A value
/// that is not text lists nothing.
fn listed<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
}

/// The condition `If-Match` puts on a write to record `id`, if the request
/// has one. Comparison is strong, so a weak tag (`W/"…"`) matches nothing;
/// a tag of another record, or one this server never gave, matches
/// nothing either.
pub fn if_match(headers: &HeaderMap, id: u64) -> Option<Precondition> {
    if !headers.contains_key(header::IF_MATCH) {
        return None;
    }
    let mut versions = Vec::new();
    for tag in listed(headers, &header::IF_MATCH) {
        if tag == "*" {
            return Some(Precondition::Any);
        }
        let version = tag
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| t.split_once('-'))
            .filter(|(tag_id, _)| tag_id.parse::<u64>().ok() == Some(id))
            .and_then(|(_, version)| version.parse::<u64>().ok());
        versions.extend(version);
    }
    Some(Precondition::OneOf(versions))
}

/// Whether `If-None-Match` names `current` (or is `*`): then a `GET` answers
/// 304. Comparison is weak, as RFC 9110 section 13.1.2 asks: `W/` is set
/// aside.
pub fn none_match(headers: &HeaderMap, current: &HeaderValue) -> bool {
    let Ok(current) = current.to_str() else {
        return false;
    };
    listed(headers, &header::IF_NONE_MATCH)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_tag_names_the_record_and_its_version() {
        assert_eq!(etag(3, 17), "\"3-17\"");
    }

    #[test]
    fn no_if_match_header_is_no_condition() {
        assert_eq!(if_match(&HeaderMap::new(), 3), None);
    }

    #[test]
    fn if_match_takes_a_list_over_one_or_more_headers() {
        let h = headers(header::IF_MATCH, &["\"3-4\", \"3-9\"", "\"3-12\""]);
        assert_eq!(if_match(&h, 3), Some(Precondition::OneOf(vec![4, 9, 12])));
    }

    #[test]
    fn a_star_matches_any_version() {
        let h = headers(header::IF_MATCH, &["\"3-4\", *"]);
        assert_eq!(if_match(&h, 3), Some(Precondition::Any));
    }

    #[test]
    fn weak_foreign_and_malformed_tags_match_nothing() {
        let h = headers(
            header::IF_MATCH,
            &["W/\"3-4\", \"4-4\", 3-4, \"3-x\", \"3\", \"\""],
        );
        assert_eq!(if_match(&h, 3), Some(Precondition::OneOf(vec![])));
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_a_star() {
        let current = etag(3, 4);
        for matching in ["\"3-4\"", "W/\"3-4\"", "\"1-1\", \"3-4\"", "*"] {
            let h = headers(header::IF_NONE_MATCH, &[matching]);
            assert!(none_match(&h, &current), "{matching}");
        }
        let h = headers(header::IF_NONE_MATCH, &["\"3-5\""]);
        assert!(!none_match(&h, &current));
        assert!(!none_match(&HeaderMap::new(), &current));
    }
}
