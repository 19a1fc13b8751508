//! Several server processes over one PostgreSQL database behave as one
//! server: started at the same moment on an empty database (the schema and
//! the development key are made once), they take writes from clients that
//! pick a process at random, and every acknowledged write is visible at once
//! from another process, by id, in searches and in the audit log. Ids are
//! unique and in commit order, deleted ids never return, a process killed
//! with SIGKILL mid-load loses no acknowledged write, and afterwards every
//! process answers byte for byte the same.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Launch, Server, client, database_in};
use crate::rng::Rng;

/// How many processes share the database.
const PROCESSES: usize = 3;
/// How many clients write at once.
const CLIENTS: usize = 8;
/// How long the clients write.
const LOAD: Duration = Duration::from_secs(5);

/// What every client saw acknowledged.
#[derive(Debug, Default)]
struct Seen {
    /// Actor ids created, with the name each was created with.
    created: Vec<(u64, String)>,
    /// Actor ids deleted.
    deleted: BTreeSet<u64>,
    /// Actor ids whose delete went out but got no answer: the process may
    /// have committed it just before it was killed, so either outcome is
    /// right.
    maybe_deleted: BTreeSet<u64>,
    /// Answers with a 5xx status, which must not happen.
    faults: Vec<String>,
}

/// One process, as the clients address it.
#[derive(Clone)]
struct Replica {
    base: String,
    token: String,
    alive: Arc<std::sync::atomic::AtomicBool>,
}

impl Replica {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn call(
    client: &Client,
    replica: &Replica,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Option<(StatusCode, Value)> {
    let mut request = client
        .request(method, replica.url(path))
        .bearer_auth(&replica.token)
        .timeout(Duration::from_secs(20));
    if let Some(body) = body {
        request = request.json(&body);
    }
    // A killed process refuses or drops the connection: no answer, no ack.
    let response = request.send().await.ok()?;
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    Some((status, body))
}

/// Another live replica than `not`, if any.
fn other<'a>(replicas: &'a [Replica], not: usize, rng: &mut Rng) -> Option<&'a Replica> {
    let alive: Vec<usize> = (0..replicas.len())
        .filter(|&i| i != not && replicas[i].alive.load(std::sync::atomic::Ordering::SeqCst))
        .collect();
    (!alive.is_empty()).then(|| &replicas[alive[rng.below(alive.len() as u64) as usize]])
}

async fn client_loop(
    n: usize,
    replicas: Arc<Vec<Replica>>,
    seen: Arc<Mutex<Seen>>,
    until: Instant,
) {
    let http = client();
    let mut rng = Rng::seeded(&format!("replicas client {n}"));
    let mut mine: Vec<u64> = Vec::new();
    let mut serial = 0;
    while Instant::now() < until {
        let at = rng.below(replicas.len() as u64) as usize;
        let replica = &replicas[at];
        if !replica.alive.load(std::sync::atomic::Ordering::SeqCst) {
            continue;
        }
        let fault = |what: String| seen.lock().expect("not poisoned").faults.push(what);
        if mine.is_empty() || rng.chance(75) {
            serial += 1;
            // Unique per client and step, with the characters whose case
            // folding differs between PostgreSQL and Rust.
            let name = format!("c{n}s{serial} İΣß%_");
            let body = json!({"name": name, "age": 30, "gender": "Female"});
            let Some((status, reply)) =
                call(&http, replica, Method::POST, "/actors", Some(body)).await
            else {
                continue;
            };
            if status.is_server_error() {
                fault(format!(
                    "POST /actors on {}: {status} {reply}",
                    replica.base
                ));
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{reply}");
            let id = reply["actor added"]["id"].as_u64().expect("an id");
            seen.lock()
                .expect("not poisoned")
                .created
                .push((id, name.clone()));
            mine.push(id);
            // Visible at once from another process: by id and in search.
            let Some(elsewhere) = other(&replicas, at, &mut rng) else {
                continue;
            };
            if let Some((status, read)) = call(
                &http,
                elsewhere,
                Method::GET,
                &format!("/actors/{id}"),
                None,
            )
            .await
            {
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "actor {id} acknowledged by {} is not at {}: {read}",
                    replica.base,
                    elsewhere.base
                );
                assert_eq!(read["actor"], reply["actor added"]);
            }
            let query = format!("/actors/search?q={}", urlencode(&name.to_lowercase()));
            if let Some((status, found)) = call(&http, elsewhere, Method::GET, &query, None).await {
                assert_eq!(status, StatusCode::OK, "{found}");
                assert_eq!(
                    found["total"], 1,
                    "search for {name:?} at {}: {found}",
                    elsewhere.base
                );
                assert_eq!(found["actors"][0]["id"], id);
            }
        } else {
            let id = mine.swap_remove(rng.below(mine.len() as u64) as usize);
            let Some((status, reply)) = call(
                &http,
                replica,
                Method::DELETE,
                &format!("/actors/{id}"),
                None,
            )
            .await
            else {
                seen.lock().expect("not poisoned").maybe_deleted.insert(id);
                continue;
            };
            if status.is_server_error() {
                fault(format!(
                    "DELETE /actors/{id} on {}: {status} {reply}",
                    replica.base
                ));
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{reply}");
            seen.lock().expect("not poisoned").deleted.insert(id);
            let Some(elsewhere) = other(&replicas, at, &mut rng) else {
                continue;
            };
            if let Some((status, _)) = call(
                &http,
                elsewhere,
                Method::GET,
                &format!("/actors/{id}"),
                None,
            )
            .await
            {
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "deleted actor {id} still at {}",
                    elsewhere.base
                );
            }
        }
    }
}

