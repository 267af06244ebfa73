//! Notifications on the real servers: each action's notification reaches
//! its recipient once (likes counted on one), none from muted or blocked
//! users, read one by one or all, the live stream and its resumption, and
//! an event staged before a crash delivered by another replica.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Stack, User, spawn};

/// `user`'s inbox once `check` holds of it.
async fn inbox_once(stack: &Stack, user: &User, check: impl Fn(&Value) -> bool) -> Value {
    stack.eventually(user, "/v1/notifications", check).await
}

fn kinds(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect()
}

fn has(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |page| kinds(page).contains(&kind)
}

async fn send(stack: &Stack, user: &User, method: Method, path: &str, body: Option<Value>) -> u16 {
    stack.send(method, user, path, body).await.status().as_u16()
}

/// Lets the relay catch up on whatever it was woken for.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn each_action_reaches_its_recipient_once_and_is_read_one_by_one_or_all() {
    let stack = spawn().await;
    let (ann, bob, cat) = (stack.user("ann").await, stack.user("bob").await, stack.user("cat").await);
    let post = stack.new_post(&ann, 300).await;
    assert_eq!(send(&stack, &bob, Method::POST, "/v1/users/ann/follow", None).await, 204);
    assert_eq!(send(&stack, &bob, Method::POST, "/v1/users/ann/follow", None).await, 204, "twice is once");
    let page = inbox_once(&stack, &ann, has("followed")).await;
    assert_eq!(page["items"][0]["actor"]["username"], "bob", "{page:#}");

    for liker in [&bob, &cat, &bob] {
        assert_eq!(send(&stack, liker, Method::POST, &format!("/v1/posts/{post}/like"), None).await, 204);
    }
    inbox_once(&stack, &ann, |p| p["items"][0]["kind"] == "liked" && p["items"][0]["count"] == 2).await;
    let comment = json!({ "text": "lovely" });
    assert_eq!(
        send(&stack, &bob, Method::POST, &format!("/v1/posts/{post}/comments"), Some(comment)).await,
        201
    );
    stack.top_up(&cat, 1000).await;
    assert_eq!(stack.buy(&cat, &post, "k1").await.status(), 201);
    let page = inbox_once(&stack, &ann, |p| has("commented")(p) && has("purchased")(p)).await;
    settle().await;
    let page = {
        let again = stack.get(Some(&ann), "/v1/notifications").await;
        assert_eq!(kinds(&again), kinds(&page), "nothing delivered twice");
        again
    };
    let mut kinds_seen = kinds(&page);
    kinds_seen.sort_unstable();
    assert_eq!(
        kinds_seen,
        ["commented", "followed", "liked", "purchased"],
        "one like notification, counting"
    );
    let purchased = page["items"].as_array().unwrap().iter().find(|n| n["kind"] == "purchased").unwrap();
    assert_eq!(
        (purchased["amount_cents"].as_i64(), purchased["post_id"].as_str()),
        (Some(300), Some(&*post))
    );
    assert_eq!(page["unread"], 4);
    assert!(kinds(&stack.get(Some(&bob), "/v1/notifications").await).is_empty(), "the actor hears nothing");

    // One read; then all up to what the page showed.
    let first = page["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        send(&stack, &bob, Method::POST, &format!("/v1/notifications/{first}/read"), None).await,
        404,
        "not bob's"
    );
    assert_eq!(send(&stack, &ann, Method::POST, "/v1/notifications/xyz/read", None).await, 404);
    assert_eq!(send(&stack, &ann, Method::POST, &format!("/v1/notifications/{first}/read"), None).await, 204);
    assert_eq!(stack.get(Some(&ann), "/v1/notifications/unread").await["unread"], 3);
    let newest_seen =
        page["items"].as_array().unwrap().iter().map(|n| n["seq"].as_i64().unwrap()).max().unwrap();
    assert_eq!(send(&stack, &cat, Method::POST, "/v1/users/ann/follow", None).await, 204);
    inbox_once(&stack, &ann, |p| p["unread"] == 4).await;
    let marked =
        stack.send(Method::POST, &ann, "/v1/notifications/read", Some(json!({ "up_to": newest_seen }))).await;
    let marked: Value = marked.json().await.unwrap();
    assert_eq!(
        (marked["marked"].as_u64(), marked["unread"].as_u64()),
        (Some(3), Some(1)),
        "cat's follow came after"
    );
    let marked: Value =
        stack.send(Method::POST, &ann, "/v1/notifications/read", None).await.json().await.unwrap();
    assert_eq!(marked["unread"], 0);

    // A like after reading brings the post's one notification up again, unread.
    let dan = stack.user("dan").await;
    assert_eq!(send(&stack, &dan, Method::POST, &format!("/v1/posts/{post}/like"), None).await, 204);
    let page =
        inbox_once(&stack, &ann, |p| p["items"][0]["kind"] == "liked" && p["items"][0]["count"] == 3).await;
    assert_eq!((page["items"][0]["read"].as_bool(), page["unread"].as_u64()), (Some(false), Some(1)));
    assert_eq!(page["items"][0]["actor"]["username"], "dan");
}

