//! The header, the signature, the algorithms and the key id of a token.

use std::time::{Duration, Instant};

use aws_lc_rs::signature;
use reqwest::Method;
use serde_json::json;

use super::{expect_invalid_token, get_movies, good_claims, with_authorization};
use crate::helpers::{Launch, send, spawn_app_with, spawn_app_with_issuer};
use crate::mock_issuer::{MockIssuer, b64, hs256, keys, signing_input, unsigned};

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
