//! Odd paths and query strings, sent as raw bytes so no client library
//! normalises them first (`..`, `%2F`, double slashes): every one is a
//! contract error, or a 200 where it names a real record; never a 500, a
//! panic, or a connection left unusable. `errors.rs` has the plain cases
//! (`abc`, `1.5`, 0, -1, `u64::MAX` and one more, unknown and malformed
//! parameters).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, id_of, spawn_app, spawn_process_app};

/// An answer read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Asserts the error envelope with `status` and `code`.
    #[track_caller]
    fn expect_error(&self, status: u16, code: &str, what: &str) {
        assert_eq!(self.status, status, "{what}: {self:?}");
        let json = self.json();
        let keys: Vec<&String> = json
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            ["code", "error", "message", "success"],
            "{what}: {self:?}"
        );
        assert_eq!(json["success"], json!(false), "{what}: {self:?}");
        assert_eq!(json["error"], json!(status), "{what}: {self:?}");
        assert_eq!(json["code"], json!(code), "{what}: {self:?}");
        assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {self:?}"
        );
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// Reads one answer from `stream`: the head, then a `Content-Length` body.
async fn read_answer(stream: &mut TcpStream) -> Option<Raw> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let mut raw = Raw {
        status,
        head,
        body: Vec::new(),
    };
    let length: usize = raw
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    raw.body = vec![0; length];
    stream.read_exact(&mut raw.body).await.ok()?;
    Some(raw)
}

/// Sends `request` (a whole head, and body) on `stream` and reads the answer.
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> Option<Raw> {
    stream.write_all(request).await.ok()?;
    tokio::time::timeout(Duration::from_secs(20), read_answer(stream))
        .await
        .expect("an answer within 20 s")
}

/// A request head for `target`, sent as given, with `token` if any.
fn request(
    method: &str,
    target: &str,
    addr: SocketAddr,
    token: Option<&str>,
    body: Option<&Value>,
) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(&body);
    head.into_bytes()
}

