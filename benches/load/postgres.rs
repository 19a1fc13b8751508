//! The PostgreSQL part of the load benchmark (`LOAD_POSTGRES=URL`, the URL
//! of a database through which a fresh one is created): the same reads and
//! writes against a server over PostgreSQL and against the embedded store,
//! interleaved in one run; then one process against two sharing the
//! database.

use std::path::Path;
use std::process::Command;

use crate::{Scenario, Server, measure, print_table, target, write_file, wrk};

/// What the section needs from the rest of the run.
pub(crate) struct Context<'a> {
    /// The URL the fresh database is created through.
    pub(crate) admin: &'a str,
    /// The run's temporary directory.
    pub(crate) dir: &'a Path,
    pub(crate) server_bin: &'a Path,
    pub(crate) server_core: Option<u32>,
    pub(crate) load_core: Option<u32>,
    pub(crate) rounds: u64,
    pub(crate) seconds: u32,
    /// The embedded servers the PostgreSQL ones are compared with.
    pub(crate) redb_cached: &'a Server,
    pub(crate) redb_uncached: &'a Server,
    pub(crate) redb_writes: &'a Server,
}

/// A fresh database of the cluster at `admin`; its URL.
fn fresh_database(admin: &str) -> Result<String, String> {
    let name = format!("casting_load_{}", std::process::id());
    let admin = admin.to_owned();
    let statement = format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};");
    let created = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("LOAD_POSTGRES: {e}"))?;
            tokio::spawn(connection);
            for part in statement.split_terminator(';') {
                client
                    .batch_execute(part)
                    .await
                    .map_err(|e| format!("{part}: {e}"))?;
            }
            Ok::<_, String>(admin)
        })
    })
    .join()
    .map_err(|_| "the database thread panicked".to_owned())??;
    let base = created.split('?').next().unwrap_or(&created);
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    Ok(format!("{server}/{name}"))
}

/// Runs the PostgreSQL scenarios and prints their tables.
pub(crate) fn section(cx: &Context<'_>) -> Result<(), String> {
    let url = fresh_database(cx.admin)?;
    // Records seeded as the embedded stores are, copied in with their ids
    // through the server's own copy (from a store no server holds).
    let seeded = cx.dir.join("pg-seed.redb");
    crate::seed(&seeded, 10, 20)?;
    let copied = Command::new(cx.server_bin)
        .args(["copy", "--from"])
        .arg(&seeded)
        .args(["--to", &url])
        .output()
        .map_err(|e| e.to_string())?;
    if !copied.status.success() {
        return Err(format!(
            "copy into PostgreSQL: {}",
            String::from_utf8_lossy(&copied.stderr)
        ));
    }
    let serve = |core| {
        Server::start(
            cx.server_bin,
            &["--dev", "--bind", "127.0.0.1:0", "--db", &url],
            core,
        )
    };
    let one = serve(cx.server_core)?;
    let token = one
        .producer_token
        .clone()
        .ok_or("the PostgreSQL server printed no producer token")?;
    let token_file = cx.dir.join("pg-token.txt");
    write_file(&token_file, &format!("{token}\n"))?;
    let get = cx.dir.join("pg-get.lua");
    let post = cx.dir.join("pg-post.lua");
    write_file(&get, &wrk::script("GET", None, &token_file, None))?;
    let actor = r#"{"name": "Load Test", "age": 30, "gender": "Female"}"#;
    write_file(&post, &wrk::script("POST", Some(actor), &token_file, None))?;
    let redb_get = cx.dir.join("get-one.lua");
    let redb_post = cx.dir.join("post-one.lua");

    let scenarios = vec![
        Scenario {
            name: "GET /movies: PostgreSQL vs redb (response cache on)",
            server: target(&one, "/movies", &get),
            floor: target(cx.redb_cached, "/movies", &redb_get),
            floor_name: "redb, cached",
        },
        Scenario {
            name: "GET /movies: PostgreSQL vs redb (response cache off)",
            server: target(&one, "/movies", &get),
            floor: target(cx.redb_uncached, "/movies", &redb_get),
            floor_name: "redb, uncached",
        },
        Scenario {
            name: "GET /movies/1: PostgreSQL vs redb",
            server: target(&one, "/movies/1", &get),
            floor: target(cx.redb_cached, "/movies/1", &redb_get),
            floor_name: "redb",
        },
        Scenario {
            name: "POST /actors: PostgreSQL vs redb, group commit",
            server: target(&one, "/actors", &post),
            floor: target(cx.redb_writes, "/actors", &redb_post),
            floor_name: "redb",
        },
    ];
    let tallies = measure(&scenarios, cx.rounds, cx.seconds, cx.load_core)?;
    println!();
    println!(
        "PostgreSQL (local cluster, unpinned) against the embedded store, server on core 0; CPU is the server process's only"
    );
    print_table(&scenarios, &tallies);

    // Two processes on one database against one: wrk loads both at once,
    // 32 connections each, against 64 on one process.
    let two = serve(cx.server_core)?;
    println!();
    println!(
        "one process against two on the same database, {} s each, medians of {} rounds",
        cx.seconds, cx.rounds
    );
    println!(
        "| request | one process req/s | p99 ms | two processes req/s | p99 ms (worst) | ratio |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (path, script) in [("/movies/1", &get), ("/actors", &post)] {
        let mut single = Vec::new();
        let mut pair = Vec::new();
        for _ in 0..cx.rounds {
            single.push(wrk::run(&wrk::Load {
                url: format!("http://{}{path}", one.addr),
                script,
                connections: 64,
                seconds: cx.seconds,
                core: cx.load_core,
            })?);
            pair.push(both(&[&one, &two], path, script, cx)?);
        }
        let median = |runs: &[wrk::Run], f: fn(&wrk::Run) -> f64| {
            crate::median(runs.iter().map(f).collect())
        };
        let (rps1, rps2) = (median(&single, |r| r.rps), median(&pair, |r| r.rps));
        println!(
            "| {} {path} | {rps1:.0} | {:.2} | {rps2:.0} | {:.2} | {:.2}x |",
            if path == "/actors" { "POST" } else { "GET" },
            median(&single, |r| r.p99_ms),
            median(&pair, |r| r.p99_ms),
            rps2 / rps1.max(1.0),
        );
    }
    Ok(())
}

/// wrk against each of `servers` at once, 32 connections each: the summed
/// rate and the worst p99.
fn both(
    servers: &[&Server],
    path: &str,
    script: &Path,
    cx: &Context<'_>,
) -> Result<wrk::Run, String> {
    let runs: Vec<Result<wrk::Run, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = servers
            .iter()
            .map(|server| {
                let url = format!("http://{}{path}", server.addr);
                scope.spawn(move || {
                    wrk::run(&wrk::Load {
                        url,
                        script,
                        connections: 32,
                        seconds: cx.seconds,
                        core: cx.load_core,
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("wrk thread panicked".into()))
            })
            .collect()
    });
    let mut total = wrk::Run::default();
    for run in runs {
        let run = run?;
        total.rps += run.rps;
        total.p50_ms = total.p50_ms.max(run.p50_ms);
        total.p99_ms = total.p99_ms.max(run.p99_ms);
        total.errors += run.errors;
        total.requests += run.requests;
    }
    Ok(total)
}