#[tokio::test]
async fn a_new_post_reaches_followers_and_subscribers_and_no_one_who_muted_or_blocked() {
    let stack = spawn().await;
    let ann = stack.user("ann").await;
    let (bob, cat, dan, eve) =
        (stack.user("bob").await, stack.user("cat").await, stack.user("dan").await, stack.user("eve").await);
    let gold =
        crate::subscriptions::tier(&stack, &ann, json!({ "rank": 1, "name": "Gold", "monthly_cents": 500 }))
            .await;
    stack.top_up(&dan, 1000).await;
    assert_eq!(crate::subscriptions::subscribe(&stack, &dan, &gold, json!({})).await.status(), 201);
    for follower in [&bob, &cat, &eve] {
        assert_eq!(send(&stack, follower, Method::POST, "/v1/users/ann/follow", None).await, 204);
    }
    assert_eq!(send(&stack, &cat, Method::POST, "/v1/users/ann/mute", None).await, 204);
    assert_eq!(send(&stack, &ann, Method::POST, "/v1/users/eve/mute", None).await, 204);
    inbox_once(&stack, &ann, |p| kinds(p).iter().filter(|k| **k == "followed").count() == 3).await;
    inbox_once(&stack, &ann, has("subscribed")).await;

    let post = stack.new_post(&ann, 0).await;
    for (user, name) in [(&bob, "bob"), (&dan, "dan")] {
        let page = inbox_once(&stack, user, has("posted")).await;
        assert_eq!(page["items"][0]["post_id"], post.as_str(), "{name}");
    }
    // eve, muted by ann, likes and comments: ann hears nothing of it.
    assert_eq!(send(&stack, &eve, Method::POST, &format!("/v1/posts/{post}/like"), None).await, 204);
    // bob blocks ann, then ann posts again: bob hears nothing (and follows her no more).
    assert_eq!(send(&stack, &bob, Method::POST, "/v1/users/ann/block", None).await, 204);
    let second = stack.new_post(&ann, 0).await;
    inbox_once(&stack, &dan, |p| p["items"][0]["post_id"] == second.as_str()).await;
    settle().await;
    assert!(!kinds(&stack.get(Some(&cat), "/v1/notifications").await).contains(&"posted"), "cat muted ann");
    let bobs = stack.get(Some(&bob), "/v1/notifications").await;
    assert_eq!(kinds(&bobs).iter().filter(|k| **k == "posted").count(), 1, "only the post before the block");
    assert!(!kinds(&stack.get(Some(&ann), "/v1/notifications").await).contains(&"liked"), "eve is muted");
    assert_eq!(
        stack.get(Some(&eve), "/v1/notifications").await["items"][0]["post_id"],
        second.as_str(),
        "eve still follows"
    );
}

/// An open event stream and what it has sent so far.
struct Events {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    text: String,
}

impl Events {
    async fn open(stack: &Stack, user: &User, last_event_id: Option<&str>) -> reqwest::Response {
        let mut request =
            stack.http.get(format!("{}/v1/notifications/stream", stack.post)).bearer_auth(&user.token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.send().await.unwrap()
    }

    async fn start(stack: &Stack, user: &User, last_event_id: Option<&str>) -> Self {
        let response = Self::open(stack, user, last_event_id).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { body: response.bytes_stream().boxed(), text: String::new() }
    }

    /// The next `notification` event: (id, data).
    async fn next(&mut self) -> (String, Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let field = |name: &str| {
                    block.lines().find_map(|line| line.strip_prefix(name)).map(|v| v.trim().to_owned())
                };
                if field("event:").as_deref() == Some("notification") {
                    let data = serde_json::from_str(&field("data:").unwrap()).unwrap();
                    return (field("id:").unwrap(), data);
                }
            }
            let chunk =
                tokio::time::timeout_at(deadline, self.body.next()).await.expect("an event within 10 s");
            self.text.push_str(std::str::from_utf8(&chunk.unwrap().unwrap()).unwrap());
        }
    }
}

