//! `cargo bench -p devstack --bench subscriber_feed`: a subscriber's feed
//! through the whole stack's public address — 20 subscriber-only posts of 4
//! photos each, every photo the subscriber's own marked copy opened by one
//! signed cookie — beside a follower's feed of 20 free posts of 4 photos,
//! each photo its own signed URL (the per-URL scheme), in the same run.
//! Reports signatures per page (URL signatures in the answer plus cookie
//! signatures set by it), page latency p50/p99, the first view of a new
//! subscriber's photo (subscribe, open the post, fetch the photo by cookie:
//! goal p99 ≤ 500 ms), and the bytes stored per subscriber per 100 photos.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use devstack::{Stack, StackOptions};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use support::{send, upload};

mod support;

const POSTS: usize = 20;
const PHOTOS_PER_POST: usize = 4;
const NEW_SUBSCRIBERS: usize = 20;
const RUN: Duration = Duration::from_secs(8);

/// `POSTS` posts of `PHOTOS_PER_POST` photos by `token` for `audience`; their ids, newest first.
async fn posts(client: &Client, public: &str, token: &str, audience: Value, seed: u32) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..POSTS {
        let mut media = Vec::new();
        for p in 0..PHOTOS_PER_POST {
            media.push(
                upload(
                    client,
                    public,
                    token,
                    (1600, 1200),
                    seed + u32::try_from(n * PHOTOS_PER_POST + p).unwrap(),
                )
                .await,
            );
        }
        let body = json!({ "caption": "bench", "media_ids": media, "audience": audience });
        let post = send(client, token, Method::POST, &format!("{public}/v1/posts"), Some(body)).await;
        ids.push(post["id"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    ids
}

/// One feed page as `token` sees it: its latency and the signatures it
/// carried (each photo URL's, and the cookie's when it set one).
async fn page(client: &Client, public: &str, token: &str) -> (Duration, Vec<String>) {
    let started = Instant::now();
    let response = client.get(format!("{public}/v1/feed")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut signatures: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok()?.strip_prefix("CloudFront-Signature="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .collect();
    let feed: Value = response.json().await.unwrap();
    let took = started.elapsed();
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), POSTS, "a full page");
    let urls: Vec<&str> = items
        .iter()
        .flat_map(|post| post["photos"].as_array().unwrap())
        .filter_map(|p| p["url"].as_str())
        .collect();
    assert_eq!(urls.len(), POSTS * PHOTOS_PER_POST, "every photo open");
    let in_urls = urls
        .iter()
        .filter_map(|url| url.split("Signature=").nth(1))
        .map(|s| s.split('&').next().unwrap_or_default().to_owned());
    signatures.extend(in_urls);
    (took, signatures)
}

fn quantiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}

/// What a run of pages cost.
struct Run {
    p50: f64,
    p99: f64,
    pages: usize,
    /// Signatures the pages carried, in all.
    carried: usize,
    /// Distinct signatures among them: what was signed (the rest were cached).
    signed: usize,
}

/// Pages for `RUN`, one after another.
async fn load(client: &Client, public: &str, token: &str) -> Run {
    let started = Instant::now();
    let (mut times, mut carried, mut distinct) = (Vec::new(), 0, std::collections::HashSet::new());
    while started.elapsed() < RUN {
        let (took, signatures) = page(client, public, token).await;
        times.push(took);
        carried += signatures.len();
        distinct.extend(signatures);
    }
    let pages = times.len();
    let (p50, p99) = quantiles(times);
    Run { p50, p99, pages, carried, signed: distinct.len() }
}

fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() { bytes_under(&entry.path()) } else { meta.len() }
        })
        .sum()
}

/// A new user subscribed to `tier` from a topped-up wallet, with their own cookie jar.
async fn new_subscriber(public: &str, tier: &str, n: usize) -> (Client, String, String, Duration) {
    let client = Client::builder().cookie_store(true).build().unwrap();
    let user = testkit::users::sign_up(public, &format!("fan{n}")).await;
    let topup = json!({ "amount_cents": 500 });
    send(&client, &user.token, Method::POST, &format!("{public}/v1/wallet/dev-topup"), Some(topup)).await;
    let started = Instant::now();
    send(
        &client,
        &user.token,
        Method::POST,
        &format!("{public}/v1/tiers/{tier}/subscriptions"),
        Some(json!({})),
    )
    .await;
    (client, user.token, user.id, started.elapsed())
}

