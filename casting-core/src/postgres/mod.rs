//! The PostgreSQL backend: one database that any number of processes
//! share, behind the same [`Backend`] seam as the redb file.
//!
//! - `mod.rs`: [`PgStore`], connecting, and the bridge that runs the async
//!   client for the synchronous trait.
//! - `schema`: the tables, created or migrated at startup under an
//!   advisory lock.
//! - `write`: a batch of checked writes in one transaction.
//! - `read`: records, pages and searches, each from one snapshot.
//! - `audit`: audit entries as rows, and pages of the log.
//! - `transfer`: export and import.
//! - `error`: client errors as [`StoreError`]s.
//!
//! The trait is synchronous (the server calls it from tokio's blocking
//! pool and a writer thread, embedders from plain threads), the client is
//! async: a [`PgStore`] owns a small runtime of its own, spawns each
//! operation on it and waits on a channel. `Runtime::block_on` is never
//! used, because it panics when the caller is itself inside a runtime.

mod audit;
mod error;
mod read;
mod schema;
mod tls;
mod transfer;
mod write;

use std::future::Future;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::config::{Host, SslMode};

use crate::audit::{AuditPage, AuditQuery, Versioned};
use crate::backend::{Backend, CheckedWrite, Committed, Counts, Item, StoreError};
use crate::error::Error;
use crate::model::{Actor, Movie};
use crate::query::{ActorQuery, MovieQuery, Page, PageRequest};

/// The most connections one process holds: the writer's, and a few for
/// the reads the blocking pool runs at once.
const POOL_SIZE: usize = 16;
/// How often an operation that found its connection gone is tried again
/// on another: the pool may hold several that the server closed while
/// they sat idle, and nothing was done on them.
const OUTAGE_RETRIES: usize = 2;
/// The first pause between connection attempts at startup, doubled up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The longest one connection attempt may take.
const MAX_ATTEMPT: Duration = Duration::from_secs(5);

/// A casting store in a PostgreSQL database, shared by every process that
/// connects to it. Cheap to share behind an `Arc`: operations run in
/// parallel on a pool of connections.
///
/// Nothing read is cached ([`Backend::generation`] is `None`), because
/// other processes change the data unseen.
pub struct PgStore {
    /// Always `Some` until dropped; taken by `Drop` to shut it down.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// Where the store is, for `Debug`: never the user or password.
    host: String,
    port: u16,
    dbname: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // By hand, so that the URL's password can never be printed.
        f.debug_struct("PgStore")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://` or
    /// `postgresql://`), creating or migrating its schema, and trying
    /// again with a growing pause (100 ms doubling to 2 s) until
    /// `connect_timeout` has passed.
    ///
    /// `sslmode` is honoured as libpq does, but for `require`: `disable`
    /// connects in plain text; `prefer` (the default) encrypts when the
    /// server offers TLS, without verifying its certificate (it would
    /// accept plain text anyway), and otherwise connects in plain text;
    /// `require`, `verify-ca` and `verify-full` never fall back, and verify
    /// the server's certificate and name against Mozilla's roots or the
    /// CAs of the `sslrootcert` file the URL names.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is not one, or no
    /// connection succeeded in time (the message never holds the
    /// password); [`StoreError::NewerSchema`] for a database written by a
    /// newer casting; an engine error for a statement the database
    /// refused.
    pub fn connect(url: &str, connect_timeout: Duration) -> Result<PgStore, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Unavailable(
                "a PostgreSQL URL starts with postgres:// or postgresql://".into(),
            ));
        }
        let (url, tls) = tls::split(url);
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("invalid PostgreSQL URL: {e}")))?;
        // One attempt waits at most this long: at startup the attempts go
        // on until `connect_timeout`, and later an operation that needs a
        // new connection to an unresponsive server fails in time.
        let attempt = connect_timeout.clamp(Duration::from_millis(100), MAX_ATTEMPT);
        config.connect_timeout(attempt);
        config.application_name("casting");
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(host)) => host.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let dbname = config
            .get_dbname()
            .or(config.get_user())
            .unwrap_or("postgres")
            .to_owned();
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match config.get_ssl_mode() {
            SslMode::Disable => Manager::from_config(config, tokio_postgres::NoTls, manager_config),
            // `prefer` falls back to plain text when the server offers no
            // TLS, `require` fails then: the client does that itself.
            SslMode::Prefer => {
                Manager::from_config(config, tls::connector(&tls, false)?, manager_config)
            }
            _ => Manager::from_config(config, tls::connector(&tls, true)?, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(attempt))
            .wait_timeout(Some(connect_timeout.max(Duration::from_secs(5))))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Unavailable(format!("connection pool: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("casting-pg")
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot start the client's runtime: {e}"))
            })?;
        let store = PgStore {
            runtime: Some(runtime),
            pool,
            host,
            port,
            dbname,
        };
        let deadline = Instant::now() + connect_timeout;
        store.run_once(move |pool| schema::start(pool, deadline))?;
        Ok(store)
    }

    /// Runs `work` on the store's runtime and waits for its answer on
    /// this thread, whatever runtime (if any) the thread belongs to. An
    /// outage before anything was committed is tried again on another
    /// connection.
    fn run<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send,
    {
        self.run_once(move |pool| async move {
            let mut result = work(pool.clone()).await;
            for _ in 0..OUTAGE_RETRIES {
                match result {
                    Err(StoreError::Unavailable(_)) => result = work(pool.clone()).await,
                    done => return done,
                }
            }
            result
        })
    }

    /// Runs `work` once, as [`PgStore::run`] does.
    fn run_once<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let runtime = self.runtime.as_ref().ok_or(StoreError::ShutDown)?;
        let (answer, answered) = std::sync::mpsc::channel();
        let future = work(self.pool.clone());
        runtime.spawn(async move {
            // The caller may have gone; then nobody needs the answer.
            let _ = answer.send(future.await);
        });
        answered.recv().map_err(|_| {
            StoreError::Unavailable("the database task ended without an answer".into())
        })?
    }

    /// The value of the setting `name`, if one is stored.
    ///
    /// # Errors
    /// When the database fails.
    pub fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let name = name.to_owned();
        self.run(move |pool| schema::setting(pool, name.clone()))
    }

    /// Stores `value` as the setting `name` unless one is stored already,
    /// and returns the stored one: processes that race to set it all get
    /// the same value (the server's development key).
    ///
    /// # Errors
    /// When the database fails.
    pub fn put_setting_once(&self, name: &str, value: &str) -> Result<String, StoreError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.run(move |pool| schema::put_setting_once(pool, name.clone(), value.clone()))
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.pool.close();
        if let Some(runtime) = self.runtime.take() {
            // Not `shutdown_timeout` or a plain drop, which block and
            // panic when the store is dropped inside another runtime.
            runtime.shutdown_background();
        }
    }
}

