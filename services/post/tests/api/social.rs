use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn;

#[tokio::test]
async fn the_feed_shows_followed_and_own_posts_newest_first_page_by_page() {
    let stack = spawn().await;
    let (ann, bob, cat) = (stack.user("ann5").await, stack.user("bob5").await, stack.user("cat5").await);
    assert_eq!(stack.send(Method::POST, &bob, "/v1/users/ann5/follow", None).await.status(), 204);
    assert_eq!(
        stack.send(Method::POST, &bob, "/v1/users/ANN5/follow", None).await.status(),
        204,
        "idempotent"
    );
    assert_eq!(
        stack.send(Method::POST, &bob, "/v1/users/bob5/follow", None).await.status(),
        422,
        "not yourself"
    );
    assert_eq!(stack.send(Method::POST, &bob, "/v1/users/nobody/follow", None).await.status(), 404);

    let media = stack.photo(&ann).await;
    let mut made = Vec::new();
    for n in 0..22 {
        let body = json!({ "caption": format!("ann {n}"), "media_ids": [media], "price_cents": if n % 2 == 0 { 0 } else { 100 } });
        let post: Value = stack.create_post(&ann, body).await.json().await.unwrap();
        made.push(post["id"].as_str().unwrap().to_owned());
    }
    let own = stack.new_post(&bob, 0).await;
    stack.new_post(&cat, 0).await; // not followed: never in bob's feed

    let first = stack.get(Some(&bob), "/v1/feed").await;
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["id"], own.as_str(), "own post, newest");
    assert_eq!(items[0]["author"]["username"], "bob5");
    // A post made now must not shift the next page.
    stack.new_post(&ann, 0).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = stack.get(Some(&bob), &format!("/v1/feed?cursor={cursor}")).await;
    let ids: Vec<&str> =
        items.iter().chain(second["items"].as_array().unwrap()).map(|p| p["id"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = made.iter().rev().map(String::as_str).collect();
    expected.insert(0, &own);
    assert_eq!(ids, expected, "every post once, newest first");
    assert_eq!(second["next_cursor"], Value::Null);
    let locked = items.iter().filter(|p| p["photos"][0]["locked"] == true).count();
    assert!(locked > 0 && locked < 20, "paid posts locked, free ones signed");

    let grid = stack.get(None, "/v1/users/ann5/posts").await;
    assert_eq!(grid["items"].as_array().unwrap().len(), 20);
    let followers = stack.get(None, "/v1/users/ann5/followers").await;
    assert_eq!(followers["items"][0]["username"], "bob5");
    let following = stack.get(None, "/v1/users/bob5/following").await;
    assert_eq!(following["items"][0]["username"], "ann5");
    assert_eq!(stack.send(Method::DELETE, &bob, "/v1/users/ann5/follow", None).await.status(), 204);
    assert_eq!(stack.get(None, "/v1/users/ann5/followers").await["items"], json!([]));

    let bad_cursor = stack
        .http
        .get(format!("{}/v1/feed?cursor=%%%", stack.post))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_cursor.status(), 400);
}

#[tokio::test]
async fn likes_are_idempotent_and_exact_under_concurrency() {
    let stack = spawn().await;
    let ann = stack.user("ann6").await;
    let id = stack.new_post(&ann, 0).await;
    let mut users = Vec::new();
    for n in 0..10 {
        users.push(stack.user(&format!("fan6{n}")).await);
    }
    let like_path = format!("/v1/posts/{id}/like");
    let likes = users.iter().flat_map(|u| [u, u]).map(|u| stack.send(Method::POST, u, &like_path, None));
    let statuses: Vec<u16> =
        futures_util::future::join_all(likes).await.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    assert_eq!(stack.get(Some(&ann), &format!("/v1/posts/{id}")).await["like_count"], 10);
    let unlikes =
        users[..4].iter().flat_map(|u| [u, u]).map(|u| stack.send(Method::DELETE, u, &like_path, None));
    futures_util::future::join_all(unlikes).await;
    assert_eq!(stack.get(Some(&ann), &format!("/v1/posts/{id}")).await["like_count"], 6);

    assert_eq!(stack.send(Method::DELETE, &ann, &format!("/v1/posts/{id}"), None).await.status(), 204);
    assert_eq!(
        stack.send(Method::POST, &users[9], &format!("/v1/posts/{id}/like"), None).await.status(),
        404,
        "a deleted post"
    );
}

