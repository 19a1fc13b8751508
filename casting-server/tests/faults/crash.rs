//! Crash consistency through HTTP: concurrent clients create, change and
//! delete movies and actors while the server is killed with SIGKILL at random
//! moments, several times over on the same database.
//!
//! Each client owns the records it creates and touches no other, so its
//! acknowledged writes alone say what its records must be. At the kill, each
//! client has at most one request unanswered, which may or may not have been
//! committed; after the restart, its records must equal what its
//! acknowledged writes made, with or without that one request applied, and
//! nothing else. Every list must hold each id once, ids must never come back
//! after they were seen, and each movie's `actors` must be exactly the actors
//! whose `movie_id` names it.
//!
//! The audit log is checked against the records after every kill: replayed
//! from its first entry, it must give exactly the records the server holds
//! (no write without its entry, no entry without its write), and it must
//! hold at least one entry per acknowledged write.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::helpers::{Launch, Server, client};
use crate::records::{ActorRec, MovieRec, Records, replay_audit, snapshot};
use crate::rng::Rng;

/// How many times the server is killed.
const ROUNDS: usize = 5;
/// How many clients write at once.
const WORKERS: usize = 6;
/// The kill comes this long after the clients start, plus up to
/// [`KILL_SPREAD_MS`].
const KILL_AFTER_MS: u64 = 400;
const KILL_SPREAD_MS: u64 = 1200;

/// Release dates as sent, and as the server writes them back.
const DATES: [(&str, &str); 5] = [
    ("2010-10-13", "Wed, 13 Oct 2010 00:00:00 GMT"),
    ("1999-03-31", "Wed, 31 Mar 1999 00:00:00 GMT"),
    ("2024-02-29", "Thu, 29 Feb 2024 00:00:00 GMT"),
    ("1970-01-01", "Thu, 01 Jan 1970 00:00:00 GMT"),
    ("1888-12-25", "Tue, 25 Dec 1888 00:00:00 GMT"),
];
const GENDERS: [&str; 3] = ["Male", "Female", "Other"];

/// One write, with the body sent and what it makes of the records.
#[derive(Debug, Clone)]
enum Op {
    CreateMovie(Value, MovieRec),
    CreateActor(Value, ActorRec),
    PatchMovie(u64, Value, MovieRec),
    PatchActor(u64, Value, ActorRec),
    DeleteMovie(u64),
    DeleteActor(u64),
}

impl Op {
    fn request(&self) -> (Method, String, Option<&Value>) {
        match self {
            Op::CreateMovie(body, _) => (Method::POST, "/movies".into(), Some(body)),
            Op::CreateActor(body, _) => (Method::POST, "/actors".into(), Some(body)),
            Op::PatchMovie(id, body, _) => (Method::PATCH, format!("/movies/{id}"), Some(body)),
            Op::PatchActor(id, body, _) => (Method::PATCH, format!("/actors/{id}"), Some(body)),
            Op::DeleteMovie(id) => (Method::DELETE, format!("/movies/{id}"), None),
            Op::DeleteActor(id) => (Method::DELETE, format!("/actors/{id}"), None),
        }
    }
}

impl Records {
    /// The records once `op` is applied; `created` is the id a create got.
    fn apply(&mut self, op: &Op, created: Option<u64>) {
        match op {
            Op::CreateMovie(_, movie) => {
                self.movies
                    .insert(created.expect("a create has an id"), movie.clone());
            }
            Op::CreateActor(_, actor) => {
                self.actors
                    .insert(created.expect("a create has an id"), actor.clone());
            }
            Op::PatchMovie(id, _, movie) => {
                self.movies.insert(*id, movie.clone());
            }
            Op::PatchActor(id, _, actor) => {
                self.actors.insert(*id, actor.clone());
            }
            Op::DeleteMovie(id) => {
                self.movies.remove(id);
                // Its actors stay, taken off it, in the same transaction.
                for actor in self.actors.values_mut() {
                    if actor.movie_id == Some(*id) {
                        actor.movie_id = None;
                    }
                }
            }
            Op::DeleteActor(id) => {
                self.actors.remove(id);
            }
        }
    }
}

/// A client: its records as its acknowledged writes made them.
struct Worker {
    n: usize,
    records: Records,
    seq: u64,
    rng: Rng,
}

/// What a client did in one round.
struct Outcome {
    worker: Worker,
    /// The write whose answer never came, if any.
    pending: Option<Op>,
    acked: usize,
    /// The ids its acknowledged creates got, movies then actors.
    created: (Vec<u64>, Vec<u64>),
}

impl Worker {
    fn movie_id(&mut self) -> Option<u64> {
        let ids: Vec<u64> = self.records.movies.keys().copied().collect();
        (!ids.is_empty()).then(|| *self.rng.pick(&ids))
    }

    fn actor_id(&mut self) -> Option<u64> {
        let ids: Vec<u64> = self.records.actors.keys().copied().collect();
        (!ids.is_empty()).then(|| *self.rng.pick(&ids))
    }

