//! Query strings: each route names the parameters it takes; a repeated or
//! malformed one is a 400 that names it. Others are ignored, as the
//! original service ignored every parameter (cache-busters keep working).

use std::borrow::Cow;
use std::str::FromStr;

use casting_core::audit::{DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
use casting_core::query::MAX_LIMIT;
use casting_core::{ActorQuery, AuditQuery, MovieQuery, PageRequest, RecordKind};

use super::error::ApiError;

/// The decoded parameters of a query string.
#[derive(Debug, Default)]
pub struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// The parameters of a plain list.
pub(crate) const PAGE: [&str; 2] = ["limit", "after"];
/// The parameters of a movie search.
pub(crate) const MOVIE_SEARCH: [&str; 5] =
    ["q", "released_after", "released_before", "limit", "after"];
/// The parameters of an actor search.
pub(crate) const ACTOR_SEARCH: [&str; 7] = [
    "q", "gender", "min_age", "max_age", "movie_id", "limit", "after",
];

/// The parameters of the audit log.
pub(crate) const AUDIT: [&str; 4] = ["limit", "after", "kind", "record"];

fn bad(name: &str, reason: &str) -> ApiError {
    ApiError::BadRequest(format!("query parameter {name}: {reason}"))
}

impl<'a> Params<'a> {
    /// Decodes the parameters of `query` that are in `known`, refusing
    /// repeats; others are skipped.
    ///
    /// # Errors
    /// 400 naming the parameter.
    pub fn parse(query: Option<&'a str>, known: &[&str]) -> Result<Self, ApiError> {
        let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if !known.contains(&name.as_ref()) {
                continue;
            }
            if pairs.iter().any(|(seen, _)| *seen == name) {
                return Err(bad(&name, "given more than once"));
            }
            pairs.push((name, value));
        }
        Ok(Params { pairs })
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    fn parsed<T: FromStr>(&self, name: &str, expected: &str) -> Result<Option<T>, ApiError> {
        self.raw(name)
            .map(|value| value.parse::<T>().map_err(|_| bad(name, expected)))
            .transpose()
    }

    fn age(&self, name: &str) -> Result<Option<u8>, ApiError> {
        // Ages above 255 select the same actors as 255 would: none or all.
        Ok(self
            .parsed::<u64>(name, "must be a non-negative integer")?
            .map(|age| u8::try_from(age).unwrap_or(u8::MAX)))
    }

    fn page(&self) -> Result<PageRequest, ApiError> {
        let limit = self.parsed::<u32>("limit", "must be an integer from 1 to 1000")?;
        if limit.is_some_and(|l| !(1..=MAX_LIMIT).contains(&l)) {
            return Err(bad("limit", "must be an integer from 1 to 1000"));
        }
        let after = self.parsed::<u64>("after", "must be a non-negative integer id")?;
        Ok(PageRequest { limit, after })
    }
}

/// The page of a plain list.
///
/// # Errors
/// 400 for a repeated or malformed parameter.
pub fn page(query: Option<&str>) -> Result<PageRequest, ApiError> {
    Params::parse(query, &PAGE)?.page()
}

/// A page of the audit log: always limited, 100 entries unless told.
///
/// # Errors
/// 400 for a repeated or malformed parameter, a `kind` other than `movie`
/// or `actor`, or a `record` that is not a positive id.
pub fn audit(query: Option<&str>) -> Result<AuditQuery, ApiError> {
    let params = Params::parse(query, &AUDIT)?;
    let limits = "must be an integer from 1 to 1000";
    let limit = params
        .parsed::<u32>("limit", limits)?
        .unwrap_or(DEFAULT_AUDIT_LIMIT);
    if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
        return Err(bad("limit", limits));
    }
    let record = params.parsed::<u64>("record", "must be a positive integer id")?;
    if record == Some(0) {
        return Err(bad("record", "must be a positive integer id"));
    }
    Ok(AuditQuery {
        after: params.parsed("after", "must be a non-negative integer id")?,
        limit,
        kind: params.parsed::<RecordKind>("kind", "must be movie or actor")?,
        record,
    })
}

