//! The harness: starts the server, reads the address and the development
//! tokens it prints, and sends requests that come back as a [`Reply`] with
//! the status, the headers and the body parsed as JSON.
//!
//! A server runs inside the test process, built from the same command line
//! as the binary would be ([`casting_server::Application`]), unless the
//! process itself is under test: its log, its signals, its exit, or a
//! variable of its environment. [`Launch::process`] asks for the real
//! binary; so do a working directory, variables, or a standard error set
//! up to fail.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::issuer::MockIssuer;

/// The binary under test: `casting-server`, which cargo builds for the
/// package's integration tests and puts beside their `deps/` directory
/// (`CARGO_BIN_EXE_casting-server` is seen only by the test crate itself).
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test's own path");
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .expect("a test binary in <target>/<profile>/deps/");
        profile.join("casting-server")
    })
}

/// The audience the mock issuer's tokens are issued for.
pub const AUDIENCE: &str = "test-api";

/// The variable that runs this suite against PostgreSQL: the URL of a
/// database through which the harness creates one database per test
/// store. Unset, every store is a redb file.
pub const POSTGRES_ADMIN: &str = "CASTING_TEST_API_POSTGRES";

/// Whether the suite runs against PostgreSQL.
pub fn over_postgres() -> bool {
    std::env::var_os(POSTGRES_ADMIN).is_some()
}

/// For a test of what only the embedded redb file has (its file on disk,
/// snapshots, the key file beside it): whether to skip it, because the
/// suite runs against PostgreSQL. Says so on standard error.
pub fn embedded_only(test: &str) -> bool {
    let skip = over_postgres();
    if skip {
        eprintln!("{test}: a test of the redb file, not run against PostgreSQL");
    }
    skip
}

/// The `--db` a test store at `path` is given: the path itself, or, when
/// the suite runs against PostgreSQL, the URL of a database named after
/// the path (created when missing), so that a restarted server finds its
/// data again just as it would in the file.
pub fn database_for(path: &Path) -> OsString {
    match std::env::var(POSTGRES_ADMIN) {
        Ok(admin) => database_in(&admin, path).into(),
        Err(_) => path.into(),
    }
}

/// The URL of a database of the cluster at `admin`, named after `path`,
/// created when missing.
pub fn database_in(admin: &str, path: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut hasher);
    let name = format!("casting_api_{:016x}", hasher.finish());
    create_database(admin, &name);
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin, String::new()),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    format!("{server}/{name}{query}")
}

/// Creates the database `name` through `admin` unless it exists, on a
/// thread of its own (a test's runtime must not be blocked into).
fn create_database(admin: &str, name: &str) {
    let (admin, name) = (admin.to_owned(), name.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("{POSTGRES_ADMIN}: {e}"));
            tokio::spawn(connection);
            let exists = client
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
                .await
                .expect("pg_database");
            if exists.is_none() {
                // Two tests never share a path, so no one else creates it.
                client
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("CREATE DATABASE");
            }
        });
    })
    .join()
    .expect("the database was created");
}

/// How long a server may take to print `listening on`, or to exit when told.
const PATIENCE: Duration = Duration::from_secs(20);

/// Every variable the server reads, its proxies included (taken from its
/// flags' definition): removed from each child so a developer's shell
/// cannot leak in.
pub fn server_env() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(casting_server::config::variables)
}

/// Whether this process's environment holds none of [`server_env`], so a
/// server built inside it reads the same settings as a child cleared of
/// them.
fn clean_environment() -> bool {
    static CLEAN: OnceLock<bool> = OnceLock::new();
    *CLEAN.get_or_init(|| {
        server_env()
            .iter()
            .all(|name| std::env::var_os(name).is_none())
    })
}

