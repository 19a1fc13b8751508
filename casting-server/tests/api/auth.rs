//! Token verification against a mock Auth0: the header, the signature, the
//! key set and its fetching, the claims, and the `WWW-Authenticate` answers.

use std::time::{Duration, Instant};

use aws_lc_rs::signature;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{
    Launch, Reply, TestApp, now, send, spawn_app_with, spawn_app_with_issuer,
    spawn_app_with_jwks_url,
};
use crate::mock_issuer::{MockIssuer, Mode, b64, hs256, keys, signing_input, unsigned};

/// GET /movies with a raw `Authorization` header value.
async fn with_authorization(app: &TestApp, value: &str) -> Reply {
    send(
        app.request(Method::GET, "/movies")
            .header("authorization", value),
    )
    .await
}

async fn get_movies(app: &TestApp, token: &str) -> Reply {
    app.get("/movies", token).await
}

fn good_claims(app: &TestApp) -> Value {
    app.issuer().claims(&["get:movies"])
}

#[track_caller]
fn expect_invalid_token(reply: &Reply, code: &str) {
    reply.expect_error(401, code);
    let challenge = reply.www_authenticate();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "WWW-Authenticate {challenge:?} is not Bearer error=\"invalid_token\""
    );
}

/// Polls the issuer's fetch counter until it reaches `at_least`.
async fn wait_for_fetches(issuer: &MockIssuer, at_least: usize, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if issuer.fetches() >= at_least {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    issuer.fetches() >= at_least
}

#[tokio::test]
async fn a_good_rs256_token_is_accepted() {
    let app = spawn_app_with_issuer().await;

    let reply = get_movies(&app, &app.issuer().token(&["get:movies"])).await;

    reply.ok();
}

#[tokio::test]
async fn no_authorization_header_is_a_401_with_a_bare_bearer_challenge() {
    let app = spawn_app_with_issuer().await;

    let reply = app.get_anonymously("/movies").await;

    reply.expect_error(401, "authorization_header_missing");
    assert_eq!(reply.www_authenticate(), "Bearer");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app_with_issuer().await;
    let token = app.issuer().token(&["get:movies"]);

    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let reply = with_authorization(&app, &format!("{scheme} {token}")).await;
        assert_eq!(reply.status, 200, "scheme {scheme:?}: {reply:?}");
    }
}

#[tokio::test]
async fn a_header_that_is_not_bearer_is_an_invalid_header_with_invalid_request() {
    let app = spawn_app_with_issuer().await;
    let token = app.issuer().token(&["get:movies"]);

    for value in [
        "Basic dXNlcjpwYXNz".to_owned(),
        format!("Token {token}"),
        "Bearer".to_owned(),
        format!("Bearer {token} extra"),
        token.clone(),
    ] {
        let reply = with_authorization(&app, &value).await;
        reply.expect_error(401, "invalid_header");
        let challenge = reply.www_authenticate();
        assert!(
            challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_request\""),
            "for {value:?}, WWW-Authenticate is {challenge:?}"
        );
    }
}

#[tokio::test]
async fn a_token_that_is_not_a_jwt_is_an_invalid_header_with_invalid_token() {
    let app = spawn_app_with_issuer().await;
    let claims = b64(good_claims(&app).to_string().as_bytes());

    for token in [
        "abc".to_owned(),
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        "!!!.###.$$$".to_owned(),
        format!("{}.{claims}.c2ln", b64(b"not json")),
        format!("{}.{}.c2ln", b64(br#"{"alg":"RS256"}"#), b64(b"not json")),
    ] {
        let reply = get_movies(&app, &token).await;
        assert_eq!(reply.status, 401, "token {token:?}: {reply:?}");
        // The token is at fault, not the header: RFC 6750 lists a malformed
        // token under invalid_token, while the body keeps the contract's code.
        expect_invalid_token(&reply, "invalid_header");
    }
}

#[tokio::test]
async fn a_token_over_16_kib_is_an_invalid_header_with_invalid_token() {
    let app = spawn_app_with_issuer().await;
    let mut claims = good_claims(&app);
    claims["padding"] = json!("p".repeat(17 * 1024));
    let token = app.issuer().sign(&claims);
    assert!(token.len() > 16 * 1024);

    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_header");
}

#[tokio::test]
async fn a_header_with_crit_is_an_invalid_token() {
    let app = spawn_app_with_issuer().await;
    for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("x")] {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1", "crit": crit, "exp": 1});
        let token = keys()
            .primary
            .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));

        let reply = get_movies(&app, &token).await;

        expect_invalid_token(&reply, "invalid_token");
    }
}

