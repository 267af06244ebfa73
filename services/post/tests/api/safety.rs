//! Trust and safety on the real servers: blocks and mutes, reports, the
//! moderation queue and its actions (a post taken down through media, a
//! comment removed, a user warned, limited, suspended — their still-valid
//! tokens refused at once), and the audit log.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Options, Stack, User, spawn, spawn_with};
use crate::subscriptions::{photo_url, post_for, subscribe, tier};

async fn status(stack: &Stack, method: Method, user: &User, path: &str, body: Option<Value>) -> u16 {
    stack.send(method, user, path, body).await.status().as_u16()
}

async fn status_as(stack: &Stack, viewer: Option<&User>, path: &str) -> u16 {
    let mut request = stack.http.get(format!("{}{path}", stack.post));
    if let Some(viewer) = viewer {
        request = request.bearer_auth(&viewer.token);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn follow(stack: &Stack, who: &User, whom: &str) -> u16 {
    status(stack, Method::POST, who, &format!("/v1/users/{whom}/follow"), None).await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

async fn report(stack: &Stack, by: &User, kind: &str, id: &str, reason: &str) -> reqwest::Response {
    let body = json!({ "target": { "kind": kind, "id": id }, "reason": reason });
    stack.send(Method::POST, by, "/v1/reports", Some(body)).await
}

async fn act(stack: &Stack, by: &User, kind: &str, id: &str, action: &str) -> reqwest::Response {
    let body =
        json!({ "target": { "kind": kind, "id": id }, "action": action, "reason": "against the rules" });
    stack.send(Method::POST, by, "/v1/moderation/actions", Some(body)).await
}

#[tokio::test]
async fn a_block_hides_each_from_the_other_and_ends_what_joined_them() {
    let stack = spawn().await;
    let (ann, bob, cat) = (stack.user("ann").await, stack.user("bob").await, stack.user("cat").await);
    let anns = stack.new_post(&ann, 0).await;
    let anns_paid = stack.new_post(&ann, 300).await;
    let bobs = stack.new_post(&bob, 0).await;
    let gold = tier(&stack, &ann, json!({ "rank": 1, "name": "Gold", "monthly_cents": 500 })).await;
    stack.top_up(&bob, 2000).await;
    assert_eq!(follow(&stack, &bob, "ann").await, 204);
    assert_eq!(follow(&stack, &ann, "bob").await, 204);
    assert_eq!(subscribe(&stack, &bob, &gold, json!({})).await.status(), 201);
    assert!(ids(&stack.get(Some(&bob), "/v1/feed").await).contains(&anns));

    assert_eq!(status(&stack, Method::POST, &ann, "/v1/users/bob/block", None).await, 204);
    assert_eq!(status(&stack, Method::POST, &ann, "/v1/users/bob/block", None).await, 204, "twice is once");
    assert_eq!(status(&stack, Method::POST, &ann, "/v1/users/ann/block", None).await, 422, "not oneself");
    assert_eq!(status(&stack, Method::POST, &ann, "/v1/users/nobody_here/block", None).await, 404);

    // Bob sees nothing of Ann's, as if she were absent; and can do nothing to her.
    assert_eq!(status_as(&stack, Some(&bob), "/v1/users/ann/posts").await, 404);
    assert_eq!(status_as(&stack, Some(&bob), &format!("/v1/posts/{anns}")).await, 404);
    assert_eq!(status_as(&stack, Some(&bob), &format!("/v1/posts/{anns}/comments")).await, 404);
    assert_eq!(follow(&stack, &bob, "ann").await, 404);
    assert_eq!(status(&stack, Method::POST, &bob, &format!("/v1/posts/{anns}/like"), None).await, 404);
    let comment = Some(json!({ "text": "hello" }));
    assert_eq!(status(&stack, Method::POST, &bob, &format!("/v1/posts/{anns}/comments"), comment).await, 404);
    assert_eq!(stack.buy(&bob, &anns_paid, "k").await.status(), 404);
    // Nor Ann of Bob's.
    assert_eq!(status_as(&stack, Some(&ann), &format!("/v1/posts/{bobs}")).await, 404);
    // Follows both ways ended; each leaves the other's feed.
    assert!(!ids(&stack.get(Some(&bob), "/v1/feed").await).contains(&anns));
    assert!(!ids(&stack.get(Some(&ann), "/v1/feed").await).contains(&bobs));
    assert_eq!(stack.get(None, "/v1/users/ann/followers").await["items"], json!([]));
    // His subscription ends at its period's end, uncharged again.
    let mine = stack.get(Some(&bob), "/v1/subscriptions").await["subscriptions"][0].clone();
    assert_eq!(mine["cancel_at_period_end"], true, "{mine:#}");
    // Others see Ann as before.
    assert_eq!(status_as(&stack, Some(&cat), &format!("/v1/posts/{anns}")).await, 200);
    assert_eq!(status_as(&stack, None, "/v1/users/ann/posts").await, 200);
    let blocks = stack.get(Some(&ann), "/v1/blocks").await;
    assert_eq!(blocks["items"][0]["username"], "bob");

    // Unblocked: they see each other again, and nothing ended comes back.
    assert_eq!(status(&stack, Method::DELETE, &ann, "/v1/users/bob/block", None).await, 204);
    assert_eq!(status_as(&stack, Some(&bob), &format!("/v1/posts/{anns}")).await, 200);
    assert!(!ids(&stack.get(Some(&bob), "/v1/feed").await).contains(&anns), "follows stay ended");
}

#[tokio::test]
async fn a_mute_hides_posts_and_comments_from_the_muter_only() {
    let stack = spawn().await;
    let (ann, dan, eve) = (stack.user("ann").await, stack.user("dan").await, stack.user("eve").await);
    let dans = stack.new_post(&dan, 0).await;
    let anns = stack.new_post(&ann, 0).await;
    assert_eq!(follow(&stack, &ann, "dan").await, 204);
    assert_eq!(follow(&stack, &eve, "dan").await, 204);
    let comment = Some(json!({ "text": "first!" }));
    assert_eq!(status(&stack, Method::POST, &dan, &format!("/v1/posts/{anns}/comments"), comment).await, 201);

    assert_eq!(status(&stack, Method::POST, &ann, "/v1/users/dan/mute", None).await, 204);
    assert!(!ids(&stack.get(Some(&ann), "/v1/feed").await).contains(&dans), "gone from the muter's feed");
    assert_eq!(stack.get(Some(&ann), &format!("/v1/posts/{anns}/comments")).await["items"], json!([]));
    assert!(ids(&stack.get(Some(&eve), "/v1/feed").await).contains(&dans), "others' feeds keep it");
    assert_eq!(
        stack.get(Some(&eve), &format!("/v1/posts/{anns}/comments")).await["items"][0]["text"],
        "first!"
    );
    // Dan notices nothing: he sees Ann's posts and may comment.
    assert_eq!(status_as(&stack, Some(&dan), &format!("/v1/posts/{anns}")).await, 200);
    assert_eq!(stack.get(Some(&ann), "/v1/mutes").await["items"][0]["username"], "dan");
    // Following again while he is muted keeps him out of her feed.
    assert_eq!(status(&stack, Method::DELETE, &ann, "/v1/users/dan/follow", None).await, 204);
    assert_eq!(follow(&stack, &ann, "dan").await, 204);
    assert!(!ids(&stack.get(Some(&ann), "/v1/feed").await).contains(&dans));

    assert_eq!(status(&stack, Method::DELETE, &ann, "/v1/users/dan/mute", None).await, 204);
    assert!(ids(&stack.get(Some(&ann), "/v1/feed").await).contains(&dans));
}

#[tokio::test]
async fn reports_are_queued_by_target_and_a_moderator_removes_the_post_through_a_takedown() {
    let stack = spawn().await;
    let (ann, bob, cat) = (stack.user("ann").await, stack.user("bob").await, stack.user("cat").await);
    let post = stack.new_post(&ann, 0).await;
    let answer = stack.get_post(Some(&ann), &post).await.json::<Value>().await.unwrap();
    let media_id = answer["photos"][0]["media_id"].as_str().unwrap().to_owned();

    let made = report(&stack, &bob, "post", &post, "spam").await;
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.unwrap();
    assert_eq!((made["state"].as_str(), made["target"]["kind"].as_str()), (Some("open"), Some("post")));
    assert_eq!(report(&stack, &bob, "post", &post, "hate").await.status(), 409, "one open report per target");
    assert_eq!(report(&stack, &cat, "post", &post, "harassment").await.status(), 201);
    assert_eq!(report(&stack, &ann, "post", &post, "spam").await.status(), 422, "not one's own");
    for bad in [
        json!({ "target": { "kind": "post", "id": post }, "reason": "boring" }),
        json!({ "target": { "kind": "planet", "id": post }, "reason": "spam" }),
        json!({ "target": { "kind": "post", "id": "../etc" }, "reason": "spam" }),
        json!({ "target": { "kind": "post", "id": post }, "reason": "spam", "text": "x".repeat(1001) }),
    ] {
        let refused = stack.send(Method::POST, &cat, "/v1/reports", Some(bad.clone())).await;
        assert!(refused.status().is_client_error(), "{bad}: {}", refused.status());
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
    }
    let unknown = report(&stack, &cat, "post", &common::ids::PostId::mint().to_string(), "spam").await;
    assert_eq!(unknown.status(), 404);

    // The queue: grouped by target, with its count and reasons; moderators only.
    assert_eq!(status_as(&stack, Some(&bob), "/v1/moderation/reports").await, 403);
    assert_eq!(act(&stack, &bob, "post", &post, "remove").await.status(), 403);
    let queue = stack.get(Some(&stack.moderator), "/v1/moderation/reports").await;
    let item = &queue["items"][0];
    assert_eq!((item["target"]["id"].as_str(), item["reports"].as_u64()), (Some(post.as_str()), Some(2)));
    assert_eq!(item["owner_id"], ann.id.as_str());
    assert_eq!(item["reasons"], json!(["spam", "harassment"]));
    let bad_action = stack
        .send(
            Method::POST,
            &stack.moderator,
            "/v1/moderation/actions",
            Some(json!({ "target": { "kind": "post", "id": post }, "action": "burn", "reason": "x" })),
        )
        .await;
    assert!(bad_action.status().is_client_error());
    assert_eq!(
        act(&stack, &stack.moderator, "user", "ann", "remove").await.status(),
        422,
        "remove takes content"
    );

    // Removed: the photo is taken down at media, the post gone for others, the reports closed.
    let removed = act(&stack, &stack.moderator, "post", &post, "remove").await;
    assert_eq!(removed.status(), 200);
    let removed: Value = removed.json().await.unwrap();
    assert_eq!(removed["reports_resolved"], 2);
    assert_eq!(status_as(&stack, Some(&cat), &format!("/v1/posts/{post}")).await, 404);
    let record = stack
        .http
        .get(format!("{}/v1/media/{media_id}", stack.media))
        .bearer_auth(&ann.token)
        .send()
        .await
        .unwrap();
    let taken_down = match record.status().as_u16() {
        404 => true,
        _ => record.json::<Value>().await.unwrap()["status"] == "taken_down",
    };
    assert!(taken_down, "the photo is taken down at media");
    assert_eq!(stack.get(Some(&stack.moderator), "/v1/moderation/reports").await["items"], json!([]));
    assert_eq!(stack.get(Some(&bob), "/v1/reports").await["reports"][0]["state"], "actioned");

    // A comment, removed; then dismissed reports close as dismissed.
    let other = stack.new_post(&cat, 0).await;
    let said = stack
        .send(Method::POST, &ann, &format!("/v1/posts/{other}/comments"), Some(json!({ "text": "rude" })))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let comment = said["id"].as_str().unwrap();
    assert_eq!(report(&stack, &cat, "comment", comment, "harassment").await.status(), 201);
    assert_eq!(act(&stack, &stack.moderator, "comment", comment, "remove").await.status(), 200);
    assert_eq!(stack.get(None, &format!("/v1/posts/{other}/comments")).await["items"], json!([]));
    assert_eq!(report(&stack, &bob, "user", "cat", "spam").await.status(), 201);
    assert_eq!(act(&stack, &stack.moderator, "user", "cat", "dismiss").await.status(), 200);
    assert_eq!(stack.get(Some(&bob), "/v1/reports").await["reports"][0]["state"], "dismissed");

    // Every action is in the audit log, for admins only, with who, what, whose, why and the request.
    assert_eq!(status_as(&stack, Some(&stack.moderator), "/v1/admin/audit").await, 403);
    let log = stack.get(Some(&stack.admin), "/v1/admin/audit?owner=ann").await;
    let actions: Vec<&str> =
        log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["remove", "remove"], "{log:#}");
    let entry = &log["items"][1];
    assert_eq!(entry["actor_id"], stack.moderator.id.as_str());
    assert_eq!(entry["target"]["id"], post.as_str());
    assert_eq!(entry["reason"], "against the rules");
    assert!(entry["request_id"].is_string());
    assert_eq!(
        status(&stack, Method::DELETE, &stack.admin, "/v1/admin/audit", None).await,
        404,
        "append-only"
    );
}

#[tokio::test]
async fn a_suspended_user_is_refused_at_once_everywhere_and_hidden_until_unsuspended() {
    let stack = spawn().await;
    let (ann, cat) = (stack.user("ann").await, stack.user("cat").await);
    let anns = stack.new_post(&ann, 300).await;
    let login = |password: &str| {
        let body = json!({ "login": "ann", "password": password });
        stack.http.post(format!("{}/v1/auth/login", stack.auth)).json(&body).send()
    };
    let tokens: Value = login(testkit::users::PASSWORD).await.unwrap().json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(status_as(&stack, Some(&ann), "/v1/wallet").await, 200);
    let somewhere = format!("{}/v1/media/{}", stack.media, common::ids::MediaId::mint());
    let at_media = stack.http.get(&somewhere).bearer_auth(&ann.token).send().await.unwrap();
    assert_eq!(at_media.status(), 404, "media takes her token (and has no such photo)");

    assert_eq!(act(&stack, &stack.moderator, "user", "ann", "suspend").await.status(), 200);
    // Her access token, still within its lifetime, is refused at once by post and within two seconds by media.
    assert_eq!(status_as(&stack, Some(&ann), "/v1/wallet").await, 401);
    let media_says = || stack.http.get(&somewhere).bearer_auth(&ann.token).send();
    let mut refused = false;
    for _ in 0..50 {
        if media_says().await.unwrap().status() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "media refuses her token too");
    // Her refresh token and her password give her nothing new.
    let refreshed = stack
        .http
        .post(format!("{}/v1/auth/refresh", stack.auth))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 403);
    assert_eq!(login(testkit::users::PASSWORD).await.unwrap().status(), 403);
    assert_eq!(login("wrong-password").await.unwrap().status(), 401, "a wrong password says no more");
    // Her posts are hidden and not sold.
    assert_eq!(status_as(&stack, Some(&cat), &format!("/v1/posts/{anns}")).await, 404);
    assert_eq!(status_as(&stack, None, "/v1/users/ann/posts").await, 404);
    stack.top_up(&cat, 500).await;
    assert_eq!(stack.buy(&cat, &anns, "k").await.status(), 404);
    assert_eq!(follow(&stack, &cat, "ann").await, 404);

    assert_eq!(act(&stack, &stack.moderator, "user", "ann", "unsuspend").await.status(), 200);
    assert_eq!(status_as(&stack, Some(&ann), "/v1/wallet").await, 200, "her token works again");
    assert_eq!(login(testkit::users::PASSWORD).await.unwrap().status(), 200);
    assert_eq!(status_as(&stack, Some(&cat), &format!("/v1/posts/{anns}")).await, 200);
    let log = stack.get(Some(&stack.admin), "/v1/admin/audit?owner=ann").await;
    let actions: Vec<&str> =
        log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["unsuspend", "suspend"]);
}

