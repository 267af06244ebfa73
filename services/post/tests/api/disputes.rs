//! Card money that goes back after it was credited — disputes, refunds
//! made on the provider's dashboard, payouts and refunds that fail after
//! they were paid — and the provider's word checked against the books.
//! localstripe sends no dispute events: those are synthetic, signed by
//! Stripe's own library, about real localstripe payments.

use serde_json::{Value, json};

use crate::helpers::{Stack, User, spawn_paying};
use crate::payments::{paid_by_card, provider_payout};
use crate::webhook::{deliver, event, status_of};

/// A card top-up of `amount_cents` credited to `user`, and its PaymentIntent.
async fn card_money(stack: &Stack, user: &User, amount_cents: i64) -> String {
    paid_by_card(stack, user, amount_cents).await["intent_id"].as_str().unwrap().to_owned()
}

fn dispute(id: &str, intent: &str, amount_cents: i64, status: &str) -> Value {
    json!({ "id": id, "object": "dispute", "amount": amount_cents, "currency": "eur",
            "payment_intent": intent, "charge": "ch_test", "status": status, "reason": "fraudulent" })
}

/// Delivers an event and answers its outcome (`applied`, `duplicate`) or status code.
async fn outcome(stack: &Stack, kind: &str, object: Value) -> String {
    let (status, body) = status_of(deliver(stack, &event(kind, object)).await).await;
    match status {
        200 => body["status"].as_str().unwrap().to_owned(),
        other => other.to_string(),
    }
}

fn locked(post: &Value) -> bool {
    post["photos"][0]["locked"] == true
}

#[tokio::test]
async fn a_dispute_holds_the_wallet_and_a_won_one_gives_it_back() {
    let stack = spawn_paying().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let intent = card_money(&stack, &bob, 2000).await;
    let post = stack.new_post(&ann, 500).await;
    assert_eq!(stack.buy(&bob, &post, "k").await.status(), 201);

    let opened = dispute("dp_won", &intent, 2000, "needs_response");
    assert_eq!(outcome(&stack, "charge.dispute.created", opened.clone()).await, "applied");
    assert_eq!(outcome(&stack, "charge.dispute.created", opened).await, "duplicate");
    assert_eq!(stack.balance(&bob).await, 0, "the wallet's 1500 are held");
    let books = stack.assert_books_agree(false).await;
    assert_eq!(books["disputed_cents"], 1500);
    assert_eq!(stack.buy(&bob, &stack.new_post(&ann, 100).await, "k2").await.status(), 402);

    assert_eq!(
        outcome(&stack, "charge.dispute.closed", dispute("dp_won", &intent, 2000, "won")).await,
        "applied"
    );
    assert_eq!(
        outcome(&stack, "charge.dispute.closed", dispute("dp_won", &intent, 2000, "lost")).await,
        "duplicate"
    );
    assert_eq!(stack.balance(&bob).await, 1500);
    assert!(!locked(&stack.get_post(Some(&bob), &post).await.json().await.unwrap()), "the purchase stands");
    assert_eq!(stack.earnings(&ann).await, 500);
    let books = stack.assert_books_agree(false).await;
    assert_eq!(books["disputed_cents"], 0);
    // localstripe keeps no disputes: asked, the provider knows nothing of this one.
    let report = stack.get(Some(&stack.admin), "/v1/admin/reconciliation?provider=true").await;
    assert!(
        report["problems"].to_string().contains("dispute dp_won: the provider could not be asked"),
        "{report:#}"
    );
}

/// Lost: the wallet's hold, then the purchases since the top-up newest first
/// (each creator's share from their earnings), then the platform, cover it.
#[tokio::test]
async fn a_lost_dispute_goes_back_to_the_card_and_ends_the_purchases_it_paid_for() {
    let stack = spawn_paying().await;
    let (ann, cat, bob) = (stack.user("ann").await, stack.user("cat").await, stack.user("bob").await);
    let posts =
        [stack.new_post(&ann, 1000).await, stack.new_post(&ann, 800).await, stack.new_post(&cat, 600).await];
    let intent = card_money(&stack, &bob, 2500).await;
    for (n, post) in posts.iter().enumerate() {
        assert_eq!(stack.buy(&bob, post, &format!("k{n}")).await.status(), 201);
    }
    stack.verify_creator(&ann).await;
    let paid_out = stack.post_keyed(&ann, "/v1/earnings/payouts", "p", json!({ "amount_cents": 1000 })).await;
    assert_eq!(paid_out.status(), 201);

    // Closed without its opening event (delivered out of order): opened and
    // closed at once. Its 2,500: bob's 100, cat's 600, ann's 800 left of her
    // two sales' 1,800 (the other 1,000 was paid out: the platform's loss).
    let lost = dispute("dp_lost", &intent, 2500, "lost");
    assert_eq!(outcome(&stack, "charge.dispute.closed", lost.clone()).await, "applied");
    assert_eq!(outcome(&stack, "charge.dispute.created", lost.clone()).await, "duplicate");
    assert_eq!(outcome(&stack, "charge.dispute.closed", lost).await, "duplicate");

    assert_eq!(stack.balance(&bob).await, 0);
    assert_eq!(stack.earnings(&cat).await, 0, "cat's sale is ended and her share taken back");
    assert_eq!(
        stack.earnings(&ann).await,
        0,
        "ann's remaining 800 taken back; the 1000 she was paid is the platform's loss"
    );
    for post in &posts {
        assert!(locked(&stack.get_post(Some(&bob), post).await.json().await.unwrap()), "the purchase ended");
    }
    let purchases = stack.get(Some(&bob), "/v1/purchases").await;
    assert!(
        purchases["purchases"].as_array().unwrap().iter().all(|p| p["state"] == "revoked"),
        "{purchases:#}"
    );
    let topups = stack.get(Some(&bob), "/v1/wallet/topups").await;
    assert_eq!(topups["topups"][0]["refunded_cents"], 2500, "all of it went back to the card");
    let books = stack.assert_books_agree(false).await;
    assert_eq!(books["platform_cents"], -1000);
    assert_eq!(books["cards_in_cents"], 0);
}

