//! The fuzz corpus, `fuzz/corpus/<target>/`, as regression tests read it.

use std::path::{Path, PathBuf};

/// The directory of the corpus of `target`.
pub fn dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

/// The files of `fuzz/corpus/<target>`, by name, with their bytes. Panics
/// when the directory is missing or empty: a replay of nothing would pass.
pub fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = dir(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

/// Replays every file of the corpus of `target` through `check`, naming the
/// one that fails.
pub fn replay(target: &str, mut check: impl FnMut(&[u8])) {
    for (path, data) in corpus(target) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&data)));
        if let Err(panic) = result {
            eprintln!("{} fails its check", path.display());
            std::panic::resume_unwind(panic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_of_casting_core_has_a_corpus() {
        for target in ["body", "release_date", "store", "store_file"] {
            assert!(!corpus(target).is_empty());
        }
    }
}