#[tokio::test]
async fn a_limited_user_is_seen_by_followers_only_and_a_warning_is_recorded() {
    let stack = spawn().await;
    let (ann, bob, cat) = (stack.user("ann").await, stack.user("bob").await, stack.user("cat").await);
    let post = post_for(&stack, &ann, json!({ "kind": "anyone" }), 0).await;
    assert_eq!(follow(&stack, &bob, "ann").await, 204);
    assert_eq!(act(&stack, &stack.moderator, "user", "ann", "limit").await.status(), 200);
    assert_eq!(status_as(&stack, Some(&cat), &format!("/v1/posts/{post}")).await, 404);
    assert_eq!(status_as(&stack, None, "/v1/users/ann/posts").await, 404);
    assert!(photo_url(&stack, &bob, &post).await.is_some(), "her followers still see her");
    assert_eq!(status_as(&stack, Some(&ann), &format!("/v1/posts/{post}")).await, 200, "and she herself");
    assert_eq!(act(&stack, &stack.moderator, "user", "ann", "unlimit").await.status(), 200);
    assert_eq!(status_as(&stack, Some(&cat), &format!("/v1/posts/{post}")).await, 200);
    assert_eq!(act(&stack, &stack.moderator, "user", "ann", "warn").await.status(), 200);
    assert_eq!(act(&stack, &stack.moderator, "user", "moderator", "warn").await.status(), 422, "not oneself");
    let log = stack.get(Some(&stack.admin), "/v1/admin/audit?actor=moderator").await;
    assert_eq!(log["items"][0]["action"], "warn");
    assert_eq!(log["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn reports_per_minute_are_limited() {
    let stack = spawn_with(Options { per_minute: 2, ..Options::default() }).await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let mut posts = Vec::new();
    for _ in 0..3 {
        posts.push(stack.new_post(&ann, 0).await);
    }
    assert_eq!(report(&stack, &bob, "post", &posts[0], "spam").await.status(), 201);
    assert_eq!(report(&stack, &bob, "post", &posts[1], "spam").await.status(), 201);
    assert_eq!(report(&stack, &bob, "post", &posts[2], "spam").await.status(), 429);
}
