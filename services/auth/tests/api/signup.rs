use serde_json::{Value, json};

use crate::helpers::{TestAuth, spawn};

#[tokio::test]
async fn signing_up_returns_the_user_and_a_working_token_pair() {
    let auth = spawn().await;
    let response = auth.signup("Alice_01", "Alice@Example.com", "correct horse battery").await;
    assert_eq!(response.status(), 201);
    let body = TestAuth::json(response).await;
    assert_eq!(body["user"]["username"], "alice_01");
    assert_eq!(body["user"]["email"], "Alice@Example.com");
    assert_eq!(body["tokens"]["token_type"], "Bearer");
    assert_eq!(body["tokens"]["expires_in"], 900);
    let me = TestAuth::json(auth.me(body["tokens"]["access_token"].as_str().unwrap()).await).await;
    assert_eq!(me["id"], body["user"]["id"]);
    assert_eq!(me["username"], "alice_01");
}

#[tokio::test]
async fn usernames_and_emails_are_unique_regardless_of_case() {
    let auth = spawn().await;
    assert_eq!(auth.signup("bob", "bob@example.com", "password123").await.status(), 201);
    let again = auth.signup("BOB", "other@example.com", "password123").await;
    assert_eq!(again.status(), 409);
    assert_eq!(TestAuth::json(again).await["errors"][0]["field"], "username");
    let email = auth.signup("bobby", "BOB@EXAMPLE.COM", "password123").await;
    assert_eq!(email.status(), 409);
    let answer = TestAuth::json(email).await;
    let text = answer.to_string().to_lowercase();
    assert!(!text.contains("email") && !text.contains("e-mail"), "a taken e-mail is not named: {answer}");
}

#[tokio::test]
async fn concurrent_signups_for_one_username_make_exactly_one_account() {
    let auth = spawn().await;
    let emails: Vec<String> = (0..8).map(|n| format!("carol{n}@example.com")).collect();
    let attempts = emails.iter().map(|email| auth.signup("carol", email, "password123"));
    let statuses: Vec<u16> =
        futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
}

#[tokio::test]
async fn bad_signups_are_refused_naming_the_field() {
    let auth = spawn().await;
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "short username",
            json!({ "username": "ab", "email": "a@example.com", "password": "password123" }),
            422,
            "username",
        ),
        (
            "long username",
            json!({ "username": "a".repeat(31), "email": "a@example.com", "password": "password123" }),
            422,
            "username",
        ),
        (
            "bad characters",
            json!({ "username": "al ice", "email": "a@example.com", "password": "password123" }),
            422,
            "username",
        ),
        (
            "bad e-mail",
            json!({ "username": "alice", "email": "not-an-email", "password": "password123" }),
            422,
            "email",
        ),
        (
            "short password",
            json!({ "username": "alice", "email": "a@example.com", "password": "1234567" }),
            422,
            "password",
        ),
        (
            "long password",
            json!({ "username": "alice", "email": "a@example.com", "password": "x".repeat(129) }),
            422,
            "password",
        ),
        ("missing field", json!({ "username": "alice", "email": "a@example.com" }), 400, "password"),
        (
            "wrong type",
            json!({ "username": 5, "email": "a@example.com", "password": "password123" }),
            400,
            "string",
        ),
        (
            "unknown field",
            json!({ "username": "alice", "email": "a@example.com", "password": "password123", "admin": true }),
            400,
            "admin",
        ),
    ];
    for (case, body, status, mention) in cases {
        let response = auth.post("/v1/auth/signup", body).await;
        assert_eq!(response.status().as_u16(), status, "{case}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{case}");
        let problem = TestAuth::json(response).await;
        assert!(problem.to_string().contains(mention), "{case}: {problem}");
    }
    let client = reqwest::Client::new();
    let malformed = client
        .post(format!("{}/v1/auth/signup", auth.base))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let oversized = client
        .post(format!("{}/v1/auth/signup", auth.base))
        .json(&json!({ "username": "alice", "email": "a@example.com", "password": "x".repeat(17 * 1024) }))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
}

#[tokio::test]
async fn one_address_makes_a_bounded_number_of_accounts_an_hour_before_any_is_hashed() {
    let (mut config, pem) = crate::helpers::config(crate::helpers::cheap());
    config.signups_per_hour = 3;
    let auth = crate::helpers::spawn_with(config, pem).await;
    let signup_from = |name: String, ip: String| {
        let body =
            json!({ "username": name, "email": format!("{name}@example.com"), "password": "password123" });
        let auth = &auth;
        async move { auth.post_from("/v1/auth/signup", body, &ip).await }
    };
    // A malformed sign-up costs no hash and is not counted.
    let invalid = auth.post_from(
        "/v1/auth/signup",
        json!({ "username": "x", "email": "no", "password": "p" }),
        "203.0.113.9",
    );
    assert_eq!(invalid.await.status(), 422);
    for n in 0..3 {
        assert_eq!(signup_from(format!("made{n}"), "203.0.113.9".into()).await.status(), 201);
    }
    let refused = signup_from("made3".into(), "203.0.113.9".into()).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((3000..=3600).contains(&wait), "the hour's first sign-up lifts it: {wait} s");
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    // Another address has its own budget; an IPv6 client is counted by its /64.
    assert_eq!(signup_from("other".into(), "203.0.113.10".into()).await.status(), 201);
    for n in 0..3 {
        assert_eq!(signup_from(format!("six{n}"), format!("2001:db8:7:7::{n}")).await.status(), 201);
    }
    assert_eq!(signup_from("six3".into(), "2001:db8:7:7:ffff::1".into()).await.status(), 429, "same /64");
    assert_eq!(signup_from("six4".into(), "2001:db8:7:8::1".into()).await.status(), 201, "another /64");
}
