//! The API document: every route it lists is served, the
//! stack serves it with an offline viewer, and schemathesis, fuzzing every
//! operation with a signed-in user, finds no 5xx and no answer that breaks
//! the document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::Client;
use serde_json::{Value, json};
use testkit::http::JsonAnswer;

mod support;

fn documented(json: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in json["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                routes.insert((method.to_owned(), path.clone()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_documented_route_is_served() {
    // Served and documented come from one list of handlers, each with its
    // method and path written once (scripts/check-layers holds every routed
    // handler to that list); here each documented route must reach its
    // handler through the public address: one the router does not know
    // answers "No route for …".
    let stack = support::start_stack().await;
    let document = devstack::openapi::document(&stack.public_url);
    let documented = documented(&document);
    assert!(documented.len() >= 40, "{} routes documented", documented.len());
    let client = Client::new();
    for (method, path) in &documented {
        let url = format!("{}{}", stack.public_url, path.replace(['{', '}'], ""));
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let answer = client.request(method.clone(), &url).send().await.unwrap();
        let status = answer.status();
        let body = answer.text().await.unwrap();
        assert!(!body.contains("No route for"), "{method} {path} is not routed: {status} {body}");
        assert!(status.as_u16() < 500, "{method} {path}: {status} {body}");
    }

    // The stack serves it, OpenAPI 3.1, with problem+json errors and the bearer scheme.
    let served: Value = client.get(format!("{}/openapi.json", stack.public_url)).json_answer().await;
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let purchase = &served["paths"]["/v1/posts/{id}/purchase"]["post"];
    assert!(
        purchase["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
    );
    assert!(purchase["responses"]["402"]["content"]["application/problem+json"].is_object());
    // Every link leads to an operation that exists.
    let operation_ids: BTreeSet<&str> = served["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation.get("operationId")?.as_str())
        .collect();
    let links: Vec<&str> = served["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation.get("responses")?.as_object())
        .flat_map(|responses| responses.values())
        .filter_map(|response| response.get("links")?.as_object())
        .flat_map(|links| links.values())
        .map(|link| link["operationId"].as_str().unwrap())
        .collect();
    assert!(links.len() >= 5);
    assert!(links.iter().all(|id| operation_ids.contains(id)), "{links:?} not all in {operation_ids:?}");
    // The viewer works offline: every script and style it loads comes from the stack.
    let docs = client.get(format!("{}/docs/", stack.public_url)).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no CDN assets: {html}");
    let bundle = client.get(format!("{}/docs/swagger-ui-bundle.js", stack.public_url)).send().await.unwrap();
    assert_eq!(bundle.status(), 200);
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let schemathesis = root.join(".tools/schemathesis/bin/schemathesis");
    assert!(schemathesis.exists(), "{} is missing: run scripts/bootstrap", schemathesis.display());
    let stack = support::start_stack().await;
    let public = stack.public_url.clone();
    let client = Client::new();

    // Data for the fuzzer to find: an author with a free and a paid post, and
    // a signed-in fuzzing user with money, a photo of their own and a follow.
    let author = testkit::users::sign_up(&public, "author").await.token;
    let fuzzer = testkit::users::sign_up(&public, "fuzzer").await.token;
    let mut posts = Vec::new();
    for price in [0, 150] {
        let photo = support::story::upload(&client, &public, &author, price as u32 + 1).await;
        let body = json!({ "caption": "seed", "media_ids": [photo], "price_cents": price });
        let post: Value =
            client.post(format!("{public}/v1/posts")).bearer_auth(&author).json(&body).json_answer().await;
        posts.push(post["id"].as_str().unwrap().to_owned());
    }
    let media = support::story::upload(&client, &public, &fuzzer, 9).await;
    client
        .post(format!("{public}/v1/wallet/dev-topup"))
        .bearer_auth(&fuzzer)
        .json(&json!({ "amount_cents": 100000 }))
        .send()
        .await
        .unwrap();
    client.post(format!("{public}/v1/users/author/follow")).bearer_auth(&fuzzer).send().await.unwrap();

    let output = tokio::time::timeout(
        std::time::Duration::from_secs(600),
        tokio::process::Command::new(&schemathesis)
            .arg("--config-file")
            .arg(root.join("services/devstack/tests/schemathesis.toml"))
            .args(["run", &format!("{public}/openapi.json")])
            .args(["--header", &format!("Authorization: Bearer {fuzzer}")])
            .args(["--checks", "not_a_server_error,response_schema_conformance"])
            .args(["--max-examples", "30", "--seed", "20261128", "--no-color"])
            .args(["--generation-with-security-parameters", "false"])
            .env("SHUTTER_FREE_POST", &posts[0])
            .env("SHUTTER_PAID_POST", &posts[1])
            .env("SHUTTER_MEDIA", &media)
            .env("SHUTTER_AUTHOR", "author")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("schemathesis finishes within 10 minutes")
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("passed"), "{report}");
}
