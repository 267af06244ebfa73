//! Our CloudFront calls against moto's server mode (testkit::cloudfront).
//! UpdateKeyGroup is not in moto: those steps are checked against the
//! stand-in testkit puts in front of it, which enforces If-Match as
//! CloudFront does and records each request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cloudfront_api::{ApiSettings, CloudFront, GroupChange};

async fn cloudfront() -> CloudFront {
    CloudFront::new(&testkit::cloudfront::settings()).await
}

fn new_public_pem() -> String {
    cloudfront_sign::PrivateKey::generate(cloudfront_sign::KeyKind::Rsa)
        .unwrap()
        .public_key()
        .unwrap()
        .to_pem()
        .unwrap()
}

async fn group_items(api: &CloudFront, name: &str) -> Vec<String> {
    let id = api.find_key_group(name).await.unwrap().expect("group exists");
    api.key_group(&id).await.unwrap().0.items
}

#[tokio::test]
async fn a_public_key_is_registered_once_under_its_name() {
    let api = cloudfront().await;
    let name = testkit::unique_name("key");
    let pem = new_public_pem();
    let id = api.register_public_key(&name, &pem).await.unwrap();
    assert_eq!(api.register_public_key(&name, &pem).await.unwrap(), id, "a retry finds the same key");
    let other = api.register_public_key(&name, &new_public_pem()).await.unwrap_err();
    assert!(other.to_string().contains("different public key"), "{other}");
    let stored = api.client().get_public_key().id(&id).send().await.unwrap();
    assert_eq!(stored.public_key.unwrap().public_key_config.unwrap().encoded_key.trim(), pem.trim());
    api.delete_public_key(&id).await.unwrap();
    assert_eq!(api.find_public_key(&name).await.unwrap(), None);
}

#[tokio::test]
async fn keys_join_and_leave_a_key_group_under_its_etag() {
    let api = cloudfront().await;
    let group = testkit::unique_name("group");
    let first = api.register_public_key(&testkit::unique_name("k"), &new_public_pem()).await.unwrap();
    let second = api.register_public_key(&testkit::unique_name("k"), &new_public_pem()).await.unwrap();

    assert_eq!(api.add_to_key_group(&group, &first).await.unwrap(), GroupChange::Created);
    assert_eq!(group_items(&api, &group).await, vec![first.clone()]);
    let group_id = api.find_key_group(&group).await.unwrap().unwrap();
    let (_, etag_before) = api.key_group(&group_id).await.unwrap();

    assert_eq!(api.add_to_key_group(&group, &second).await.unwrap(), GroupChange::Updated);
    assert_eq!(group_items(&api, &group).await, [first.clone(), second.clone()]);
    let sent: Vec<_> =
        testkit::cloudfront::updates().into_iter().filter(|u| u.group_id == group_id).collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].if_match, etag_before, "UpdateKeyGroup quotes the ETag it read");
    assert_eq!(sent[0].items, [first.clone(), second.clone()]);

    assert_eq!(api.add_to_key_group(&group, &second).await.unwrap(), GroupChange::AlreadySo);
    assert_eq!(api.remove_from_key_group(&group, &first).await.unwrap(), GroupChange::Updated);
    assert_eq!(group_items(&api, &group).await, vec![second.clone()]);
    assert_eq!(
        api.remove_from_key_group(&group, &second).await.unwrap(),
        GroupChange::AlreadySo,
        "the last key of a group is never removed"
    );
}

#[tokio::test]
async fn concurrent_changes_to_one_group_all_land() {
    let api = cloudfront().await;
    let group = testkit::unique_name("group");
    let first = api.register_public_key(&testkit::unique_name("k"), &new_public_pem()).await.unwrap();
    api.add_to_key_group(&group, &first).await.unwrap();
    let mut keys = Vec::new();
    for _ in 0..2 {
        keys.push(api.register_public_key(&testkit::unique_name("k"), &new_public_pem()).await.unwrap());
    }
    // Both read the same ETag; the loser gets 412 and reads again.
    let (a, b) = tokio::join!(api.add_to_key_group(&group, &keys[0]), api.add_to_key_group(&group, &keys[1]));
    a.unwrap();
    b.unwrap();
    let items = group_items(&api, &group).await;
    assert!(keys.iter().all(|k| items.contains(k)), "{items:?}");
}

#[tokio::test]
async fn an_invalidation_carries_its_paths_and_caller_reference() {
    let api = cloudfront().await;
    let distribution_id = testkit::cloudfront::distribution().await;
    let paths = vec!["/private/2026/11/28/m1/*".to_owned(), "/public/previews/m1.jpg".to_owned()];
    let reference = cloudfront_api::caller_reference(&["takedown", "m1"]);
    let id = api.invalidate(&distribution_id, &reference, &paths).await.unwrap();
    assert!(!id.is_empty());
    assert_eq!(testkit::cloudfront::invalidations(&distribution_id).await, [(reference, paths)]);
}

/// A CloudFront that throttles the first `throttled` calls, then lists no keys.
fn throttling_server(throttled: usize) -> (String, Arc<AtomicUsize>) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                let counter = counter.clone();
                App::new().default_service(web::to(move || {
                    let call = counter.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if call < throttled {
                            return HttpResponse::BadRequest().content_type("text/xml").body(
                                "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
                                 <Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>",
                            );
                        }
                        HttpResponse::Ok().content_type("text/xml").body(
                            "<?xml version=\"1.0\"?><PublicKeyList xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
                             <MaxItems>100</MaxItems><Quantity>0</Quantity></PublicKeyList>",
                        )
                    }
                }))
            })
            .workers(1)
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    (url, calls)
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_and_then_reported() {
    let settings =
        |endpoint: String| ApiSettings { endpoint: Some(endpoint), ..testkit::cloudfront::settings() };
    let (url, calls) = throttling_server(2);
    let api = CloudFront::new(&settings(url)).await;
    assert_eq!(api.find_public_key("anything").await.unwrap(), None, "the third attempt succeeds");
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let (url, calls) = throttling_server(usize::MAX);
    let api = CloudFront::new(&settings(url)).await;
    let err = api.find_public_key("anything").await.unwrap_err().to_string();
    assert_eq!(calls.load(Ordering::SeqCst), 3, "gives up after max_attempts");
    assert!(err.contains("ListPublicKeys") && err.contains("Throttling"), "{err}");
}
