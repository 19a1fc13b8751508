//! The load benchmark: the real `casting-server` (release build, development
//! mode, seeded temporary store) against hyper's own floor on the same
//! machine, in one run.
//!
//! The server is pinned to core 0 and wrk (1 thread, 64 connections) to
//! core 1. Each scenario alternates server and floor (A, B, A, B ...) and
//! reports medians of per-round figures, and the median of the per-round
//! ratios, so the noise of a shared machine cancels as far as it can.
//!
//! One scenario mixes writes into reads on the same connections (one
//! `POST /actors` in ten, `GET /movies` otherwise), so writes keep emptying
//! the response cache; it is compared with pure cached reads of the same
//! server.
//!
//! Run: `cargo run --release -p casting-benches --bin load` (needs `wrk`,
//! from Debian's package of that name). `LOAD_SECONDS` (default 5),
//! `LOAD_ROUNDS` (default 3) and `LOAD_BIG_ACTORS` (default 1000000; 0 skips
//! the data-scaling part) tune it. `LOAD_BASELINE_SERVER=PATH` adds the
//! write and mixed scenarios against another build of `casting-server`, to
//! measure a change that has no switch. `LOAD_POSTGRES=URL` (a database through which
//! a fresh one is created) adds reads and writes over PostgreSQL against
//! the embedded store, and one process against two on one database.

mod floor;
mod postgres;
mod wrk;

use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use casting_core::{NewActor, NewMovie, Role, Store, Write};
use casting_server::auth::dev::{DEV_AUDIENCE, DEV_ISSUER, DevIssuer, key_path};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("floor") => floor::main(&args[2..]),
        _ => orchestrate(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("load: {error}");
            ExitCode::FAILURE
        }
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A server process, killed on drop.
struct Server {
    child: Child,
    addr: String,
    /// The producer token a development server printed, if any.
    producer_token: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(program: &Path, args: &[&str], core: Option<u32>) -> Result<Self, String> {
        let filter = std::env::var("LOAD_RUST_LOG").unwrap_or_else(|_| "info".into());
        Self::start_logging(program, args, core, &filter)
    }

    /// Starts `program` with `RUST_LOG` set to `filter`.
    fn start_logging(
        program: &Path,
        args: &[&str],
        core: Option<u32>,
        filter: &str,
    ) -> Result<Self, String> {
        let mut command = match core {
            Some(core) => {
                let mut c = Command::new("taskset");
                c.args(["-c", &core.to_string()]).arg(program);
                c
            }
            None => Command::new(program),
        };
        let mut child = command
            .args(args)
            .env("RUST_LOG", filter)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut producer_token = None;
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("listening on http://") {
                        break addr.to_owned();
                    }
                    if let Some(token) = line.strip_prefix("token for producer: ") {
                        producer_token = Some(token.to_owned());
                    }
                }
                _ => return Err(format!("{} exited before listening", program.display())),
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Server {
            child,
            addr,
            producer_token,
        })
    }

    /// The resident and peak memory of the process, in MiB.
    fn memory_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

/// A plain HTTP/1.1 GET, for fetching the bodies the floors answer with.
fn get(addr: &str, path: &str, token: &str) -> Result<Vec<u8>, String> {
    request(addr, "GET", path, token, None)
}

/// One HTTP/1.1 request on its own connection, with an optional JSON body;
/// the response body, or why the answer was not a 200.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let body = body.map_or(String::new(), |body| {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    });
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n{}",
        if body.is_empty() { "\r\n" } else { &body }
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no header end")?;
    if !response.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "{method} {path}: {}",
            String::from_utf8_lossy(&response[..split])
        ));
    }
    Ok(response[split + 4..].to_vec())
}

