//! See `casting_testkit::checks::check_release_date` (testkit/src/checks/).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casting_testkit::checks::check_release_date(data));
