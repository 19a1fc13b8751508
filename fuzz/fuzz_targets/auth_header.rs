//! See `casting_testkit::checks::auth::check_auth_header` (casting-server/tests/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casting_testkit::checks::auth::check_auth_header(data));
