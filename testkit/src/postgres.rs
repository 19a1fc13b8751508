//! A database of its own for each PostgreSQL test, so tests run in
//! parallel: created through the admin URL in `CASTING_TEST_POSTGRES` and
//! dropped when the test ends; and a proxy that cuts a connection at its
//! `COMMIT`. Behind the `postgres` feature.
//!
//! Without that variable the tests return at once with a notice, except
//! under CI (`CI` set), where a test that cannot reach PostgreSQL fails:
//! `.ci/run` starts one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The admin URL, or `None` when the tests are to be skipped.
pub fn admin_url() -> Option<String> {
    required("CASTING_TEST_POSTGRES")
}

/// The value of the variable `name` that `.ci/run` sets for these tests,
/// or `None` (with a notice) when it is unset outside CI; under CI its
/// absence fails the test.
pub fn required(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{name} is not set: .ci/run starts PostgreSQL for these tests"
            );
            eprintln!("{name} is not set: skipping a PostgreSQL test");
            None
        }
    }
}

/// Runs `sql` through a connection to `url`, on a runtime of its own.
pub fn execute(url: &str, sql: &str) {
    run(url, |client| async move {
        client.batch_execute(sql).await.unwrap();
    });
}

/// Runs `work` with a client of `url`.
pub fn run<F, Fut>(url: &str, work: F)
where
    F: FnOnce(tokio_postgres::Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let driver = tokio::spawn(connection);
        work(client).await;
        driver.abort();
    });
}

/// A database that exists for one test.
pub struct TestDb {
    admin: String,
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

/// `url` with its database replaced by `dbname`.
fn with_dbname(url: &str, dbname: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let scheme_end = base.find("://").map_or(0, |at| at + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |at| scheme_end + at);
    format!("{}/{dbname}{query}", &base[..host_end])
}

impl TestDb {
    /// A new, empty database, or `None` when the tests are skipped.
    pub fn create() -> Option<TestDb> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let admin = admin_url()?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "casting_t_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        execute(&admin, &format!("CREATE DATABASE {name}"));
        let url = with_dbname(&admin, &name);
        Some(TestDb { admin, name, url })
    }

    /// How many sessions of this database are encrypted.
    pub fn encrypted_sessions(&self) -> i64 {
        let count = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let seen = std::sync::Arc::clone(&count);
        let name = self.name.clone();
        run(&self.admin, move |client| async move {
            let row = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                     WHERE a.datname = $1 AND s.ssl",
                    &[&name],
                )
                .await
                .unwrap();
            seen.store(row.get::<_, i64>(0), Ordering::SeqCst);
        });
        count.load(Ordering::SeqCst)
    }

    /// Ends every session of this database but the caller's, as an
    /// administrator would.
    pub fn terminate_sessions(&self) {
        execute(
            &self.admin,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ),
        );
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let admin = self.admin.clone();
        // Never a second panic while a failed test unwinds.
        let _ = std::panic::catch_unwind(move || execute(&admin, &sql));
    }
}

/// A TCP proxy in front of the server that, once armed, cuts the
/// connection that sends `COMMIT`: right after passing it on (the server
/// commits, the client never hears) or instead of passing it on (the
/// server rolls back). Either way the client cannot know which.
pub struct CommitCutter {
    /// The proxy's port.
    pub port: u16,
    armed: std::sync::Arc<std::sync::atomic::AtomicU8>,
}

/// Not armed.
const IDLE: u8 = 0;
/// Pass the `COMMIT` on, then cut.
pub const AFTER: u8 = 1;
/// Cut instead of passing the `COMMIT` on.
pub const BEFORE: u8 = 2;

impl CommitCutter {
    /// A proxy to `upstream` (`host:port`).
    pub fn start(upstream: String) -> CommitCutter {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::AtomicU8;

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = std::sync::Arc::new(AtomicU8::new(IDLE));
        let mode = armed.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    return;
                };
                let (mut client_in, mut server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut server_in, mut client_out) = (server, client);
                let mode = mode.clone();
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 65536];
                    loop {
                        let n = match client_in.read(&mut buffer) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let chunk = &buffer[..n];
                        let commit = chunk.windows(7).any(|w| w == b"COMMIT\0");
                        let cut = if commit {
                            mode.swap(IDLE, Ordering::SeqCst)
                        } else {
                            IDLE
                        };
                        if cut != IDLE {
                            // The client first, so that no answer reaches it.
                            let _ = client_in.shutdown(Shutdown::Both);
                        }
                        if cut != BEFORE && server_out.write_all(chunk).is_err() {
                            break;
                        }
                        if cut != IDLE {
                            // Time for the server to commit what it got.
                            std::thread::sleep(std::time::Duration::from_millis(200));
                            let _ = server_out.shutdown(Shutdown::Both);
                            break;
                        }
                    }
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut server_in, &mut client_out);
                    let _ = client_out.shutdown(Shutdown::Both);
                });
            }
        });
        CommitCutter { port, armed }
    }

    /// Cuts the next connection that sends `COMMIT`, as `mode` says.
    pub fn arm(&self, mode: u8) {
        self.armed.store(mode, Ordering::SeqCst);
    }
}

impl TestDb {
    /// The `host:port` of the server.
    pub fn address(&self) -> String {
        let start = self.url.find('@').map_or(0, |at| at + 1);
        let end = self.url[start..]
            .find('/')
            .map_or(self.url.len(), |at| start + at);
        self.url[start..end].to_owned()
    }

    /// The URL of this database through a proxy on `port`.
    pub fn url_through(&self, port: u16) -> String {
        self.url
            .replacen(&self.address(), &format!("127.0.0.1:{port}"), 1)
    }
}
