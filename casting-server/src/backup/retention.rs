//! The names of snapshots, and which of them go: only files named as
//! snapshots are ever removed, the oldest first.

use std::path::{Path, PathBuf};

/// The name of a snapshot taken at `at`: `casting-YYYYMMDDTHHMMSSZ.redb`,
/// in UTC, so names sort in the order they were taken.
pub fn snapshot_name(at: jiff::Timestamp) -> String {
    format!("casting-{}.redb", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// Whether `name` is that of a snapshot; nothing else in the directory is
/// ever removed.
pub(super) fn is_snapshot_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix("casting-")
        .and_then(|rest| rest.strip_suffix("Z.redb"))
    else {
        return false;
    };
    let bytes = stamp.as_bytes();
    bytes.len() == 15
        && bytes[8] == b'T'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 8 || b.is_ascii_digit())
}

/// Whether `name` is the temporary name of a snapshot being written, or
/// left behind by a process killed while it wrote one.
fn is_partial_name(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_suffix(".partial"))
        .is_some_and(is_snapshot_name)
}

/// Removes the oldest snapshots in `dir` beyond the newest `keep`, and the
/// partial snapshots a killed process left, and returns the paths removed.
/// Call it only while no snapshot is being written there.
///
/// # Errors
/// When the directory cannot be listed or a snapshot removed.
pub fn prune(dir: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut names = Vec::new();
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !entry.file_type()?.is_file() {
            continue;
        }
        if is_snapshot_name(&name) {
            names.push(name);
        } else if is_partial_name(&name) {
            std::fs::remove_file(entry.path())?;
            removed.push(entry.path());
        }
    }
    names.sort_unstable();
    let excess = names.len().saturating_sub(keep);
    for name in names.into_iter().take(excess) {
        let path = dir.join(name);
        std::fs::remove_file(&path)?;
        removed.push(path);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_are_utc_timestamps() {
        let at: jiff::Timestamp = "2026-12-02T04:05:06Z".parse().unwrap();
        let name = snapshot_name(at);
        assert_eq!(name, "casting-20261202T040506Z.redb");
        assert!(is_snapshot_name(&name));
    }

    #[test]
    fn only_snapshot_names_are_taken_for_snapshots() {
        for other in [
            "casting.redb",
            "casting-20261202T040506Z.redb.partial",
            ".casting-20261202T040506Z.redb.partial",
            "casting-2026120XT040506Z.redb",
            "casting-20261202T04050Z.redb",
            "casting-20261202-040506Z.redb",
            "notes.txt",
        ] {
            assert!(!is_snapshot_name(other), "{other}");
        }
    }

    #[test]
    fn pruning_keeps_the_newest_snapshots_and_removes_only_snapshots_and_their_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "casting-20261202T040503Z.redb",
            "casting-20261202T040501Z.redb",
            "casting-20261202T040504Z.redb",
            "casting-20261202T040502Z.redb",
            ".casting-20261202T040500Z.redb.partial",
            ".casting.redb.partial",
            "casting.redb",
            "notes.txt",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let removed = prune(dir.path(), 2).unwrap();
        assert_eq!(
            removed,
            [
                dir.path().join(".casting-20261202T040500Z.redb.partial"),
                dir.path().join("casting-20261202T040501Z.redb"),
                dir.path().join("casting-20261202T040502Z.redb")
            ]
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".casting.redb.partial",
                "casting-20261202T040503Z.redb",
                "casting-20261202T040504Z.redb",
                "casting.redb",
                "notes.txt"
            ]
        );
    }
}
