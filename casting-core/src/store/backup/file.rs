//! The files of a backup: temporary names beside the final one, the
//! sync-rename-sync that installs a file, and the lock that keeps servers
//! out of a store while it is replaced.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::error::{BackupError, write_error};

/// The temporary name a file is written under before it gets `path`: in
/// the same directory, so the rename is atomic, and hidden, so it matches
/// no backup name.
pub(super) fn temporary(path: &Path, purpose: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "casting".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{purpose}"))
}

/// The directory `path` lives in.
pub(super) fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A new, empty file at `path`, replacing a leftover of an earlier attempt
/// that was cut short.
pub(super) fn fresh_file(path: &Path) -> Result<File, BackupError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(write_error(path, e)),
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| write_error(path, e))
}

/// Syncs `temp`, renames it to `path` and syncs the directory, so that the
/// new name survives a crash and names the whole file.
pub(super) fn install(temp: &Path, path: &Path) -> Result<u64, BackupError> {
    let file = File::open(temp).map_err(|e| write_error(temp, e))?;
    file.sync_all().map_err(|e| write_error(temp, e))?;
    let bytes = file.metadata().map_err(|e| write_error(temp, e))?.len();
    drop(file);
    std::fs::rename(temp, path).map_err(|e| write_error(path, e))?;
    let dir = directory(path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| write_error(dir, e))?;
    Ok(bytes)
}

/// Holds the OS lock that redb takes on a store file, so that no server
/// opens it meanwhile; released when dropped.
pub(super) struct FileLock {
    _file: File,
    /// Whether the file was made here to be locked, and goes if nothing
    /// is installed.
    created: Option<PathBuf>,
}

impl FileLock {
    /// Locks `path`, creating it empty when missing, so that a server
    /// starting meanwhile finds it locked rather than creating it.
    pub(super) fn take(path: &Path) -> Result<Self, BackupError> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| write_error(path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(FileLock {
                _file: file,
                created: (!existed).then(|| path.to_owned()),
            }),
            Err(TryLockError::WouldBlock) => Err(BackupError::Held {
                path: path.to_owned(),
            }),
            Err(TryLockError::Error(e)) => Err(write_error(path, e)),
        }
    }

    /// Keeps the file made by [`FileLock::take`]: something was installed.
    pub(super) fn keep(&mut self) {
        self.created = None;
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if let Some(path) = &self.created {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn a_store_cannot_be_opened_while_a_restore_holds_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("casting.redb");
        drop(Store::open(&path).unwrap());
        let lock = FileLock::take(&path).unwrap();
        assert!(Store::open(&path).is_err());
        drop(lock);
        assert!(Store::open(&path).is_ok());
    }

    #[test]
    fn a_lock_on_a_missing_file_leaves_nothing_behind_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("casting.redb");
        drop(FileLock::take(&path).unwrap());
        assert!(!path.exists());
        let mut lock = FileLock::take(&path).unwrap();
        lock.keep();
        drop(lock);
        assert!(path.exists());
    }

    #[test]
    fn temporary_names_are_hidden_beside_the_file() {
        assert_eq!(
            temporary(Path::new("/b/casting-1.redb"), "partial"),
            PathBuf::from("/b/.casting-1.redb.partial")
        );
    }
}
