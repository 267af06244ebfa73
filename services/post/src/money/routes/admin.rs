//! The books, for operators.

use actix_web::web;
use common::user_auth::AuthUser;

use crate::Service;
use crate::error::PostError;
use crate::money::reconcile::{self, Report};

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct ReconcileQuery {
    /// Also ask the provider about every credited top-up (slow).
    #[serde(default)]
    provider: bool,
}

#[utoipa::path(get, path = "/v1/admin/reconciliation", tag = "admin", security(("bearer" = [])), params(ReconcileQuery),
    responses((status = 200, description = "Whether the books agree, and where not", body = Report),
              (status = 403, description = "Not an admin")))]
pub(crate) async fn reconciliation(
    user: AuthUser,
    query: web::Query<ReconcileQuery>,
    service: web::Data<Service>,
) -> Result<web::Json<Report>, PostError> {
    if !user.is_admin() {
        return Err(PostError::Forbidden("Only an admin can see the books."));
    }
    Ok(web::Json(reconcile::run(&service.money, query.provider).await?))
}
