//! A valid store file to damage, and every operation of the store to run on
//! the damaged copy. Shared by `casting-core/tests/damaged_file.rs` (a
//! deterministic sweep of damage) and the `store_file` check
//! ([`crate::checks::store_file`], damage the fuzzer chooses), so both run
//! the same operations and hold them to the same rules.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use casting_core::{
    ActorPatch, ActorQuery, Error, MoviePatch, MovieQuery, NewActor, NewMovie, PageRequest,
    ReleaseDate, Store, StoreError, Write,
};

/// How many movies and actors the valid store was given.
pub const MOVIES: u64 = 40;
/// See [`MOVIES`].
pub const ACTORS: u64 = 120;
/// The records the valid store holds after its deletes.
pub const LIVE_MOVIES: u64 = MOVIES - MOVIES / 10;
/// See [`LIVE_MOVIES`].
pub const LIVE_ACTORS: u64 = ACTORS - ACTORS / 12;

/// Where the damaged copies go: a RAM disk when there is one, because every
/// commit is flushed to disk and the flushes are not what is checked here.
pub fn scratch_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn release(n: u64) -> ReleaseDate {
    ReleaseDate::new(
        1950 + (n % 70) as i16,
        1 + (n % 12) as i8,
        1 + (n % 28) as i8,
    )
    .unwrap()
}

/// The bytes of a closed store holding [`LIVE_MOVIES`] movies and
/// [`LIVE_ACTORS`] actors, most of them cast, written by single writes and
/// batches, with updates and deletes so that its free pages are in use too.
/// Built once per process.
pub fn valid_image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = tempfile::tempdir_in(scratch_dir()).unwrap();
        let path = dir.path().join("casting.redb");
        let store = Store::open(&path).unwrap();
        for n in 1..=MOVIES {
            let title = format!("Movie {n} of the valid store, long enough to fill its pages");
            let movie = Write::CreateMovie(NewMovie {
                title,
                release: release(n),
            });
            store
                .write(&casting_core::Principal::owner(), movie)
                .unwrap();
        }
        let actors: Vec<Write> = (1..=ACTORS)
            .map(|n| {
                Write::CreateActor(NewActor {
                    name: format!("Actor {n} with a name of some length"),
                    age: (20 + n % 60) as u8,
                    gender: ["Female", "Male", "Other"][(n % 3) as usize].into(),
                    movie_id: (n % 5 != 0).then_some(1 + n % MOVIES),
                })
            })
            .collect();
        for batch in actors.chunks(4) {
            for result in store
                .write_batch(&casting_core::Principal::owner(), batch.to_vec())
                .unwrap()
            {
                result.unwrap();
            }
        }
        for n in (1..=MOVIES).step_by(3) {
            let patch = MoviePatch {
                title: Some(format!("Movie {n}, renamed")),
                ..MoviePatch::default()
            };
            store
                .write(
                    &casting_core::Principal::owner(),
                    Write::UpdateMovie(n, patch),
                )
                .unwrap();
        }
        for n in (2..=MOVIES).step_by(10) {
            store
                .write(&casting_core::Principal::owner(), Write::DeleteMovie(n))
                .unwrap();
        }
        for n in (3..=ACTORS).step_by(12) {
            store
                .write(&casting_core::Principal::owner(), Write::DeleteActor(n))
                .unwrap();
        }
        let counts = store.counts().unwrap();
        assert_eq!((counts.movies, counts.actors), (LIVE_MOVIES, LIVE_ACTORS));
        drop(store);
        std::fs::read(&path).unwrap()
    })
}

/// Writes `bytes` at `offset` into the file at `path`, cut short at its
/// end, as a failing disk would, whoever has it open.
pub fn overwrite(path: &Path, offset: usize, bytes: &[u8]) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = usize::try_from(file.metadata().unwrap().len()).unwrap();
    let end = (offset + bytes.len()).min(len);
    if offset < end {
        file.write_all_at(&bytes[..end - offset], offset as u64)
            .unwrap();
    }
}

/// What the operations on one damaged copy gave.
#[derive(Debug, Default)]
pub struct Report {
    /// Whether the store opened.
    pub opened: bool,
    /// How many operations failed, opening included.
    pub failed: usize,
    /// How many of those failed with [`StoreError::Damaged`].
    pub damaged: usize,
}

