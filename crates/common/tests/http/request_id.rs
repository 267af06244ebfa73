use actix_web::{HttpResponse, web};
use common::Problem;
use common::RequestId;
use common::health::ReadinessChecks;
use common::internal_auth::{AllowedCallers, ServiceCaller};
use common::internal_client::{ClientOptions, ServiceClient};
use serde_json::{Value, json};

use crate::helpers::{http, spawn_service};

/// The downstream service says which request id and caller it saw.
fn downstream(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(testkit::service::service_auth("downstream"))).service(
        web::resource("/internal/echo").app_data(AllowedCallers::new(["upstream"])).route(web::get().to(
            |caller: ServiceCaller, id: RequestId| async move {
                HttpResponse::Ok().json(json!({ "request_id": id, "caller": caller.name }))
            },
        )),
    );
}

/// The upstream service calls downstream while serving a request.
fn upstream(downstream_url: String) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    move |cfg: &mut web::ServiceConfig| {
        let client = ServiceClient::new(
            testkit::service::service_auth("upstream"),
            "downstream",
            downstream_url.clone(),
            ClientOptions::default(),
        )
        .unwrap();
        cfg.app_data(web::Data::new(client)).route(
            "/hop",
            web::get().to(|client: web::Data<ServiceClient>, id: RequestId| async move {
                let seen: Value = client.get_json("/internal/echo").await.map_err(Problem::internal)?;
                Ok::<_, Problem>(HttpResponse::Ok().json(json!({ "here": id, "downstream": seen })))
            }),
        );
    }
}

#[tokio::test]
async fn a_request_id_travels_across_two_services_and_comes_back() {
    let downstream_url = spawn_service("downstream", ReadinessChecks::default(), downstream);
    let upstream_url = spawn_service("upstream", ReadinessChecks::default(), upstream(downstream_url));

    let response =
        http().get(format!("{upstream_url}/hop")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "trace-42");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["here"], "trace-42");
    assert_eq!(body["downstream"]["request_id"], "trace-42");
    assert_eq!(body["downstream"]["caller"], "upstream");
}

#[tokio::test]
async fn a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one() {
    let downstream_url = spawn_service("downstream", ReadinessChecks::default(), downstream);
    let upstream_url = spawn_service("upstream", ReadinessChecks::default(), upstream(downstream_url));

    for incoming in [None, Some("evil id; <script>"), Some(&*"x".repeat(100))] {
        let mut request = http().get(format!("{upstream_url}/hop"));
        if let Some(id) = incoming {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.unwrap();
        let minted = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(minted.len(), 32, "a fresh id is minted: {minted}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["downstream"]["request_id"], minted.as_str());
    }
}
