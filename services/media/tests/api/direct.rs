use std::time::Duration;
use testkit::http::JsonAnswer;

use imaging::samples;
use media::pipeline::Media;
use media::processing::Limits;
use serde_json::{Value, json};

use crate::helpers::{Stack, spawn};

async fn start(stack: &Stack, token: &str, content_type: &str, size: usize) -> Value {
    let response = stack
        .http
        .post(format!("{}/v1/media/uploads", stack.media))
        .bearer_auth(token)
        .json(&json!({ "content_type": content_type, "size": size }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn complete(stack: &Stack, token: &str, id: &str) -> reqwest::Response {
    stack
        .http
        .post(format!("{}/v1/media/{id}/complete", stack.media))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_direct_upload_goes_to_s3_then_is_processed_on_complete() {
    let stack = spawn().await;
    let token = stack.user("gus").await;
    let photo = samples::jpeg(1200, 900);
    let upload = start(&stack, &token, "image/jpeg", photo.len()).await;
    let id = upload["id"].as_str().unwrap();
    let put = stack
        .http
        .put(upload["upload_url"].as_str().unwrap())
        .header("content-type", "image/jpeg")
        .body(photo.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "presigned PUT: {}", put.text().await.unwrap());
    let done = complete(&stack, &token, id).await;
    assert_eq!(done.status(), 201);
    let body: Value = done.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["variants"]["display"]["width"], 1080);
    let again = complete(&stack, &token, id).await;
    assert_eq!(again.status(), 200, "completing twice is harmless");
    let stranger = stack.user("hal").await;
    assert_eq!(complete(&stack, &stranger, id).await.status(), 404);
}

#[tokio::test]
async fn the_presigned_put_admits_only_the_declared_type_and_length() {
    let stack = spawn().await;
    let token = stack.user("ida").await;
    let photo = samples::jpeg(300, 200);
    let upload = start(&stack, &token, "image/jpeg", photo.len()).await;
    let url = upload["upload_url"].as_str().unwrap();
    // The server may close a connection after refusing its body: each PUT on a new one.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let longer = [photo.clone(), vec![0; 100]].concat();
    let refused = http.put(url).header("content-type", "image/jpeg").body(longer).send().await.unwrap();
    assert!(refused.status().is_client_error(), "a longer body is refused: {}", refused.status());
    let wrong_type =
        http.put(url).header("content-type", "image/png").body(photo.clone()).send().await.unwrap();
    assert!(wrong_type.status().is_client_error(), "another type is refused: {}", wrong_type.status());
    let nothing_yet = complete(&stack, &token, upload["id"].as_str().unwrap()).await;
    assert_eq!(nothing_yet.status(), 400);
}

#[tokio::test]
async fn a_direct_upload_that_is_not_an_image_fails_and_leaves_nothing() {
    let stack = spawn().await;
    let token = stack.user("jon").await;
    let fake = b"<html>not a photo</html>".to_vec();
    let upload = start(&stack, &token, "image/jpeg", fake.len()).await;
    let url = upload["upload_url"].as_str().unwrap();
    stack.http.put(url).header("content-type", "image/jpeg").body(fake).send().await.unwrap();
    let id = upload["id"].as_str().unwrap();
    let response = complete(&stack, &token, id).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_eq!(stack.object_count().await, 0, "the upload was removed");
    let record: Value =
        stack.http.get(format!("{}/v1/media/{id}", stack.media)).bearer_auth(&token).json_answer().await;
    assert_eq!(record["status"], "failed");
}

#[tokio::test]
async fn uploads_never_completed_are_cleaned_up() {
    let stack = spawn().await;
    let token = stack.user("kim").await;
    let photo = samples::jpeg(300, 200);
    let upload = start(&stack, &token, "image/jpeg", photo.len()).await;
    stack
        .http
        .put(upload["upload_url"].as_str().unwrap())
        .header("content-type", "image/jpeg")
        .body(photo)
        .send()
        .await
        .unwrap();
    assert_eq!(stack.object_count().await, 1);

    let db = mongodb::Client::with_uri_str(&stack.mongo.uri).await.unwrap().database(&stack.mongo.database);
    let client = testkit::s3::client(&stack.s3).await;
    let janitor = Media {
        records: media::records::Records::new(&db).await.unwrap(),
        storage: media::storage::Storage {
            client: client.clone(),
            bucket: stack.s3.bucket.clone(),
            presigner: client,
        },
        limits: Limits::default(),
        removals: media::removal::Removals::new(&db, None, None).await.unwrap(),
        processing: media::slots::Slots::new("upload", 1, None),
        marking: media::slots::Slots::new("marking", 1, Some(1)),
        tracing: media::slots::Slots::new("trace", 1, Some(1)),
        marks: media::marks::Marks::new(
            &db,
            imaging::watermark::WatermarkKey::from_secret(b"test"),
            std::time::Duration::from_secs(3600),
        )
        .await
        .unwrap(),
        traces: media::trace::Traces::new(&db).await.unwrap(),
        auth: None,
    };
    assert_eq!(
        janitor.clean_stale_uploads(Duration::from_secs(3600)).await.unwrap(),
        0,
        "a fresh upload is kept"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(janitor.clean_stale_uploads(Duration::from_millis(10)).await.unwrap(), 1);
    assert_eq!(stack.object_count().await, 0);
    let id = upload["id"].as_str().unwrap();
    assert_eq!(
        stack
            .http
            .get(format!("{}/v1/media/{id}", stack.media))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn put(stack: &Stack, url: &str, bytes: Vec<u8>) -> reqwest::StatusCode {
    stack.http.put(url).header("content-type", "image/jpeg").body(bytes).send().await.unwrap().status()
}

/// The stored objects of a media item: (variant name, key, bytes).
async fn stored(stack: &Stack, id: &str) -> Vec<(String, String, Option<Vec<u8>>)> {
    let record: Value = stack.internal("post", id).await.json().await.unwrap();
    let mut objects = Vec::new();
    for (name, variant) in record["variants"].as_object().unwrap() {
        let key = variant["key"].as_str().unwrap().to_owned();
        objects.push((name.clone(), key.clone(), stack.object(&key).await));
    }
    objects
}

#[tokio::test]
async fn overlapping_completes_leave_every_derivative_in_place() {
    let stack = spawn().await;
    let token = stack.user("lou").await;
    for round in 0..4 {
        let photo = samples::jpeg(800, 600);
        let upload = start(&stack, &token, "image/jpeg", photo.len()).await;
        assert!(put(&stack, upload["upload_url"].as_str().unwrap(), photo).await.is_success());
        let id = upload["id"].as_str().unwrap();
        let (first, second) = tokio::join!(complete(&stack, &token, id), complete(&stack, &token, id));
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort();
        assert!(matches!(statuses, [200, 201] | [201, 409]), "round {round}: {statuses:?}");
        let objects = stored(&stack, id).await;
        assert_eq!(objects.len(), 4, "original, display, thumb, preview");
        for (name, key, bytes) in objects {
            assert!(bytes.is_some_and(|b| !b.is_empty()), "round {round}: {name} ({key}) is missing");
        }
    }
}

#[tokio::test]
async fn the_upload_url_cannot_touch_the_photo_after_complete_or_a_takedown() {
    let stack = spawn().await;
    let token = stack.user("max").await;
    let photo = samples::jpeg(640, 480);
    let upload = start(&stack, &token, "image/jpeg", photo.len()).await;
    let url = upload["upload_url"].as_str().unwrap();
    let id = upload["id"].as_str().unwrap();
    assert!(put(&stack, url, photo.clone()).await.is_success());
    assert_eq!(complete(&stack, &token, id).await.status(), 201);
    let before = stored(&stack, id).await;
    assert_eq!(before.iter().find(|(name, _, _)| name == "original").unwrap().2.as_deref(), Some(&photo[..]));

    // The same URL, still unexpired, with other bytes of the declared length.
    let mut other = photo.clone();
    let middle = other.len() / 2;
    other[middle..middle + 64].fill(0x55);
    let _ = put(&stack, url, other.clone()).await;
    assert_eq!(complete(&stack, &token, id).await.status(), 200);
    assert_eq!(stored(&stack, id).await, before, "every object is as complete left it");

    // Taken down: the URL cannot bring the original back either.
    let removal = stack.takedown(id).await;
    assert_eq!(removal.status(), 200);
    let _ = put(&stack, url, photo.clone()).await;
    for (name, key, _) in before {
        assert_eq!(stack.object(&key).await, None, "{name} stays removed");
    }
}
