//! The real server, in a child process of its own, for the SDK to talk to.
//!
//! Why a child process made from this very test binary: cargo builds the
//! library of a dev-dependency but never its binary, and
//! `CARGO_BIN_EXE_casting-server` exists only in casting-server's own tests;
//! a `target/debug/casting-server` found beside the test binary may be
//! missing or older than the code (`cargo test -p casting-client` does not
//! rebuild it). So the suite re-runs its own executable with one ignored
//! test selected, [`serve_when_a_parent_test_asks`], which parses the same
//! flags as the binary and runs `casting_server::serve`. The child prints
//! exactly what `casting-server --dev` prints (the tokens, then `listening
//! on`), and it is a real process: a test can kill it mid-stream.
//!
//! Set `CASTING_SERVER_BIN` to a built `casting-server` to run the suite
//! against that binary instead.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use casting_client::Client;
use casting_core::Role;
use casting_server::auth::dev::DevIssuer;
use tempfile::TempDir;

/// The variable that carries the server's arguments to the child, one a line.
const ARGS_VAR: &str = "CASTING_CLIENT_TEST_SERVER_ARGS";

/// The full name of the entry test, as the harness's `--exact` wants it.
const ENTRY: &str = "server::serve_when_a_parent_test_asks";

/// How long a server may take to print `listening on`.
const PATIENCE: Duration = Duration::from_secs(60);

/// A development key made once for the whole suite and placed beside each
/// fresh database: making an RSA key costs more than the rest of a test.
fn shared_dev_key() -> &'static str {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PEM.get_or_init(|| DevIssuer::generate_pem().expect("an RSA key"))
}

/// The entry point of the child process; a no-op unless a test started
/// this binary to be a server.
#[test]
#[ignore = "the server of the other tests, run in a child process they start"]
fn serve_when_a_parent_test_asks() {
    use clap::Parser;
    let Ok(args) = std::env::var(ARGS_VAR) else {
        return;
    };
    let cli = casting_server::config::Cli::parse_from(
        std::iter::once("casting-server").chain(args.lines()),
    );
    let settings =
        match casting_server::config::Settings::resolve(&cli.serve, cli.db, cli.db_connect_timeout)
        {
            Ok(settings) => settings,
            Err(error) => {
                println!("casting-server: {error}");
                std::process::exit(2);
            }
        };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if let Err(error) = runtime.block_on(casting_server::serve(settings, std::future::pending())) {
        println!("casting-server: {error}");
        std::process::exit(1);
    }
}

/// A running server, killed when dropped.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub(crate) url: String,
    /// The development tokens it printed, by role.
    tokens: HashMap<Role, String>,
    /// The database file (the development key lives beside it).
    db: PathBuf,
    child: Child,
    /// Kept so the database outlives the server.
    _dir: TempDir,
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

impl TestServer {
    /// A development server on a fresh database.
    pub(crate) fn start() -> Self {
        Self::launch(|db| {
            vec![
                "--dev".into(),
                "--bind".into(),
                "127.0.0.1:0".into(),
                "--db".into(),
                db.display().to_string(),
            ]
        })
    }

    /// A server verifying tokens of `issuer` for `audience` with the key set
    /// at `jwks_url`, on a fresh database.
    pub(crate) fn verifying(issuer: &str, audience: &str, jwks_url: &str) -> Self {
        Self::launch(|db| {
            [
                "--bind",
                "127.0.0.1:0",
                "--db",
                &db.display().to_string(),
                "--issuer",
                issuer,
                "--audience",
                audience,
                "--jwks-url",
                jwks_url,
            ]
            .map(str::to_owned)
            .to_vec()
        })
    }

    fn launch(args: impl FnOnce(&Path) -> Vec<String>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("casting.redb");
        std::fs::write(casting_server::auth::dev::key_path(&db), shared_dev_key())
            .expect("write the development key");
        let args = args(&db);
        let mut command = match std::env::var_os("CASTING_SERVER_BIN") {
            Some(bin) => {
                let mut command = Command::new(bin);
                command.args(&args);
                command
            }
            None => {
                let mut command =
                    Command::new(std::env::current_exe().expect("the test binary's path"));
                command
                    .args([ENTRY, "--exact", "--ignored", "--nocapture"])
                    .env(ARGS_VAR, args.join("\n"));
                command
            }
        };
        // Every variable the server reads, proxies included: a developer's
        // shell must not change the server under test.
        for key in casting_server::config::variables() {
            command.env_remove(key);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // Keeps reading after the banner, so the child never blocks on a
            // full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut tokens = HashMap::new();
        let mut seen = Vec::new();
        let url = loop {
            let line = match lines.recv_timeout(PATIENCE) {
                Ok(line) => line,
                Err(e) => {
                    let _ = child.kill();
                    panic!("the server did not start ({e}); it printed {seen:#?}");
                }
            };
            if let Some(addr) = line.strip_prefix("listening on ") {
                break addr.trim().to_owned();
            }
            if let Some((role, token)) = line
                .strip_prefix("token for ")
                .and_then(|rest| rest.split_once(": "))
            {
                tokens.insert(role.parse().expect("a role"), token.to_owned());
            }
            seen.push(line);
        };
        TestServer {
            url,
            tokens,
            db,
            child,
            _dir: dir,
        }
    }

    /// The development token it printed for `role`.
    pub(crate) fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    /// A client acting as `role`.
    pub(crate) fn client(&self, role: Role) -> Client {
        Client::builder(&self.url)
            .token(self.token(role))
            .timeout(Duration::from_secs(20))
            .build()
            .expect("a client")
    }

    /// A client with no token.
    pub(crate) fn anonymous(&self) -> Client {
        Client::new(&self.url).expect("a client")
    }

    /// A token for `role` signed with this server's key, issued at `iat`
    /// and valid for `ttl` seconds.
    pub(crate) fn token_at(&self, role: Role, iat: u64, ttl: u64) -> String {
        DevIssuer::load_or_create(&self.db)
            .expect("the development key")
            .token(role, iat, ttl)
            .expect("a signed token")
    }

    /// Kills the server at once (SIGKILL): no graceful shutdown.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}
