//! Earnings pending for the clearing period, payouts only to verified
//! creators, and the per-user limits on purchases and refunds.

use std::time::Duration;

use mongodb::bson::{DateTime, doc};
use serde_json::{Value, json};

use crate::helpers::{Options, Provider, spawn_with};

#[tokio::test]
async fn a_sale_is_pending_until_it_clears_and_only_a_verified_creator_is_paid_out() {
    let options = Options {
        provider: Provider::Localstripe,
        clearing_period: Duration::from_secs(7 * 24 * 3600),
        ..Options::default()
    };
    let stack = spawn_with(options).await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let (kept, refunded) = (stack.new_post(&ann, 2000).await, stack.new_post(&ann, 500).await);
    stack.top_up(&bob, 2500).await;
    assert_eq!(stack.buy(&bob, &kept, "k1").await.status(), 201);
    let sale: Value = stack.buy(&bob, &refunded, "k2").await.json().await.unwrap();

    let earnings = stack.get(Some(&ann), "/v1/earnings").await;
    assert_eq!(
        (earnings["earnings_cents"].as_i64(), earnings["pending_cents"].as_i64()),
        (Some(0), Some(2500))
    );
    assert_eq!(earnings["payouts_enabled"], false);
    assert!(earnings["sales"][0]["clears_at"].is_string(), "{earnings:#}");
    let path = "/v1/earnings/payouts";
    let payout =
        |key: &'static str, cents: i64| stack.post_keyed(&ann, path, key, json!({ "amount_cents": cents }));
    assert_eq!(payout("p1", 1000).await.status(), 403, "not verified");

    let verification = format!("/v1/admin/creators/{}/verification", ann.id);
    let by_ann =
        stack.send(reqwest::Method::PUT, &ann, &verification, Some(json!({ "verified": true }))).await;
    assert_eq!(by_ann.status(), 403, "admins only");
    let bad_id = stack
        .send(
            reqwest::Method::PUT,
            &stack.admin,
            "/v1/admin/creators/x/verification",
            Some(json!({ "verified": true })),
        )
        .await;
    assert_eq!(bad_id.status(), 404);
    let bad_body = stack
        .send(reqwest::Method::PUT, &stack.admin, &verification, Some(json!({ "verified": "yes" })))
        .await;
    assert!(bad_body.status().is_client_error());
    stack.verify_creator(&ann).await;
    assert_eq!(stack.get(Some(&ann), "/v1/earnings").await["payouts_enabled"], true);
    let pending = payout("p1", 1000).await;
    assert_eq!(pending.status(), 409, "pending earnings are not paid out");
    let transfer = stack.send(
        reqwest::Method::POST,
        &ann,
        "/v1/earnings/transfers",
        Some(json!({ "amount_cents": 100 })),
    );
    assert_eq!(transfer.await.status(), 409, "nor moved to the wallet");

    // A pending sale refunds from the pending share.
    let refund = format!("/v1/purchases/{}/refund", sale["id"].as_str().unwrap());
    assert_eq!(stack.send(reqwest::Method::POST, &ann, &refund, None).await.status(), 201);
    assert_eq!(stack.get(Some(&ann), "/v1/earnings").await["pending_cents"], 2000);

    // The clearing period passes.
    let purchases = stack.database().await.collection::<mongodb::bson::Document>("purchases");
    let past = DateTime::from_millis(DateTime::now().timestamp_millis() - 1000);
    purchases.update_many(doc! {}, doc! { "$set": { "clears_at": past } }).await.unwrap();
    let cleared = stack.get(Some(&ann), "/v1/earnings").await;
    assert_eq!(
        (cleared["earnings_cents"].as_i64(), cleared["pending_cents"].as_i64()),
        (Some(2000), Some(0))
    );
    assert!(cleared["sales"][0]["clears_at"].is_null());
    assert_eq!(payout("p1", 1500).await.status(), 201);
    assert_eq!(stack.earnings(&ann).await, 500);
    let books = stack.assert_books_agree(false).await;
    assert_eq!(books["pending_earnings_cents"], 0);

    let unverify = json!({ "verified": false });
    let answer = stack.send(reqwest::Method::PUT, &stack.admin, &verification, Some(unverify)).await;
    assert_eq!(answer.status(), 200);
    stack.top_up(&bob, 2000).await;
    assert_eq!(payout("p2", 1000).await.status(), 403);
}

#[tokio::test]
async fn purchases_and_refunds_per_minute_are_limited_and_a_refused_one_moves_nothing() {
    let stack = spawn_with(Options { per_minute: 2, ..Options::default() }).await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let mut posts = Vec::new();
    for _ in 0..3 {
        posts.push(stack.new_post(&ann, 100).await);
    }
    stack.top_up(&bob, 1000).await;
    let mut sales = Vec::new();
    for (n, post) in posts.iter().enumerate() {
        let bought = stack.buy(&bob, post, &format!("k{n}")).await;
        if n < 2 {
            assert_eq!(bought.status(), 201);
            sales.push(bought.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(bought.status(), 429, "the third purchase of the minute");
            assert!(bought.headers().contains_key("retry-after"));
            assert_eq!(bought.headers()["content-type"], "application/problem+json");
        }
    }
    assert_eq!(stack.balance(&bob).await, 800, "the refused purchase charged nothing");
    let refund = |id: &str| {
        let path = format!("/v1/purchases/{id}/refund");
        let (stack, ann) = (&stack, &ann);
        async move { stack.send(reqwest::Method::POST, ann, &path, None).await }
    };
    assert_eq!(refund(&sales[0]).await.status(), 201);
    assert_eq!(refund(&sales[1]).await.status(), 201);
    assert_eq!(refund(&sales[0]).await.status(), 429, "a third refund request in the minute");
    assert_eq!(stack.balance(&bob).await, 1000);
    stack.assert_books_agree(false).await;
}
