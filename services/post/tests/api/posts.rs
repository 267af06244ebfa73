use serde_json::{Value, json};

use crate::helpers::{Options, PHOTOS, spawn, spawn_with};

#[tokio::test]
async fn free_photos_come_signed_and_paid_ones_locked_until_bought() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let free = stack.new_post(&ann, 0).await;
    let paid = stack.new_post(&ann, 500).await;

    let free_view: Value = stack.get_post(Some(&bob), &free).await.json().await.unwrap();
    assert_eq!(free_view["author_id"], ann.id.as_str());
    let photo = &free_view["photos"][0];
    assert_eq!(photo["locked"], false);
    assert!(stack.opens(photo["url"].as_str().unwrap()), "the display URL opens");
    assert!(stack.opens(photo["thumb_url"].as_str().unwrap()), "the thumb URL opens");
    assert!(photo["url"].as_str().unwrap().starts_with(&format!("{PHOTOS}/private/")));

    let locked: Value = stack.get_post(Some(&bob), &paid).await.json().await.unwrap();
    let photo = &locked["photos"][0];
    assert_eq!(photo["locked"], true);
    assert_eq!(photo["price_cents"], 500);
    assert!(photo.get("url").is_none() && photo.get("thumb_url").is_none(), "no signed URL: {photo}");
    assert!(photo["preview_url"].as_str().unwrap().starts_with(&format!("{PHOTOS}/public/previews/")));
    assert!(photo["blurhash"].as_str().is_some());

    let author: Value = stack.get_post(Some(&ann), &paid).await.json().await.unwrap();
    assert!(
        stack.opens(author["photos"][0]["url"].as_str().unwrap()),
        "the author sees their own paid photo"
    );
    let anonymous: Value = stack.get_post(None, &paid).await.json().await.unwrap();
    assert_eq!(anonymous["photos"][0]["locked"], true);

    assert_eq!(stack.buy(&bob, &paid, "k1").await.status(), 402, "no money yet");
    assert_eq!(stack.top_up(&bob, 1000).await.status(), 200);
    assert_eq!(stack.buy(&bob, &paid, "k2").await.status(), 201);
    let bought = stack.see(&bob, &paid, "127.0.0.1").await;
    assert!(stack.opens_with(&bought.url(0), &bought.cookies, "127.0.0.1"), "now the photo opens");
    assert!(!stack.opens(&bought.url(0)), "by the buyer's cookie: the URL carries no signature");
}

#[tokio::test]
async fn without_url_signer_posts_still_answer_200_without_urls() {
    let stack = spawn_with(Options { signer_up: false, dev_topup: false, ..Options::default() }).await;
    let ann = stack.user("cat").await;
    let id = stack.new_post(&ann, 0).await;
    let response = stack.get_post(Some(&ann), &id).await;
    assert_eq!(response.status(), 200);
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["photos"][0]["url"], Value::Null);
    assert_eq!(view["photos"][0]["error"], "temporarily_unavailable");
    assert_eq!(stack.top_up(&ann, 100).await.status(), 404, "no dev top-up unless enabled");
}

#[tokio::test]
async fn bad_posts_are_refused_naming_the_field() {
    let stack = spawn().await;
    let (dan, eve) = (stack.user("dan").await, stack.user("eve").await);
    let mine = stack.photo(&dan).await;
    let theirs = stack.photo(&eve).await;
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("caption too long", json!({ "caption": "x".repeat(2201), "media_ids": [mine] }), 422, "caption"),
        ("no photos", json!({ "caption": "x", "media_ids": [] }), 422, "media_ids"),
        (
            "eleven photos",
            json!({ "media_ids": (0..11).map(|n| format!("m{n}")).collect::<Vec<_>>() }),
            422,
            "media_ids",
        ),
        ("someone else's photo", json!({ "media_ids": [theirs] }), 422, "media_ids[0]"),
        ("unknown photo", json!({ "media_ids": [mine, "nope"] }), 422, "media_ids[1]"),
        ("the same photo twice", json!({ "media_ids": [mine, mine] }), 422, "media_ids"),
        (
            "the same photo spelled twice",
            json!({ "media_ids": [mine, mine.to_uppercase()] }),
            422,
            "media_ids",
        ),
        ("a photo with a query", json!({ "media_ids": [format!("{mine}?x")] }), 422, "media_ids[0]"),
        ("a photo with a path", json!({ "media_ids": [format!("{mine}/../x")] }), 422, "media_ids[0]"),
        ("negative price", json!({ "media_ids": [mine], "price_cents": -1 }), 422, "price_cents"),
        ("fractional price", json!({ "media_ids": [mine], "price_cents": 1.5 }), 422, "price_cents"),
        ("price as text", json!({ "media_ids": [mine], "price_cents": "5" }), 400, "number"),
        (
            "price over the maximum",
            json!({ "media_ids": [mine], "price_cents": 100_001 }),
            422,
            "price_cents",
        ),
    ];
    for (case, body, status, mention) in cases {
        let response = stack.create_post(&dan, body).await;
        assert_eq!(response.status().as_u16(), status, "{case}");
        let problem: Value = response.json().await.unwrap();
        assert!(problem.to_string().contains(mention), "{case}: {problem}");
    }
    let malformed = stack.get_post(Some(&dan), "no-such-post").await;
    assert_eq!(malformed.status(), 404);

    // Another spelling of one's own photo is that photo, stored as its one spelling.
    let shouting = stack.create_post(&dan, json!({ "media_ids": [mine.to_uppercase()] })).await;
    assert_eq!(shouting.status(), 201);
    assert_eq!(shouting.json::<Value>().await.unwrap()["photos"][0]["media_id"], mine.as_str());
    // A username that could be nobody's is not looked up (nor spliced into a URL).
    for (name, status) in [("dan%3Fx", 404), ("d", 404), ("dan%40example.com", 404), ("dan%2F..%2Fx", 400)] {
        let response =
            stack.send(reqwest::Method::POST, &eve, &format!("/v1/users/{name}/follow"), None).await;
        assert_eq!(response.status(), status, "{name}");
    }
}

