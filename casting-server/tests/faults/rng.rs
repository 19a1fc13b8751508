//! A small xorshift generator for the random parts of these tests. The seed
//! is printed, and `CASTING_FAULTS_SEED` replays it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Set to a seed a failed run printed, to replay that run's choices.
const SEED_ENV: &str = "CASTING_FAULTS_SEED";

pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded from `CASTING_FAULTS_SEED` or the clock; prints
    /// the seed under `label`.
    pub(crate) fn seeded(label: &str) -> Self {
        let seed = std::env::var(SEED_ENV)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .expect("the clock is after 1970")
                    .as_nanos();
                // The low bits vary most; truncating keeps them.
                nanos as u64
            });
        eprintln!("{label}: seed {seed} (replay with {SEED_ENV}={seed})");
        Rng(seed | 1)
    }

    /// A number in `0..bound`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }

    /// True with probability `percent` in 100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = usize::try_from(self.below(items.len() as u64)).expect("an index fits");
        &items[index]
    }

    /// A generator of its own, for a task, derived from this one.
    pub(crate) fn fork(&mut self) -> Rng {
        Rng(self.below(u64::MAX) | 1)
    }
}