#[tokio::test]
async fn two_authorization_headers_are_an_invalid_header_with_invalid_request() {
    let app = spawn_app_with_issuer().await;
    let good = app.issuer().token(&["get:movies"]);

    for second in [good.clone(), "garbage".to_owned()] {
        let reply = send(
            app.request(Method::GET, "/movies")
                .header("authorization", format!("Bearer {good}"))
                .header("authorization", format!("Bearer {second}")),
        )
        .await;

        reply.expect_error(401, "invalid_header");
        let challenge = reply.www_authenticate();
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "WWW-Authenticate is {challenge:?}"
        );
    }
}

#[tokio::test]
async fn a_known_kid_whose_key_refuses_the_algorithm_is_refused_at_once_without_a_fetch() {
    // kid-1 is published with alg RS256; the server also allows PS256.
    let app = spawn_app_with(MockIssuer::start(), &["--algorithms", "RS256,PS256"]).await;
    get_movies(&app, &app.issuer().token(&["get:movies"]))
        .await
        .ok();
    let fetches = app.issuer().fetches();
    let header = json!({"alg": "PS256", "typ": "JWT", "kid": "kid-1"});
    let ps256 = keys()
        .primary
        .sign(&signature::RSA_PSS_SHA256, &header, &good_claims(&app));

    let started = Instant::now();
    let reply = get_movies(&app, &ps256).await;

    expect_invalid_token(&reply, "invalid_token");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the refusal took {:?}",
        started.elapsed()
    );
    assert_eq!(
        app.issuer().fetches(),
        fetches,
        "the refusal fetched the key set"
    );
}

#[tokio::test]
async fn a_claim_no_number_can_hold_is_invalid_claims() {
    let app = spawn_app_with_issuer().await;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"});
    let issuer = app.issuer().issuer();
    let exp = now() + 3600;
    for claims in [
        format!(
            r#"{{"iss":"{issuer}","aud":"test-api","exp":1e400,"permissions":["get:movies"]}}"#
        ),
        format!(
            r#"{{"iss":"{issuer}","aud":"test-api","exp":{exp},"nbf":-1e999,"permissions":["get:movies"]}}"#
        ),
    ] {
        let token = keys()
            .primary
            .sign_raw(&signature::RSA_PKCS1_SHA256, &header, &claims);

        let reply = get_movies(&app, &token).await;

        expect_invalid_token(&reply, "invalid_claims");
    }
}

#[tokio::test]
async fn a_good_token_just_under_16_kib_is_accepted() {
    let app = spawn_app_with_issuer().await;
    let mut claims = good_claims(&app);
    claims["padding"] = json!("p".repeat(11 * 1024));
    let token = app.issuer().sign(&claims);
    assert!(token.len() < 16 * 1024 && token.len() > 15 * 1024);

    let reply = get_movies(&app, &token).await;

    reply.ok();
}

