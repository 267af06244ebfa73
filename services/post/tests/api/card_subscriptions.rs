//! Subscriptions paid by card through Stripe Billing (localstripe): the
//! provider charges each period and its signed events move ours — each
//! invoice counted once, a failed one opening the grace period, an end made
//! at the provider ending ours. localstripe does not move time, so a later
//! period's invoices are synthetic events about its real subscriptions.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Stack, User, spawn, spawn_paying};
use crate::subscriptions::{DAY, days_pass, photo_url, post_for, subscribe, tier};
use crate::webhook::{deliver, event, status_of};

const MONTH: i64 = 30 * 24 * 3600;

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// Subscribes `fan` to `tier` with the card `card`; answers the subscription.
async fn by_card(stack: &Stack, fan: &User, tier: &Value, card: &str) -> Value {
    let made = subscribe(stack, fan, tier, json!({ "payment_method": card })).await;
    assert_eq!(made.status(), 201);
    made.json().await.unwrap()
}

/// The provider's subscription behind ours.
async fn at_provider(subscription: &Value) -> Value {
    let listed = testkit::stripe::get("/v1/subscriptions?status=all&limit=100").await;
    let ours = |s: &&Value| s["metadata"]["subscription_id"] == subscription["id"];
    listed["data"].as_array().unwrap().iter().find(ours).expect("made at the provider").clone()
}

/// A paid (or failed) invoice of `provider_subscription` for the period from `start`.
fn invoice(provider_subscription: &Value, paid: bool, amount_cents: i64, start: i64) -> Value {
    json!({
        "id": testkit::unique_name("in"), "object": "invoice", "currency": "eur",
        "subscription": provider_subscription["id"], "status": if paid { "paid" } else { "open" },
        "amount_paid": if paid { amount_cents } else { 0 }, "payment_intent": testkit::unique_name("pi"),
        "period_start": start - MONTH, "period_end": start,
        "lines": { "data": [{ "period": { "start": start, "end": start + MONTH } }] },
    })
}

