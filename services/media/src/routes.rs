//! The public API: uploads (in the body or straight to storage), an
//! uploader's own photos, and their deletion.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use bytes::{Bytes, BytesMut};
use common::contract::photos::{PhotoAccess, access_path};
use common::ids::MediaId;
use common::respond::{Created, Made};
use common::user_auth::AuthUser;
use futures_util::{Stream, StreamExt};

use crate::error::MediaError;
use crate::pipeline::Media;
use crate::processing::{Format, Rejection};
use crate::records::{MediaRecord, MediaStatus, Removal};
use crate::types::{DirectUpload, MediaView, TraceResult, UploadForm, UploadHeaders, UploadRequest};

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

/// An image in a request body: raw (its type in `Content-Type`) or the
/// `file` field of a multipart form; at most `max` bytes.
async fn image_body(
    req: &HttpRequest,
    payload: web::Payload,
    max: usize,
) -> Result<(Bytes, Option<Format>), MediaError> {
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let declared_len = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
    let found = if content_type.starts_with("multipart/form-data") {
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
    Ok(found)
}

#[utoipa::path(tag = "media", security(("bearer" = [])),
    request_body(description = "The image itself (JPEG, PNG or WebP; identified by its bytes), or a form with field `file`",
        content(("image/jpeg"), ("image/png"), ("image/webp"), (UploadForm = "multipart/form-data"))),
    responses((status = 201, description = "Processed and stored", body = MediaView),
              (status = 413, description = "Over MEDIA_MAX_BYTES"),
              (status = 415, description = "Not a JPEG, PNG or WebP"),
              (status = 422, description = "Too many pixels, truncated, or not the declared type")))]
#[post("/v1/media")]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
pub(crate) async fn upload(
    user: AuthUser,
    req: HttpRequest,
    payload: web::Payload,
    media: web::Data<Media>,
) -> Result<Created<MediaView>, MediaError> {
    let (bytes, declared) = image_body(&req, payload, media.limits.max_bytes).await?;
    let record = media.ingest(&user.user_id, bytes, declared).await?;
    Ok(Created(MediaView::from(&record)))
}

#[utoipa::path(tag = "media", security(("bearer" = [])), request_body = UploadRequest,
    responses((status = 201, description = "A presigned PUT straight to storage, 10 minutes", body = DirectUpload),
              (status = 413, description = "Over MEDIA_MAX_BYTES"),
              (status = 415, description = "Not a JPEG, PNG or WebP type")))]
#[post("/v1/media/uploads")]
pub(crate) async fn start_upload(
    user: AuthUser,
    body: web::Json<UploadRequest>,
    media: web::Data<Media>,
) -> Result<Created<DirectUpload>, MediaError> {
    let (record, upload_url, expires_at) =
        media.start_upload(&user.user_id, &body.content_type, body.size).await?;
    let content_type = record.upload.as_ref().map(|u| u.content_type.clone()).unwrap_or_default();
    Ok(Created(DirectUpload {
        id: record.id,
        upload_url,
        method: "PUT",
        headers: UploadHeaders { content_type },
        expires_at: expires_at.to_rfc3339(),
    }))
}

/// The caller's own media item; anyone else's does not exist for them, nor
/// does an id that could be no media's.
async fn owned(media: &Media, user: &AuthUser, id: &MediaId) -> Result<MediaRecord, MediaError> {
    match media.records.get(id).await? {
        Some(record) if record.owner_id == user.user_id => Ok(record),
        _ => Err(MediaError::NotFound),
    }
}

#[utoipa::path(tag = "media", security(("bearer" = [])),
    params(("id" = String, Path, description = "The media id")),
    responses((status = 201, description = "Processed", body = MediaView),
              (status = 200, description = "Already processed", body = MediaView),
              (status = 404, description = "No such upload of yours"),
              (status = 409, description = "Failed or removed, not pending"),
              (status = 422, description = "The uploaded object is missing, of another size, or not an acceptable image")))]
