//! Card top-ups, card refunds and payouts through a Stripe-compatible
//! provider (localstripe), its events arriving at post's webhook.

use serde_json::{Value, json};

use crate::helpers::{Options, Provider, Stack, User, spawn, spawn_paying, spawn_with};

async fn card_top_up(
    stack: &Stack,
    user: &User,
    amount_cents: u64,
    method: Option<&str>,
) -> reqwest::Response {
    let mut body = json!({ "amount_cents": amount_cents });
    if let Some(method) = method {
        body["payment_method"] = json!(method);
    }
    stack.send(reqwest::Method::POST, user, "/v1/wallet/topups", Some(body)).await
}

/// A card top-up of `amount_cents` the provider has confirmed to post.
pub(crate) async fn paid_by_card(stack: &Stack, user: &User, amount_cents: i64) -> Value {
    let before = stack.balance(user).await;
    let response = card_top_up(stack, user, u64::try_from(amount_cents).unwrap(), Some("pm_card_visa")).await;
    assert_eq!(response.status(), 201);
    let started: Value = response.json().await.unwrap();
    stack
        .eventually(user, "/v1/wallet", |w| w["balance_cents"].as_i64() == Some(before + amount_cents))
        .await;
    started
}

#[tokio::test]
async fn a_card_top_up_is_credited_by_the_providers_event_once() {
    let stack = spawn_paying().await;
    let ann = stack.user("ann").await;
    let response = card_top_up(&stack, &ann, 1000, Some("pm_card_visa")).await;
    assert_eq!(response.status(), 201);
    let started: Value = response.json().await.unwrap();
    assert_eq!(started["state"], "pending", "{started:#}");
    assert_eq!(started["currency"], "eur");
    let intent = started["intent_id"].as_str().unwrap().to_owned();
    assert!(started["client_secret"].as_str().unwrap().starts_with(&intent));
    assert_eq!(stack.balance(&ann).await, 0, "the answer credits nothing: only the provider's event does");

    stack.eventually(&ann, "/v1/wallet", |w| w["balance_cents"] == 1000).await;
    // jongodb applies a transaction's writes one at a time: the balance can show before the state.
    stack.eventually(&ann, "/v1/wallet/topups", |t| t["topups"][0]["state"] == "succeeded").await;
    assert_eq!(stack.get(Some(&ann), "/v1/wallet").await["ledger"][0]["kind"], "topup");
    let at_provider = testkit::stripe::get(&format!("/v1/payment_intents/{intent}")).await;
    assert_eq!(at_provider["status"], "succeeded");
    assert_eq!(at_provider["metadata"]["topup_id"], started["id"]);
    let books = stack.assert_books_agree(true).await;
    assert_eq!(books["provider_checked"], 1);
    assert_eq!(books["cards_in_cents"], 1000);
}

#[tokio::test]
async fn top_ups_outside_the_limits_or_without_a_provider_are_refused() {
    let stack = spawn_paying().await;
    let ann = stack.user("ann").await;
    assert_eq!(card_top_up(&stack, &ann, 99, None).await.status(), 422, "under $1");
    assert_eq!(card_top_up(&stack, &ann, 50_001, None).await.status(), 422, "over $500");
    assert_eq!(card_top_up(&stack, &ann, 1000, Some("pm_x&confirm=false")).await.status(), 422);
    assert_eq!(card_top_up(&stack, &ann, 1000, Some("card_123")).await.status(), 422);
    let without = spawn().await;
    let bob = without.user("bob").await;
    assert_eq!(card_top_up(&without, &bob, 1000, None).await.status(), 404, "no provider configured");
    assert_eq!(without.get(Some(&bob), "/v1/wallet").await["card_topups"], false);
}

#[tokio::test]
async fn a_declined_card_is_recorded_and_never_credited() {
    let stack = spawn_paying().await;
    let ann = stack.user("ann").await;
    let declined = card_top_up(&stack, &ann, 1000, Some("pm_card_chargeCustomerFail")).await;
    assert_eq!(declined.status(), 402);
    let topups = stack.get(Some(&ann), "/v1/wallet/topups").await;
    assert_eq!(topups["topups"][0]["state"], "failed");
    assert!(topups["topups"][0]["failure"].as_str().unwrap().contains("declined"));
    // The provider's payment_failed event arrives a second later and changes nothing.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(stack.get(Some(&ann), "/v1/wallet/topups").await["topups"][0]["state"], "failed");
    assert_eq!(stack.balance(&ann).await, 0);
    stack.assert_books_agree(true).await;
}

