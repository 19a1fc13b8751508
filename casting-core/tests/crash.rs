//! Crash consistency: a write the store acknowledged survives the process
//! being killed at any moment, and ids keep rising across crashes.
//!
//! The test runs its own binary again as a child that writes in a loop and
//! prints every record whose write has returned. The parent kills the child
//! with SIGKILL after a random short time, reopens the file and looks for
//! every printed record, five times over on the same file.

// The whole crate is a test: a panic is how it reports a failure, helpers
// included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use casting_core::{
    Actor, Movie, NewActor, NewMovie, PageRequest, ReleaseDate, Store, Write, Written,
};

/// Set, to the store's path, only in the child.
const CHILD_ENV: &str = "CASTING_CRASH_CHILD";
/// The name of the child's test, which it is run by.
const CHILD_TEST: &str = "the_child_writes_until_it_is_killed";
/// What starts each line that reports a durable record.
const ACK: &str = "ack ";

fn new_movie(n: u64) -> Write {
    // Every field varies with `n`, so a record mixed up with another shows.
    let release = ReleaseDate::new(
        1900 + (n % 100) as i16,
        1 + (n % 12) as i8,
        1 + (n % 28) as i8,
    )
    .unwrap();
    Write::CreateMovie(NewMovie {
        title: format!("pid {} movie {n}", std::process::id()),
        release,
    })
}

fn new_actor(n: u64, movie_id: Option<u64>) -> Write {
    Write::CreateActor(NewActor {
        name: format!("pid {} actor {n}", std::process::id()),
        age: (n % 151) as u8,
        gender: ["Male", "Female", "Other"][(n % 3) as usize].into(),
        movie_id,
    })
}

fn ack(out: &mut impl std::io::Write, written: &Written) {
    let line = match written {
        Written::Movie(movie) => format!("{ACK}movie {}\n", serde_json::to_string(movie).unwrap()),
        Written::Actor(actor) => format!("{ACK}actor {}\n", serde_json::to_string(actor).unwrap()),
        Written::Deleted(id) => panic!("the child deletes nothing, yet {id} was deleted"),
    };
    // One write of one whole line, so a kill cannot cut a line short
    // without the parent seeing the missing newline.
    out.write_all(line.as_bytes()).unwrap();
    out.flush().unwrap();
}

/// The child: does nothing in an ordinary test run.
#[test]
fn the_child_writes_until_it_is_killed() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = Store::open(path).unwrap();
    let mut out = std::io::stdout().lock();
    // libtest has printed "test NAME ... " without a newline; the acks
    // start on lines of their own.
    out.write_all(b"\n").unwrap();
    let mut movie_id = None;
    for n in 0u64.. {
        if n % 5 == 0 {
            let written = store
                .write(&casting_core::Principal::owner(), new_movie(n))
                .unwrap();
            if let Written::Movie(movie) = &written {
                movie_id = Some(movie.id);
            }
            ack(&mut out, &written);
        } else if n % 7 == 0 {
            // A batch is acknowledged as a whole, once its commit returns.
            let batch = (0..3).map(|i| new_actor(n * 10 + i, movie_id)).collect();
            for result in store
                .write_batch(&casting_core::Principal::owner(), batch)
                .unwrap()
            {
                ack(&mut out, &result.unwrap());
            }
        } else {
            let cast = if n % 2 == 0 { movie_id } else { None };
            ack(
                &mut out,
                &store
                    .write(&casting_core::Principal::owner(), new_actor(n, cast))
                    .unwrap(),
            );
        }
    }
}

/// A small xorshift generator; the seed is printed, so a failure can be rerun.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let seed = (nanos as u64) | 1;
        eprintln!("crash test seed: {seed}");
        Rng(seed)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Runs the child on `path` for about `run` after its first write, kills it
/// and returns every complete line it printed.
fn run_child_and_kill(path: &Path, run: Duration) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap() > 0 {
            if line.ends_with('\n') && lines.send(std::mem::take(&mut line)).is_err() {
                break;
            }
        }
    });

    // The clock starts at the first acknowledged write, so a slow start
    // does not leave a round with nothing to check.
    let mut read = Vec::new();
    while !read.iter().any(|l: &String| l.starts_with(ACK)) {
        read.push(
            received
                .recv_timeout(Duration::from_secs(60))
                .expect("the child wrote nothing within a minute"),
        );
    }
    std::thread::sleep(run);
    // SIGKILL: no destructor, no flush, no clean close of the file.
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    read.extend(received.try_iter());
    read
}

#[test]
fn acknowledged_writes_survive_being_killed() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("crash.redb");
    let mut rng = Rng::from_clock();
    let mut movies: BTreeMap<u64, Movie> = BTreeMap::new();
    let mut actors: BTreeMap<u64, Actor> = BTreeMap::new();
    // The highest ids in the file after the last crash, acknowledged or not.
    let (mut last_movie, mut last_actor) = (0, 0);

    for round in 0..5 {
        let run = Duration::from_millis(50 + rng.below(351));
        let lines = run_child_and_kill(&path, run);
        let mut acks = 0;
        for line in lines.iter().filter_map(|l| l.strip_prefix(ACK)) {
            acks += 1;
            if let Some(json) = line.strip_prefix("movie ") {
                let movie: Movie = serde_json::from_str(json).unwrap();
                assert!(
                    movie.id > last_movie,
                    "round {round}: movie id {} reused",
                    movie.id
                );
                assert!(movies.insert(movie.id, movie).is_none());
            } else if let Some(json) = line.strip_prefix("actor ") {
                let actor: Actor = serde_json::from_str(json).unwrap();
                assert!(
                    actor.id > last_actor,
                    "round {round}: actor id {} reused",
                    actor.id
                );
                assert!(actors.insert(actor.id, actor).is_none());
            } else {
                panic!("round {round}: unreadable ack {line:?}");
            }
        }
        assert!(acks > 0, "round {round}: nothing was acknowledged");
        eprintln!("round {round}: {acks} acknowledged in {run:?}");

        let store = Store::open(&path).unwrap();
        for (id, acked) in &movies {
            let found = store.movie(*id).unwrap();
            let found = found.unwrap_or_else(|| panic!("round {round}: movie {id} is lost"));
            assert_eq!(
                (&found.title, found.release_date),
                (&acked.title, acked.release_date)
            );
        }
        for (id, acked) in &actors {
            assert_eq!(
                store.actor(*id).unwrap().as_ref(),
                Some(acked),
                "round {round}"
            );
        }
        // A movie's cast is rebuilt from what survived, and must agree
        // with the actors' own movie ids.
        let all_actors = store.actors(PageRequest::default()).unwrap().items;
        for movie in store.movies(PageRequest::default()).unwrap().items {
            let cast: Vec<u64> = all_actors
                .iter()
                .filter(|a| a.movie_id == Some(movie.id))
                .map(|a| a.id)
                .collect();
            assert_eq!(movie.actors, cast, "round {round}");
        }
        let highest_movie = store
            .movies(PageRequest::default())
            .unwrap()
            .items
            .last()
            .map(|m| m.id);
        last_movie = highest_movie.unwrap_or(0);
        last_actor = all_actors.last().map_or(0, |a| a.id);
        assert!(movies.keys().all(|id| *id <= last_movie));
        assert!(actors.keys().all(|id| *id <= last_actor));
    }
}
