//! The public API of this slice: posts, wallet, purchases.

use std::collections::{BTreeMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use common::ids::MediaId;
use common::internal_client::CallError;
use common::user_auth::{AuthUser, MaybeAuthUser};
use mongodb::bson::DateTime;
use serde::Deserialize;
use serde_json::json;

use crate::Service;
use crate::error::PostError;
use crate::money::Purchase;
use crate::posts::{Photo, PostRecord};
use crate::views::Visible;

pub const MAX_CAPTION_CHARS: usize = 2200;
pub const MAX_PHOTOS: usize = 10;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatePost {
    #[serde(default)]
    #[schema(max_length = 2200)]
    caption: String,
    /// Your own processed photos, 1 to 10, distinct.
    #[schema(min_items = 1, max_items = 10)]
    media_ids: Vec<String>,
    /// Any JSON number, so a negative or fractional price is answered
    /// naming the field rather than as a parse error.
    #[serde(default)]
    #[schema(value_type = Option<u64>, maximum = 100_000)]
    price_cents: Option<serde_json::Number>,
}

#[derive(Deserialize)]
struct MediaVariant {
    key: String,
}

#[derive(Deserialize)]
struct MediaInfo {
    owner_id: String,
    status: String,
    width: Option<u32>,
    height: Option<u32>,
    blurhash: Option<String>,
    variants: BTreeMap<String, MediaVariant>,
}

async fn photo_for(
    service: &Service,
    user: &AuthUser,
    index: usize,
    media_id: &MediaId,
) -> Result<Photo, PostError> {
    let field = format!("media_ids[{index}]");
    let info: MediaInfo = match service.media.get_json(&format!("/internal/v1/media/{media_id}")).await {
        Ok(info) => info,
        Err(err) if err.status().is_some_and(|s| s.as_u16() == 404) => {
            return Err(PostError::invalid(field, "no such media"));
        }
        Err(CallError::Unavailable { .. }) => return Err(PostError::Unavailable("media")),
        Err(err) => return Err(PostError::Internal(err.into())),
    };
    if info.owner_id != user.user_id {
        // Someone else's media is reported exactly like a missing one.
        return Err(PostError::invalid(field, "no such media"));
    }
    if info.status != "ready" {
        return Err(PostError::invalid(field, "is not processed yet"));
    }
    let key = |name: &str| {
        info.variants
            .get(name)
            .map(|v| v.key.clone())
            .ok_or_else(|| PostError::invalid(&field, "has no derivatives"))
    };
    Ok(Photo {
        media_id: media_id.to_string(),
        display_key: key("display")?,
        thumb_key: key("thumb")?,
        preview_key: key("preview")?,
        blurhash: info.blurhash,
        width: info.width.unwrap_or_default(),
        height: info.height.unwrap_or_default(),
        removed: false,
    })
}

#[utoipa::path(post, path = "/v1/posts", tag = "posts", security(("bearer" = [])), request_body = CreatePost,
    responses((status = 201, description = "The post, as its author sees it", body = crate::api::PostView),
              (status = 422, description = "A caption, photo or price out of bounds (names the field)")))]
pub(crate) async fn create(
    user: AuthUser,
    service: web::Data<Service>,
    body: web::Json<CreatePost>,
) -> Result<HttpResponse, PostError> {
    let body = body.into_inner();
    if body.caption.chars().count() > MAX_CAPTION_CHARS {
        return Err(PostError::invalid("caption", format!("is longer than {MAX_CAPTION_CHARS} characters")));
    }
    if body.media_ids.is_empty() || body.media_ids.len() > MAX_PHOTOS {
        return Err(PostError::invalid("media_ids", format!("must name 1 to {MAX_PHOTOS} photos")));
    }
    // Parsed into their one spelling before anything else sees them.
    let media_ids = body
        .media_ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            MediaId::parse(id)
                .map_err(|err| PostError::invalid(format!("media_ids[{index}]"), err.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if media_ids.iter().collect::<HashSet<_>>().len() != media_ids.len() {
        return Err(PostError::invalid("media_ids", "names a photo twice"));
    }
    let price_cents = match &body.price_cents {
        None => 0,
        Some(number) => number
            .as_u64()
            .ok_or_else(|| PostError::invalid("price_cents", "must be a whole number of cents, 0 or more"))?,
    };
    if price_cents > service.max_price_cents {
        return Err(PostError::invalid(
            "price_cents",
            format!("is over the maximum of {}", service.max_price_cents),
        ));
    }
    let mut photos = Vec::with_capacity(media_ids.len());
    for (index, media_id) in media_ids.iter().enumerate() {
        photos.push(photo_for(&service, &user, index, media_id).await?);
    }
    let post = PostRecord {
        id: uuid::Uuid::now_v7().simple().to_string(),
        author_id: user.user_id.clone(),
        caption: body.caption,
        price_cents,
        photos,
        created_at: DateTime::now(),
        deleted: false,
        like_count: 0,
        comment_count: 0,
    };
    service.posts.insert(&post).await?;
    let rendered = service.renderer.render(&[Visible { post: &post, entitled: true }]).await;
    Ok(HttpResponse::Created().json(&rendered[0]))
}

/// Whether `viewer` may see `post`'s photos: free, theirs, or bought.
async fn entitled(
    service: &Service,
    viewer: Option<&AuthUser>,
    post: &PostRecord,
) -> Result<bool, PostError> {
    let viewer = viewer.map(|v| v.user_id.as_str());
    // Only a viewer other than the author needs the entitlement lookup.
    let bought = match viewer {
        Some(id) if id != post.author_id => service.money.entitled(id, &post.id).await?,
        _ => false,
    };
    Ok(post.entitles(viewer, bought))
}

#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts", params(("id" = String, Path, description = "The post id")), security((), ("bearer" = [])),
    responses((status = 200, description = "The post, as this viewer may see it", body = crate::api::PostView),
              (status = 401, description = "A token was given and is not valid"),
              (status = 404, description = "No such post (or deleted, for anyone but its author and buyers)")))]