#[tokio::test]
async fn comments_are_paginated_and_deletable_by_their_author_or_the_posts() {
    let stack = spawn().await;
    let (ann, bob, cat) = (stack.user("ann7").await, stack.user("bob7").await, stack.user("cat7").await);
    let id = stack.new_post(&ann, 0).await;
    let path = format!("/v1/posts/{id}/comments");
    let mut comment_ids = Vec::new();
    for n in 0..21 {
        let response =
            stack.send(Method::POST, &bob, &path, Some(json!({ "text": format!("nice {n}") }))).await;
        assert_eq!(response.status(), 201);
        comment_ids.push(response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    for (case, text) in [("empty", "  "), ("too long", &"x".repeat(1001))] {
        let response = stack.send(Method::POST, &bob, &path, Some(json!({ "text": text }))).await;
        assert_eq!(response.status(), 422, "{case}");
    }
    let first = stack.get(None, &path).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 20);
    assert_eq!(first["items"][0]["text"], "nice 20");
    let second = stack.get(None, &format!("{path}?cursor={}", first["next_cursor"].as_str().unwrap())).await;
    assert_eq!(second["items"][0]["text"], "nice 0");

    let first_comment = format!("{path}/{}", comment_ids[0]);
    assert_eq!(
        stack.send(Method::DELETE, &cat, &first_comment, None).await.status(),
        404,
        "a stranger cannot"
    );
    assert_eq!(stack.send(Method::DELETE, &bob, &first_comment, None).await.status(), 204, "its author can");
    let second_comment = format!("{path}/{}", comment_ids[1]);
    assert_eq!(
        stack.send(Method::DELETE, &ann, &second_comment, None).await.status(),
        204,
        "the post's author can"
    );
    assert_eq!(stack.get(None, &format!("/v1/posts/{id}")).await["comment_count"], 19);
}

/// Every user id on every page of `path`, following `next_cursor`.
async fn every_page(stack: &crate::helpers::Stack, viewer: &crate::helpers::User, path: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut next = path.to_owned();
    loop {
        let page = stack.get(Some(viewer), &next).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}?cursor={cursor}"),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn follow_pages_neither_skip_nor_repeat_follows_made_in_the_same_millisecond() {
    let stack = spawn().await;
    let star = stack.user("star").await;
    let mut fans = Vec::new();
    for n in 0..25 {
        let fan = stack.user(&format!("fan{n:02}")).await;
        assert_eq!(stack.send(Method::POST, &fan, "/v1/users/star/follow", None).await.status(), 204);
        let path = format!("/v1/users/fan{n:02}/follow");
        assert_eq!(stack.send(Method::POST, &star, &path, None).await.status(), 204);
        fans.push(fan.id);
    }
    // Every follow at one instant: only the id orders them.
    let same_instant = mongodb::bson::DateTime::from_millis(1_800_000_000_000);
    stack
        .database()
        .await
        .collection::<mongodb::bson::Document>("follows")
        .update_many(mongodb::bson::doc! {}, mongodb::bson::doc! { "$set": { "created_at": same_instant } })
        .await
        .unwrap();
    fans.sort();
    for list in ["followers", "following"] {
        let seen = every_page(&stack, &star, &format!("/v1/users/star/{list}")).await;
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{list}: nobody twice");
        assert_eq!(unique, fans, "{list}: everybody once");
    }
}
