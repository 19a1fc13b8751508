//! What casting-core costs, in process and on the real disk.
//!
//! - `create`: one actor per durable commit against 64 actors in one
//!   `write_batch`, both reported per record (throughput in elements), which
//!   is what batching saves. The fsync of each commit dominates both.
//! - `get`: one actor, and one movie with its cast, by id from a store of
//!   10 000 movies and 100 000 actors.
//! - `list`: all 10 000 movies of that store on one page, each with its cast
//!   (half the actors are cast, five per movie).
//! - `search`: the 100 000 actors scanned for a name substring that about 1%
//!   of them hold (1 000 matches, all on one page).
//! - `authorize`: the permission check every request starts with, granted
//!   and refused, the floor against which the rest compares.
//!
//! Stores live under cargo's target temporary directory, so commits pay a
//! real disk's fsync rather than a tmpfs's.

use std::error::Error;
use std::hint::black_box;
use std::path::Path;

use casting_core::{
    ActorQuery, NewActor, NewMovie, PageRequest, Permission, Principal, ReleaseDate, Role, Store,
    Write, authorize,
};
use criterion::{BatchSize, Criterion, Throughput};

const MOVIES: u64 = 10_000;
const ACTORS: u64 = 100_000;
/// One actor in this many has the name the search looks for.
const NEEDLE_EVERY: u64 = 100;
const BATCH: usize = 64;

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

fn temp_dir() -> Result<tempfile::TempDir> {
    Ok(tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?)
}

fn new_actor(i: u64, movie_id: Option<u64>) -> Write {
    let name = if i.is_multiple_of(NEEDLE_EVERY) {
        format!("Starlet {i:06}")
    } else {
        format!("Actor {i:06}")
    };
    Write::CreateActor(NewActor {
        name,
        age: (i % 100) as u8,
        gender: if i.is_multiple_of(2) {
            "Female"
        } else {
            "Male"
        }
        .into(),
        movie_id,
    })
}

/// Applies `writes` in batches of 1 000, failing on the first refusal.
fn fill(store: &Store, writes: impl Iterator<Item = Write>) -> Result {
    let writes: Vec<Write> = writes.collect();
    for chunk in writes.chunks(1000) {
        for result in store.write_batch(&casting_core::Principal::owner(), chunk.to_vec())? {
            result?;
        }
    }
    Ok(())
}

/// A store of 10 000 movies and 100 000 actors, half of them cast.
fn populated(path: &Path) -> Result<Store> {
    let store = Store::open(path)?;
    let release = ReleaseDate::new(2001, 1, 1)?;
    fill(
        &store,
        (1..=MOVIES).map(|i| {
            Write::CreateMovie(NewMovie {
                title: format!("Movie {i:05}"),
                release,
            })
        }),
    )?;
    fill(
        &store,
        (1..=ACTORS).map(|i| new_actor(i, i.is_multiple_of(2).then_some(i / 2 % MOVIES + 1))),
    )?;
    Ok(store)
}

fn creates(c: &mut Criterion) -> Result {
    let dir = temp_dir()?;
    let store = Store::open(dir.path().join("create.redb"))?;
    let mut group = c.benchmark_group("create");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_actor_per_commit", |b| {
        b.iter_batched(
            || new_actor(1, None),
            |write| store.write(&casting_core::Principal::owner(), write),
            BatchSize::SmallInput,
        );
    });
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("batch_of_64_actors", |b| {
        b.iter_batched(
            || (0..BATCH as u64).map(|i| new_actor(i, None)).collect(),
            |writes| store.write_batch(&casting_core::Principal::owner(), writes),
            BatchSize::SmallInput,
        );
    });
    group.finish();
    // The measured closures only hand their results to criterion; one more
    // write shows that they were not errors.
    store.write(&casting_core::Principal::owner(), new_actor(1, None))?;
    Ok(())
}

fn reads(c: &mut Criterion, store: &Store) -> Result {
    // A stride through the ids, so each read is not the same hot page.
    let mut next = 0;
    let mut id = move |count: u64| {
        next = (next + 7919) % count;
        next + 1
    };
    let mut group = c.benchmark_group("get");
    group.bench_function("actor_by_id", |b| {
        b.iter(|| store.actor(black_box(id(ACTORS))));
    });
    group.bench_function("movie_by_id_with_cast", |b| {
        b.iter(|| store.movie(black_box(id(MOVIES))));
    });
    group.finish();

    let mut group = c.benchmark_group("list");
    group.throughput(Throughput::Elements(MOVIES));
    group.bench_function("all_10000_movies", |b| {
        b.iter(|| store.movies(black_box(PageRequest::default())));
    });
    group.finish();

    let query = ActorQuery {
        q: Some("starlet".into()),
        ..ActorQuery::default()
    };
    let mut group = c.benchmark_group("search");
    group.throughput(Throughput::Elements(ACTORS));
    group.bench_function("actors_by_name_1_percent_of_100000", |b| {
        b.iter(|| store.search_actors(black_box(&query)));
    });
    group.finish();

    // The measured reads' results went unchecked; these are what they saw.
    let movies = store.movies(PageRequest::default())?;
    let found = store.search_actors(&query)?;
    if movies.items.len() as u64 != MOVIES || found.total != ACTORS / NEEDLE_EVERY {
        return Err(format!(
            "the store holds {} movies and {} matches",
            movies.items.len(),
            found.total
        )
        .into());
    }
    Ok(())
}

fn permissions(c: &mut Criterion) {
    let producer = Principal::with_role("producer", Role::Producer);
    let assistant = Principal::with_role("assistant", Role::Assistant);
    let mut group = c.benchmark_group("authorize");
    group.bench_function("granted", |b| {
        b.iter(|| authorize(black_box(&producer), black_box(Permission::DeleteMovies)));
    });
    group.bench_function("refused", |b| {
        b.iter(|| authorize(black_box(&assistant), black_box(Permission::DeleteMovies)));
    });
    group.finish();
}

// A main of our own rather than `criterion_main!`, so that setup can fail
// with an error instead of a panic.
fn main() -> Result {
    let mut c = Criterion::default().configure_from_args();
    creates(&mut c)?;
    let dir = temp_dir()?;
    let store = populated(&dir.path().join("populated.redb"))?;
    reads(&mut c, &store)?;
    permissions(&mut c);
    c.final_summary();
    Ok(())
}