#[tokio::test]
async fn a_refund_made_on_the_dashboard_is_taken_from_the_wallet_once() {
    let stack = spawn_paying().await;
    let bob = stack.user("bob").await;
    let intent = card_money(&stack, &bob, 1500).await;
    // Made on the provider's side, as the dashboard would (localstripe sends no event for it).
    let made = testkit::stripe::post("/v1/refunds", &[("payment_intent", &intent), ("amount", "600")]).await;
    let refund = json!({ "id": made["id"], "object": "refund", "amount": 600, "status": "succeeded",
                         "payment_intent": intent, "metadata": {} });
    let charge = json!({ "id": "ch_1", "object": "charge", "payment_intent": intent, "amount_refunded": 600,
                         "refunds": { "object": "list", "data": [refund.clone()] } });
    assert_eq!(outcome(&stack, "charge.refunded", charge.clone()).await, "applied");
    assert_eq!(outcome(&stack, "charge.refunded", charge).await, "duplicate");
    assert_eq!(outcome(&stack, "refund.created", refund).await, "duplicate", "the same refund's own event");
    assert_eq!(stack.balance(&bob).await, 900);
    assert_eq!(stack.get(Some(&bob), "/v1/wallet/topups").await["topups"][0]["refunded_cents"], 600);
    stack.assert_books_agree(false).await;

    // Our own card refund of part of what is left still goes through beside
    // it, and the provider agrees with both refunds.
    let topup =
        stack.get(Some(&bob), "/v1/wallet/topups").await["topups"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/wallet/topups/{topup}/refund");
    let ours = stack.post_keyed(&bob, &path, "r", json!({ "amount_cents": 400 })).await;
    assert_eq!(ours.status(), 201);
    stack.eventually(&bob, "/v1/wallet", |w| w["balance_cents"] == 500).await;
    let books = stack.assert_books_agree(true).await;
    assert_eq!(books["cards_in_cents"], 500);
}

#[tokio::test]
async fn reversals_of_money_that_is_not_ours_or_larger_than_it_move_nothing() {
    let stack = spawn_paying().await;
    let bob = stack.user("bob").await;
    let intent = card_money(&stack, &bob, 1000).await;
    let too_much = dispute("dp_big", &intent, 1001, "needs_response");
    assert_eq!(outcome(&stack, "charge.dispute.created", too_much).await, "422");
    let unknown = dispute("dp_unknown", "pi_not_ours", 100, "needs_response");
    assert_eq!(outcome(&stack, "charge.dispute.created", unknown).await, "422");
    let mut other_currency = dispute("dp_usd", &intent, 100, "needs_response");
    other_currency["currency"] = json!("usd");
    assert_eq!(outcome(&stack, "charge.dispute.created", other_currency).await, "422");
    let no_intent = json!({ "id": "re_x", "amount": 100, "status": "succeeded", "metadata": {} });
    assert_eq!(outcome(&stack, "refund.created", no_intent).await, "422");
    assert_eq!(outcome(&stack, "charge.dispute.created", json!({ "id": 5 })).await, "400");
    assert_eq!(stack.balance(&bob).await, 1000);
    stack.assert_books_agree(false).await;
}

/// A payout the bank sends back after it was paid: the money returns to
/// earnings; and the provider's own records are checked against ours.
#[tokio::test]
async fn a_payout_failing_after_it_was_paid_returns_the_money_and_the_provider_is_checked() {
    let stack = spawn_paying().await;
    let (ann, _, _) = stack.verified_creator_with_a_sale(3000).await;
    let made = stack.post_keyed(&ann, "/v1/earnings/payouts", "p1", json!({ "amount_cents": 1200 })).await;
    let made: Value = made.json().await.unwrap();
    let other = stack.post_keyed(&ann, "/v1/earnings/payouts", "p2", json!({ "amount_cents": 1000 })).await;
    assert_eq!(other.status(), 201);
    let at_provider = provider_payout(made["id"].as_str().unwrap()).await;
    testkit::stripe::post(&format!("/v1/payouts/{at_provider}"), &[("status", "paid")]).await;
    stack.eventually(&ann, "/v1/earnings", |e| e["payouts"][1]["state"] == "paid").await;
    assert_eq!(stack.assert_books_agree(true).await["provider_checked"], 2);

    let mut returned = testkit::stripe::get(&format!("/v1/payouts/{at_provider}")).await;
    returned["status"] = json!("failed");
    returned["failure_message"] = json!("The bank account has been closed.");
    assert_eq!(outcome(&stack, "payout.failed", returned.clone()).await, "applied");
    assert_eq!(outcome(&stack, "payout.failed", returned).await, "duplicate");
    let earnings = stack.get(Some(&ann), "/v1/earnings").await;
    assert_eq!(earnings["earnings_cents"], 2000, "the returned 1200 is back");
    assert_eq!(earnings["payouts"][1]["state"], "failed");
    let reason = earnings["payouts"][1]["failure"].as_str().unwrap();
    assert!(reason.contains("bank account has been closed"), "{reason}");
    stack.assert_books_agree(false).await;

    // The provider still says paid (it sent the event we made up): the check sees it.
    let report = stack.get(Some(&stack.admin), "/v1/admin/reconciliation?provider=true").await;
    assert_eq!(report["agrees"], false);
    let problems = report["problems"].to_string();
    assert!(problems.contains("the provider says paid, we say failed"), "{problems}");
}
