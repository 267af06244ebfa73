//! Creators' tiers and subscriptions paid from the wallet: who sees what,
//! renewals (once per period, however many workers race), grace and lapse,
//! trials, promotions, caps, cancelling and refunds, with the books agreeing
//! throughout. post's clock is moved, so a month passes in a moment.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Stack, User, spawn};

pub(crate) const DAY: Duration = Duration::from_secs(24 * 3600);

pub(crate) async fn tier(stack: &Stack, creator: &User, body: Value) -> Value {
    let made = stack.send(Method::POST, creator, "/v1/tiers", Some(body)).await;
    assert_eq!(made.status(), 201);
    made.json().await.unwrap()
}

pub(crate) async fn subscribe(stack: &Stack, fan: &User, tier: &Value, body: Value) -> reqwest::Response {
    let path = format!("/v1/tiers/{}/subscriptions", tier["id"].as_str().unwrap());
    stack.send(Method::POST, fan, &path, Some(body)).await
}

pub(crate) async fn subscription(stack: &Stack, fan: &User) -> Value {
    stack.get(Some(fan), "/v1/subscriptions").await["subscriptions"][0].clone()
}

/// A post with one photo for `audience`, at `price_cents`.
pub(crate) async fn post_for(stack: &Stack, creator: &User, audience: Value, price_cents: u64) -> String {
    let media_id = stack.photo(creator).await;
    let body = json!({ "media_ids": [media_id], "price_cents": price_cents, "audience": audience });
    let made = stack.create_post(creator, body).await;
    assert_eq!(made.status(), 201);
    made.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// The URL `viewer` gets for the post's photo (`None`: locked).
pub(crate) async fn photo_url(stack: &Stack, viewer: &User, post: &str) -> Option<String> {
    let answer = stack.get_post(Some(viewer), post).await;
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    body["photos"][0]["url"].as_str().map(str::to_owned)
}

/// Moves post's time on, and waits for the renewals that are due.
pub(crate) async fn days_pass(stack: &Stack, fan: &User, days: u64, state: &str) -> Value {
    stack.clock.advance(DAY * u32::try_from(days).unwrap());
    stack.eventually(fan, "/v1/subscriptions", |answer| answer["subscriptions"][0]["state"] == state).await
        ["subscriptions"][0]
        .clone()
}

#[tokio::test]
async fn a_creator_has_five_tiers_at_most_and_bad_input_is_refused() {
    let stack = spawn().await;
    let ann = stack.user("ann").await;
    for rank in 1..=5 {
        tier(
            &stack,
            &ann,
            json!({ "rank": rank, "name": format!("Tier {rank}"), "monthly_cents": 100 * rank }),
        )
        .await;
    }
    let cases = [
        (json!({ "rank": 3, "name": "again", "monthly_cents": 500 }), 409, None),
        (json!({ "rank": 6, "name": "sixth", "monthly_cents": 500 }), 422, Some("rank")),
        (json!({ "rank": 1, "name": "free", "monthly_cents": 0 }), 422, Some("monthly_cents")),
        (json!({ "rank": 1, "name": "negative", "monthly_cents": -500 }), 422, Some("monthly_cents")),
        (json!({ "rank": 1, "monthly_cents": 500 }), 422, Some("name")),
        (json!({ "rank": 1, "name": "x", "monthly_cents": 500, "trial_days": 0 }), 422, Some("trial_days")),
        (
            json!({ "rank": 1, "name": "x", "monthly_cents": 500,
                    "promotion": { "percent_off": 0, "max_redemptions": 5, "ends_at": "2099-01-01T00:00:00Z" } }),
            422,
            Some("promotion.percent_off"),
        ),
        (
            json!({ "rank": 1, "name": "x", "monthly_cents": 500,
                    "promotion": { "percent_off": 50, "max_redemptions": 5, "ends_at": "2001-01-01T00:00:00Z" } }),
            422,
            Some("promotion.ends_at"),
        ),
        (json!({ "rank": 1, "name": "x", "monthly_cents": 500, "colour": "red" }), 400, None),
    ];
    for (body, status, field) in cases {
        let answer = stack.send(Method::POST, &ann, "/v1/tiers", Some(body.clone())).await;
        assert_eq!(answer.status(), status, "{body}");
        let problem: Value = answer.json().await.unwrap();
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
    }
    let listed = stack.get(None, "/v1/users/ann/tiers").await;
    let prices: Vec<i64> =
        listed["tiers"].as_array().unwrap().iter().map(|t| t["monthly_cents"].as_i64().unwrap()).collect();
    assert_eq!(prices, [100, 200, 300, 400, 500], "lowest rank first");

    // A tier's price changes for new subscribers only; someone else's tier is no one's.
    let first = &listed["tiers"][0];
    let path = format!("/v1/tiers/{}", first["id"].as_str().unwrap());
    let changed = stack.send(Method::PATCH, &ann, &path, Some(json!({ "monthly_cents": 150 }))).await;
    assert_eq!(changed.status(), 200);
    let bob = stack.user("bob").await;
    assert_eq!(
        stack.send(Method::PATCH, &bob, &path, Some(json!({ "monthly_cents": 1 }))).await.status(),
        404
    );
    assert_eq!(stack.send(Method::DELETE, &bob, &path, None).await.status(), 404);
    assert_eq!(stack.send(Method::PATCH, &ann, "/v1/tiers/nope", Some(json!({}))).await.status(), 404);
    let audience = json!({ "media_ids": [stack.photo(&ann).await], "audience": { "kind": "subscribers", "min_rank": 9 } });
    let refused = stack.create_post(&ann, audience).await;
    assert_eq!(refused.status(), 422);
}

#[tokio::test]
async fn subscribers_see_their_tiers_posts_through_their_own_copies_until_it_ends() {
    let stack = spawn().await;
    let (ann, bob, carl) = (stack.user("ann").await, stack.user("bob").await, stack.user("carl").await);
    let _basic = tier(&stack, &ann, json!({ "rank": 1, "name": "Basic", "monthly_cents": 500 })).await;
    let premium = tier(&stack, &ann, json!({ "rank": 2, "name": "Premium", "monthly_cents": 1000 })).await;
    let for_premium = post_for(&stack, &ann, json!({ "kind": "subscribers", "min_rank": 2 }), 0).await;
    let for_basic_or_sale =
        post_for(&stack, &ann, json!({ "kind": "subscribers", "min_rank": 1 }), 300).await;
    stack.top_up(&bob, 2500).await;
    stack.top_up(&carl, 300).await;
    assert_eq!(photo_url(&stack, &bob, &for_premium).await, None, "not yet subscribed");

    let made = subscribe(&stack, &bob, &premium, json!({})).await;
    assert_eq!(made.status(), 201);
    let subscribed: Value = made.json().await.unwrap();
    assert_eq!(
        (subscribed["state"].as_str(), subscribed["price_cents"].as_i64()),
        (Some("active"), Some(1000))
    );
    assert_eq!(stack.balance(&bob).await, 1500, "the first month, from the wallet");
    let again = subscribe(&stack, &bob, &premium, json!({})).await;
    assert_eq!(again.status(), 200, "subscribing twice is once");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], subscribed["id"]);
    assert_eq!(stack.balance(&bob).await, 1500);

    let url = photo_url(&stack, &bob, &for_premium).await.expect("open to a subscriber");
    assert!(url.contains(&format!("/private/viewers/{}/", bob.id)), "a subscriber's own marked copy: {url}");
    assert!(photo_url(&stack, &bob, &for_basic_or_sale).await.is_some(), "a higher tier includes the lower");
    assert_eq!(photo_url(&stack, &carl, &for_premium).await, None);
    assert_eq!(
        stack.buy(&carl, &for_basic_or_sale, "k").await.status(),
        201,
        "others may buy a post for sale"
    );
    assert_eq!(
        stack.buy(&carl, &for_premium, "k2").await.status(),
        409,
        "a subscribers' post without a price is not for sale"
    );
    assert_eq!(subscribe(&stack, &ann, &premium, json!({})).await.status(), 409, "not to oneself");
    let earnings = stack.get(Some(&ann), "/v1/earnings").await;
    assert_eq!(earnings["earnings_cents"], 1300, "a month of Premium and one sale");
    let subscribers = stack.get(Some(&ann), "/v1/subscribers").await;
    assert_eq!(subscribers["monthly_recurring_cents"], 1000);
    stack.assert_books_agree(false).await;

    // Cancelled: open until the month ends, then closed, and not charged again.
    let id = subscribed["id"].as_str().unwrap();
    let cancelled = stack.send(Method::POST, &bob, &format!("/v1/subscriptions/{id}/cancel"), None).await;
    assert_eq!(cancelled.json::<Value>().await.unwrap()["cancel_at_period_end"], true);
    assert_eq!(
        stack.send(Method::POST, &carl, &format!("/v1/subscriptions/{id}/cancel"), None).await.status(),
        404
    );
    assert!(photo_url(&stack, &bob, &for_premium).await.is_some());
    let ended = days_pass(&stack, &bob, 31, "ended").await;
    assert_eq!(ended["id"], id);
    assert_eq!(photo_url(&stack, &bob, &for_premium).await, None, "closed at the period's end");
    assert_eq!(stack.balance(&bob).await, 1500);
    assert_eq!(stack.get(Some(&ann), "/v1/subscribers").await["monthly_recurring_cents"], 0);
    assert_eq!(
        stack.send(Method::POST, &bob, &format!("/v1/subscriptions/{id}/resume"), None).await.status(),
        409
    );
    stack.assert_books_agree(false).await;
}

