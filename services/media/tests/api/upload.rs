use imaging::samples;
use serde_json::Value;
use testkit::http::JsonAnswer;

use crate::helpers::{media_config, spawn, spawn_auth};

#[tokio::test]
async fn an_uploaded_photo_is_processed_and_stored_under_its_keys() {
    let stack = spawn().await;
    let token = stack.user("ann").await;
    let original = samples::jpeg_with_exif(1600, 1200, 6);
    let response = stack.upload(&token, "image/jpeg", original.clone()).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!((body["width"].as_u64(), body["height"].as_u64()), (Some(1200), Some(1600)));
    assert_eq!(body["variants"]["display"]["height"], 1080);
    assert_eq!(body["variants"]["thumb"]["height"], 320);
    assert!(body["blurhash"].as_str().unwrap().len() > 6);
    assert!(!body.to_string().contains("private/"), "owners are not shown storage keys");

    let id = body["id"].as_str().unwrap();
    let internal: Value = stack.internal("post", id).await.json().await.unwrap();
    let key = |name: &str| internal["variants"][name]["key"].as_str().unwrap().to_owned();
    let today = chrono::Utc::now().format("%Y/%m/%d").to_string();
    assert_eq!(key("original"), format!("private/{today}/{id}/original.jpg"));
    assert_eq!(key("display"), format!("private/{today}/{id}/display.jpg"));
    assert_eq!(key("thumb"), format!("private/{today}/{id}/thumb.jpg"));
    assert_eq!(key("preview"), format!("public/previews/{id}.jpg"));
    assert_eq!(stack.object(&key("original")).await.unwrap(), original, "the original is kept untouched");
    let display = stack.object(&key("display")).await.unwrap();
    assert!(!display.windows(2).any(|w| w == [0xFF, 0xE1]), "no EXIF in what is shown");
    assert!(stack.object(&key("preview")).await.is_some());
}

#[tokio::test]
async fn multipart_uploads_and_webp_work_too() {
    let stack = spawn().await;
    let token = stack.user("ben").await;
    let part = reqwest::multipart::Part::bytes(samples::png_with_alpha(300, 200))
        .file_name("x.png")
        .mime_str("image/png")
        .unwrap();
    let form = reqwest::multipart::Form::new().text("caption", "ignored").part("file", part);
    let response = stack
        .http
        .post(format!("{}/v1/media", stack.media))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(stack.upload(&token, "image/webp", samples::webp(400, 300)).await.status(), 201);
}

#[tokio::test]
async fn bad_uploads_get_clear_4xx_and_the_service_keeps_serving() {
    let stack = spawn().await;
    let token = stack.user("cat").await;
    let jpeg = samples::jpeg(800, 600);
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        ("zero bytes", "image/jpeg", vec![], 422),
        ("truncated", "image/jpeg", jpeg[..jpeg.len() / 2].to_vec(), 422),
        ("PNG claiming 100,000×100,000", "image/png", samples::png_claiming(100_000, 100_000), 422),
        ("JPEG declared as PNG", "image/png", jpeg.clone(), 422),
        ("SVG", "image/svg+xml", br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#.to_vec(), 415),
        ("HTML declared as JPEG", "image/jpeg", b"<!doctype html><script>alert(1)</script>".to_vec(), 415),
        ("unsupported type", "application/pdf", b"%PDF-1.7".to_vec(), 415),
        ("over the byte limit", "image/jpeg", vec![0xFF; (4 << 20) + 1], 413),
    ];
    for (case, content_type, bytes, status) in cases {
        let response = stack.upload(&token, content_type, bytes).await;
        assert_eq!(response.status().as_u16(), status, "{case}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{case}");
    }
    let anonymous = stack
        .http
        .post(format!("{}/v1/media", stack.media))
        .header("content-type", "image/jpeg")
        .body(jpeg.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(stack.object_count().await, 0, "nothing was stored for any refused upload");
    assert_eq!(stack.upload(&token, "image/jpeg", jpeg).await.status(), 201, "still serving");
}

#[tokio::test]
async fn media_is_visible_to_its_owner_and_to_post_only() {
    let stack = spawn().await;
    let owner = stack.user("dan").await;
    let other = stack.user("eve").await;
    let body: Value = stack.upload(&owner, "image/jpeg", samples::jpeg(400, 300)).await.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    let get = |token: String| {
        let url = format!("{}/v1/media/{id}", stack.media);
        let http = stack.http.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(owner.clone()).await, 200);
    assert_eq!(get(other).await, 404, "another user's media does not exist for them");
    assert_eq!(stack.internal("post", id).await.status(), 200);
    assert_eq!(stack.internal("edge", id).await.status(), 403);
    assert_eq!(stack.internal("post", "no-such-id").await.status(), 404);
}

#[tokio::test]
async fn when_s3_is_down_uploads_get_503_and_nothing_is_recorded() {
    let auth = spawn_auth().await;
    let mut s3 = testkit::s3::bucket("media-down").await;
    s3.endpoint = Some("http://127.0.0.1:9".into());
    let mongo = testkit::mongo::settings("media-down");
    let media = testkit::service::spawn(media::build(media_config(&auth, s3, mongo.clone())).await.unwrap());
    let http = reqwest::Client::new();
    let body =
        serde_json::json!({ "username": "fay", "email": "fay@example.com", "password": "password123" });
    let signup: Value = http.post(format!("{auth}/v1/auth/signup")).json(&body).json_answer().await;
    let token = signup["tokens"]["access_token"].as_str().unwrap();
    let response = http
        .post(format!("{media}/v1/media"))
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(samples::jpeg(400, 300))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let db = mongodb::Client::with_uri_str(&mongo.uri).await.unwrap().database(&mongo.database);
    let count = db
        .collection::<mongodb::bson::Document>("media")
        .count_documents(mongodb::bson::doc! {})
        .await
        .unwrap();
    assert_eq!(count, 0);
}
