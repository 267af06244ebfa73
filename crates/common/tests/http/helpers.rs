use actix_web::web;
use common::health::ReadinessChecks;
use common::server::{self, HttpSettings};

/// Starts a service named `name` with `routes` on port 0; returns its base URL.
pub fn spawn_service<F>(name: &'static str, readiness: ReadinessChecks, routes: F) -> String
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    testkit::init_logging();
    let app = server::start(name, &HttpSettings::ephemeral(), readiness, routes).expect("service starts");
    testkit::service::spawn(app)
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}