    fn next_op(&mut self) -> Op {
        self.seq += 1;
        let (n, seq) = (self.n, self.seq);
        let roll = self.rng.below(100);
        let movie = self.movie_id();
        let actor = self.actor_id();
        match (roll, movie, actor) {
            (0..20, _, _) | (_, None, _) => {
                let (release, written) = *self.rng.pick(&DATES);
                let title = format!("w{n} movie {seq}");
                let body = json!({"title": title, "release": release});
                let movie = MovieRec {
                    title,
                    release_date: written.into(),
                };
                Op::CreateMovie(body, movie)
            }
            (20..50, Some(movie), _) | (_, Some(movie), None) => {
                let cast = self.rng.chance(60).then_some(movie);
                let actor = ActorRec {
                    name: format!("w{n} actor {seq}"),
                    age: seq % 151,
                    gender: (*self.rng.pick(&GENDERS)).into(),
                    movie_id: cast,
                };
                let mut body =
                    json!({"name": actor.name, "age": actor.age, "gender": actor.gender});
                // Not cast: the field absent, or null; both mean the same.
                if cast.is_some() || self.rng.chance(50) {
                    body["movie_id"] = json!(cast);
                }
                Op::CreateActor(body, actor)
            }
            (50..62, Some(movie), _) => {
                let mut after = self.records.movies[&movie].clone();
                let mut body = json!({});
                let both = self.rng.below(3);
                if both != 1 {
                    after.title = format!("w{n} movie {seq} (renamed)");
                    body["title"] = json!(after.title);
                }
                if both != 0 {
                    let (release, written) = *self.rng.pick(&DATES);
                    after.release_date = written.into();
                    body["release"] = json!(release);
                }
                Op::PatchMovie(movie, body, after)
            }
            (62..82, _, Some(actor)) => {
                let mut after = self.records.actors[&actor].clone();
                let mut body = json!({});
                if self.rng.chance(50) {
                    after.age = self.rng.below(151);
                    body["age"] = json!(after.age);
                }
                if self.rng.chance(30) {
                    after.name = format!("w{n} actor {seq} (renamed)");
                    body["name"] = json!(after.name);
                }
                if self.rng.chance(50) || body == json!({}) {
                    after.movie_id = if self.rng.chance(70) {
                        self.movie_id()
                    } else {
                        None
                    };
                    body["movie_id"] = json!(after.movie_id);
                }
                Op::PatchActor(actor, body, after)
            }
            (82..91, _, Some(actor)) => Op::DeleteActor(actor),
            (_, Some(movie), _) => Op::DeleteMovie(movie),
        }
    }

    /// Writes until the server goes away.
    async fn run(mut self, client: Client, addr: SocketAddr, token: String) -> Outcome {
        let mut acked = 0;
        let mut created = (Vec::new(), Vec::new());
        loop {
            let op = self.next_op();
            let (method, path, body) = op.request();
            let mut request = client
                .request(method.clone(), format!("http://{addr}{path}"))
                .bearer_auth(&token);
            if let Some(body) = body {
                request = request.json(body);
            }
            let answer = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    response.text().await.map(|text| (status, text))
                }
                Err(error) => Err(error),
            };
            let Ok((status, text)) = answer else {
                // Killed: this one may or may not have been committed.
                return Outcome {
                    worker: self,
                    pending: Some(op),
                    acked,
                    created,
                };
            };
            assert_eq!(
                status, 200,
                "worker {}: {method} {path} {body:?} answered {status} {text}",
                self.n
            );
            let json: Value = serde_json::from_str(&text).expect("a JSON answer");
            let id = match &op {
                Op::CreateMovie(..) => json["movie added"]["id"].as_u64(),
                Op::CreateActor(..) => json["actor added"]["id"].as_u64(),
                _ => None,
            };
            match (&op, id) {
                (Op::CreateMovie(..), Some(id)) => created.0.push(id),
                (Op::CreateActor(..), Some(id)) => created.1.push(id),
                _ => {}
            }
            self.records.apply(&op, id);
            acked += 1;
        }
    }
}

/// The worker a record's name or title belongs to: `w{n} ...`.
fn owner(label: &str) -> Option<usize> {
    label.strip_prefix('w')?.split(' ').next()?.parse().ok()
}

/// The records of worker `n` in `all`.
fn of_worker(all: &Records, n: usize) -> Records {
    Records {
        movies: all
            .movies
            .iter()
            .filter(|(_, m)| owner(&m.title) == Some(n))
            .map(|(id, m)| (*id, m.clone()))
            .collect(),
        actors: all
            .actors
            .iter()
            .filter(|(_, a)| owner(&a.name) == Some(n))
            .map(|(id, a)| (*id, a.clone()))
            .collect(),
    }
}

/// What the server holds for a worker must be its acknowledged records,
/// with or without its unanswered write; returns whether that write was
/// committed.
fn reconcile(n: usize, acked: &Records, pending: Option<&Op>, found: &Records) -> bool {
    if found == acked {
        return false;
    }
    let Some(op) = pending else {
        panic!(
            "worker {n}: the server holds {found:#?}\nbut the acknowledged writes made {acked:#?}"
        );
    };
    let created = match op {
        Op::CreateMovie(..) => found
            .movies
            .keys()
            .find(|id| !acked.movies.contains_key(id)),
        Op::CreateActor(..) => found
            .actors
            .keys()
            .find(|id| !acked.actors.contains_key(id)),
        _ => None,
    };
    let mut applied = acked.clone();
    applied.apply(op, created.copied().or(Some(0)));
    assert_eq!(
        found, &applied,
        "worker {n}: the server holds neither the acknowledged records nor them with {op:?}"
    );
    true
}

