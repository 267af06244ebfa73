use serde_json::json;

use crate::helpers::spawn;

#[tokio::test]
async fn a_purchase_moves_money_once_and_is_idempotent() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann2").await, stack.user("bob2").await);
    let id = stack.new_post(&ann, 250).await;
    stack.top_up(&bob, 1000).await;
    assert_eq!(stack.buy(&bob, &id, "key-1").await.status(), 201);
    let again = stack.buy(&bob, &id, "key-2").await;
    assert_eq!(again.status(), 200, "already bought: the existing entitlement");
    assert_eq!(stack.balance(&bob).await, 750);
    assert_eq!(stack.earnings(&ann).await, 250, "a sale goes to the creator's earnings");
    assert_eq!(stack.balance(&ann).await, 0, "not to their wallet");
    assert_eq!(stack.buy(&ann, &id, "key-3").await.status(), 409, "not your own post");
    let other = stack.new_post(&ann, 100).await;
    let reused = stack.buy(&bob, &other, "key-1").await;
    assert_eq!(reused.status(), 422, "a key already used for another post");
    assert_eq!(stack.balance(&bob).await, 750, "and nothing was charged for it");
    let missing_key = stack
        .http
        .post(format!("{}/v1/posts/{id}/purchase", stack.post))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing_key.status(), 400);

    let wallet = stack.get(Some(&bob), "/v1/wallet").await;
    let kinds: Vec<&str> =
        wallet["ledger"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["purchase", "dev_topup"], "the buyer's own ledger, newest first");
    let seller = stack.get(Some(&ann), "/v1/earnings").await;
    assert_eq!(seller["sales"][0]["post_id"], id.as_str());
    assert_eq!(seller["sales"][0]["share_cents"], 250);
    let bought = stack.get(Some(&bob), "/v1/purchases").await;
    assert_eq!(bought["purchases"][0]["post_id"], id.as_str());
    assert_eq!(bought["purchases"][0]["state"], "active");
    stack.assert_books_agree(false).await;
}

#[tokio::test]
async fn fifty_concurrent_purchases_charge_once_and_conserve_money() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann3").await, stack.user("bob3").await);
    let id = stack.new_post(&ann, 400).await;
    stack.top_up(&bob, 1000).await;
    let attempts = (0..50).map(|n| {
        let (stack, bob, id) = (&stack, &bob, &id);
        async move { stack.buy(bob, id, &format!("k{n}")).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 200), "{statuses:?}");
    assert_eq!(stack.balance(&bob).await, 600);
    assert_eq!(stack.earnings(&ann).await, 400);
    stack.assert_books_agree(false).await;
}

#[tokio::test]
async fn earnings_move_to_the_wallet_only_as_far_as_they_go() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let id = stack.new_post(&ann, 500).await;
    stack.top_up(&bob, 500).await;
    assert_eq!(stack.buy(&bob, &id, "k").await.status(), 201);
    let path = "/v1/earnings/transfers";
    let too_much = stack.send(reqwest::Method::POST, &ann, path, Some(json!({ "amount_cents": 501 }))).await;
    assert_eq!(too_much.status(), 409);
    let moved = stack.send(reqwest::Method::POST, &ann, path, Some(json!({ "amount_cents": 200 }))).await;
    assert_eq!(moved.status(), 200);
    let moved: serde_json::Value = moved.json().await.unwrap();
    assert_eq!((moved["wallet_cents"].as_i64(), moved["earnings_cents"].as_i64()), (Some(200), Some(300)));
    stack.assert_books_agree(false).await;
}
