use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{TestAuth, spawn};

async fn signed_up(auth: &TestAuth) -> Value {
    let body = TestAuth::json(auth.signup("grace", "grace@example.com", "password123").await).await;
    body["tokens"].clone()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_family() {
    let auth = spawn().await;
    let first = signed_up(&auth).await["refresh_token"].as_str().unwrap().to_owned();
    let second = TestAuth::json(auth.post("/v1/auth/refresh", json!({ "refresh_token": first })).await).await;
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first);
    assert_eq!(auth.me(second["access_token"].as_str().unwrap()).await.status(), 200);

    // The first token again: theft. The whole family goes, the newest token too.
    assert_eq!(auth.post("/v1/auth/refresh", json!({ "refresh_token": first })).await.status(), 401);
    assert_eq!(auth.post("/v1/auth/refresh", json!({ "refresh_token": second_refresh })).await.status(), 401);
    assert_eq!(auth.post("/v1/auth/refresh", json!({ "refresh_token": "made-up" })).await.status(), 401);
}

#[tokio::test]
async fn a_token_presented_twice_at_once_leaves_no_token_of_its_family_alive() {
    let auth = spawn().await;
    // The race is narrow: try it many times; every round must end with the family dead.
    for round in 0..15 {
        let name = format!("racer{round}");
        let body =
            TestAuth::json(auth.signup(&name, &format!("{name}@example.com"), "password123").await).await;
        let token = body["tokens"]["refresh_token"].clone();
        let (a, b) = futures_util::join!(
            auth.post("/v1/auth/refresh", json!({ "refresh_token": token })),
            auth.post("/v1/auth/refresh", json!({ "refresh_token": token })),
        );
        let mut successors = Vec::new();
        for response in [a, b] {
            if response.status() == 200 {
                successors.push(TestAuth::json(response).await["refresh_token"].clone());
            } else {
                assert_eq!(response.status(), 401);
            }
        }
        assert!(successors.len() <= 1, "round {round}: one use wins at most");
        for successor in successors {
            let next = auth.post("/v1/auth/refresh", json!({ "refresh_token": successor })).await;
            assert_eq!(next.status(), 401, "round {round}: the winner's successor died with the family");
        }
    }
}

#[tokio::test]
async fn logout_revokes_the_family() {
    let auth = spawn().await;
    let refresh = signed_up(&auth).await["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(auth.post("/v1/auth/logout", json!({ "refresh_token": refresh })).await.status(), 204);
    assert_eq!(auth.post("/v1/auth/refresh", json!({ "refresh_token": refresh })).await.status(), 401);
    assert_eq!(auth.post("/v1/auth/logout", json!({ "refresh_token": "unknown" })).await.status(), 401);
}

#[tokio::test]
async fn the_jwks_publishes_every_key_and_tokens_name_the_active_one() {
    let auth = spawn().await;
    let jwks: Value =
        reqwest::get(format!("{}/.well-known/jwks.json", auth.base)).await.unwrap().json().await.unwrap();
    let kids: Vec<&str> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["k-active", "k-next"]);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kty"] == "OKP" && k["crv"] == "Ed25519" && k.get("d").is_none())
    );
    let access = signed_up(&auth).await["access_token"].as_str().unwrap().to_owned();
    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some("k-active"));
}

fn claims(overrides: Value) -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let mut claims = json!({ "iss": "shutter-auth", "aud": "shutter", "sub": "someone", "jti": "j", "iat": now, "exp": now + 600 });
    for (k, v) in overrides.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

#[tokio::test]
async fn forged_and_stale_access_tokens_are_refused() {
    let auth = spawn().await;
    let valid = signed_up(&auth).await["access_token"].as_str().unwrap().to_owned();
    let key = EncodingKey::from_ed_pem(&auth.active_pem).unwrap();
    let sign = |claims: Value, kid: &str| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let parts: Vec<&str> = valid.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k-active"}"#), parts[1]);
    let jwks: Value =
        reqwest::get(format!("{}/.well-known/jwks.json", auth.base)).await.unwrap().json().await.unwrap();
    let public = URL_SAFE_NO_PAD.decode(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("k-active".into());
    let hs256 =
        jsonwebtoken::encode(&hs_header, &claims(json!({})), &EncodingKey::from_secret(&public).unwrap())
            .unwrap();

    assert_eq!(auth.me(&valid).await.status(), 200);
    let cases = [
        ("alg none", none),
        ("HS256 with the public key", hs256),
        ("wrong issuer", sign(claims(json!({ "iss": "evil" })), "k-active")),
        ("wrong audience", sign(claims(json!({ "aud": "other" })), "k-active")),
        ("expired", sign(claims(json!({ "exp": 1_000_000 })), "k-active")),
        ("tampered payload", tampered),
        ("unknown kid", sign(claims(json!({})), "k-nobody")),
    ];
    for (case, token) in cases {
        assert_eq!(auth.me(&token).await.status(), 401, "{case}");
    }
}
