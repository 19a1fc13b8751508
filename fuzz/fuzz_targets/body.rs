//! See `casting_testkit::checks::check_body` (testkit/src/checks/).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casting_testkit::checks::check_body(data));