#[tokio::test]
async fn the_live_stream_sends_each_notification_and_resumes_after_the_last_event_id() {
    let stack = spawn().await;
    let (ann, bob, cat) = (stack.user("ann").await, stack.user("bob").await, stack.user("cat").await);
    let mut events = Events::start(&stack, &ann, None).await;
    assert_eq!(send(&stack, &bob, Method::POST, "/v1/users/ann/follow", None).await, 204);
    let (id, data) = events.next().await;
    assert_eq!((data["notification"]["kind"].as_str(), data["unread"].as_u64()), (Some("followed"), Some(1)));
    assert_eq!(data["notification"]["seq"].to_string(), id);
    drop(events);

    // Missed while away: sent on reconnecting with the last id seen.
    assert_eq!(send(&stack, &cat, Method::POST, "/v1/users/ann/follow", None).await, 204);
    inbox_once(&stack, &ann, |p| p["unread"] == 2).await;
    let mut events = Events::start(&stack, &ann, Some(&id)).await;
    let (_, data) = events.next().await;
    assert_eq!(data["notification"]["actor"]["username"], "cat");
    assert_eq!(data["unread"], 2);

    // A cursor this stream never gave, or one older than notifications are kept.
    for (bad, status) in [("abc", 400), ("99999999999999999", 400), ("1", 410)] {
        let refused = Events::open(&stack, &ann, Some(bad)).await;
        assert_eq!(refused.status(), status, "{bad}");
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
    }
    let anonymous = stack.http.get(format!("{}/v1/notifications/stream", stack.post)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_stream_on_one_replica_hears_what_another_delivered() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let mut events = Events::start(&stack, &ann, None).await;
    let other = stack.replica().await;
    let follow =
        stack.http.post(format!("{other}/v1/users/ann/follow")).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(follow.status(), 204);
    let (_, data) = events.next().await;
    assert_eq!(data["notification"]["actor"]["username"], "bob");
}

#[tokio::test]
async fn events_staged_before_a_crash_are_told_by_the_next_relay_if_their_action_happened() {
    use mongodb::bson::doc;
    use post::notify::Event;
    use post::notify::outbox::OutboxEntry;

    let stack = spawn().await;
    let (ann, bob, cat, dan) =
        (stack.user("ann").await, stack.user("bob").await, stack.user("cat").await, stack.user("dan").await);
    let post = stack.new_post(&ann, 0).await;
    let id = |user: &User| common::ids::UserId::parse(&user.id).unwrap();
    let entry = |event: Event, confirmed: bool| {
        let now = mongodb::bson::DateTime::now();
        let id = post::notify::EventId::mint();
        OutboxEntry { id, event, due_at: now, attempts: 0, staged_at: now, confirmed }
    };
    let db = stack.database().await;
    // What processes that died mid-action leave: a follow committed and
    // confirmed but not delivered; a like written but not confirmed; a
    // follow staged whose write never happened.
    let post_id = common::ids::PostId::parse(&post).unwrap();
    db.collection("likes")
        .insert_one(doc! { "_id": format!("{}:{post}", dan.id), "post_id": &post, "user_id": &dan.id })
        .await
        .unwrap();
    let left = [
        entry(Event::Followed { follower: id(&bob), followee: id(&ann) }, true),
        entry(Event::Liked { author: id(&ann), post: post_id, liker: id(&dan) }, false),
        entry(Event::Followed { follower: id(&cat), followee: id(&ann) }, false),
    ];
    let outbox = db.collection::<OutboxEntry>("outbox");
    outbox.insert_many(&left).await.unwrap();
    // A replica starting up delivers what is due (the running one would within its recovery period).
    let _other = stack.replica().await;
    let page = inbox_once(&stack, &ann, |p| has("followed")(p) && has("liked")(p)).await;
    settle().await;
    let page_now = stack.get(Some(&ann), "/v1/notifications").await;
    assert_eq!(kinds(&page_now), kinds(&page));
    let followers: Vec<&str> =
        page["items"].as_array().unwrap().iter().filter_map(|n| n["actor"]["username"].as_str()).collect();
    assert!(
        followers.contains(&"bob") && followers.contains(&"dan") && !followers.contains(&"cat"),
        "{page:#}"
    );
    assert_eq!(outbox.count_documents(doc! {}).await.unwrap(), 0, "each handled, then gone");
}

#[tokio::test]
async fn moderators_decisions_reach_the_owner_and_the_reporters() {
    let stack = spawn().await;
    let (ann, bob) = (stack.user("ann").await, stack.user("bob").await);
    let post = stack.new_post(&ann, 0).await;
    let report = json!({ "target": { "kind": "post", "id": post }, "reason": "spam" });
    assert_eq!(send(&stack, &bob, Method::POST, "/v1/reports", Some(report)).await, 201);
    let action = json!({ "target": { "kind": "post", "id": post }, "action": "remove", "reason": "spam" });
    assert_eq!(
        send(&stack, &stack.moderator, Method::POST, "/v1/moderation/actions", Some(action)).await,
        200
    );
    let anns = inbox_once(&stack, &ann, has("moderated")).await;
    let decision = &anns["items"][0];
    assert_eq!((decision["action"].as_str(), decision["reason"].as_str()), (Some("remove"), Some("spam")));
    assert_eq!(decision["target"], json!({ "kind": "post", "id": post }));
    assert!(decision.get("actor").is_none(), "moderators stay unnamed");
    let bobs = inbox_once(&stack, &bob, has("report_resolved")).await;
    assert_eq!(bobs["items"][0]["action"], "remove");
}
