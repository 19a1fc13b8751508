//! The test kit of the casting workspace, shared by the tests of
//! casting-core and casting-server and the fuzz targets (`fuzz/`), so that
//! none keeps a copy of another's support:
//!
//! - [`model`]: the store's reference model, two `BTreeMap`s that do what
//!   the contract says;
//! - [`strategy`]: proptest strategies of writes, steps and queries;
//! - [`stored`]: what a store file holds below the public API (its id
//!   counters and cast index), read from a snapshot;
//! - [`checks`]: the checks of the fuzz targets of casting-core, with
//!   [`bytes`], the reader of a fuzz input;
//! - [`corpus`]: the fuzz corpus, replayed by the regression tests;
//! - [`damaged_store`]: a valid store file to damage, and every operation
//!   to run on it;
//! - [`postgres`] (feature `postgres`): a database of its own per
//!   PostgreSQL test, and a proxy that cuts connections at their `COMMIT`;
//! - [`app`] (feature `server`): casting-server's test application, a
//!   server inside the test process or as the binary, with a client, tokens
//!   and whole replies; and [`issuer`], a mock Auth0 with its key set and
//!   tokens, good and bad.
//!
//! Not published: it is test code only.

// Test code: a panic is how a check or a helper reports a finding, so
// `unwrap` and `expect` are the point, not a shortcut.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "server")]
pub mod app;
pub mod bytes;
pub mod checks;
pub mod corpus;
pub mod damaged_store;
#[cfg(feature = "server")]
pub mod issuer;
pub mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod stored;
pub mod strategy;
