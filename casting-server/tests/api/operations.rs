//! What an operator relies on: request ids, the access line, JSON logs,
//! `/ready`, and the metrics listener.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, client, send, spawn_app, spawn_app_with, spawn_dev_app_with,
    spawn_dev_process_app_with, spawn_process_app,
};
use crate::mock_issuer::{MockIssuer, Mode};

/// The server's log once it holds `needle`, within a few seconds: lines are
/// written off the request's thread.
async fn log_with(app: &TestApp, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = app.server.stderr();
        if log.contains(needle) || Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_an_odd_one_replaced() {
    let app = spawn_app().await;

    let kept = send(
        app.request(Method::GET, "/health")
            .header("x-request-id", "trace-42"),
    )
    .await;
    assert_eq!(kept.header("x-request-id"), Some("trace-42"));

    for odd in ["has space", &"x".repeat(65), ""] {
        let reply = send(
            app.request(Method::GET, "/health")
                .header("x-request-id", odd),
        )
        .await;
        let id = reply.header("x-request-id").expect("an id on every answer");
        assert_ne!(id, odd);
        assert!((1..=64).contains(&id.len()), "{id}");
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id_errors_included() {
    let app = spawn_app().await;
    let mut seen = Vec::new();
    for reply in [
        send(app.request(Method::GET, "/health")).await,
        send(app.request(Method::GET, "/movies")).await,
        send(app.request(Method::GET, "/nowhere")).await,
        send(app.authed(Method::PUT, "/movies", &app.tokens.producer)).await,
    ] {
        let id = reply
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no request id on {reply:?}"))
            .to_owned();
        assert!(!seen.contains(&id), "{id} given twice");
        seen.push(id);
    }
}

#[tokio::test]
async fn the_access_line_names_the_route_template_and_never_the_raw_path_or_token() {
    let app = spawn_process_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let path = format!("/movies/{}?secret=hunter2", movie["id"]);

    let reply = send(
        app.authed(Method::GET, &path, &app.tokens.assistant)
            .header("x-request-id", "line-under-test"),
    )
    .await;
    reply.ok();

    let log = log_with(&app, "line-under-test").await;
    let line = log
        .lines()
        .find(|line| line.contains("line-under-test") && line.contains("casting::access"))
        .unwrap_or_else(|| panic!("no access line in {log}"));
    for expected in [
        "GET",
        "/movies/{id}",
        "status=200",
        "duration_ms=",
        "127.0.0.1",
        "dev|assistant",
    ] {
        assert!(line.contains(expected), "{expected} is not in {line}");
    }
    assert!(!log.contains("hunter2"), "the query string was logged");
    let signature = app.tokens.assistant.rsplit('.').next().unwrap_or_default();
    assert!(!log.contains(signature), "the token was logged");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_request_id() {
    let app = spawn_dev_process_app_with(&["--log-format", "json"]).await;

    send(
        app.request(Method::GET, "/health")
            .header("x-request-id", "json-line"),
    )
    .await;

    let log = log_with(&app, "json-line").await;
    let access = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["target"] == "casting::access" && line.to_string().contains("json-line"))
        .unwrap_or_else(|| panic!("no JSON access line in {log}"));
    assert_eq!(access["route"], "/health");
    assert_eq!(access["status"], 200);
    assert_eq!(access["request_id"], "json-line");
    for line in log.lines().filter(|line| !line.trim().is_empty()) {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not a JSON line: {line}"
        );
    }
}

#[tokio::test]
async fn ready_is_ready_in_development_mode() {
    let app = spawn_app().await;

    let reply = app.get_anonymously("/ready").await;

    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json, json!({"status": "ready"}));
}

#[tokio::test]
async fn ready_is_503_while_no_key_set_was_ever_fetched_and_health_stays_200() {
    let issuer = MockIssuer::start();
    issuer.set_mode(Mode::Error);
    let app = spawn_app_with(issuer, &[]).await;

    let reply = app.get_anonymously("/ready").await;

    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(reply.json["status"], "not ready");
    assert_eq!(reply.json["checks"]["store"], "ok");
    assert_ne!(reply.json["checks"]["keys"], "ok");
    app.get_anonymously("/health").await.ok();
}

#[tokio::test]
async fn ready_turns_ready_once_the_key_set_is_fetched() {
    let app = spawn_app_with(MockIssuer::start(), &[]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = app.get_anonymously("/ready").await;
        if reply.status == 200 {
            assert_eq!(reply.json, json!({"status": "ready"}));
            break;
        }
        assert!(Instant::now() < deadline, "never ready: {reply:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The address of the metrics listener the server printed.
fn metrics_url(app: &TestApp) -> String {
    app.server
        .stdout
        .iter()
        .find_map(|line| line.strip_prefix("metrics on "))
        .unwrap_or_else(|| panic!("no metrics line in {:?}", app.server.stdout))
        .trim()
        .to_owned()
}

#[tokio::test]
async fn metrics_count_traffic_by_route_template_and_hold_no_token_or_raw_path() {
    let app = spawn_dev_app_with(&["--metrics-bind", "127.0.0.1:0"]).await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    app.get(
        &format!("/movies/{}?bust=secret-value", movie["id"]),
        &app.tokens.assistant,
    )
    .await
    .ok();
    app.get("/movies", &app.tokens.assistant).await.ok();
    app.get("/movies", &app.tokens.assistant).await.ok();
    app.get_anonymously("/movies").await;
    app.get_anonymously("/no/such/path/9f8e7d").await;

    let response = client()
        .get(metrics_url(&app))
        .send()
        .await
        .expect("a scrape");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.expect("the exposition");

    for expected in [
        r#"casting_http_requests_total{route="/movies/{id}",method="GET",status="200"} 1"#,
        r#"casting_http_requests_total{route="/movies",method="POST",status="200"} 1"#,
        r#"casting_http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        r#"casting_http_request_duration_seconds_count{route="/movies"} 4"#,
        r#"casting_token_verifications_total{outcome="ok"}"#,
        r#"casting_token_verifications_total{outcome="authorization_header_missing"} 1"#,
        "casting_store_commit_duration_seconds_count 1",
        "casting_store_batch_size_count 1",
        r#"casting_records{kind="movie"} 1"#,
        r#"casting_records{kind="actor"} 0"#,
        "casting_response_cache_misses_total",
        "casting_log_lines_dropped_total",
        "casting_build_info{version=",
    ] {
        assert!(text.contains(expected), "{expected} is not in\n{text}");
    }
    // Over PostgreSQL nothing is cached: another process may change the
    // data unseen, so the repeated read is a miss there.
    let hits = if crate::helpers::over_postgres() {
        "casting_response_cache_hits_total 0"
    } else {
        "casting_response_cache_hits_total 1"
    };
    assert!(text.contains(hits), "{hits} is not in\n{text}");
    for secret in ["secret-value", "9f8e7d", app.tokens.assistant.as_str()] {
        assert!(!text.contains(secret), "{secret} leaked into the metrics");
    }
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_only() {
    let app = spawn_dev_app_with(&["--metrics-bind", "127.0.0.1:0"]).await;

    app.get_anonymously("/metrics")
        .await
        .expect_error(404, "not_found");
    let elsewhere = client()
        .get(metrics_url(&app).replace("/metrics", "/other"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(elsewhere.status(), 404);
}

#[tokio::test]
async fn key_set_fetches_are_counted_by_outcome() {
    let issuer = MockIssuer::start();
    issuer.set_mode(Mode::Error);
    let app = spawn_app_with(issuer, &["--metrics-bind", "127.0.0.1:0"]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut text = String::new();
    while Instant::now() < deadline {
        text = client()
            .get(metrics_url(&app))
            .send()
            .await
            .expect("a scrape")
            .text()
            .await
            .expect("text");
        if text.contains(r#"casting_key_set_fetches_total{outcome="error"}"#) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no failed fetch counted in\n{text}");
}
