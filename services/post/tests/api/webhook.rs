//! The provider's webhook: events signed by Stripe's own library, and what
//! a forged, stale, replayed, reordered or mismatched one does (nothing).

use std::time::{SystemTime, UNIX_EPOCH};

use common::secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{Stack, User, WEBHOOK_SECRET, spawn_paying};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

async fn deliver_with(stack: &Stack, payload: &str, signature: Option<String>) -> reqwest::Response {
    let mut request = stack
        .http
        .post(format!("{}/v1/payments/webhook", stack.post))
        .header("content-type", "application/json; charset=utf-8")
        .body(payload.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    request.send().await.unwrap()
}

/// `event` signed now by Stripe's library with the endpoint's secret.
pub(crate) async fn deliver(stack: &Stack, event: &Value) -> reqwest::Response {
    let payload = event.to_string();
    let signature = testkit::stripe::signature_header(&payload, WEBHOOK_SECRET, now());
    deliver_with(stack, &payload, Some(signature)).await
}

pub(crate) fn event(kind: &str, object: Value) -> Value {
    json!({ "id": testkit::unique_name("evt"), "object": "event", "type": kind, "created": now(), "data": { "object": object } })
}

/// A top-up started without a payment method (waiting at the provider), and
/// the PaymentIntent object its success event would carry.
async fn waiting_top_up(stack: &Stack, user: &User, amount_cents: i64) -> (String, Value) {
    let body = json!({ "amount_cents": amount_cents });
    let started: Value =
        stack.send(reqwest::Method::POST, user, "/v1/wallet/topups", Some(body)).await.json().await.unwrap();
    let intent = json!({
        "id": started["intent_id"], "object": "payment_intent", "amount": amount_cents, "currency": "eur",
        "status": "succeeded", "metadata": { "topup_id": started["id"], "user_id": user.id },
    });
    (started["id"].as_str().unwrap().to_owned(), intent)
}

pub(crate) async fn status_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[test]
fn our_signatures_are_stripes() {
    let payload = r#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{}}}"#;
    let header = testkit::stripe::signature_header(payload, WEBHOOK_SECRET, 1_700_000_000);
    let secret = SecretString::from(WEBHOOK_SECRET.to_owned());
    let ours = post::money::webhook::sign(&secret, 1_700_000_000, payload.as_bytes()).unwrap();
    assert_eq!(header, format!("t=1700000000,v1={ours}"));
    assert!(post::money::webhook::verify(&secret, Some(&header), payload.as_bytes(), 1_700_000_100).is_ok());
    assert!(post::money::webhook::verify(&secret, Some(&header), payload.as_bytes(), 1_700_000_301).is_err());
}

#[tokio::test]
async fn forged_stale_and_unsigned_events_are_refused_and_replays_change_nothing() {
    let stack = spawn_paying().await;
    let ann = stack.user("ann").await;
    let (topup, intent) = waiting_top_up(&stack, &ann, 700).await;
    let succeeded = event("payment_intent.succeeded", intent.clone());
    let payload = succeeded.to_string();

    let forged = testkit::stripe::signature_header(&payload, "whsec_not_ours_0123456789", now());
    assert_eq!(deliver_with(&stack, &payload, Some(forged)).await.status(), 400);
    // Well past the 5 minutes either way (the exact edge is checked in
    // `our_signatures_are_stripes`, where the clock does not move).
    let stale = testkit::stripe::signature_header(&payload, WEBHOOK_SECRET, now() - 360);
    assert_eq!(deliver_with(&stack, &payload, Some(stale)).await.status(), 400, "older than 5 minutes");
    let early = testkit::stripe::signature_header(&payload, WEBHOOK_SECRET, now() + 360);
    assert_eq!(deliver_with(&stack, &payload, Some(early)).await.status(), 400, "from the future");
    assert_eq!(deliver_with(&stack, &payload, None).await.status(), 400, "unsigned");
    let other_body = testkit::stripe::signature_header("{}", WEBHOOK_SECRET, now());
    assert_eq!(
        deliver_with(&stack, &payload, Some(other_body)).await.status(),
        400,
        "another body's signature"
    );
    assert_eq!(stack.balance(&ann).await, 0);

    // While the secret is being rolled an event carries several signatures.
    let good = testkit::stripe::signature_header(&payload, WEBHOOK_SECRET, now());
    let (t, v1) = good.split_once(',').unwrap();
    let rolled = format!("{t},v1={},{v1},v0=ignored", "0".repeat(64));
    let (status, body) = status_of(deliver_with(&stack, &payload, Some(rolled)).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("applied")));
    let (status, body) = status_of(deliver(&stack, &succeeded).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")), "a replay");
    let mut retried = succeeded.clone();
    retried["id"] = json!("evt_another_delivery");
    assert_eq!(status_of(deliver(&stack, &retried).await).await.1["status"], "duplicate");
    assert_eq!(stack.balance(&ann).await, 700, "credited once");

    let mut late_failure = intent.clone();
    late_failure["status"] = json!("requires_payment_method");
    let (status, body) =
        status_of(deliver(&stack, &event("payment_intent.payment_failed", late_failure)).await).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("duplicate")),
        "a failure arriving after the success"
    );
    let topups = stack.get(Some(&ann), "/v1/wallet/topups").await;
    assert_eq!(
        (topups["topups"][0]["id"].as_str(), topups["topups"][0]["state"].as_str()),
        (Some(topup.as_str()), Some("succeeded"))
    );
    assert_eq!(
        status_of(deliver(&stack, &event("customer.created", json!({}))).await).await.1["status"],
        "ignored"
    );
    stack.assert_books_agree(false).await;
}

#[tokio::test]
async fn events_that_are_not_our_payment_credit_nothing() {
    let stack = spawn_paying().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let (_, intent) = waiting_top_up(&stack, &ann, 700).await;
    let variants = [
        ("metadata", json!({})),
        ("metadata", json!({ "topup_id": "not-an-id", "user_id": ann.id })),
        ("amount", json!(70_000)),
        ("currency", json!("usd")),
        ("metadata", json!({ "topup_id": intent["metadata"]["topup_id"], "user_id": bob.id })),
        ("id", json!("pi_someone_elses")),
        ("status", json!("processing")),
    ];
    for (field, value) in variants {
        let mut changed = intent.clone();
        changed[field] = value.clone();
        let response = deliver(&stack, &event("payment_intent.succeeded", changed)).await;
        assert_eq!(response.status(), 422, "{field} = {value}");
    }
    assert_eq!(stack.balance(&ann).await + stack.balance(&bob).await, 0);

    let (status, _) =
        status_of(deliver(&stack, &event("payment_intent.canceled", intent.clone())).await).await;
    assert_eq!(status, 200);
    assert_eq!(stack.get(Some(&ann), "/v1/wallet/topups").await["topups"][0]["state"], "canceled");
    let after_cancel = deliver(&stack, &event("payment_intent.succeeded", intent)).await;
    assert_eq!(after_cancel.status(), 409, "a canceled top-up is never credited");
    assert_eq!(stack.balance(&ann).await, 0);
    stack.assert_books_agree(false).await;
}
