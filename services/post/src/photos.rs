//! What media asks post about photos (`common::contract::photos`): who
//! still has access to one (an owner may delete it only when nobody bought
//! it), that one is gone, and each leak trace made of one (written to the
//! audit log, once however often media tells it).

use actix_web::HttpResponse;
use actix_web::web;
use common::contract::photos::{ACCESS, PhotoAccess, PhotoRemoved, REMOVED, TRACED, Traced, Tracer};
use common::ids::MediaId;
use common::internal_auth::ServiceCaller;

use crate::error::PostError;
use crate::safety::audit::AuditRecord;
use crate::safety::{Action, AuditId, Target};
use crate::service::Service;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(ACCESS.serve(access)).service(REMOVED.serve(removed)).service(TRACED.serve(traced));
}

/// The posts showing the photo and whether anyone bought one.
async fn access(
    _caller: ServiceCaller,
    id: web::Path<MediaId>,
    service: web::Data<Service>,
) -> Result<web::Json<PhotoAccess>, PostError> {
    let posts = service.posts.showing_media(&id).await?;
    let has_buyers = !posts.is_empty() && service.money.purchases.any_buyer(&posts).await?;
    Ok(web::Json(PhotoAccess { posts: posts.len() as u64, has_buyers }))
}

/// Idempotent: marks the photo unavailable in every post showing it.
async fn removed(
    caller: ServiceCaller,
    media_id: web::Path<MediaId>,
    service: web::Data<Service>,
) -> Result<web::Json<PhotoRemoved>, PostError> {
    let posts = service.posts.mark_media_removed(&media_id).await?;
    tracing::info!(target: "audit", caller = caller.name, media_id = %media_id, posts, "photo removed from posts");
    Ok(web::Json(PhotoRemoved { posts }))
}

/// Writes a leak trace to the audit log: who traced which photo, whose it
/// is, and whom the mark named (the buyer), under the trace's own id.
async fn traced(
    _caller: ServiceCaller,
    media_id: web::Path<MediaId>,
    body: web::Json<Traced>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let trace = body.into_inner();
    let (actor_id, operator) = match trace.by {
        Tracer::User(user) => (Some(user), None),
        Tracer::Operator(name) => (None, Some(name)),
    };
    let reason = match (&trace.purchase_id, &trace.subscription_id, trace.confidence) {
        _ if !trace.found => "leak trace: no mark of a buyer found".to_owned(),
        (Some(purchase), _, confidence) => {
            format!("leak trace: the copy of purchase {purchase} (confidence {})", confidence.unwrap_or(0.0))
        }
        (_, Some(subscription), confidence) => format!(
            "leak trace: the copy of subscription {subscription} (confidence {})",
            confidence.unwrap_or(0.0)
        ),
        (None, None, _) => "leak trace: a buyer's copy".to_owned(),
    };
    let target = Target::Photo(media_id.into_inner());
    let record = AuditRecord {
        id: AuditId::parse(trace.trace_id.as_str())
            .map_err(|_| PostError::invalid("trace_id", "not an id"))?,
        actor_id,
        operator,
        action: Action::Trace,
        target_key: target.key(),
        target,
        owner_id: trace.owner_id,
        reason,
        subject_id: trace.buyer_id,
        request_id: trace.request_id,
        created_at: mongodb::bson::DateTime::from_millis(trace.at_ms),
    };
    service.safety.audit.append(&record, &service.notifications.outbox, []).await?;
    Ok(HttpResponse::NoContent().finish())
}
