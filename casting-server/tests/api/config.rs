//! Configuration: what the server refuses to start without, and each setting
//! given as a flag or as its environment variable.

use serde_json::json;

use tempfile::TempDir;

use crate::helpers::{
    AUDIENCE, Exit, Launch, Server, client, free_port, now, send, spawn_app_with,
};
use crate::mock_issuer::{MockIssuer, keys};

#[track_caller]
fn assert_refused(exit: &Exit, hints: &[&str]) {
    assert!(
        exit.status.is_some_and(|s| !s.success()),
        "the server did not refuse to start: {exit:?}"
    );
    assert!(
        hints.iter().any(|hint| exit.stderr.contains(hint)),
        "stderr names none of {hints:?}: {:?}",
        exit.stderr
    );
}

fn db_in(dir: &TempDir) -> std::path::PathBuf {
    dir.path().join("casting.redb")
}

#[tokio::test]
async fn without_audience_or_issuer_the_server_refuses_to_start() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .run_to_exit()
        .await;

    assert_refused(&exit, &["API_AUDIENCE", "--audience"]);
}

#[tokio::test]
async fn an_issuer_without_an_audience_is_refused() {
    let issuer = MockIssuer::start();
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .args([
            "--issuer",
            &issuer.issuer(),
            "--jwks-url",
            &issuer.jwks_url(),
        ])
        .run_to_exit()
        .await;

    assert_refused(&exit, &["API_AUDIENCE", "--audience"]);
}

#[tokio::test]
async fn an_audience_without_an_issuer_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .args(["--audience", AUDIENCE])
        .run_to_exit()
        .await;

    assert_refused(
        &exit,
        &["AUTH0_DOMAIN", "--auth0-domain", "JWT_ISSUER", "--issuer"],
    );
}

#[tokio::test]
async fn an_issuer_without_a_key_set_is_refused() {
    let issuer = MockIssuer::start();
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .args(["--issuer", &issuer.issuer(), "--audience", AUDIENCE])
        .run_to_exit()
        .await;

    assert_refused(
        &exit,
        &["JWKS_URL", "--jwks-url", "AUTH0_DOMAIN", "--auth0-domain"],
    );
}

#[tokio::test]
async fn a_plain_http_key_set_off_loopback_is_refused() {
    let issuer = MockIssuer::start();
    let dir = tempfile::tempdir().expect("temporary directory");

    // 0.0.0.0 is not a loopback address, yet nothing leaves the machine if
    // the server wrongly tries it.
    let exit = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .args(["--issuer", &issuer.issuer(), "--audience", AUDIENCE])
        .args(["--jwks-url", "http://0.0.0.0:1/.well-known/jwks.json"])
        .run_to_exit()
        .await;

    assert!(
        exit.status.is_some_and(|s| !s.success()),
        "a plain-http key set off loopback was accepted: {exit:?}"
    );
}

#[tokio::test]
async fn dev_mode_on_a_non_loopback_address_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::new()
        .args(["--dev", "--bind", "0.0.0.0:0", "--db"])
        .arg(db_in(&dir))
        .run_to_exit()
        .await;

    assert!(
        exit.status.is_some_and(|s| !s.success()),
        "development mode started on 0.0.0.0: {exit:?}"
    );
}

#[tokio::test]
async fn the_issuer_settings_can_come_from_the_environment() {
    let issuer = MockIssuer::start();
    let dir = tempfile::tempdir().expect("temporary directory");

    let server = Launch::new()
        .env("CASTING_BIND", "127.0.0.1:0")
        .env("CASTING_DB", db_in(&dir).to_string_lossy())
        .env("JWT_ISSUER", issuer.issuer())
        .env("JWKS_URL", issuer.jwks_url())
        .env("API_AUDIENCE", AUDIENCE)
        .start()
        .await;

    let token = issuer.token(&["get:movies"]);
    send(client().get(server.url("/movies")).bearer_auth(token))
        .await
        .ok();
    assert!(db_in(&dir).exists(), "CASTING_DB was not used");
}

#[tokio::test]
async fn port_sets_the_default_bind_on_every_interface() {
    let issuer = MockIssuer::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    let port = free_port();

    let server = Launch::new()
        .arg("--db")
        .arg(db_in(&dir))
        .args([
            "--issuer",
            &issuer.issuer(),
            "--jwks-url",
            &issuer.jwks_url(),
        ])
        .args(["--audience", AUDIENCE])
        .env("PORT", port.to_string())
        .start()
        .await;

    assert_eq!(server.addr.port(), port);
    let listening = server.stdout.last().cloned().unwrap_or_default();
    assert_eq!(listening, format!("listening on http://0.0.0.0:{port}"));
    let reply = send(client().get(server.url("/health"))).await;
    reply.ok();
}

