//! Moderators' actions on a reported (or any) target. Each one closes the
//! target's open reports and is written to the audit log, with who acted,
//! on what, whose it was, why, and the request.
//!
//! - `dismiss`: nothing wrong; the reports close as dismissed.
//! - `remove`: a post is deleted and each of its photos taken down through
//!   media's takedown (objects deleted, edge/CloudFront invalidated); a
//!   comment is deleted.
//! - `warn`: counted on the owner's standing.
//! - `limit` / `unlimit`: the owner's profile and posts are seen by their
//!   followers only.
//! - `suspend` / `unsuspend`: auth refuses the owner's sign-in and refresh
//!   tokens and every service their access tokens (at once here, within two
//!   seconds elsewhere); their posts are hidden and not sold, and they cannot
//!   ask for payouts.

use common::contract::media::{ACTING_USER, TakedownRequest, takedown_path};
use common::contract::users::{Suspension, suspension_path};
use common::ids::UserId;
use common::user_auth::AuthUser;
use mongodb::bson::DateTime;

use crate::error::PostError;
use crate::notify::Event;
use crate::posts::store::Counter;
use crate::safety::audit::AuditRecord;
use crate::safety::reports::ReportState;
use crate::safety::standing::Change;
use crate::safety::types::ActionOutcome;
use crate::safety::{Action, AuditId, Target};
use crate::service::Service;

/// Whose `target` is: a post's or comment's author, or the user.
pub async fn owner_of(service: &Service, target: &Target) -> Result<UserId, PostError> {
    match target {
        Target::Post(id) => Ok(service.posts.get(id).await?.ok_or(PostError::NotFound)?.author_id),
        Target::Comment(id) => {
            Ok(service.social.comment_by_id(id).await?.ok_or(PostError::CommentNotFound)?.author_id)
        }
        Target::User(id) => Ok(id.clone()),
        Target::Photo(_) => Err(PostError::invalid("target", "a photo is acted on through its post")),
    }
}

/// `moderator` (whose own access token is `token`) does `action` to `target`.
#[tracing::instrument(skip_all, fields(moderator = %moderator.user_id, ?action, target = target.key()))]
pub async fn act(
    service: &Service,
    moderator: &AuthUser,
    token: &str,
    target: Target,
    action: Action,
    reason: String,
) -> Result<ActionOutcome, PostError> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(PostError::invalid("reason", "must be 1 to 500 characters"));
    }
    let owner = owner_of(service, &target).await?;
    if owner == moderator.user_id && action != Action::Dismiss {
        return Err(PostError::invalid("target", "is yours: another moderator must act on it"));
    }
    let safety = &service.safety;
    match action {
        Action::Trace => {
            return Err(PostError::invalid("action", "traces are made at media and recorded from there"));
        }
        Action::Dismiss => {}
        Action::Remove => remove(service, &target, token, &reason).await?,
        Action::Warn => safety.standing.change(&owner, Change::Warn).await?,
        Action::Limit | Action::Unlimit => {
            safety.standing.change(&owner, Change::Limit(action == Action::Limit)).await?;
        }
        Action::Suspend | Action::Unsuspend => {
            let suspended = action == Action::Suspend;
            // auth first: if it cannot be told, nothing has changed.
            let body = Suspension { suspended };
            service
                .accounts
                .client
                .post_json::<_, serde_json::Value>(&suspension_path(&owner), &body)
                .await
                .map_err(|err| {
                    tracing::warn!(error = %err, "auth could not record the suspension");
                    PostError::Unavailable("the accounts service")
                })?;
            safety.standing.change(&owner, Change::Suspend(suspended)).await?;
        }
    }
    let resolved = match action {
        Action::Dismiss => ReportState::Dismissed,
        _ => ReportState::Actioned,
    };
    let reporters = safety.reports.resolve(&target, resolved).await?;
    let record = AuditRecord {
        id: AuditId::mint(),
        actor_id: Some(moderator.user_id.clone()),
        operator: None,
        subject_id: None,
        action,
        target_key: target.key(),
        target: target.clone(),
        owner_id: owner.clone(),
        reason,
        request_id: common::request_id::current(),
        created_at: DateTime::now(),
    };
    let mut told = Vec::new();
    // A dismissed report is news to its reporters only: the owner never heard of it.
    if action != Action::Dismiss {
        let reason = record.reason.clone();
        told.push(Event::Moderated { owner: owner.clone(), action, target: target.clone(), reason });
    }
    if !reporters.is_empty() {
        told.push(Event::ReportResolved { reporters: reporters.clone(), action, target: target.clone() });
    }
    safety.audit.append(&record, &service.notifications.outbox, told).await?;
    tracing::info!(audit_id = %record.id, reports = reporters.len(), "moderator acted");
    Ok(ActionOutcome {
        audit_id: record.id,
        action,
        target,
        owner_id: owner,
        reports_resolved: reporters.len(),
    })
}

/// Takes a post (with its photos) or a comment away.
async fn remove(service: &Service, target: &Target, token: &str, reason: &str) -> Result<(), PostError> {
    match target {
        Target::Post(id) => {
            let post = service.posts.get(id).await?.ok_or(PostError::NotFound)?;
            for photo in &post.photos {
                let request = TakedownRequest { reason: reason.to_owned() };
                let acting = (ACTING_USER, format!("Bearer {token}"));
                let taken = service
                    .media
                    .post_json_with::<_, serde_json::Value>(
                        &takedown_path(&photo.media_id),
                        &request,
                        &[acting],
                    )
                    .await;
                match taken {
                    Ok(_) => {}
                    // Gone already (its owner deleted it, or an earlier takedown).
                    Err(err) if err.status().is_some_and(|s| s.as_u16() == 404 || s.as_u16() == 409) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, media_id = %photo.media_id, "takedown failed");
                        return Err(PostError::Unavailable("the media service"));
                    }
                }
            }
            service.posts.mark_deleted(id).await?;
        }
        Target::Comment(id) => {
            let comment = service.social.comment_by_id(id).await?.ok_or(PostError::CommentNotFound)?;
            if service.social.delete_comment(&comment.post_id, id).await? {
                service.posts.count(&comment.post_id, Counter::Comments, -1).await?;
            }
        }
        Target::User(_) | Target::Photo(_) => {
            return Err(PostError::invalid("action", "remove takes a post or a comment; suspend a user"));
        }
    }
    Ok(())
}