#[tokio::test]
async fn an_expired_token_is_token_expired_with_invalid_token() {
    let app = spawn_app_with_issuer().await;
    let mut claims = good_claims(&app);
    claims["exp"] = json!(now() - 120);

    let reply = get_movies(&app, &app.issuer().sign(&claims)).await;

    expect_invalid_token(&reply, "token_expired");
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_accepted() {
    let app = spawn_app_with_issuer().await;
    let mut claims = good_claims(&app);
    claims["exp"] = json!(now() - 10);

    let reply = get_movies(&app, &app.issuer().sign(&claims)).await;

    reply.ok();
}

#[tokio::test]
async fn the_leeway_flag_sets_the_tolerance() {
    let strict = spawn_app_with(MockIssuer::start(), &["--leeway", "0"]).await;
    let lenient = spawn_app_with(MockIssuer::start(), &["--leeway", "300"]).await;

    let mut claims = good_claims(&strict);
    claims["exp"] = json!(now() - 10);
    let reply = get_movies(&strict, &strict.issuer().sign(&claims)).await;
    expect_invalid_token(&reply, "token_expired");

    let mut claims = good_claims(&lenient);
    claims["exp"] = json!(now() - 250);
    get_movies(&lenient, &lenient.issuer().sign(&claims))
        .await
        .ok();
}

#[tokio::test]
async fn a_token_without_typ_is_accepted() {
    // RFC 7519, 5.1: `typ` is optional, and docs/tokens.md asks nothing of it.
    let app = spawn_app_with_issuer().await;
    let header = json!({"alg": "RS256", "kid": "kid-1"});

    let token = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));

    get_movies(&app, &token).await.ok();
}

#[tokio::test]
async fn a_token_accepted_before_it_expires_is_refused_after() {
    let app = spawn_app_with(MockIssuer::start(), &["--leeway", "0"]).await;
    let mut claims = good_claims(&app);
    let exp = now() + 2;
    claims["exp"] = json!(exp);
    let token = app.issuer().sign(&claims);
    get_movies(&app, &token).await.ok();

    // The subject here is the clock: wait, bounded, until `exp` has passed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while now() <= exp && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "token_expired");
}

#[tokio::test]
async fn a_token_not_yet_valid_is_invalid_claims() {
    let app = spawn_app_with_issuer().await;
    let mut claims = good_claims(&app);
    claims["nbf"] = json!(now() + 300);

    let reply = get_movies(&app, &app.issuer().sign(&claims)).await;

    expect_invalid_token(&reply, "invalid_claims");
}

#[tokio::test]
async fn a_nbf_within_the_leeway_or_past_is_accepted() {
    let app = spawn_app_with_issuer().await;

    for nbf in [now() + 10, now() - 60] {
        let mut claims = good_claims(&app);
        claims["nbf"] = json!(nbf);
        get_movies(&app, &app.issuer().sign(&claims)).await.ok();
    }
}

#[tokio::test]
async fn a_wrong_or_malformed_issuer_is_invalid_claims() {
    let app = spawn_app_with_issuer().await;
    let issuer = app.issuer().issuer();
    let without_slash = issuer.trim_end_matches('/').to_owned();

    for iss in [
        json!("https://someone-else.example/"),
        json!(without_slash),
        json!(format!("{issuer}x")),
        json!([issuer]),
        json!(null),
        json!(42),
    ] {
        let mut claims = good_claims(&app);
        claims["iss"] = iss.clone();
        let reply = get_movies(&app, &app.issuer().sign(&claims)).await;
        assert_eq!(reply.status, 401, "iss {iss}: {reply:?}");
        expect_invalid_token(&reply, "invalid_claims");
    }
}

#[tokio::test]
async fn a_missing_issuer_is_invalid_claims() {
    let app = spawn_app_with_issuer().await;
    let mut claims = good_claims(&app);
    claims.as_object_mut().map(|c| c.remove("iss"));

    let reply = get_movies(&app, &app.issuer().sign(&claims)).await;

    expect_invalid_token(&reply, "invalid_claims");
}

