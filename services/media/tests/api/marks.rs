//! Buyers' marked copies and leak tracing.

use common::ids::{PurchaseId, SubscriptionId, UserId};
use futures_util::StreamExt;
use imaging::attacks::Attack;
use serde_json::{Value, json};

use crate::helpers::{Stack, spawn, spawn_with};

/// A photo of our own making, uploaded by `token`; its id and display key.
async fn paid_photo(stack: &Stack, token: &str, seed: u32) -> (String, String) {
    let mut png = Vec::new();
    imaging::samples::landscape(1600, 1067, seed)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let response = stack.upload(token, "image/png", png).await;
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let record: Value = stack.internal("post", &id).await.json().await.unwrap();
    (id, record["variants"]["display"]["key"].as_str().unwrap().to_owned())
}

/// One buyer's copy of `media`, as post asks for it: bought, or by subscription.
fn bought(media: &str, purchase: &str, buyer: &str) -> Value {
    json!({ "media_id": media, "buyer_id": buyer, "grant": { "purchase": purchase } })
}

fn subscribed(media: &str, subscription: &str, buyer: &str) -> Value {
    json!({ "media_id": media, "buyer_id": buyer, "grant": { "subscription": subscription } })
}

fn fresh<T: std::fmt::Display>(mint: fn() -> T) -> String {
    mint().to_string()
}

/// post asking for buyers' copies.
async fn copies(stack: &Stack, items: Value) -> reqwest::Response {
    let path = "/internal/v1/marked-copies";
    let token = testkit::service::service_token("post", "media", "POST", path);
    stack
        .http
        .post(format!("{}{path}", stack.media))
        .bearer_auth(token)
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap()
}

async fn trace(stack: &Stack, token: &str, id: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    stack
        .http
        .post(format!("{}/v1/media/{id}/trace", stack.media))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn jpeg_of(image: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Jpeg).unwrap();
    out
}

#[tokio::test]
async fn each_buyer_gets_an_own_copy_and_a_leak_names_its_buyer() {
    let stack = spawn().await;
    let ann = testkit::users::sign_up(&stack.auth, "ann").await;
    let (bob, carl) = (
        testkit::users::sign_up(&stack.auth, "bob").await,
        testkit::users::sign_up(&stack.auth, "carl").await,
    );
    let (id, display_key) = paid_photo(&stack, &ann.token, 1).await;

    let (bobs_purchase, carls_subscription) = (fresh(PurchaseId::mint), fresh(SubscriptionId::mint));
    let asked = json!([bought(&id, &bobs_purchase, &bob.id), subscribed(&id, &carls_subscription, &carl.id)]);
    // Asked twice at once and again later: one copy per buyer.
    let (first, second) = tokio::join!(copies(&stack, asked.clone()), copies(&stack, asked.clone()));
    let (first, second): (Value, Value) = (first.json().await.unwrap(), second.json().await.unwrap());
    assert_eq!(first, second);
    let again: Value = copies(&stack, asked).await.json().await.unwrap();
    assert_eq!(first, again);
    let key = |n: usize, name: &str| first["items"][n][name].as_str().unwrap().to_owned();
    assert!(
        key(0, "display_key").starts_with(&format!("private/viewers/{}/{id}/", bob.id)),
        "under bob's own prefix: {}",
        key(0, "display_key")
    );
    assert!(key(1, "display_key").starts_with(&format!("private/viewers/{}/{id}/", carl.id)));

    let clean = stack.object(&display_key).await.unwrap();
    let bobs = stack.object(&key(0, "display_key")).await.unwrap();
    let carls = stack.object(&key(1, "display_key")).await.unwrap();
    assert!(bobs != carls && bobs != clean && carls != clean, "three different copies");
    assert!(stack.object(&key(0, "thumb_key")).await.is_some());

    // Bob's copy, resized, cropped and re-encoded, comes back to Bob.
    let leaked = Attack::Chain.apply(&image::load_from_memory(&bobs).unwrap().into_rgb8());
    let response = trace(&stack, &ann.token, &id, "image/jpeg", jpeg_of(&leaked)).await;
    assert_eq!(response.status(), 200);
    let found: Value = response.json().await.unwrap();
    assert_eq!(found["found"], true, "{found}");
    assert_eq!(found["buyer"]["username"], "bob");
    assert_eq!(found["buyer"]["id"], bob.id.as_str());
    assert_eq!(found["purchase_id"], bobs_purchase.as_str());
    assert!(found["confidence"].as_f64().unwrap() > 0.9);

    // Carl's thumbnail comes back to Carl; the clean photo to no one.
    let thumb = stack.object(&key(1, "thumb_key")).await.unwrap();
    let found: Value = trace(&stack, &ann.token, &id, "image/jpeg", thumb).await.json().await.unwrap();
    assert_eq!(found["buyer"]["username"], "carl");
    assert_eq!(
        found["subscription_id"],
        carls_subscription.as_str(),
        "a subscriber's copy names the subscription"
    );
    assert!(found.get("purchase_id").is_none());
    let clean_trace: Value = trace(&stack, &ann.token, &id, "image/jpeg", clean).await.json().await.unwrap();
    assert_eq!(clean_trace, json!({ "found": false }));

    // A moderator may trace any photo; a buyer, or anyone else, finds no photo.
    let moderator = stack.moderator("mod").await;
    assert_eq!(trace(&stack, &moderator, &id, "image/jpeg", bobs.clone()).await.status(), 200);
    assert_eq!(trace(&stack, &bob.token, &id, "image/jpeg", bobs.clone()).await.status(), 404);
    assert_eq!(trace(&stack, &ann.token, "not-an-id", "image/jpeg", bobs.clone()).await.status(), 404);

    // Every trace is kept: by whom, on what, and what it found.
    let db = mongodb::Client::with_uri_str(&stack.mongo.uri).await.unwrap().database(&stack.mongo.database);
    let traces = db.collection::<mongodb::bson::Document>("traces");
    assert_eq!(traces.count_documents(mongodb::bson::doc! { "media_id": &id }).await.unwrap(), 4);
    let bobs_trace =
        traces.find_one(mongodb::bson::doc! { "purchase_id": &bobs_purchase, "by": &ann.id }).await.unwrap();
    assert!(bobs_trace.is_some_and(|t| t.get_bool("found") == Ok(true)));

    // Bob refunded and buying again: the same copy, now naming the new purchase.
    let second_purchase = fresh(PurchaseId::mint);
    let rebought = json!([bought(&id, &second_purchase, &bob.id)]);
    let rebought: Value = copies(&stack, rebought).await.json().await.unwrap();
    assert_eq!(rebought["items"][0], first["items"][0], "one copy per buyer and photo");
    let found: Value = trace(&stack, &ann.token, &id, "image/jpeg", bobs).await.json().await.unwrap();
    assert_eq!(found["purchase_id"], second_purchase.as_str());
}

