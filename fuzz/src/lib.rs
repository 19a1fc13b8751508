//! The checks of the server's fuzz targets. They live in the regression
//! tests of casting-server, which replay `fuzz/corpus/` through them in
//! `cargo test`; this crate includes that file as a module, so a target
//! and its regression test cannot drift apart.
//!
//! The checks of casting-core's targets are in the test kit
//! (`casting_testkit::checks`, `testkit/` in the main workspace), which
//! the targets call directly.

#[path = "../../casting-server/tests/fuzz_corpus.rs"]
pub mod server_checks;