#[tokio::test]
async fn an_audience_string_or_array_containing_ours_is_accepted() {
    let app = spawn_app_with_issuer().await;

    for aud in [
        json!("test-api"),
        json!(["test-api"]),
        json!(["https://tenant.example/userinfo", "test-api"]),
    ] {
        let mut claims = good_claims(&app);
        claims["aud"] = aud.clone();
        let reply = get_movies(&app, &app.issuer().sign(&claims)).await;
        assert_eq!(reply.status, 200, "aud {aud}: {reply:?}");
    }
}

#[tokio::test]
async fn a_wrong_missing_or_malformed_audience_is_invalid_claims() {
    let app = spawn_app_with_issuer().await;

    for aud in [
        Some(json!("other-api")),
        Some(json!(["other-api", "another"])),
        Some(json!([])),
        Some(json!("TEST-API")),
        Some(json!(7)),
        None,
    ] {
        let mut claims = good_claims(&app);
        match &aud {
            Some(aud) => claims["aud"] = aud.clone(),
            None => {
                claims.as_object_mut().map(|c| c.remove("aud"));
            }
        }
        let reply = get_movies(&app, &app.issuer().sign(&claims)).await;
        assert_eq!(reply.status, 401, "aud {aud:?}: {reply:?}");
        expect_invalid_token(&reply, "invalid_claims");
    }
}

#[tokio::test]
async fn a_missing_or_malformed_exp_is_invalid_claims() {
    let app = spawn_app_with_issuer().await;

    for exp in [None, Some(json!("9999999999")), Some(json!(null))] {
        let mut claims = good_claims(&app);
        match &exp {
            Some(exp) => claims["exp"] = exp.clone(),
            None => {
                claims.as_object_mut().map(|c| c.remove("exp"));
            }
        }
        let reply = get_movies(&app, &app.issuer().sign(&claims)).await;
        assert_eq!(reply.status, 401, "exp {exp:?}: {reply:?}");
        expect_invalid_token(&reply, "invalid_claims");
    }
}

#[tokio::test]
async fn a_malformed_nbf_is_invalid_claims() {
    let app = spawn_app_with_issuer().await;
    let mut claims = good_claims(&app);
    claims["nbf"] = json!("yesterday");

    let reply = get_movies(&app, &app.issuer().sign(&claims)).await;

    expect_invalid_token(&reply, "invalid_claims");
}

#[tokio::test]
async fn permissions_that_are_not_an_array_of_strings_are_invalid_claims() {
    let app = spawn_app_with_issuer().await;

    for permissions in [
        json!("get:movies"),
        json!([1, 2]),
        json!(["get:movies", 3]),
        json!({"get:movies": true}),
        json!(null),
    ] {
        let mut claims = good_claims(&app);
        claims["permissions"] = permissions.clone();
        let reply = get_movies(&app, &app.issuer().sign(&claims)).await;
        assert_eq!(reply.status, 401, "permissions {permissions}: {reply:?}");
        expect_invalid_token(&reply, "invalid_claims");
    }
}

#[tokio::test]
async fn the_scope_claim_grants_when_permissions_is_absent() {
    let app = spawn_app_with_issuer().await;
    let mut claims = good_claims(&app);
    claims.as_object_mut().map(|c| c.remove("permissions"));
    claims["scope"] = json!("openid profile get:movies");

    let token = app.issuer().sign(&claims);

    get_movies(&app, &token).await.ok();
    app.get("/actors", &token)
        .await
        .expect_error(403, "permission_denied");
}

#[tokio::test]
async fn the_permissions_claim_wins_over_scope() {
    let app = spawn_app_with_issuer().await;
    let mut claims = app.issuer().claims(&[]);
    claims["scope"] = json!("get:movies");

    let reply = get_movies(&app, &app.issuer().sign(&claims)).await;

    reply.expect_error(403, "permission_denied");
}

