//! A fake server that answers every request with one canned response, for
//! the answers the real server never gives the SDK (a 405, a 415, a 500, a
//! proxy's HTML, a body that is not JSON, a stall, a broken connection), and
//! that records the heads of the requests it got.

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
}

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
    heads: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Fake {
    /// Starts a fake answering every request with `reply`.
    pub(crate) async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&heads);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let reply = reply.clone();
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move {
                    let _ = answer(stream, reply, recorded).await;
                });
            }
        });
        Fake { url, heads, task }
    }

    /// The heads of the requests received so far: request line and headers.
    pub(crate) fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("the lock").clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    mut stream: TcpStream,
    reply: Reply,
    heads: Arc<Mutex<Vec<String>>>,
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
    let mut body_read = received.len() - head_end;
    while body_read < length {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        body_read += n;
    }
    heads.lock().expect("the lock").push(head);
    match reply {
        Reply::Raw(bytes) => {
            stream.write_all(&bytes).await?;
            stream.shutdown().await?;
        }
        Reply::Stall => tokio::time::sleep(Duration::from_secs(3600)).await,
    }
    Ok(())
}