#[tokio::test]
async fn a_trace_body_is_checked_as_an_upload_is() {
    let stack = spawn().await;
    let ann = testkit::users::sign_up(&stack.auth, "ann").await;
    let (id, _) = paid_photo(&stack, &ann.token, 2).await;
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(trace(&stack, &ann.token, &id, "text/plain", b"hello".to_vec()).await), 415);
    assert_eq!(status(trace(&stack, &ann.token, &id, "image/jpeg", b"not a jpeg".to_vec()).await), 415);
    assert_eq!(
        status(
            trace(&stack, &ann.token, &id, "image/png", imaging::samples::png_claiming(60_000, 60_000)).await
        ),
        422
    );
    assert_eq!(status(trace(&stack, &ann.token, &id, "image/jpeg", vec![0xFF; (4 << 20) + 1]).await), 413);
    assert_eq!(
        status(trace(&stack, &ann.token, &id, "image/png", imaging::samples::jpeg(64, 64)).await),
        422,
        "declared PNG, is JPEG"
    );
    // The same forms an upload takes: a multipart `file` field.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(imaging::samples::jpeg(300, 200)).mime_str("image/jpeg").unwrap(),
    );
    let response = stack
        .http
        .post(format!("{}/v1/media/{id}/trace", stack.media))
        .bearer_auth(&ann.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "found": false }));
}

#[tokio::test]
async fn removing_a_photo_removes_its_buyers_copies() {
    let stack = spawn().await;
    let ann = testkit::users::sign_up(&stack.auth, "ann").await;
    let (id, _) = paid_photo(&stack, &ann.token, 3).await;
    let made: Value = copies(&stack, json!([bought(&id, &fresh(PurchaseId::mint), &fresh(UserId::mint))]))
        .await
        .json()
        .await
        .unwrap();
    let copy_key = made["items"][0]["display_key"].as_str().unwrap().to_owned();
    assert!(stack.object(&copy_key).await.is_some());
    assert_eq!(stack.takedown(&id).await.status(), 200);
    assert!(stack.object(&copy_key).await.is_none(), "the marked copy went with the photo");
    let gone = copies(&stack, json!([bought(&id, &fresh(PurchaseId::mint), &fresh(UserId::mint))])).await;
    assert_eq!(gone.status(), 404);
}

