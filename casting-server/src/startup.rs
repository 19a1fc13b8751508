//! Putting the pieces together: store, writer, authenticator, listener.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use casting_core::{Agency, Role};
use tokio::net::TcpListener;

use crate::auth::dev::DevKeyError;
use crate::auth::{AuthConfig, Authenticator, FailureLimiter, JwksClient, JwksError, KeySource};
use crate::config::{AuthSettings, Settings};
use crate::database::{Database, OpenError};
use crate::metrics::Metrics;
use crate::state::{App, AppOptions, DevMode};
use crate::writer::Writer;
use crate::{scrape, server};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The development key failed.
    #[error(transparent)]
    DevKey(#[from] DevKeyError),
    /// The key set client could not be built.
    #[error("cannot set up the key set client: {0}")]
    Jwks(#[from] JwksError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}; choose another address with --bind (CASTING_BIND)")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why, such as the address being in use.
        source: std::io::Error,
    },
    /// The metrics address could not be bound.
    #[error(
        "cannot listen for metrics on {addr}: {source}; choose another address with --metrics-bind (CASTING_METRICS_BIND)"
    )]
    MetricsBind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Standard output could not be written, or the writer thread not started.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Prints a development token for `role`, signed with the development
/// key of `db` (beside a redb file, or in a PostgreSQL database).
///
/// # Errors
/// When the database cannot be opened or holds no key.
pub fn print_token(
    db: &Database,
    connect_timeout: Duration,
    role: Role,
    ttl: u64,
) -> Result<(), StartupError> {
    let issuer = match db {
        // A redb file is read for its key only, not opened: a running
        // server holds it.
        Database::File(path) => crate::auth::dev::DevIssuer::load(path)?,
        Database::Postgres(_) => db.open(connect_timeout)?.dev_issuer(db, false)?,
    };
    let token = issuer.token(role, now(), ttl)?;
    writeln!(std::io::stdout().lock(), "{token}")?;
    Ok(())
}

/// Starts the server with `settings` and serves until `shutdown` completes.
/// Prints the development tokens (in development mode) and then
/// `listening on http://ADDR` on standard output once it accepts
/// connections.
///
/// # Errors
/// When the store, the key or the address cannot be opened.
pub async fn serve(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartupError> {
    let application = Application::build(settings).await?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(application.banner().as_bytes())?;
    stdout.flush()?;
    drop(stdout);
    application.run_until_stopped(shutdown).await
}

/// A server built and listening, not yet serving: the store open, the key
/// set in hand, the address bound. [`Application::run_until_stopped`]
/// serves it; tests build one inside their own process.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    app: App,
    cors: crate::config::CorsOrigins,
    banner: String,
    scraping: Option<tokio::task::JoinHandle<()>>,
    backups: crate::backup::Backups,
}

