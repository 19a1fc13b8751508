//! Clients that never finish a request: hundreds of them must not slow
//! anyone else down, and the header read timeout (10 s) must close them, so
//! that they cannot hold the server's connection slots and descriptors for
//! ever.

use std::time::{Duration, Instant};

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::helpers::{read_head, send, spawn_process_app, unpooled_client};

/// The server's header read timeout.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How late after the timeout a close may come on a busy machine.
const CLOSE_SLACK: Duration = Duration::from_secs(3);
/// Connections that trickle a request head, a byte a second.
const TRICKLING: usize = 300;
/// Connections that send nothing at all.
const SILENT: usize = 200;
/// The longest a request of another client may take meanwhile.
const PROMPT: Duration = Duration::from_millis(500);

/// Sends `head`, then a byte a second, until the server closes the
/// connection or `patience` runs out; returns how long the server kept it.
async fn trickle(
    mut stream: TcpStream,
    head: &'static [u8],
    patience: Duration,
) -> Option<Duration> {
    let opened = Instant::now();
    if stream.write_all(head).await.is_err() {
        return Some(opened.elapsed());
    }
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    let mut buf = [0_u8; 1024];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                // Closed, or an answer (a 408 would do) before the close.
                Ok(0) | Err(_) => return Some(opened.elapsed()),
                Ok(_) => {}
            },
            _ = ticks.tick() => {
                if opened.elapsed() > patience {
                    return None;
                }
                if stream.write_all(b"a").await.is_err() {
                    return Some(opened.elapsed());
                }
            }
        }
    }
}

/// Waits, reading, until the server closes `stream` or `patience` runs
/// out; returns how long that took.
async fn wait_for_close(stream: &mut TcpStream, patience: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0_u8; 1024];
    let closed = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(patience, closed)
        .await
        .ok()
        .map(|()| started.elapsed())
}

#[tokio::test]
async fn hundreds_of_idle_and_trickling_connections_do_not_delay_other_clients() {
    // Measures latency: nothing else of this suite runs meanwhile.
    let _machine = crate::alone().await;
    let app = spawn_process_app().await;
    let addr = app.server.addr;

    let mut tricklers = JoinSet::new();
    for _ in 0..TRICKLING {
        let stream = TcpStream::connect(addr).await.expect("connect a trickler");
        let head = b"GET /health HTTP/1.1\r\nHost: casting\r\nX-Slow: ";
        tricklers.spawn(trickle(stream, head, HEADER_READ_TIMEOUT * 2));
    }
    let mut silent = Vec::new();
    for _ in 0..SILENT {
        silent.push(
            TcpStream::connect(addr)
                .await
                .expect("connect a silent client"),
        );
    }
    let flooded = Instant::now();

    // Others, on connections of their own, are answered as if alone.
    let mut slowest = Duration::ZERO;
    for n in 0..60 {
        let started = Instant::now();
        let reply = if n % 6 == 5 {
            send(app.authed(Method::GET, "/movies", &app.tokens.assistant)).await
        } else {
            send(unpooled_client().get(app.url("/health"))).await
        };
        let took = started.elapsed();
        reply.ok();
        assert!(took < PROMPT, "request {n} took {took:?} during the flood");
        slowest = slowest.max(took);
    }
    let measured = flooded.elapsed();
    assert!(
        measured < HEADER_READ_TIMEOUT - Duration::from_secs(2),
        "the requests ran for {measured:?}, past the point where the flood is cut"
    );

    // The header read timeout cuts every trickler, however steadily it sends.
    let mut kept = Vec::new();
    while let Some(held) = tricklers.join_next().await {
        kept.push(held.expect("a trickler finished"));
    }
    let still_open = kept.iter().filter(|k| k.is_none()).count();
    let kept: Vec<Duration> = kept.into_iter().flatten().collect();
    let longest = kept.iter().max().copied().unwrap_or_default();
    let shortest = kept.iter().min().copied().unwrap_or_default();
    eprintln!(
        "flood: {TRICKLING} trickling and {SILENT} silent connections; 60 other requests, \
         the slowest in {slowest:?}; tricklers closed after {shortest:?} to {longest:?}"
    );
    assert_eq!(still_open, 0, "tricklers never closed by the server");
    assert!(
        shortest >= HEADER_READ_TIMEOUT - Duration::from_secs(1),
        "a trickler was closed after {shortest:?}, before the timeout"
    );
    assert!(
        longest <= HEADER_READ_TIMEOUT + CLOSE_SLACK,
        "a trickler was kept {longest:?}"
    );
    drop(silent);
}

#[tokio::test]
async fn a_keep_alive_connection_left_silent_is_closed_by_the_header_read_timeout() {
    // Light: a few requests and much waiting; it runs beside anything.
    let app = spawn_process_app().await;
    let mut stream = TcpStream::connect(app.server.addr).await.expect("connect");
    let request = format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", app.server.addr);
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send a request");
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head:?}");

    let closed = wait_for_close(&mut stream, HEADER_READ_TIMEOUT + CLOSE_SLACK).await;

    assert!(
        closed.is_some(),
        "an idle keep-alive connection outlived the header read timeout"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_by_the_header_read_timeout() {
    // Light: a few requests and much waiting; it runs beside anything.
    let app = spawn_process_app().await;
    let mut silent = TcpStream::connect(app.server.addr).await.expect("connect");
    let mut preface = TcpStream::connect(app.server.addr).await.expect("connect");
    preface
        .write_all(b"PRI * HTTP/2.0\r\n")
        .await
        .expect("send a partial preface");

    let patience = HEADER_READ_TIMEOUT + CLOSE_SLACK;
    let (silent, preface) = tokio::join!(
        wait_for_close(&mut silent, patience),
        wait_for_close(&mut preface, patience)
    );

    assert!(
        silent.is_some(),
        "a silent connection outlived {patience:?}"
    );
    assert!(
        preface.is_some(),
        "a connection stuck in the HTTP/2 preface outlived {patience:?}"
    );
}