impl Report {
    /// Notes a store error, checking that it reads as the contract's
    /// messages do: one line, and for damage, the file and the way out.
    fn store_error(&mut self, path: &Path, error: &StoreError) {
        self.failed += 1;
        let message = error.to_string();
        assert!(!message.contains('\n'), "not one line: {message:?}");
        if let StoreError::Damaged { file, .. } = error {
            self.damaged += 1;
            assert_eq!(file, path, "{message}");
            assert!(
                message.starts_with(&format!("the store file {} is damaged (", path.display()))
                    && message.ends_with("): restore it from a backup"),
                "{message}"
            );
        }
    }

    fn result<T>(&mut self, path: &Path, result: Result<T, StoreError>) {
        if let Err(error) = result {
            self.store_error(path, &error);
        }
    }

    /// A refusal (a record the damage took away, say) is a fine answer
    /// from a damaged store; only a storage error is checked.
    fn write_result<T>(&mut self, path: &Path, result: Result<T, Error>) {
        match result {
            Err(Error::Storage(error)) => self.store_error(path, &error),
            Err(Error::NotFound { .. } | Error::Invalid(_)) | Ok(_) => {}
            // Neither can happen: the writes are a producer's, unconditional.
            Err(error @ (Error::Forbidden { .. } | Error::PreconditionFailed { .. })) => {
                panic!("refused: {error}")
            }
        }
    }
}

/// Opens the store file at `path` through [`casting_core::Agency::open`], then runs every
/// read, single writes, a batch and a reopen on it, and drops it. A panic
/// out of any of them is the finding: it unwinds out of this function.
pub fn exercise(path: &Path) -> Report {
    exercise_damaged_while_open(path, || {})
}

/// [`exercise`], with `damage` done to the file once it is open: opening
/// verifies every page, so damage done before it is refused there, and
/// only damage done since (a failing disk) is found while serving.
pub fn exercise_damaged_while_open(path: &Path, damage: impl FnOnce()) -> Report {
    let mut report = Report::default();
    let store = match Store::open(path) {
        Ok(store) => store,
        Err(error) => {
            report.store_error(path, &error);
            return report;
        }
    };
    report.opened = true;
    damage();
    let _ = (store.generation(), store.is_writable());
    report.result(path, store.counts());
    report.result(path, store.movies(PageRequest::default()));
    report.result(path, store.movies(PageRequest::first(7).after(11)));
    report.result(path, store.actors(PageRequest::default()));
    report.result(path, store.actors(PageRequest::first(9).after(50)));
    for id in (1..=MOVIES + 1).step_by(3) {
        report.result(path, store.movie(id));
    }
    for id in (1..=ACTORS + 1).step_by(7) {
        report.result(path, store.actor(id));
    }
    let movie_query = MovieQuery {
        q: Some("renamed".into()),
        released_after: Some(release(3)),
        ..MovieQuery::default()
    };
    report.result(path, store.search_movies(&movie_query));
    report.result(path, store.prepare_search());
    let actor_query = ActorQuery {
        q: Some("actor 1".into()),
        min_age: Some(30),
        ..ActorQuery::default()
    };
    report.result(path, store.search_actors(&actor_query));
    let new_movie = || {
        Write::CreateMovie(NewMovie {
            title: "Written to a damaged store".into(),
            release: release(1),
        })
    };
    report.write_result(
        path,
        store.write(&casting_core::Principal::owner(), new_movie()),
    );
    let batch = vec![
        new_movie(),
        Write::CreateActor(NewActor {
            name: "Cast in a damaged store".into(),
            age: 33,
            gender: "Female".into(),
            movie_id: Some(1),
        }),
        Write::UpdateActor(
            4,
            ActorPatch {
                age: Some(44),
                ..ActorPatch::default()
            },
        ),
        Write::DeleteMovie(5),
    ];
    match store.write_batch(&casting_core::Principal::owner(), batch) {
        Ok(results) => {
            for result in results {
                report.write_result(path, result);
            }
        }
        Err(error) => report.store_error(path, &error),
    }
    report.write_result(
        path,
        store.write(&casting_core::Principal::owner(), Write::DeleteActor(6)),
    );
    report.result(path, store.reopen());
    report.result(path, store.counts());
    report.result(path, store.search_actors(&actor_query));
    report.write_result(
        path,
        store.write(&casting_core::Principal::owner(), new_movie()),
    );
    report
}
