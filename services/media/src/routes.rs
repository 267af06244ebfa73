//! The public upload API and the internal lookup for post.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use common::internal_auth::{AllowedCallers, ServiceCaller};
use common::user_auth::{AuthUser, UserTokenVerifier};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::MediaError;
use crate::pipeline::Media;
use crate::processing::{Format, Rejection};
use crate::records::{MediaRecord, Removal, Status};

/// Services that may take media down (the moderation console).
pub const MODERATION_CALLERS: [&str; 1] = ["moderation"];
/// The role a person needs, in the access token the caller forwards.
pub const MODERATOR_ROLE: &str = "admin";
/// The header carrying the acting moderator's own access token.
pub const ACTING_USER: &str = "x-acting-user";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::api::configure_public)
        .service(
            web::resource("/internal/v1/media/{id}")
                .app_data(AllowedCallers::new(["post"]))
                .route(web::get().to(get_internal)),
        )
        .service(
            web::resource("/internal/v1/media/{id}/takedown")
                .app_data(AllowedCallers::new(MODERATION_CALLERS))
                .route(web::post().to(takedown)),
        );
}

#[derive(Serialize)]
struct VariantView {
    width: u32,
    height: u32,
    bytes: u64,
    content_type: String,
}

/// What the owner sees: no storage keys.
fn owner_view(record: &MediaRecord) -> serde_json::Value {
    let variants: BTreeMap<&str, VariantView> = record
        .variants
        .iter()
        .map(|(name, v)| {
            (
                name.as_str(),
                VariantView {
                    width: v.width,
                    height: v.height,
                    bytes: v.bytes,
                    content_type: v.content_type.clone(),
                },
            )
        })
        .collect();
    json!({
        "id": record.id,
        "status": record.status,
        "failure": record.failure,
        "width": record.width,
        "height": record.height,
        "blurhash": record.blurhash,
        "variants": variants,
        "created_at": record.created_at.try_to_rfc3339_string().unwrap_or_default(),
    })
}

/// Reads a body of at most `max` bytes into one buffer, refusing early when
/// `Content-Length` already says it is too large.
async fn read_limited<S, E>(
    mut stream: S,
    declared_len: Option<usize>,
    max: usize,
) -> Result<Bytes, MediaError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    if declared_len.is_some_and(|len| len > max) {
        return Err(Rejection::TooManyBytes { max }.into());
    }
    let mut body = BytesMut::with_capacity(declared_len.unwrap_or(64 * 1024).min(max));
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|err| MediaError::BadRequest(format!("the upload was interrupted: {err}")))?;
        if body.len() + chunk.len() > max {
            return Err(Rejection::TooManyBytes { max }.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[utoipa::path(post, path = "/v1/media", tag = "media", security(("bearer" = [])),
    request_body(description = "The image itself (JPEG, PNG or WebP; identified by its bytes), or a form with field `file`",
        content(("image/jpeg"), ("image/png"), ("image/webp"), (crate::api::UploadForm = "multipart/form-data"))),
    responses((status = 201, description = "Processed and stored", body = crate::api::MediaView),
              (status = 413, description = "Over MEDIA_MAX_BYTES"),
              (status = 415, description = "Not a JPEG, PNG or WebP"),
              (status = 422, description = "Too many pixels, truncated, or not the declared type")))]
pub(crate) async fn upload(
    user: AuthUser,
    req: HttpRequest,
    payload: web::Payload,
    media: web::Data<Media>,
) -> Result<HttpResponse, MediaError> {
    let max = media.limits.max_bytes;
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let declared_len = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
    let (bytes, declared) = if content_type.starts_with("multipart/form-data") {
        let mut form = Multipart::new(req.headers(), payload);
        let mut found = None;
        while let Some(field) = form.next().await {
            let field =
                field.map_err(|err| MediaError::BadRequest(format!("malformed multipart body: {err}")))?;
            if field.name() != Some("file") {
                continue;
            }
            let declared = field.content_type().map(|m| m.essence_str().to_owned());
            found = Some((
                read_limited(field, None, max).await?,
                declared.as_deref().and_then(Format::from_content_type),
            ));
            break;
        }
        found.ok_or_else(|| MediaError::BadRequest("the multipart body has no `file` field".into()))?
    } else {
        let declared = Format::from_content_type(content_type).ok_or(Rejection::Unsupported)?;
        (read_limited(payload, declared_len, max).await?, Some(declared))
    };
    let record = media.ingest(&user.user_id, bytes, declared).await?;
    Ok(HttpResponse::Created().json(owner_view(&record)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadRequest {
    /// `image/jpeg`, `image/png` or `image/webp`.
    content_type: String,
    /// Bytes, at most MEDIA_MAX_BYTES.
    #[schema(minimum = 1)]
    size: u64,
}

#[utoipa::path(post, path = "/v1/media/uploads", tag = "media", security(("bearer" = [])), request_body = UploadRequest,
    responses((status = 201, description = "A presigned PUT straight to storage, 10 minutes", body = crate::api::DirectUpload),
              (status = 413, description = "Over MEDIA_MAX_BYTES"),
              (status = 415, description = "Not a JPEG, PNG or WebP type")))]
pub(crate) async fn start_upload(
    user: AuthUser,
    body: web::Json<UploadRequest>,
    media: web::Data<Media>,
) -> Result<HttpResponse, MediaError> {
    let (record, upload_url, expires_at) =
        media.start_upload(&user.user_id, &body.content_type, body.size).await?;
    Ok(HttpResponse::Created().json(json!({
        "id": record.id,
        "upload_url": upload_url,
        "method": "PUT",
        "headers": { "content-type": record.upload.as_ref().map(|u| u.content_type.clone()) },
        "expires_at": expires_at.to_rfc3339(),
    })))
}

/// The caller's own media item; anyone else's does not exist for them.
async fn owned(media: &Media, user: &AuthUser, id: &str) -> Result<MediaRecord, MediaError> {
    match media.records.get(id).await? {
        Some(record) if record.owner_id == user.user_id => Ok(record),
        _ => Err(MediaError::NotFound),
    }
}

#[utoipa::path(post, path = "/v1/media/{id}/complete", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path, description = "The media id")),
    responses((status = 201, description = "Processed", body = crate::api::MediaView),
              (status = 200, description = "Already processed", body = crate::api::MediaView),
              (status = 404, description = "No such upload of yours"),
              (status = 409, description = "Failed or removed, not pending"),
              (status = 422, description = "The uploaded object is missing, of another size, or not an acceptable image")))]
pub(crate) async fn complete(
    user: AuthUser,
    id: web::Path<String>,
    media: web::Data<Media>,
) -> Result<HttpResponse, MediaError> {
    let record = owned(&media, &user, &id).await?;
    match record.status {
        Status::Ready => Ok(HttpResponse::Ok().json(owner_view(&record))),
        Status::Failed => Err(MediaError::NotPending("failed")),
        Status::TakenDown | Status::Deleted => Err(MediaError::NotPending("removed")),
        Status::Pending => Ok(HttpResponse::Created().json(owner_view(&media.complete(record).await?))),
    }
}

#[utoipa::path(get, path = "/v1/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path, description = "The media id")),
    responses((status = 200, description = "Your media item", body = crate::api::MediaView),
              (status = 404, description = "No such media of yours")))]