#[tokio::test]
async fn casting_bind_takes_precedence_over_port() {
    let issuer = MockIssuer::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    let port = free_port();

    let server = Launch::new()
        .arg("--db")
        .arg(db_in(&dir))
        .args([
            "--issuer",
            &issuer.issuer(),
            "--jwks-url",
            &issuer.jwks_url(),
        ])
        .args(["--audience", AUDIENCE])
        .env("PORT", port.to_string())
        .env("CASTING_BIND", "127.0.0.1:0")
        .start()
        .await;

    assert_ne!(server.addr.port(), port);
    assert!(server.addr.ip().is_loopback());
}

#[tokio::test]
async fn casting_dev_turns_on_development_mode() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let server = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .env("CASTING_DEV", "true")
        .start()
        .await;

    let token = server.printed_token("producer").expect("a dev token");
    send(client().get(server.url("/movies")).bearer_auth(token))
        .await
        .ok();
}

#[tokio::test]
async fn the_database_is_created_where_db_says() {
    if crate::helpers::embedded_only("the_database_is_created_where_db_says") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("elsewhere.redb");

    let _server = Launch::dev(&db).start().await;

    assert!(db.exists(), "{} was not created", db.display());
}

#[tokio::test]
async fn the_database_defaults_to_casting_redb_in_the_working_directory() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let _server = Launch::new()
        .args(["--dev", "--bind", "127.0.0.1:0"])
        .cwd(dir.path())
        .start()
        .await;

    assert!(
        db_in(&dir).exists(),
        "no casting.redb in the working directory"
    );
}

#[tokio::test]
async fn auth0_domain_gives_the_issuer() {
    let issuer = MockIssuer::start();
    let domain = "tenant.example.auth0.com";
    let (app, _dir) =
        spawn_app_with_domain(&issuer, |launch| launch.args(["--auth0-domain", domain])).await;

    let mut claims = issuer.claims(&["get:movies"]);
    claims["iss"] = json!(format!("https://{domain}/"));
    send(
        client()
            .get(app.url("/movies"))
            .bearer_auth(issuer.sign(&claims)),
    )
    .await
    .ok();
}

#[tokio::test]
async fn auth0_domain_can_come_from_the_environment() {
    let issuer = MockIssuer::start();
    let domain = "tenant.example.auth0.com";
    let (app, _dir) =
        spawn_app_with_domain(&issuer, |launch| launch.env("AUTH0_DOMAIN", domain)).await;

    let mut claims = issuer.claims(&["get:movies"]);
    claims["iss"] = json!(format!("https://{domain}/"));
    send(
        client()
            .get(app.url("/movies"))
            .bearer_auth(issuer.sign(&claims)),
    )
    .await
    .ok();
}

#[tokio::test]
async fn an_explicit_issuer_overrides_the_one_from_the_domain() {
    let issuer = MockIssuer::start();
    let (app, _dir) = spawn_app_with_domain(&issuer, |launch| {
        launch
            .args(["--auth0-domain", "tenant.example.auth0.com"])
            .args(["--issuer", &issuer.issuer()])
    })
    .await;

    send(
        client()
            .get(app.url("/movies"))
            .bearer_auth(issuer.token(&["get:movies"])),
    )
    .await
    .ok();
}

/// A server whose key set is the mock's (so nothing leaves the machine) and
/// whose issuer comes from what `configure` adds.
async fn spawn_app_with_domain(
    issuer: &MockIssuer,
    configure: impl FnOnce(Launch) -> Launch,
) -> (Server, TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let launch = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .args(["--jwks-url", &issuer.jwks_url(), "--audience", AUDIENCE]);
    (configure(launch).start().await, dir)
}

#[tokio::test]
async fn algorithms_can_come_from_the_environment() {
    let issuer = MockIssuer::start();
    issuer.label_keys_with_alg(false);
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Launch::verifying(&issuer, &issuer.jwks_url(), &db_in(&dir))
        .env("ALGORITHMS", "PS256")
        .start()
        .await;
    let header = json!({"alg": "PS256", "typ": "JWT", "kid": "kid-1"});
    let claims = issuer.claims(&["get:movies"]);
    let ps256 = keys()
        .primary
        .sign(&aws_lc_rs::signature::RSA_PSS_SHA256, &header, &claims);

    send(client().get(server.url("/movies")).bearer_auth(ps256))
        .await
        .ok();
    let rs256 = send(
        client()
            .get(server.url("/movies"))
            .bearer_auth(issuer.token(&["get:movies"])),
    )
    .await;
    rs256.expect_error(401, "invalid_token");
}

#[tokio::test]
async fn the_leeway_can_come_from_the_environment() {
    let issuer = MockIssuer::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Launch::verifying(&issuer, &issuer.jwks_url(), &db_in(&dir))
        .env("JWT_LEEWAY", "0")
        .start()
        .await;
    let mut claims = issuer.claims(&["get:movies"]);
    claims["exp"] = json!(now() - 10);

    let reply = send(
        client()
            .get(server.url("/movies"))
            .bearer_auth(issuer.sign(&claims)),
    )
    .await;

    reply.expect_error(401, "token_expired");
}

