//! Posts: making one, seeing one as its viewer may, deleting one.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, post, web};
use common::contract::media::{MediaInfo, MediaStatus, media_path};
use common::ids::{Claimed, MediaId, PostId};
use common::internal_client::CallError;
use common::user_auth::{AuthUser, MaybeAuthUser};
use mongodb::bson::DateTime;

use crate::error::PostError;
use crate::money::subscriptions::tiers::MAX_TIERS;
use crate::posts::access::access_to;
use crate::posts::binding::ViewerRange;
use crate::posts::cookies::Delivered;
use crate::posts::store::{Audience, Photo, PostRecord};
use crate::posts::types::{CreatePost, PostView};
use crate::posts::views::Access;
use crate::safety::visibility::ensure_seen;
use crate::service::Service;

pub const MAX_CAPTION_CHARS: usize = 2200;
pub const MAX_PHOTOS: usize = 10;

/// A post's audience, its tier rank within 1–5.
fn checked_audience(audience: Audience) -> Result<Audience, PostError> {
    match audience {
        Audience::Subscribers { min_rank } if !(1..=MAX_TIERS).contains(&min_rank) => {
            Err(PostError::invalid("audience.min_rank", format!("must be 1 to {MAX_TIERS}")))
        }
        audience => Ok(audience),
    }
}

async fn photo_for(
    service: &Service,
    user: &AuthUser,
    index: usize,
    media_id: &MediaId,
) -> Result<Photo, PostError> {
    let field = format!("media_ids[{index}]");
    let info: MediaInfo = match service.media.get_json(&media_path(media_id)).await {
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
    if info.status != MediaStatus::Ready {
        return Err(PostError::invalid(field, "is not processed yet"));
    }
    let key = |name: &str| {
        info.variants
            .get(name)
            .map(|v| v.key.clone())
            .ok_or_else(|| PostError::invalid(&field, "has no derivatives"))
    };
    Ok(Photo {
        media_id: media_id.clone(),
        display_key: key("display")?,
        thumb_key: key("thumb")?,
        preview_key: key("preview")?,
        blurhash: info.blurhash,
        width: info.width.unwrap_or_default(),
        height: info.height.unwrap_or_default(),
        removed: false,
    })
}

#[utoipa::path(tag = "posts", security(("bearer" = [])), request_body = CreatePost,
    responses((status = 201, description = "The post, as its author sees it", body = PostView),
              (status = 422, description = "A caption, photo or price out of bounds (names the field)")))]
#[post("/v1/posts")]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
pub(crate) async fn create(
    user: AuthUser,
    viewer_range: ViewerRange,
    service: web::Data<Service>,
    body: web::Json<CreatePost>,
) -> Result<Delivered<PostView>, PostError> {
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
        .map(|(index, Claimed(id))| {
            id.clone().map_err(|err| PostError::invalid(format!("media_ids[{index}]"), err.to_string()))
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
    let mut post = PostRecord {
        id: PostId::mint(),
        author_id: user.user_id.clone(),
        caption: body.caption,
        price_cents,
        photos,
        created_at: DateTime::now(),
        deleted: false,
        like_count: 0,
        comment_count: 0,
        audience: checked_audience(body.audience)?,
    };
    service.posts.insert(&post).await?;
    // The post is written: a failure here must not make the client create it again.
    if let Err(err) = service.posts.apply_removals(&mut post).await {
        tracing::warn!(error = %err, post_id = %post.id, "could not look for photos removed meanwhile");
    }
    let rendered = service.renderer.render_one(&post, Access::Author, viewer_range.0).await;
    Ok(rendered.answer(StatusCode::CREATED, &service.renderer.cookies, |view| view))
}

/// Why `viewer` may (or may not) see `post`'s photos.
async fn access(
    service: &Service,
    viewer: Option<&AuthUser>,
    post: &PostRecord,
) -> Result<Access, PostError> {
    let viewer = viewer.map(|v| &v.user_id);
    let mut access = access_to(service, viewer, std::slice::from_ref(post)).await?;
    Ok(access.pop().unwrap_or(Access::Locked))
}

#[utoipa::path(tag = "posts", params(("id" = String, Path, description = "The post id")), security((), ("bearer" = [])),
    responses((status = 200, description = "The post, as this viewer may see it", body = PostView),
              (status = 401, description = "A token was given and is not valid"),
              (status = 404, description = "No such post (or deleted, for anyone but its author and buyers)")))]
#[get("/v1/posts/{id}")]
pub(crate) async fn get(
    viewer: MaybeAuthUser,
    viewer_range: ViewerRange,
    id: web::Path<PostId>,
    service: web::Data<Service>,
) -> Result<Delivered<PostView>, PostError> {
    let post = service.posts.get(&id).await?.ok_or(PostError::NotFound)?;
    let viewer_id = viewer.0.as_ref().map(|v| &v.user_id);
    ensure_seen(&service, viewer_id, &post.author_id, PostError::NotFound).await?;
    let access = access(&service, viewer.0.as_ref(), &post).await?;
    // A deleted post exists only for its author and its buyers.
    if post.deleted && !access.entitled() {
        return Err(PostError::NotFound);
    }
    let rendered = service.renderer.render_one(&post, access, viewer_range.0).await;
    Ok(rendered.answer(StatusCode::OK, &service.renderer.cookies, |view| view))
}

#[utoipa::path(tag = "posts", params(("id" = String, Path, description = "The post id")), security(("bearer" = [])),
    responses((status = 204, description = "Deleted (it stays visible to its buyers)"), (status = 404, description = "No such post of yours")))]
#[delete("/v1/posts/{id}")]
pub(crate) async fn delete(
    user: AuthUser,
    id: web::Path<PostId>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let post = service.posts.live(&id).await?;
    if post.author_id != user.user_id {
        return Err(PostError::NotFound);
    }
    service.posts.mark_deleted(&post.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
