//! CloudFront's invalidation API on edge: `CreateInvalidation`,
//! `GetInvalidation` and `ListInvalidations` at CloudFront's REST paths, so
//! `aws-sdk-cloudfront` (and media's takedowns, with
//! `CLOUDFRONT_ENDPOINT_URL` at edge) work unchanged. SigV4-authenticated
//! with the configured credentials. Only edge's internal address serves it:
//! the load balancer sends edge `/public/` and `/private/` alone.

pub mod paths;
pub mod sigv4;
pub mod store;
pub mod xml;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::SecondsFormat;
use serde::Deserialize;

use crate::cache::EdgeCache;
use crate::config::InvalidationSettings;
use paths::PathPattern;
use store::{Created, InvalidationRecord, Store};

pub const API_PREFIX: &str = "/2020-05-31/distribution";
/// CloudFront's limit per invalidation.
const MAX_PATHS: usize = 3000;
const MAX_BODY: usize = 1 << 20;

pub struct Invalidations {
    pub settings: InvalidationSettings,
    pub store: Store,
    pub cache: Option<Arc<EdgeCache>>,
}

/// Adds the API's routes (before edge's catch-all object route).
pub fn routes(cfg: &mut web::ServiceConfig, api: web::Data<Invalidations>) {
    cfg.service(
        web::scope(API_PREFIX)
            .app_data(api)
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/{distribution}/invalidation", web::post().to(create))
            .route("/{distribution}/invalidation", web::get().to(list))
            .route("/{distribution}/invalidation/{id}", web::get().to(get))
            .default_service(web::to(|| async {
                xml::error(StatusCode::NOT_FOUND, "NotFound", "No such operation.")
            })),
    );
}

/// Why a request may not go on, if it may not: the signature, then the
/// distribution (a stranger learns nothing of either).
fn refusal(req: &HttpRequest, body: &[u8], api: &Invalidations, distribution: &str) -> Option<HttpResponse> {
    let settings = &api.settings;
    if let Err(unsigned) =
        sigv4::verify(req, body, &settings.access_key_id, &settings.secret_access_key, SystemTime::now())
    {
        tracing::info!(reason = ?unsigned, "invalidation request refused");
        return Some(xml::error(StatusCode::FORBIDDEN, unsigned.code(), unsigned.message()));
    }
    (distribution != settings.distribution_id.as_str()).then(|| {
        xml::error(StatusCode::NOT_FOUND, "NoSuchDistribution", "The specified distribution does not exist.")
    })
}

fn unavailable(err: &anyhow::Error) -> HttpResponse {
    tracing::error!(error = %err, "invalidation store unavailable");
    xml::error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "Try again.")
}

fn invalid(code: &str, message: &str) -> HttpResponse {
    xml::error(StatusCode::BAD_REQUEST, code, message)
}

/// In progress until every replica has had time to look.
fn status(record: &InvalidationRecord, poll: Duration) -> &'static str {
    let age = SystemTime::now().duration_since(record.created_at.to_system_time()).unwrap_or_default();
    if age > poll + Duration::from_secs(1) { "Completed" } else { "InProgress" }
}

