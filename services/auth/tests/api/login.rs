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
async fn five_failures_lock_a_login_name_and_twenty_lock_the_address() {
    let auth = spawn().await;
    auth.signup("erin", "erin@example.com", "password123").await;
    for _ in 0..5 {
        assert_eq!(auth.login("erin", "wrong-password").await.status(), 401);
    }
    let locked = auth.login("ERIN", "password123").await;
    assert_eq!(locked.status(), 429, "even the right password waits, whatever its case");
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
async fn parallel_guesses_cannot_outrun_the_limit() {
    let auth = spawn().await;
    auth.signup("gina", "gina@example.com", "password123").await;
    let guesses = (0..16).map(|n| {
        let body = json!({ "login": "gina", "password": format!("guess-number-{n}") });
        auth.post_from("/v1/auth/login", body, "203.0.113.60")
    });
    let statuses: Vec<u16> =
        futures_util::future::join_all(guesses).await.iter().map(|r| r.status().as_u16()).collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= auth::limiter::PER_LOGIN, "{checked} guesses were checked: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
}

#[tokio::test]
async fn a_stranger_spending_the_budget_locks_neither_the_owners_device_nor_the_email() {
    let auth = spawn().await;
    let signed_up = TestAuth::json(auth.signup("hana", "hana@example.com", "password123").await).await;
    let device = signed_up["tokens"]["device_token"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        let guess = json!({ "login": "hana", "password": "wrong-password" });
        assert_eq!(auth.post_from("/v1/auth/login", guess, "203.0.113.70").await.status(), 401);
    }
    let stranger = json!({ "login": "hana", "password": "password123" });
    assert_eq!(auth.post_from("/v1/auth/login", stranger, "203.0.113.71").await.status(), 429);

    // The owner, from a device that signed in before, is let in.
    let owner = json!({ "login": "hana", "password": "password123", "device_token": device });
    let response = auth.post_from("/v1/auth/login", owner, "198.51.100.7").await;
    assert_eq!(response.status(), 200);
    assert_eq!(TestAuth::json(response).await["device_token"], device.as_str(), "the same device");
    // Someone else's device token is just an unknown device.
    let other = TestAuth::json(auth.signup("ivan", "ivan@example.com", "password123").await).await;
    let borrowed = json!({ "login": "hana", "password": "password123",
                           "device_token": other["tokens"]["device_token"] });
    assert_eq!(auth.post_from("/v1/auth/login", borrowed, "198.51.100.8").await.status(), 429);

    // The e-mail has its own budget: a spent username says nothing about it.
    let by_email = json!({ "login": "hana@example.com", "password": "wrong-password" });
    assert_eq!(auth.post_from("/v1/auth/login", by_email, "203.0.113.72").await.status(), 401);
    let unrelated = json!({ "login": "nobody@example.com", "password": "wrong-password" });
    assert_eq!(auth.post_from("/v1/auth/login", unrelated, "203.0.113.72").await.status(), 401);
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
