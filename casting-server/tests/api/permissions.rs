//! Every route against every role: allowed exactly when the token carries
//! the route's permission, else a 403 `permission_denied` with
//! `WWW-Authenticate: Bearer error="insufficient_scope"`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ASSISTANT, DIRECTOR, PRODUCER, Reply, TestApp, id_of, send, spawn_app, spawn_app_with_issuer,
};

/// The eleven permissions and the routes each opens.
const ROUTES: &[(&str, Method, &str)] = &[
    ("get:movies", Method::GET, "/movies"),
    ("get:movies", Method::GET, "/movies/{movie}"),
    ("get:actors", Method::GET, "/actors"),
    ("get:actors", Method::GET, "/actors/{actor}"),
    ("post:movies", Method::POST, "/movies"),
    ("post:actors", Method::POST, "/actors"),
    ("patch:movies", Method::PATCH, "/movies/{movie}"),
    ("patch:actors", Method::PATCH, "/actors/{actor}"),
    ("delete:movies", Method::DELETE, "/movies/{movie}"),
    ("delete:actors", Method::DELETE, "/actors/{actor}"),
    ("search:movies", Method::GET, "/movies/search"),
    ("search:actors", Method::GET, "/actors/search"),
    ("read:audit", Method::GET, "/audit"),
];

/// Calls one route with `token` on a fresh movie and actor made by a token
/// with every permission.
async fn call(app: &TestApp, admin: &str, method: &Method, template: &str, token: &str) -> Reply {
    let body = json!({"title": "Universe", "release": "2010-10-13"});
    let movie = app.post("/movies", admin, &body).await.ok()["movie added"].clone();
    let body = json!({"name": "Robert", "age": 44, "gender": "Male", "movie_id": id_of(&movie)});
    let actor = app.post("/actors", admin, &body).await.ok()["actor added"].clone();
    let path = template
        .replace("{movie}", &id_of(&movie).to_string())
        .replace("{actor}", &id_of(&actor).to_string());
    let body: Option<Value> = match (method, template) {
        (&Method::POST, "/movies") => Some(json!({"title": "Galaxy", "release": "2012-01-02"})),
        (&Method::POST, "/actors") => {
            Some(json!({"name": "Scarlett", "age": 35, "gender": "Female"}))
        }
        (&Method::PATCH, _) if template.starts_with("/movies") => {
            Some(json!({"title": "Multiverse"}))
        }
        (&Method::PATCH, _) => Some(json!({"age": 45})),
        _ => None,
    };
    let mut request = app.authed(method.clone(), &path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// Every route that answered otherwise than `granted` says, as text.
async fn mismatches(app: &TestApp, admin: &str, token: &str, granted: &[&str]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (permission, method, template) in ROUTES {
        let reply = call(app, admin, method, template, token).await;
        let allowed = granted.contains(permission);
        let as_expected = if allowed {
            reply.status == 200
        } else {
            reply.status == 403
                && reply.json["code"] == json!("permission_denied")
                && reply
                    .header("www-authenticate")
                    .is_some_and(|h| h.contains("insufficient_scope"))
        };
        if !as_expected {
            let expected = if allowed {
                "200"
            } else {
                "403 permission_denied"
            };
            wrong.push(format!(
                "{method} {template}: expected {expected}, got {reply:?}"
            ));
        }
    }
    wrong
}

#[tokio::test]
async fn the_dev_assistant_token_opens_exactly_the_assistant_routes() {
    let app = spawn_app().await;

    let wrong = mismatches(&app, &app.tokens.producer, &app.tokens.assistant, ASSISTANT).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn the_dev_director_token_opens_exactly_the_director_routes() {
    let app = spawn_app().await;

    let wrong = mismatches(&app, &app.tokens.producer, &app.tokens.director, DIRECTOR).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn the_dev_producer_token_opens_every_route() {
    let app = spawn_app().await;

    let wrong = mismatches(&app, &app.tokens.producer, &app.tokens.producer, PRODUCER).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn an_auth0_assistant_token_opens_exactly_the_assistant_routes() {
    let app = spawn_app_with_issuer().await;

    let wrong = mismatches(&app, &app.tokens.producer, &app.tokens.assistant, ASSISTANT).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn an_auth0_director_token_opens_exactly_the_director_routes() {
    let app = spawn_app_with_issuer().await;

    let wrong = mismatches(&app, &app.tokens.producer, &app.tokens.director, DIRECTOR).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn an_auth0_producer_token_opens_every_route() {
    let app = spawn_app_with_issuer().await;

    let wrong = mismatches(&app, &app.tokens.producer, &app.tokens.producer, PRODUCER).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn a_token_without_permissions_opens_no_route() {
    let app = spawn_app_with_issuer().await;
    let token = app.issuer().token(&[]);

    let wrong = mismatches(&app, &app.tokens.producer, &token, &[]).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn each_permission_alone_opens_exactly_its_routes() {
    let app = spawn_app_with_issuer().await;
    let mut wrong = Vec::new();
    for &permission in PRODUCER {
        let token = app.issuer().token(&[permission]);
        for line in mismatches(&app, &app.tokens.producer, &token, &[permission]).await {
            wrong.push(format!("with only {permission}: {line}"));
        }
    }

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn a_403_carries_the_envelope_and_insufficient_scope() {
    let app = spawn_app().await;

    let body = json!({"title": "Universe", "release": "2010-10-13"});
    let reply = app.post("/movies", &app.tokens.assistant, &body).await;

    reply.expect_error(403, "permission_denied");
    let challenge = reply.www_authenticate();
    assert!(challenge.starts_with("Bearer"), "{challenge:?}");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge:?}"
    );
}

#[tokio::test]
async fn unknown_permission_strings_are_ignored() {
    let app = spawn_app_with_issuer().await;

    let token = app.issuer().token(&["get:movies", "admin:everything", "*"]);
    app.get("/movies", &token).await.ok();
    let reply = app.get("/actors", &token).await;

    reply.expect_error(403, "permission_denied");
}

#[tokio::test]
async fn a_denied_request_changes_nothing() {
    let app = spawn_app().await;
    let movie = app.create_movie("Universe", "2010-10-13").await;
    let id = id_of(&movie);

    app.delete(&format!("/movies/{id}"), &app.tokens.director)
        .await
        .expect_error(403, "permission_denied");

    assert_eq!(app.movie(id).await, movie);
}

#[tokio::test]
async fn health_and_openapi_need_no_token() {
    let app = spawn_app().await;

    for path in ["/health", "/openapi.json"] {
        let reply = send(app.request(Method::GET, path)).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
    }
}

#[tokio::test]
async fn every_protected_route_without_a_token_is_a_401_with_a_bare_challenge() {
    let app = spawn_app().await;

    let mut wrong = Vec::new();
    for (_, method, template) in ROUTES {
        let path = template.replace("{movie}", "1").replace("{actor}", "1");
        let mut request = app.request(method.clone(), &path);
        if matches!(*method, Method::POST | Method::PATCH) {
            request = request.json(&json!({}));
        }
        let reply = send(request).await;
        let as_expected = reply.status == 401
            && reply.json["code"] == json!("authorization_header_missing")
            && reply.header("www-authenticate") == Some("Bearer");
        if !as_expected {
            wrong.push(format!("{method} {path}: {reply:?}"));
        }
    }

    assert!(wrong.is_empty(), "{wrong:#?}");
}