/// The permissions of the built-in roles, as docs/auth0.md lists them.
pub const ASSISTANT: &[&str] = &["get:actors", "get:movies", "search:actors", "search:movies"];
/// The permissions of a casting director.
pub const DIRECTOR: &[&str] = &[
    "get:actors",
    "get:movies",
    "search:actors",
    "search:movies",
    "post:actors",
    "patch:actors",
    "patch:movies",
    "delete:actors",
];
/// The permissions of an executive producer: every one.
pub const PRODUCER: &[&str] = &[
    "get:actors",
    "get:movies",
    "search:actors",
    "search:movies",
    "post:actors",
    "patch:actors",
    "patch:movies",
    "delete:actors",
    "post:movies",
    "delete:movies",
    "read:audit",
];

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_secs()).expect("seconds fit an i64")
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// A loopback address where nothing listens, and the bound socket that
/// keeps it so. Unlike a [`free_port`], no other test's server can take the
/// port while the socket lives (and answer what was meant to be refused):
/// a bound socket that does not listen refuses connections as a free port
/// does.
pub fn refusing_address() -> (tokio::net::TcpSocket, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind an ephemeral port");
    let address = socket.local_addr().expect("its address");
    (socket, address)
}

/// The JSON of one dot-separated part of a JWT (0: header, 1: claims).
pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token
        .split('.')
        .nth(index)
        .unwrap_or_else(|| panic!("token {token:?} has no part {index}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_else(|e| panic!("part {index} of {token:?} is not base64url: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("part {index} is not JSON: {e}"))
}

/// What becomes of the server's standard error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Stderr {
    /// Read to its end, kept for [`Server::stderr`].
    #[default]
    Read,
    /// A pipe whose reading end is closed at once, as when a log collector dies.
    Closed,
    /// A pipe nobody reads: it fills, and then every write blocks.
    Unread,
    /// `/dev/full`: every write fails, as on a full disk.
    Full,
}

/// How to run the binary: arguments, variables and working directory.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    args: Vec<OsString>,
    envs: Vec<(String, String)>,
    cwd: Option<PathBuf>,
    stderr: Stderr,
    process: bool,
}

impl Launch {
    /// No arguments, no variables: the binary's defaults.
    pub fn new() -> Self {
        Launch::default()
    }

    /// Development mode on `127.0.0.1:0` with the database `db`.
    pub fn dev(db: &Path) -> Self {
        Launch::new()
            .args(["--dev", "--bind", "127.0.0.1:0", "--db"])
            .arg(database_for(db))
    }

    /// Verifying tokens of `issuer` for [`AUDIENCE`] with the key set at
    /// `jwks_url`, on `127.0.0.1:0` with the database `db`.
    pub fn verifying(issuer: &MockIssuer, jwks_url: &str, db: &Path) -> Self {
        Launch::new()
            .args(["--bind", "127.0.0.1:0", "--db"])
            .arg(database_for(db))
            .args(["--issuer", &issuer.issuer()])
            .args(["--jwks-url", jwks_url])
            .args(["--audience", AUDIENCE])
    }

