//! The checks the fuzz targets run. They live in the regression tests of
//! the main workspace, which replay `fuzz/corpus/` through them in
//! `cargo test`; this crate includes those files as modules, so a target
//! and its regression test cannot drift apart.

#[path = "../../casting-core/tests/fuzz_corpus.rs"]
pub mod core_checks;

#[path = "../../casting-server/tests/fuzz_corpus.rs"]
pub mod server_checks;