#[tokio::test]
async fn with_the_provider_down_nothing_is_charged_paid_or_lost() {
    let stack = spawn_with(Options { provider: Provider::Down, ..Options::default() }).await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let response = card_top_up(&stack, &ann, 1000, Some("pm_card_visa")).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(stack.get(Some(&ann), "/v1/wallet/topups").await["topups"][0]["state"], "failed");
    assert_eq!(stack.balance(&ann).await, 0);

    let post = stack.new_post(&ann, 2000).await;
    stack.verify_creator(&ann).await;
    stack.top_up(&bob, 2000).await;
    assert_eq!(stack.buy(&bob, &post, "k").await.status(), 201);
    let payout = stack.post_keyed(&ann, "/v1/earnings/payouts", "p1", json!({ "amount_cents": 1500 })).await;
    assert_eq!(payout.status(), 503);
    assert!(payout.headers().contains_key("retry-after"));
    let earnings = stack.get(Some(&ann), "/v1/earnings").await;
    assert_eq!(earnings["earnings_cents"], 2000, "the earnings are as they were");
    assert_eq!(earnings["payouts"][0]["state"], "failed", "and the payout says why");
    stack.assert_books_agree(false).await;
}

#[tokio::test]
async fn the_unspent_part_of_a_card_top_up_goes_back_to_the_card() {
    let stack = spawn_paying().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let started = paid_by_card(&stack, &bob, 1000).await;
    let topup = started["id"].as_str().unwrap();
    let post = stack.new_post(&ann, 400).await;
    assert_eq!(stack.buy(&bob, &post, "k").await.status(), 201);

    let path = format!("/v1/wallet/topups/{topup}/refund");
    let too_much = stack.post_keyed(&bob, &path, "r0", json!({ "amount_cents": 700 })).await;
    assert_eq!(too_much.status(), 409, "700 of it was not left in the wallet");
    let refunded = stack.post_keyed(&bob, &path, "r1", json!({})).await;
    assert_eq!(refunded.status(), 201);
    let refunded: Value = refunded.json().await.unwrap();
    assert_eq!(refunded["amount_cents"], 600, "what was left of it in the wallet");
    assert_eq!(refunded["state"], "paid");
    assert_eq!(stack.balance(&bob).await, 0);
    let same = stack.post_keyed(&bob, &path, "r1", json!({})).await;
    assert_eq!(same.status(), 200, "the same key, the same refund");
    assert_eq!(same.json::<Value>().await.unwrap()["id"], refunded["id"]);
    assert_eq!(stack.post_keyed(&bob, &path, "r2", json!({})).await.status(), 409, "nothing left");
    assert_eq!(stack.post_keyed(&ann, &path, "r3", json!({})).await.status(), 404, "not ann's top-up");

    let intent = started["intent_id"].as_str().unwrap();
    let at_provider = testkit::stripe::get(&format!("/v1/refunds?payment_intent={intent}")).await;
    let amounts: Vec<i64> =
        at_provider["data"].as_array().unwrap().iter().map(|r| r["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, [600], "one refund of 600 at the provider");
    assert_eq!(stack.get(Some(&bob), "/v1/wallet/topups").await["topups"][0]["refunded_cents"], 600);
    let books = stack.assert_books_agree(true).await;
    assert_eq!(books["cards_in_cents"], 400);
}

/// The provider's payout for post's payout `outflow_id`.
pub(crate) async fn provider_payout(outflow_id: &str) -> String {
    let payouts = testkit::stripe::get("/v1/payouts?limit=100").await;
    let found =
        payouts["data"].as_array().unwrap().iter().find(|p| p["metadata"]["outflow_id"] == outflow_id);
    found.expect("a payout at the provider")["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn payouts_debit_earnings_at_once_and_settle_by_the_providers_events() {
    let stack = spawn_paying().await;
    let (ann, _, _) = stack.verified_creator_with_a_sale(3000).await;

    let path = "/v1/earnings/payouts";
    assert_eq!(stack.post_keyed(&ann, path, "p0", json!({ "amount_cents": 3001 })).await.status(), 409);
    assert_eq!(
        stack.post_keyed(&ann, path, "p0", json!({ "amount_cents": 999 })).await.status(),
        422,
        "under $10"
    );
    let first = stack.post_keyed(&ann, path, "p1", json!({ "amount_cents": 1500 })).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["state"], "pending");
    assert_eq!(stack.earnings(&ann).await, 1500, "debited at once");
    let again = stack.post_keyed(&ann, path, "p1", json!({ "amount_cents": 1500 })).await;
    assert_eq!(again.status(), 200);
    assert_eq!(stack.earnings(&ann).await, 1500, "one payout per key");

    let second = stack.post_keyed(&ann, path, "p2", json!({ "amount_cents": 1000 })).await;
    let second: Value = second.json().await.unwrap();
    assert_eq!(stack.earnings(&ann).await, 500);

    let paid = provider_payout(first["id"].as_str().unwrap()).await;
    testkit::stripe::post(&format!("/v1/payouts/{paid}"), &[("status", "paid")]).await;
    let failed = provider_payout(second["id"].as_str().unwrap()).await;
    testkit::stripe::post(&format!("/v1/payouts/{failed}"), &[("status", "failed")]).await;

    let settled = stack
        .eventually(&ann, "/v1/earnings", |e| {
            let states: Vec<&str> =
                e["payouts"].as_array().unwrap().iter().map(|p| p["state"].as_str().unwrap()).collect();
            // The page is read in parts: the money back may show a moment after the state.
            states == ["failed", "paid"] && e["earnings_cents"] == 1500
        })
        .await;
    assert_eq!(settled["earnings_cents"], 1500, "the failed payout's money is back");
    let books = stack.assert_books_agree(false).await;
    assert_eq!(
        (books["payouts_cents"].as_i64(), books["recorded_payouts_cents"].as_i64()),
        (Some(1500), Some(1500))
    );
    // The creator hears of each payout's end, once.
    let told = |kind: &'static str, payout: &Value| {
        let id = payout["id"].as_str().unwrap().to_owned();
        move |inbox: &Value| {
            let items = inbox["items"].as_array().unwrap();
            items.iter().filter(|n| n["kind"] == kind && n["payout_id"] == id.as_str()).count() == 1
        }
    };
    stack.eventually(&ann, "/v1/notifications", told("payout_paid", &first)).await;
    let inbox = stack.eventually(&ann, "/v1/notifications", told("payout_failed", &second)).await;
    let failed = inbox["items"].as_array().unwrap().iter().find(|n| n["kind"] == "payout_failed").unwrap();
    assert_eq!(failed["amount_cents"], 1000);
}

#[tokio::test]
async fn a_refund_after_the_creator_was_paid_out_is_refused() {
    let stack = spawn_paying().await;
    let (ann, bob, purchase) = stack.verified_creator_with_a_sale(2000).await;
    let payout = stack.post_keyed(&ann, "/v1/earnings/payouts", "p", json!({ "amount_cents": 1500 })).await;
    assert_eq!(payout.status(), 201);
    let path = format!("/v1/purchases/{}/refund", purchase["id"].as_str().unwrap());
    assert_eq!(stack.send(reqwest::Method::POST, &ann, &path, None).await.status(), 409);
    assert_eq!(stack.balance(&bob).await, 0);
    assert_eq!(stack.earnings(&ann).await, 500);
    stack.assert_books_agree(false).await;
}

/// An outflow the provider never settled while its idempotency key lasted
/// is never asked about again: it waits in the operators' queue until one
/// says what the provider's dashboard shows.
#[tokio::test]
async fn an_outflow_past_its_key_window_is_settled_by_an_operator_from_the_queue() {
    let stack = spawn_paying().await;
    let (ann, bob, _) = stack.verified_creator_with_a_sale(1500).await;
    let outflows = stack.database().await.collection::<mongodb::bson::Document>("outflows");
    // What the outbox worker does once a retry would fall outside the window.
    let to_review = |id: String| {
        let outflows = outflows.clone();
        async move {
            let review = mongodb::bson::doc! { "$set": { "state": "review", "next_attempt_at": null } };
            outflows.update_one(mongodb::bson::doc! { "_id": id }, review).await.unwrap();
        }
    };
    let payout = |key: &'static str| {
        let (stack, ann) = (&stack, &ann);
        async move {
            let made =
                stack.post_keyed(ann, "/v1/earnings/payouts", key, json!({ "amount_cents": 1000 })).await;
            assert_eq!(made.status(), 201);
            made.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
        }
    };
    let resolve = |id: &str, paid: bool, note: &str| {
        let (path, body) =
            (format!("/v1/admin/outflows/{id}/resolution"), json!({ "paid": paid, "note": note }));
        let stack = &stack;
        async move { stack.send(reqwest::Method::POST, &stack.admin, &path, Some(body)).await }
    };

    let first = payout("p1").await;
    to_review(first.clone()).await;
    assert_eq!(stack.earnings(&ann).await, 500, "debited while in review");
    let queue = stack.send(reqwest::Method::GET, &bob, "/v1/admin/outflows", None).await;
    assert_eq!(queue.status(), 403, "operators only");
    let queue = stack.get(Some(&stack.admin), "/v1/admin/outflows").await;
    assert_eq!(queue["outflows"][0]["id"], first.as_str());
    assert_eq!(queue["outflows"][0]["kind"], "payout");
    assert_eq!(queue["outflows"][0]["user_id"], ann.id.as_str());
    assert_eq!(resolve(&first, false, " ").await.status(), 422, "a note is required");
    assert_eq!(resolve(&first, false, "no payout at the provider").await.status(), 204);
    assert_eq!(stack.earnings(&ann).await, 1500, "failed: the money is back");
    let earnings = stack.get(Some(&ann), "/v1/earnings").await;
    assert_eq!(earnings["payouts"][0]["state"], "failed");
    assert_eq!(resolve(&first, true, "again").await.status(), 409, "settled once");

    let second = payout("p2").await;
    to_review(second.clone()).await;
    assert_eq!(resolve(&second, true, "po_123 paid on the dashboard").await.status(), 204);
    assert_eq!(stack.earnings(&ann).await, 500, "paid: the money stays out");
    assert_eq!(stack.get(Some(&ann), "/v1/earnings").await["payouts"][0]["state"], "paid");
    let unknown = resolve("0196f1c2-0000-7000-8000-000000000000", true, "x").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(stack.get(Some(&stack.admin), "/v1/admin/outflows").await["outflows"], json!([]));
    stack.assert_books_agree(false).await;
}
