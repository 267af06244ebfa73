//! Fault injection under load, through the public address only.
//!
//! While readers page their feeds, a buyer buys and a creator uploads, the
//! stack's dependencies fail one at a time and come back: url-signer is
//! stopped and started again; the S3 server is stopped and started again on
//! its port (its objects on disk); the MongoDB-compatible server is cut off
//! (every connection reset, its port closed) and reconnected — it keeps its
//! data in memory, so a real kill would lose it; from the services' side
//! the two look the same. The test checks what each outage may do to each
//! kind of request (counted in the phase it ends in), that /readyz says so, that everything recovers without
//! restarting a service, and that no money is created, lost or charged
//! twice. It prints the counts.
//!
//! One buyer buys, one purchase at a time: jongodb, the test database, loses
//! writes of transactions committed concurrently (measured: of 300
//! concurrent two-document transactions all reported committed, 96 inserts
//! and 106 increments were gone), where MongoDB aborts the conflicting ones
//! and post retries them. What this test checks is what an outage does to
//! money: a purchase cut off mid-way and asked again with its key is charged
//! once, and nothing else moves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devstack::{Stack, StackOptions};
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use serde_json::{Value, json};

mod support;

const PHASES: [&str; 7] = [
    "normal",
    "url-signer down",
    "after url-signer",
    "S3 down",
    "after S3",
    "database down",
    "after database",
];
const PRICE_CENTS: i64 = 100;
const PAID_POSTS: usize = 30;
/// Readers and the buyer: each a user of their own, following the creator.
const READERS: usize = 2;
const TOP_UP_CENTS: i64 = 3000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Read,
    Purchase,
    Upload,
}

#[derive(Default)]
struct Counts {
    /// (phase, kind) → status → count.
    statuses: BTreeMap<(usize, Kind), BTreeMap<u16, usize>>,
    /// (phase) → feed photos answered without a URL (url-signer unreachable).
    unsigned_photos: BTreeMap<usize, usize>,
    /// Answers that broke a rule, with why.
    violations: Vec<String>,
}

struct Load {
    public: String,
    http: reqwest::Client,
    phase: AtomicUsize,
    stop: AtomicBool,
    counts: Mutex<Counts>,
}

impl Load {
    fn record(&self, phase: usize, kind: Kind, status: u16, retry_after: bool) {
        let mut counts = self.counts.lock().unwrap();
        *counts.statuses.entry((phase, kind)).or_default().entry(status).or_default() += 1;
        // Whatever fails, it fails as 503 with Retry-After: never 500, never a bare 5xx.
        if status >= 500 && status != 503 {
            counts.violations.push(format!("{kind:?} answered {status} in phase {}", PHASES[phase]));
        }
        if status == 503 && !retry_after {
            counts.violations.push(format!("{kind:?} answered 503 without Retry-After in {}", PHASES[phase]));
        }
    }
}

