//! The story a new user lives, over the built-in gateway's public address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[tokio::test]
async fn a_new_user_buys_a_paid_post_over_the_public_address() {
    let stack = support::start_stack().await;
    support::story::new_user_story(&stack).await;
}

#[tokio::test]
async fn a_client_cannot_choose_its_address_through_the_gateway() {
    let stack = support::start_stack().await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    // Twenty-one guesses at different accounts, each claiming another address.
    for n in 0..=auth::limiter::PER_ADDRESS {
        let response = client
            .post(format!("{}/v1/auth/login", stack.public_url))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .json(&serde_json::json!({ "login": format!("someone{n}"), "password": "guess-guess" }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(statuses[..auth::limiter::PER_ADDRESS].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "one address, however it calls itself: {statuses:?}");
}

#[tokio::test]
async fn with_viewer_binding_off_a_bought_photo_opens_from_anywhere() {
    use serde_json::json;
    use support::story::{call, client_with, elsewhere_with, fetch, upload};
    let stack =
        devstack::Stack::start(devstack::StackOptions { viewer_binding: false, ..support::options() })
            .await
            .unwrap();
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let (public, client) = (stack.public_url.as_str(), client_with(jar.clone()));
    let alice = testkit::users::sign_up(public, "alice").await.token;
    let bob = testkit::users::sign_up(public, "bob").await.token;
    let media_id = upload(&client, public, &alice, 1).await;
    let post = json!({ "caption": "paid", "media_ids": [media_id], "price_cents": 100 });
    let (_, paid) =
        call(&client, &alice, reqwest::Method::POST, &format!("{public}/v1/posts"), Some(post)).await;
    let topup = json!({ "amount_cents": 100 });
    call(&client, &bob, reqwest::Method::POST, &format!("{public}/v1/wallet/dev-topup"), Some(topup)).await;
    let purchase = format!("{public}/v1/posts/{}/purchase", paid["id"].as_str().unwrap());
    let bought =
        client.post(&purchase).bearer_auth(&bob).header("idempotency-key", "k").send().await.unwrap();
    assert_eq!(bought.status(), 201);
    let (_, bought) = call(
        &client,
        &bob,
        reqwest::Method::GET,
        &format!("{public}/v1/posts/{}", paid["id"].as_str().unwrap()),
        None,
    )
    .await;
    let url = bought["photos"][0]["url"].as_str().unwrap();
    assert_eq!(fetch(&elsewhere_with(jar), url).await.0, 200, "bob's cookie, unbound: {url}");
}
