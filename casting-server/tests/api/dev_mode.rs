//! Development mode: the server as its own issuer, its key kept beside the
//! database, its printed tokens and the `token` command.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use aws_lc_rs::signature;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{
    ASSISTANT, DIRECTOR, Launch, PRODUCER, TestApp, client, id_of, jwt_part, now, send, spawn_app,
    spawn_app_making_its_key, spawn_app_with_issuer,
};

/// The permissions claim of a token, sorted.
fn permissions(token: &str) -> Vec<String> {
    let claims = jwt_part(token, 1);
    let mut permissions: Vec<String> = claims["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("no permissions array in {claims}"))
        .iter()
        .map(|p| p.as_str().unwrap_or_default().to_owned())
        .collect();
    permissions.sort();
    permissions
}

fn sorted(permissions: &[&str]) -> Vec<String> {
    let mut permissions: Vec<String> = permissions.iter().map(|p| (*p).to_owned()).collect();
    permissions.sort();
    permissions
}

/// Mints a token with the `token` command.
async fn mint(role: &str, db: &Path, extra: &[&str]) -> String {
    let exit = Launch::new()
        .args(["token", "--role", role, "--db"])
        .arg(crate::helpers::database_for(db))
        .args(extra)
        .run_to_exit()
        .await;
    assert!(
        exit.status.is_some_and(|s| s.success()),
        "`casting-server token --role {role}` failed: {exit:?}"
    );
    let lines: Vec<&str> = exit.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "the token command printed {:?}",
        exit.stdout
    );
    lines[0].trim().to_owned()
}

/// The files beside the database, the database excepted.
fn beside(db: &Path) -> Vec<std::path::PathBuf> {
    let dir = db.parent().expect("the database has a directory");
    std::fs::read_dir(dir)
        .expect("read the database directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path != db && path.is_file())
        .collect()
}

#[tokio::test]
async fn dev_mode_prints_a_banner_then_a_token_per_role_then_listening() {
    let app = spawn_app().await;
    let lines = &app.server.stdout;

    let position = |prefix: &str| {
        lines
            .iter()
            .position(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in {lines:#?}"))
    };
    let order = [
        position("development mode"),
        position("token for assistant: "),
        position("token for director: "),
        position("token for producer: "),
        position("listening on http://"),
    ];

    assert!(order.windows(2).all(|w| w[0] < w[1]), "{lines:#?}");
}

#[tokio::test]
async fn dev_tokens_carry_the_dev_issuer_and_audience() {
    let app = spawn_app().await;

    for token in [
        &app.tokens.assistant,
        &app.tokens.director,
        &app.tokens.producer,
    ] {
        let claims = jwt_part(token, 1);
        assert_eq!(claims["iss"], json!("casting-dev"), "{claims}");
        let aud = &claims["aud"];
        assert!(
            *aud == json!("casting-agency")
                || aud
                    .as_array()
                    .is_some_and(|a| a.contains(&json!("casting-agency"))),
            "aud {aud}"
        );
        assert!(
            claims["exp"].as_i64().is_some_and(|exp| exp > now()),
            "{claims}"
        );
    }
}

#[tokio::test]
async fn dev_tokens_carry_exactly_their_role_permissions() {
    let app = spawn_app().await;

    assert_eq!(permissions(&app.tokens.assistant), sorted(ASSISTANT));
    assert_eq!(permissions(&app.tokens.director), sorted(DIRECTOR));
    assert_eq!(permissions(&app.tokens.producer), sorted(PRODUCER));
}

#[tokio::test]
async fn dev_tokens_are_rs256_with_a_kid() {
    let app = spawn_app().await;

    let header = jwt_part(&app.tokens.producer, 0);

    assert_eq!(header["alg"], json!("RS256"), "{header}");
    assert!(header["kid"].is_string(), "{header}");
}

#[tokio::test]
async fn dev_mode_serves_its_public_key_without_a_token() {
    let app = spawn_app().await;

    let reply = app.get_anonymously("/.well-known/jwks.json").await;

    let keys = reply.ok()["keys"].as_array().cloned().unwrap_or_default();
    assert!(!keys.is_empty(), "{reply:?}");
    for key in &keys {
        assert_eq!(key["kty"], json!("RSA"), "{key}");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "the JWKS leaks `{private}`: {key}"
            );
        }
    }
}

#[tokio::test]
async fn the_dev_key_set_verifies_the_dev_tokens() {
    let app = spawn_app().await;
    let jwks = app
        .get_anonymously("/.well-known/jwks.json")
        .await
        .ok()
        .clone();
    let token = &app.tokens.producer;
    let kid = jwt_part(token, 0)["kid"].clone();

    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid))
        .unwrap_or_else(|| panic!("no key {kid} in {jwks}"));
    let decode = |field: &str| {
        URL_SAFE_NO_PAD
            .decode(key[field].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("`{field}` is not base64url: {e}"))
    };
    let (n, e) = (decode("n"), decode("e"));
    let (message, sig) = token.rsplit_once('.').expect("a JWS");
    let sig = URL_SAFE_NO_PAD.decode(sig).expect("base64url signature");

    let verified = signature::RsaPublicKeyComponents { n: &n, e: &e }.verify(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        message.as_bytes(),
        &sig,
    );
    assert!(
        verified.is_ok(),
        "the producer token does not verify with the JWKS"
    );
}

