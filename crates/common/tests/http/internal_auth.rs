use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{HttpResponse, web};
use common::health::ReadinessChecks;
use common::internal_auth::{AllowedCallers, ServiceCaller};
use common::secrecy::ExposeSecret;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{http, spawn_service};

/// A stand-in for url-signer: one route for post only, one that forgot to
/// say whom it accepts.
fn signer(cfg: &mut web::ServiceConfig) {
    let whoami =
        |caller: ServiceCaller| async move { HttpResponse::Ok().json(json!({ "caller": caller.name })) };
    cfg.app_data(web::Data::new(testkit::service::service_auth("url-signer")))
        .service(
            web::resource("/internal/sign")
                .app_data(AllowedCallers::new(["post"]))
                .route(web::get().to(whoami)),
        )
        .route("/internal/forgotten", web::get().to(whoami));
}

/// A token for `GET /internal/sign`, made by hand: signed with `key` (an
/// Ed25519 PEM), naming `iss` as its caller.
fn token(key: &str, iss: &str, aud: &str, exp_offset_s: i64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = json!({ "iss": iss, "aud": aud, "htm": "GET", "htp": "/internal/sign", "iat": now,
                         "exp": now + exp_offset_s, "jti": uuid::Uuid::new_v4().simple().to_string() });
    let header = Header { kid: Some(iss.to_owned()), ..Header::new(Algorithm::EdDSA) };
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_pem(key.as_bytes()).unwrap()).unwrap()
}

/// A caller's own private key, as the test services hold it.
fn own_key(caller: &str) -> String {
    testkit::service::internal_keys(caller).own.unwrap().expose_secret().to_owned()
}

#[tokio::test]
async fn internal_routes_admit_only_genuine_current_allowed_callers() {
    let base = spawn_service("url-signer", ReadinessChecks::default(), signer);
    let (post_key, media_key) = (own_key("post"), own_key("media"));
    let stranger_key = common::internal_auth::generate_key().unwrap().0.expose_secret().to_owned();
    let valid = || testkit::service::service_token("post", "url-signer", "GET", "/internal/sign");
    let replayed = valid();
    let forgotten = testkit::service::service_token("post", "url-signer", "GET", "/internal/forgotten");
    let posted = testkit::service::service_token("post", "url-signer", "POST", "/internal/sign");
    let cases: Vec<(&str, Option<String>, &str, u16)> = vec![
        ("missing credential", None, "/internal/sign", 401),
        ("not a bearer token", Some("Basic cG9zdDpwYXNz".into()), "/internal/sign", 401),
        (
            "expired",
            Some(format!("Bearer {}", token(&post_key, "post", "url-signer", -600))),
            "/internal/sign",
            401,
        ),
        (
            "naming post, signed with another key",
            Some(format!("Bearer {}", token(&stranger_key, "post", "url-signer", 60))),
            "/internal/sign",
            401,
        ),
        (
            "meant for another service",
            Some(format!("Bearer {}", token(&post_key, "post", "media", 60))),
            "/internal/sign",
            401,
        ),
        ("garbage", Some("Bearer not.a.jwt".into()), "/internal/sign", 401),
        (
            "media's key, naming post",
            Some(format!("Bearer {}", token(&media_key, "post", "url-signer", 60))),
            "/internal/sign",
            401,
        ),
        (
            "caller not allowed",
            Some(format!("Bearer {}", token(&media_key, "media", "url-signer", 60))),
            "/internal/sign",
            403,
        ),
        ("route that names no callers", Some(format!("Bearer {forgotten}")), "/internal/forgotten", 403),
        ("minted for another route", Some(format!("Bearer {}", valid())), "/internal/forgotten", 401),
        ("minted for another method", Some(format!("Bearer {posted}")), "/internal/sign", 401),
        ("allowed caller", Some(format!("Bearer {replayed}")), "/internal/sign", 200),
        ("the same token again", Some(format!("Bearer {replayed}")), "/internal/sign", 401),
        ("allowed caller, a new token", Some(format!("Bearer {}", valid())), "/internal/sign", 200),
    ];
    for (case, authorization, path, expected) in cases {
        let mut request = http().get(format!("{base}{path}"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{case}");
        if expected == 401 {
            assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
        }
        if expected == 200 {
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["caller"], "post");
        }
    }
}
