//! Accounts for tests, made through auth's public API.

use serde_json::{Value, json};

pub struct SignedUp {
    pub id: String,
    pub token: String,
}

/// Signs `name` up at the auth service at `auth_base` (password `password123`).
pub async fn sign_up(auth_base: &str, name: &str) -> SignedUp {
    let body = json!({ "username": name, "email": format!("{name}@example.com"), "password": "password123" });
    let response =
        reqwest::Client::new().post(format!("{auth_base}/v1/auth/signup")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201, "sign-up of {name}");
    let body: Value = response.json().await.unwrap();
    SignedUp {
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        token: body["tokens"]["access_token"].as_str().unwrap().to_owned(),
    }
}
