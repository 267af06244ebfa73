use std::time::Duration;

use auth::config::PasswordCost;
use mongodb::bson::doc;
use serde_json::json;

use crate::helpers::{TestAuth, cheap, config, spawn, spawn_with};

#[tokio::test]
async fn login_works_by_username_or_email_and_failures_look_alike() {
    let auth = spawn().await;
    auth.signup("dave", "Dave@Example.com", "password123").await;
    for login in ["dave", "DAVE", "dave@example.com"] {
        let response = auth.login(login, "password123").await;
        assert_eq!(response.status(), 200, "{login}");
        let body = TestAuth::json(response).await;
        assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
        assert_eq!(body["expires_in"], 900);
    }
    let wrong = auth.login("dave", "password124").await;
    let unknown = auth.login("nobody", "password123").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let (mut wrong, mut unknown) = (TestAuth::json(wrong).await, TestAuth::json(unknown).await);
    wrong["request_id"] = json!(null);
    unknown["request_id"] = json!(null);
    assert_eq!(wrong, unknown, "an unknown account is answered exactly like a wrong password");
}

#[tokio::test]
async fn five_failures_lock_the_account_and_twenty_lock_the_address() {
    let auth = spawn().await;
    auth.signup("erin", "erin@example.com", "password123").await;
    for _ in 0..5 {
        assert_eq!(auth.login("erin", "wrong-password").await.status(), 401);
    }
    let locked = auth.login("erin@example.com", "password123").await;
    assert_eq!(locked.status(), 429, "even the right password waits, under either spelling");
    let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");

    // Another address guessing many accounts.
    let ip = "203.0.113.50";
    for n in 0..20 {
        let body = json!({ "login": format!("victim{n}"), "password": "guess-guess" });
        assert_eq!(auth.post_from("/v1/auth/login", body, ip).await.status(), 401, "attempt {n}");
    }
    let body = json!({ "login": "someone-else", "password": "guess-guess" });
    assert_eq!(auth.post_from("/v1/auth/login", body, ip).await.status(), 429);
    let elsewhere = json!({ "login": "someone-else", "password": "guess-guess" });
    assert_eq!(
        auth.post_from("/v1/auth/login", elsewhere, "203.0.113.51").await.status(),
        401,
        "other addresses are not blocked"
    );
}

#[tokio::test]
async fn a_hash_with_old_parameters_is_upgraded_at_login() {
    let (old_config, pem) = config(cheap());
    let database = old_config.mongo.clone();
    let old = spawn_with(old_config, pem).await;
    old.signup("frank", "frank@example.com", "password123").await;

    // The same database served with stronger parameters.
    let (mut new_config, pem) = config(PasswordCost { memory_kib: 2048, ..cheap() });
    new_config.mongo = database.clone();
    let new = spawn_with(new_config, pem).await;
    assert_eq!(new.login("frank", "password123").await.status(), 200);

    let db = mongodb::Client::with_uri_str(&database.uri).await.unwrap().database(&database.database);
    let user = db
        .collection::<mongodb::bson::Document>("users")
        .find_one(doc! { "username": "frank" })
        .await
        .unwrap()
        .unwrap();
    let hash = user.get_str("password_hash").unwrap();
    assert!(hash.contains("m=2048"), "{hash}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(new.login("frank", "password123").await.status(), 200);
}
