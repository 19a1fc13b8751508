//! See `casting_fuzz::server_checks::check_auth_token` (casting-server/tests/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casting_fuzz::server_checks::check_auth_token(data));