impl Application {
    /// Opens the store and binds the addresses of `settings`; in
    /// development mode, makes or loads the development key. Logs the
    /// configuration line.
    ///
    /// # Errors
    /// When the store, the key or the address cannot be opened.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // The address first: a server that cannot listen must leave nothing
        // behind, no new store file and no new key.
        let listener =
            TcpListener::bind(settings.bind)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: settings.bind,
                    source,
                })?;
        let metrics_listener = match settings.metrics_bind {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::MetricsBind { addr, source })?,
            ),
            None => None,
        };
        let metrics = Arc::new(Metrics::new());
        // Opening may wait for a database to come up, so off the async workers.
        let (db, timeout) = (settings.db.clone(), settings.db_connect_timeout);
        let opened = tokio::task::spawn_blocking(move || db.open(timeout))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        let backend = opened.backend();
        let (issuer, audience) = settings.issuer_and_audience();
        let config = AuthConfig {
            issuer,
            audience,
            algorithms: settings.algorithms.clone(),
            leeway: settings.leeway,
        };

        let mut banner = String::new();
        let (keys, dev) = match &settings.auth {
            AuthSettings::Dev => {
                let (found, db) = (opened.clone(), settings.db.clone());
                let issuer = tokio::task::spawn_blocking(move || found.dev_issuer(&db, true))
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))??;
                let _ = writeln!(
                    banner,
                    "development mode: issuer {}, audience {}, key {}",
                    config.issuer,
                    config.audience,
                    issuer.place()
                );
                for role in Role::ALL {
                    let token = issuer.token(role, now(), crate::config::DEFAULT_TOKEN_TTL)?;
                    let _ = writeln!(banner, "token for {role}: {token}");
                }
                let keys = KeySource::Fixed(Arc::new(issuer.key_set()?));
                (keys, Some(DevMode::new(Arc::new(issuer))))
            }
            AuthSettings::Issuer { jwks_url, .. } => {
                let client = Arc::new(JwksClient::new(
                    jwks_url.clone(),
                    settings.algorithms.clone(),
                    Arc::clone(&metrics),
                )?);
                client.start();
                (KeySource::Remote(client), None)
            }
        };
        let warm = Arc::clone(&backend);
        tokio::task::spawn_blocking(move || {
            if let Err(error) = warm.prepare_search() {
                tracing::warn!(%error, "could not build the actor search index; the first search will");
            }
        });
        let writer = Writer::start(
            Arc::clone(&backend),
            settings.group_commit,
            Arc::clone(&metrics),
        )?;
        let scraping = match metrics_listener {
            Some(listener) => {
                let _ = writeln!(
                    banner,
                    "metrics on http://{}/metrics",
                    listener.local_addr()?
                );
                Some(tokio::spawn(scrape::serve(
                    listener,
                    Arc::clone(&metrics),
                    Arc::clone(&backend),
                    std::future::pending(),
                )))
            }
            None => None,
        };
        // Before the banner: a SIGUSR1 sent once the server is up must be caught.
        let backups = crate::backup::start(opened.embedded().cloned(), settings.backup.clone())?;
        let app = App::new(
            Agency::new(backend),
            writer,
            Authenticator::new(config, keys),
            AppOptions {
                dev,
                body_limit: settings.body_limit,
                limiter: (settings.auth_failure_limit > 0)
                    .then(|| FailureLimiter::new(settings.auth_failure_limit)),
                cache_bytes: settings.response_cache_bytes,
                metrics,
            },
        );

        let addr = listener.local_addr()?;
        log_configuration(&settings, addr);
        let _ = writeln!(banner, "listening on http://{addr}");
        Ok(Application {
            listener,
            app,
            cors: settings.cors,
            banner,
            scraping,
            backups,
        })
    }

    /// The address it listens on, the port chosen when 0 was asked for.
    ///
    /// # Errors
    /// When the socket cannot say.
    pub fn addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// What the server prints on standard output at start, a line each:
    /// in development mode the key's place and a token per role, the
    /// metrics address if any, and last `listening on http://ADDR`.
    pub fn banner(&self) -> &str {
        &self.banner
    }

    /// Serves until `shutdown` completes, then stops accepting, lets the
    /// requests in flight finish, and closes the store.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), StartupError> {
        let served = server::run(self.listener, self.app, &self.cors, shutdown).await;
        if let Some(scraping) = self.scraping {
            scraping.abort();
        }
        // The snapshot in progress, if any, is finished and the store let go.
        self.backups.stop().await;
        served?;
        Ok(())
    }
}

/// One line with the configuration in force, so that an operator sees what
/// the server took from flags, variables and defaults. Nothing in it is
/// secret: the key set URL and the issuer are public by design.
fn log_configuration(settings: &Settings, addr: std::net::SocketAddr) {
    let (issuer, audience) = settings.issuer_and_audience();
    let keys = match &settings.auth {
        AuthSettings::Dev => "development key".to_owned(),
        AuthSettings::Issuer { jwks_url, .. } => jwks_url.clone(),
    };
    let algorithms: Vec<String> = settings
        .algorithms
        .iter()
        .map(|a| format!("{a:?}"))
        .collect();
    tracing::info!(
        bind = %addr,
        store = %settings.db,
        %issuer,
        %audience,
        key_set = %keys,
        algorithms = %algorithms.join(","),
        leeway_s = settings.leeway,
        dev = matches!(settings.auth, AuthSettings::Dev),
        "serving"
    );
}