#[tokio::test]
async fn each_period_is_charged_once_however_many_replicas_renew_then_grace_then_lapse() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let monthly = tier(&stack, &ann, json!({ "rank": 1, "name": "Monthly", "monthly_cents": 500 })).await;
    let for_fans = post_for(&stack, &ann, json!({ "kind": "subscribers", "min_rank": 1 }), 0).await;
    // Two more post processes renewing the same subscriptions — on a real
    // replica set (`MONGODB_URI`). The embedded jongodb loses writes between
    // processes' transactions, so post runs one process on it (docs/POST.md,
    // "Money on the embedded database"), where its money gate serialises
    // the renewals.
    let _replicas = match std::env::var_os("MONGODB_URI") {
        Some(_) => Some((stack.replica().await, stack.replica().await)),
        None => None,
    };
    stack.top_up(&bob, 1000).await;
    assert_eq!(subscribe(&stack, &bob, &monthly, json!({})).await.status(), 201);
    assert_eq!(stack.balance(&bob).await, 500);

    stack.clock.advance(DAY * 30);
    let renewed = stack.eventually(&bob, "/v1/wallet", |wallet| wallet["balance_cents"] == 0).await;
    assert_eq!(renewed["balance_cents"], 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.balance(&bob).await, 0, "the second month, charged once");
    assert_eq!(subscription(&stack, &bob).await["state"], "active");

    // Not covered: open through the grace period, charged again meanwhile.
    let past_due = days_pass(&stack, &bob, 30, "past_due").await;
    assert!(past_due["grace_until"].is_string());
    assert!(photo_url(&stack, &bob, &for_fans).await.is_some(), "still open in the grace period");
    stack.top_up(&bob, 500).await;
    days_pass(&stack, &bob, 1, "active").await;
    // The state may show a moment before the balance (jongodb applies a transaction write by write).
    let paid =
        stack.eventually(&bob, "/v1/wallet", |wallet| wallet["balance_cents"].as_i64() <= Some(0)).await;
    assert_eq!(paid["balance_cents"], 0, "the third month, paid late");

    // Not covered again, and the grace period runs out: it lapses.
    days_pass(&stack, &bob, 30, "past_due").await;
    days_pass(&stack, &bob, 4, "ended").await;
    assert_eq!(photo_url(&stack, &bob, &for_fans).await, None, "lapsed: closed");
    assert_eq!(stack.earnings(&ann).await, 1500, "three months, each once");
    stack.assert_books_agree(false).await;
    // The creator heard of the subscriber coming and going, once each (renewals are no news).
    let inbox = stack
        .eventually(&ann, "/v1/notifications", |inbox| {
            let kinds: Vec<&str> =
                inbox["items"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
            kinds == ["subscription_ended", "subscribed"]
        })
        .await;
    assert_eq!(inbox["items"][0]["tier_id"], monthly["id"]);
    assert_eq!(inbox["items"][0]["actor"]["id"], bob.id.as_str());
}

