//! The books and the outflows that need a person, for operators.

use actix_web::{get, post, put, web};
use common::ids::UserId;
use common::user_auth::AuthUser;
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::money::OutflowId;
use crate::money::outflows::OutflowKind;
use crate::money::reconcile::{self, Report};
use crate::money::types::OutflowView;
use crate::service::Service;

fn admin_only(user: &AuthUser) -> Result<(), PostError> {
    match user.is_admin() {
        true => Ok(()),
        false => Err(PostError::Forbidden("Only an admin can see the books.")),
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct ReconcileQuery {
    /// Also ask the provider about every credited top-up (slow).
    #[serde(default)]
    provider: bool,
}

#[utoipa::path(tag = "admin", security(("bearer" = [])), params(ReconcileQuery),
    responses((status = 200, description = "Whether the books agree, and where not", body = Report),
              (status = 403, description = "Not an admin")))]
#[get("/v1/admin/reconciliation")]
pub(crate) async fn reconciliation(
    user: AuthUser,
    query: web::Query<ReconcileQuery>,
    service: web::Data<Service>,
) -> Result<web::Json<Report>, PostError> {
    admin_only(&user)?;
    Ok(web::Json(reconcile::run(&service.money, query.provider).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReviewItem {
    #[serde(flatten)]
    outflow: OutflowView,
    kind: OutflowKind,
    user_id: UserId,
    /// Requests sent to the provider for it, all with the outflow's id as the key.
    attempts: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReviewQueue {
    /// Payouts and card refunds the provider never settled while their key
    /// was valid, oldest first: check each with the provider, then resolve it.
    outflows: Vec<ReviewItem>,
}

#[utoipa::path(tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "The outflows waiting for an operator", body = ReviewQueue),
              (status = 403, description = "Not an admin"),
              (status = 404, description = "Payouts are not enabled here")))]
#[get("/v1/admin/outflows")]
pub(crate) async fn review_queue(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<ReviewQueue>, PostError> {
    admin_only(&user)?;
    let records = service.money.payments()?.outflows.in_review(100).await?;
    let outflows = records
        .into_iter()
        .map(|r| ReviewItem {
            kind: r.kind,
            user_id: r.user_id.clone(),
            attempts: r.attempts,
            outflow: r.into(),
        })
        .collect();
    Ok(web::Json(ReviewQueue { outflows }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Resolution {
    /// What the provider's dashboard shows: the money left (`true`), or it did not (`false`: it is put back).
    paid: bool,
    /// What the operator found, kept with the outflow.
    #[schema(max_length = 500)]
    note: String,
}

#[utoipa::path(tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "An outflow in review")), request_body = Resolution,
    responses((status = 204, description = "Settled as the operator said"),
              (status = 403, description = "Not an admin"),
              (status = 404, description = "No such outflow, or payouts are not enabled here"),
              (status = 409, description = "It is not in review (settled, or still being asked about)"),
              (status = 422, description = "A note that is empty or over 500 characters")))]
#[post("/v1/admin/outflows/{id}/resolution")]
pub(crate) async fn resolve(
    user: AuthUser,
    id: web::Path<OutflowId>,
    body: web::Json<Resolution>,
    service: web::Data<Service>,
) -> Result<actix_web::HttpResponse, PostError> {
    admin_only(&user)?;
    let outflows = &service.money.payments()?.outflows;
    let note = body.note.trim();
    if note.is_empty() || note.chars().count() > 500 {
        return Err(PostError::invalid("note", "must be 1 to 500 characters"));
    }
    if outflows.get(&id).await?.is_none() {
        return Err(PostError::PayoutNotFound);
    }
    if !outflows.resolve(&id, body.paid, &format!("operator {}: {note}", user.user_id)).await? {
        return Err(PostError::Conflict("This outflow is not in review."));
    }
    tracing::info!(target: "audit", outflow_id = %id.as_str(), paid = body.paid, operator = %user.user_id, "outflow resolved by an operator");
    Ok(actix_web::HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatorVerification {
    /// Whether payouts may go to this creator (their identity and bank account checked).
    verified: bool,
}

#[utoipa::path(tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The creator's user id")), request_body = CreatorVerification,
    responses((status = 200, description = "Recorded", body = CreatorVerification),
              (status = 403, description = "Not an admin"),
              (status = 404, description = "No such user")))]
#[put("/v1/admin/creators/{id}/verification")]
pub(crate) async fn verify_creator(
    user: AuthUser,
    creator: web::Path<common::ids::UserId>,
    body: web::Json<CreatorVerification>,
    service: web::Data<Service>,
) -> Result<web::Json<CreatorVerification>, PostError> {
    admin_only(&user)?;
    service.money.creators.set_verified(&creator, body.verified, &user.user_id).await?;
    tracing::info!(target: "audit", creator = %*creator, verified = body.verified, operator = %user.user_id, "creator verification");
    Ok(web::Json(CreatorVerification { verified: body.verified }))
}
