//! Buying posts, and refunding the sales.

use actix_web::{HttpRequest, get, post, web};
use common::respond::Made;
use common::user_auth::AuthUser;

use crate::error::PostError;
use crate::money::PurchaseId;
use crate::money::limits::Action;
use crate::money::purchases::{Outcome, Party, Refunder};
use crate::money::routes::idempotency_key;
use crate::money::types::{PurchaseList, PurchaseView};
use crate::posts::views::Access;
use crate::safety::visibility::ensure_seen;
use crate::service::Service;
use common::contract::media::Grant;
use common::ids::PostId;

fn made(outcome: Outcome) -> Made<PurchaseView> {
    match outcome {
        Outcome::New(record) => Made::New(record.into()),
        Outcome::Existing(record) => Made::Existing(record.into()),
    }
}

#[utoipa::path(tag = "posts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The post id"), ("Idempotency-Key" = String, Header, description = "Chosen by the client; a retry with the same key buys once")),
    responses((status = 201, description = "Bought", body = PurchaseView),
              (status = 200, description = "Already bought (or this key's purchase, even if since refunded): nothing charged again", body = PurchaseView),
              (status = 402, description = "Not enough money in the wallet"),
              (status = 404, description = "No such post"),
              (status = 409, description = "A free post, your own, or one none of whose photos can be delivered any more (all taken down or deleted: see `photos_available`)"),
              (status = 422, description = "The key was used for another post"),
              (status = 429, description = "More purchases this minute than allowed (`POST_PURCHASES_PER_MINUTE`)")))]
#[post("/v1/posts/{id}/purchase")]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, post_id = %id))]
pub(crate) async fn purchase(
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<PostId>,
    service: web::Data<Service>,
) -> Result<Made<PurchaseView>, PostError> {
    let key = idempotency_key(&req)?;
    let post = service.posts.live(&id).await?;
    if post.author_id == user.user_id {
        return Err(PostError::Conflict("This is your own post."));
    }
    // Nothing is sold across a block, or by a suspended creator.
    ensure_seen(&service, Some(&user.user_id), &post.author_id, PostError::NotFound).await?;
    if post.price_cents == 0 {
        return Err(PostError::Conflict("This post is free."));
    }
    // Nothing is sold that cannot be delivered; a post with some photos
    // left says how many (`photos_available`) before anyone pays.
    if post.deliverable_photos() == 0 {
        return Err(PostError::Conflict("None of this post's photos can be delivered any more."));
    }
    service.money.limits.admit(Action::Purchase, &user.user_id).await?;
    let outcome = service.money.purchases.buy(&user.user_id, &post, key).await?;
    if let Outcome::New(purchase) = &outcome {
        // The buyer's marked copies, made while the page reloads: only
        // queued here, so the purchase answers no later (a view makes any
        // copy still missing).
        let access = Access::Bought { purchase_id: purchase.id.clone(), buyer_id: user.user_id.clone() };
        let renderer = service.clone().into_inner();
        actix_web::rt::spawn(async move { renderer.renderer.prepare_copies(&post, access).await });
    }
    Ok(made(outcome))
}

#[utoipa::path(tag = "wallet", security(("bearer" = [])),
    responses((status = 200, description = "Your purchases, newest first", body = PurchaseList)))]
#[get("/v1/purchases")]
pub(crate) async fn list(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<PurchaseList>, PostError> {
    let records = service.money.purchases.recent(Party::Buyer, &user.user_id, 50).await?;
    Ok(web::Json(PurchaseList { purchases: records.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(tag = "wallet", security(("bearer" = [])),
    params(("id" = String, Path, description = "The purchase id (from the creator's `GET /v1/earnings`)")),
    responses((status = 201, description = "Refunded: the buyer has the price back and no longer sees the photos", body = PurchaseView),
              (status = 200, description = "Refunded before: nothing moved again", body = PurchaseView),
              (status = 403, description = "Not the post's creator, nor an admin"),
              (status = 404, description = "No such purchase"),
              (status = 409, description = "The creator's earnings no longer hold their share of it (paid out)"),
              (status = 429, description = "More refunds this minute than allowed (`POST_REFUNDS_PER_MINUTE`)")))]
#[post("/v1/purchases/{id}/refund")]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, purchase_id = %id))]
pub(crate) async fn refund(
    user: AuthUser,
    id: web::Path<PurchaseId>,
    service: web::Data<Service>,
) -> Result<Made<PurchaseView>, PostError> {
    service.money.limits.admit(Action::Refund, &user.user_id).await?;
    let by = Refunder { user_id: &user.user_id, admin: user.is_admin() };
    let outcome = service.money.purchases.refund(&id, by).await?;
    if let Outcome::New(refunded) = &outcome {
        service.copies.release(refunded.buyer_id.clone(), Grant::Purchase(refunded.id.clone()));
    }
    Ok(made(outcome))
}