    /// One more argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// More arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// A variable of the server's environment (which makes it a process).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.envs.push((key.to_owned(), value.into()));
        self
    }

    /// The working directory (which makes it a process).
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_owned());
        self
    }

    /// What becomes of standard error (anything but read makes it a process).
    pub fn stderr(mut self, stderr: Stderr) -> Self {
        self.stderr = stderr;
        self
    }

    /// Runs the real binary as a child process: for a test of the process
    /// itself (its log, signals, exit status).
    pub fn process(mut self) -> Self {
        self.process = true;
        self
    }

    /// Whether the server can run inside the test process: nothing asks
    /// for the process, and nothing of its environment differs from ours.
    fn in_process(&self) -> bool {
        !self.process
            && self.envs.is_empty()
            && self.cwd.is_none()
            && self.stderr == Stderr::Read
            && clean_environment()
    }

    /// Builds the server inside the test process and serves it on a
    /// runtime of its own, on a thread of its own, as `main` would: the
    /// test's runtime stays the client's, and stopping the server (or
    /// dropping it) waits for it to let its store go, as a process's exit
    /// would.
    async fn start_in_process(&self) -> Result<Server, String> {
        use clap::Parser as _;
        let argv = std::iter::once(OsString::from("casting-server")).chain(self.args.clone());
        let cli = casting_server::config::Cli::try_parse_from(argv)
            .map_err(|e| format!("args {:?}: {e}", self.args))?;
        assert!(
            cli.command.is_none(),
            "a subcommand runs as a process: use run_to_exit"
        );
        let settings =
            casting_server::config::Settings::resolve(&cli.serve, cli.db, cli.db_connect_timeout)
                .map_err(|e| format!("args {:?}: {e}", self.args))?;
        let (started, start) = tokio::sync::oneshot::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (kill, killed) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("casting-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async move {
                    let application = match casting_server::Application::build(settings).await {
                        Ok(application) => application,
                        Err(error) => {
                            let _ = started.send(Err(error.to_string()));
                            return Ok(());
                        }
                    };
                    let addr = application.addr().map_err(|e| e.to_string())?;
                    let banner = application.banner().to_owned();
                    if started.send(Ok((addr, banner))).is_err() {
                        return Ok(());
                    }
                    let run = application.run_until_stopped(async {
                        let _ = stopped.await;
                    });
                    tokio::select! {
                        result = run => result.map_err(|e| e.to_string()),
                        // Killed: the runtime, dropped as the thread ends,
                        // drops every connection as a killed process would.
                        _ = killed => Ok(()),
                    }
                })
            })
            .expect("spawn the server's thread");
        let (addr, banner) = match start.await {
            Ok(Ok(started)) => started,
            Ok(Err(error)) => return Err(format!("args {:?}: {error}", self.args)),
            Err(_) => {
                let failure = match thread.join() {
                    Ok(Err(error)) => error,
                    Ok(Ok(())) => "it stopped before it started".to_owned(),
                    Err(_) => "its thread panicked".to_owned(),
                };
                return Err(format!("args {:?}: {failure}", self.args));
            }
        };
        Ok(Server {
            running: Running::Thread {
                stop: Mutex::new(Some(stop)),
                kill: Some(kill),
                thread: Some(thread),
            },
            addr: connectable(&addr.to_string()),
            stdout: banner.lines().map(str::to_owned).collect(),
            launch: self.clone(),
        })
    }

    fn command(&self) -> Command {
        let mut command = Command::new(binary());
        for key in server_env() {
            command.env_remove(key);
        }
        command
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(match self.stderr {
                Stderr::Full => std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .map(Stdio::from)
                    .expect("open /dev/full"),
                _ => Stdio::piped(),
            });
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command
    }

    /// Starts the server and waits for its `listening on` line.
    ///
    /// Panics with what it printed when it exits or stays silent instead.
    pub async fn start(&self) -> Server {
        match self.try_start().await {
            Ok(server) => server,
            Err(failure) => panic!("{failure}"),
        }
    }

    /// Starts the server and waits for its `listening on` line, or says
    /// what it printed when it exits or stays silent instead.
    pub async fn try_start(&self) -> Result<Server, String> {
        if self.in_process() {
            return self.start_in_process().await;
        }
        let mut child = self
            .command()
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
        let pipe = child.stderr.take();
        let (stderr, unread) = match (self.stderr, pipe) {
            (Stderr::Read, Some(pipe)) => (drain(pipe), None),
            (Stderr::Unread, pipe) => (Arc::default(), pipe),
            _ => (Arc::default(), None),
        };
        let (tx, mut lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            // Keeps reading after the harness stops listening, so the server
            // never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut server = Server {
            running: Running::Process {
                child,
                stderr,
                _unread: unread,
            },
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stdout: Vec::new(),
            launch: self.clone(),
        };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, lines.recv()).await {
                Ok(Some(line)) => {
                    if let Some(addr) = line.strip_prefix("listening on http://") {
                        server.addr = connectable(addr.trim());
                        server.stdout.push(line);
                        return Ok(server);
                    }
                    server.stdout.push(line);
                }
                Ok(None) => {
                    let status = server.wait_exit(Duration::from_secs(5)).await;
                    return Err(format!(
                        "the server exited ({status:?}) without printing `listening on`\n\
                         args: {:?}\nstdout: {:#?}\nstderr: {}",
                        self.args,
                        server.stdout,
                        server.stderr()
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "no `listening on` line within {PATIENCE:?}\nargs: {:?}\nstdout: {:#?}\nstderr: {}",
                        self.args,
                        server.stdout,
                        server.stderr()
                    ));
                }
            }
        }
    }

    /// Runs the binary to its end (killing it after [`PATIENCE`]) and
    /// returns what it printed.
    pub async fn run_to_exit(&self) -> Exit {
        let mut child = self
            .command()
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        let status = wait_child(&mut child, PATIENCE).await;
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The pipes close with the process; give the readers a moment to
        // take the last bytes.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Arc::strong_count(&stdout) + Arc::strong_count(&stderr) > 2
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let take = |text: &Arc<Mutex<String>>| text.lock().expect("not poisoned").clone();
        Exit {
            status,
            stdout: take(&stdout),
            stderr: take(&stderr),
        }
    }
}

