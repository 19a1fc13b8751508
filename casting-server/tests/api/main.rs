//! The black-box suite of `casting-server`: every test starts the server on
//! `127.0.0.1:0` and speaks HTTP to it, as a client of docs/api.md would;
//! the server runs inside the test process unless the process itself is
//! under test (its log, signals, exit), where it is the real binary.

// clippy.toml allows these in `#[test]` functions only; the harness's helpers
// are test code too, and a failed expectation there is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod actors;
mod audit;
mod auth;
mod backups;
mod conditional;
mod config;
mod copy;
mod cors;
mod dev_mode;
mod dev_token;
mod errors;
mod helpers;
mod http_layer;
mod logging;
mod meta;
mod mock_issuer;
mod movies;
mod operations;
mod pagination;
mod paths;
mod permissions;
mod rate_limit;
mod search;
mod shutdown;
mod token_cache;
