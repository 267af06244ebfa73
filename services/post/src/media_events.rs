//! What media tells post about photos: who still has access to one (an
//! owner may delete it only when nobody bought it), and that one is gone.

use actix_web::{HttpResponse, web};
use common::internal_auth::{AllowedCallers, ServiceCaller};
use serde_json::json;

use crate::Service;
use crate::error::PostError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/internal/v1/media/{id}/access")
            .app_data(AllowedCallers::new(["media"]))
            .route(web::get().to(access)),
    )
    .service(
        web::resource("/internal/v1/media/{id}/removed")
            .app_data(AllowedCallers::new(["media"]))
            .route(web::post().to(removed)),
    );
}

/// `{posts, has_buyers}`: the posts showing the photo and whether anyone bought one.
async fn access(
    _caller: ServiceCaller,
    id: web::Path<String>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let posts = service.posts.showing_media(&id).await?;
    let has_buyers = !posts.is_empty() && service.money.any_buyer(&posts).await?;
    Ok(HttpResponse::Ok().json(json!({ "posts": posts.len(), "has_buyers": has_buyers })))
}

/// Idempotent: marks the photo unavailable in every post showing it.
async fn removed(
    caller: ServiceCaller,
    id: web::Path<String>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let posts = service.posts.mark_media_removed(&id).await?;
    tracing::info!(target: "audit", caller = caller.name, media_id = %id, posts, "photo removed from posts");
    Ok(HttpResponse::Ok().json(json!({ "posts": posts })))
}
