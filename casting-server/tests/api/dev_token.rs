//! Development mode's token endpoint, `POST /oauth/token`: the
//! client-credentials grant with the documented development clients, whose
//! tokens the server accepts; absent outside development mode.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ASSISTANT, TestApp, jwt_part, send, spawn_app, spawn_app_with_issuer};

const SECRET: &str = "casting-dev-secret";

/// Asks `app` for a token with a form body of `pairs`.
async fn grant(app: &TestApp, pairs: &[(&str, &str)]) -> crate::helpers::Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    send(
        app.request(Method::POST, "/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

/// The grant of the development client of `role`.
fn credentials(role: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", format!("casting-dev-{role}")),
        ("client_secret", SECRET.to_owned()),
    ]
}

async fn grant_for(app: &TestApp, role: &str) -> crate::helpers::Reply {
    let pairs = credentials(role);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    grant(app, &pairs).await
}

fn sorted(permissions: &Value) -> Vec<String> {
    let mut list: Vec<String> = permissions
        .as_array()
        .expect("a permissions array")
        .iter()
        .map(|p| p.as_str().expect("a string").to_owned())
        .collect();
    list.sort();
    list
}

#[tokio::test]
async fn a_development_client_gets_a_bearer_token_of_its_role() {
    let app = spawn_app().await;

    let reply = grant_for(&app, "assistant").await;

    let body = reply.expect_status(200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let token = body["access_token"].as_str().expect("a token");
    let claims = jwt_part(token, 1);
    let mut expected: Vec<String> = ASSISTANT.iter().map(|p| (*p).to_owned()).collect();
    expected.sort();
    assert_eq!(sorted(&claims["permissions"]), expected);
    assert_eq!(claims["iss"], "casting-dev");
    assert_eq!(claims["aud"], "casting-agency");
}

#[tokio::test]
async fn a_granted_token_opens_the_routes_of_its_role_and_no_others() {
    let app = spawn_app().await;
    let assistant = grant_for(&app, "assistant").await;
    let assistant = assistant.expect_status(200)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let producer = grant_for(&app, "producer").await;
    let producer = producer.expect_status(200)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let movie = json!({"title": "Universe", "release": "2010-10-13"});

    app.get("/movies", &assistant).await.ok();
    app.post("/movies", &assistant, &movie)
        .await
        .expect_error(403, "permission_denied");
    app.post("/movies", &producer, &movie).await.ok();
}

#[tokio::test]
async fn a_json_grant_is_accepted_as_auth0_accepts_it() {
    let app = spawn_app().await;
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": "casting-dev-director",
        "client_secret": SECRET,
        "audience": "casting-agency",
    });

    let reply = send(app.request(Method::POST, "/oauth/token").json(&body)).await;

    assert!(reply.expect_status(200)["access_token"].is_string());
}

#[tokio::test]
async fn a_wrong_secret_or_unknown_client_is_invalid_client() {
    let app = spawn_app().await;
    for (id, secret) in [
        ("casting-dev-producer", "guess"),
        ("casting-dev-admin", SECRET),
        ("producer", SECRET),
    ] {
        let reply = grant(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ],
        )
        .await;

        let body = reply.expect_status(401);
        assert_eq!(body["error"], "invalid_client", "{id}");
        assert!(body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn another_grant_type_is_unsupported() {
    let app = spawn_app().await;

    let reply = grant(
        &app,
        &[
            ("grant_type", "password"),
            ("client_id", "casting-dev-producer"),
            ("client_secret", SECRET),
        ],
    )
    .await;

    assert_eq!(reply.expect_status(400)["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn another_audience_is_refused() {
    let app = spawn_app().await;

    let reply = grant(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "casting-dev-producer"),
            ("client_secret", SECRET),
            ("audience", "https://elsewhere/"),
        ],
    )
    .await;

    assert_eq!(reply.expect_status(400)["error"], "invalid_request");
}

#[tokio::test]
async fn the_token_endpoint_takes_only_post() {
    let app = spawn_app().await;

    let reply = app.get_anonymously("/oauth/token").await;

    reply.expect_error(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("POST"));
}

#[tokio::test]
async fn outside_development_mode_the_token_endpoint_does_not_exist() {
    let app = spawn_app_with_issuer().await;

    let reply = grant_for(&app, "producer").await;

    reply.expect_error(404, "not_found");
}
