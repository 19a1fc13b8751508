//! Logs: a sink that fails or stops reading never touches a request; the
//! filter is checked; startup and refused tokens say what an operator needs,
//! and never a token.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use crate::helpers::{Launch, Server, Stderr, client, send, spawn_process_app_with};

/// A development server whose log is under test: a process of its own.
async fn dev_server(db: &Path, stderr: Stderr) -> Server {
    Launch::dev(db).stderr(stderr).process().start().await
}

/// Sends `count` requests, eight at a time, and fails unless every one is
/// answered within a few seconds.
async fn every_request_is_answered(server: &Server, token: &str, count: usize) {
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for worker in 0..8 {
        let url = server.url("/movies");
        let health = server.url("/health");
        let token = token.to_owned();
        tasks.spawn(async move {
            let http = client();
            for i in (worker..count).step_by(8) {
                let request = if i % 2 == 0 {
                    http.get(&health)
                } else {
                    http.get(&url).bearer_auth(&token)
                };
                let reply = tokio::time::timeout(Duration::from_secs(10), send(request))
                    .await
                    .unwrap_or_else(|_| panic!("request {i} got no answer in 10 s"));
                assert_eq!(reply.status, 200, "request {i}: {reply:?}");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a worker");
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{count} requests took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_closed_log_pipe_loses_lines_not_requests_and_shutdown_is_clean() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut server = dev_server(&dir.path().join("casting.redb"), Stderr::Closed).await;
    let token = server.printed_token("producer").expect("a producer token");

    every_request_is_answered(&server, &token, 200).await;
    let created = send(
        client()
            .post(server.url("/movies"))
            .bearer_auth(&token)
            .json(&json!({"title": "Universe", "release": "2010-10-13"})),
    )
    .await;
    created.ok();

    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test]
async fn a_log_pipe_nobody_reads_never_blocks_a_request() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut server = dev_server(&dir.path().join("casting.redb"), Stderr::Unread).await;
    let token = server
        .printed_token("assistant")
        .expect("an assistant token");

    // Each request logs a line of some 200 bytes: 3000 of them fill a
    // 64 KiB pipe many times over.
    every_request_is_answered(&server, &token, 3000).await;

    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test]
async fn a_log_file_that_refuses_writes_loses_lines_not_requests() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut server = dev_server(&dir.path().join("casting.redb"), Stderr::Full).await;
    let token = server.printed_token("producer").expect("a producer token");

    every_request_is_answered(&server, &token, 200).await;
    send(
        client()
            .post(server.url("/movies"))
            .bearer_auth(&token)
            .json(&json!({"title": "Universe", "release": "2010-10-13"})),
    )
    .await
    .ok();

    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test]
async fn a_key_set_that_cannot_be_fetched_is_logged_with_its_cause() {
    // A port nothing listens on: the fetch is refused at once.
    let (_closed, address) = crate::helpers::refusing_address();
    let issuer = crate::mock_issuer::MockIssuer::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Launch::verifying(
        &issuer,
        &format!("http://{address}/jwks.json"),
        &dir.path().join("casting.redb"),
    )
    .process()
    .start()
    .await;

    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = server.stderr();
    while !log.contains("could not fetch the key set") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = server.stderr();
    }
    let line = log
        .lines()
        .find(|line| line.contains("could not fetch the key set"))
        .unwrap_or_else(|| panic!("no fetch failure logged in {log}"));
    assert!(
        line.to_ascii_lowercase().contains("connection refused"),
        "the cause is missing: {line}"
    );
    assert!(
        !line.contains("keep serving"),
        "no key is cached, yet: {line}"
    );
}

#[tokio::test]
async fn an_invalid_rust_log_is_reported_not_replaced() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::dev(&dir.path().join("casting.redb"))
        .env("RUST_LOG", "casting=loud")
        .run_to_exit()
        .await;

    assert_eq!(exit.status.and_then(|s| s.code()), Some(2), "{exit:?}");
    assert!(exit.stderr.contains("RUST_LOG"), "{exit:?}");
    assert!(!exit.stdout.contains("listening on"), "{exit:?}");
}

#[tokio::test]
async fn startup_logs_the_configuration_in_force() {
    let app = spawn_process_app_with(crate::mock_issuer::MockIssuer::start(), &[]).await;

    let log = app.server.log_once(|log| log.contains("serving")).await;
    let line = log
        .lines()
        .find(|line| line.contains("serving"))
        .unwrap_or_else(|| panic!("no configuration line in {log}"));
    for expected in [
        app.server.addr.to_string(),
        app.issuer().issuer(),
        app.issuer().jwks_url(),
        crate::helpers::AUDIENCE.to_owned(),
        "RS256".to_owned(),
        // The database the store lives in, as --db gave it.
        if crate::helpers::over_postgres() {
            "postgres://".to_owned()
        } else {
            "casting.redb".to_owned()
        },
    ] {
        assert!(line.contains(&expected), "{expected} is not in {line}");
    }
}

#[tokio::test]
async fn a_refused_token_is_logged_with_its_reason_and_never_the_token() {
    let app = spawn_process_app_with(crate::mock_issuer::MockIssuer::start(), &[]).await;
    let mut claims = app.issuer().claims(&["get:movies"]);
    claims["aud"] = json!("https://another-api.example");
    let token = app.issuer().sign(&claims);

    let reply = send(
        app.authed(reqwest::Method::GET, "/movies", &token)
            .header("x-request-id", "refused-request"),
    )
    .await;
    reply.expect_error(401, "invalid_claims");

    // The line is written off the request's thread; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = app.server.stderr();
    while !log.contains("another-api") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = app.server.stderr();
    }
    let line = log
        .lines()
        .find(|line| line.contains("token refused"))
        .unwrap_or_else(|| panic!("no refusal logged in {log}"));
    assert!(line.contains("aud"), "{line}");
    assert!(
        line.contains("refused-request"),
        "the request id is missing: {line}"
    );
    assert!(line.contains("another-api.example"), "{line}");
    assert!(line.contains(crate::helpers::AUDIENCE), "{line}");
    let signature = token.rsplit('.').next().unwrap_or_default();
    assert!(!log.contains(signature), "the token's signature was logged");
    assert!(
        !reply.text.contains("another-api"),
        "the client was told: {reply:?}"
    );
}
