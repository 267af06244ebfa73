use std::time::{SystemTime, UNIX_EPOCH};

use common::secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{Stack, WEBHOOK_SECRET, spawn};

async fn deliver(stack: &Stack, body: &Value, timestamp: u64, secret: &str) -> reqwest::Response {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature =
        post::money::webhook::sign(&SecretString::from(secret.to_owned()), timestamp, &bytes).unwrap();
    stack
        .http
        .post(format!("{}/v1/payments/webhook", stack.post))
        .header("content-type", "application/json")
        .header(post::money::webhook::HEADER, format!("t={timestamp},v1={signature}"))
        .body(bytes)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signed_top_ups_are_applied_once_and_forgeries_refused() {
    let stack = spawn().await;
    let ann = stack.user("ann8").await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let event = json!({ "id": "evt_1", "type": "topup.succeeded", "user_id": ann.id, "amount_cents": 700 });

    assert_eq!(deliver(&stack, &event, now, WEBHOOK_SECRET).await.status(), 200);
    let replay: Value = deliver(&stack, &event, now, WEBHOOK_SECRET).await.json().await.unwrap();
    assert_eq!(replay["status"], "duplicate");
    assert_eq!(stack.balance(&ann).await, 700, "one event, one credit");

    let other =
        json!({ "id": "evt_2", "type": "topup.succeeded", "user_id": ann.id, "amount_cents": 1_000_000 });
    assert_eq!(deliver(&stack, &other, now, "a-forged-secret-0123456789").await.status(), 401);
    assert_eq!(
        deliver(&stack, &other, now - 301, WEBHOOK_SECRET).await.status(),
        401,
        "outside the replay window"
    );
    let unsigned =
        stack.http.post(format!("{}/v1/payments/webhook", stack.post)).json(&other).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    assert_eq!(stack.balance(&ann).await, 700);
}