#[tokio::test]
async fn the_dev_key_is_created_beside_the_database_readable_by_its_owner_only() {
    if crate::helpers::embedded_only("the_dev_key_is_created_beside_the_database") {
        return;
    }
    let app = spawn_app_making_its_key().await;
    let db = app.dir.path().join("casting.redb");

    let files = beside(&db);

    assert!(!files.is_empty(), "no key file beside {}", db.display());
    for file in files {
        let mode = std::fs::metadata(&file)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", file.display());
    }
}

#[tokio::test]
async fn the_token_command_prints_one_token_for_the_role() {
    let app = spawn_app().await;
    let db = app.dir.path().join("casting.redb");

    let token = mint("director", &db, &[]).await;

    assert_eq!(token.split('.').count(), 3, "{token:?}");
    assert_eq!(permissions(&token), sorted(DIRECTOR));
    assert_eq!(jwt_part(&token, 1)["iss"], json!("casting-dev"));
    let body = json!({"name": "Robert", "age": 44, "gender": "Male"});
    app.post("/actors", &token, &body).await.ok();
}

#[tokio::test]
async fn the_token_command_honours_ttl() {
    let app = spawn_app().await;
    let db = app.dir.path().join("casting.redb");

    let token = mint("assistant", &db, &["--ttl", "120"]).await;

    let exp = jwt_part(&token, 1)["exp"].as_i64().unwrap_or_default();
    let left = exp - now();
    assert!((100..=130).contains(&left), "exp is {left} s away, not 120");
}

#[tokio::test]
async fn the_token_command_refuses_an_unknown_role() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("casting.redb");

    let exit = Launch::new()
        .args(["token", "--role", "janitor", "--db"])
        .arg(&db)
        .run_to_exit()
        .await;

    assert!(
        exit.status.is_some_and(|s| !s.success()),
        "an unknown role was accepted: {exit:?}"
    );
}

#[tokio::test]
async fn the_token_command_signs_with_the_key_the_server_created() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("casting.redb");
    let server = Launch::dev(&db).start().await;

    let token = mint("producer", &db, &[]).await;

    // Over PostgreSQL the key is in the database, not beside a file.
    let key_files = beside(&db);
    assert!(
        !key_files.is_empty() || crate::helpers::over_postgres(),
        "the server left no key beside the database"
    );
    for file in &key_files {
        let mode = std::fs::metadata(file)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", file.display());
    }
    let reply = send(client().get(server.url("/movies")).bearer_auth(&token)).await;
    reply.ok();
}

#[tokio::test]
async fn the_token_command_never_creates_a_key_and_says_where_it_looked() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("casting.redb");

    let exit = Launch::new()
        .args(["token", "--role", "producer", "--db"])
        .arg(&db)
        .run_to_exit()
        .await;

    assert!(exit.status.is_some_and(|s| !s.success()), "{exit:?}");
    assert!(exit.stdout.trim().is_empty(), "{exit:?}");
    let looked = format!("{}.dev-key.pem", db.display());
    assert!(exit.stderr.contains(&looked), "{exit:?}");
    assert!(exit.stderr.contains("--dev"), "{exit:?}");
    assert!(
        std::fs::read_dir(dir.path())
            .expect("list")
            .next()
            .is_none(),
        "the token command left files behind"
    );
}