async fn start(db: &std::path::Path) -> (Server, String) {
    let server = Launch::dev(db).process().start().await;
    let token = server
        .printed_token("producer")
        .expect("a producer token is printed");
    (server, token)
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill_of_the_server() {
    let _machine = crate::shared().await;
    let mut rng = Rng::seeded("crash");
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("casting.redb");
    let (mut server, mut token) = start(&db).await;
    let mut workers: Vec<Worker> = (0..WORKERS)
        .map(|n| Worker {
            n,
            records: Records::default(),
            seq: 0,
            rng: rng.fork(),
        })
        .collect();
    let mut seen_movies = BTreeSet::new();
    let mut seen_actors = BTreeSet::new();
    let (mut total_acked, mut total_pending, mut total_applied) = (0, 0, 0);
    let mut committed_writes = 0;

    for round in 0..ROUNDS {
        let floor = (
            seen_movies.last().copied().unwrap_or(0),
            seen_actors.last().copied().unwrap_or(0),
        );
        let mut tasks = Vec::new();
        for worker in workers.drain(..) {
            let run = worker.run(client(), server.addr, token.clone());
            tasks.push(tokio::spawn(run));
        }
        let kill_after = KILL_AFTER_MS + rng.below(KILL_SPREAD_MS);
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        server.signal("KILL");
        let status = server.wait_exit(Duration::from_secs(10)).await;
        assert!(status.is_some(), "the server outlived SIGKILL");

        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("a worker finished without panicking"));
        }
        server.restart_after_exit().await;
        token = server
            .printed_token("producer")
            .expect("a producer token is printed");
        let all = snapshot(&server, &token).await;
        let strangers: Vec<_> = all
            .movies
            .values()
            .map(|m| &m.title)
            .chain(all.actors.values().map(|a| &a.name))
            .filter(|label| owner(label).is_none_or(|n| n >= WORKERS))
            .collect();
        assert!(
            strangers.is_empty(),
            "records no worker wrote: {strangers:?}"
        );

        let (mut acked, mut pending, mut applied) = (0, 0, 0);
        for mut outcome in outcomes {
            let n = outcome.worker.n;
            for id in &outcome.created.0 {
                assert!(*id > floor.0, "movie id {id} was given again");
                assert!(seen_movies.insert(*id), "movie id {id} was given twice");
            }
            for id in &outcome.created.1 {
                assert!(*id > floor.1, "actor id {id} was given again");
                assert!(seen_actors.insert(*id), "actor id {id} was given twice");
            }
            let found = of_worker(&all, n);
            if reconcile(n, &outcome.worker.records, outcome.pending.as_ref(), &found) {
                applied += 1;
            }
            // A create committed but never answered got an id too.
            for id in found.movies.keys() {
                if !outcome.worker.records.movies.contains_key(id) {
                    assert!(*id > floor.0, "movie id {id} was given again");
                    assert!(seen_movies.insert(*id), "movie id {id} was given twice");
                }
            }
            for id in found.actors.keys() {
                if !outcome.worker.records.actors.contains_key(id) {
                    assert!(*id > floor.1, "actor id {id} was given again");
                    assert!(seen_actors.insert(*id), "actor id {id} was given twice");
                }
            }
            acked += outcome.acked;
            pending += usize::from(outcome.pending.is_some());
            outcome.worker.records = found;
            workers.push(outcome.worker);
        }
        committed_writes += acked + applied;
        let (logged, entries) = replay_audit(&server, &token).await;
        assert_eq!(
            logged, all,
            "round {round}: the audit log, replayed, is not what the server holds"
        );
        assert!(
            entries >= committed_writes as u64,
            "round {round}: {entries} audit entries for {committed_writes} committed writes"
        );
        eprintln!(
            "round {round}: killed after {kill_after} ms; {acked} writes acknowledged, \
             {pending} unanswered of which {applied} were committed; the store holds \
             {} movies and {} actors",
            all.movies.len(),
            all.actors.len()
        );
        assert!(acked > 0, "round {round}: no write was acknowledged");
        total_acked += acked;
        total_pending += pending;
        total_applied += applied;
    }

    // A last, clean restart keeps everything as it is.
    let status = server.terminate().await;
    assert!(status.success(), "SIGTERM: {status}");
    let (server, token) = start(&db).await;
    let all = snapshot(&server, &token).await;
    for worker in &workers {
        assert_eq!(
            of_worker(&all, worker.n),
            worker.records,
            "worker {} after a clean restart",
            worker.n
        );
    }
    eprintln!(
        "{ROUNDS} kills: {total_acked} writes acknowledged, none lost; \
         {total_pending} unanswered, {total_applied} of them committed"
    );
}