/// What a finished run printed; `status` is `None` when it had to be killed.
#[derive(Debug)]
pub struct Exit {
    /// The exit status.
    pub status: Option<ExitStatus>,
    /// All it printed on standard output.
    pub stdout: String,
    /// All it printed on standard error.
    pub stderr: String,
}

/// Reads a pipe to its end on a thread; the `Arc` is shared with that thread
/// until then.
fn drain(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let shared = Arc::clone(&text);
    std::thread::spawn(move || {
        let mut buf = [0_u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            shared
                .lock()
                .expect("not poisoned")
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

/// Polls the child until it exits or `patience` runs out.
async fn wait_child(child: &mut Child, patience: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + patience;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The address printed, made connectable: `0.0.0.0` becomes `127.0.0.1`.
fn connectable(printed: &str) -> SocketAddr {
    let addr: SocketAddr = printed
        .parse()
        .unwrap_or_else(|e| panic!("`listening on http://{printed}` is not an address: {e}"));
    if addr.ip().is_unspecified() {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, addr.port()))
    } else {
        addr
    }
}

/// How a server under test runs.
enum Running {
    /// The binary, as a child process.
    Process {
        child: Child,
        /// Its standard error, as read so far.
        stderr: Arc<Mutex<String>>,
        /// Standard error held open and never read, for [`Stderr::Unread`].
        _unread: Option<std::process::ChildStderr>,
    },
    /// Inside the test process, on a runtime and a thread of its own.
    Thread {
        /// Sent, or dropped, to stop it as SIGTERM would.
        stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
        /// Sent, or dropped, to stop it at once as SIGKILL would.
        kill: Option<tokio::sync::oneshot::Sender<()>>,
        /// The server's thread; its result is the run's.
        thread: Option<std::thread::JoinHandle<Result<(), String>>>,
    },
}

/// A running server, killed when dropped.
pub struct Server {
    running: Running,
    /// Where to connect.
    pub addr: SocketAddr,
    /// The lines printed on standard output up to `listening on`, included.
    pub stdout: Vec<String>,
    launch: Launch,
}

/// Why a test of a server inside the test process cannot do what it asks.
const NEEDS_PROCESS: &str = "this server runs inside the test process; a test of its log, signals or process starts it with Launch::process()";

impl Server {
    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The child process; panics for a server inside the test process.
    fn child(&self) -> &Child {
        match &self.running {
            Running::Process { child, .. } => child,
            Running::Thread { .. } => panic!("{NEEDS_PROCESS}"),
        }
    }

    /// What the server logged so far.
    pub fn stderr(&self) -> String {
        match &self.running {
            Running::Process { stderr, .. } => stderr.lock().expect("not poisoned").clone(),
            Running::Thread { .. } => panic!("{NEEDS_PROCESS}"),
        }
    }

    /// What the server logged, once `found` holds of it or after a few
    /// seconds: the server writes its log a few milliseconds after the
    /// lines are made, so a line may follow the event it reports.
    pub async fn log_once(&self, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.stderr();
            if found(&log) || Instant::now() > deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process id.
    #[allow(dead_code)] // used by tests/faults
    pub fn pid(&self) -> u32 {
        self.child().id()
    }

    /// The development token printed for `role`.
    pub fn printed_token(&self, role: &str) -> Option<String> {
        let prefix = format!("token for {role}: ");
        self.stdout
            .iter()
            .find_map(|line| line.strip_prefix(&prefix))
            .map(|token| token.trim().to_owned())
    }

    /// Sends a signal (`TERM`, `INT`) with the `kill` command. A server
    /// inside the test process takes `TERM` and `INT` as its stop.
    pub fn signal(&self, name: &str) {
        if let Running::Thread { stop, .. } = &self.running {
            assert!(matches!(name, "TERM" | "INT"), "SIG{name}: {NEEDS_PROCESS}");
            if let Some(stop) = stop.lock().expect("not poisoned").take() {
                let _ = stop.send(());
            }
            return;
        }
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child().id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process (or the task) to exit.
    pub async fn wait_exit(&mut self, patience: Duration) -> Option<ExitStatus> {
        match &mut self.running {
            Running::Process { child, .. } => wait_child(child, patience).await,
            Running::Thread { thread, .. } => {
                use std::os::unix::process::ExitStatusExt as _;
                let deadline = Instant::now() + patience;
                while !thread.as_ref()?.is_finished() {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let code = match thread.take()?.join() {
                    Ok(Ok(())) => 0,
                    Ok(Err(error)) => {
                        eprintln!("the server stopped with an error: {error}");
                        1
                    }
                    Err(_) => 101,
                };
                Some(ExitStatus::from_raw(code << 8))
            }
        }
    }

    /// SIGTERM, then the exit status; panics when it does not exit in time.
    pub async fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        match self.wait_exit(PATIENCE).await {
            Some(status) => status,
            None => panic!("the server did not exit within {PATIENCE:?} of SIGTERM"),
        }
    }

    /// Stops it gracefully and starts it again with the same settings.
    pub async fn restart(&mut self) {
        let status = self.terminate().await;
        assert!(
            status.success(),
            "the server exited with {status} on SIGTERM"
        );
        self.restart_after_exit().await;
    }

    /// Starts it again with the same settings, once it has exited.
    pub async fn restart_after_exit(&mut self) {
        let next = self.launch.start().await;
        *self = next;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.running {
            Running::Process { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
            // Stopped at once, as a killed process, and waited for, so that
            // its store is free once it is gone. Not gracefully: a graceful
            // stop would wait on clients of this very thread.
            Running::Thread { kill, thread, .. } => {
                drop(kill.take());
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// A token for each built-in role.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// A casting assistant's.
    pub assistant: String,
    /// A casting director's.
    pub director: String,
    /// An executive producer's.
    pub producer: String,
}

/// A server with a client and tokens; fields drop in order, so the server
/// stops before its directory goes.
pub struct TestApp {
    /// The server.
    pub server: Server,
    /// A client of it.
    pub client: Client,
    /// A token per role.
    pub tokens: Tokens,
    /// The issuer whose tokens it verifies, unless in development mode.
    pub issuer: Option<MockIssuer>,
    /// The directory of its database; goes with the app.
    pub dir: TempDir,
}

/// A client that goes straight to the server: no proxy, no redirects, and
/// no certificate roots, which it never needs over plain HTTP and which
/// cost more to load than a test's requests.
pub fn client() -> Client {
    Client::builder()
        .no_proxy()
        .tls_certs_only([])
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("build a reqwest client")
}

/// A client that opens a new connection for every request, so that one
/// request's fate on a connection cannot touch the next.
pub fn unpooled_client() -> Client {
    Client::builder()
        .no_proxy()
        .tls_certs_only([])
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .expect("build a reqwest client")
}

/// A development-mode server with a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_dev_app_with(&[]).await
}

/// A development-mode server with a fresh database and more arguments.
pub async fn spawn_dev_app_with(extra: &[&str]) -> TestApp {
    dev_app(|launch| launch.args(extra)).await
}

/// A development-mode server with a fresh database, as a process of its
/// own: for a test of its log, signals or exit.
pub async fn spawn_process_app() -> TestApp {
    spawn_dev_process_app_with(&[]).await
}

/// [`spawn_process_app`] with more arguments.
pub async fn spawn_dev_process_app_with(extra: &[&str]) -> TestApp {
    dev_app(|launch| launch.args(extra).process()).await
}

/// A development-mode server with a fresh database that makes its own
/// key, as a first start does: for a test of that key.
pub async fn spawn_app_making_its_key() -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Launch::dev(&dir.path().join("casting.redb")).start().await;
    dev_test_app(server, dir)
}

/// A development key made once for the whole suite: making an RSA key
/// costs more CPU than the rest of a test, and a fresh database with a
/// key already beside it is what a server finds on its second start.
fn shared_dev_key() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| casting_server::auth::dev::DevIssuer::generate_pem().expect("an RSA key"))
}

/// A development-mode server with a fresh database, started as `launch`
/// makes it of the default launch. Its key is [`shared_dev_key`], placed
/// beside the redb file (over PostgreSQL, the server makes its own).
async fn dev_app(launch: impl FnOnce(Launch) -> Launch) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("casting.redb");
    if !over_postgres() {
        std::fs::write(casting_server::auth::dev::key_path(&db), shared_dev_key())
            .expect("write the development key");
    }
    let server = launch(Launch::dev(&db)).start().await;
    dev_test_app(server, dir)
}

/// The app of a development-mode `server` whose database is in `dir`.
fn dev_test_app(server: Server, dir: TempDir) -> TestApp {
    let tokens = dev_tokens(&server);
    TestApp {
        server,
        client: client(),
        tokens,
        issuer: None,
        dir,
    }
}

fn dev_tokens(server: &Server) -> Tokens {
    let token = |role: &str| {
        server.printed_token(role).unwrap_or_else(|| {
            panic!(
                "no `token for {role}:` line before `listening on`: {:#?}",
                server.stdout
            )
        })
    };
    Tokens {
        assistant: token("assistant"),
        director: token("director"),
        producer: token("producer"),
    }
}

/// A server verifying the tokens of a fresh mock issuer.
pub async fn spawn_app_with_issuer() -> TestApp {
    spawn_app_with(MockIssuer::start(), &[]).await
}

/// A server verifying the tokens of `issuer`, with more arguments.
pub async fn spawn_app_with(issuer: MockIssuer, extra: &[&str]) -> TestApp {
    let jwks_url = issuer.jwks_url();
    spawn_app_with_jwks_url(issuer, &jwks_url, extra).await
}

/// A server verifying the tokens of `issuer` with the key set at
/// `jwks_url`, with more arguments.
pub async fn spawn_app_with_jwks_url(
    issuer: MockIssuer,
    jwks_url: &str,
    extra: &[&str],
) -> TestApp {
    verifying_app(issuer, jwks_url, |launch| launch.args(extra)).await
}

/// A server verifying the tokens of `issuer`, with more arguments, as a
/// process of its own: for a test of its log, signals or exit.
pub async fn spawn_process_app_with(issuer: MockIssuer, extra: &[&str]) -> TestApp {
    let jwks_url = issuer.jwks_url();
    verifying_app(issuer, &jwks_url, |launch| launch.args(extra).process()).await
}

/// A server verifying the tokens of `issuer` with the key set at
/// `jwks_url`, started as `launch` makes it of the default launch.
async fn verifying_app(
    issuer: MockIssuer,
    jwks_url: &str,
    launch: impl FnOnce(Launch) -> Launch,
) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = launch(Launch::verifying(
        &issuer,
        jwks_url,
        &dir.path().join("casting.redb"),
    ))
    .start()
    .await;
    let tokens = Tokens {
        assistant: issuer.token(ASSISTANT),
        director: issuer.token(DIRECTOR),
        producer: issuer.token(PRODUCER),
    };
    TestApp {
        server,
        client: client(),
        tokens,
        issuer: Some(issuer),
        dir,
    }
}

impl TestApp {
    /// The URL of `path` on the server.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// The mock issuer of a server started with one.
    pub fn issuer(&self) -> &MockIssuer {
        self.issuer
            .as_ref()
            .expect("this app was started with a mock issuer")
    }

    /// A request without credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request with `Authorization: Bearer <token>`.
    pub fn authed(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// `GET path` with `token`.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        send(self.authed(Method::GET, path, token)).await
    }

    /// `GET path` without credentials.
    pub async fn get_anonymously(&self, path: &str) -> Reply {
        send(self.request(Method::GET, path)).await
    }

    /// `POST path` with `token` and a JSON `body`.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        send(self.authed(Method::POST, path, token).json(body)).await
    }

    /// `PATCH path` with `token` and a JSON `body`.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Reply {
        send(self.authed(Method::PATCH, path, token).json(body)).await
    }

    /// `DELETE path` with `token`.
    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        send(self.authed(Method::DELETE, path, token)).await
    }

    /// Creates a movie as the producer and returns it.
    pub async fn create_movie(&self, title: &str, release: &str) -> Value {
        let body = json!({"title": title, "release": release});
        let reply = self.post("/movies", &self.tokens.producer, &body).await;
        reply.ok()["movie added"].clone()
    }

    /// Creates an actor as the producer and returns it.
    pub async fn create_actor(
        &self,
        name: &str,
        age: u64,
        gender: &str,
        movie_id: Option<u64>,
    ) -> Value {
        let body = json!({"name": name, "age": age, "gender": gender, "movie_id": movie_id});
        let reply = self.post("/actors", &self.tokens.producer, &body).await;
        reply.ok()["actor added"].clone()
    }

    /// Reads a movie back as the producer.
    pub async fn movie(&self, id: u64) -> Value {
        let reply = self
            .get(&format!("/movies/{id}"), &self.tokens.producer)
            .await;
        reply.ok()["movie"].clone()
    }

    /// Reads an actor back as the producer.
    pub async fn actor(&self, id: u64) -> Value {
        let reply = self
            .get(&format!("/actors/{id}"), &self.tokens.producer)
            .await;
        reply.ok()["actor"].clone()
    }
}