#[tokio::test]
async fn alg_none_is_an_invalid_token() {
    let app = spawn_app_with_issuer().await;

    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": "kid-1"});
        let reply = get_movies(&app, &unsigned(&header, &good_claims(&app))).await;
        assert_eq!(reply.status, 401, "alg {alg:?}: {reply:?}");
        expect_invalid_token(&reply, "invalid_token");
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_an_invalid_token() {
    let app = spawn_app_with_issuer().await;
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "kid-1"});
    let public = keys().primary.public_der();

    let token = hs256(public, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn an_oct_key_in_the_key_set_is_never_used() {
    let issuer = MockIssuer::start();
    let secret = b"a shared secret that must not work";
    issuer.publish_jwk(json!({"kty": "oct", "kid": "hmac", "k": b64(secret)}));
    let app = spawn_app_with(issuer, &[]).await;

    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "hmac"});
    let reply = get_movies(&app, &hs256(secret, &header, &good_claims(&app))).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn hmac_is_never_accepted_even_when_listed_in_algorithms() {
    // Refusing to start with HS256 listed is as good as ignoring it.
    let issuer = MockIssuer::start();
    let secret = b"a shared secret that must not work";
    issuer.publish_jwk(json!({"kty": "oct", "kid": "hmac", "k": b64(secret)}));
    let dir = tempfile::tempdir().expect("temporary directory");
    let launch = Launch::verifying(
        &issuer,
        &issuer.jwks_url(),
        &dir.path().join("casting.redb"),
    )
    .args(["--algorithms", "RS256,HS256"]);
    let Ok(server) = launch.try_start().await else {
        return;
    };
    let client = crate::helpers::client();
    let claims = issuer.claims(&["get:movies"]);

    for (kid, key) in [
        ("hmac", &secret[..]),
        ("kid-1", keys().primary.public_der()),
    ] {
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
        let token = hs256(key, &header, &claims);
        let reply = send(client.get(server.url("/movies")).bearer_auth(token)).await;
        expect_invalid_token(&reply, "invalid_token");
    }
}

#[tokio::test]
async fn an_rsa_key_meant_for_encryption_is_never_used() {
    let issuer = MockIssuer::start();
    let mut jwk = keys().attacker.jwk(false);
    jwk["use"] = json!("enc");
    jwk["kid"] = json!("enc-key");
    issuer.publish_jwk(jwk);
    let app = spawn_app_with(issuer, &[]).await;

    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "enc-key"});
    let token = keys()
        .attacker
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn keys_of_other_types_do_not_spoil_the_rsa_keys() {
    let issuer = MockIssuer::start();
    let ec = signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
        .expect("generate a P-256 key");
    let point = signature::KeyPair::public_key(&ec).as_ref().to_vec();
    issuer.publish_jwk(json!({
        "kty": "EC", "crv": "P-256", "kid": "ec-key", "use": "sig",
        "x": b64(&point[1..33]), "y": b64(&point[33..65]),
    }));
    issuer.publish_jwk(json!({"kty": "oct", "kid": "hmac", "k": b64(b"secret")}));
    let app = spawn_app_with(issuer, &[]).await;

    let reply = get_movies(&app, &app.issuer().token(&["get:movies"])).await;

    reply.ok();
}