impl Backend for PgStore {
    fn movie_versioned(&self, id: u64) -> Result<Option<Versioned<Movie>>, StoreError> {
        self.run(move |pool| read::movie_versioned(pool, id))
    }

    fn actor_versioned(&self, id: u64) -> Result<Option<Versioned<Actor>>, StoreError> {
        self.run(move |pool| read::actor_versioned(pool, id))
    }

    fn movies(&self, request: PageRequest) -> Result<Page<Movie>, StoreError> {
        self.run(move |pool| read::movies(pool, request))
    }

    fn actors(&self, request: PageRequest) -> Result<Page<Actor>, StoreError> {
        self.run(move |pool| read::actors(pool, request))
    }

    fn search_movies(&self, query: &MovieQuery) -> Result<Page<Movie>, StoreError> {
        let query = query.clone();
        self.run(move |pool| read::search_movies(pool, query.clone()))
    }

    fn search_actors(&self, query: &ActorQuery) -> Result<Page<Actor>, StoreError> {
        let query = query.clone();
        self.run(move |pool| read::search_actors(pool, query.clone()))
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        self.run(read::counts)
    }

    fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let query = *query;
        self.run(move |pool| audit::page(pool, query))
    }

    fn commit(
        &self,
        writes: Vec<CheckedWrite>,
    ) -> Result<Vec<Result<Committed, Error>>, StoreError> {
        self.run(move |pool| write::commit(pool, writes.clone()))
    }

    fn generation(&self) -> Option<u64> {
        // Other processes write unseen: nothing read may be kept.
        None
    }

    fn reads_block(&self) -> bool {
        true
    }

    fn ready(&self) -> Result<(), StoreError> {
        self.run(read::ping)
    }

    fn export(
        &self,
        each: &mut dyn FnMut(Item) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        transfer::export(self, each)
    }

    fn import(
        &self,
        items: &mut dyn Iterator<Item = Result<Item, StoreError>>,
        replace: bool,
    ) -> Result<Counts, StoreError> {
        transfer::import(self, items, replace)
    }
}
