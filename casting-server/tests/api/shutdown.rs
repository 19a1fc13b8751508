//! SIGTERM and SIGINT: in-flight requests finish, the store is closed cleanly
//! and the exit status is 0.
//!
//! A request is known to be in flight when the server has answered its
//! `Expect: 100-continue` (it does so when it starts reading the body); the
//! signal comes then, and the body after it.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::helpers::{id_of, ids, read_head, spawn_process_app};

/// A POST /movies whose head is sent and answered with `100 Continue`.
async fn start_post(addr: SocketAddr, token: &str, title: &str) -> (TcpStream, String) {
    let body = json!({"title": title, "release": "2020-01-01"}).to_string();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /movies HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the head");
    let interim = read_head(&mut stream).await;
    assert!(
        interim.starts_with("HTTP/1.1 100"),
        "expected 100 Continue, got {interim:?}"
    );
    (stream, body)
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_with_200() {
    let app = spawn_process_app().await;
    let mut in_flight = Vec::new();
    for n in 0..3 {
        in_flight.push(
            start_post(
                app.server.addr,
                &app.tokens.producer,
                &format!("In flight {n}"),
            )
            .await,
        );
    }

    app.server.signal("TERM");

    for (mut stream, body) in in_flight {
        stream
            .write_all(body.as_bytes())
            .await
            .expect("send the body");
        let head = read_head(&mut stream).await;
        assert!(
            head.starts_with("HTTP/1.1 200"),
            "an in-flight request got {head:?}"
        );
    }
}

#[tokio::test]
async fn sigterm_with_requests_in_flight_still_exits_0() {
    let mut app = spawn_process_app().await;
    let (mut stream, body) = start_post(app.server.addr, &app.tokens.producer, "In flight").await;

    app.server.signal("TERM");
    stream
        .write_all(body.as_bytes())
        .await
        .expect("send the body");
    read_head(&mut stream).await;
    let status = app.server.wait_exit(Duration::from_secs(20)).await;

    assert_eq!(status.and_then(|s| s.code()), Some(0), "exit: {status:?}");
}

#[tokio::test]
async fn writes_finished_during_shutdown_are_there_after_restart() {
    let mut app = spawn_process_app().await;
    let before = id_of(&app.create_movie("Before", "2010-10-13").await);
    let (mut stream, body) = start_post(app.server.addr, &app.tokens.producer, "During").await;

    app.server.signal("TERM");
    stream
        .write_all(body.as_bytes())
        .await
        .expect("send the body");
    read_head(&mut stream).await;
    app.server.wait_exit(Duration::from_secs(20)).await;
    app.server.restart_after_exit().await;

    let list = app.get("/movies", &app.tokens.producer).await;
    let json = list.ok();
    assert_eq!(json["Total number of movies"], json!(2), "{json}");
    assert_eq!(ids(&json["movies"])[0], before);
    assert_eq!(json["movies"][1]["title"], json!("During"));
}

#[tokio::test]
async fn sigterm_exits_0() {
    let mut app = spawn_process_app().await;

    let status = app.server.terminate().await;

    assert_eq!(status.code(), Some(0), "exit: {status:?}");
}

#[tokio::test]
async fn sigint_exits_0() {
    let mut app = spawn_process_app().await;

    app.server.signal("INT");
    let status = app.server.wait_exit(Duration::from_secs(20)).await;

    assert_eq!(status.and_then(|s| s.code()), Some(0), "exit: {status:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_does_not_hold_up_shutdown() {
    let mut app = spawn_process_app().await;
    // The pooled connection stays open and idle after this.
    app.get("/movies", &app.tokens.assistant).await.ok();

    app.server.signal("TERM");
    let status = app.server.wait_exit(Duration::from_secs(10)).await;

    assert_eq!(status.and_then(|s| s.code()), Some(0), "exit: {status:?}");
}

#[tokio::test]
async fn data_written_before_sigterm_is_there_after_restart() {
    let mut app = spawn_process_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;

    app.server.restart().await;

    assert_eq!(app.movie(id_of(&movie)).await, movie);
}

#[tokio::test]
async fn after_sigterm_the_server_stops_listening() {
    let mut app = spawn_process_app().await;
    let addr = app.server.addr;

    let status = app.server.terminate().await;

    assert!(status.success());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "{addr} still accepts connections"
    );
}

#[tokio::test]
async fn after_sigterm_new_connections_are_not_served() {
    let app = spawn_process_app().await;
    let (mut stream, body) = start_post(app.server.addr, &app.tokens.producer, "In flight").await;

    app.server.signal("TERM");
    // The signal takes a moment to land: poll until a new connection fails,
    // for at most 10 s, while the request above is still in flight.
    let client = crate::helpers::unpooled_client();
    let mut served = 0;
    let mut refused = false;
    for _ in 0..40 {
        let attempt = client
            .get(app.url("/health"))
            .timeout(Duration::from_millis(250))
            .send()
            .await;
        match attempt {
            Ok(_) => served += 1,
            Err(_) => {
                refused = true;
                break;
            }
        }
    }
    stream
        .write_all(body.as_bytes())
        .await
        .expect("send the body");
    let head = read_head(&mut stream).await;

    assert!(
        refused,
        "{served} new connections were served after SIGTERM"
    );
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "the in-flight request got {head:?}"
    );
}

#[tokio::test]
async fn sigterm_exits_0_while_the_key_set_fetch_hangs() {
    let issuer = crate::mock_issuer::MockIssuer::start();
    issuer.set_mode(crate::mock_issuer::Mode::Hang);
    let mut app = crate::helpers::spawn_process_app_with(issuer, &[]).await;

    app.server.signal("TERM");
    let status = app.server.wait_exit(Duration::from_secs(10)).await;

    assert_eq!(status.and_then(|s| s.code()), Some(0), "exit: {status:?}");
}
