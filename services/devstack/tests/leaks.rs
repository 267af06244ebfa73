//! Paid photos that stay paid, over the public address: each buyer sees an
//! own marked copy, and a leaked copy — resized, cropped, re-encoded — is
//! traced by the creator to the buyer it came from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use imaging::attacks::Attack;
use reqwest::{Client, Method};
use serde_json::{Value, json};
use support::story::call;

async fn bytes(client: &Client, url: &str) -> Vec<u8> {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.unwrap().to_vec()
}

async fn trace(client: &Client, public: &str, token: &str, media_id: &str, image: Vec<u8>) -> (u16, Value) {
    let response = client
        .post(format!("{public}/v1/media/{media_id}/trace"))
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(image)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_leaked_copy_is_traced_to_its_buyer() {
    let stack = support::start_stack().await;
    // A client that keeps cookies, as a browser: each buyer's copies come by their cookie.
    let client = Client::builder().cookie_store(true).build().unwrap();
    let public = stack.public_url.as_str();
    let alice = testkit::users::sign_up(public, "alice").await;
    let (alice_id, alice) = (alice.id, alice.token);
    let mut png = Vec::new();
    imaging::samples::landscape(1600, 1067, 21)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let upload = client
        .post(format!("{public}/v1/media"))
        .bearer_auth(&alice)
        .header("content-type", "image/png")
        .body(png);
    let media_id =
        upload.send().await.unwrap().json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let body = json!({ "caption": "paid", "media_ids": [media_id], "price_cents": 300 });
    let (_, post) = call(&client, &alice, Method::POST, &format!("{public}/v1/posts"), Some(body)).await;
    let post_id = post["id"].as_str().unwrap();

    let mut copies = Vec::new();
    for buyer in ["bob", "carl"] {
        let token = testkit::users::sign_up(public, buyer).await.token;
        let topup = json!({ "amount_cents": 300 });
        call(&client, &token, Method::POST, &format!("{public}/v1/wallet/dev-topup"), Some(topup)).await;
        let purchase = client.post(format!("{public}/v1/posts/{post_id}/purchase")).bearer_auth(&token);
        assert_eq!(purchase.header("idempotency-key", buyer).send().await.unwrap().status(), 201);
        let (_, view) =
            call(&client, &token, Method::GET, &format!("{public}/v1/posts/{post_id}"), None).await;
        copies.push((token, bytes(&client, view["photos"][0]["url"].as_str().unwrap()).await));
    }
    let (_, own) = call(&client, &alice, Method::GET, &format!("{public}/v1/posts/{post_id}"), None).await;
    let clean = bytes(&client, own["photos"][0]["url"].as_str().unwrap()).await;
    assert!(
        copies[0].1 != copies[1].1 && copies[0].1 != clean && copies[1].1 != clean,
        "three different copies"
    );

    // Bob's copy, resized 75%, cropped and saved as JPEG 70, posted somewhere.
    let leaked = Attack::Chain.apply(&image::load_from_memory(&copies[0].1).unwrap().into_rgb8());
    let mut leaked_jpeg = Vec::new();
    leaked.write_to(&mut std::io::Cursor::new(&mut leaked_jpeg), image::ImageFormat::Jpeg).unwrap();
    let (status, found) = trace(&client, public, &alice, &media_id, leaked_jpeg.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        (found["found"].clone(), found["buyer"]["username"].clone()),
        (json!(true), json!("bob")),
        "{found}"
    );
    assert!(found["purchase_id"].is_string());

    // Buyers cannot trace (the photo is not theirs: no hint it exists).
    assert_eq!(trace(&client, public, &copies[0].0, &media_id, leaked_jpeg).await.0, 404);
    assert_eq!(trace(&client, public, &alice, &media_id, clean).await.1, json!({ "found": false }));

    // Both traces reach the audit log (media hands each to post): who traced
    // which photo, and whose copy the mark named. A buyer's refused attempt
    // traced nothing and is not there.
    let mongo = mongodb::Client::with_uri_str(&stack.mongodb_uri).await.unwrap();
    let admin = testkit::users::with_role(public, &mongo.database("shutter_auth"), "auditor", "admin").await;
    let bob_id = found["buyer"]["id"].as_str().unwrap();
    let audit_url = format!("{public}/v1/admin/audit?owner=alice");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let traces = loop {
        let (status, page) = call(&client, &admin.token, Method::GET, &audit_url, None).await;
        assert_eq!(status, 200, "{page}");
        let traces: Vec<Value> =
            page["items"].as_array().unwrap().iter().filter(|e| e["action"] == "trace").cloned().collect();
        if traces.len() == 2 || std::time::Instant::now() > deadline {
            break traces;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(traces.len(), 2, "{traces:#?}");
    let named: Vec<&Value> = traces.iter().filter(|e| e["subject_id"] == bob_id).collect();
    assert_eq!(named.len(), 1, "one trace named bob: {traces:#?}");
    assert_eq!(named[0]["target"], json!({ "kind": "photo", "id": media_id }));
    assert_eq!(named[0]["actor_id"], alice_id.as_str());
    assert!(named[0]["reason"].as_str().unwrap().contains(found["purchase_id"].as_str().unwrap()));
    assert!(named[0]["request_id"].is_string(), "the trace's request");
}
