//! Where the data lives, as `--db` names it: a redb file (the embedded
//! default) or a PostgreSQL URL, opened into a [`Backend`]. The URL's
//! password never leaves this module: everything that shows a database
//! shows it through [`Database`]'s `Display`, which hides it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use casting_core::{Backend, Store, StoreError};

use crate::auth::dev::{DevIssuer, DevKeyError};

/// A database named by `--db` (`CASTING_DB`).
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A redb file, created when missing.
    File(PathBuf),
    /// A PostgreSQL database that several servers may share.
    Postgres(PostgresUrl),
}

/// A `postgres://` or `postgresql://` URL. Its `Debug` and `Display` hide
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL itself, password included, for the client that connects.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&casting_core::redact_password(&self.0))
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

impl std::str::FromStr for Database {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err("the database is empty: give a redb file or a postgres:// URL".into());
        }
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(Database::Postgres(PostgresUrl(text.to_owned())))
        } else {
            Ok(Database::File(PathBuf::from(text)))
        }
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::File(path) => path.display().fmt(f),
            Database::Postgres(url) => url.fmt(f),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::File(path) => f.debug_tuple("File").field(path).finish(),
            Database::Postgres(url) => f.debug_tuple("Postgres").field(url).finish(),
        }
    }
}

impl Database {
    /// The redb file, if this is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Database::File(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }
}

/// A database once open.
#[derive(Debug, Clone)]
pub enum Opened {
    /// The redb file, which this process alone holds.
    Embedded(Arc<Store>),
    /// A PostgreSQL database, shared with other processes.
    #[cfg(feature = "postgres")]
    Shared(Arc<casting_core::PgStore>),
}

impl Opened {
    /// The backend, for the agency and the writer.
    pub fn backend(&self) -> Arc<dyn Backend> {
        match self {
            Opened::Embedded(store) => Arc::clone(store) as Arc<dyn Backend>,
            #[cfg(feature = "postgres")]
            Opened::Shared(store) => Arc::clone(store) as Arc<dyn Backend>,
        }
    }

    /// The redb store, for backups, which only the embedded store takes.
    pub fn embedded(&self) -> Option<&Arc<Store>> {
        match self {
            Opened::Embedded(store) => Some(store),
            #[cfg(feature = "postgres")]
            Opened::Shared(_) => None,
        }
    }
}

/// The name the development key is kept under in a shared database.
#[cfg(feature = "postgres")]
const DEV_KEY_SETTING: &str = "dev_signing_key";

impl Opened {
    /// The development key of this database: beside a redb file, or in a
    /// PostgreSQL database, so that every process sharing it signs and
    /// accepts the same tokens. With `create`, one is made when there is
    /// none (racing processes agree on the first one stored); without, its
    /// absence is an error that says where it looked.
    ///
    /// # Errors
    /// When the key is missing (without `create`), malformed, or the
    /// database fails.
    pub fn dev_issuer(&self, db: &Database, create: bool) -> Result<DevIssuer, DevKeyError> {
        match (self, db) {
            (Opened::Embedded(_), Database::File(path)) if create => {
                DevIssuer::load_or_create(path)
            }
            (Opened::Embedded(_), Database::File(path)) => DevIssuer::load(path),
            #[cfg(feature = "postgres")]
            (Opened::Shared(store), _) => {
                let place = format!("the database {db}");
                let pem = match store.setting(DEV_KEY_SETTING)? {
                    Some(pem) => pem,
                    None if create => {
                        let made =
                            store.put_setting_once(DEV_KEY_SETTING, &DevIssuer::generate_pem()?)?;
                        tracing::info!(database = %db, "the development signing key is in the database");
                        made
                    }
                    None => return Err(DevKeyError::Missing(place)),
                };
                DevIssuer::from_pem(&pem, place)
            }
            (Opened::Embedded(_), Database::Postgres(_)) => {
                Err(DevKeyError::Missing(format!("the database {db}")))
            }
        }
    }
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store refused or failed.
    #[error("cannot open the store {database}: {source}")]
    Store {
        /// The database, password hidden.
        database: String,
        /// Why.
        source: StoreError,
    },
    /// The directory of the redb file does not exist.
    #[error(
        "cannot open the store {path}: the directory {directory} does not exist; create it, or point --db (CASTING_DB) elsewhere"
    )]
    NoDirectory {
        /// The database file.
        path: String,
        /// Its missing directory.
        directory: String,
    },
    /// This build has no PostgreSQL backend.
    #[error(
        "{database} is a PostgreSQL URL, and this build of casting-server has no PostgreSQL backend (cargo feature `postgres`)"
    )]
    NoPostgres {
        /// The database, password hidden.
        database: String,
    },
}

/// The directory `db` lives in, if it does not exist.
fn missing_directory(db: &Path) -> Option<&Path> {
    let directory = match db.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    (!directory.is_dir()).then_some(directory)
}

impl Database {
    /// Opens the database: a redb file at once; a PostgreSQL database
    /// retrying with backoff for up to `connect_timeout`, then bringing its
    /// schema up to date. Blocks the calling thread.
    ///
    /// # Errors
    /// When the store cannot be opened, named with the password hidden.
    pub fn open(&self, connect_timeout: Duration) -> Result<Opened, OpenError> {
        let failed = |source| OpenError::Store {
            database: self.to_string(),
            source,
        };
        match self {
            Database::File(path) => {
                if let Some(directory) = missing_directory(path) {
                    return Err(OpenError::NoDirectory {
                        path: path.display().to_string(),
                        directory: directory.display().to_string(),
                    });
                }
                let _ = connect_timeout;
                Ok(Opened::Embedded(Arc::new(
                    Store::open(path).map_err(failed)?,
                )))
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => Ok(Opened::Shared(Arc::new(
                casting_core::PgStore::connect(url.secret(), connect_timeout).map_err(failed)?,
            ))),
            #[cfg(not(feature = "postgres"))]
            Database::Postgres(_) => Err(OpenError::NoPostgres {
                database: self.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_postgres_and_anything_else_a_file() {
        for url in [
            "postgres://u@h/db",
            "postgresql://u@h/db",
            "POSTGRES://u@h/db",
        ] {
            assert!(matches!(url.parse(), Ok(Database::Postgres(_))), "{url}");
        }
        assert_eq!(
            "data/casting.redb".parse::<Database>(),
            Ok(Database::File("data/casting.redb".into()))
        );
        assert!("".parse::<Database>().is_err());
    }

    #[test]
    fn the_password_never_shows() {
        let db: Database = "postgres://casting:s3cret@db.example:5432/casting?sslmode=require"
            .parse()
            .unwrap();
        for shown in [db.to_string(), format!("{db:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(
                shown.contains("casting:***@db.example:5432/casting"),
                "{shown}"
            );
        }
    }
}
