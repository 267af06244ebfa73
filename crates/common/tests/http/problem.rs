use actix_web::{HttpResponse, web};
use common::Problem;
use common::health::ReadinessChecks;
use common::problem::ProblemBody;
use serde::Deserialize;

use crate::helpers::{http, spawn_service};

#[derive(Deserialize)]
struct Greeting {
    #[allow(dead_code)]
    name: String,
}

async fn greet(_body: web::Json<Greeting>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn explode() -> Result<HttpResponse, Problem> {
    Err(Problem::internal(anyhow::anyhow!("connection to mongodb://root:s3cret@db refused")))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/greet", web::post().to(greet)).route("/explode", web::get().to(explode));
}

async fn problem_of(response: reqwest::Response) -> (u16, ProblemBody, String) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: ProblemBody = response.json().await.unwrap();
    assert_eq!(body.status, status);
    assert_eq!(
        body.request_id.as_ref().map(|id| id.as_str()),
        Some(request_id.as_str()),
        "the body quotes the request id"
    );
    (status, body, request_id)
}

#[tokio::test]
async fn every_kind_of_bad_request_is_answered_as_problem_json() {
    let base = spawn_service("problems", ReadinessChecks::default(), routes);
    let client = http();
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("unknown route", client.get(format!("{base}/nowhere")), 404),
        (
            "malformed JSON",
            client.post(format!("{base}/greet")).header("content-type", "application/json").body("{"),
            400,
        ),
        (
            "missing field",
            client.post(format!("{base}/greet")).header("content-type", "application/json").body("{}"),
            400,
        ),
        ("wrong content type", client.post(format!("{base}/greet")).body("name=x"), 415),
        (
            "oversized body",
            client
                .post(format!("{base}/greet"))
                .header("content-type", "application/json")
                .body(format!("{{\"name\":\"{}\"}}", "x".repeat(200 * 1024))),
            413,
        ),
    ];
    for (case, request, expected) in cases {
        let (status, body, _) = problem_of(request.send().await.unwrap()).await;
        assert_eq!(status, expected, "{case}: {body:?}");
        if case == "missing field" {
            assert!(
                body.detail.as_deref().unwrap().contains("`name`"),
                "the detail names the field: {body:?}"
            );
        }
        assert!(body.detail.is_some(), "{case}: a detail says what was wrong");
    }
}

#[tokio::test]
async fn internal_errors_never_reach_the_client() {
    let base = spawn_service("problems", ReadinessChecks::default(), routes);
    let response = http().get(format!("{base}/explode")).send().await.unwrap();
    let (status, body, _) = problem_of(response).await;
    assert_eq!(status, 500);
    let text = serde_json::to_string(&body).unwrap();
    assert!(!text.contains("s3cret") && !text.contains("mongodb"), "{text}");
}