/// Copies still being made when their photo is removed: the removal lists
/// their records, but their objects are written after it deleted them. No
/// object of a removed photo may stay behind.
#[tokio::test]
async fn copies_in_the_making_when_their_photo_is_removed_leave_nothing_behind() {
    let stack = spawn().await;
    let ann = testkit::users::sign_up(&stack.auth, "ann").await;
    let (id, _) = paid_photo(&stack, &ann.token, 4).await;
    let before = stack.object_count().await;
    let items = (0..40).map(|_| bought(&id, &fresh(PurchaseId::mint), &fresh(UserId::mint)));
    // One request each, so those made before the removal answer 200.
    let mut requests: futures_util::stream::FuturesUnordered<_> =
        items.map(|item| copies(&stack, json!([item]))).collect();
    // Two slots mark at a time: once one copy is made, the rest are queued
    // or in the making.
    let first = requests.next().await.unwrap();
    let removed = stack.takedown(&id).await.status();
    let mut answers = vec![first];
    while let Some(answer) = requests.next().await {
        answers.push(answer);
    }
    assert_eq!(removed, 200);
    let statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 404), "{statuses:?}");
    assert!(statuses.contains(&404), "the removal came after every copy: {statuses:?}");
    assert!(before > 0);
    let left = stack.object_count().await;
    assert_eq!(left, 0, "objects of the removed photo stayed behind ({statuses:?})");
}

