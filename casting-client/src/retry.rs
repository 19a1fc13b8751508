//! When a failed request is sent again, and after how long: the
//! [`RetryPolicy`], which requests are safe to repeat, exponential backoff
//! with full jitter, and `Retry-After`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};

/// How many times, and for how long, a request that is safe to repeat is
/// sent again after a failure that may pass.
///
/// Only requests that change nothing when repeated are retried: `GET`,
/// `HEAD`, `DELETE`, and a `PATCH` that carries `If-Match` (a second one
/// finds the record changed and answers 412 instead of applying twice). A
/// `POST` is never retried: it may have created a record before the
/// answer was lost. A `DELETE` retried after its first attempt went
/// through answers 404.
///
/// They are retried when the connection could not be made, and on 502, 503
/// and 504, which a server or proxy answers before doing anything. The wait
/// before attempt `n + 1` is a random duration between zero and
/// `initial_backoff * 2^(n - 1)`, capped at `max_backoff` ("full jitter",
/// so that many clients failing together do not come back together);
/// a `Retry-After` header (seconds or an HTTP date) replaces it. No attempt
/// starts once `max_attempts` have been made, nor when its wait would end
/// more than `max_elapsed` after the first attempt started: the last error
/// is then returned.
///
/// ```
/// use std::time::Duration;
/// use casting_client::{Client, RetryPolicy};
///
/// let client = Client::builder("http://127.0.0.1:8080")
///     .retry(
///         RetryPolicy::default()
///             .max_attempts(5)
///             .max_elapsed(Duration::from_secs(20)),
///     )
///     .build()?;
/// # Ok::<(), casting_client::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, backing off from 100 ms up to 2 s, within 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_elapsed: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub fn never() -> Self {
        RetryPolicy::default().max_attempts(1)
    }

    /// The most attempts of one request, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The ceiling of the first wait; it doubles with every attempt.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest ceiling a wait may have, however many attempts failed.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest time from the start of the first attempt to the start
    /// of the last one. The time of the last attempt itself is bounded by
    /// the client's timeout.
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// How long to wait before another attempt, after `attempts` attempts
    /// have failed and `elapsed` has passed since the first one began;
    /// `None` when the budget is spent. `retry_after` is the server's own
    /// wish, which replaces the backoff.
    pub(crate) fn delay(
        &self,
        attempts: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| self.ceiling(attempts).mul_f64(random_unit()));
        (elapsed.saturating_add(delay) <= self.max_elapsed).then_some(delay)
    }

    /// The longest backoff after `attempts` failed attempts.
    fn ceiling(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

/// Whether sending `method` with `headers` twice has the effect of sending
/// it once (see [`RetryPolicy`]).
pub(crate) fn is_repeatable(method: &Method, headers: &HeaderMap) -> bool {
    match *method {
        Method::GET | Method::HEAD | Method::DELETE => true,
        Method::PATCH => headers.contains_key(reqwest::header::IF_MATCH),
        _ => false,
    }
}

/// Whether an answer of `status` says that the request was not acted on
/// and may succeed later.
pub(crate) fn is_transient(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// The wait a `Retry-After` header asks for (RFC 9110 section 10.2.3):
/// delay-seconds, or an HTTP date, which is a wait of zero once it has
/// passed. `None` when the header is absent or unreadable.
pub(crate) fn retry_after(value: Option<&HeaderValue>, now: SystemTime) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is "a very long time".
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A uniformly distributed number in `[0, 1)`. Jitter needs no strong
/// randomness, only values that differ between clients and calls, which
/// the standard library's randomly keyed hasher gives without a crate.
fn random_unit() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0);
    // The top 53 bits fill a double's mantissa exactly.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for name in names {
            map.insert(*name, HeaderValue::from_static("\"v1\""));
        }
        map
    }

    #[test]
    fn reads_and_deletes_are_repeatable_and_posts_are_not() {
        let none = headers(&[]);
        assert!(is_repeatable(&Method::GET, &none));
        assert!(is_repeatable(&Method::HEAD, &none));
        assert!(is_repeatable(&Method::DELETE, &none));
        assert!(!is_repeatable(&Method::POST, &none));
        assert!(!is_repeatable(&Method::POST, &headers(&["if-match"])));
    }

    #[test]
    fn a_patch_is_repeatable_only_with_if_match() {
        assert!(!is_repeatable(&Method::PATCH, &headers(&[])));
        assert!(!is_repeatable(&Method::PATCH, &headers(&["if-none-match"])));
        assert!(is_repeatable(&Method::PATCH, &headers(&["if-match"])));
    }

    #[test]
    fn only_bad_gateway_unavailable_and_gateway_timeout_are_transient() {
        let transient: Vec<u16> = (100..600).filter(|s| is_transient(*s)).collect();
        assert_eq!(transient, [502, 503, 504]);
    }

    #[test]
    fn backoff_ceilings_double_up_to_the_maximum() {
        let policy = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(700));
        let ceilings: Vec<u128> = (1..=6).map(|n| policy.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 700, 700, 700]);
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_millis(700));
    }

    #[test]
    fn jittered_waits_stay_under_the_ceiling_and_vary() {
        let policy = RetryPolicy::default()
            .max_attempts(10)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_secs(10))
            .max_elapsed(Duration::from_secs(60));
        let waits: Vec<Duration> = (0..200)
            .map(|_| policy.delay(3, Duration::ZERO, None).unwrap())
            .collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(400)));
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "{} distinct waits", distinct.len());
    }

    #[test]
    fn no_attempt_follows_the_last_one() {
        let policy = RetryPolicy::default().max_attempts(3);
        assert!(policy.delay(2, Duration::ZERO, None).is_some());
        assert_eq!(policy.delay(3, Duration::ZERO, None), None);
        assert_eq!(RetryPolicy::never().delay(1, Duration::ZERO, None), None);
    }

    #[test]
    fn a_wait_that_would_end_past_the_budget_is_not_taken() {
        let policy = RetryPolicy::default()
            .max_attempts(10)
            .max_elapsed(Duration::from_secs(10));
        let wait = Some(Duration::from_secs(4));
        assert_eq!(
            policy.delay(1, Duration::from_secs(6), wait),
            Some(Duration::from_secs(4))
        );
        assert_eq!(policy.delay(1, Duration::from_secs(7), wait), None);
    }

    #[test]
    fn zero_attempts_still_means_one() {
        assert_eq!(
            RetryPolicy::default().max_attempts(0),
            RetryPolicy::default().max_attempts(1)
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let header = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(
            retry_after(Some(&header("120")), now),
            Some(Duration::from_secs(120))
        );
        // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
        assert_eq!(
            retry_after(Some(&header("Wed, 21 Oct 2015 07:28:30 GMT")), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(Some(&header("Wed, 21 Oct 2015 07:00:00 GMT")), now),
            Some(Duration::ZERO)
        );
        for bad in ["", "soon", "-5", "1.5", "Wed, 21 Oct 2015"] {
            assert_eq!(retry_after(Some(&header(bad)), now), None, "{bad:?}");
        }
        assert_eq!(retry_after(None, now), None);
    }
}