/// One request on a connection of its own.
async fn raw(
    app: &TestApp,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Raw {
    let addr = app.server.addr;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    exchange(&mut stream, &request(method, target, addr, token, body))
        .await
        .unwrap_or_else(|| panic!("no answer to {method} {}", shorten(target)))
}

/// The first 80 characters of a long target, for messages.
fn shorten(target: &str) -> String {
    target.chars().take(80).collect()
}

/// A movie and an actor cast in it; their ids.
async fn one_of_each(app: &TestApp) -> (u64, u64) {
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let actor = id_of(
        &app.create_actor("Robert Downey Jr", 44, "Male", Some(movie))
            .await,
    );
    (movie, actor)
}

/// The server is still up, and logged no panic.
#[track_caller]
fn assert_no_panic(app: &TestApp) {
    let log = app.server.stderr();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}

/// Ids that name no record, each on both kinds and every method.
const NO_SUCH_ID: &[&str] = &[
    "-0",
    "+1",
    "1e0",
    "0x1",
    "1_0",
    "%2F",
    "1%2F",
    "%2F1",
    "%00",
    "1%00",
    "%201",
    "1%20",
    "%D9%A1",
    "%EF%BC%91",
    "1%3B",
    "1;x=y",
    "..",
    ".",
    "%2E%2E",
    "1000000000000000000000000000000",
    "340282366920938463463374607431768211456",
];

#[tokio::test]
async fn an_id_that_names_no_record_is_a_404_for_every_method() {
    let app = spawn_process_app().await;
    one_of_each(&app).await;
    let token = Some(app.tokens.producer.as_str());
    let patches = [
        ("movies", json!({"title": "Multiverse"})),
        ("actors", json!({"age": 45})),
    ];

    for id in NO_SUCH_ID {
        for (kind, patch) in &patches {
            let target = format!("/{kind}/{id}");
            for (method, body) in [("GET", None), ("PATCH", Some(patch)), ("DELETE", None)] {
                let reply = raw(&app, method, &target, token, body).await;
                reply.expect_error(404, "not_found", &format!("{method} {target}"));
            }
        }
    }
    // Nothing was touched.
    assert_eq!(app.movie(1).await["title"], json!("Universe"));
    assert_eq!(app.actor(1).await["age"], json!(44));
    assert_no_panic(&app);
}

#[tokio::test]
async fn an_id_spelled_otherwise_is_a_404_or_names_that_record() {
    // `%31` is `1` percent-encoded (RFC 3986 calls the two equivalent), and
    // `01` reads as 1: either may name movie 1, or be no id at all.
    let app = spawn_app().await;
    let (movie, _) = one_of_each(&app).await;
    let token = Some(app.tokens.producer.as_str());

    for id in ["%31", "01", "0001", "%30%31"] {
        let target = format!("/movies/{id}");
        let reply = raw(&app, "GET", &target, token, None).await;
        match reply.status {
            200 => assert_eq!(id_of(&reply.json()["movie"]), movie, "GET {target}"),
            _ => reply.expect_error(404, "not_found", &format!("GET {target}")),
        }
    }
}

#[tokio::test]
async fn paths_that_are_no_route_are_a_404_with_or_without_a_token() {
    let app = spawn_process_app().await;
    one_of_each(&app).await;

    for target in [
        "/movies/",
        "/actors/",
        "/movies/1/",
        "/actors/1/",
        "//movies",
        "/movies//1",
        "//movies/1",
        "/movies%2F1",
        "/movies%2f1",
        "/movies/../actors",
        "/movies/1/..",
        "/./movies",
        "/movies/./1",
        "/movies/search/",
        "/MOVIES",
        "/Movies/1",
        "/health/",
        "/movies;1",
        "*",
    ] {
        for token in [None, Some(app.tokens.producer.as_str())] {
            let reply = raw(&app, "GET", target, token, None).await;
            match target {
                // Not an origin-form target: hyper may refuse it itself.
                "*" => assert!(
                    [400, 404].contains(&reply.status),
                    "GET * answered {reply:?}"
                ),
                _ => reply.expect_error(404, "not_found", &format!("GET {target}")),
            }
        }
    }
    assert_no_panic(&app);
}

#[tokio::test]
async fn a_long_path_is_a_404_and_a_very_long_one_is_refused_by_the_http_layer() {
    let app = spawn_process_app().await;
    let token = Some(app.tokens.producer.as_str());

    // 10 KB: an id too long for any integer, and a path that is no route.
    for target in [
        format!("/movies/{}", "9".repeat(10 * 1024)),
        format!("/{}", "a".repeat(10 * 1024)),
        format!("/movies?q={}", "x".repeat(10 * 1024)),
    ] {
        let reply = raw(&app, "GET", &target, token, None).await;
        if target.starts_with("/movies?") {
            assert_eq!(reply.status, 200, "GET {}: {reply:?}", shorten(&target));
        } else {
            reply.expect_error(404, "not_found", &shorten(&target));
        }
    }

    // 100 KB: past the 64 KiB hyper takes for a request target, so it
    // answers 414 (or 431, or 400) and closes; never a 500.
    let target = format!("/movies/{}", "9".repeat(100 * 1024));
    let reply = raw(&app, "GET", &target, token, None).await;
    assert!(
        [400, 414, 431].contains(&reply.status),
        "a 100 KB path answered {reply:?}"
    );

    // The server serves on, on a new connection.
    raw(&app, "GET", "/health", None, None).await;
    let reply = raw(&app, "GET", "/movies", token, None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_no_panic(&app);
}

#[tokio::test]
async fn a_target_hyper_cannot_parse_is_a_4xx_and_the_server_serves_on() {
    let app = spawn_process_app().await;
    let addr = app.server.addr;

    for head in [
        b"GET /movies/\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /movies/1#frag HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET movies HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /movies/{id} HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /movies/1\x00 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    ] {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let answer = exchange(&mut stream, &head).await;
        let what = String::from_utf8_lossy(&head).into_owned();
        // Refused by hyper (400, no envelope), or by the router (401 for
        // an item of a known route without a token, 404); or the
        // connection is closed without an answer.
        if let Some(answer) = answer {
            assert!(
                [400, 401, 404].contains(&answer.status),
                "{what:?} answered {answer:?}"
            );
        }
    }

    let reply = raw(&app, "GET", "/health", None, None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_no_panic(&app);
}

#[tokio::test]
async fn repeated_parameters_are_a_400_and_odd_unknown_ones_are_ignored() {
    let app = spawn_process_app().await;
    one_of_each(&app).await;
    let token = Some(app.tokens.assistant.as_str());

    for target in [
        "/movies?limit=1&limit=1",
        "/actors?after=1&after=1",
        "/movies?limit=1&limit=",
        "/movies/search?q=a&q=b",
        "/actors/search?gender=Male&gender=Male",
        "/actors/search?movie_id=1&movie_id=2",
        "/movies?limit",
        "/movies?limit=1%00",
        "/movies?after=18446744073709551616",
        "/actors/search?min_age=99999999999999999999999",
    ] {
        let reply = raw(&app, "GET", target, token, None).await;
        reply.expect_error(400, "bad_request", &format!("GET {target}"));
    }

    for target in [
        "/movies?foo=1&foo=2",
        "/movies?%ZZ=1",
        "/movies?=&&&=&",
        "/movies?",
        "/movies?limit=%31",
        "/movies?LIMIT=0",
        "/movies?limit[]=5",
        "/movies/search?q=%FF%FE",
        "/movies/search?q=%00",
        "/actors/search?q=%25",
        "/movies?after=18446744073709551615",
        "/movies/1?limit=0&after=x",
    ] {
        let reply = raw(&app, "GET", target, token, None).await;
        assert_eq!(reply.status, 200, "GET {target}: {reply:?}");
    }
    assert_no_panic(&app);
}

#[tokio::test]
async fn odd_requests_leave_a_keep_alive_connection_usable() {
    let app = spawn_app().await;
    let (movie, _) = one_of_each(&app).await;
    let addr = app.server.addr;
    let token = Some(app.tokens.producer.as_str());
    let mut stream = TcpStream::connect(addr).await.expect("connect");

    let long = format!("/movies/{}", "1".repeat(10 * 1024));
    for target in [
        "/movies/%2F",
        "/movies/../actors",
        "//movies",
        "/movies?limit=1&limit=2",
        long.as_str(),
        "/movies/-1",
        "/movies/18446744073709551616",
    ] {
        let answer = exchange(&mut stream, &request("GET", target, addr, token, None))
            .await
            .unwrap_or_else(|| panic!("the connection closed after GET {}", shorten(target)));
        assert!(
            [400, 404].contains(&answer.status),
            "GET {}: {answer:?}",
            shorten(target)
        );
        let next = format!("/movies/{movie}");
        let answer = exchange(&mut stream, &request("GET", &next, addr, token, None))
            .await
            .unwrap_or_else(|| panic!("the connection closed after GET {}", shorten(target)));
        assert_eq!(
            answer.status,
            200,
            "after GET {}: {answer:?}",
            shorten(target)
        );
    }
}