#[tokio::test]
async fn a_token_without_a_kid_is_an_invalid_token() {
    let app = spawn_app_with_issuer().await;
    let header = json!({"alg": "RS256", "typ": "JWT"});

    let token = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn a_token_with_an_unknown_kid_is_an_invalid_token() {
    let app = spawn_app_with_issuer().await;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "nobody-knows"});

    let token = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn a_foreign_signature_under_a_known_kid_is_an_invalid_token() {
    let app = spawn_app_with_issuer().await;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"});

    let token = keys()
        .attacker
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn a_tampered_payload_is_an_invalid_token() {
    let app = spawn_app_with_issuer().await;
    let token = app.issuer().token(&["get:movies"]);
    let signature = token.rsplit('.').next().unwrap_or_default().to_owned();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"});

    let forged = format!(
        "{}.{signature}",
        signing_input(&header, &app.issuer().claims(crate::helpers::PRODUCER))
    );
    let reply = get_movies(&app, &forged).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn a_key_embedded_in_the_jwk_header_is_never_trusted() {
    let app = spawn_app_with_issuer().await;
    let header = json!({
        "alg": "RS256", "typ": "JWT", "kid": "attacker",
        "jwk": keys().attacker.jwk(true),
    });

    let token = keys()
        .attacker
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn a_jku_or_x5u_header_is_never_fetched_nor_trusted() {
    let app = spawn_app_with_issuer().await;
    let issuer = app.issuer();

    for header in [
        json!({"alg": "RS256", "kid": "attacker", "jku": issuer.url("/attacker/jwks.json")}),
        json!({"alg": "RS256", "kid": "attacker", "x5u": issuer.url("/attacker/cert.pem")}),
    ] {
        let token = keys()
            .attacker
            .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
        let reply = get_movies(&app, &token).await;
        expect_invalid_token(&reply, "invalid_token");
    }

    assert_eq!(
        issuer.attacker_fetches(),
        0,
        "the server fetched a URL named by a token"
    );
}

#[tokio::test]
async fn an_algorithm_outside_the_default_rs256_is_an_invalid_token() {
    let app = spawn_app_with_issuer().await;

    for (alg, encoding) in [
        (
            "RS384",
            &signature::RSA_PKCS1_SHA384 as &'static dyn signature::RsaEncoding,
        ),
        ("RS512", &signature::RSA_PKCS1_SHA512),
        ("PS256", &signature::RSA_PSS_SHA256),
    ] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": "kid-1"});
        let token = keys().primary.sign(encoding, &header, &good_claims(&app));
        let reply = get_movies(&app, &token).await;
        assert_eq!(reply.status, 401, "alg {alg}: {reply:?}");
        expect_invalid_token(&reply, "invalid_token");
    }
}

#[tokio::test]
async fn the_algorithms_flag_allows_more_algorithms() {
    let issuer = MockIssuer::start();
    issuer.label_keys_with_alg(false);
    let app = spawn_app_with(issuer, &["--algorithms", "RS256,PS256"]).await;
    let header = json!({"alg": "PS256", "typ": "JWT", "kid": "kid-1"});

    let ps256 = keys()
        .primary
        .sign(&signature::RSA_PSS_SHA256, &header, &good_claims(&app));

    get_movies(&app, &ps256).await.ok();
    get_movies(&app, &app.issuer().token(&["get:movies"]))
        .await
        .ok();
}

#[tokio::test]
async fn the_algorithms_flag_can_leave_rs256_out() {
    let issuer = MockIssuer::start();
    issuer.label_keys_with_alg(false);
    let app = spawn_app_with(issuer, &["--algorithms", "PS256"]).await;

    let reply = get_movies(&app, &app.issuer().token(&["get:movies"])).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_first_use() {
    let issuer = MockIssuer::start();
    let app = spawn_app_with(issuer, &[]).await;
    // A server that fetches at startup should have its answer before the
    // rotation, so that the first use of kid-2 is what asks again.
    wait_for_fetches(app.issuer(), 1, Duration::from_secs(1)).await;
    app.issuer().publish_rotated_key();

    let token = keys().rotated.rs256(&good_claims(&app));
    let reply = get_movies(&app, &token).await;

    reply.ok();
}

#[tokio::test]
async fn every_rsa_key_of_the_key_set_is_accepted() {
    let issuer = MockIssuer::start();
    issuer.publish_rotated_key();
    let app = spawn_app_with(issuer, &[]).await;

    get_movies(&app, &keys().rotated.rs256(&good_claims(&app)))
        .await
        .ok();
    get_movies(&app, &app.issuer().token(&["get:movies"]))
        .await
        .ok();
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_refetch() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.issuer().token(&["get:movies"]))
        .await
        .ok();
    let before = app.issuer().fetches();

    let mut flood = JoinSet::new();
    for n in 0..200 {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": format!("unknown-{n}")});
        let token = keys()
            .primary
            .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
        let request = app.authed(Method::GET, "/movies", &token);
        flood.spawn(send(request));
    }
    let mut statuses = Vec::new();
    while let Some(reply) = flood.join_next().await {
        let reply = reply.expect("the request task finished");
        statuses.push((reply.status, reply.json["code"].clone()));
    }

    assert!(
        statuses
            .iter()
            .all(|(s, c)| *s == 401 && *c == json!("invalid_token")),
        "every unknown kid is a 401 invalid_token: {statuses:?}"
    );
    let refetches = app.issuer().fetches() - before;
    assert!(
        refetches <= 1,
        "{refetches} fetches of the key set for 200 unknown kids"
    );
}

#[tokio::test]
async fn a_failing_key_set_is_not_hammered_by_unknown_kids() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    app.issuer().set_mode(Mode::Error);
    let before = app.issuer().fetches();

    for n in 0..30 {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": format!("unknown-{n}")});
        let token = keys()
            .primary
            .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
        expect_invalid_token(&get_movies(&app, &token).await, "invalid_token");
    }

    let refetches = app.issuer().fetches() - before;
    assert!(
        refetches <= 1,
        "{refetches} fetches of a failing key set for 30 unknown kids"
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_hanging_fetch() {
    let issuer = MockIssuer::start();
    issuer.set_mode(Mode::Hang);
    let app = spawn_app_with(issuer, &[]).await;

    let mut burst = JoinSet::new();
    for _ in 0..20 {
        let request = app.authed(Method::GET, "/movies", &app.tokens.assistant);
        burst.spawn(send(request));
    }
    while let Some(reply) = burst.join_next().await {
        let reply = reply.expect("the request task finished");
        reply.expect_error(503, "auth_unavailable");
    }

    assert_eq!(app.issuer().fetches(), 1, "key set fetches");
}

#[tokio::test]
async fn concurrent_first_requests_share_one_fetch() {
    let app = spawn_app_with_issuer().await;

    let mut burst = JoinSet::new();
    for _ in 0..20 {
        let request = app.authed(Method::GET, "/movies", &app.tokens.assistant);
        burst.spawn(send(request));
    }
    while let Some(reply) = burst.join_next().await {
        reply.expect("the request task finished").ok();
    }

    assert_eq!(app.issuer().fetches(), 1, "key set fetches");
}

#[tokio::test]
async fn known_kids_keep_working_when_the_key_set_goes_down() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();

    for mode in [Mode::Error, Mode::Garbage, Mode::Hang] {
        app.issuer().set_mode(mode);
        let reply = get_movies(&app, &app.issuer().token(&["get:movies"])).await;
        assert_eq!(reply.status, 200, "with the key set in {mode:?}: {reply:?}");
    }
}

#[tokio::test]
async fn an_unknown_kid_while_the_key_set_is_down_is_invalid_token_not_503() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    app.issuer().set_mode(Mode::Error);

    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-unknown"});
    let token = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn an_unknown_kid_while_the_key_set_hangs_is_invalid_token_not_503() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    app.issuer().set_mode(Mode::Hang);

    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-unknown"});
    let token = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn a_known_kid_never_waits_on_a_hanging_fetch() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    let before = app.issuer().fetches();
    app.issuer().set_mode(Mode::Hang);
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-unknown"});
    let unknown = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let stuck = tokio::spawn(send(app.authed(Method::GET, "/movies", &unknown)));
    // The unknown kid should start a fetch that hangs; whether or not the
    // rate limit lets it, the known kid must not wait.
    wait_for_fetches(app.issuer(), before + 1, Duration::from_secs(3)).await;

    let started = Instant::now();
    get_movies(&app, &app.tokens.assistant).await.ok();
    let waited = started.elapsed();

    assert!(
        waited < Duration::from_secs(2),
        "a known kid waited {waited:?}"
    );
    stuck.abort();
}

#[tokio::test]
async fn the_key_set_is_refreshed_in_the_background_at_its_max_age() {
    let issuer = MockIssuer::start();
    issuer.set_max_age(2);
    let app = spawn_app_with(issuer, &[]).await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    // Spends the refetch that an unknown kid may trigger.
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-unknown"});
    let unknown = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    expect_invalid_token(&get_movies(&app, &unknown).await, "invalid_token");
    app.issuer().publish_rotated_key();
    let fetched = app.issuer().fetches();

    assert!(
        wait_for_fetches(app.issuer(), fetched + 1, Duration::from_secs(20)).await,
        "no background fetch within 20 s of a 2 s max-age"
    );
    let reply = get_movies(&app, &keys().rotated.rs256(&good_claims(&app))).await;

    reply.ok();
}

async fn down_from_the_start(mode: Mode) -> Reply {
    let issuer = MockIssuer::start();
    issuer.set_mode(mode);
    let app = spawn_app_with(issuer, &[]).await;
    get_movies(&app, &app.tokens.assistant).await
}

#[tokio::test]
async fn a_key_set_answering_500_from_the_start_is_a_503() {
    let reply = down_from_the_start(Mode::Error).await;

    reply.expect_error(503, "auth_unavailable");
}

#[tokio::test]
async fn a_key_set_answering_garbage_from_the_start_is_a_503() {
    let reply = down_from_the_start(Mode::Garbage).await;

    reply.expect_error(503, "auth_unavailable");
}

#[tokio::test]
async fn a_key_set_that_hangs_from_the_start_is_a_503_after_a_short_timeout() {
    let started = Instant::now();
    let reply = down_from_the_start(Mode::Hang).await;

    reply.expect_error(503, "auth_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_key_set_is_a_503() {
    let issuer = MockIssuer::start();
    let port = crate::helpers::free_port();
    let closed = format!("http://127.0.0.1:{port}/.well-known/jwks.json");
    let app = spawn_app_with_jwks_url(issuer, &closed, &[]).await;

    let reply = get_movies(&app, &app.tokens.assistant).await;

    reply.expect_error(503, "auth_unavailable");
}

#[tokio::test]
async fn the_key_set_fetch_follows_no_redirect() {
    let issuer = MockIssuer::start();
    let redirect = issuer.url("/redirect-jwks.json");
    let app = spawn_app_with_jwks_url(issuer, &redirect, &[]).await;

    let reply = get_movies(&app, &app.tokens.assistant).await;

    reply.expect_error(503, "auth_unavailable");
    assert_eq!(app.issuer().fetches(), 0, "the redirect was followed");
}

#[tokio::test]
async fn a_huge_key_set_is_refused() {
    let issuer = MockIssuer::start();
    let huge = issuer.url("/huge-jwks.json");
    let app = spawn_app_with_jwks_url(issuer, &huge, &[]).await;

    let reply = get_movies(&app, &app.tokens.assistant).await;

    reply.expect_error(503, "auth_unavailable");
    assert!(
        app.issuer().huge_fetches() >= 1,
        "the huge key set was never asked for"
    );
}

#[tokio::test]
async fn the_key_set_is_fetched_from_the_jwks_url_not_guessed_from_the_issuer() {
    let issuer = MockIssuer::start();
    let other = MockIssuer::start();
    let app = spawn_app_with_jwks_url(issuer, &other.jwks_url(), &[]).await;

    get_movies(&app, &app.tokens.assistant).await.ok();

    assert_eq!(app.issuer().fetches(), 0);
    assert!(other.fetches() >= 1);
}
