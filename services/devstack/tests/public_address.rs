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
