//! The hot pieces of a request, each against its own baseline in the same
//! run:
//!
//! - `verify`: a bearer header to a principal, cold (a fresh token cache,
//!   so the RS256 signature is checked) against cached (the same token
//!   again: a hash of the token's last bytes, a map lookup and a
//!   comparison of the whole token).
//! - `encode`: a list body of 10 and of 1 000 movies to JSON bytes, the
//!   work `GET /movies` does after the read.
//! - `commit`: one durable `write_batch` of 1, 8 and 64 actor creates,
//!   reported per record, which is what group commit buys per fsync.

use std::error::Error;
use std::hint::black_box;
use std::sync::Arc;

use casting_core::{Movie, NewActor, Role, Store, Write};
use casting_server::auth::dev::{DEV_AUDIENCE, DEV_ISSUER, DevIssuer};
use casting_server::auth::{AuthConfig, Authenticator, KeySource};
use criterion::{BatchSize, Criterion, Throughput};
use jsonwebtoken::Algorithm;

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

fn authenticator(keys: &Arc<casting_server::auth::KeySet>) -> Authenticator {
    let config = AuthConfig {
        issuer: DEV_ISSUER.into(),
        audience: DEV_AUDIENCE.into(),
        algorithms: vec![Algorithm::RS256],
        leeway: 30,
    };
    Authenticator::new(config, KeySource::Fixed(Arc::clone(keys)))
}

fn verify(c: &mut Criterion) -> Result {
    let dir = tempfile::tempdir()?;
    let dev = DevIssuer::load_or_create(&dir.path().join("casting.redb"))?;
    let keys = Arc::new(dev.key_set()?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let header = format!("Bearer {}", dev.token(Role::Producer, now, 3600)?);
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let mut group = c.benchmark_group("verify");
    group.bench_function("cold", |b| {
        b.iter_batched(
            || authenticator(&keys),
            |auth| {
                runtime
                    .block_on(auth.authenticate(Some(header.as_bytes())))
                    .is_ok()
            },
            BatchSize::SmallInput,
        )
    });
    let cached = authenticator(&keys);
    runtime.block_on(cached.authenticate(Some(header.as_bytes())))?;
    group.bench_function("cached", |b| {
        b.iter(|| {
            runtime
                .block_on(cached.authenticate(black_box(Some(header.as_bytes()))))
                .is_ok()
        })
    });
    group.finish();
    Ok(())
}

fn encode(c: &mut Criterion) -> Result {
    let release = "2010-10-13".parse()?;
    let movie = |id: u64| Movie {
        id,
        title: format!("Movie {id}"),
        release_date: release,
        actors: vec![id, id + 1],
    };
    let mut group = c.benchmark_group("encode");
    for count in [10u64, 1000] {
        let movies: Vec<Movie> = (1..=count).map(movie).collect();
        group.throughput(Throughput::Elements(count));
        group.bench_function(format!("{count} movies"), |b| {
            b.iter(|| {
                serde_json::to_vec(black_box(&movies))
                    .map(|v| v.len())
                    .unwrap_or(0)
            })
        });
    }
    group.finish();
    Ok(())
}

fn commit(c: &mut Criterion) -> Result {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let store = Store::open(dir.path().join("commit.redb"))?;
    let actor = || {
        Write::CreateActor(NewActor {
            name: "Bench".into(),
            age: 30,
            gender: "Female".into(),
            movie_id: None,
        })
    };
    let mut group = c.benchmark_group("commit");
    for size in [1usize, 8, 64] {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(format!("batch of {size}"), |b| {
            b.iter_batched(
                || (0..size).map(|_| actor()).collect::<Vec<_>>(),
                |writes| {
                    store
                        .write_batch(&casting_core::Principal::owner(), writes)
                        .map(|r| r.len())
                        .unwrap_or(0)
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    Ok(())
}

fn main() -> Result {
    let mut c = Criterion::default().configure_from_args();
    verify(&mut c)?;
    encode(&mut c)?;
    commit(&mut c)?;
    c.final_summary();
    Ok(())
}