/// Percent-encodes a query value.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The bodies a replica answers for everything a client could list: the
/// whole lists, two searches, then a page walk of the actors and one of the
/// whole audit log.
async fn everything(http: &Client, replica: &Replica) -> Vec<String> {
    let mut bodies = Vec::new();
    for path in [
        "/actors",
        "/movies",
        "/actors/search?q=%C4%B0",
        "/actors/search?q=%25_",
    ] {
        let response = http
            .get(replica.url(path))
            .bearer_auth(&replica.token)
            .send()
            .await
            .expect("an answer");
        bodies.push(response.text().await.expect("a body"));
    }
    for page in walk(http, replica, "/actors?limit=7").await {
        bodies.push(page.to_string());
    }
    for page in walk(http, replica, "/audit?limit=1000").await {
        bodies.push(page.to_string());
    }
    bodies
}

/// Every page of the list at `path` (which gives a `limit`), following
/// `next`.
async fn walk(http: &Client, replica: &Replica, path: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut after = 0;
    loop {
        let page: Value = http
            .get(replica.url(&format!("{path}&after={after}")))
            .bearer_auth(&replica.token)
            .send()
            .await
            .expect("an answer")
            .json()
            .await
            .expect("JSON");
        let next = page["next"].as_u64();
        pages.push(page);
        match next {
            Some(next) => after = next,
            None => return pages,
        }
    }
}