#[post("/v1/media/{id}/complete")]
pub(crate) async fn complete(
    user: AuthUser,
    id: web::Path<MediaId>,
    media: web::Data<Media>,
) -> Result<Made<MediaView>, MediaError> {
    let record = owned(&media, &user, &id).await?;
    match record.status {
        MediaStatus::Ready => Ok(Made::Existing(MediaView::from(&record))),
        MediaStatus::Failed => Err(MediaError::NotPending("failed")),
        MediaStatus::TakenDown | MediaStatus::Deleted => Err(MediaError::NotPending("removed")),
        MediaStatus::Pending => Ok(Made::New(MediaView::from(&media.complete(record).await?))),
    }
}

#[utoipa::path(tag = "media", security(("bearer" = [])),
    params(("id" = String, Path, description = "The media id")),
    responses((status = 200, description = "Your media item", body = MediaView),
              (status = 404, description = "No such media of yours")))]
#[get("/v1/media/{id}")]
pub(crate) async fn get_own(
    user: AuthUser,
    id: web::Path<MediaId>,
    media: web::Data<Media>,
) -> Result<web::Json<MediaView>, MediaError> {
    Ok(web::Json(MediaView::from(&owned(&media, &user, &id).await?)))
}

/// An owner deletes their photo, unless someone paid to see it.
#[utoipa::path(tag = "media", security(("bearer" = [])),
    params(("id" = String, Path, description = "The media id")),
    responses((status = 204, description = "Deleted, with every stored object"),
              (status = 404, description = "No such media of yours"),
              (status = 409, description = "Someone who bought a post showing it still has access, or an unfinished upload")))]
#[delete("/v1/media/{id}")]
pub(crate) async fn delete_own(
    user: AuthUser,
    id: web::Path<MediaId>,
    media: web::Data<Media>,
) -> Result<HttpResponse, MediaError> {
    let record = owned(&media, &user, &id).await?;
    if !record.status.is_removed() {
        let post = media
            .removals
            .post
            .as_ref()
            .ok_or_else(|| MediaError::PostUnavailable("POST_URL is not configured".into()))?;
        let access: PhotoAccess = post
            .get_json(&access_path(&record.id))
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
        by: user.user_id.to_string(),
        reason: "deleted by its owner".into(),
        at: mongodb::bson::DateTime::now(),
    };
    media.remove(&record.id, MediaStatus::Deleted, removal).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "media", security(("bearer" = [])),
    params(("id" = String, Path, description = "The media id of your paid photo")),
    request_body(description = "The suspected leaked image, in any form an upload accepts",
        content(("image/jpeg"), ("image/png"), ("image/webp"), (UploadForm = "multipart/form-data"))),
    responses((status = 200, description = "Whose copy it is, or `found: false`", body = TraceResult),
              (status = 404, description = "No such photo of yours (moderators may trace any)"),
              (status = 413, description = "Over MEDIA_MAX_BYTES"),
              (status = 415, description = "Not a JPEG, PNG or WebP"),
              (status = 422, description = "Too many pixels, truncated, or not the declared type")))]
#[post("/v1/media/{id}/trace")]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
pub(crate) async fn trace(
    user: AuthUser,
    id: web::Path<MediaId>,
    req: HttpRequest,
    payload: web::Payload,
    media: web::Data<Media>,
) -> Result<web::Json<TraceResult>, MediaError> {
    let record = match media.records.get(&id).await? {
        Some(record) if record.owner_id == user.user_id || user.is_moderator() => record,
        _ => return Err(MediaError::NotFound),
    };
    if record.status != MediaStatus::Ready {
        return Err(MediaError::NotFound);
    }
    let (bytes, declared) = image_body(&req, payload, media.limits.max_bytes).await?;
    media.check(&bytes, declared)?;
    Ok(web::Json(media.trace(&record, bytes, user.user_id.as_str()).await?))
}
