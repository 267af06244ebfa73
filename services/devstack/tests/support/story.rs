//! A new user's story, told over a public address only: sign-up, uploads,
//! a free and a paid post, a follow, locked and unlocked photos through edge,
//! a top-up and a purchase (twice, charged once).

use std::sync::Arc;

use devstack::Stack;
use reqwest::cookie::Jar;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// Uploads a generated photo (`scene`) as `token`; answers its media id.
pub async fn upload(client: &Client, public: &str, token: &str, scene: u32) -> String {
    let response = client
        .post(format!("{public}/v1/media"))
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(devstack::seed::scene_jpeg(scene, 640, 480).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

pub async fn call(
    client: &Client,
    token: &str,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A client on another network than the test's own (127.0.0.1's /24).
pub fn client_elsewhere() -> Client {
    elsewhere_with(Arc::default())
}

/// A client from another network (127.0.1.5) holding the cookies of `jar`.
pub fn elsewhere_with(jar: Arc<Jar>) -> Client {
    let address = "127.0.1.5".parse::<std::net::IpAddr>().unwrap();
    Client::builder().local_address(address).cookie_provider(jar).build().unwrap()
}

/// A client that keeps cookies in `jar`, as a browser: a buyer's own
/// copies come by their cookie.
pub fn client_with(jar: Arc<Jar>) -> Client {
    Client::builder().cookie_provider(jar).build().unwrap()
}

/// GETs `url` and answers (status, content type, body length).
pub async fn fetch(client: &Client, url: &str) -> (StatusCode, String, usize) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, response.bytes().await.unwrap().len())
}

fn photo(post: &Value) -> &Value {
    &post["photos"][0]
}

fn find<'a>(items: &'a Value, post_id: &str) -> &'a Value {
    items["items"].as_array().unwrap().iter().find(|p| p["id"] == post_id).expect("post in the feed")
}