#[tokio::test]
async fn trials_promotions_and_caps() {
    let stack = spawn().await;
    let (ann, bob, carl) = (stack.user("ann").await, stack.user("bob").await, stack.user("carl").await);
    let limited = tier(
        &stack,
        &ann,
        json!({ "rank": 1, "name": "Limited", "monthly_cents": 800, "yearly_cents": 8000, "trial_days": 7,
                "subscriber_cap": 1,
                "promotion": { "percent_off": 50, "max_redemptions": 1, "ends_at": "2099-01-01T00:00:00Z" } }),
    )
    .await;
    let plain = tier(&stack, &ann, json!({ "rank": 2, "name": "Plain", "monthly_cents": 900 })).await;
    stack.top_up(&bob, 1000).await;
    stack.top_up(&carl, 10_000).await;
    assert_eq!(
        subscribe(&stack, &bob, &plain, json!({ "interval": "yearly" })).await.status(),
        422,
        "no yearly price"
    );
    assert_eq!(subscribe(&stack, &bob, &plain, json!({ "trial": true })).await.status(), 422, "no trial");

    let trial = subscribe(&stack, &bob, &limited, json!({ "trial": true })).await;
    assert_eq!(trial.status(), 201);
    assert_eq!(trial.json::<Value>().await.unwrap()["state"], "trialing");
    assert_eq!(stack.balance(&bob).await, 1000, "a trial is free");
    assert_eq!(subscribe(&stack, &carl, &limited, json!({})).await.status(), 409, "full: one subscriber");

    // The trial ends: the first month, at half price (the one promotion).
    days_pass(&stack, &bob, 8, "active").await;
    let charged =
        stack.eventually(&bob, "/v1/wallet", |wallet| wallet["balance_cents"].as_i64() <= Some(600)).await;
    assert_eq!(charged["balance_cents"], 600);
    let id = subscription(&stack, &bob).await["id"].as_str().unwrap().to_owned();
    stack.send(Method::POST, &bob, &format!("/v1/subscriptions/{id}/cancel"), None).await;
    days_pass(&stack, &bob, 31, "ended").await;

    // A second trial of the same creator is refused; the place is free
    // again for someone else, and the promotion is used up.
    let again = subscribe(&stack, &bob, &limited, json!({ "trial": true })).await;
    assert_eq!(again.status(), 409, "one trial per creator");
    let full_price = subscribe(&stack, &carl, &limited, json!({ "interval": "yearly" })).await;
    assert_eq!(full_price.status(), 201);
    assert_eq!(stack.balance(&carl).await, 2000, "a year, at its price");
    let listed = stack.get(None, "/v1/users/ann/tiers").await;
    assert_eq!(listed["tiers"][0]["promotion"]["remaining"], 0);
    assert_eq!(listed["tiers"][0]["subscribers"], 1);
    stack.assert_books_agree(false).await;
}