pub(crate) async fn get_own(
    user: AuthUser,
    id: web::Path<String>,
    media: web::Data<Media>,
) -> Result<HttpResponse, MediaError> {
    Ok(HttpResponse::Ok().json(owner_view(&owned(&media, &user, &id).await?)))
}

async fn get_internal(
    _caller: ServiceCaller,
    id: web::Path<String>,
    media: web::Data<Media>,
) -> Result<HttpResponse, MediaError> {
    let record = media.records.get(&id).await?.ok_or(MediaError::NotFound)?;
    Ok(HttpResponse::Ok().json(json!({
        "id": record.id,
        "owner_id": record.owner_id,
        "status": record.status,
        "width": record.width,
        "height": record.height,
        "blurhash": record.blurhash,
        "variants": record.variants,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TakedownRequest {
    reason: String,
}

/// The moderator behind a takedown: a service credential alone is not
/// enough, a person with the admin role must be named by their own token.
async fn moderator(req: &HttpRequest, users: &UserTokenVerifier) -> Result<String, MediaError> {
    let token =
        req.headers().get(ACTING_USER).and_then(|v| v.to_str().ok()).ok_or(MediaError::NotModerator)?;
    let token = token.strip_prefix("Bearer ").unwrap_or(token);
    match users.verify(token).await {
        Ok(claims) if claims.roles.iter().any(|role| role == MODERATOR_ROLE) => Ok(claims.sub),
        _ => Err(MediaError::NotModerator),
    }
}

async fn takedown(
    caller: ServiceCaller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<TakedownRequest>,
    media: web::Data<Media>,
    users: web::Data<UserTokenVerifier>,
) -> Result<HttpResponse, MediaError> {
    let moderator = moderator(&req, &users).await?;
    let reason = body.into_inner().reason;
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        return Err(MediaError::BadRequest("`reason` must be 1 to 500 characters".into()));
    }
    let removal = Removal {
        by: format!("{moderator} via {}", caller.name),
        reason,
        at: mongodb::bson::DateTime::now(),
    };
    let record = media.remove(&id, Status::TakenDown, removal).await?;
    Ok(HttpResponse::Ok().json(json!({ "id": record.id, "status": record.status })))
}

/// `{has_buyers}` from post: whether anyone bought a post showing this photo.
#[derive(Deserialize)]
struct Access {
    has_buyers: bool,
}

/// An owner deletes their photo, unless someone paid to see it.
#[utoipa::path(delete, path = "/v1/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path, description = "The media id")),
    responses((status = 204, description = "Deleted, with every stored object"),
              (status = 404, description = "No such media of yours"),
              (status = 409, description = "Someone who bought a post showing it still has access, or an unfinished upload")))]
pub(crate) async fn delete_own(
    user: AuthUser,
    id: web::Path<String>,
    media: web::Data<Media>,
) -> Result<HttpResponse, MediaError> {
    let record = owned(&media, &user, &id).await?;
    if !record.status.is_removed() {
        let post = media
            .removals
            .post
            .as_ref()
            .ok_or_else(|| MediaError::PostUnavailable("POST_URL is not configured".into()))?;
        let access: Access = post
            .get_json(&format!("/internal/v1/media/{}/access", record.id))
            .await
            .map_err(|err| MediaError::PostUnavailable(err.to_string()))?;
        if access.has_buyers {
            return Err(MediaError::Conflict(
                "People who bought a post with this photo still have access to it, so it cannot be deleted."
                    .into(),
            ));
        }
    }
    let removal = Removal {
        by: user.user_id.clone(),
        reason: "deleted by its owner".into(),
        at: mongodb::bson::DateTime::now(),
    };
    media.remove(&record.id, Status::Deleted, removal).await?;
    Ok(HttpResponse::NoContent().finish())
}