fn create_time(record: &InvalidationRecord) -> String {
    chrono::DateTime::<chrono::Utc>::from(record.created_at.to_system_time())
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn document(record: &InvalidationRecord, poll: Duration) -> xml::Invalidation {
    xml::Invalidation {
        xmlns: xml::NAMESPACE,
        id: record.id.clone(),
        status: status(record, poll),
        create_time: create_time(record),
        invalidation_batch: xml::BatchOut {
            paths: xml::PathsOut {
                quantity: record.paths.len(),
                items: xml::PathItems { path: record.paths.clone() },
            },
            caller_reference: record.caller_reference.clone(),
        },
    }
}

async fn create(
    req: HttpRequest,
    distribution: web::Path<(String,)>,
    body: web::Bytes,
    api: web::Data<Invalidations>,
) -> HttpResponse {
    let distribution = distribution.into_inner().0;
    if let Some(refused) = refusal(&req, &body, &api, &distribution) {
        return refused;
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return invalid("MalformedInput", "The body is not UTF-8.");
    };
    let batch: xml::BatchIn = match quick_xml::de::from_str(text) {
        Ok(batch) => batch,
        Err(_) => return invalid("MalformedInput", "The body is not an InvalidationBatch."),
    };
    let paths = batch.paths.items.unwrap_or_default().path;
    if usize::try_from(batch.paths.quantity).ok() != Some(paths.len()) {
        return invalid("InconsistentQuantities", "Quantity does not match the number of paths.");
    }
    if paths.is_empty() || paths.len() > MAX_PATHS {
        return invalid("InvalidArgument", "An invalidation names 1 to 3000 paths.");
    }
    let reference = batch.caller_reference.trim();
    if reference.is_empty() || reference.len() > 128 {
        return invalid("InvalidArgument", "CallerReference must be 1 to 128 characters.");
    }
    if let Err(problem) = paths.iter().map(|p| PathPattern::parse(p)).collect::<Result<Vec<_>, _>>() {
        return invalid("InvalidArgument", problem);
    }
    let record = match api.store.create(&api.settings.distribution_id, reference, paths).await {
        Ok(Created::New(record) | Created::Existing(record)) => record,
        Ok(Created::Conflict) => {
            return xml::error(
                StatusCode::CONFLICT,
                "InvalidationBatchAlreadyExists",
                "This CallerReference was used for other paths.",
            );
        }
        Err(err) => return unavailable(&err),
    };
    // This replica at once; the others within a poll.
    if let Some(cache) = &api.cache {
        api.store.apply(cache, &record);
    }
    let location = format!("{API_PREFIX}/{distribution}/invalidation/{}", record.id);
    let mut response =
        xml::respond(StatusCode::CREATED, "Invalidation", &document(&record, api.settings.poll));
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(actix_web::http::header::LOCATION, value);
    }
    response
}

async fn get(
    req: HttpRequest,
    ids: web::Path<(String, String)>,
    api: web::Data<Invalidations>,
) -> HttpResponse {
    let (distribution, id) = ids.into_inner();
    if let Some(refused) = refusal(&req, &[], &api, &distribution) {
        return refused;
    }
    match api.store.get(&distribution, &id).await {
        Ok(Some(record)) => {
            xml::respond(StatusCode::OK, "Invalidation", &document(&record, api.settings.poll))
        }
        Ok(None) => xml::error(
            StatusCode::NOT_FOUND,
            "NoSuchInvalidation",
            "The specified invalidation does not exist.",
        ),
        Err(err) => unavailable(&err),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<String>,
}

async fn list(
    req: HttpRequest,
    distribution: web::Path<(String,)>,
    api: web::Data<Invalidations>,
) -> HttpResponse {
    let distribution = distribution.into_inner().0;
    if let Some(refused) = refusal(&req, &[], &api, &distribution) {
        return refused;
    }
    let Ok(query) = web::Query::<ListQuery>::from_query(req.query_string()) else {
        return invalid("InvalidArgument", "Marker and MaxItems are the only parameters.");
    };
    let max_items = match query.max_items.as_deref().map(str::parse::<i64>) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return invalid("InvalidArgument", "MaxItems must be 1 to 1000."),
    };
    let marker = query.marker.as_deref().filter(|m| !m.is_empty());
    let mut records = match api.store.list(&distribution, marker, max_items + 1).await {
        Ok(records) => records,
        Err(err) => return unavailable(&err),
    };
    let is_truncated = records.len() as i64 > max_items;
    records.truncate(usize::try_from(max_items).unwrap_or(usize::MAX));
    let next_marker = is_truncated.then(|| records.last().map(|r| r.id.to_string())).flatten();
    let summaries: Vec<xml::Summary> = records
        .iter()
        .map(|r| xml::Summary {
            id: r.id.clone(),
            create_time: create_time(r),
            status: status(r, api.settings.poll),
        })
        .collect();
    let list = xml::InvalidationList {
        xmlns: xml::NAMESPACE,
        marker: marker.unwrap_or_default().to_owned(),
        next_marker,
        max_items,
        is_truncated,
        quantity: summaries.len(),
        items: xml::Summaries { summaries },
    };
    xml::respond(StatusCode::OK, "InvalidationList", &list)
}