#[tokio::test]
async fn deleted_posts_stay_with_their_buyers_only() {
    let stack = spawn().await;
    let (fay, gus, hal) = (stack.user("fay").await, stack.user("gus").await, stack.user("hal").await);
    let id = stack.new_post(&fay, 300).await;
    stack.top_up(&gus, 300).await;
    assert_eq!(stack.buy(&gus, &id, "k").await.status(), 201);
    let not_yours = stack
        .http
        .delete(format!("{}/v1/posts/{id}", stack.post))
        .bearer_auth(&gus.token)
        .send()
        .await
        .unwrap();
    assert_eq!(not_yours.status(), 404, "only the author deletes");
    let deleted = stack
        .http
        .delete(format!("{}/v1/posts/{id}", stack.post))
        .bearer_auth(&fay.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let buyer = stack.see(&gus, &id, "127.0.0.1").await;
    assert!(
        stack.opens_with(&buyer.url(0), &buyer.cookies, "127.0.0.1"),
        "the buyer keeps what they paid for"
    );
    assert_eq!(stack.get_post(Some(&hal), &id).await.status(), 404);
    assert_eq!(stack.buy(&hal, &id, "k").await.status(), 404, "a deleted post cannot be bought");
}

/// media's notice that a photo is gone can reach post before a post showing
/// it is written (creating the post asked media first, when the photo was
/// still there): the new post shows the photo unavailable all the same.
#[tokio::test]
async fn a_photo_removed_while_its_post_is_created_is_shown_unavailable() {
    let stack = spawn().await;
    let ivy = stack.user("ivy").await;
    let (gone, kept) = (stack.photo(&ivy).await, stack.photo(&ivy).await);
    // The notice as media sends it, before the post exists.
    let path = format!("/internal/v1/media/{gone}/removed");
    let token = testkit::service::service_token("media", "post", "POST", &path);
    let notice = stack.http.post(format!("{}{path}", stack.post)).bearer_auth(token).send().await.unwrap();
    assert_eq!(notice.status(), 200);

    let body = json!({ "caption": "late", "media_ids": [gone, kept], "price_cents": 0 });
    let created = stack.create_post(&ivy, body).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    for post in [created.clone(), stack.get_post(None, id).await.json().await.unwrap()] {
        assert_eq!(post["photos"][0], json!({ "media_id": gone, "unavailable": true }), "{post}");
        assert!(stack.opens(post["photos"][1]["url"].as_str().unwrap()), "{post}");
    }
}

#[tokio::test]
async fn a_page_of_ten_posts_of_ten_photos_comes_with_every_photo_signed() {
    let stack = spawn().await;
    let (kim, leo) = (stack.user("kim").await, stack.user("leo").await);
    let mut photos = Vec::new();
    for _ in 0..post::posts::routes::MAX_PHOTOS {
        photos.push(stack.photo(&kim).await);
    }
    for _ in 0..10 {
        let response = stack.create_post(&kim, json!({ "caption": "album", "media_ids": photos })).await;
        assert_eq!(response.status(), 201);
    }
    // 200 URLs: more than one signing call may carry.
    let page = stack.get(Some(&leo), "/v1/users/kim/posts").await;
    let shown: Vec<&Value> =
        page["items"].as_array().unwrap().iter().flat_map(|p| p["photos"].as_array().unwrap()).collect();
    assert_eq!(shown.len(), 100);
    for photo in shown {
        assert!(photo["url"].is_string() && photo["thumb_url"].is_string(), "{photo}");
        assert!(stack.opens(photo["url"].as_str().unwrap()));
    }
}

/// The display URL of the post's first photo, as `viewer` sees it through
/// a request that says `forwarded_for` in `X-Forwarded-For`.
async fn photo_url(
    stack: &crate::helpers::Stack,
    viewer: &crate::helpers::User,
    post: &str,
    forwarded_for: &str,
) -> String {
    let response = stack
        .http
        .get(format!("{}/v1/posts/{post}", stack.post))
        .bearer_auth(&viewer.token)
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap();
    let view: Value = response.json().await.unwrap();
    view["photos"][0]["url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn paid_photos_open_only_from_the_viewers_network_and_free_ones_anywhere() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let (free, paid) = (stack.new_post(&ann, 0).await, stack.new_post(&ann, 500).await);
    assert_eq!(stack.top_up(&bob, 1000).await.status(), 200);
    assert_eq!(stack.buy(&bob, &paid, "k").await.status(), 201);

    // The peer (127.0.0.1) is no trusted proxy: what it writes in
    // X-Forwarded-For is not believed. The buyer's own copy comes with their
    // cookie (a custom policy), bound to their network.
    let seen = stack.see(&bob, &paid, "198.51.100.7").await;
    let (bought, cookies) = (seen.url(0), &seen.cookies);
    assert!(!bought.contains('?') && cookies.iter().any(|(name, _)| name == "CloudFront-Policy"), "{bought}");
    assert!(
        stack.opens_with(&bought, cookies, "127.0.0.1") && stack.opens_with(&bought, cookies, "127.0.0.200")
    );
    assert!(!stack.opens_with(&bought, cookies, "127.0.1.5"), "another network is refused");
    assert!(!stack.opens_with(&bought, cookies, "198.51.100.7"), "a forged header bought nothing");

    let own = photo_url(&stack, &ann, &paid, "198.51.100.7").await;
    assert!(!stack.opens_from(&own, "127.0.1.5"), "the author's views follow the same rule");

    let shared = photo_url(&stack, &bob, &free, "198.51.100.7").await;
    assert!(shared.contains("?Expires="), "free photos stay canned: {shared}");
    assert!(stack.opens_from(&shared, "127.0.1.5") && stack.opens_from(&shared, "2001:db8::1"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_bound_and_binding_can_be_off() {
    let stack =
        spawn_with(Options { trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()], ..Options::default() })
            .await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let paid = stack.new_post(&ann, 500).await;
    assert_eq!(stack.top_up(&bob, 1000).await.status(), 200);
    assert_eq!(stack.buy(&bob, &paid, "k").await.status(), 201);
    let seen = stack.see(&bob, &paid, "203.0.113.9, 127.0.0.1").await;
    let (bound, cookies) = (seen.url(0), &seen.cookies);
    assert!(stack.opens_with(&bound, cookies, "203.0.113.250"), "the viewer's /24");
    assert!(
        !stack.opens_with(&bound, cookies, "127.0.0.1") && !stack.opens_with(&bound, cookies, "203.0.114.9")
    );
    let seen = stack.see(&bob, &paid, "2001:db8:aa:bb::1").await;
    assert!(stack.opens_with(&seen.url(0), &seen.cookies, "2001:db8:aa:cc::7"), "the viewer's /56");
    assert!(!stack.opens_with(&seen.url(0), &seen.cookies, "2001:db8:ab::1"));

    let unbound = spawn_with(Options { binding: None, ..Options::default() }).await;
    let (ann, bob) = (unbound.user("ann").await, unbound.user("bob").await);
    let paid = unbound.new_post(&ann, 500).await;
    assert_eq!(unbound.top_up(&bob, 1000).await.status(), 200);
    assert_eq!(unbound.buy(&bob, &paid, "k").await.status(), 201);
    let seen = unbound.see(&bob, &paid, "203.0.113.9").await;
    assert!(unbound.opens_with(&seen.url(0), &seen.cookies, "127.0.1.5"), "binding off: from anywhere");
}

#[tokio::test]
async fn a_buyer_sees_an_own_marked_copy_and_the_author_the_clean_one() {
    let stack = spawn().await;
    let (ann, bob, carl) = (stack.user("ann").await, stack.user("bob").await, stack.user("carl").await);
    let (free, paid) = (stack.new_post(&ann, 0).await, stack.new_post(&ann, 500).await);
    for (buyer, key) in [(&bob, "kb"), (&carl, "kc")] {
        assert_eq!(stack.top_up(buyer, 1000).await.status(), 200);
        assert_eq!(stack.buy(buyer, &paid, key).await.status(), 201);
    }
    let path = |view: &Value, field: &str| {
        let url = view["photos"][0][field].as_str().unwrap().to_owned();
        url.split('?').next().unwrap().to_owned()
    };
    let own = view(&stack, &ann, &paid).await;
    let (bobs, carls) =
        (stack.see(&bob, &paid, "127.0.0.1").await, stack.see(&carl, &paid, "127.0.0.1").await);
    assert!(
        path(&own, "url").ends_with("/display.jpg") && !path(&own, "url").contains("/viewers/"),
        "the clean copy"
    );
    for (copy, buyer) in [(&bobs, &bob), (&carls, &carl)] {
        let prefix = format!("{PHOTOS}/private/viewers/{}/", buyer.id);
        assert!(
            path(&copy.body, "url").starts_with(&prefix)
                && path(&copy.body, "thumb_url").starts_with(&prefix),
            "{}",
            copy.body
        );
        assert!(stack.opens_with(&copy.url(0), &copy.cookies, "127.0.0.1"));
        assert!(!stack.opens_with(&path(&own, "url"), &copy.cookies, "127.0.0.1"), "not the clean original");
    }
    assert!(
        !stack.opens_with(&carls.url(0), &bobs.cookies, "127.0.0.1"),
        "bob's cookie opens no copy of carl's"
    );
    assert_ne!(path(&bobs.body, "url"), path(&carls.body, "url"), "each buyer an own copy");
    assert_eq!(
        path(&view(&stack, &bob, &paid).await, "url"),
        path(&bobs.body, "url"),
        "the same copy every time"
    );
    // A free post's photos are everyone's same objects.
    assert_eq!(path(&view(&stack, &bob, &free).await, "url"), path(&view(&stack, &carl, &free).await, "url"));
}

/// Refund-and-rebuy makes no new copy: the buyer's copy of a photo is theirs
/// whichever purchase asks for it.
#[tokio::test]
async fn a_buyer_refunded_and_buying_again_gets_the_same_marked_copy() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let paid = stack.new_post(&ann, 500).await;
    assert_eq!(stack.top_up(&bob, 1000).await.status(), 200);
    let marked =
        |view: Value| view["photos"][0]["url"].as_str().unwrap().split('?').next().unwrap().to_owned();
    let mut copies = Vec::new();
    for round in 0..3 {
        let bought: Value = stack.buy(&bob, &paid, &format!("k{round}")).await.json().await.unwrap();
        copies.push(marked(view(&stack, &bob, &paid).await));
        let refund = format!("/v1/purchases/{}/refund", bought["id"].as_str().unwrap());
        assert_eq!(stack.send(reqwest::Method::POST, &ann, &refund, None).await.status(), 201);
    }
    assert!(copies[0].contains("/private/viewers/"));
    assert!(copies.iter().all(|c| *c == copies[0]), "one copy for every purchase: {copies:?}");
    let media =
        mongodb::Client::with_uri_str(&stack.media_db.uri).await.unwrap().database(&stack.media_db.database);
    let marks = media
        .collection::<mongodb::bson::Document>("marks")
        .count_documents(mongodb::bson::doc! {})
        .await
        .unwrap();
    assert_eq!(marks, 1, "one mark made");
    stack.assert_books_agree(false).await;
}

async fn view(stack: &crate::helpers::Stack, viewer: &crate::helpers::User, post: &str) -> Value {
    stack.get_post(Some(viewer), post).await.json().await.unwrap()
}

/// A paid post sells only what it can still deliver: with every photo gone
/// it is refused before anyone pays; with some gone it says how many are left.
#[tokio::test]
async fn a_paid_post_whose_photos_are_all_gone_is_not_sold() {
    let stack = spawn().await;
    let (ivy, joe) = (stack.user("ivy").await, stack.user("joe").await);
    let (first, second) = (stack.photo(&ivy).await, stack.photo(&ivy).await);
    let body = json!({ "caption": "pair", "media_ids": [first, second], "price_cents": 500 });
    let created = stack.create_post(&ivy, body).await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    stack.top_up(&joe, 1000).await;
    let remove = |media: &str| {
        let path = format!("/internal/v1/media/{media}/removed");
        let token = testkit::service::service_token("media", "post", "POST", &path);
        stack.http.post(format!("{}{path}", stack.post)).bearer_auth(token).send()
    };
    assert_eq!(remove(&first).await.unwrap().status(), 200);
    let seen: Value = stack.get_post(Some(&joe), &id).await.json().await.unwrap();
    assert_eq!(seen["photos_available"], 1, "one of two left, said before paying");
    assert_eq!(remove(&second).await.unwrap().status(), 200);
    let seen: Value = stack.get_post(Some(&joe), &id).await.json().await.unwrap();
    assert_eq!(seen["photos_available"], 0);
    let refused = stack.buy(&joe, &id, "k").await;
    assert_eq!(refused.status(), 409);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    assert_eq!(stack.balance(&joe).await, 1000, "nothing was charged");
    stack.assert_books_agree(false).await;
}