#[tokio::test]
async fn the_token_command_names_a_missing_directory() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("nowhere").join("casting.redb");

    let exit = Launch::new()
        .args(["token", "--role", "producer", "--db"])
        .arg(&db)
        .run_to_exit()
        .await;

    assert!(exit.status.is_some_and(|s| !s.success()), "{exit:?}");
    assert!(exit.stderr.contains("nowhere"), "{exit:?}");
    assert!(!exit.stderr.contains("tmp-"), "{exit:?}");
}

#[tokio::test]
async fn a_token_minted_before_a_restart_still_works_after_it() {
    let mut app = spawn_app().await;
    let db = app.dir.path().join("casting.redb");
    let minted = mint("assistant", &db, &[]).await;

    app.server.restart().await;

    app.get("/movies", &minted).await.ok();
}

#[tokio::test]
async fn printed_tokens_of_a_previous_run_still_work() {
    let mut app = spawn_app().await;
    let old = app.tokens.producer.clone();

    app.server.restart().await;

    app.get("/actors", &old).await.ok();
}

#[tokio::test]
async fn data_persists_across_a_restart() {
    let mut app: TestApp = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let actor = app
        .create_actor("Robert Downey Jr", 44, "Male", Some(id_of(&movie)))
        .await;

    app.server.restart().await;

    let mut expected_movie = movie.clone();
    expected_movie["actors"] = json!([id_of(&actor)]);
    assert_eq!(app.movie(id_of(&movie)).await, expected_movie);
    assert_eq!(app.actor(id_of(&actor)).await, actor);
}

#[tokio::test]
async fn ids_are_not_reused_across_a_restart() {
    let mut app = spawn_app().await;
    let gone = id_of(&app.create_movie("Gone", "2010-10-13").await);
    app.delete(&format!("/movies/{gone}"), &app.tokens.producer)
        .await
        .ok();

    app.server.restart().await;

    let next = id_of(&app.create_movie("Next", "2010-10-13").await);
    assert!(next > gone, "id {next} after the deleted {gone}");
}

#[tokio::test]
async fn a_dev_server_refuses_tokens_of_another_issuer() {
    let app = spawn_app().await;
    let foreign = spawn_app_with_issuer().await;

    let reply = app.get("/movies", &foreign.tokens.producer).await;

    reply.expect_error(401, "invalid_token");
}

#[tokio::test]
async fn a_server_without_dev_prints_no_token_and_serves_no_jwks() {
    let app = spawn_app_with_issuer().await;

    let printed: Vec<&String> = app
        .server
        .stdout
        .iter()
        .filter(|line| line.starts_with("token for") || line.starts_with("development mode"))
        .collect();
    assert!(printed.is_empty(), "{printed:?}");
    let reply = app.get_anonymously("/.well-known/jwks.json").await;
    reply.expect_error(404, "not_found");
}

#[tokio::test]
async fn dev_tokens_of_one_database_do_not_open_another() {
    let first = spawn_app_making_its_key().await;
    let second = spawn_app_making_its_key().await;

    let reply = second.get("/movies", &first.tokens.producer).await;

    let code: &Value = &reply.json["code"];
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(code, &json!("invalid_token"), "{reply:?}");
}

#[tokio::test]
async fn the_token_command_defaults_to_the_database_in_the_working_directory() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Launch::new()
        .args(["--dev", "--bind", "127.0.0.1:0"])
        .cwd(dir.path())
        .start()
        .await;
    let exit = Launch::new()
        .args(["token", "--role", "assistant"])
        .cwd(dir.path())
        .run_to_exit()
        .await;
    assert!(exit.status.is_some_and(|s| s.success()), "{exit:?}");
    let token = exit.stdout.trim().to_owned();

    let reply = send(client().get(server.url("/movies")).bearer_auth(&token)).await;

    reply.ok();
}
