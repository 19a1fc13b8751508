//! The checks the fuzz targets run, one per target of `casting-core` (and,
//! with the feature `server`, [`auth`] for casting-server's two): each
//! target is one call to a `check_*` function here, and
//! `casting-core/tests/fuzz_corpus.rs` replays `fuzz/corpus/<target>/`
//! through the same function in `cargo test`, so a target and its
//! regression test cannot drift apart. A check panics on a finding; any
//! input, even one that decodes to nothing useful, is a valid input.

#[cfg(feature = "server")]
pub mod auth;
pub mod body;
pub mod release_date;
pub mod store;
pub mod store_file;

pub use body::check_body;
pub use release_date::check_release_date;
pub use store::check_store;
pub use store_file::check_store_file;
