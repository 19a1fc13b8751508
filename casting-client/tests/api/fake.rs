//! A fake server that answers every request with one canned response, or
//! with what a handler makes of the request, for the answers the real server
//! never gives the SDK (a 405, a 415, a 500, a proxy's HTML, a body that is
//! not JSON, a stall, a broken connection, a 503 that passes, a token
//! endpoint), and that records the requests it got.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the fake does with each request.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// Sends these bytes, then closes the connection.
    Raw(Vec<u8>),
    /// Never answers.
    Stall,
    /// Waits (on tokio's clock, which a test may pause), then replies.
    Delayed(Duration, Box<Reply>),
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// The request line and headers.
    pub(crate) head: String,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl Seen {
    /// The path of the request line, with its query.
    pub(crate) fn path(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or_default()
    }

    /// The method of the request line.
    pub(crate) fn method(&self) -> &str {
        self.head.split(' ').next().unwrap_or_default()
    }

    /// The value of the first header called `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A response of `status` with `body` and the given extra headers.
pub(crate) fn response(status: &str, content_type: &str, headers: &[&str], body: &str) -> Reply {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.push_str(body);
    Reply::Raw(head.into_bytes())
}

/// The contract's error envelope with `status`, `code` and `message`.
pub(crate) fn envelope(status: &str, code: &str, message: &str, headers: &[&str]) -> Reply {
    let number: u16 = status[..3].parse().expect("a status number");
    let body =
        serde_json::json!({"success": false, "error": number, "message": message, "code": code});
    response(status, "application/json", headers, &body.to_string())
}

/// A fake server on `127.0.0.1:0`, stopped when dropped.
pub(crate) struct Fake {
    /// `http://127.0.0.1:PORT`
    pub(crate) url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Fake {
    /// Starts a fake answering every request with `reply`.
    pub(crate) async fn start(reply: Reply) -> Self {
        Self::serve(move |_| reply.clone()).await
    }

    /// Starts a fake answering each request with what `handler` makes of
    /// it; requests are handed to it in the order their heads arrive.
    pub(crate) async fn serve(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve_on(listener, handler)
    }

    /// As [`Fake::serve`], on a listener of the caller's.
    pub(crate) fn serve_on(
        listener: TcpListener,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&seen);
        let handler: Handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = Arc::clone(&handler);
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move {
                    let _ = answer(stream, handler, recorded).await;
                });
            }
        });
        Fake { url, seen, task }
    }

    /// The heads of the requests received so far: request line and headers.
    pub(crate) fn heads(&self) -> Vec<String> {
        self.requests().into_iter().map(|seen| seen.head).collect()
    }

    /// The requests received so far.
    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("the lock").clone()
    }

    /// How many requests were received so far.
    pub(crate) fn count(&self) -> usize {
        self.seen.lock().expect("the lock").len()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    mut stream: TcpStream,
    handler: Handler,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> std::io::Result<()> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Ok(());
        }
        received.extend_from_slice(&buffer[..n]);
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    // Reads the body too, so that closing does not reset the connection
    // before the client has read the answer.
    let mut body = received[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buffer[..n]);
    }
    let request = Seen { head, body };
    let mut reply = handler(&request);
    seen.lock().expect("the lock").push(request);
    loop {
        match reply {
            Reply::Raw(bytes) => {
                stream.write_all(&bytes).await?;
                stream.shutdown().await?;
                return Ok(());
            }
            Reply::Stall => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Ok(());
            }
            Reply::Delayed(wait, then) => {
                tokio::time::sleep(wait).await;
                reply = *then;
            }
        }
    }
}

/// A loopback address where nothing listens, and the bound socket that
/// keeps it so: while the socket lives no other test's server can take the
/// port (and this test's requests), and a bound socket that does not listen
/// refuses connections as a free port does. `listen` on it to start a
/// server there later.
pub(crate) fn refusing_address() -> (tokio::net::TcpSocket, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind an ephemeral port");
    let address = socket.local_addr().expect("its address");
    (socket, address)
}
