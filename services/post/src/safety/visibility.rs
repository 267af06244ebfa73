//! Who may see whose content, by blocks and standing: the checks the
//! posts', social and money routes make before they show or sell anything.

use common::ids::UserId;

use crate::error::PostError;
use crate::service::Service;

/// Whether `viewer` (none: signed out) may see `author`'s profile and posts:
/// never across a block (either way) or of a suspended author; of a limited
/// author only as one of their followers. Authors always see their own.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn may_see(service: &Service, viewer: Option<&UserId>, author: &UserId) -> Result<bool, PostError> {
    if viewer == Some(author) {
        return Ok(true);
    }
    let safety = &service.safety;
    if safety.standing.is_suspended(author) {
        return Ok(false);
    }
    if let Some(viewer) = viewer
        && safety.relations.blocked_between(viewer, author).await?
    {
        return Ok(false);
    }
    if safety.standing.of(author).await?.limited {
        return Ok(match viewer {
            Some(viewer) => service.social.following_among(viewer, &[author]).await?.contains(author),
            None => false,
        });
    }
    Ok(true)
}

/// Refuses (as absent, `absent`) what `viewer` may not see of `author`.
pub async fn ensure_seen(
    service: &Service,
    viewer: Option<&UserId>,
    author: &UserId,
    absent: PostError,
) -> Result<(), PostError> {
    match may_see(service, viewer, author).await? {
        true => Ok(()),
        false => Err(absent),
    }
}
