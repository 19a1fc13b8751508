//! See `casting_testkit::checks::check_store_file` (testkit/src/checks/).
//!
//! casting-core catches the panics redb raises on a damaged file, but
//! libfuzzer-sys's panic hook aborts on every panic, caught or not. The
//! hook is replaced by a silent one, so only a panic that unwinds out of
//! the target aborts (libfuzzer-sys aborts on that itself); replay a crash
//! through `cargo test -p casting-core --test fuzz_corpus` to see its
//! message.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: std::panic::set_hook(Box::new(|_| {})),
    |data: &[u8]| {
        casting_testkit::checks::check_store_file(data);
    }
);
