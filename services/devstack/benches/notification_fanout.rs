//! `cargo bench -p devstack --bench notification_fanout`: a creator with
//! 10,000 followers posts through the whole stack's public address. Reports
//! the post request's latency beside the same request by a creator with no
//! followers (the fan-out must not be in it), how long until all 10,000
//! inboxes hold the new post, and a reader's feed latency while the fan-out
//! runs beside the same feed with nothing running.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use devstack::{Stack, StackOptions};
use mongodb::bson::{DateTime, Document, doc};
use reqwest::{Client, Method};
use serde_json::json;
use support::{send, upload};

mod support;

const FOLLOWERS: usize = 10_000;
const POSTS: usize = 5;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentiles(mut latencies: Vec<Duration>) -> String {
    latencies.sort();
    let at = |p: f64| ms(latencies[((latencies.len() - 1) as f64 * p).round() as usize]);
    format!("p50 {:.1} ms, p99 {:.1} ms ({} requests)", at(0.5), at(0.99), latencies.len())
}

/// One post by `token` with one fresh photo: the request's latency and the post id.
async fn post(client: &Client, public: &str, token: &str, seed: u32) -> (Duration, String) {
    let media = upload(client, public, token, (800, 600), seed).await;
    let body = json!({ "caption": "news", "media_ids": [media] });
    let started = Instant::now();
    let made = send(client, token, Method::POST, &format!("{public}/v1/posts"), Some(body)).await;
    (started.elapsed(), made["id"].as_str().unwrap().to_owned())
}

/// Feed requests by `token` until `until` resolves; their latencies.
async fn feeds_until(
    client: &Client,
    public: &str,
    token: &str,
    until: impl std::future::Future<Output = ()>,
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let reading = async {
        loop {
            let started = Instant::now();
            let response = client.get(format!("{public}/v1/feed")).bearer_auth(token).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
            latencies.push(started.elapsed());
        }
    };
    tokio::select! {
        () = until => {}
        () = reading => {}
    }
    latencies
}

async fn run() {
    let data_dir = std::env::temp_dir().join(testkit::unique_name("bench-fanout"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let stack = Stack::start(StackOptions::on_any_ports(data_dir.clone())).await.unwrap();
    let client = Client::new();
    let public = stack.public_url.clone();
    let star = testkit::users::sign_up(&public, "star").await;
    let quiet = testkit::users::sign_up(&public, "quiet").await;
    let reader = testkit::users::sign_up(&public, "reader").await;
    send(&client, &reader.token, Method::POST, &format!("{public}/v1/users/quiet/follow"), None).await;
    for seed in 0..3 {
        post(&client, &public, &quiet.token, 900 + seed).await;
    }

    // The star's followers, written straight to post's database (accounts
    // need not exist for their inboxes to be written).
    let db = mongodb::Client::with_uri_str(&stack.mongodb_uri).await.unwrap().database("shutter_post");
    let follows: Vec<Document> = (0..FOLLOWERS)
        .map(|_| {
            let follower = common::ids::UserId::mint().to_string();
            doc! { "_id": format!("{follower}:{}", star.id), "follower_id": &follower, "followee_id": &star.id, "created_at": DateTime::now() }
        })
        .collect();
    db.collection::<Document>("follows").insert_many(follows).await.unwrap();
    let (outbox, notifications) =
        (db.collection::<Document>("outbox"), db.collection::<Document>("notifications"));

    let idle_feed = {
        let pause = tokio::time::sleep(Duration::from_secs(5));
        feeds_until(&client, &public, &reader.token, pause).await
    };
    let (mut quiet_posts, mut star_posts, mut fanouts, mut busy_feed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for n in 0..POSTS {
        let seed = u32::try_from(n).unwrap();
        quiet_posts.push(post(&client, &public, &quiet.token, 100 + seed).await.0);
        let (latency, id) = post(&client, &public, &star.token, 200 + seed).await;
        let started = Instant::now() - latency;
        star_posts.push(latency);
        // The relay deletes the post's event once every inbox has it (a
        // small collection to ask, so asking does not slow the fan-out).
        let delivered = async {
            while outbox.count_documents(doc! {}).await.unwrap() > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        busy_feed.extend(feeds_until(&client, &public, &reader.token, delivered).await);
        fanouts.push(started.elapsed());
        let told = notifications.count_documents(doc! { "post_id": &id, "kind": "posted" }).await.unwrap();
        assert_eq!(told, FOLLOWERS as u64, "every follower told once");
    }
    fanouts.sort();
    // The database alone: the same number of notification documents written
    // in the relay's batches into a collection with the inbox's indexes.
    let raw = db.collection::<Document>(&testkit::unique_name("raw_inbox"));
    raw.create_indexes([
        mongodb::IndexModel::builder().keys(doc! { "recipient_id": 1, "created_at": -1, "_id": -1 }).build(),
        mongodb::IndexModel::builder().keys(doc! { "recipient_id": 1, "read": 1, "seq": 1 }).build(),
        mongodb::IndexModel::builder().keys(doc! { "seq": 1 }).build(),
        mongodb::IndexModel::builder().keys(doc! { "created_at": 1 }).build(),
    ])
    .await
    .unwrap();
    let started = Instant::now();
    for batch in 0..FOLLOWERS / 1000 {
        let docs: Vec<Document> = (0..1000)
            .map(|n| {
                doc! { "_id": common::ids::UserId::mint().to_string(), "recipient_id": common::ids::UserId::mint().to_string(),
                       "kind": "posted", "actor_id": &star.id, "post_id": "p", "read": false,
                       "seq": i64::try_from(batch * 1000 + n).unwrap(), "created_at": DateTime::now() }
            })
            .collect();
        raw.insert_many(docs).ordered(false).await.unwrap();
    }
    let raw_insert = started.elapsed();
    println!("POST /v1/posts by a creator with no followers: {}", percentiles(quiet_posts));
    println!("POST /v1/posts by a creator with {FOLLOWERS} followers: {}", percentiles(star_posts));
    println!(
        "until all {FOLLOWERS} inboxes hold the post: median {:.0} ms, slowest {:.0} ms ({POSTS} posts)",
        ms(fanouts[fanouts.len() / 2]),
        ms(fanouts[fanouts.len() - 1])
    );
    println!(
        "the database alone, {FOLLOWERS} notification documents in batches of 1,000 (nothing else running): {:.0} ms",
        ms(raw_insert)
    );
    println!("a reader's GET /v1/feed, nothing else running: {}", percentiles(idle_feed));
    println!("the same, while the fan-outs run: {}", percentiles(busy_feed));
    stack.stop().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}