async fn outcome(stack: &Stack, kind: &str, object: Value) -> String {
    let (status, body) = status_of(deliver(stack, &event(kind, object)).await).await;
    match status {
        200 => body["status"].as_str().unwrap().to_owned(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn a_card_subscription_is_charged_by_the_provider_once_and_the_books_agree_with_it() {
    let stack = spawn_paying().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let gold = tier(&stack, &ann, json!({ "rank": 1, "name": "Gold", "monthly_cents": 500 })).await;
    let post = post_for(&stack, &ann, json!({ "kind": "subscribers", "min_rank": 1 }), 0).await;
    assert_eq!(photo_url(&stack, &bob, &post).await, None);

    let subscribed = by_card(&stack, &bob, &gold, "pm_card_visa").await;
    assert_eq!(
        (subscribed["state"].as_str(), subscribed["paid_by"].as_str()),
        (Some("active"), Some("card")),
        "{subscribed:#}"
    );
    assert_eq!(stack.balance(&bob).await, 0, "the card paid, not the wallet");
    assert!(photo_url(&stack, &bob, &post).await.is_some(), "open to a card subscriber");
    let provider = at_provider(&subscribed).await;
    assert_eq!(provider["status"], "active");
    assert_eq!(provider["items"]["data"][0]["plan"]["amount"], 500);

    // The provider's own event for the first invoice, and the same invoice again: counted once.
    let first =
        testkit::stripe::get(&format!("/v1/invoices/{}", provider["latest_invoice"].as_str().unwrap())).await;
    assert_eq!(outcome(&stack, "invoice.paid", first.clone()).await, "duplicate");
    assert_eq!(outcome(&stack, "invoice.payment_succeeded", first).await, "duplicate");
    let books = stack.assert_books_agree(true).await;
    assert_eq!(books["cards_in_cents"], 500);
    assert!(books["provider_checked"].as_i64().unwrap() >= 1, "the invoice is checked with the provider");
    let earnings = stack.get(Some(&ann), "/v1/earnings").await;
    let share = earnings["earnings_cents"].as_i64().unwrap() + earnings["pending_cents"].as_i64().unwrap();
    assert_eq!(share, 500, "the creator's share (no fee here)");
    assert_eq!(stack.get(Some(&ann), "/v1/subscribers").await["monthly_recurring_cents"], 500);

    // Subscribing again is the same subscription, charged nothing more.
    let again = subscribe(&stack, &bob, &gold, json!({ "payment_method": "pm_card_visa" })).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], subscribed["id"]);
    assert_eq!(stack.assert_books_agree(true).await["cards_in_cents"], 500);
}

#[tokio::test]
async fn renewals_come_from_the_providers_invoices_and_a_failed_one_lapses_after_the_grace_period() {
    let stack = spawn_paying().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let gold = tier(&stack, &ann, json!({ "rank": 1, "name": "Gold", "monthly_cents": 500 })).await;
    let post = post_for(&stack, &ann, json!({ "kind": "subscribers", "min_rank": 1 }), 0).await;
    let subscribed = by_card(&stack, &bob, &gold, "pm_card_visa").await;
    let provider = at_provider(&subscribed).await;

    // The next month's invoice: applied once, however often it is told.
    let renewal = invoice(&provider, true, 500, now() + MONTH);
    assert_eq!(outcome(&stack, "invoice.paid", renewal.clone()).await, "applied");
    assert_eq!(outcome(&stack, "invoice.paid", renewal.clone()).await, "duplicate");
    assert_eq!(outcome(&stack, "invoice.payment_succeeded", renewal).await, "duplicate");
    let renewed = stack.get(Some(&bob), "/v1/subscriptions").await["subscriptions"][0].clone();
    assert_eq!(renewed["state"], "active");
    assert!(
        renewed["current_period_end"].as_str() > subscribed["current_period_end"].as_str(),
        "{renewed:#}"
    );
    assert_eq!(stack.assert_books_agree(false).await["cards_in_cents"], 1000, "two months by card");

    // The month after fails: past due, still open in the grace period, then lapsed and ended at the provider.
    let failed = invoice(&provider, false, 500, now() + 2 * MONTH);
    assert_eq!(outcome(&stack, "invoice.payment_failed", failed.clone()).await, "applied");
    assert_eq!(outcome(&stack, "invoice.payment_failed", failed).await, "duplicate");
    let due = stack.get(Some(&bob), "/v1/subscriptions").await["subscriptions"][0].clone();
    assert_eq!(due["state"], "past_due");
    assert!(due["grace_until"].is_string());
    assert!(photo_url(&stack, &bob, &post).await.is_some(), "open during the grace period");
    stack.clock.advance(DAY * 2);
    assert!(photo_url(&stack, &bob, &post).await.is_some());
    let lapsed = days_pass(&stack, &bob, 2, "ended").await;
    assert_eq!(lapsed["id"], subscribed["id"]);
    assert_eq!(photo_url(&stack, &bob, &post).await, None, "closed once lapsed");
    assert_eq!(at_provider(&subscribed).await["status"], "canceled", "no more invoices");
    assert_eq!(stack.assert_books_agree(false).await["cards_in_cents"], 1000);
}

#[tokio::test]
async fn cancel_resume_change_tier_and_refund_reach_the_provider() {
    let stack = spawn_paying().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let gold = tier(&stack, &ann, json!({ "rank": 1, "name": "Gold", "monthly_cents": 500 })).await;
    let platinum = tier(&stack, &ann, json!({ "rank": 2, "name": "Platinum", "monthly_cents": 900 })).await;
    let subscribed = by_card(&stack, &bob, &gold, "pm_card_visa").await;
    let id = subscribed["id"].as_str().unwrap();
    let path = |what: &str| format!("/v1/subscriptions/{id}/{what}");

    let cancelled: Value = stack.send(Method::POST, &bob, &path("cancel"), None).await.json().await.unwrap();
    assert_eq!(cancelled["cancel_at_period_end"], true);
    assert_eq!(at_provider(&subscribed).await["cancel_at_period_end"], true);
    let resumed: Value = stack.send(Method::POST, &bob, &path("resume"), None).await.json().await.unwrap();
    assert_eq!(resumed["cancel_at_period_end"], false);
    assert_eq!(at_provider(&subscribed).await["cancel_at_period_end"], false);

    // A cancellation made at the provider reaches us too.
    let mut held = at_provider(&subscribed).await;
    held["cancel_at_period_end"] = json!(true);
    assert_eq!(outcome(&stack, "customer.subscription.updated", held).await, "applied");
    assert_eq!(
        stack.get(Some(&bob), "/v1/subscriptions").await["subscriptions"][0]["cancel_at_period_end"],
        true
    );
    stack.send(Method::POST, &bob, &path("resume"), None).await;

    // Up a tier: at once, on the provider's new plan (it prorates the next invoice).
    let body = json!({ "tier_id": platinum["id"] });
    let moved = stack.send(Method::POST, &bob, &path("tier"), Some(body)).await;
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!((moved["rank"].as_i64(), moved["price_cents"].as_i64()), (Some(2), Some(900)));
    assert_eq!(at_provider(&subscribed).await["items"]["data"][0]["plan"]["amount"], 900);

    // Refunded by the creator: the charge goes back to the card, the provider stops billing.
    assert_eq!(stack.send(Method::POST, &bob, &path("refund"), None).await.status(), 403);
    let refunded = stack.send(Method::POST, &ann, &path("refund"), None).await;
    assert_eq!(refunded.status(), 200);
    assert_eq!(refunded.json::<Value>().await.unwrap()["state"], "refunded");
    assert_eq!(at_provider(&subscribed).await["status"], "canceled");
    let refunds = testkit::stripe::get(&format!(
        "/v1/refunds?payment_intent={}",
        testkit::stripe::get(&format!(
            "/v1/invoices/{}",
            at_provider(&subscribed).await["latest_invoice"].as_str().unwrap()
        ))
        .await["payment_intent"]
            .as_str()
            .unwrap()
    ))
    .await;
    assert_eq!(refunds["data"][0]["amount"], 500, "{refunds:#}");
    assert_eq!(stack.balance(&bob).await, 0, "back to the card, not kept in the wallet");
    let earnings = stack.get(Some(&ann), "/v1/earnings").await;
    assert_eq!((earnings["earnings_cents"].as_i64(), earnings["pending_cents"].as_i64()), (Some(0), Some(0)));
    let books = stack.assert_books_agree(true).await;
    assert_eq!(books["cards_in_cents"], 0, "{books:#}");
}

#[tokio::test]
async fn a_declined_card_subscribes_no_one_and_events_not_ours_are_ignored() {
    let stack = spawn_paying().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    // One promotion, half off: a declined card gives it back; the next card gets it.
    let promotion = json!({ "percent_off": 50, "max_redemptions": 1, "ends_at": "2099-01-01T00:00:00Z" });
    let gold = tier(
        &stack,
        &ann,
        json!({ "rank": 1, "name": "Gold", "monthly_cents": 500, "promotion": promotion }),
    )
    .await;

    let declined =
        subscribe(&stack, &bob, &gold, json!({ "payment_method": "pm_card_chargeCustomerFail" })).await;
    assert_eq!(declined.status(), 402);
    assert_eq!(declined.headers()["content-type"], "application/problem+json");
    let listed = stack.get(Some(&bob), "/v1/subscriptions").await;
    assert!(listed["subscriptions"].as_array().unwrap().iter().all(|s| s["state"] == "ended"), "{listed:#}");
    for bad in [json!({ "payment_method": "not a card!" }), json!({ "payment_method": 7 })] {
        let refused = subscribe(&stack, &bob, &gold, bad).await;
        assert!(refused.status().is_client_error(), "{}", refused.status());
    }
    let books = stack.assert_books_agree(true).await;
    assert_eq!(books["cards_in_cents"], 0);

    // The pair is free again: a good card subscribes, the first month half off.
    let subscribed = by_card(&stack, &bob, &gold, "pm_card_visa").await;
    assert_eq!(subscribed["state"], "active");
    let provider = at_provider(&subscribed).await;
    let first =
        testkit::stripe::get(&format!("/v1/invoices/{}", provider["latest_invoice"].as_str().unwrap())).await;
    assert_eq!(first["amount_paid"], 250, "{first:#}");
    assert_eq!(stack.get(None, "/v1/users/ann/tiers").await["tiers"][0]["promotion"]["remaining"], 0);

    // About a subscription that is not ours: acknowledged, nothing moved.
    let stranger =
        json!({ "id": "sub_not_ours", "object": "subscription", "status": "active", "metadata": {} });
    assert_eq!(outcome(&stack, "customer.subscription.deleted", stranger.clone()).await, "ignored");
    assert_eq!(outcome(&stack, "invoice.paid", invoice(&stranger, true, 500, now())).await, "ignored");
    assert_eq!(stack.assert_books_agree(true).await["cards_in_cents"], 250);

    // Without a payment provider, card subscriptions are not offered.
    let plain = spawn().await;
    let (cat, dan) = (plain.user("cat").await, plain.user("dan").await);
    let basic = tier(&plain, &cat, json!({ "rank": 1, "name": "Basic", "monthly_cents": 500 })).await;
    let refused = subscribe(&plain, &dan, &basic, json!({ "payment_method": "pm_card_visa" })).await;
    assert_eq!(refused.status(), 404);
}