/// Seeds a running server through its API, as [`seed`] seeds a file: for a
/// build that may not read a store this build writes.
fn seed_over_http(addr: &str, token: &str, movies: u64, actors: u64) -> Result<(), String> {
    for i in 1..=movies {
        let movie = format!(r#"{{"title": "Movie {i}", "release": "2010-10-13"}}"#);
        request(addr, "POST", "/movies", token, Some(&movie))?;
    }
    for i in 1..=actors {
        let gender = if i % 2 == 0 { "Female" } else { "Male" };
        let movie_id = if movies > 0 && i <= 2 * movies {
            ((i - 1) % movies + 1).to_string()
        } else {
            "null".into()
        };
        let actor = format!(
            r#"{{"name": "Actor {i}", "age": {}, "gender": "{gender}", "movie_id": {movie_id}}}"#,
            i % 90 + 10
        );
        request(addr, "POST", "/actors", token, Some(&actor))?;
    }
    Ok(())
}

fn seed(db: &Path, movies: u64, actors: u64) -> Result<(), String> {
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let release = "2010-10-13".parse().map_err(|e| format!("{e}"))?;
    let writes: Vec<Write> = (1..=movies)
        .map(|i| {
            Write::CreateMovie(NewMovie {
                title: format!("Movie {i}"),
                release,
            })
        })
        .collect();
    store
        .write_batch(&casting_core::Principal::owner(), writes)
        .map_err(|e| e.to_string())?;
    let mut next = 1;
    while next <= actors {
        let end = (next + 10_000).min(actors + 1);
        let writes = (next..end)
            .map(|i| {
                Write::CreateActor(NewActor {
                    name: format!("Actor {i}"),
                    age: (i % 90) as u8 + 10,
                    gender: if i % 2 == 0 { "Female" } else { "Male" }.into(),
                    movie_id: (movies > 0 && i <= 2 * movies).then(|| (i - 1) % movies + 1),
                })
            })
            .collect();
        store
            .write_batch(&casting_core::Principal::owner(), writes)
            .map_err(|e| e.to_string())?;
        next = end;
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The lowest and highest of `values`; zeros when there are none.
fn spread(values: &[f64]) -> (f64, f64) {
    let low = values.iter().copied().reduce(f64::min).unwrap_or(0.0);
    let high = values.iter().copied().reduce(f64::max).unwrap_or(0.0);
    (low, high)
}

fn build_server() -> Result<PathBuf, String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "-p",
            "casting-server",
            "--bin",
            "casting-server",
        ])
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err("building casting-server failed".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Ok(exe.with_file_name("casting-server"))
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The CPU time a process has used so far, user and system, in seconds:
/// fields 14 and 15 of `/proc/PID/stat`, in clock ticks. A shared host
/// moves it as it moves requests per second (on one VM the same build's
/// cached read went from 13 to 20 µs an hour later), so only ratios to a
/// floor measured in the same run compare.
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces; the fields after it do not.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the name come state (field 3) onwards: utime is field 14.
    (ticks(11) + ticks(12)) / ticks_per_second
}

/// The kernel's clock ticks per second, as `getconf CLK_TCK` says.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The side of a comparison that sends `script` to `path` on `server`.
fn target<'a>(server: &'a Server, path: &'a str, script: &'a Path) -> Target<'a> {
    Target {
        pid: server.child.id(),
        addr: &server.addr,
        path,
        script,
    }
}

/// One side of a comparison: where wrk sends which requests.
struct Target<'a> {
    /// The serving process, whose CPU time is measured.
    pid: u32,
    addr: &'a str,
    path: &'a str,
    script: &'a Path,
}

struct Scenario<'a> {
    name: &'static str,
    server: Target<'a>,
    floor: Target<'a>,
    floor_name: &'static str,
}

