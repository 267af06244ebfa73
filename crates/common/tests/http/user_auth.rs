use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{HttpResponse, web};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::health::ReadinessChecks;
use common::user_auth::{AuthUser, MaybeAuthUser, UserAuthSettings, UserTokenVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use testkit::http::JsonAnswer;

use crate::helpers::{http, spawn_service};

/// An Ed25519 signing key as auth will hold one.
struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl SigningKey {
    fn generate(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        Self { kid: kid.into(), pkcs8: pkcs8.as_ref().to_vec(), public: pair.public_key().as_ref().to_vec() }
    }

    fn jwk(&self) -> Value {
        json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(&self.public) })
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8)).unwrap()
    }
}

/// The user every token here names.
const USER: &str = "0190b3c0a0f27e1a9c3d5e7f80000001";

fn claims(exp_offset_s: i64) -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({ "iss": "shutter-auth", "aud": "shutter", "sub": USER, "jti": "0190b3c0a0f27e1a9c3d5e7f800000aa",
            "iat": now, "exp": now + exp_offset_s })
}

/// A JWKS endpoint whose key list the test can change, counting fetches.
#[derive(Clone, Default)]
struct Jwks {
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<Mutex<u32>>,
}

fn spawn_jwks(jwks: Jwks) -> String {
    spawn_service("auth", ReadinessChecks::default(), move |cfg| {
        let jwks = jwks.clone();
        cfg.route(
            "/.well-known/jwks.json",
            web::get().to(move || {
                let jwks = jwks.clone();
                async move {
                    *jwks.fetches.lock().unwrap() += 1;
                    let keys = jwks.keys.lock().unwrap().clone();
                    HttpResponse::Ok().json(json!({ "keys": keys }))
                }
            }),
        );
    })
}

fn spawn_protected(jwks_url: String) -> String {
    let verifier = UserTokenVerifier::new(UserAuthSettings {
        jwks_url,
        issuer: "shutter-auth".into(),
        audience: "shutter".into(),
    })
    .unwrap();
    spawn_service("post", ReadinessChecks::default(), move |cfg| {
        cfg.app_data(web::Data::new(verifier.clone()))
            .route(
                "/me",
                web::get().to(|user: AuthUser| async move {
                    HttpResponse::Ok().json(json!({ "sub": user.user_id }))
                }),
            )
            .route(
                "/maybe",
                web::get().to(|user: MaybeAuthUser| async move {
                    HttpResponse::Ok().json(json!({ "sub": user.0.map(|u| u.user_id) }))
                }),
            );
    })
}

fn tamper_payload(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("0190b3c0a0f27e1a9c3d5e7f80000002");
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2])
}

fn alg_none(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    format!("{header}.{}.", parts[1])
}

fn hs256_with_public_key(key: &SigningKey) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims(600), &EncodingKey::from_secret(&key.public).unwrap()).unwrap()
}

#[tokio::test]
async fn access_tokens_are_checked_against_the_published_keys() {
    let key = SigningKey::generate("k1");
    let stranger = SigningKey::generate("k-unknown");
    let jwks = Jwks::default();
    jwks.keys.lock().unwrap().push(key.jwk());
    let jwks_url = format!("{}/.well-known/jwks.json", spawn_jwks(jwks.clone()));
    let base = spawn_protected(jwks_url);

    let valid = key.sign(&claims(600));
    let mut wrong_audience = claims(600);
    wrong_audience["aud"] = json!("someone-else");
    let mut wrong_issuer = claims(600);
    wrong_issuer["iss"] = json!("evil");
    let mut not_a_user_id = claims(600);
    not_a_user_id["sub"] = json!("admin");
    let cases = [
        ("valid", Some(valid.clone()), 200),
        ("expired", Some(key.sign(&claims(-3600))), 401),
        ("tampered payload", Some(tamper_payload(&valid)), 401),
        ("alg none", Some(alg_none(&valid)), 401),
        ("HS256 signed with the public key", Some(hs256_with_public_key(&key)), 401),
        ("unknown key id", Some(stranger.sign(&claims(600))), 401),
        ("wrong audience", Some(key.sign(&wrong_audience)), 401),
        ("wrong issuer", Some(key.sign(&wrong_issuer)), 401),
        ("signed, but its subject is not a user id", Some(key.sign(&not_a_user_id)), 401),
        ("garbage", Some("abc.def".into()), 401),
        ("no token", None, 401),
    ];
    for (case, token, expected) in cases {
        let mut request = http().get(format!("{base}/me"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{case}");
        if expected == 200 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["sub"], USER);
        } else {
            assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
        }
    }
}

#[tokio::test]
async fn a_new_key_id_triggers_one_refresh_of_the_key_set() {
    let old = SigningKey::generate("old");
    let new = SigningKey::generate("new");
    let jwks = Jwks::default();
    jwks.keys.lock().unwrap().push(old.jwk());
    let base = spawn_protected(format!("{}/.well-known/jwks.json", spawn_jwks(jwks.clone())));

    let status = |token: String| {
        let url = format!("{base}/me");
        async move { http().get(url).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(old.sign(&claims(600))).await, 200);
    assert_eq!(*jwks.fetches.lock().unwrap(), 1);
    assert_eq!(status(old.sign(&claims(600))).await, 200);
    assert_eq!(*jwks.fetches.lock().unwrap(), 1, "known keys are served from the cache");

    // Rotation: auth publishes a new key. The verifier refetches only once
    // per interval, so the first token under the new key is checked after it.
    jwks.keys.lock().unwrap().push(new.jwk());
    tokio::time::sleep(common::user_auth::MIN_REFRESH_INTERVAL).await;
    assert_eq!(status(new.sign(&claims(600))).await, 200);
    assert_eq!(*jwks.fetches.lock().unwrap(), 2);

    // A flood of unknown key ids does not become a flood of JWKS fetches.
    for _ in 0..5 {
        assert_eq!(status(SigningKey::generate("forged").sign(&claims(600))).await, 401);
    }
    assert_eq!(*jwks.fetches.lock().unwrap(), 2);
}

#[tokio::test]
async fn optional_sign_in_accepts_anonymous_but_not_bad_tokens() {
    let key = SigningKey::generate("k1");
    let jwks = Jwks::default();
    jwks.keys.lock().unwrap().push(key.jwk());
    let base = spawn_protected(format!("{}/.well-known/jwks.json", spawn_jwks(jwks)));

    let anonymous: Value = http().get(format!("{base}/maybe")).json_answer().await;
    assert_eq!(anonymous["sub"], Value::Null);
    let signed_in: Value =
        http().get(format!("{base}/maybe")).bearer_auth(key.sign(&claims(600))).json_answer().await;
    assert_eq!(signed_in["sub"], USER);
    let bad = http().get(format!("{base}/maybe")).bearer_auth(key.sign(&claims(-3600))).send().await.unwrap();
    assert_eq!(bad.status(), 401);
}

#[tokio::test]
async fn an_unreachable_key_set_is_a_503_not_a_401() {
    let key = SigningKey::generate("k1");
    let base = spawn_protected("http://127.0.0.1:9/.well-known/jwks.json".into());
    let response = http().get(format!("{base}/me")).bearer_auth(key.sign(&claims(600))).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
}
