//! `/healthz` says the process is alive; `/readyz` says its dependencies
//! answer. A load balancer stops routing to a replica whose `/readyz` fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use futures_util::future::{BoxFuture, join_all};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency the service cannot work without.
pub trait ReadinessCheck: Send + Sync {
    fn name(&self) -> &'static str;
    fn check(&self) -> BoxFuture<'_, anyhow::Result<()>>;
}

#[derive(Clone, Default)]
pub struct ReadinessChecks(pub Vec<Arc<dyn ReadinessCheck>>);

impl ReadinessChecks {
    pub fn with(mut self, check: impl ReadinessCheck + 'static) -> Self {
        self.0.push(Arc::new(check));
        self
    }
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "alive" }))
}

pub async fn readyz(checks: web::Data<ReadinessChecks>) -> HttpResponse {
    let results = join_all(checks.0.iter().map(|check| async move {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check.check()).await {
            Ok(Ok(())) => "ok",
            Ok(Err(err)) => {
                tracing::warn!(dependency = check.name(), error = format!("{err:#}"), "not ready");
                "failing"
            }
            Err(_) => {
                tracing::warn!(dependency = check.name(), "readiness check timed out");
                "timeout"
            }
        };
        (check.name(), outcome)
    }))
    .await;
    let ready = results.iter().all(|(_, outcome)| *outcome == "ok");
    let checks: BTreeMap<_, _> = results.into_iter().collect();
    let body = serde_json::json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks });
    if ready { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
