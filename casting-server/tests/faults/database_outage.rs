//! The PostgreSQL database out of reach: at startup the server retries for
//! its connect timeout, then exits with one line that hides the password;
//! while running it answers 503 `storage_unavailable` with nothing half
//! done, says `not ready`, and recovers by itself once the database is
//! back. The outage is real: the server reaches PostgreSQL through a TCP
//! relay that this test cuts and restores.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{Launch, client, database_in, refusing_address};

/// A TCP relay to PostgreSQL that can be cut: while cut, it closes every
/// relayed connection and every new one at once, as a database that went
/// away would.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, watching) = watch::channel(0u64);
        let live = Arc::clone(&up);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !live.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let target = target.clone();
                let mut cut = watching.clone();
                // Only a cut after this connection began ends it.
                cut.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Relay { port, up, cuts }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `host:port` and the URL of `db` through `port` instead.
fn through(url: &str, port: u16) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let hostport = authority.rsplit('@').next().unwrap_or(authority).to_owned();
    let host = hostport
        .rsplit_once(':')
        .map_or(hostport.as_str(), |(h, _)| h);
    let relayed = url.replacen(&hostport, &format!("{host}:{port}"), 1);
    (hostport, relayed)
}

async fn get(url: &str, token: &str) -> (StatusCode, Value) {
    let response = client()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("an answer");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post_movie(url: &str, token: &str, title: &str) -> (StatusCode, Value) {
    let response = client()
        .post(url)
        .bearer_auth(token)
        .json(&json!({"title": title, "release": "2010-10-13"}))
        .send()
        .await
        .expect("an answer");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_outage_is_503_with_nothing_done_and_the_server_recovers_by_itself() {
    let _machine = crate::shared().await;
    let Some(admin) = crate::cluster::admin_url("database outage") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a directory");
    let db = database_in(&admin, &dir.path().join("outage.redb"));
    let (target, _) = through(&db, 0);
    let relay = Relay::start(target).await;
    let (_, relayed) = through(&db, relay.port);

    let server = Launch::new()
        .args(["--dev", "--bind", "127.0.0.1:0", "--db", &relayed])
        .process()
        .start()
        .await;
    let token = server.printed_token("producer").expect("a token");
    let movies = server.url("/movies");
    assert_eq!(
        post_movie(&movies, &token, "Before").await.0,
        StatusCode::OK
    );

    relay.cut();
    let (status, body) = get(&movies, &token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "storage_unavailable");
    let (status, body) = post_movie(&movies, &token, "During").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "storage_unavailable");
    let (status, ready) = get(&server.url("/ready"), &token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["status"], "not ready");
    assert_ne!(ready["checks"]["store"], "ok");
    let (status, _) = get(&server.url("/health"), &token).await;
    assert_eq!(status, StatusCode::OK, "the process still answers");

    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    let listed = loop {
        let (status, body) = get(&movies, &token).await;
        if status == StatusCode::OK {
            break body;
        }
        assert!(Instant::now() < deadline, "no recovery: {status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let titles: Vec<&str> = listed["movies"]
        .as_array()
        .expect("movies")
        .iter()
        .filter_map(|m| m["title"].as_str())
        .collect();
    assert_eq!(titles, ["Before"], "the refused write left nothing behind");
    assert_eq!(post_movie(&movies, &token, "After").await.0, StatusCode::OK);
    assert_eq!(get(&server.url("/ready"), &token).await.0, StatusCode::OK);
    let (_, audit) = get(&server.url("/audit"), &token).await;
    assert_eq!(
        audit["entries"].as_array().map(Vec::len),
        Some(2),
        "{audit}"
    );
}

#[tokio::test]
async fn an_unreachable_database_at_startup_is_retried_then_refused_in_one_line_without_the_password()
 {
    // Light: a few requests and much waiting; it runs beside anything.
    let (_refusing, address) = refusing_address();
    let url = format!("postgres://casting:pa55word@{address}/casting");
    let started = Instant::now();
    let exit = Launch::new()
        .args(["--dev", "--bind", "127.0.0.1:0", "--db", &url])
        .args(["--db-connect-timeout", "2s"])
        .run_to_exit()
        .await;
    let took = started.elapsed();
    assert_eq!(exit.status.and_then(|s| s.code()), Some(1), "{exit:?}");
    assert!(took >= Duration::from_secs(2), "it gave up after {took:?}");
    assert!(took < Duration::from_secs(15), "it tried for {took:?}");
    let lines: Vec<&str> = exit
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one line: {exit:?}");
    assert!(lines[0].contains("127.0.0.1"), "{lines:?}");
    for output in [&exit.stdout, &exit.stderr] {
        assert!(
            !output.contains("pa55word"),
            "the password leaked: {output}"
        );
    }
    assert!(!exit.stdout.contains("listening on"), "{exit:?}");
}
