//! Money under concurrency on whatever database the suite runs on — the
//! embedded jongodb by default, which does not isolate transactions (see
//! `money::gate`): purchases, refunds, top-ups, transfers and payouts all at
//! once, every wallet and every creator's earnings checked to the cent
//! against what each answer said happened.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::spawn_paying;

const START_CENTS: i64 = 3000;
const TOP_UP_CENTS: i64 = 100;
const TRANSFER_CENTS: i64 = 100;
const PAYOUT_CENTS: i64 = 1000;
const PATRON_CENTS: i64 = 3000;

/// One concurrent request and what it would move if it succeeded.
enum Op {
    Buy {
        buyer: usize,
        post: usize,
    },
    /// The patron buys a post they own again, with a new key: always 200.
    Rebuy {
        creator: usize,
    },
    Refund {
        purchase: usize,
    },
    TopUp {
        buyer: usize,
    },
    Transfer {
        creator: usize,
    },
    PayOut {
        creator: usize,
    },
}

struct Sale {
    buyer: usize,
    creator: usize,
    price: i64,
    id: String,
}

#[tokio::test]
async fn two_hundred_concurrent_money_operations_leave_every_balance_exact() {
    let stack = spawn_paying().await;
    let mut creators = Vec::new();
    let mut posts: Vec<(usize, String, i64)> = Vec::new();
    for c in 0..4 {
        let creator = stack.user(&format!("creator{c}")).await;
        stack.verify_creator(&creator).await;
        for k in 0..5 {
            let price = 150 + 50 * k;
            posts.push((c, stack.new_post(&creator, u64::try_from(price).unwrap()).await, price));
        }
        creators.push(creator);
    }
    let mut buyers = Vec::new();
    for b in 0..8 {
        let buyer = stack.user(&format!("buyer{b}")).await;
        assert_eq!(stack.top_up(&buyer, START_CENTS as u64).await.status(), 200);
        buyers.push(buyer);
    }
    // Bought beforehand, one at a time: the sales the refunds below undo.
    let mut sales = Vec::new();
    for (b, buyer) in buyers.iter().enumerate() {
        for n in 0..5 {
            let post = (b * 3 + n * 4) % posts.len();
            let answer = stack.buy(buyer, &posts[post].1, &format!("before-{b}-{n}")).await;
            assert_eq!(answer.status(), 201);
            let purchase: Value = answer.json().await.unwrap();
            let (creator, _, price) = posts[post];
            sales.push(Sale { buyer: b, creator, price, id: purchase["id"].as_str().unwrap().to_owned() });
        }
    }

    // A patron's sale to each creator, never refunded, so every kind of
    // operation below has earnings to draw on whichever order they run in.
    let patron = stack.user("patron").await;
    stack.top_up(&patron, 4 * PATRON_CENTS as u64).await;
    let mut patron_posts = Vec::new();
    for (c, creator) in creators.iter().enumerate() {
        let post = stack.new_post(creator, PATRON_CENTS as u64).await;
        assert_eq!(stack.buy(&patron, &post, &format!("patron-{c}")).await.status(), 201);
        patron_posts.push(post);
        // Looking at their earnings, they clear (the clearing period is 0
        // here); the sales made below clear as they go.
        assert_eq!(stack.get(Some(creator), "/v1/earnings").await["pending_cents"], 0);
    }

    let mut ops = Vec::new();
    ops.extend((0..100).map(|i| Op::Buy { buyer: i % 8, post: (i * 7 + i / 8) % posts.len() }));
    ops.extend((0..4).map(|creator| Op::Rebuy { creator }));
    ops.extend((0..sales.len()).map(|purchase| Op::Refund { purchase }));
    ops.extend((0..10).map(|purchase| Op::Refund { purchase }));
    ops.extend((0..30).map(|i| Op::TopUp { buyer: i % 8 }));
    ops.extend((0..20).map(|i| Op::Transfer { creator: i % 4 }));
    ops.extend((0..12).map(|i| Op::PayOut { creator: i % 4 }));
    assert!(ops.len() >= 200);
    let requests = ops.iter().enumerate().map(|(n, op)| {
        let (stack, buyers, creators, posts, sales) = (&stack, &buyers, &creators, &posts, &sales);
        let (patron, patron_posts) = (&patron, &patron_posts);
        async move {
            let response = match op {
                Op::Buy { buyer, post } => {
                    stack.buy(&buyers[*buyer], &posts[*post].1, &format!("op-{n}")).await
                }
                Op::Rebuy { creator } => stack.buy(patron, &patron_posts[*creator], &format!("op-{n}")).await,
                Op::Refund { purchase } => {
                    let sale = &sales[*purchase];
                    let path = format!("/v1/purchases/{}/refund", sale.id);
                    stack.send(reqwest::Method::POST, &creators[sale.creator], &path, None).await
                }
                Op::TopUp { buyer } => stack.top_up(&buyers[*buyer], TOP_UP_CENTS as u64).await,
                Op::Transfer { creator } => {
                    let body = json!({ "amount_cents": TRANSFER_CENTS });
                    stack
                        .send(
                            reqwest::Method::POST,
                            &creators[*creator],
                            "/v1/earnings/transfers",
                            Some(body),
                        )
                        .await
                }
                Op::PayOut { creator } => {
                    let body = json!({ "amount_cents": PAYOUT_CENTS });
                    stack
                        .post_keyed(&creators[*creator], "/v1/earnings/payouts", &format!("op-{n}"), body)
                        .await
                }
            };
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    });
    let answers = futures_util::future::join_all(requests).await;

    // What the answers say moved.
    let mut wallet: HashMap<usize, i64> = (0..8).map(|b| (b, START_CENTS)).collect();
    let mut earnings: HashMap<usize, i64> = (0..4).map(|c| (c, PATRON_CENTS)).collect();
    let mut creator_wallet: HashMap<usize, i64> = (0..4).map(|c| (c, 0)).collect();
    for sale in &sales {
        *wallet.get_mut(&sale.buyer).unwrap() -= sale.price;
        *earnings.get_mut(&sale.creator).unwrap() += sale.price;
    }
    let mut counted: HashMap<(&str, u16), usize> = HashMap::new();
    let mut payouts = Vec::new();
    for (op, (status, body)) in ops.iter().zip(&answers) {
        let kind = match op {
            Op::Buy { buyer, post } => {
                assert!([201, 200, 402].contains(status), "purchase: {status} {body}");
                if *status == 201 {
                    let (creator, _, price) = posts[*post];
                    *wallet.get_mut(buyer).unwrap() -= price;
                    *earnings.get_mut(&creator).unwrap() += price;
                }
                "buy"
            }
            Op::Rebuy { .. } => {
                assert_eq!(*status, 200, "a rebuy charges nothing: {body}");
                "rebuy"
            }
            Op::Refund { purchase } => {
                assert!([201, 200, 409].contains(status), "refund: {status} {body}");
                if *status == 201 {
                    let sale = &sales[*purchase];
                    *wallet.get_mut(&sale.buyer).unwrap() += sale.price;
                    *earnings.get_mut(&sale.creator).unwrap() -= sale.price;
                }
                "refund"
            }
            Op::TopUp { buyer } => {
                assert_eq!(*status, 200, "top-up: {body}");
                *wallet.get_mut(buyer).unwrap() += TOP_UP_CENTS;
                "top-up"
            }
            Op::Transfer { creator } => {
                assert!([200, 409].contains(status), "transfer: {status} {body}");
                if *status == 200 {
                    *earnings.get_mut(creator).unwrap() -= TRANSFER_CENTS;
                    *creator_wallet.get_mut(creator).unwrap() += TRANSFER_CENTS;
                }
                "transfer"
            }
            Op::PayOut { creator } => {
                assert!([201, 409].contains(status), "payout: {status} {body}");
                if *status == 201 {
                    *earnings.get_mut(creator).unwrap() -= PAYOUT_CENTS;
                    payouts.push((*creator, body["id"].as_str().unwrap().to_owned()));
                }
                "payout"
            }
        };
        *counted.entry((kind, *status)).or_default() += 1;
    }
    for done in
        [("buy", 201), ("rebuy", 200), ("refund", 201), ("refund", 200), ("transfer", 200), ("payout", 201)]
    {
        assert!(counted.get(&done).is_some_and(|n| *n > 0), "no {done:?} among {counted:?}");
    }
    // A payout the provider failed put its money back (localstripe leaves
    // them pending until told otherwise; pending and paid ones stay out).
    for (creator, id) in &payouts {
        let now = stack.get(Some(&creators[*creator]), "/v1/earnings").await;
        let payout = now["payouts"].as_array().unwrap().iter().find(|p| p["id"] == id.as_str()).unwrap();
        if payout["state"] == "failed" {
            *earnings.get_mut(creator).unwrap() += PAYOUT_CENTS;
        }
    }

    for (b, buyer) in buyers.iter().enumerate() {
        assert_eq!(stack.balance(buyer).await, wallet[&b], "buyer{b}'s wallet, to the cent");
    }
    assert_eq!(stack.balance(&patron).await, 0, "the patron's rebuys charged nothing");
    for (c, creator) in creators.iter().enumerate() {
        assert_eq!(stack.earnings(creator).await, earnings[&c], "creator{c}'s earnings, to the cent");
        assert_eq!(stack.balance(creator).await, creator_wallet[&c], "creator{c}'s wallet, to the cent");
    }
    assert!(wallet.values().chain(earnings.values()).all(|cents| *cents >= 0), "nothing went below zero");
    stack.assert_books_agree(false).await;
}
