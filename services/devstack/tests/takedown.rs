//! Removing photos across the services: a moderator's takedown (media
//! deletes the objects, post shows the photo as unavailable, the cache is
//! invalidated once through CloudFront's API — edge's, in the dev stack — so
//! a cached copy stops being served) and an owner's deletion, refused while
//! a buyer still has access.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use devstack::Stack;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

mod support;

struct Api {
    stack: Stack,
    http: Client,
}

impl Api {
    async fn sign_up(&self, name: &str) -> String {
        testkit::users::sign_up(&self.stack.public_url, name).await.token
    }

    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request =
            self.http.request(method, format!("{}{path}", self.stack.public_url)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if path.ends_with("/purchase") {
            request = request.header("idempotency-key", "k1");
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn upload(&self, token: &str, scene: u32) -> String {
        support::story::upload(&self.http, &self.stack.public_url, token, scene).await
    }

    async fn post(&self, token: &str, media_id: &str, price_cents: u64) -> Value {
        let body = json!({ "caption": "x", "media_ids": [media_id], "price_cents": price_cents });
        let (status, post) = self.call(token, reqwest::Method::POST, "/v1/posts", Some(body)).await;
        assert_eq!(status, 201);
        post
    }

    /// Calls media's takedown as the service `caller`, for `acting` (an access token).
    async fn takedown(&self, caller: &str, acting: Option<&str>, media_id: &str) -> StatusCode {
        let auth = self.stack.internal_keys.caller(caller).unwrap();
        let mut request = self
            .http
            .post(format!("{}/internal/v1/media/{media_id}/takedown", self.stack.media))
            .bearer_auth(
                auth.mint(common::internal_auth::Call {
                    target: "media",
                    method: "POST",
                    path: &format!("/internal/v1/media/{media_id}/takedown"),
                })
                .unwrap(),
            )
            .json(&json!({ "reason": "copyright claim #42" }));
        if let Some(token) = acting {
            request = request.header("x-acting-user", token);
        }
        request.send().await.unwrap().status()
    }

    /// Objects in the bucket whose key names `media_id`.
    async fn objects_of(&self, media_id: &str) -> Vec<String> {
        let s3 = common::s3::client(&self.stack.s3).await;
        let listed = s3.list_objects_v2().bucket(&self.stack.s3.bucket).send().await.unwrap();
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter(|k| k.contains(media_id))
            .map(str::to_owned)
            .collect()
    }

    /// A moderator: an account given the admin role in auth's database, signed in again.
    async fn moderator(&self, name: &str) -> String {
        let mongo = mongodb::Client::with_uri_str(&self.stack.mongodb_uri).await.unwrap();
        testkit::users::moderator(&self.stack.public_url, &mongo.database("shutter_auth"), name).await
    }

    /// The invalidations media made, as `(caller reference, paths)`, read
    /// through CloudFront's API where media sent them.
    async fn invalidations(&self) -> Vec<(String, Vec<String>)> {
        let settings = &self.stack.invalidation;
        let cloudfront = cloudfront_api::CloudFront::new(&settings.api).await;
        let client = cloudfront.client();
        let listed = client
            .list_invalidations()
            .distribution_id(settings.distribution_id.as_str())
            .send()
            .await
            .unwrap();
        let mut found = Vec::new();
        for summary in listed.invalidation_list.and_then(|l| l.items).unwrap_or_default() {
            let got = client
                .get_invalidation()
                .distribution_id(settings.distribution_id.as_str())
                .id(summary.id)
                .send()
                .await
                .unwrap();
            let batch = got.invalidation.unwrap().invalidation_batch.unwrap();
            found.push((batch.caller_reference, batch.paths.and_then(|p| p.items).unwrap_or_default()));
        }
        found
    }

    /// Polls post until the photo of `post_id` shows as unavailable to `token`.
    async fn until_unavailable(&self, token: &str, post_id: &str) -> Value {
        for _ in 0..100 {
            let (_, post) =
                self.call(token, reqwest::Method::GET, &format!("/v1/posts/{post_id}"), None).await;
            if post["photos"][0]["unavailable"] == true {
                return post;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("post {post_id} still shows its photo");
    }
}

#[tokio::test]
async fn a_takedown_removes_the_photo_everywhere_and_invalidates_once() {
    // Keeps cookies, as a browser: bob's copy comes by his cookie.
    let http = Client::builder().cookie_store(true).build().unwrap();
    let api = Api { stack: support::start_stack().await, http };
    let alice = api.sign_up("alice").await;
    let bob = api.sign_up("bob").await;
    let moderator = api.moderator("mod").await;

    let paid_media = api.upload(&alice, 1).await;
    let paid = api.post(&alice, &paid_media, 300).await;
    let paid_id = paid["id"].as_str().unwrap();
    api.call(&bob, reqwest::Method::POST, "/v1/wallet/dev-topup", Some(json!({ "amount_cents": 1000 })))
        .await;
    let (status, _) =
        api.call(&bob, reqwest::Method::POST, &format!("/v1/posts/{paid_id}/purchase"), None).await;
    assert_eq!(status, 201);
    let (_, bought) = api.call(&bob, reqwest::Method::GET, &format!("/v1/posts/{paid_id}"), None).await;
    let bobs_url = bought["photos"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(api.http.get(&bobs_url).send().await.unwrap().status(), 200);
    let cached = api.http.get(&bobs_url).send().await.unwrap();
    assert_eq!(cached.headers()["x-cache"], "Hit from edge", "edge holds a copy");

    // The owner cannot delete what a buyer paid for.
    let (status, problem) =
        api.call(&alice, reqwest::Method::DELETE, &format!("/v1/media/{paid_media}"), None).await;
    assert_eq!(status, 409, "{problem}");

    // Only the moderation console or post's moderation queue, acting for a moderator, may take it down.
    assert_eq!(api.takedown("post", Some(&bob), &paid_media).await, 403, "post, for someone who is not one");
    assert_eq!(api.takedown("moderation", None, &paid_media).await, 403, "no person named");
    assert_eq!(api.takedown("moderation", Some(&bob), &paid_media).await, 403, "not a moderator");
    // Four derivatives and Bob's own marked display and thumbnail.
    assert_eq!(api.objects_of(&paid_media).await.len(), 6, "nothing removed by refused calls");

    assert_eq!(api.takedown("moderation", Some(&moderator), &paid_media).await, 200);
    assert!(api.objects_of(&paid_media).await.is_empty(), "every object deleted");
    let shown = api.until_unavailable(&bob, paid_id).await;
    assert!(shown["photos"][0].get("url").is_none(), "no URL for a removed photo: {shown}");

    // One invalidation, named after the media id, for every path; a repeated takedown adds none.
    let reference = cloudfront_api::caller_reference(&["media-removal", &paid_media]);
    let mut invalidations = Vec::new();
    for _ in 0..50 {
        invalidations = api.invalidations().await;
        if !invalidations.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let gone = api.http.get(&bobs_url).send().await.unwrap();
    assert_eq!(gone.status(), 404, "the cached copy went with the invalidation: the old URL finds nothing");
    assert_eq!(invalidations.len(), 1);
    assert_eq!(invalidations[0].0, reference);
    assert_eq!(invalidations[0].1.len(), 6, "Bob's marked copies too");
    assert!(invalidations[0].1.iter().all(|p| p.starts_with('/') && p.contains(&paid_media)));
    assert_eq!(api.takedown("moderation", Some(&moderator), &paid_media).await, 200, "idempotent");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(api.invalidations().await.len(), 1);

    // An unbought photo in a free post: its owner may delete it.
    let free_media = api.upload(&alice, 2).await;
    let free = api.post(&alice, &free_media, 0).await;
    let (status, _) =
        api.call(&alice, reqwest::Method::DELETE, &format!("/v1/media/{free_media}"), None).await;
    assert_eq!(status, 204);
    assert!(api.objects_of(&free_media).await.is_empty());
    api.until_unavailable(&bob, free["id"].as_str().unwrap()).await;
    let (status, _) =
        api.call(&alice, reqwest::Method::DELETE, &format!("/v1/media/{free_media}"), None).await;
    assert_eq!(status, 204, "deleting twice is fine");
}
