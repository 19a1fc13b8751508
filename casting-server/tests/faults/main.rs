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

// The test application and the mock issuer of the workspace's test kit.
// Every server here is the real binary (`Launch::process`): these tests
// kill it, fill its disk and cut its database, which only a process of its
// own survives.
mod helpers {
    pub(crate) use casting_testkit::app::*;
}
mod mock_issuer {
    pub(crate) use casting_testkit::issuer::*;
}

mod cluster;
mod crash;
mod database_outage;
mod disk_full;
mod key_set;
mod records;
mod replicas;
mod rng;
mod slow_clients;

/// The machine, as the tests of this suite share it: a test that measures
/// how promptly the server answers under a flood runs apart from every
/// other test that loads the machine (floods, concurrent writers), so its
/// own flood is all the load it sees; those run side by side, and the
/// light ones (a few requests, much waiting) beside anything.
static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Waits until no other test of this suite that loads the machine runs,
/// and keeps it so.
async fn alone() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

/// For a test that loads the machine: waits until no latency test runs,
/// and keeps it so.
async fn shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MACHINE.read().await
}
