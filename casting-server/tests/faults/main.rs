//! Faults the server must survive, each against the real binary: SIGKILL in
//! the middle of concurrent writes, a store that cannot grow, an issuer whose
//! key set fails, and connections that never finish their requests.
//!
//! These take seconds to tens of seconds each, mostly waiting, so they live
//! in a test binary of their own rather than in the quick `api` suite. They
//! reuse that suite's harness.

// clippy.toml allows these in `#[test]` functions only; the harness's helpers
// are test code too, and a failed expectation there is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

/// Every server here is the real binary: these tests kill it, fill its
/// disk and cut its database, which only a process of its own survives.
const IN_PROCESS: bool = false;

// The harness is shared with `tests/api`, and this binary uses only part of it.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/mock_issuer.rs"]
mod mock_issuer;

mod cluster;
mod crash;
mod database_outage;
mod disk_full;
mod key_set;
mod records;
mod replicas;
mod rng;
mod slow_clients;
