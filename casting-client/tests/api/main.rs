//! The end-to-end suite of `casting-client`: every test talks to a real
//! `casting-server` in a child process (see `server.rs`), or, for answers
//! the real server never gives, to a fake one (`fake.rs`), through the SDK
//! only.

// clippy.toml allows these in `#[test]` functions only; the helpers of a
// test binary panic on a broken setup just as the tests do.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod actors;
mod audit;
mod conditional;
mod credentials;
mod errors;
mod fake;
mod fixtures;
mod meta;
mod mock;
mod movies;
mod permissions;
mod retries;
mod search;
mod server;
mod streams;
mod tokens;
mod transport;
