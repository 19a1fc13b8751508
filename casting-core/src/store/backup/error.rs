//! What can go wrong with a snapshot, a check or a restore, in one line
//! that names the file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Why a snapshot, a check or a restore did not happen. Each message is one
/// line that names the file.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Another process, most likely a running server, has the store open.
    #[error("{path} is in use by another process (a running casting-server?): stop it first")]
    Held {
        /// The store file.
        path: PathBuf,
    },
    /// The file to read does not exist.
    #[error("{path} does not exist")]
    Missing {
        /// The file looked for.
        path: PathBuf,
    },
    /// The file to write exists already and is not replaced.
    #[error("{path} exists already: choose another name or remove it")]
    Exists {
        /// The file that is in the way.
        path: PathBuf,
    },
    /// The file is not a casting store: not redb at all, or redb without
    /// the casting tables and schema version.
    #[error("{path} is not a casting store: {reason}")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// The file was written by a newer casting and is not installed.
    #[error(
        "{path} has schema version {found}, newer than the {supported} this build reads: upgrade casting"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The newest version this build knows.
        supported: u64,
    },
    /// The file is a casting store, but its pages or its records do not
    /// hold together.
    #[error("{path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The first fault found.
        reason: String,
    },
    /// The file could not be read, written, synced or renamed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The store being copied failed.
    #[error("cannot read the store {path}: {source}")]
    Store {
        /// The store file.
        path: PathBuf,
        /// Why.
        source: StoreError,
    },
}

/// Errors of redb and the OS can span lines; the messages of this module
/// are one line each, as the CLI prints them.
pub(super) fn one_line(reason: impl std::fmt::Display) -> String {
    reason
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn write_error(path: &Path, reason: impl std::fmt::Display) -> BackupError {
    BackupError::Write {
        path: path.to_owned(),
        reason: one_line(reason),
    }
}

pub(super) fn damaged(path: &Path, reason: impl std::fmt::Display) -> BackupError {
    BackupError::Damaged {
        path: path.to_owned(),
        reason: one_line(reason),
    }
}

pub(super) fn foreign(path: &Path, reason: impl std::fmt::Display) -> BackupError {
    BackupError::Foreign {
        path: path.to_owned(),
        reason: one_line(reason),
    }
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "redb panicked".to_owned())
}

/// Runs `f`, turning a panic into a damaged-file error: redb may panic
/// rather than fail on a file altered outside it.
pub(super) fn guarded<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, BackupError>,
) -> Result<T, BackupError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(damaged(path, panic_message(payload.as_ref()))))
}

impl BackupError {
    /// The same error about `path` instead of the temporary copy it was
    /// found in.
    pub(super) fn about(self, path: &Path) -> BackupError {
        let path = path.to_owned();
        match self {
            BackupError::Held { .. } => BackupError::Held { path },
            BackupError::Missing { .. } => BackupError::Missing { path },
            BackupError::Exists { .. } => BackupError::Exists { path },
            BackupError::Foreign { reason, .. } => BackupError::Foreign { path, reason },
            BackupError::NewerSchema {
                found, supported, ..
            } => BackupError::NewerSchema {
                path,
                found,
                supported,
            },
            BackupError::Damaged { reason, .. } => BackupError::Damaged { path, reason },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
        let error = damaged(Path::new("x.redb"), "page\nfault");
        assert_eq!(error.to_string(), "x.redb is damaged: page fault");
    }

    #[test]
    fn an_error_found_in_a_copy_names_the_original() {
        let error = damaged(Path::new(".x.restoring"), "fault").about(Path::new("x.redb"));
        assert_eq!(error.to_string(), "x.redb is damaged: fault");
    }
}
