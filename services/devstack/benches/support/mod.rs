//! What the stack's benches share: a keyed request, and a photo upload.

use reqwest::Client;
use serde_json::Value;

/// `method url` as `token` (with a fresh idempotency key); its JSON answer.
pub async fn send(
    client: &Client,
    token: &str,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.header("idempotency-key", testkit::unique_name("k")).send().await.unwrap();
    assert!(response.status().is_success(), "{url}: {}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

/// A `width`×`height` landscape JPEG uploaded by `token`; its media id.
pub async fn upload(
    client: &Client,
    public: &str,
    token: &str,
    (width, height): (u32, u32),
    seed: u32,
) -> Value {
    let mut jpeg = Vec::new();
    imaging::samples::landscape(width, height, seed)
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    let upload = client
        .post(format!("{public}/v1/media"))
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(jpeg);
    upload.send().await.unwrap().json::<Value>().await.unwrap()["id"].clone()
}
