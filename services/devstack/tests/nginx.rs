//! Production's load balancer config, checked here: Debian's nginx with
//! `deploy/nginx/routes.conf` in front of the locally running services, and
//! the new user's story driven through it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testkit::http::JsonAnswer;

mod support;

#[tokio::test]
async fn the_public_api_works_through_nginx_with_the_production_routes() {
    let nginx = support::nginx::start().await;
    let public = &nginx.stack.public_url;
    let page = reqwest::get(format!("{public}/")).await.unwrap();
    assert_eq!(page.status(), 200, "{}", std::fs::read_to_string(&nginx.errors).unwrap_or_default());
    assert!(page.text().await.unwrap().contains("<title>Shutter</title>"));
    // nginx names each request; the service behind it answers with that id.
    let jwks = reqwest::get(format!("{public}/.well-known/jwks.json")).await.unwrap();
    let id = jwks.headers().get("x-request-id").unwrap().to_str().unwrap();
    assert_eq!(id.len(), 32, "nginx's $request_id: {id}");
    support::story::new_user_story(&nginx.stack).await;

    // A presigned upload, made for and sent through nginx (clients cannot reach the bucket).
    let token = testkit::users::sign_up(public, "uploader").await.token;
    let photo = devstack::seed::scene_jpeg(4, 640, 480).unwrap();
    let http = reqwest::Client::new();
    let upload: serde_json::Value = http
        .post(format!("{public}/v1/media/uploads"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "content_type": "image/jpeg", "size": photo.len() }))
        .json_answer()
        .await;
    let url = upload["upload_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{public}/shutter-media/incoming/")), "{url}");
    let put = http.put(url).header("content-type", "image/jpeg").body(photo).send().await.unwrap();
    assert!(put.status().is_success(), "PUT through nginx: {}", put.text().await.unwrap());
    let id = upload["id"].as_str().unwrap();
    let complete =
        http.post(format!("{public}/v1/media/{id}/complete")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(complete.status(), 201);
    // nginx passes uploads only: no reading the bucket through it.
    assert_eq!(http.get(url).send().await.unwrap().status(), 403);
}

/// Kubernetes' gateway serves no page: a path no route names is a plain
/// 404 there (once a rewrite loop answered 500 and paged an operator), and
/// the API behind it still works.
#[tokio::test]
async fn without_a_page_unrouted_paths_are_404_not_500() {
    let nginx = support::nginx::start_with(support::nginx::WebPage::None).await;
    let public = &nginx.stack.public_url;
    for path in ["/", "/metrics", "/index.html", "/healthz", "/v2/anything", "/favicon.ico"] {
        let status = reqwest::get(format!("{public}{path}")).await.unwrap().status();
        assert_eq!(status, 404, "{path}: {}", std::fs::read_to_string(&nginx.errors).unwrap_or_default());
    }
    assert_eq!(reqwest::get(format!("{public}/.well-known/jwks.json")).await.unwrap().status(), 200);
    let errors = std::fs::read_to_string(&nginx.errors).unwrap_or_default();
    assert!(!errors.contains("cycle"), "no redirection cycle: {errors}");
}
