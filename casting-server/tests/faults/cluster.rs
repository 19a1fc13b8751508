//! The PostgreSQL cluster the replica and outage tests run on: the URL of a
//! database through which they create their own, from
//! `CASTING_TEST_POSTGRES`. Without it they do not run, except under CI
//! (`CI` set), where they fail: `.ci/run` starts a cluster.

/// The admin URL, or `None` when `test` is to be skipped.
pub(crate) fn admin_url(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var("CASTING_TEST_POSTGRES") {
        return Some(url);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CASTING_TEST_POSTGRES is not set: .ci/run starts PostgreSQL for {test}"
    );
    eprintln!("{test}: CASTING_TEST_POSTGRES is not set; not run (see .ci/postgres)");
    None
}