/// The story, told to `stack.public_url` only (a gateway or nginx in front).
pub async fn new_user_story(stack: &Stack) {
    let public = stack.public_url.clone();
    let jar = Arc::new(Jar::default());
    let client = client_with(jar.clone());
    let get = reqwest::Method::GET;
    let post_method = reqwest::Method::POST;

    // The page and the internal API's absence.
    let (status, content_type, _) = fetch(&client, &format!("{public}/")).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "text/html; charset=utf-8"), "the page");
    assert_eq!(fetch(&client, &format!("{public}/internal/v1/public-keys")).await.0, 404);

    let alice = testkit::users::sign_up(&public, "alice").await.token;
    let bob = testkit::users::sign_up(&public, "bob").await.token;

    // Alice uploads two photos and posts one free, one paid.
    let mut media_ids = Vec::new();
    for scene in [1, 2] {
        media_ids.push(upload(&client, &public, &alice, scene).await);
    }
    let (status, free) = call(
        &client,
        &alice,
        post_method.clone(),
        &format!("{public}/v1/posts"),
        Some(json!({ "caption": "free", "media_ids": [media_ids[0]], "price_cents": 0 })),
    )
    .await;
    assert_eq!(status, 201);
    let (status, paid) = call(
        &client,
        &alice,
        post_method.clone(),
        &format!("{public}/v1/posts"),
        Some(json!({ "caption": "paid", "media_ids": [media_ids[1]], "price_cents": 250 })),
    )
    .await;
    assert_eq!(status, 201);
    let (free_id, paid_id) = (free["id"].as_str().unwrap(), paid["id"].as_str().unwrap());
    // The author sees her own paid photo; its URL is where the private object lives.
    let private_url = photo(&paid)["url"].as_str().unwrap().to_owned();
    assert!(private_url.starts_with(&format!("{public}/private/")), "{private_url}");

    let (status, _) =
        call(&client, &bob, post_method.clone(), &format!("{public}/v1/users/alice/follow"), None).await;
    assert_eq!(status, 204);

    // Bob's feed: the free photo loads; the paid one is locked with a preview.
    let (status, feed) = call(&client, &bob, get.clone(), &format!("{public}/v1/feed"), None).await;
    assert_eq!(status, 200);
    let free_photo = photo(find(&feed, free_id));
    assert_eq!(free_photo["locked"], false);
    let (status, content_type, bytes) = fetch(&client, free_photo["url"].as_str().unwrap()).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "image/jpeg"));
    assert!(bytes > 1000);
    let locked = photo(find(&feed, paid_id));
    assert_eq!(locked["locked"], true);
    assert_eq!(locked["price_cents"], 250);
    assert!(locked.get("url").is_none(), "a locked photo has no URL: {locked}");
    let (status, content_type, _) = fetch(&client, locked["preview_url"].as_str().unwrap()).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "image/jpeg"));

    // The private object itself: refused unsigned, tampered, and expired.
    let unsigned = private_url.split('?').next().unwrap();
    assert_eq!(fetch(&client, unsigned).await.0, 403);
    let tampered = private_url.replace("Signature=", "Signature=A");
    assert_eq!(fetch(&client, &tampered).await.0, 403);
    let other_object = private_url.replace("/display.jpg", "/original.jpg");
    assert_eq!(fetch(&client, &other_object).await.0, 403, "a signature covers one object");
    let key = url_signer::keyring::load_key_file(&stack.data_dir.join("keys/private_key.pem")).unwrap();
    let signer =
        cloudfront_sign::Signer::new(devstack::DEV_KEY_ID, key, cloudfront_sign::HashAlgorithm::Sha256);
    let an_hour_ago = chrono::Utc::now().timestamp() as u64 - 3600;
    let expired = signer.canned_url(unsigned, an_hour_ago).unwrap();
    assert_eq!(fetch(&client, &expired).await.0, 403);
    let fresh = signer.canned_url(unsigned, an_hour_ago + 7200).unwrap();
    assert_eq!(fetch(&client, &fresh).await.0, 200, "the same key, unexpired, is accepted");

    // Bob cannot buy without money, tops up, buys, and buying again charges once.
    let purchase = |key: &'static str| {
        client
            .post(format!("{public}/v1/posts/{paid_id}/purchase"))
            .bearer_auth(&bob)
            .header("idempotency-key", key)
            .send()
    };
    assert_eq!(purchase("first").await.unwrap().status(), 402);
    let (status, _) = call(
        &client,
        &bob,
        post_method.clone(),
        &format!("{public}/v1/wallet/dev-topup"),
        Some(json!({ "amount_cents": 1000 })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(purchase("second").await.unwrap().status(), 201);
    assert_eq!(purchase("second").await.unwrap().status(), 200, "a retried purchase");
    assert_eq!(purchase("third").await.unwrap().status(), 200, "a second purchase");
    let (_, bob_wallet) = call(&client, &bob, get.clone(), &format!("{public}/v1/wallet"), None).await;
    assert_eq!(bob_wallet["balance_cents"], 750);
    // The sale is Alice's earnings (no fee in the dev stack), not spendable money.
    let (_, alice_earnings) =
        call(&client, &alice, get.clone(), &format!("{public}/v1/earnings"), None).await;
    assert_eq!(alice_earnings["earnings_cents"], 250);

    // Now the paid photo is Bob's: his own copy, under his prefix, loads by
    // the cookie the feed set (its URL carries no signature).
    let (_, feed) = call(&client, &bob, get, &format!("{public}/v1/feed"), None).await;
    let bought = photo(find(&feed, paid_id));
    assert_eq!(bought["locked"], false);
    let bought_url = bought["url"].as_str().unwrap();
    assert!(bought_url.contains("/private/viewers/") && !bought_url.contains("Signature="), "{bought_url}");
    let (status, content_type, bytes) = fetch(&client, bought_url).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "image/jpeg"));
    assert!(bytes > 1000);

    // Passed on without Bob's cookie it opens nowhere, and his cookie is
    // bound to his network anyway (the free photo opens anywhere).
    let elsewhere = client_elsewhere();
    let with_bobs_cookie = elsewhere_with(jar).get(bought_url).send().await.unwrap();
    assert_eq!(with_bobs_cookie.status(), 403, "bob's cookie is bound to bob's network");
    let answer = with_bobs_cookie.text().await.unwrap();
    assert!(answer.contains("<Code>AccessDenied</Code>"), "CloudFront's answer: {answer}");
    let refused = elsewhere.get(bought_url).send().await.unwrap();
    assert_eq!(refused.status(), 403, "without the cookie");
    assert_eq!(fetch(&elsewhere, free_photo["url"].as_str().unwrap()).await.0, 200);
}
