//! A measurement, not a check, so it is ignored by default: how long a
//! snapshot of a store of a million actors takes, and how long single
//! durable writes take while it runs, against the same writes just before.
//!
//! ```text
//! cargo test --release -p casting-core --test snapshot_stall -- --ignored --nocapture
//! ```
//!
//! The store lives under cargo's target temporary directory, so commits
//! pay a real disk's fsync rather than a tmpfs's. `CASTING_STALL_ACTORS`
//! sets another number of actors.

// The whole crate is a test: a panic is how it reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use casting_core::{NewActor, NewMovie, Store, Write};

const MOVIES: u64 = 10_000;
const BATCH: u64 = 10_000;
/// How long the writer runs alone before the snapshot, for the baseline.
const BASELINE: Duration = Duration::from_secs(5);

fn actor(n: u64) -> Write {
    Write::CreateActor(NewActor {
        name: format!("Actor number {n}"),
        age: (n % 100) as u8,
        gender: ["Female", "Male", "Other"][(n % 3) as usize].into(),
        // Half the actors are cast, as in the benches.
        movie_id: n.is_multiple_of(2).then_some(1 + n % MOVIES),
    })
}

/// Latencies in commit order, summarised.
fn summary(latencies: &[Duration]) -> String {
    if latencies.is_empty() {
        return "no commits".into();
    }
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
    format!(
        "{} commits, median {:.2} ms, p99 {:.2} ms, longest {:.2} ms",
        sorted.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        sorted[sorted.len() - 1].as_secs_f64() * 1e3
    )
}

#[test]
#[ignore = "a measurement of a minute or more; run it with --ignored --release"]
fn a_snapshot_of_a_million_actors_holds_no_write_up_for_longer_than_a_commit() {
    let actors: u64 = std::env::var("CASTING_STALL_ACTORS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let store = Arc::new(Store::open(dir.path().join("casting.redb")).unwrap());

    let started = Instant::now();
    let movies = (1..=MOVIES)
        .map(|n| {
            Write::CreateMovie(NewMovie {
                title: format!("Movie {n}"),
                release: "2010-10-13".parse().unwrap(),
            })
        })
        .collect();
    store
        .write_batch(&casting_core::Principal::owner(), movies)
        .unwrap();
    let mut n = 0;
    while n < actors {
        let end = (n + BATCH).min(actors);
        store
            .write_batch(
                &casting_core::Principal::owner(),
                (n..end).map(actor).collect(),
            )
            .unwrap();
        n = end;
    }
    let size = std::fs::metadata(dir.path().join("casting.redb"))
        .unwrap()
        .len();
    println!(
        "store: {MOVIES} movies, {actors} actors, {:.1} MB, built in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // One thread commits single writes in a loop and notes when each began
    // and how long it took.
    let stop = Arc::new(AtomicBool::new(false));
    let epoch = Instant::now();
    let writer = {
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut commits = Vec::new();
            let mut n = actors;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let began = Instant::now();
                store
                    .write(&casting_core::Principal::owner(), actor(n))
                    .unwrap();
                commits.push((began - epoch, began.elapsed()));
            }
            commits
        })
    };
    std::thread::sleep(BASELINE);
    let snapshot_began = epoch.elapsed();
    let path = dir.path().join("snapshot.redb");
    let info = store.snapshot(&path).unwrap();
    let snapshot_ended = epoch.elapsed();
    stop.store(true, Ordering::Relaxed);
    let commits = writer.join().unwrap();

    let before: Vec<Duration> = commits
        .iter()
        .filter(|(began, _)| *began < snapshot_began)
        .map(|(_, took)| *took)
        .collect();
    // A commit overlaps the snapshot when it ends after the snapshot began
    // and begins before it ended.
    let during: Vec<Duration> = commits
        .iter()
        .filter(|(began, took)| *began + *took > snapshot_began && *began < snapshot_ended)
        .map(|(_, took)| *took)
        .collect();
    println!(
        "snapshot: {} actors, {:.1} MB in {:.2} s",
        info.counts.actors,
        info.bytes as f64 / 1e6,
        (snapshot_ended - snapshot_began).as_secs_f64()
    );
    println!("single commits before the snapshot: {}", summary(&before));
    println!("single commits during the snapshot: {}", summary(&during));
    if let Some((began, took)) = commits
        .iter()
        .filter(|(began, took)| *began + *took > snapshot_began && *began < snapshot_ended)
        .max_by_key(|(_, took)| *took)
    {
        println!(
            "the longest began {:.2} s into the snapshot and took {:.2} ms",
            began.as_secs_f64() - snapshot_began.as_secs_f64(),
            took.as_secs_f64() * 1e3
        );
    }
    assert!(
        info.counts.actors >= actors,
        "the snapshot holds every actor written before it"
    );
    assert!(
        !during.is_empty(),
        "the writer committed during the snapshot"
    );
}
