//! The claims of a token: `exp`, `nbf`, `iss`, `aud`, `permissions` and
//! `scope`. The cases that change one claim of a good token run as one
//! table against one server.

use std::time::{Duration, Instant};

use aws_lc_rs::signature;
use serde_json::{Value, json};

use super::{expect_invalid_token, get_movies, good_claims};
use crate::helpers::{now, spawn_app_with, spawn_app_with_issuer};
use crate::mock_issuer::{MockIssuer, keys};

/// What a good token with one claim changed must get.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// 200.
    Accepted,
    /// 401 with this code and `error="invalid_token"`.
    Refused(&'static str),
}

/// One row of the table: a claim set to a value, or removed (`None`).
struct Case {
    claim: &'static str,
    value: Option<Value>,
    expect: Expect,
}

fn set(claim: &'static str, value: Value, expect: Expect) -> Case {
    Case {
        claim,
        value: Some(value),
        expect,
    }
}

fn removed(claim: &'static str, expect: Expect) -> Case {
    Case {
        claim,
        value: None,
        expect,
    }
}

#[tokio::test]
async fn each_claim_is_checked_as_the_contract_says() {
    use Expect::{Accepted, Refused};
    let app = spawn_app_with_issuer().await;
    let issuer = app.issuer().issuer();
    let without_slash = issuer.trim_end_matches('/').to_owned();
    let invalid = Refused("invalid_claims");
    let cases = [
        // exp: past the 30 s default leeway is expired; within it, or missing or
        // malformed, is not a token at all.
        set("exp", json!(now() - 120), Refused("token_expired")),
        set("exp", json!(now() - 10), Accepted),
        removed("exp", invalid),
        set("exp", json!("9999999999"), invalid),
        set("exp", json!(null), invalid),
        // nbf: in the future past the leeway is not yet valid.
        set("nbf", json!(now() + 300), invalid),
        set("nbf", json!(now() + 10), Accepted),
        set("nbf", json!(now() - 60), Accepted),
        set("nbf", json!("yesterday"), invalid),
        // iss: exactly the issuer.
        set("iss", json!("https://someone-else.example/"), invalid),
        set("iss", json!(without_slash), invalid),
        set("iss", json!(format!("{issuer}x")), invalid),
        set("iss", json!([issuer]), invalid),
        set("iss", json!(null), invalid),
        set("iss", json!(42), invalid),
        removed("iss", invalid),
        // aud: ours, alone or in an array.
        set("aud", json!("test-api"), Accepted),
        set("aud", json!(["test-api"]), Accepted),
        set(
            "aud",
            json!(["https://tenant.example/userinfo", "test-api"]),
            Accepted,
        ),
        set("aud", json!("other-api"), invalid),
        set("aud", json!(["other-api", "another"]), invalid),
        set("aud", json!([]), invalid),
        set("aud", json!("TEST-API"), invalid),
        set("aud", json!(7), invalid),
        removed("aud", invalid),
        // permissions: an array of strings.
        set("permissions", json!("get:movies"), invalid),
        set("permissions", json!([1, 2]), invalid),
        set("permissions", json!(["get:movies", 3]), invalid),
        set("permissions", json!({"get:movies": true}), invalid),
        set("permissions", json!(null), invalid),
    ];
    for Case {
        claim,
        value,
        expect,
    } in cases
    {
        let mut claims = good_claims(&app);
        match &value {
            Some(value) => claims[claim] = value.clone(),
            None => {
                claims.as_object_mut().map(|c| c.remove(claim));
            }
        }
        let reply = get_movies(&app, &app.issuer().sign(&claims)).await;
        let case = format!("{claim} {value:?}");
        match expect {
            Accepted => assert_eq!(reply.status, 200, "{case}: {reply:?}"),
            Refused(code) => {
                assert_eq!(reply.status, 401, "{case}: {reply:?}");
                assert_eq!(reply.json["code"], code, "{case}: {reply:?}");
                expect_invalid_token(&reply, code);
            }
        }
    }
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