#[tokio::test]
async fn replicas_over_one_database_behave_as_one_server() {
    let _machine = crate::shared().await;
    let Some(admin) = crate::cluster::admin_url("replicas") else {
        return;
    };
    // A fresh database of the cluster, named after a fresh path.
    let dir = tempfile::tempdir().expect("a directory");
    let db = database_in(&admin, &dir.path().join("replicas.redb"));

    // All at once on the empty database: the schema and the key race.
    let starts = (0..PROCESSES).map(|_| {
        let launch = Launch::new()
            .args(["--dev", "--bind", "127.0.0.1:0", "--db", &db])
            .process();
        async move { launch.start().await }
    });
    let mut servers: Vec<Server> = futures_util::future::join_all(starts).await;
    let replicas: Vec<Replica> = servers
        .iter()
        .map(|server| Replica {
            base: format!("http://{}", server.addr),
            token: server.printed_token("producer").expect("a producer token"),
            alive: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        })
        .collect();
    let tokens: BTreeSet<&str> = replicas.iter().map(|r| r.token.as_str()).collect();
    let http = client();
    for replica in &replicas {
        for token in &tokens {
            let status = http
                .get(replica.url("/movies"))
                .bearer_auth(token)
                .send()
                .await
                .expect("an answer")
                .status();
            assert_eq!(
                status,
                StatusCode::OK,
                "every process accepts every process's tokens"
            );
        }
    }

    let replicas = Arc::new(replicas);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let until = Instant::now() + LOAD;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client_loop(
                n,
                Arc::clone(&replicas),
                Arc::clone(&seen),
                until,
            ))
        })
        .collect();
    // One process dies mid-load, without a chance to flush anything.
    tokio::time::sleep(LOAD / 2).await;
    replicas[PROCESSES - 1]
        .alive
        .store(false, std::sync::atomic::Ordering::SeqCst);
    servers[PROCESSES - 1].signal("KILL");
    for handle in clients {
        handle.await.expect("a client panicked");
    }
    let _killed = servers.pop();

    let seen = std::mem::take(&mut *seen.lock().expect("not poisoned"));
    eprintln!(
        "replicas: {} creates and {} deletes acknowledged by {PROCESSES} processes, one killed \
         ({} deletes unanswered)",
        seen.created.len(),
        seen.deleted.len(),
        seen.maybe_deleted.len()
    );
    assert!(seen.faults.is_empty(), "5xx answers: {:#?}", seen.faults);
    assert!(
        seen.created.len() > 50,
        "only {} creates acknowledged",
        seen.created.len()
    );
    let ids: BTreeSet<u64> = seen.created.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), seen.created.len(), "ids are unique");

    let live = &replicas[..PROCESSES - 1];
    // Every acknowledged write is there, on every live process.
    let bodies: Vec<Vec<String>> = {
        let mut all = Vec::new();
        for replica in live {
            all.push(everything(&http, replica).await);
        }
        all
    };
    for other in &bodies[1..] {
        assert_eq!(
            &bodies[0], other,
            "every process answers byte for byte the same"
        );
    }
    let actors: Value = serde_json::from_str(&bodies[0][0]).expect("JSON");
    let listed: BTreeSet<u64> = actors["All Actors"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|a| a["id"].as_u64().expect("an id"))
        .collect();
    let expected: BTreeSet<u64> = ids.difference(&seen.deleted).copied().collect();
    let missing: Vec<u64> = expected
        .difference(&listed)
        .filter(|id| !seen.maybe_deleted.contains(id))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged actors missing: {missing:?}"
    );
    let unanswered_gone: Vec<u64> = expected.difference(&listed).copied().collect();
    assert!(listed.is_disjoint(&seen.deleted), "deleted ids came back");
    assert_eq!(
        actors["Total number of actors"],
        listed.len(),
        "the total is of the same snapshot"
    );

    // Commit order: the create entries of the audit log name actor ids in
    // ascending order, as the ids were given at commit.
    let audit = walk(&http, &live[0], "/audit?limit=1000").await;
    let created_in_log: Vec<u64> = audit
        .iter()
        .flat_map(|page| page["entries"].as_array().expect("entries").iter())
        .filter(|e| e["action"] == "create")
        .map(|e| e["record"].as_u64().expect("a record id"))
        .collect();
    let mut sorted = created_in_log.clone();
    sorted.sort_unstable();
    assert_eq!(created_in_log, sorted, "ids are given in commit order");
    // An unanswered delete may only be missing because it committed.
    let deleted_in_log: BTreeSet<u64> = audit
        .iter()
        .flat_map(|page| page["entries"].as_array().expect("entries").iter())
        .filter(|e| e["action"] == "delete" && e["kind"] == "actor")
        .map(|e| e["record"].as_u64().expect("a record id"))
        .collect();
    for id in &unanswered_gone {
        assert!(
            deleted_in_log.contains(id),
            "actor {id} is gone without a delete in the audit log"
        );
    }
    let logged: BTreeSet<u64> = created_in_log.iter().copied().collect();
    assert!(
        ids.iter().all(|id| logged.contains(id)),
        "every acknowledged create has its entry"
    );
}
