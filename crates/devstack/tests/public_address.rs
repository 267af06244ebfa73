//! The story a new user lives, over the built-in gateway's public address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[tokio::test]
async fn a_new_user_buys_a_paid_post_over_the_public_address() {
    let stack = support::start_stack().await;
    support::story::new_user_story(&stack).await;
}
