//! Putting the pieces together: store, writer, authenticator, listener.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use casting_core::{Agency, Role, Store};
use tokio::net::TcpListener;

use crate::app::App;
use crate::auth::dev::{DevIssuer, DevKeyError};
use crate::auth::{AuthConfig, Authenticator, FailureLimiter, JwksClient, JwksError, KeySource};
use crate::config::{AuthSettings, Settings};
use crate::server;
use crate::writer::Writer;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The store could not be opened.
    #[error("cannot open the store {path}: {source}")]
    Store {
        /// The database file.
        path: String,
        /// Why.
        source: casting_core::StoreError,
    },
    /// The development key failed.
    #[error(transparent)]
    DevKey(#[from] DevKeyError),
    /// The key set client could not be built.
    #[error("cannot set up the key set client: {0}")]
    Jwks(#[from] JwksError),
    /// The address could not be bound, or the writer thread not started.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Prints a development token for `role`, signed with the key beside `db`.
///
/// # Errors
/// When the key cannot be read or created.
pub fn print_token(db: &Path, role: Role, ttl: u64) -> Result<(), StartupError> {
    let issuer = DevIssuer::load_or_create(db)?;
    println!("{}", issuer.token(role, now(), ttl)?);
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
    let store = Store::open(&settings.db).map_err(|source| StartupError::Store {
        path: settings.db.display().to_string(),
        source,
    })?;
    let store = Arc::new(store);
    let (issuer, audience) = settings.issuer_and_audience();
    let config = AuthConfig {
        issuer,
        audience,
        algorithms: settings.algorithms.clone(),
        leeway: settings.leeway,
    };

    let mut banner = Vec::new();
    let (keys, dev_jwks) = match &settings.auth {
        AuthSettings::Dev => {
            let dev = DevIssuer::load_or_create(&settings.db)?;
            crate::routes::dev_token::register(&settings.db)?;
            writeln!(
                banner,
                "development mode: issuer {}, audience {}, key {}",
                config.issuer,
                config.audience,
                dev.path().display()
            )?;
            for role in Role::ALL {
                writeln!(
                    banner,
                    "token for {role}: {}",
                    dev.token(role, now(), crate::config::DEFAULT_TOKEN_TTL)?
                )?;
            }
            (
                KeySource::Fixed(Arc::new(dev.key_set()?)),
                Some(dev.jwks().to_owned()),
            )
        }
        AuthSettings::Issuer { jwks_url, .. } => {
            let client = Arc::new(JwksClient::new(
                jwks_url.clone(),
                settings.algorithms.clone(),
            )?);
            client.start();
            (KeySource::Remote(client), None)
        }
    };
    let warm = Arc::clone(&store);
    tokio::task::spawn_blocking(move || {
        if let Err(error) = warm.prepare_search() {
            tracing::warn!(%error, "could not build the actor search index; the first search will");
        }
    });
    let writer = Writer::start(Arc::clone(&store), settings.group_commit)?;
    let app = App::new(
        Agency::new(store),
        writer,
        Authenticator::new(config, keys),
        dev_jwks,
        settings.body_limit,
        (settings.auth_failure_limit > 0).then(|| FailureLimiter::new(settings.auth_failure_limit)),
    );

    let listener = TcpListener::bind(settings.bind).await?;
    let addr = listener.local_addr()?;
    writeln!(banner, "listening on http://{addr}")?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&banner)?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(%addr, "serving");
    server::run(listener, app, &settings.cors, shutdown).await?;
    Ok(())
}
