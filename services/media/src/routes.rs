//! The public upload API and the internal lookup for post.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use common::internal_auth::{AllowedCallers, ServiceCaller};
use common::user_auth::AuthUser;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::MediaError;
use crate::pipeline::Media;
use crate::processing::{Format, Rejection};
use crate::records::{MediaRecord, Status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1/media")
            .route("", web::post().to(upload))
            .route("/uploads", web::post().to(start_upload))
            .route("/{id}/complete", web::post().to(complete))
            .route("/{id}", web::get().to(get_own)),
    )
    .service(
        web::resource("/internal/v1/media/{id}")
            .app_data(AllowedCallers::new(["post"]))
            .route(web::get().to(get_internal)),
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

async fn upload(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadRequest {
    content_type: String,
    size: u64,
}

async fn start_upload(
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

async fn complete(
    user: AuthUser,
    id: web::Path<String>,
    media: web::Data<Media>,
) -> Result<HttpResponse, MediaError> {
    let record = owned(&media, &user, &id).await?;
    match record.status {
        Status::Ready => Ok(HttpResponse::Ok().json(owner_view(&record))),
        Status::Failed => Err(MediaError::NotPending("failed")),
        Status::Pending => Ok(HttpResponse::Created().json(owner_view(&media.complete(record).await?))),
    }
}

async fn get_own(
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