pub(crate) async fn get(
    viewer: MaybeAuthUser,
    id: web::Path<String>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let post = service.posts.get(&id).await?.ok_or(PostError::NotFound)?;
    let entitled = entitled(&service, viewer.0.as_ref(), &post).await?;
    // A deleted post exists only for its author and its buyers.
    if post.deleted && !entitled {
        return Err(PostError::NotFound);
    }
    let rendered = service.renderer.render(&[Visible { post: &post, entitled }]).await;
    Ok(HttpResponse::Ok().json(&rendered[0]))
}

#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts", params(("id" = String, Path, description = "The post id")), security(("bearer" = [])),
    responses((status = 204, description = "Deleted (it stays visible to its buyers)"), (status = 404, description = "No such post of yours")))]
pub(crate) async fn delete(
    user: AuthUser,
    id: web::Path<String>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let post = service.posts.get(&id).await?.filter(|p| !p.deleted).ok_or(PostError::NotFound)?;
    if post.author_id != user.user_id {
        return Err(PostError::NotFound);
    }
    service.posts.mark_deleted(&post.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/v1/posts/{id}/purchase", tag = "posts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The post id"), ("Idempotency-Key" = String, Header, description = "Chosen by the client; a retry with the same key buys once")),
    responses((status = 201, description = "Bought", body = crate::api::PurchaseView),
              (status = 200, description = "Already bought: nothing charged again", body = crate::api::PurchaseView),
              (status = 402, description = "Not enough money in the wallet"),
              (status = 404, description = "No such post"),
              (status = 409, description = "A free post, or your own"),
              (status = 422, description = "The key was used for another post")))]
pub(crate) async fn purchase(
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<String>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(|| {
            PostError::BadRequest("An Idempotency-Key header (1–128 characters) is required.".into())
        })?;
    let post = service.posts.get(&id).await?.filter(|p| !p.deleted).ok_or(PostError::NotFound)?;
    if post.author_id == user.user_id {
        return Err(PostError::Conflict("This is your own post."));
    }
    if post.price_cents == 0 {
        return Err(PostError::Conflict("This post is free."));
    }
    service.money.claim_key(&user.user_id, key, &post.id).await?;
    let (status, entitlement) = match service.money.purchase(&user.user_id, &post, key).await? {
        Purchase::New(e) => (actix_web::http::StatusCode::CREATED, e),
        Purchase::Existing(e) => (actix_web::http::StatusCode::OK, e),
    };
    Ok(HttpResponse::build(status).json(json!({
        "post_id": entitlement.post_id,
        "price_cents": entitlement.price_cents,
        "purchased_at": entitlement.created_at.try_to_rfc3339_string().unwrap_or_default(),
    })))
}

#[utoipa::path(get, path = "/v1/wallet", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, description = "Your balance and newest ledger entries", body = crate::api::WalletView)))]
pub(crate) async fn wallet(user: AuthUser, service: web::Data<Service>) -> Result<HttpResponse, PostError> {
    let balance_cents = service.money.balance(&user.user_id).await?;
    let ledger: Vec<_> = service
        .money
        .recent_ledger(&user.user_id, 20)
        .await?
        .into_iter()
        .map(|e| {
            json!({ "amount_cents": e.amount_cents, "kind": e.kind, "reference": e.reference,
                          "created_at": e.created_at.try_to_rfc3339_string().unwrap_or_default() })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "balance_cents": balance_cents, "ledger": ledger })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopUp {
    #[schema(minimum = 1, maximum = 1_000_000)]
    amount_cents: u64,
}

#[utoipa::path(post, path = "/v1/wallet/dev-topup", tag = "wallet", security(("bearer" = [])), request_body = TopUp,
    responses((status = 200, description = "The new balance", body = crate::api::Balance),
              (status = 404, description = "Not enabled (POST_DEV_TOPUP)"),
              (status = 422, description = "An amount of 0 or over the limit")))]
pub(crate) async fn dev_topup(
    user: AuthUser,
    service: web::Data<Service>,
    body: web::Json<TopUp>,
) -> Result<HttpResponse, PostError> {
    if !service.dev_topup {
        return Err(PostError::NotFound);
    }
    if body.amount_cents == 0 || body.amount_cents > 1_000_000 {
        return Err(PostError::invalid("amount_cents", "must be 1 to 1,000,000"));
    }
    let balance_cents = service.money.top_up(&user.user_id, body.amount_cents, "dev-topup", None).await?;
    Ok(HttpResponse::Ok().json(json!({ "balance_cents": balance_cents })))
}
