use serde_json::Value;

use crate::helpers::{body_of, spawn_for_vectors};

fn vectors() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(crate::helpers::vectors_dir().join("vectors.json")).unwrap(),
    )
    .unwrap()
}

/// The object a vector URL names (path percent-decoded, query ignored).
fn key_of(url: &str) -> String {
    let path = url.split_once("://").unwrap().1;
    let path = &path[path.find('/').unwrap() + 1..];
    let path = path.split('?').next().unwrap();
    String::from_utf8(cloudfront_sign::verify::percent_decode_bytes(path)).unwrap()
}

#[tokio::test]
async fn urls_and_cookies_signed_by_aws_signers_are_served() {
    let all = vectors();
    for kind in ["rsa", "ecdsa"] {
        let edge = spawn_for_vectors(kind).await;
        let mut served = 0;
        for source in ["botocore", "js"] {
            for vector in all[source].as_array().unwrap().iter().filter(|v| v["key"] == kind) {
                let client_ip = "203.0.113.7";
                let (url, request) = if let Some(url) = vector["signed_url"].as_str() {
                    // A raw non-ASCII URL cannot cross HTTP as it is: a client sends it
                    // percent-encoded, which is another URL (CloudFront refuses it too).
                    if !url.is_ascii() {
                        continue;
                    }
                    (url.to_owned(), edge.get(url, client_ip))
                } else {
                    let url = vector["url"].as_str().unwrap().to_owned();
                    let cookie = vector["cookies"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| {
                            format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    let request = edge.get(&url, client_ip).header("cookie", cookie);
                    (url, request)
                };
                let response = request.send().await.unwrap();
                let status = response.status();
                let body = response.bytes().await.unwrap();
                assert_eq!(
                    status,
                    200,
                    "{source} {kind} refused: {} {vector}",
                    String::from_utf8_lossy(&body)
                );
                assert_eq!(body.as_ref(), body_of(&key_of(&url)).as_slice());
                served += 1;
            }
        }
        assert!(served >= 40, "{kind}: only {served} vectors served");
    }
}
