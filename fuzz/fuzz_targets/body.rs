//! See `casting_fuzz::core_checks::check_body` (casting-core/tests/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casting_fuzz::core_checks::check_body(data));