#[tokio::test]
async fn refunds_end_a_subscription_and_concurrent_subscribes_make_one() {
    let stack = spawn().await;
    let (ann, bob, eve) = (stack.user("ann").await, stack.user("bob").await, stack.user("eve").await);
    let monthly = tier(&stack, &ann, json!({ "rank": 1, "name": "Monthly", "monthly_cents": 700 })).await;
    let for_fans = post_for(&stack, &ann, json!({ "kind": "subscribers", "min_rank": 1 }), 0).await;
    stack.top_up(&bob, 700).await;
    let racing = (0..6).map(|_| subscribe(&stack, &bob, &monthly, json!({})));
    let answers = futures_util::future::join_all(racing).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 201], "one subscription, charged once");
    assert_eq!(stack.balance(&bob).await, 0);

    let id = subscription(&stack, &bob).await["id"].as_str().unwrap().to_owned();
    assert!(photo_url(&stack, &bob, &for_fans).await.is_some(), "bob's copy, made");
    let path = format!("/v1/subscriptions/{id}/refund");
    assert_eq!(stack.send(Method::POST, &eve, &path, None).await.status(), 403);
    assert_eq!(stack.send(Method::POST, &bob, &path, None).await.status(), 403, "not by the subscriber");
    assert_eq!(stack.send(Method::POST, &eve, "/v1/subscriptions/nope/refund", None).await.status(), 404);
    let refunded = stack.send(Method::POST, &ann, &path, None).await;
    assert_eq!(refunded.status(), 200);
    assert_eq!(refunded.json::<Value>().await.unwrap()["state"], "refunded");
    assert_eq!(stack.balance(&bob).await, 700, "the month back");
    assert_eq!(stack.earnings(&ann).await, 0);
    assert_eq!(photo_url(&stack, &bob, &for_fans).await, None, "closed at once");
    let media =
        mongodb::Client::with_uri_str(&stack.media_db.uri).await.unwrap().database(&stack.media_db.database);
    let marks = media.collection::<mongodb::bson::Document>("marks");
    let served = mongodb::bson::doc! { "subscription_id": &id, "ready": true };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while marks.count_documents(served.clone()).await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "the refunded subscription's copies stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        marks.count_documents(mongodb::bson::doc! { "subscription_id": &id }).await.unwrap(),
        1,
        "the mark stays"
    );
    assert_eq!(stack.send(Method::POST, &ann, &path, None).await.status(), 200, "refunded once");
    assert_eq!(stack.balance(&bob).await, 700);
    assert_eq!(subscribe(&stack, &bob, &monthly, json!({})).await.status(), 201, "and may subscribe again");
    stack.assert_books_agree(false).await;
}

