//! A creator (or an admin) refunding a sale.

use serde_json::Value;

use crate::helpers::{Stack, User, spawn};

async fn refund(stack: &Stack, by: &User, purchase_id: &str) -> reqwest::Response {
    let path = format!("/v1/purchases/{purchase_id}/refund");
    stack.send(reqwest::Method::POST, by, &path, None).await
}

async fn bought(stack: &Stack, buyer: &User, post: &str, key: &str) -> String {
    let response = stack.buy(buyer, post, key).await;
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_refund_gives_the_price_back_ends_the_entitlement_and_happens_once() {
    let stack = spawn().await;
    let (ann, bob, cat) = (stack.user("ann").await, stack.user("bob").await, stack.user("cat").await);
    let post = stack.new_post(&ann, 300).await;
    stack.top_up(&bob, 1000).await;
    let purchase = bought(&stack, &bob, &post, "k1").await;
    let seen: Value = stack.get_post(Some(&bob), &post).await.json().await.unwrap();
    assert!(seen["photos"][0]["url"].is_string());

    assert_eq!(refund(&stack, &bob, &purchase).await.status(), 403, "a buyer cannot refund themselves");
    assert_eq!(refund(&stack, &cat, &purchase).await.status(), 403, "nor anyone else");
    assert_eq!(refund(&stack, &ann, "not-an-id").await.status(), 404);
    assert_eq!(refund(&stack, &ann, &"0".repeat(32)).await.status(), 404);

    let attempts = (0..10).map(|_| refund(&stack, &ann, &purchase));
    let statuses: Vec<u16> =
        futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 200), "{statuses:?}");
    assert_eq!(stack.balance(&bob).await, 1000, "the price back, once");
    assert_eq!(stack.earnings(&ann).await, 0, "the share taken back, once");

    let locked: Value = stack.get_post(Some(&bob), &post).await.json().await.unwrap();
    assert_eq!(locked["photos"][0]["locked"], true, "no more photos for the buyer");
    assert!(locked["photos"][0]["url"].is_null(), "and no URL signed");
    let purchases = stack.get(Some(&bob), "/v1/purchases").await;
    assert_eq!(purchases["purchases"][0]["state"], "refunded");

    let replayed = stack.buy(&bob, &post, "k1").await;
    assert_eq!(replayed.status(), 200, "the old key answers its refunded purchase");
    assert_eq!(replayed.json::<Value>().await.unwrap()["state"], "refunded");
    assert_eq!(stack.balance(&bob).await, 1000, "and buys nothing");
    let again = bought(&stack, &bob, &post, "k2").await;
    assert_ne!(again, purchase, "a new key buys it anew");
    assert_eq!(stack.balance(&bob).await, 700);
    stack.assert_books_agree(false).await;
}

#[tokio::test]
async fn an_admin_can_refund_and_the_fee_comes_back_too() {
    let stack = crate::helpers::spawn_with_fee(1_000).await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let post = stack.new_post(&ann, 1000).await;
    stack.top_up(&bob, 1000).await;
    let purchase = bought(&stack, &bob, &post, "k").await;
    assert_eq!(stack.earnings(&ann).await, 900, "10% platform fee");
    let books = stack.assert_books_agree(false).await;
    assert_eq!(books["platform_cents"], 100);

    assert_eq!(refund(&stack, &stack.admin, &purchase).await.status(), 201);
    assert_eq!(stack.balance(&bob).await, 1000);
    assert_eq!(stack.earnings(&ann).await, 0);
    let books = stack.assert_books_agree(false).await;
    assert_eq!(books["platform_cents"], 0, "the fee reversed");
}

#[tokio::test]
async fn a_sale_whose_share_was_moved_away_cannot_be_refunded() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let post = stack.new_post(&ann, 400).await;
    stack.top_up(&bob, 400).await;
    let purchase = bought(&stack, &bob, &post, "k").await;
    let moved = stack
        .send(
            reqwest::Method::POST,
            &ann,
            "/v1/earnings/transfers",
            Some(serde_json::json!({ "amount_cents": 300 })),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let refused = refund(&stack, &ann, &purchase).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(stack.balance(&bob).await, 0, "nothing moved");
    assert_eq!(stack.earnings(&ann).await, 100);
    let seen: Value = stack.get_post(Some(&bob), &post).await.json().await.unwrap();
    assert!(seen["photos"][0]["url"].is_string(), "the buyer keeps the photos");
    assert_eq!(stack.get(Some(&bob), "/v1/purchases").await["purchases"][0]["state"], "active");
    stack.assert_books_agree(false).await;
}
