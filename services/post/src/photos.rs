//! What media asks post about photos (`common::contract::photos`): who
//! still has access to one (an owner may delete it only when nobody bought
//! it), and that one is gone.

use actix_web::web;
use common::contract::photos::{ACCESS, PhotoAccess, PhotoRemoved, REMOVED};
use common::ids::MediaId;
use common::internal_auth::ServiceCaller;

use crate::error::PostError;
use crate::service::Service;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(ACCESS.serve(access)).service(REMOVED.serve(removed));
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