#[derive(Default)]
struct Tally {
    server: Vec<wrk::Run>,
    floor: Vec<wrk::Run>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A store with its own copy of the development key, so one set of tokens
/// works on every server of the run.
fn store_with_key(
    dir: &Path,
    name: &str,
    key_from: &Path,
    movies: u64,
    actors: u64,
) -> Result<PathBuf, String> {
    let db = dir.join(name);
    seed(&db, movies, actors)?;
    std::fs::copy(key_path(key_from), key_path(&db)).map_err(|e| e.to_string())?;
    Ok(db)
}

fn orchestrate() -> Result<(), String> {
    let seconds = env_number("LOAD_SECONDS", 5) as u32;
    let rounds = env_number("LOAD_ROUNDS", 3);
    let big = env_number("LOAD_BIG_ACTORS", 1_000_000);
    if !have("wrk") {
        return Err("wrk is needed: apt-get install wrk".into());
    }
    let (server_core, load_core) = if have("taskset") {
        (Some(0), Some(1))
    } else {
        (None, None)
    };
    let server_bin = build_server()?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = dir.path();

    // Seed data: 10 movies, 20 actors, as the issue's scenarios say.
    let small = dir.join("small.redb");
    seed(&small, 10, 20)?;
    let dev = DevIssuer::load_or_create(&small).map_err(|e| e.to_string())?;
    let t0 = now();
    let one_token = dev
        .token(Role::Producer, t0, 3600)
        .map_err(|e| e.to_string())?;
    let mut many = String::new();
    for i in 0..1000 {
        // A different issue time gives a different token, so no cache helps.
        many.push_str(
            &dev.token(Role::Producer, t0 - i, 3600 + i)
                .map_err(|e| e.to_string())?,
        );
        many.push('\n');
    }
    let one_file = dir.join("one.txt");
    let many_file = dir.join("many.txt");
    let jwks_file = dir.join("jwks.json");
    write_file(&one_file, &format!("{one_token}\n"))?;
    write_file(&many_file, &many)?;
    write_file(&jwks_file, dev.jwks())?;

    let writes_on = store_with_key(dir, "writes-on.redb", &small, 10, 20)?;
    let writes_off = store_with_key(dir, "writes-off.redb", &small, 10, 20)?;
    let db_arg = |p: &Path| p.display().to_string();
    let serve = |db: &Path, extra: &[&str]| {
        let db = db_arg(db);
        let mut args = vec!["--dev", "--bind", "127.0.0.1:0", "--db", db.as_str()];
        args.extend_from_slice(extra);
        Server::start(&server_bin, &args, server_core)
    };
    let server = serve(&small, &[])?;
    // The same store and tokens with every log line off: the access log's
    // cost is the difference between the two.
    // The response cache answers repeated reads, and ignored parameters no
    // longer make entries of their own; this server has it off, so the
    // store and the encoder run for every request.
    let uncached_db = store_with_key(dir, "uncached.redb", &small, 10, 20)?;
    let uncached = serve(&uncached_db, &["--response-cache-bytes", "0"])?;
    let quiet_db = store_with_key(dir, "quiet.redb", &small, 10, 20)?;
    let quiet = Server::start_logging(
        &server_bin,
        &["--dev", "--bind", "127.0.0.1:0", "--db", &db_arg(&quiet_db)],
        server_core,
        "off",
    )?;
    let server_on = serve(&writes_on, &[])?;
    // Reads and writes from the same connections: every write empties the
    // response cache, so this shows what reads cost while writes go on.
    let mixed_db = store_with_key(dir, "mixed.redb", &small, 10, 20)?;
    let mixed = serve(&mixed_db, &[])?;
    let server_off = serve(&writes_off, &["--group-commit", "false"])?;
    // Another build of the server (LOAD_BASELINE_SERVER), for a change
    // that has no switch of its own: the same writes against both builds,
    // interleaved, on stores seeded alike.
    // Its stores are left for that build to create (an older build refuses
    // a store of a newer schema): writes need no seed data, and the mixed
    // scenario's is written through the API.
    let baseline = match std::env::var_os("LOAD_BASELINE_SERVER") {
        Some(program) => {
            let start = |name: &str| -> Result<Server, String> {
                let db = dir.join(name);
                std::fs::copy(key_path(&small), key_path(&db)).map_err(|e| e.to_string())?;
                Server::start(
                    Path::new(&program),
                    &["--dev", "--bind", "127.0.0.1:0", "--db", &db_arg(&db)],
                    server_core,
                )
            };
            let writes = start("writes-baseline.redb")?;
            let mixed = start("mixed-baseline.redb")?;
            seed_over_http(&mixed.addr, &one_token, 10, 20)?;
            Some((writes, mixed))
        }
        None => None,
    };

    let bodies = dir.join("bodies");
    std::fs::create_dir(&bodies).map_err(|e| e.to_string())?;
    let search_path = "/actors/search?q=actor%201";
    for path in ["/movies", "/movies/1", search_path] {
        let body = get(&server.addr, path, &one_token)?;
        let name = floor::body_name(path.split('?').next().unwrap_or(path));
        std::fs::write(bodies.join(name), body).map_err(|e| e.to_string())?;
    }
    let bodies_arg = db_arg(&bodies);
    let jwks_arg = db_arg(&jwks_file);
    let plain = Server::start(&me, &["floor", &bodies_arg], server_core)?;
    let rs256 = Server::start(
        &me,
        &["floor", &bodies_arg, &jwks_arg, DEV_ISSUER, DEV_AUDIENCE],
        server_core,
    )?;

    let get_one = dir.join("get-one.lua");
    let get_many = dir.join("get-many.lua");
    let post_one = dir.join("post-one.lua");
    let mixed_one = dir.join("mixed-one.lua");
    write_file(&get_one, &wrk::script("GET", None, &one_file, None))?;
    write_file(&get_many, &wrk::script("GET", None, &many_file, None))?;
    let actor = r#"{"name": "Load Test", "age": 30, "gender": "Female"}"#;
    write_file(
        &post_one,
        &wrk::script("POST", Some(actor), &one_file, None),
    )?;

    write_file(
        &mixed_one,
        &wrk::mixed_script(&one_file, "/actors", actor, 10),
    )?;
    let mut scenarios = vec![
        Scenario {
            name: "GET /movies, one token",
            server: target(&server, "/movies", &get_one),
            floor: target(&plain, "/movies", &get_one),
            floor_name: "hyper, fixed body",
        },
        Scenario {
            name: "GET /movies, access log on vs off",
            server: target(&server, "/movies", &get_one),
            floor: target(&quiet, "/movies", &get_one),
            floor_name: "the server, RUST_LOG=off",
        },
        Scenario {
            name: "GET /movies, one token, response cache off",
            server: target(&uncached, "/movies", &get_one),
            floor: target(&plain, "/movies", &get_one),
            floor_name: "hyper, fixed body",
        },
        Scenario {
            name: "GET /movies, 1000 tokens",
            server: target(&server, "/movies", &get_many),
            floor: target(&rs256, "/movies", &get_many),
            floor_name: "hyper + RS256 verify",
        },
        Scenario {
            name: "GET /movies/1",
            server: target(&server, "/movies/1", &get_one),
            floor: target(&plain, "/movies/1", &get_one),
            floor_name: "hyper, fixed body",
        },
        Scenario {
            name: "GET /actors/search?q=",
            server: target(&server, search_path, &get_one),
            floor: target(&plain, "/actors/search", &get_one),
            floor_name: "hyper, fixed body",
        },
        Scenario {
            name: "POST /actors, group commit",
            server: target(&server_on, "/actors", &post_one),
            floor: target(&server_off, "/actors", &post_one),
            floor_name: "one commit per write",
        },
        Scenario {
            name: "90 % GET /movies, 10 % POST /actors",
            server: target(&mixed, "/movies", &mixed_one),
            floor: target(&mixed, "/movies", &get_one),
            floor_name: "the same server, GET /movies only",
        },
    ];
    if let Some((writes, mixed_baseline)) = &baseline {
        scenarios.push(Scenario {
            name: "POST /actors, group commit, this build vs baseline",
            server: target(&server_on, "/actors", &post_one),
            floor: target(writes, "/actors", &post_one),
            floor_name: "LOAD_BASELINE_SERVER",
        });
        scenarios.push(Scenario {
            name: "90 % GET /movies, 10 % POST /actors, this build vs baseline",
            server: target(&mixed, "/movies", &mixed_one),
            floor: target(mixed_baseline, "/movies", &mixed_one),
            floor_name: "LOAD_BASELINE_SERVER",
        });
    }
    let tallies = measure(&scenarios, rounds, seconds, load_core)?;
    println!();
    println!(
        "{rounds} rounds of {seconds} s, wrk -t1 -c64, server on core 0, wrk on core 1; medians"
    );
    print_table(&scenarios, &tallies);
    if let Ok(admin) = std::env::var("LOAD_POSTGRES") {
        postgres::section(&postgres::Context {
            admin: &admin,
            dir,
            server_bin: &server_bin,
            server_core,
            load_core,
            rounds,
            seconds,
            redb_cached: &server,
            redb_uncached: &uncached,
            redb_writes: &server_on,
        })?;
    }
    drop((
        server, uncached, server_on, server_off, mixed, baseline, plain, rs256,
    ));

    if big > 0 {
        scaling(
            dir,
            &small,
            &server_bin,
            server_core,
            load_core,
            &one_file,
            big,
            seconds,
        )?;
    }
    Ok(())
}

/// Runs every scenario `rounds` times, server and floor alternately.
fn measure(
    scenarios: &[Scenario<'_>],
    rounds: u64,
    seconds: u32,
    load_core: Option<u32>,
) -> Result<Vec<Tally>, String> {
    let mut tallies: Vec<Tally> = scenarios.iter().map(|_| Tally::default()).collect();
    for round in 1..=rounds {
        eprintln!("round {round} of {rounds}");
        for (scenario, tally) in scenarios.iter().zip(&mut tallies) {
            tally
                .server
                .push(load(&scenario.server, seconds, load_core)?);
            tally.floor.push(load(&scenario.floor, seconds, load_core)?);
        }
    }
    Ok(tallies)
}

/// One wrk run against `t`, with the CPU its process spent per request.
fn load(t: &Target<'_>, seconds: u32, load_core: Option<u32>) -> Result<wrk::Run, String> {
    let ticks = clock_ticks();
    let before = cpu_seconds(t.pid, ticks);
    let mut run = wrk::run(&wrk::Load {
        url: format!("http://{}{}", t.addr, t.path),
        script: t.script,
        connections: 64,
        seconds,
        core: load_core,
    })?;
    let used = cpu_seconds(t.pid, ticks) - before;
    run.cpu_us = used * 1e6 / (run.requests.max(1) as f64);
    Ok(run)
}

/// The table of medians, one row per scenario.
fn print_table(scenarios: &[Scenario<'_>], tallies: &[Tally]) {
    println!(
        "| scenario | server req/s | p50 ms | p99 ms | CPU µs/req | floor | floor req/s | floor p50 ms | floor p99 ms | floor CPU µs/req | ratio | CPU ratio | CPU ratio, rounds | errors |"
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (scenario, tally) in scenarios.iter().zip(tallies) {
        let figure =
            |runs: &[wrk::Run], f: fn(&wrk::Run) -> f64| median(runs.iter().map(f).collect());
        let ratios = tally
            .server
            .iter()
            .zip(&tally.floor)
            .map(|(s, f)| s.rps / f.rps.max(1.0))
            .collect();
        let cpu_ratios: Vec<f64> = tally
            .server
            .iter()
            .zip(&tally.floor)
            .map(|(s, f)| s.cpu_us / f.cpu_us.max(f64::MIN_POSITIVE))
            .collect();
        // The rounds' lowest and highest, beside the median: how far the
        // machine moved the figure while the run went on.
        let (low, high) = spread(&cpu_ratios);
        let errors: u64 = tally
            .server
            .iter()
            .chain(&tally.floor)
            .map(|r| r.errors)
            .sum();
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.2}x | {:.2}x | {low:.2}-{high:.2}x | {} |",
            scenario.name,
            figure(&tally.server, |r| r.rps),
            figure(&tally.server, |r| r.p50_ms),
            figure(&tally.server, |r| r.p99_ms),
            figure(&tally.server, |r| r.cpu_us),
            scenario.floor_name,
            figure(&tally.floor, |r| r.rps),
            figure(&tally.floor, |r| r.p50_ms),
            figure(&tally.floor, |r| r.p99_ms),
            figure(&tally.floor, |r| r.cpu_us),
            median(ratios),
            median(cpu_ratios),
            errors,
        );
    }
}

/// Cost grows with the work, not the data: a page read and memory on a
/// small and a large store, and a search over the large one.
#[allow(clippy::too_many_arguments)]
fn scaling(
    dir: &Path,
    key_from: &Path,
    server_bin: &Path,
    server_core: Option<u32>,
    load_core: Option<u32>,
    tokens: &Path,
    big: u64,
    seconds: u32,
) -> Result<(), String> {
    // Every request differs, so the response cache never answers and each
    // one reads the store: the page's `after` walks the ids, and the search
    // text changes (it still matches nothing).
    let small_script = dir.join("pages-small.lua");
    let large_script = dir.join("pages-large.lua");
    let search_script = dir.join("search-large.lua");
    let pages = |modulo| {
        wrk::script(
            "GET",
            None,
            tokens,
            Some(("/actors?limit=100&after={n}", 7919, modulo)),
        )
    };
    write_file(&small_script, &pages(900))?;
    write_file(&large_script, &pages(big.saturating_sub(100).max(1)))?;
    write_file(
        &search_script,
        &wrk::script(
            "GET",
            None,
            tokens,
            Some(("/actors/search?q=zz-none-{n}&limit=100", 1, u64::MAX)),
        ),
    )?;
    let started = Instant::now();
    let small = store_with_key(dir, "actors-1k.redb", key_from, 0, 1000)?;
    let large = store_with_key(dir, "actors-big.redb", key_from, 0, big)?;
    eprintln!(
        "seeded {big} actors in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let start = |db: &Path| {
        let db = db.display().to_string();
        Server::start(
            server_bin,
            &["--dev", "--bind", "127.0.0.1:0", "--db", &db],
            server_core,
        )
    };
    let (small_server, large_server) = (start(&small)?, start(&large)?);
    let page = |server: &Server, script: &Path| {
        wrk::run(&wrk::Load {
            url: format!("http://{}/actors", server.addr),
            script,
            connections: 8,
            seconds,
            core: load_core,
        })
    };
    // A first pass, not counted, lets each server finish building its
    // search index and fill its page cache, so both stores are measured
    // warm, as a long-running server is.
    page(&small_server, &small_script)?;
    page(&large_server, &large_script)?;
    let small_page = page(&small_server, &small_script)?;
    let large_page = page(&large_server, &large_script)?;
    let search = wrk::run(&wrk::Load {
        url: format!("http://{}/actors/search", large_server.addr),
        script: &search_script,
        connections: 1,
        seconds: seconds.max(5),
        core: load_core,
    })?;
    std::thread::sleep(Duration::from_millis(200));
    let (small_rss, small_peak) = small_server.memory_mib();
    let (large_rss, large_peak) = large_server.memory_mib();
    println!();
    println!("data scaling, wrk -t1 -c8 for pages, -c1 for the search");
    println!("| measure | 1 000 actors | {big} actors |");
    println!("| --- | ---: | ---: |");
    println!(
        "| GET /actors?limit=100&after=X req/s | {:.0} | {:.0} |",
        small_page.rps, large_page.rps
    );
    println!(
        "| same, p50 ms | {:.2} | {:.2} |",
        small_page.p50_ms, large_page.p50_ms
    );
    println!(
        "| resident memory MiB (peak) | {small_rss:.0} ({small_peak:.0}) | {large_rss:.0} ({large_peak:.0}) |"
    );
    println!(
        "| search, no match, p50 ms (p99) | - | {:.1} ({:.1}) |",
        search.p50_ms, search.p99_ms
    );
    println!(
        "page time ratio large/small: {:.2}x",
        small_page.rps / large_page.rps.max(1.0)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu_time_and_it_only_grows() {
        let ticks = clock_ticks();
        let pid = std::process::id();
        let before = cpu_seconds(pid, ticks);
        let mut x = 0u64;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(200) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = cpu_seconds(pid, ticks);
        assert!(after > before, "{before} then {after}");
        assert!(after - before < 5.0, "{before} then {after}");
    }

    #[test]
    fn the_spread_is_the_lowest_and_highest_round() {
        assert_eq!(spread(&[1.4, 1.2, 1.7]), (1.2, 1.7));
        assert_eq!(spread(&[2.0]), (2.0, 2.0));
        assert_eq!(spread(&[]), (0.0, 0.0));
    }
}
