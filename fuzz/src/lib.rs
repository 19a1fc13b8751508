//! The fuzz targets call the checks of the workspace's test kit
//! (`casting_testkit::checks`, `testkit/` in the main workspace), which
//! the regression tests of casting-core and casting-server also replay
//! `fuzz/corpus/` through, so a target and its regression test cannot
//! drift apart. This library is empty: it keeps the crate's layout.
