//! `GET /v1/feed` under load on loopback: 20 posts per page, 1–4 photos per
//! post, real auth and url-signer behind post, with the signature cache on
//! and off; the same feed for a viewer who has blocked 500 users and muted
//! 500 (the page leaves them out); and a profile page of ten ten-photo posts
//! (200 URLs, more than one signing call carries). Beside them, the raw rate of the MongoDB-compatible
//! server for the feed's queries, which bounds everything here.
//! `cargo bench -p post`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth::config::PasswordCost;
use auth::keys::SigningKey;
use cloudfront_sign::{HashAlgorithm, KeyKind, PrivateKey};
use common::ids::{MediaId, PostId};
use common::server::HttpSettings;
use common::user_auth::UserAuthSettings;
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc};
use serde_json::Value;

const CONCURRENCY: usize = 16;
const RUN: Duration = Duration::from_secs(8);
const DIST: &str = "d111111abcdef8.cloudfront.net";

fn summary(mut latencies: Vec<Duration>, elapsed: Duration) -> String {
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
    format!(
        "{:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms ({} requests)",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        latencies.len()
    )
}

async fn load(url: String, token: String, items: usize) -> String {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while started.elapsed() < RUN {
                    let t = Instant::now();
                    let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    let page: Value = response.json().await.unwrap();
                    assert_eq!(page["items"].as_array().unwrap().len(), items);
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    summary(all, started.elapsed())
}

async fn signer(bucket: Duration) -> String {
    let http = HttpSettings { workers: 1, ..HttpSettings::ephemeral() };
    let keys =
        vec![(common::ids::KeyId::parse("KBENCH").unwrap(), PrivateKey::generate(KeyKind::Rsa).unwrap())];
    let guards = url_signer::config::Guards::new(vec![DIST.into()], vec!["https".into()]);
    let config = url_signer::Config {
        hash: HashAlgorithm::Sha1,
        cache: url_signer::config::CacheSettings { bucket, capacity: 100_000 },
        ..url_signer::Config::new(http, testkit::service::internal_keys("url-signer"), keys, guards)
    };
    testkit::service::spawn(url_signer::build(config).await.unwrap())
}

async fn run() {
    let mut auth_config = auth::Config::new(
        HttpSettings { workers: 1, ..HttpSettings::ephemeral() },
        testkit::mongo::settings("bench-auth"),
        vec![SigningKey::from_pem("k1", &SigningKey::generate_pem().unwrap()).unwrap()],
        testkit::service::internal_keys("auth"),
    );
    auth_config.password_cost = PasswordCost { memory_kib: 1024, iterations: 1, parallelism: 1 };
    // Every account here signs up from loopback.
    auth_config.signups_per_hour = 1000;
    let auth = testkit::service::spawn(auth::build(auth_config).await.unwrap());
    let viewer = testkit::users::sign_up(&auth, "viewer").await;
    let (viewer_id, viewer_token) = (viewer.id, viewer.token);
    // Another viewer following the same authors, who has blocked 500 users and muted 500 (and been blocked by none).
    let guarded = testkit::users::sign_up(&auth, "guarded").await;
    let mut authors = Vec::new();
    for n in 0..10 {
        let author = testkit::users::sign_up(&auth, &format!("author{n}")).await;
        authors.push((author.id, author.token));
    }

    let post_mongo = testkit::mongo::settings("bench-post");
    let db = mongodb::Client::with_uri_str(&post_mongo.uri).await.unwrap().database(&post_mongo.database);
    // 200 posts by the 10 authors, 1-4 photos each, half of them paid.
    let posts: Vec<Document> = (0..200)
        .map(|n| {
            let photos: Vec<Document> = (0..(1 + n % 4))
                .map(|_| {
                    let media = MediaId::mint().to_string();
                    doc! { "media_id": &media, "display_key": format!("private/2026/11/28/{media}/display.jpg"),
                           "thumb_key": format!("private/2026/11/28/{media}/thumb.jpg"),
                           "preview_key": format!("public/previews/{media}.jpg"), "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                           "width": 1080, "height": 1350 }
                })
                .collect();
            doc! { "_id": PostId::mint().to_string(), "author_id": &authors[n % 10].0, "caption": "bench", "price_cents": if n % 2 == 0 { 0 } else { 300 },
                   "photos": photos, "created_at": DateTime::from_millis(1_700_000_000_000 + n as i64 * 1000), "deleted": false }
        })
        .collect();
    db.collection::<Document>("posts").insert_many(posts).await.unwrap();
    // An album: ten free posts of ten photos each.
    let album = testkit::users::sign_up(&auth, "album").await;
    let albums: Vec<Document> = (0..10)
        .map(|n| {
            let photos: Vec<Document> = (0..10)
                .map(|_| {
                    let media = MediaId::mint().to_string();
                    doc! { "media_id": &media, "display_key": format!("private/2026/11/28/{media}/display.jpg"),
                           "thumb_key": format!("private/2026/11/28/{media}/thumb.jpg"),
                           "preview_key": format!("public/previews/{media}.jpg"), "width": 1080, "height": 1350 }
                })
                .collect();
            doc! { "_id": PostId::mint().to_string(), "author_id": &album.id, "caption": "album", "price_cents": 0,
                   "photos": photos, "created_at": DateTime::from_millis(1_600_000_000_000 + n as i64 * 1000), "deleted": false }
        })
        .collect();
    db.collection::<Document>("posts").insert_many(albums).await.unwrap();
    let follows: Vec<Document> = authors
        .iter()
        .map(|(id, _)| doc! { "_id": format!("{viewer_id}:{id}"), "follower_id": &viewer_id, "followee_id": id, "created_at": DateTime::now() })
        .collect();
    db.collection::<Document>("follows").insert_many(follows).await.unwrap();
    let guarded_follows: Vec<Document> = authors
        .iter()
        .map(|(id, _)| doc! { "_id": format!("{}:{id}", guarded.id), "follower_id": &guarded.id, "followee_id": id, "created_at": DateTime::now() })
        .collect();
    db.collection::<Document>("follows").insert_many(guarded_follows).await.unwrap();
    for kind in ["block", "mute"] {
        let relations: Vec<Document> = (0..500)
            .map(|_| {
                let other = common::ids::UserId::mint().to_string();
                doc! { "_id": format!("{kind}:{}:{other}", guarded.id), "kind": kind, "user_id": &guarded.id, "other_id": &other, "created_at": DateTime::now() }
            })
            .collect();
        db.collection::<Document>("relations").insert_many(relations).await.unwrap();
    }

    let user_auth = UserAuthSettings {
        jwks_url: format!("{auth}/.well-known/jwks.json"),
        issuer: "shutter-auth".into(),
        audience: "shutter".into(),
    };
    let mut results = Vec::new();
    for (label, bucket) in
        [("signature cache on ", Duration::from_secs(60)), ("signature cache off", Duration::ZERO)]
    {
        let signer = signer(bucket).await;
        let mut config = post::Config::new(
            HttpSettings { workers: 2, ..HttpSettings::ephemeral() },
            post_mongo.clone(),
            user_auth.clone(),
            testkit::service::internal_keys("post"),
            post::Upstreams {
                auth: auth.clone(),
                media: "http://127.0.0.1:9".into(),
                url_signer: signer,
                photos: format!("https://{DIST}"),
            },
        );
        config.signer_timeout = Duration::from_secs(2);
        let post = testkit::service::spawn(post::build(config).await.unwrap());
        let url = format!("{post}/v1/feed");
        load(url.clone(), viewer_token.clone(), 20).await; // warm-up: JWKS, pools, cache
        results.push(format!(
            "GET /v1/feed, {label}, {CONCURRENCY} clients: {}",
            load(url.clone(), viewer_token.clone(), 20).await
        ));
        results.push(format!(
            "GET /v1/feed of a viewer who blocked 500 users and muted 500, {label}, {CONCURRENCY} clients: {}",
            load(url, guarded.token.clone(), 20).await
        ));
        let album_page = format!("{post}/v1/users/album/posts");
        results.push(format!(
            "GET /v1/users/album/posts (10 posts x 10 photos, 200 URLs in 2 signing calls), {label}, {CONCURRENCY} clients: {}",
            load(album_page, viewer_token.clone(), 10).await
        ));
    }

    // The same queries straight to the database server, no service in between.
    let authors_ids: Vec<String> =
        authors.iter().map(|(id, _)| id.clone()).chain([viewer_id.clone()]).collect();
    let started = Instant::now();
    let db = Arc::new(db);
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (db, authors_ids, viewer_id) = (db.clone(), authors_ids.clone(), viewer_id.clone());
            tokio::spawn(async move {
                let mut feeds = 0u64;
                while started.elapsed() < Duration::from_secs(5) {
                    let _: Vec<Document> = db
                        .collection("follows")
                        .find(doc! { "follower_id": &viewer_id, "muted": { "$ne": true } })
                        .await
                        .unwrap()
                        .try_collect()
                        .await
                        .unwrap();
                    let page: Vec<Document> = db
                        .collection("posts")
                        .find(doc! { "author_id": { "$in": &authors_ids }, "deleted": false })
                        .sort(doc! { "created_at": -1, "_id": -1 })
                        .limit(21)
                        .await
                        .unwrap()
                        .try_collect()
                        .await
                        .unwrap();
                    let ids: Vec<String> =
                        page.iter().map(|p| format!("{viewer_id}:{}", p.get_str("_id").unwrap())).collect();
                    let _: Vec<Document> = db
                        .collection("entitlements")
                        .find(doc! { "_id": { "$in": ids } })
                        .await
                        .unwrap()
                        .try_collect()
                        .await
                        .unwrap();
                    feeds += 1;
                }
                feeds
            })
        })
        .collect();
    let mut feeds = 0;
    for task in tasks {
        feeds += task.await.unwrap();
    }
    for line in results {
        println!("{line}");
    }
    println!(
        "the database server alone, the feed's 3 queries per page, {CONCURRENCY} clients: {:.0} pages/s  ({})",
        feeds as f64 / started.elapsed().as_secs_f64(),
        if std::env::var("MONGODB_URI").is_ok() {
            "MONGODB_URI"
        } else {
            "jongodb, the in-memory test server"
        }
    );
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
