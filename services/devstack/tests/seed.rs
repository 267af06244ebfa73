//! `--seed`: demo users can sign in and see free and locked paid posts; a
//! second run adds nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use testkit::http::JsonAnswer;

mod support;

#[tokio::test]
async fn seeding_twice_gives_one_set_of_demo_data() {
    let stack = support::start_stack().await;
    devstack::seed::run(&stack.public_url).await.unwrap();
    devstack::seed::run(&stack.public_url).await.unwrap();
    let client = reqwest::Client::new();
    let token = &testkit::users::log_in(&stack.public_url, "carol", devstack::seed::DEMO_PASSWORD).await;
    let feed: Value =
        client.get(format!("{}/v1/feed", stack.public_url)).bearer_auth(token).json_answer().await;
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "carol follows alice and bob: every demo post once");
    let locked = items.iter().filter(|p| p["photos"][0]["locked"] == true).count();
    assert_eq!(locked, 2, "the two paid posts are locked for carol");
    let wallet: Value =
        client.get(format!("{}/v1/wallet", stack.public_url)).bearer_auth(token).json_answer().await;
    assert_eq!(wallet["balance_cents"], 2000);
}
