//! What the SDK sends, and what it makes of answers the real server never
//! gives it: statuses outside its routes' contract, bodies that are not the
//! contract's JSON, stalls, broken connections and nothing listening. All
//! against the fake server of `fake.rs`.

use std::time::Duration;

use casting_client::{Client, Error, NewMovie, PageRequest, TransportKind};

use crate::fake::{Fake, Reply, envelope, response};
use crate::fixtures::movie;

fn transport_kind<T: std::fmt::Debug>(result: Result<T, Error>) -> TransportKind {
    match result {
        Err(Error::Transport { kind, message, .. }) => {
            assert!(!message.is_empty());
            kind
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_405_keeps_the_allowed_methods() {
    let fake = Fake::start(envelope(
        "405 Method Not Allowed",
        "method_not_allowed",
        "method not allowed",
        &["Allow: GET, POST"],
    ))
    .await;

    let error = Client::new(&fake.url)
        .unwrap()
        .delete_movie(1)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::MethodNotAllowed { allow: Some(a), message } if a == "GET, POST" && message == "method not allowed"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_415_is_unsupported_media_type() {
    let fake = Fake::start(envelope(
        "415 Unsupported Media Type",
        "unsupported_media_type",
        "unsupported media type: send application/json",
        &[],
    ))
    .await;

    let error = Client::new(&fake.url)
        .unwrap()
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::UnsupportedMediaType { message } if message.contains("application/json")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_500_is_a_server_error_with_the_servers_message() {
    let fake = Fake::start(envelope(
        "500 Internal Server Error",
        "internal_error",
        "internal server error",
        &[],
    ))
    .await;

    let error = Client::new(&fake.url)
        .unwrap()
        .get_actor(1)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::Server { status: 500, message } if message == "internal server error"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_proxys_html_error_page_maps_by_its_status() {
    let fake = Fake::start(response(
        "502 Bad Gateway",
        "text/html",
        &[],
        "<html><body>upstream down</body></html>",
    ))
    .await;

    let error = Client::new(&fake.url)
        .unwrap()
        .list_movies(PageRequest::default())
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::Server { status: 502, message } if message.contains("upstream down")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_status_outside_the_contract_is_unexpected_and_keeps_its_code() {
    let fake = Fake::start(envelope(
        "408 Request Timeout",
        "request_timeout",
        "request timeout: the body was not received in time",
        &[],
    ))
    .await;

    let error = Client::new(&fake.url)
        .unwrap()
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::UnexpectedStatus { status: 408, code: Some(c), .. } if c == "request_timeout"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_success_whose_body_is_not_json_is_a_decode_error() {
    let fake = Fake::start(response("200 OK", "text/plain", &[], "hello")).await;

    let result = Client::new(&fake.url).unwrap().get_movie(1).await;

    assert_eq!(transport_kind(result), TransportKind::Decode);
}

#[tokio::test]
async fn a_success_of_the_wrong_shape_is_a_decode_error() {
    let fake = Fake::start(response(
        "200 OK",
        "application/json",
        &[],
        r#"{"success": true, "movies": [{"id": "one"}]}"#,
    ))
    .await;

    let result = Client::new(&fake.url)
        .unwrap()
        .list_movies(PageRequest::default())
        .await;

    assert_eq!(transport_kind(result), TransportKind::Decode);
}

#[tokio::test]
async fn a_body_cut_short_is_a_transport_error() {
    let fake = Fake::start(Reply::Raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"success\": tr"
            .to_vec(),
    ))
    .await;

    let result = Client::new(&fake.url).unwrap().health().await;

    assert_eq!(transport_kind(result), TransportKind::Body);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let fake = Fake::start(Reply::Stall).await;
    let client = Client::builder(&fake.url)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let result = tokio::time::timeout(Duration::from_secs(10), client.health())
        .await
        .expect("the client's own timeout fires first");

    assert_eq!(transport_kind(result), TransportKind::Timeout);
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let (_closed, address) = crate::fake::refusing_address();
    let url = format!("http://{address}");

    let result = Client::new(&url).unwrap().health().await;

    assert_eq!(transport_kind(result), TransportKind::Connect);
}

#[tokio::test]
async fn requests_carry_the_token_user_agent_and_json_body() {
    let fake = Fake::start(envelope(
        "404 Not Found",
        "not_found",
        "resource not found",
        &[],
    ))
    .await;
    let client = Client::builder(&fake.url)
        .token("abc.def.ghi")
        .user_agent("casting-tests/1")
        .build()
        .unwrap();

    let _ = client
        .create_movie(&NewMovie {
            title: "Universe".into(),
            release: "2010-10-13".parse().unwrap(),
        })
        .await;

    let heads = fake.heads();
    let head = heads[0].to_ascii_lowercase();
    assert!(head.starts_with("post /movies http/1.1\r\n"), "{head}");
    assert!(
        head.contains("authorization: bearer abc.def.ghi\r\n"),
        "{head}"
    );
    assert!(head.contains("user-agent: casting-tests/1\r\n"), "{head}");
    assert!(
        head.contains("content-type: application/json\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn a_custom_http_client_and_a_path_prefix_are_used() {
    let fake = Fake::start(response(
        "200 OK",
        "application/json",
        &[],
        r#"{"status":"ok"}"#,
    ))
    .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-tenant", "blue".parse().unwrap());
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let client = Client::builder(&format!("{}/api/v1/", fake.url))
        .http_client(http)
        .build()
        .unwrap();

    assert!(client.health().await.unwrap().is_ok());

    let head = fake.heads()[0].to_ascii_lowercase();
    assert!(
        head.starts_with("get /api/v1/health http/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains("x-tenant: blue\r\n"), "{head}");
    assert!(head.contains("user-agent: casting-client/"), "{head}");
}
