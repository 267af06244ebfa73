//! Accounts for tests, made through auth's public API.

use serde_json::{Value, json};

pub struct SignedUp {
    pub id: String,
    pub token: String,
}

/// The password every test account has.
pub const PASSWORD: &str = "password123";

/// An access token of `login` (username or e-mail) from the auth service at `auth_base`.
pub async fn log_in(auth_base: &str, login: &str, password: &str) -> String {
    let body = json!({ "login": login, "password": password });
    let response =
        reqwest::Client::new().post(format!("{auth_base}/v1/auth/login")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200, "login of {login}");
    let tokens: Value = response.json().await.unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// An admin (who may also moderate): `name` signed up, given the admin role
/// in auth's database (as an operator grants it), and signed in again;
/// answers the access token.
pub async fn moderator(auth_base: &str, auth_database: &mongodb::Database, name: &str) -> String {
    admin(auth_base, auth_database, name).await.token
}

/// [`moderator`], with the account's id.
pub async fn admin(auth_base: &str, auth_database: &mongodb::Database, name: &str) -> SignedUp {
    with_role(auth_base, auth_database, name, "admin").await
}

/// `name` signed up, given `role` in auth's database, and signed in again.
pub async fn with_role(
    auth_base: &str,
    auth_database: &mongodb::Database,
    name: &str,
    role: &str,
) -> SignedUp {
    let account = sign_up(auth_base, name).await;
    auth_database
        .collection::<mongodb::bson::Document>("users")
        .update_one(
            mongodb::bson::doc! { "username": name },
            mongodb::bson::doc! { "$set": { "roles": [role] } },
        )
        .await
        .unwrap();
    SignedUp { id: account.id, token: log_in(auth_base, name, PASSWORD).await }
}

/// Signs `name` up at the auth service at `auth_base` (password [`PASSWORD`]).
pub async fn sign_up(auth_base: &str, name: &str) -> SignedUp {
    let body = json!({ "username": name, "email": format!("{name}@example.com"), "password": PASSWORD });
    let response =
        reqwest::Client::new().post(format!("{auth_base}/v1/auth/signup")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201, "sign-up of {name}");
    let body: Value = response.json().await.unwrap();
    SignedUp {
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        token: body["tokens"]["access_token"].as_str().unwrap().to_owned(),
    }
}