#[tokio::test]
async fn an_operator_traces_a_file_from_the_command_line() {
    use common::secrecy::ExposeSecret;
    let stack = spawn().await;
    let ann = testkit::users::sign_up(&stack.auth, "ann").await;
    let bob = testkit::users::sign_up(&stack.auth, "bob").await;
    let (id, display_key) = paid_photo(&stack, &ann.token, 4).await;
    let bobs_purchase = fresh(PurchaseId::mint);
    let made: Value =
        copies(&stack, json!([bought(&id, &bobs_purchase, &bob.id)])).await.json().await.unwrap();
    let dir = std::env::temp_dir().join(testkit::unique_name("trace-cli"));
    std::fs::create_dir_all(&dir).unwrap();
    let leaked = dir.join("leaked.jpg");
    std::fs::write(&leaked, stack.object(made["items"][0]["display_key"].as_str().unwrap()).await.unwrap())
        .unwrap();
    let clean = dir.join("clean.jpg");
    std::fs::write(&clean, stack.object(&display_key).await.unwrap()).unwrap();

    let mut env =
        vec![("MONGODB_URI", stack.mongo.uri.clone()), ("MONGODB_DATABASE", stack.mongo.database.clone())];
    env.extend(testkit::s3::endpoint().env(&stack.s3.bucket));
    env.extend([
        ("AUTH_JWKS_URL", format!("{}/.well-known/jwks.json", stack.auth)),
        ("POST_URL", "http://127.0.0.1:9".to_owned()),
        ("AUTH_URL", stack.auth.clone()),
        ("MEDIA_WATERMARK_SECRET", testkit::service::watermark_secret().expose_secret().to_owned()),
    ]);
    env.extend(testkit::service::internal_auth_env("media"));
    let run = |file: std::path::PathBuf| {
        let env = env.clone();
        let id = id.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_media"))
                .args(["trace", "--media-id", &id, "--file"])
                .arg(file)
                .args(["--operator", "oncall"])
                .envs(env)
                .output()
                .unwrap()
        })
    };
    let traced = run(leaked).await.unwrap();
    assert_eq!(traced.status.code(), Some(0), "{}", String::from_utf8_lossy(&traced.stderr));
    let result: Value = serde_json::from_slice(&traced.stdout).unwrap();
    assert_eq!(
        (result["buyer"]["username"].clone(), result["purchase_id"].clone()),
        (json!("bob"), json!(bobs_purchase))
    );
    let untraced = run(clean).await.unwrap();
    assert_eq!(untraced.status.code(), Some(1));
    let db = mongodb::Client::with_uri_str(&stack.mongo.uri).await.unwrap().database(&stack.mongo.database);
    let by_cli = mongodb::bson::doc! { "media_id": &id, "by": "operator:oncall" };
    assert_eq!(db.collection::<mongodb::bson::Document>("traces").count_documents(by_cli).await.unwrap(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

/// post tells media a grant ended.
async fn release(stack: &Stack, buyer: &str, grant: Value) -> Value {
    let path = "/internal/v1/marked-copies/release";
    let token = testkit::service::service_token("post", "media", "POST", path);
    let answer = stack
        .http
        .post(format!("{}{path}", stack.media))
        .bearer_auth(token)
        .json(&json!({ "buyer_id": buyer, "grant": grant }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

#[tokio::test]
async fn copies_of_an_ended_grant_or_unasked_for_go_and_come_back_the_same_when_asked() {
    let idle = std::time::Duration::from_secs(2);
    let stack = spawn_with(|config| config.copy_idle = idle).await;
    let ann = testkit::users::sign_up(&stack.auth, "ann").await;
    let bob = testkit::users::sign_up(&stack.auth, "bob").await;
    let (id, _) = paid_photo(&stack, &ann.token, 6).await;
    let purchase = fresh(PurchaseId::mint);
    let asked = json!([bought(&id, &purchase, &bob.id)]);
    let made: Value = copies(&stack, asked.clone()).await.json().await.unwrap();
    let key = made["items"][0]["display_key"].as_str().unwrap().to_owned();
    let bobs = stack.object(&key).await.expect("made");

    // Refunded: the copy's objects go, its mark stays (a leak still names bob).
    let other = json!({ "subscription": fresh(SubscriptionId::mint) });
    assert_eq!(release(&stack, &bob.id, other).await["released"], 0, "another grant releases nothing");
    assert_eq!(release(&stack, &bob.id, json!({ "purchase": purchase })).await["released"], 1);
    assert!(stack.object(&key).await.is_none());
    let found: Value = trace(&stack, &ann.token, &id, "image/jpeg", bobs.clone()).await.json().await.unwrap();
    assert_eq!(found["buyer"]["username"], "bob");

    // Bought again: the same copy, made again, byte for byte.
    let again: Value = copies(&stack, asked.clone()).await.json().await.unwrap();
    assert_eq!(again, made);
    assert_eq!(stack.object(&key).await.as_deref(), Some(bobs.as_slice()));

    // Not asked for in `MEDIA_COPY_IDLE`: its objects go; asked for, it is back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while stack.object(&key).await.is_some() {
        assert!(std::time::Instant::now() < deadline, "an idle copy stayed");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let back: Value = copies(&stack, asked).await.json().await.unwrap();
    assert_eq!(back, made);
    assert!(stack.object(&key).await.is_some());
}

/// A stand-in for post's internal API that keeps each leak trace it is told.
async fn fake_post(listener: std::net::TcpListener) -> std::sync::Arc<std::sync::Mutex<Vec<Value>>> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = told.clone();
    let server = HttpServer::new(move || {
        let kept = kept.clone();
        App::new().route(
            "/internal/v1/media/{id}/traces",
            web::post().to(move |body: web::Json<Value>| {
                let kept = kept.clone();
                async move {
                    kept.lock().unwrap().push(body.into_inner());
                    HttpResponse::NoContent().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    told
}

#[tokio::test]
async fn every_trace_reaches_posts_audit_log_even_when_post_was_down() {
    // post's address, with nothing listening there yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let stack = spawn_with(|config| config.post_url = Some(format!("http://127.0.0.1:{port}"))).await;
    let ann = testkit::users::sign_up(&stack.auth, "ann").await;
    let (id, display_key) = paid_photo(&stack, &ann.token, 7).await;
    let clean = stack.object(&display_key).await.unwrap();
    assert_eq!(
        trace(&stack, &ann.token, &id, "image/jpeg", clean).await.status(),
        200,
        "post down: still traced"
    );
    let db = mongodb::Client::with_uri_str(&stack.mongo.uri).await.unwrap().database(&stack.mongo.database);
    let traces = db.collection::<mongodb::bson::Document>("traces");
    let kept = traces.find_one(mongodb::bson::doc! { "media_id": &id }).await.unwrap().unwrap();
    assert_eq!(kept.get_bool("audited"), Ok(false));

    // post comes up: the trace is handed over (after the first retry's wait), once.
    let told = fake_post(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap()).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while told.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the trace never reached post");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!(told[0]["trace_id"], kept.get_str("_id").unwrap());
    assert_eq!((told[0]["owner_id"].as_str(), told[0]["found"].as_bool()), (Some(&*ann.id), Some(false)));
    assert_eq!(told[0]["by"], json!({ "kind": "user", "name": ann.id }));
    let audited = traces.find_one(mongodb::bson::doc! { "media_id": &id }).await.unwrap().unwrap();
    assert_eq!(audited.get_bool("audited"), Ok(true));
}