async fn run() {
    let data_dir = std::env::temp_dir().join(testkit::unique_name("bench-subscriber-feed"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let stack = Stack::start(StackOptions::on_any_ports(data_dir.clone())).await.unwrap();
    let client = Client::builder().cookie_store(true).build().unwrap();
    let public = stack.public_url.clone();
    let ann = testkit::users::sign_up(&public, "ann").await.token;
    let cas = testkit::users::sign_up(&public, "cas").await.token;
    let tier_body = json!({ "rank": 1, "name": "Members", "monthly_cents": 500 });
    let tier = send(&client, &ann, Method::POST, &format!("{public}/v1/tiers"), Some(tier_body)).await;
    let tier = tier["id"].as_str().unwrap().to_owned();
    let members = posts(&client, &public, &ann, json!({ "kind": "subscribers", "min_rank": 1 }), 100).await;
    posts(&client, &public, &cas, json!({ "kind": "anyone" }), 500).await;

    // First views: a new subscriber opens the newest post and fetches its first photo by cookie.
    let (mut subscribing, mut first_views) = (Vec::new(), Vec::new());
    for n in 0..NEW_SUBSCRIBERS {
        let (fan, token, _, subscribed) = new_subscriber(&public, &tier, n).await;
        subscribing.push(subscribed);
        let started = Instant::now();
        let view = send(&fan, &token, Method::GET, &format!("{public}/v1/posts/{}", members[0]), None).await;
        let url = view["photos"][0]["url"].as_str().unwrap_or_else(|| panic!("locked: {view}"));
        assert!(!url.contains("Signature="), "a subscriber's URL carries no signature: {url}");
        let photo = fan.get(url).send().await.unwrap();
        assert_eq!(photo.status(), 200, "{url}");
        assert!(!photo.bytes().await.unwrap().is_empty());
        first_views.push(started.elapsed());
    }

    // A subscriber who follows ann (cookie) and a follower of cas (per-URL signatures).
    let (fan, fan_token, fan_id, _) = new_subscriber(&public, &tier, NEW_SUBSCRIBERS).await;
    send(&fan, &fan_token, Method::POST, &format!("{public}/v1/users/ann/follow"), None).await;
    let reader = testkit::users::sign_up(&public, "reader").await.token;
    send(&client, &reader, Method::POST, &format!("{public}/v1/users/cas/follow"), None).await;
    let first_page = Instant::now();
    page(&fan, &public, &fan_token).await; // its 80 copies are made
    let first_page = first_page.elapsed();
    // Every copy fetched once, as a browser showing the page would.
    let feed = send(&fan, &fan_token, Method::GET, &format!("{public}/v1/feed"), None).await;
    for post in feed["items"].as_array().unwrap() {
        for photo in post["photos"].as_array().unwrap() {
            let response = fan.get(photo["url"].as_str().unwrap()).send().await.unwrap();
            assert_eq!(response.status(), 200);
        }
    }
    let stored = bytes_under(&data_dir);
    let viewer_bytes = walk_for(&data_dir, &fan_id);
    page(&client, &public, &reader).await; // warm: JWKS, pools, the signature cache

    let cookie = load(&fan, &public, &fan_token).await;
    let per_url = load(&client, &public, &reader).await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (sub_p50, sub_p99) = quantiles(subscribing);
    let (first_p50, first_p99) = quantiles(first_views);
    println!(
        "A feed page of {POSTS} posts × {PHOTOS_PER_POST} photos through the public address, one client, {}s each:\n",
        RUN.as_secs()
    );
    println!(
        "| feed | signatures carried per page | distinct signatures in the run | p50 | p99 | pages |\n|---|---|---|---|---|---|"
    );
    for (name, run) in [
        ("subscriber: own copies, one cookie", cookie),
        ("follower of free posts: a signed URL per photo", per_url),
    ] {
        println!(
            "| {name} | {:.2} | {} | {:.1} ms | {:.1} ms | {} |",
            run.carried as f64 / run.pages as f64,
            run.signed,
            run.p50,
            run.p99,
            run.pages
        );
    }
    println!(
        "\nA new subscriber's first page ({} copies made on first view): {:.0} ms",
        POSTS * PHOTOS_PER_POST,
        ms(first_page)
    );
    println!(
        "{NEW_SUBSCRIBERS} new subscribers, one after another: subscribe p50 {sub_p50:.0} ms, p99 {sub_p99:.0} ms; \
         first view of a photo (open the post, fetch the photo by cookie) p50 {first_p50:.0} ms, p99 {first_p99:.0} ms (goal p99 ≤ 500 ms)"
    );
    println!(
        "Stored for one subscriber's copies: {} bytes for {} photos = {:.0} KiB per 100 photos (the stack's whole data folder: {} MiB)",
        viewer_bytes,
        POSTS * PHOTOS_PER_POST,
        viewer_bytes as f64 / (POSTS * PHOTOS_PER_POST) as f64 * 100.0 / 1024.0,
        stored / (1024 * 1024)
    );
    stack.stop().await;
    let _ = std::fs::remove_dir_all(data_dir);
}

/// Bytes under the viewer's prefix, wherever the embedded S3 keeps its bucket.
fn walk_for(data_dir: &Path, viewer: &str) -> u64 {
    fn find(dir: &Path, viewer: &str) -> Option<std::path::PathBuf> {
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|name| name == viewer) && path.parent()?.ends_with("viewers") {
                return Some(path);
            }
            if let Some(found) = find(&path, viewer) {
                return Some(found);
            }
        }
        None
    }
    find(data_dir, viewer).map_or(0, |dir| bytes_under(&dir))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}