/// The `id` of a record.
pub fn id_of(record: &Value) -> u64 {
    record["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no positive integer id in {record}"))
}

/// The ids of a list of records.
pub fn ids(records: &Value) -> Vec<u64> {
    records
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {records}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Sends a request; a transport error fails the test.
pub async fn send(request: RequestBuilder) -> Reply {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("the request failed: {e:?}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading the body failed: {e:?}"));
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// A response, read whole.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON, or null when it is not JSON.
    pub json: Value,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {:?} {}", self.status, self.headers, self.text)
    }
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "expected HTTP {status}, got {self:?}");
        &self.json
    }

    /// Asserts a 200 and returns the JSON body.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        self.expect_status(200)
    }

    /// Asserts the error envelope of docs/api.md, exactly
    /// `{"success": false, "error": status, "message": str, "code": code}`,
    /// and returns the message.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &str {
        assert_eq!(
            self.status, status,
            "expected HTTP {status} {code}, got {self:?}"
        );
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "an error is JSON, but its content type is {content_type:?}: {self:?}"
        );
        let object = self
            .json
            .as_object()
            .unwrap_or_else(|| panic!("the error body is not a JSON object: {self:?}"));
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["code", "error", "message", "success"],
            "the error envelope has other keys: {self:?}"
        );
        assert_eq!(self.json["success"], json!(false), "{self:?}");
        assert_eq!(self.json["error"], json!(status), "{self:?}");
        assert_eq!(self.json["code"], json!(code), "{self:?}");
        let message = self.json["message"]
            .as_str()
            .unwrap_or_else(|| panic!("the message is not a string: {self:?}"));
        assert!(!message.is_empty(), "the message is empty: {self:?}");
        message
    }

    /// Asserts a 422 `unprocessable` whose message names `field`.
    #[track_caller]
    pub fn expect_unprocessable(&self, field: &str) {
        let message = self.expect_error(422, "unprocessable");
        assert!(
            message.contains(field),
            "the 422 message does not name `{field}`: {self:?}"
        );
    }

    /// The `WWW-Authenticate` header, which must be there.
    #[track_caller]
    pub fn www_authenticate(&self) -> &str {
        self.header("www-authenticate")
            .unwrap_or_else(|| panic!("no WWW-Authenticate header: {self:?}"))
    }
}

/// Reads a raw HTTP/1.1 head, up to and including `\r\n\r\n`, within 20 s.
pub async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    let read = async {
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
    };
    let timed_out = tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .is_err();
    assert!(
        !timed_out,
        "no complete head within 20 s: {:?}",
        String::from_utf8_lossy(&head)
    );
    String::from_utf8_lossy(&head).into_owned()
}
