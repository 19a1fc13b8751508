//! Retries: which requests are sent again after which failures, how long
//! the client waits (its backoff, or the server's `Retry-After`), and the
//! bounds on attempts and time. Against fakes that fail on purpose; the
//! tests that measure waits run on tokio's paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use casting_client::{Client, Error, RetryPolicy};
use tokio::time::Instant;

use crate::fake::{Fake, Reply, envelope, response};
use crate::fixtures::movie;
use crate::mock::{movie_added, one_movie};

/// An error answer of `status` with the given extra headers.
fn failure(status: &str, headers: &[&str]) -> Reply {
    envelope(status, "unavailable", "try again later", headers)
}

/// A fake answering the first `failures` requests with `fail`, the others
/// with `succeed`.
async fn failing_first(failures: usize, fail: Reply, succeed: Reply) -> Fake {
    let count = Arc::new(AtomicUsize::new(0));
    Fake::serve(move |_| {
        if count.fetch_add(1, Ordering::SeqCst) < failures {
            fail.clone()
        } else {
            succeed.clone()
        }
    })
    .await
}

/// A policy with waits short enough for tests on the real clock.
fn quick(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
}

/// A client of `fake` with `policy` and no timeout, whose timer would
/// otherwise be one more for a paused clock to jump to.
fn client(fake: &Fake, policy: RetryPolicy) -> Client {
    Client::builder(&fake.url)
        .token("t")
        .retry(policy)
        .no_timeout()
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_get_answered_503_is_sent_again_and_its_second_answer_returned() {
    let fake = failing_first(1, failure("503 Service Unavailable", &[]), one_movie()).await;

    let found = client(&fake, quick(3)).get_movie(1).await.unwrap();

    assert_eq!(found.id, 1);
    assert_eq!(fake.count(), 2);
}

#[tokio::test]
async fn a_delete_is_sent_again_after_502_503_and_504() {
    let deleted = response(
        "200 OK",
        "application/json",
        &[],
        r#"{"success": true, "deleted": 1}"#,
    );
    for status in [
        "502 Bad Gateway",
        "503 Service Unavailable",
        "504 Gateway Timeout",
    ] {
        let fake = failing_first(1, failure(status, &[]), deleted.clone()).await;

        let result = client(&fake, quick(3)).delete_movie(1).await;

        assert_eq!(result.ok(), Some(1), "{status}");
        assert_eq!(fake.count(), 2, "{status}");
    }
}

#[tokio::test]
async fn a_post_is_never_sent_again() {
    let fake = failing_first(1, failure("503 Service Unavailable", &[]), movie_added()).await;

    let error = client(&fake, quick(5))
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap_err();

    assert_eq!(error.status(), Some(503));
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn answers_that_will_not_pass_are_not_retried() {
    for status in [
        "500 Internal Server Error",
        "404 Not Found",
        "429 Too Many Requests",
    ] {
        let fake = failing_first(1, failure(status, &["Retry-After: 0"]), one_movie()).await;

        let result = client(&fake, quick(5)).get_movie(1).await;

        assert!(result.is_err(), "{status}");
        assert_eq!(fake.count(), 1, "{status}");
    }
}

#[tokio::test]
async fn the_attempts_stop_at_the_policys_maximum() {
    let fake = Fake::start(failure("503 Service Unavailable", &[])).await;

    let error = client(&fake, quick(4)).get_movie(1).await.unwrap_err();

    assert!(
        matches!(error, Error::Server { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(fake.count(), 4);
}

#[tokio::test]
async fn no_retries_sends_every_request_once() {
    let fake = Fake::start(failure("503 Service Unavailable", &[])).await;
    let client = Client::builder(&fake.url).no_retries().build().unwrap();

    client.get_movie(1).await.unwrap_err();

    assert_eq!(fake.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_in_seconds_is_waited_for() {
    let fake = failing_first(
        1,
        failure("503 Service Unavailable", &["Retry-After: 7"]),
        one_movie(),
    )
    .await;
    // A backoff far shorter than the server's wish, so only honouring the
    // header explains the wait.
    let started = Instant::now();

    client(&fake, quick(3)).get_movie(1).await.unwrap();

    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(7) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date_is_waited_for() {
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(20));
    let header = format!("Retry-After: {when}");
    let fake = failing_first(
        1,
        failure("503 Service Unavailable", &[&header]),
        one_movie(),
    )
    .await;
    let started = Instant::now();

    client(&fake, quick(3).max_elapsed(Duration::from_secs(60)))
        .get_movie(1)
        .await
        .unwrap();

    // The date has whole seconds, so the wait is a little under 20 s.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(18) && waited <= Duration::from_secs(20),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn no_attempt_starts_past_the_policys_total_time() {
    let fake = Fake::start(failure("503 Service Unavailable", &["Retry-After: 3"])).await;
    let policy = RetryPolicy::default()
        .max_attempts(100)
        .max_elapsed(Duration::from_secs(10));
    let started = Instant::now();

    client(&fake, policy).get_movie(1).await.unwrap_err();

    // Attempts at 0, 3, 6 and 9 s; one at 12 s would start too late.
    assert_eq!(fake.count(), 4);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_the_budget_returns_at_once() {
    let fake = Fake::start(failure("503 Service Unavailable", &["Retry-After: 3600"])).await;
    let started = Instant::now();

    let error = client(&fake, RetryPolicy::default())
        .get_movie(1)
        .await
        .unwrap_err();

    assert_eq!(error.status(), Some(503));
    assert_eq!(fake.count(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_get_is_retried_until_a_server_that_was_not_listening_comes_up() {
    // A port nobody listens on, for a while.
    let (socket, address) = crate::fake::refusing_address();
    let port = address.port();
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Fake::serve_on(socket.listen(1024).unwrap(), |_| one_movie())
    });
    let client = Client::builder(&format!("http://127.0.0.1:{port}"))
        .retry(
            RetryPolicy::default()
                .max_attempts(100)
                .initial_backoff(Duration::from_millis(100))
                .max_backoff(Duration::from_millis(400))
                .max_elapsed(Duration::from_secs(120)),
        )
        .no_timeout()
        .build()
        .unwrap();

    let found = client.get_movie(1).await.unwrap();

    assert_eq!(found.id, 1);
    let fake = server.await.unwrap();
    assert_eq!(fake.count(), 1);
}