async fn reader(load: Arc<Load>, token: String) {
    while !load.stop.load(Ordering::Relaxed) {
        let response = load.http.get(format!("{}/v1/feed", load.public)).bearer_auth(&token).send().await;
        let Ok(response) = response else { continue };
        // Counted in the phase it ends in: what the outage did to it.
        let phase = load.phase.load(Ordering::Relaxed);
        let status = response.status().as_u16();
        let retry_after = response.headers().contains_key("retry-after");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let unsigned = body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|post| post["photos"].as_array().cloned().unwrap_or_default())
            .filter(|photo| photo["error"] == "temporarily_unavailable")
            .count();
        *load.counts.lock().unwrap().unsigned_photos.entry(phase).or_default() += unsigned;
        if phase == 1 && status >= 500 {
            load.counts
                .lock()
                .unwrap()
                .violations
                .push(format!("a read answered {status} while url-signer was down"));
        }
        load.record(phase, Kind::Read, status, retry_after);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn buyer(load: Arc<Load>, token: String, posts: Vec<String>) {
    let mut n = 0usize;
    // A purchase answered 503 is asked again with its key, as a client would.
    let mut pending: Option<(String, String)> = None;
    while !load.stop.load(Ordering::Relaxed) {
        let (post, key) = pending.take().unwrap_or_else(|| {
            n += 1;
            (posts[n % posts.len()].clone(), format!("buy-{n}"))
        });
        let response = load
            .http
            .post(format!("{}/v1/posts/{post}/purchase", load.public))
            .bearer_auth(&token)
            .header("idempotency-key", &key)
            .send()
            .await;
        let Ok(response) = response else {
            pending = Some((post, key));
            continue;
        };
        let phase = load.phase.load(Ordering::Relaxed);
        let status = response.status().as_u16();
        let retry_after = response.headers().contains_key("retry-after");
        if status >= 500 {
            pending = Some((post, key));
            if std::env::var_os("FAULTS_DEBUG").is_some() {
                println!(
                    "purchase in {}: {status} {}",
                    PHASES[phase],
                    response.text().await.unwrap_or_default()
                );
            }
        }
        load.record(phase, Kind::Purchase, status, retry_after);
        // About one purchase a second: the posts last the whole test.
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}

async fn uploader(load: Arc<Load>, token: String) {
    let photo = devstack::seed::scene_jpeg(3, 320, 240).unwrap();
    while !load.stop.load(Ordering::Relaxed) {
        let response = load
            .http
            .post(format!("{}/v1/media", load.public))
            .bearer_auth(&token)
            .header("content-type", "image/jpeg")
            .body(photo.clone())
            .send()
            .await;
        if let Ok(response) = response {
            let phase = load.phase.load(Ordering::Relaxed);
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key("retry-after");
            if std::env::var_os("FAULTS_DEBUG").is_some() && status >= 500 {
                println!(
                    "upload in {}: {status} {}",
                    PHASES[phase],
                    response.text().await.unwrap_or_default()
                );
            }
            load.record(phase, Kind::Upload, status, retry_after);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `/readyz` of a service, as (status, the dependency's check).
async fn readiness(url: &str, dependency: &str) -> (u16, String) {
    let response = reqwest::get(format!("{url}/readyz")).await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["checks"][dependency].as_str().unwrap_or_default().to_owned())
}

/// Takes `dependency` down for 8 s, checking that `service` says it is not
/// ready meanwhile; brings it back and answers how long `service` took to
/// be ready again.
async fn outage(switch: &testkit::fault::Switch, service: &str, dependency: &str) -> Duration {
    switch.down();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, check) = readiness(service, dependency).await;
    assert_eq!(status, 503, "{service} says it is not ready while {dependency} is down");
    assert_ne!(check, "ok");
    tokio::time::sleep(Duration::from_secs(7)).await;
    switch.up();
    let started = Instant::now();
    while readiness(service, dependency).await != (200, "ok".to_owned()) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{service} did not recover {dependency} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    started.elapsed()
}

async fn call(http: &reqwest::Client, public: &str, token: &str, path: &str, body: Value) -> Value {
    let response = http.post(format!("{public}{path}")).bearer_auth(token).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

async fn documents(db: &mongodb::Database, collection: &str) -> Vec<Document> {
    db.collection::<Document>(collection).find(doc! {}).await.unwrap().try_collect().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependencies_fail_and_return_under_load_and_money_stays_exact() {
    // The test's own servers, which it can take down.
    let (jongodb_uri, jongodb) = testkit::mongo::start_jongodb().unwrap();
    jongodb.keep();
    let jongodb_addr =
        jongodb_uri.trim_start_matches("mongodb://").split('/').next().unwrap().parse().unwrap();
    let database = testkit::fault::FaultProxy::mongodb(jongodb_addr).await;
    let options = support::options();
    let credentials = ("fault-test".to_owned(), "fault-test-secret-0123456789".to_owned());
    let s3_server = testkit::s3::start_in_background(
        &options.data_dir.join("s3"),
        ([127, 0, 0, 1], 0).into(),
        credentials.clone(),
    )
    .unwrap();
    let s3 = testkit::s3::S3Endpoint {
        endpoint: format!("http://{}", s3_server.addr),
        region: "us-east-1".into(),
        access_key: credentials.0,
        secret_key: credentials.1,
    }
    .settings("shutter-media");
    common::s3::client(&s3).await.create_bucket().bucket(&s3.bucket).send().await.unwrap();
    let mongodb_uri = database.uri("replicaSet=jongodb-rs0&serverMonitoringMode=poll");
    let stack =
        Stack::start(StackOptions { mongodb_uri: Some(mongodb_uri.clone()), s3: Some(s3), ..options })
            .await
            .unwrap();
    let public = stack.public_url.clone();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();

    // A creator with paid posts and a free one; a buyer with money; readers.
    let creator = testkit::users::sign_up(&public, "creator").await.token;
    let mut paid = Vec::new();
    // The free one last, so it is on the first page of every feed.
    for scene in 1..=PAID_POSTS + 1 {
        let media = support::story::upload(&http, &public, &creator, scene as u32).await;
        let price = if scene > PAID_POSTS { 0 } else { PRICE_CENTS };
        let post = call(
            &http,
            &public,
            &creator,
            "/v1/posts",
            json!({ "media_ids": [media], "price_cents": price }),
        )
        .await;
        if price > 0 {
            paid.push(post["id"].as_str().unwrap().to_owned());
        }
    }
    let buyer_token = testkit::users::sign_up(&public, "buyer").await.token;
    call(&http, &public, &buyer_token, "/v1/wallet/dev-topup", json!({ "amount_cents": TOP_UP_CENTS })).await;
    let mut readers = Vec::new();
    for n in 0..READERS {
        let reader = testkit::users::sign_up(&public, &format!("reader{n}")).await.token;
        call(&http, &public, &reader, "/v1/users/creator/follow", json!(null)).await;
        readers.push(reader);
    }

    let load = Arc::new(Load {
        public: public.clone(),
        http: http.clone(),
        phase: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        counts: Mutex::default(),
    });
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(buyer(load.clone(), buyer_token.clone(), paid.clone())));
    for token in &readers {
        tasks.push(tokio::spawn(reader(load.clone(), token.clone())));
    }
    tasks.push(tokio::spawn(uploader(load.clone(), creator.clone())));
    let phase = |n: usize| load.phase.store(n, Ordering::Relaxed);
    let mut recovery = Vec::new();

    tokio::time::sleep(Duration::from_secs(2)).await;
    phase(1);
    stack.stop_url_signer().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = Instant::now();
    stack.start_url_signer().await.unwrap();
    recovery.push(("url-signer", started.elapsed()));
    phase(2);
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Each outage longer than the clients' own retries (S3's SDK, the
    // database's server selection), so requests give up rather than wait.
    phase(3);
    recovery.push(("S3", outage(&s3_server.switch, &stack.media, "s3").await));
    phase(4);
    tokio::time::sleep(Duration::from_secs(2)).await;
    phase(5);
    recovery.push(("database", outage(&database.switch, &stack.post, "mongodb").await));
    phase(6);
    tokio::time::sleep(Duration::from_secs(4)).await;
    load.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }

    // Every kind of request works again, with nothing restarted.
    let feed = http.get(format!("{public}/v1/feed")).bearer_auth(&readers[0]).send().await.unwrap();
    assert_eq!(feed.status(), 200);
    let feed: Value = feed.json().await.unwrap();
    let photos: Vec<&Value> =
        feed["items"].as_array().unwrap().iter().flat_map(|p| p["photos"].as_array().unwrap()).collect();
    assert!(photos.iter().any(|p| p["url"].is_string()), "photos are signed again");
    assert!(photos.iter().all(|p| p.get("error").is_none()), "{photos:?}");

    {
        let counts = load.counts.lock().unwrap();
        println!("\nfault injection, through the public address (statuses by phase):");
        println!("{:<18} {:<9} answers", "phase", "request");
        for ((phase, kind), statuses) in &counts.statuses {
            let answers: Vec<String> = statuses.iter().map(|(status, n)| format!("{status}×{n}")).collect();
            println!("{:<18} {:<9} {}", PHASES[*phase], format!("{kind:?}"), answers.join("  "));
        }
        let unsigned: Vec<String> =
            counts.unsigned_photos.iter().map(|(phase, n)| format!("{}: {n}", PHASES[*phase])).collect();
        println!("photos shown without a URL (url-signer unreachable): {}", unsigned.join(", "));
        for (dependency, took) in &recovery {
            println!("{dependency} back: ready again after {took:?}");
        }
        assert!(counts.violations.is_empty(), "{:#?}", counts.violations);
        let answered = |phase: usize, kind: Kind, status: u16| {
            counts.statuses.get(&(phase, kind)).and_then(|s| s.get(&status)).copied().unwrap_or(0)
        };
        assert!(
            counts.unsigned_photos.get(&1).copied().unwrap_or(0) > 0,
            "reads degraded while url-signer was down"
        );
        assert!(answered(3, Kind::Upload, 503) > 0, "uploads answered 503 while S3 was down");
        assert!(answered(5, Kind::Purchase, 503) > 0, "purchases answered 503 while the database was down");
        for (phase, kind) in [(6, Kind::Read), (6, Kind::Purchase), (4, Kind::Upload), (2, Kind::Read)] {
            let succeeded: usize = counts
                .statuses
                .get(&(phase, kind))
                .map(|s| s.iter().filter(|(status, _)| **status < 500).map(|(_, n)| n).sum())
                .unwrap_or(0);
            assert!(succeeded > 0, "{kind:?} works again {}", PHASES[phase]);
        }
    }

    // The money: made only by top-ups, moved only by purchases, each once.
    let db = mongodb::Client::with_uri_str(&mongodb_uri).await.unwrap().database("shutter_post");
    let balances = documents(&db, "balances").await;
    let ledger = documents(&db, "ledger").await;
    // A purchase cut off by the outage leaves a pending claim, and no charge.
    let entitlements: Vec<_> = documents(&db, "entitlements")
        .await
        .into_iter()
        .filter(|e| e.get_str("state") == Ok("active"))
        .collect();
    let total: i64 = balances.iter().map(|b| b.get_i64("balance_cents").unwrap()).sum();
    assert_eq!(total, TOP_UP_CENTS, "no money created or lost");
    let mut purchases = BTreeMap::new();
    for entry in ledger.iter().filter(|e| e.get_str("kind") == Ok("purchase")) {
        let key =
            (entry.get_str("account").unwrap().to_owned(), entry.get_str("reference").unwrap().to_owned());
        *purchases.entry(key).or_insert(0) += 1;
    }
    assert!(purchases.values().all(|n| *n == 1), "no purchase charged twice: {purchases:?}");
    assert_eq!(purchases.len(), entitlements.len(), "one charge per entitlement");
    for balance in &balances {
        let account = balance.get_str("_id").unwrap();
        let moved: i64 = ledger
            .iter()
            .filter(|e| e.get_str("account") == Ok(account))
            .map(|e| e.get_i64("amount_cents").unwrap())
            .sum();
        assert_eq!(balance.get_i64("balance_cents").unwrap(), moved, "{account}'s balance is its ledger");
    }
    println!(
        "money: {total} cents in wallets, earnings and fees = {} cents topped up; {} purchases, each charged once",
        TOP_UP_CENTS,
        entitlements.len()
    );
    stack.stop().await;
}
