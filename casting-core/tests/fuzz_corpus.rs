//! The regression tests that replay the corpus of the `body`,
//! `release_date`, `store` and `store_file` fuzz targets
//! (`fuzz/corpus/<target>/`) through their checks, so every case the fuzzer
//! kept is run by `cargo test`.
//!
//! The checks live in the test kit (`casting_testkit::checks`), which the
//! fuzz targets call too, so a target and its regression test cannot drift
//! apart. A check panics on a finding.

// The whole crate is a test: a panic is how it reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use casting_core::{ActorPatch, MoviePatch, NewActor, NewMovie};
use casting_testkit::checks::{check_body, check_release_date, check_store, check_store_file};
use casting_testkit::corpus::{corpus, replay};
use serde_json::Value;

#[test]
fn every_body_in_the_corpus_passes_the_body_checks() {
    replay("body", check_body);
}

/// The checks above pass vacuously on a corpus whose bodies every decoder
/// refuses, or accepts: this one says each decoder does both.
#[test]
fn the_body_corpus_is_accepted_and_refused_by_every_decoder() {
    let bodies: Vec<Value> = corpus("body")
        .iter()
        .filter_map(|(_, data)| serde_json::from_slice(data).ok())
        .collect();
    let both =
        |decode: &dyn Fn(&Value) -> bool| bodies.iter().any(decode) && !bodies.iter().all(decode);
    assert!(both(&|b| NewMovie::from_json(b).is_ok()));
    assert!(both(&|b| MoviePatch::from_json(b).is_ok()));
    assert!(both(&|b| NewActor::from_json(b).is_ok()));
    assert!(both(&|b| ActorPatch::from_json(b).is_ok()));
}

#[test]
fn every_string_in_the_corpus_passes_the_release_date_checks() {
    replay("release_date", check_release_date);
}

#[test]
fn every_sequence_in_the_corpus_leaves_the_store_agreeing_with_the_model() {
    replay("store", check_store);
}

/// Besides the checks, the corpus must hold files that fail to open, files
/// whose damage is found while serving, and files that answer everything,
/// or the checks would pass vacuously. One test, because each file costs a
/// store's worth of commits.
#[test]
fn every_patch_list_in_the_corpus_leaves_the_store_answering_without_panics() {
    let (mut refused, mut damaged_while_serving, mut answered) = (false, false, false);
    replay("store_file", |data| {
        let report = check_store_file(data);
        refused |= !report.opened;
        damaged_while_serving |= report.opened && report.damaged > 0;
        answered |= report.opened && report.failed == 0;
    });
    assert!(refused, "no file in the corpus fails to open");
    assert!(
        damaged_while_serving,
        "no file's damage is found while serving"
    );
    assert!(answered, "no file answers everything");
}