#[tokio::test]
async fn moving_up_pays_the_difference_for_what_is_left_and_moving_down_waits_for_the_period_end() {
    let stack = spawn().await;
    let (ann, bob, carl) = (stack.user("ann").await, stack.user("bob").await, stack.user("carl").await);
    let basic = tier(&stack, &ann, json!({ "rank": 1, "name": "Basic", "monthly_cents": 1000 })).await;
    let premium = tier(&stack, &ann, json!({ "rank": 2, "name": "Premium", "monthly_cents": 4000 })).await;
    let others = tier(&stack, &carl, json!({ "rank": 1, "name": "Carl's", "monthly_cents": 500 })).await;
    let for_premium = post_for(&stack, &ann, json!({ "kind": "subscribers", "min_rank": 2 }), 0).await;
    stack.top_up(&bob, 10_000).await;
    assert_eq!(subscribe(&stack, &bob, &basic, json!({})).await.status(), 201);
    let id = subscription(&stack, &bob).await["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/subscriptions/{id}/tier");
    let to = |tier: &Value| Some(json!({ "tier_id": tier["id"] }));

    // Half the month gone: up costs half the difference, at once.
    stack.clock.advance(DAY * 15);
    assert_eq!(
        stack.send(Method::POST, &bob, &path, to(&others)).await.status(),
        422,
        "another creator's tier"
    );
    assert_eq!(stack.send(Method::POST, &carl, &path, to(&premium)).await.status(), 404, "not carl's");
    let up = stack.send(Method::POST, &bob, &path, to(&premium)).await;
    assert_eq!(up.status(), 200);
    let up: Value = up.json().await.unwrap();
    assert_eq!((up["rank"].as_i64(), up["price_cents"].as_i64()), (Some(2), Some(4000)));
    let paid = 10_000 - 1000 - stack.balance(&bob).await;
    assert!((1490..=1500).contains(&paid), "half of 3000 for the half month left, paid {paid}");
    assert!(photo_url(&stack, &bob, &for_premium).await.is_some(), "open at once");

    // Down: Premium stays open until the month ends; then Basic, at its price.
    let down = stack.send(Method::POST, &bob, &path, to(&basic)).await;
    let down: Value = down.json().await.unwrap();
    assert_eq!((down["rank"].as_i64(), down["next_tier"]["rank"].as_i64()), (Some(2), Some(1)));
    assert!(photo_url(&stack, &bob, &for_premium).await.is_some(), "still Premium this month");
    let before = stack.balance(&bob).await;
    stack.clock.advance(DAY * 16);
    let renewed =
        stack.eventually(&bob, "/v1/subscriptions", |a| a["subscriptions"][0]["rank"] == 1).await["subscriptions"][0].clone();
    assert_eq!((renewed["price_cents"].as_i64(), renewed["state"].as_str()), (Some(1000), Some("active")));
    // jongodb applies a transaction's writes one by one: the balance may show a moment after the tier.
    let wallet =
        stack.eventually(&bob, "/v1/wallet", |w| w["balance_cents"].as_i64() <= Some(before - 1000)).await;
    assert_eq!(wallet["balance_cents"].as_i64(), Some(before - 1000), "the next month at Basic's price");
    assert_eq!(photo_url(&stack, &bob, &for_premium).await, None);
    // The higher tier's place is given back just after the renewal's transaction.
    let places = |listed: &Value| -> Vec<i64> {
        listed["tiers"].as_array().unwrap().iter().map(|t| t["subscribers"].as_i64().unwrap()).collect()
    };
    let listed = stack.eventually(&bob, "/v1/users/ann/tiers", |listed| places(listed)[1] == 0).await;
    assert_eq!(places(&listed), [1, 0], "one place held, in the tier it is in");
    stack.assert_books_agree(false).await;
}
