//! The internal API: a photo's record for post, takedowns for the
//! moderation console (`common::contract::media`).

use actix_web::{HttpRequest, web};
use common::contract::media::{
    ACTING_USER, COPIES_RELEASE, CopiesRelease, CopiesReleased, MARKED_COPIES, MAX_MARKED_COPIES,
    MEDIA_RECORD, MarkedCopies, MarkedCopiesRequest, MediaInfo, MediaStatus, TAKEDOWN, TakedownOutcome,
    TakedownRequest,
};
use common::ids::{MediaId, UserId};
use common::internal_auth::ServiceCaller;
use common::user_auth::UserTokenVerifier;

use crate::error::MediaError;
use crate::pipeline::Media;
use crate::records::Removal;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(MEDIA_RECORD.serve(media_info))
        .service(MARKED_COPIES.serve(marked_copies))
        .service(COPIES_RELEASE.serve(release_copies))
        .service(TAKEDOWN.serve(takedown));
}

async fn media_info(
    _caller: ServiceCaller,
    id: web::Path<MediaId>,
    media: web::Data<Media>,
) -> Result<web::Json<MediaInfo>, MediaError> {
    let record = media.records.get(&id).await?.ok_or(MediaError::NotFound)?;
    Ok(web::Json(MediaInfo {
        id: record.id,
        owner_id: record.owner_id,
        status: record.status,
        width: record.width,
        height: record.height,
        blurhash: record.blurhash,
        variants: record.variants,
    }))
}

/// Buyers' marked copies, made now where missing (at most two images are
/// marked at a time: the processing slots). A photo that is gone, or not
/// ready, is 404 for the whole request: post shows it unavailable.
#[tracing::instrument(skip_all, fields(items = body.items.len()))]
async fn marked_copies(
    _caller: ServiceCaller,
    body: web::Json<MarkedCopiesRequest>,
    media: web::Data<Media>,
) -> Result<web::Json<MarkedCopies>, MediaError> {
    let requests = body.into_inner().items;
    if requests.is_empty() || requests.len() > MAX_MARKED_COPIES {
        return Err(MediaError::BadRequest(format!("ask for 1 to {MAX_MARKED_COPIES} copies")));
    }
    // Most of a page's copies are made already: read together, the rest one by one.
    let known = media.marks.ready_copies(&requests, &media.records).await?;
    let copies = requests.iter().zip(known).map(|(request, known)| async {
        if let Some(copy) = known {
            return Ok(copy);
        }
        let id = request.media_id.clone();
        let record = media.records.get(&id).await?.filter(|r| r.status == MediaStatus::Ready);
        let record = record.ok_or(MediaError::NotFound)?;
        media.marks.copy_for(&record, request, &media.records, &media.storage, &media.marking).await
    });
    let items = futures_util::future::try_join_all(copies).await?;
    Ok(web::Json(MarkedCopies { items }))
}

/// A grant ended: the copies it was serving lose their objects.
#[tracing::instrument(skip_all)]
async fn release_copies(
    _caller: ServiceCaller,
    body: web::Json<CopiesRelease>,
    media: web::Data<Media>,
) -> Result<web::Json<CopiesReleased>, MediaError> {
    let released = media.marks.release(&body.buyer_id, &body.grant, &media.storage).await?;
    Ok(web::Json(CopiesReleased { released }))
}

/// The moderator behind a takedown: a service credential alone is not
/// enough, a moderator or an admin must be named by their own token.
async fn moderator(req: &HttpRequest, users: &UserTokenVerifier) -> Result<UserId, MediaError> {
    let token =
        req.headers().get(ACTING_USER).and_then(|v| v.to_str().ok()).ok_or(MediaError::NotModerator)?;
    let token = token.strip_prefix("Bearer ").unwrap_or(token);
    match users.verify(token).await {
        Ok(claims) if common::user_auth::may_moderate(&claims.roles) => Ok(claims.sub),
        _ => Err(MediaError::NotModerator),
    }
}

#[tracing::instrument(skip_all, fields(caller = caller.name, media_id = %id))]
async fn takedown(
    caller: ServiceCaller,
    req: HttpRequest,
    id: web::Path<MediaId>,
    body: web::Json<TakedownRequest>,
    media: web::Data<Media>,
    users: web::Data<UserTokenVerifier>,
) -> Result<web::Json<TakedownOutcome>, MediaError> {
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
    let record = media.remove(&id, MediaStatus::TakenDown, removal).await?;
    Ok(web::Json(TakedownOutcome { id: record.id, status: record.status }))
}
