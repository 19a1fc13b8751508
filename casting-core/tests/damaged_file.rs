//! A store file damaged on disk never panics out of casting-core: opening
//! it either works or fails with a [`StoreError`](casting_core::StoreError),
//! and every read and write on it answers, with an error where the damage
//! is.
//!
//! A valid store with movies and actors is written once; each case
//! overwrites part of a copy (512 bytes at the offsets a bug report named,
//! then every 4096-byte page in turn, with zeros, `0xff` and pseudo-random
//! bytes) and runs every operation of the store on it
//! (`casting_testkit::damaged_store`).

// The whole crate is a test: a panic is how it reports a failure, helpers
// included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use casting_testkit::damaged_store::{
    Report, exercise, exercise_damaged_while_open, overwrite, scratch_dir, valid_image,
};

/// redb's page size, the unit of the sweep.
const PAGE: usize = 4096;

/// The bytes at the start of a B-tree page that say what it is: its type
/// and how many entries it has.
const PAGE_HEADER: usize = 4;

/// Where 512 overwritten bytes made `Store::open` panic inside redb
/// ("entered unreachable code", "Invalid page type byte").
const REPORTED_OFFSETS: [usize; 4] = [12288, 16384, 20480, 40960];

/// What the damage is made of.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    Zeros,
    Ones,
    /// Bytes of a xorshift generator seeded with the offset, so every run
    /// writes the same ones.
    Noise,
}

const PATTERNS: [Pattern; 3] = [Pattern::Zeros, Pattern::Ones, Pattern::Noise];

fn damage(bytes: &mut [u8], offset: usize, pattern: Pattern) {
    let mut state = offset as u64 ^ 0x9E37_79B9_7F4A_7C15;
    for byte in bytes {
        *byte = match pattern {
            Pattern::Zeros => 0,
            Pattern::Ones => 0xff,
            Pattern::Noise => {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            }
        };
    }
}

/// When the damage is done.
#[derive(Debug, Clone, Copy)]
enum When {
    /// To the file at rest: opening verifies every page, so it is refused
    /// there.
    BeforeOpening,
    /// Under the open store, as a failing disk would: found while serving.
    WhileOpen,
}

/// Runs every operation on a copy of the valid store with `len` bytes at
/// `offset` overwritten by `pattern`, failing with the case's name if a
/// panic escaped.
fn run_case(offset: usize, len: usize, pattern: Pattern, when: When) -> Report {
    let mut bytes = vec![0; len];
    damage(&mut bytes, offset, pattern);
    let dir = tempfile::tempdir_in(scratch_dir()).unwrap();
    let path = dir.path().join("casting.redb");
    std::fs::write(&path, valid_image()).unwrap();
    let run = || match when {
        When::BeforeOpening => {
            overwrite(&path, offset, &bytes);
            exercise(&path)
        }
        When::WhileOpen => exercise_damaged_while_open(&path, || overwrite(&path, offset, &bytes)),
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(report) => report,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!(
                "{len} bytes of {pattern:?} at offset {offset}, {when:?}: a panic escaped: {message}"
            );
        }
    }
}

#[test]
fn the_valid_store_opens_and_answers_everything() {
    let report = run_case(0, 0, Pattern::Zeros, When::BeforeOpening);
    assert!(report.opened);
    assert_eq!(report.failed, 0, "{report:?}");
}

#[test]
fn the_reported_offsets_give_errors_not_panics() {
    assert!(valid_image().len() > REPORTED_OFFSETS[3] + 512);
    let mut damaged = 0;
    for offset in REPORTED_OFFSETS {
        for pattern in PATTERNS {
            damaged += run_case(offset, 512, pattern, When::BeforeOpening).damaged;
        }
    }
    // Without this, a run where none of the damage was ever read would pass.
    assert!(damaged > 0, "no operation noticed the damage");
}

#[test]
fn damage_to_any_page_gives_errors_not_panics() {
    let pages = valid_image().len().div_ceil(PAGE);
    let (mut refused, mut damaged) = (0, 0);
    for page in 0..pages {
        for pattern in PATTERNS {
            let report = run_case(page * PAGE, PAGE, pattern, When::BeforeOpening);
            refused += usize::from(!report.opened);
            damaged += report.damaged;
        }
    }
    assert!(refused > 0, "every damaged copy opened");
    assert!(damaged > 0, "no operation noticed the damage");
}

/// Damage done under an open store (a failing disk) is found by the
/// operations that read it, while serving, and the store goes on answering
/// with errors. Behind each page's header, so that what a page is still
/// reads as valid and its contents do not.
#[test]
fn damage_behind_any_page_header_while_open_gives_errors_not_panics() {
    let pages = valid_image().len().div_ceil(PAGE);
    let mut found_while_serving = 0;
    for page in 0..pages {
        // Not `Noise`: there, garbage child pointers name pages of up to
        // 4 GiB past the end of the file, and redb, unoptimized in a debug
        // build, zero-fills a buffer for each byte by byte (16 s a GiB)
        // before the read fails with an error. The fuzz target, built
        // optimized, meets such pointers.
        for pattern in [Pattern::Zeros, Pattern::Ones] {
            let offset = page * PAGE + PAGE_HEADER;
            let report = run_case(offset, PAGE - PAGE_HEADER, pattern, When::WhileOpen);
            if report.opened && report.damaged > 0 {
                found_while_serving += 1;
            }
        }
    }
    assert!(found_while_serving > 0, "no damage was found while serving");
}