#[tokio::test]
async fn the_audience_flag_decides_which_audience_is_accepted() {
    let issuer = MockIssuer::start();
    let app = spawn_app_with(issuer, &[]).await;
    let mut claims = app.issuer().claims(&["get:movies"]);
    claims["aud"] = json!("casting-agency");

    let reply = app.get("/movies", &app.issuer().sign(&claims)).await;

    reply.expect_error(401, "invalid_claims");
}

#[tokio::test]
async fn the_dev_issuer_and_audience_do_not_imply_development_mode() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .args(["--issuer", "casting-dev", "--audience", "casting-agency"])
        .run_to_exit()
        .await;

    assert!(
        exit.status.is_some_and(|s| !s.success()),
        "started without a key set or --dev: {exit:?}"
    );
}

#[tokio::test]
async fn casting_dev_false_is_not_development_mode() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .env("CASTING_DEV", "false")
        .run_to_exit()
        .await;

    assert_refused(&exit, &["API_AUDIENCE", "--audience"]);
}

#[tokio::test]
async fn an_empty_issuer_is_refused() {
    let issuer = MockIssuer::start();
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::new()
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(db_in(&dir))
        .args(["--jwks-url", &issuer.jwks_url(), "--audience", AUDIENCE])
        .env("JWT_ISSUER", "")
        .run_to_exit()
        .await;

    assert_refused(&exit, &["JWT_ISSUER"]);
}

#[tokio::test]
async fn a_leeway_past_five_minutes_or_negative_is_refused_naming_the_variable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for leeway in ["99999999999", "301", "-5"] {
        let exit = Launch::dev(&db_in(&dir))
            .env("JWT_LEEWAY", leeway)
            .run_to_exit()
            .await;
        assert_refused(&exit, &["JWT_LEEWAY"]);
    }
}

#[tokio::test]
async fn development_mode_without_rs256_among_the_algorithms_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::dev(&db_in(&dir))
        .env("ALGORITHMS", "PS256")
        .run_to_exit()
        .await;

    assert_refused(&exit, &["RS256"]);
    assert!(!exit.stdout.contains("token for"), "{exit:?}");
}

#[tokio::test]
async fn an_address_in_use_is_named_with_the_flag_and_nothing_is_created() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("temporary directory");

    let exit = Launch::new()
        .args(["--dev", "--bind", &addr, "--db"])
        .arg(db_in(&dir))
        .run_to_exit()
        .await;

    assert_refused(&exit, &[&addr]);
    assert!(exit.stderr.contains("--bind"), "{exit:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "a refused start left {left:?}");
}

#[tokio::test]
async fn a_store_in_a_missing_directory_names_the_directory() {
    if crate::helpers::embedded_only("a_store_in_a_missing_directory_names_the_directory") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("missing").join("casting.redb");

    let exit = Launch::dev(&db).run_to_exit().await;

    assert_refused(&exit, &["missing"]);
    assert!(exit.stderr.contains("does not exist"), "{exit:?}");
}

#[tokio::test]
async fn the_token_help_lists_the_roles() {
    let exit = Launch::new().args(["token", "--help"]).run_to_exit().await;

    assert!(exit.status.is_some_and(|s| s.success()), "{exit:?}");
    for role in ["assistant", "director", "producer"] {
        assert!(exit.stdout.contains(role), "{role}: {exit:?}");
    }
}

#[tokio::test]
async fn a_damaged_store_is_refused_in_one_line_that_names_it_and_says_to_restore() {
    if crate::helpers::embedded_only(
        "a_damaged_store_is_refused_in_one_line_that_names_it_and_says_to_restore",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = db_in(&dir);
    let mut server = Launch::dev(&db).start().await;
    let token = server.printed_token("producer").expect("a producer token");
    for i in 0..50 {
        let reply = send(
            client()
                .post(server.url("/movies"))
                .bearer_auth(&token)
                .json(&json!({"title": format!("Movie {i}"), "release": "2010-10-13"})),
        )
        .await;
        reply.ok();
    }
    assert!(server.terminate().await.success());
    let mut bytes = std::fs::read(&db).expect("read the store");
    for offset in [12288usize, 16384, 20480] {
        if bytes.len() >= offset + 512 {
            bytes[offset..offset + 512].fill(0);
        }
    }
    std::fs::write(&db, &bytes).expect("damage the store");

    let exit = Launch::dev(&db).run_to_exit().await;

    assert_eq!(exit.status.and_then(|s| s.code()), Some(1), "{exit:?}");
    let said: Vec<&str> = exit
        .stderr
        .lines()
        .filter(|line| line.starts_with("casting-server:"))
        .collect();
    assert_eq!(said.len(), 1, "{exit:?}");
    let line = said[0];
    assert!(line.contains("casting.redb"), "{line}");
    assert!(line.contains("damaged"), "{line}");
    assert!(line.contains("backup"), "{line}");
    assert!(!exit.stderr.contains("panicked"), "{exit:?}");
}
