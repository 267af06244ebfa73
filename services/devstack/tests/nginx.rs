//! Production's load balancer config, checked here: Debian's nginx with
//! `deploy/nginx/routes.conf` in front of the locally running services, and
//! the new user's story driven through it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
}