/// A movie search.
///
/// # Errors
/// 400 for a repeated or malformed parameter.
pub fn movie_search(query: Option<&str>) -> Result<MovieQuery, ApiError> {
    let params = Params::parse(query, &MOVIE_SEARCH)?;
    let date = "must be a date as YYYY-MM-DD, an RFC 3339 date-time or an HTTP date";
    Ok(MovieQuery {
        q: params.raw("q").map(str::to_owned),
        released_after: params.parsed("released_after", date)?,
        released_before: params.parsed("released_before", date)?,
        page: params.page()?,
    })
}

/// An actor search.
///
/// # Errors
/// 400 for a repeated or malformed parameter.
pub fn actor_search(query: Option<&str>) -> Result<ActorQuery, ApiError> {
    let params = Params::parse(query, &ACTOR_SEARCH)?;
    let gender = params.raw("gender").map(str::to_owned);
    if gender.as_deref().is_some_and(|g| g.trim().is_empty()) {
        return Err(bad("gender", "must not be empty"));
    }
    Ok(ActorQuery {
        q: params.raw("q").map(str::to_owned),
        gender,
        min_age: params.age("min_age")?,
        max_age: params.age("max_age")?,
        movie_id: params.parsed("movie_id", "must be a non-negative integer id")?,
        page: params.page()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_bad<T: std::fmt::Debug>(result: Result<T, ApiError>) -> bool {
        matches!(result, Err(ApiError::BadRequest(_)))
    }

    #[test]
    fn pages_are_read() {
        assert_eq!(page(None).unwrap(), PageRequest::default());
        assert_eq!(
            page(Some("limit=5&after=10")).unwrap(),
            PageRequest {
                limit: Some(5),
                after: Some(10)
            }
        );
        assert_eq!(page(Some("limit=1000")).unwrap().limit, Some(1000));
    }

    #[test]
    fn malformed_pages_are_400() {
        for q in [
            "limit=0",
            "limit=1001",
            "limit=abc",
            "limit=",
            "limit=-1",
            "after=-1",
            "after=x",
            "after=1.5",
            "limit=1&limit=2",
        ] {
            assert!(is_bad(page(Some(q))), "{q}");
        }
    }

    #[test]
    fn searches_are_read_and_decoded() {
        let q = actor_search(Some(
            "q=Robert%20D&gender=male&min_age=20&max_age=300&movie_id=3&limit=2",
        ))
        .unwrap();
        assert_eq!(q.q.as_deref(), Some("Robert D"));
        assert_eq!(q.gender.as_deref(), Some("male"));
        assert_eq!(
            (q.min_age, q.max_age, q.movie_id),
            (Some(20), Some(255), Some(3))
        );
        let m = movie_search(Some("q=uni+verse&released_after=2000-01-01")).unwrap();
        assert_eq!(m.q.as_deref(), Some("uni verse"));
        assert_eq!(m.released_after, Some("2000-01-01".parse().unwrap()));
    }

    #[test]
    fn malformed_search_parameters_are_400() {
        for q in [
            "min_age=x",
            "max_age=-3",
            "movie_id=abc",
            "gender=",
            "q=a&q=b",
        ] {
            assert!(is_bad(actor_search(Some(q))), "{q}");
        }
        for q in ["released_after=yesterday", "released_before=2020-13-01"] {
            assert!(is_bad(movie_search(Some(q))), "{q}");
        }
    }

    #[test]
    fn the_audit_log_is_paged_by_default_and_filtered_when_told() {
        let plain = audit(None).unwrap();
        assert_eq!(plain.limit, 100);
        assert_eq!((plain.after, plain.kind, plain.record), (None, None, None));
        let filtered = audit(Some("limit=5&after=9&kind=actor&record=3")).unwrap();
        assert_eq!(filtered.limit, 5);
        assert_eq!(filtered.after, Some(9));
        assert_eq!(filtered.kind, Some(RecordKind::Actor));
        assert_eq!(filtered.record, Some(3));
    }

    #[test]
    fn malformed_audit_parameters_are_400() {
        for bad in [
            "kind=movies",
            "kind=Actor",
            "kind=",
            "record=0",
            "record=-1",
            "record=x",
            "limit=0",
            "limit=1001",
            "after=x",
            "kind=movie&kind=actor",
        ] {
            assert!(is_bad(audit(Some(bad))), "{bad}");
        }
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        assert_eq!(page(Some("_=123&page=2&limit=3")).unwrap().limit, Some(3));
        assert!(actor_search(Some("name=x")).unwrap().q.is_none());
        assert!(movie_search(Some("gender=m")).is_ok());
    }
}
