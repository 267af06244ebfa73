//! Blocks, mutes, reports, the moderation queue and the audit log.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use common::ids::{UserId, Username};
use common::respond::Created;
use common::user_auth::AuthUser;
use mongodb::bson::DateTime;
use serde::Deserialize;

use crate::error::PostError;
use crate::money::limits::Action as Limited;
use crate::pages::Cursor;
use crate::posts::types::UserRef;
use crate::safety::audit::AuditFilter;
use crate::safety::moderation::{self, owner_of};
use crate::safety::relations::Kind;
use crate::safety::reports::{ReportRecord, ReportState};
use crate::safety::types::{
    ActionOutcome, ActionRequest, AuditPage, NewReport, Queue, ReportList, ReportView,
};
use crate::safety::{NamedTarget, ReportId, Target};
use crate::service::Service;
use crate::social::routes::{PageQuery, paginate};
use crate::social::types::UserPage;

/// The account `username` names, not the caller.
async fn other(
    service: &Service,
    user: &AuthUser,
    username: &Username,
    what: &str,
) -> Result<UserId, PostError> {
    let account = service.accounts.by_username(username).await?;
    if account.id == user.user_id {
        return Err(PostError::invalid("username", format!("you cannot {what} yourself")));
    }
    Ok(account.id)
}

#[utoipa::path(tag = "safety", params(("username" = String, Path, description = "A username")), security(("bearer" = [])),
    responses((status = 204, description = "Blocked (idempotent): neither sees the other's profile or posts, follows both ways end, neither may follow, comment, like, buy from or subscribe to the other; a subscription either way ends at its period's end"),
              (status = 404, description = "No such user"), (status = 422, description = "Yourself")))]
#[post("/v1/users/{username}/block")]
pub(crate) async fn block(
    user: AuthUser,
    username: web::Path<Username>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let other = other(&service, &user, &username, "block").await?;
    service.safety.relations.set(Kind::Block, &user.user_id, &other).await?;
    service.social.unfollow(&user.user_id, &other).await?;
    service.social.unfollow(&other, &user.user_id).await?;
    let subscriptions = &service.money.subscriptions;
    for (subscriber, creator) in [(&user.user_id, &other), (&other, &user.user_id)] {
        if let Some(live) = subscriptions.store.live_to(subscriber, &[creator]).await?.remove(creator) {
            subscriptions.set_cancelled(&live.id, subscriber, true).await?;
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn unset(
    user: AuthUser,
    username: &Username,
    service: &Service,
    kind: Kind,
) -> Result<HttpResponse, PostError> {
    let other = service.accounts.by_username(username).await?;
    service.safety.relations.unset(kind, &user.user_id, &other.id).await?;
    if kind == Kind::Mute {
        service.social.set_muted(&user.user_id, &other.id, false).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "safety", params(("username" = String, Path, description = "A username")), security(("bearer" = [])),
    responses((status = 204, description = "Not blocked (idempotent); nothing ended by the block comes back"), (status = 404, description = "No such user")))]
#[delete("/v1/users/{username}/block")]
pub(crate) async fn unblock(
    user: AuthUser,
    username: web::Path<Username>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    unset(user, &username, &service, Kind::Block).await
}

#[utoipa::path(tag = "safety", params(("username" = String, Path, description = "A username")), security(("bearer" = [])),
    responses((status = 204, description = "Muted (idempotent): their posts and comments no longer show to you; they are not told"),
              (status = 404, description = "No such user"), (status = 422, description = "Yourself")))]
#[post("/v1/users/{username}/mute")]
pub(crate) async fn mute(
    user: AuthUser,
    username: web::Path<Username>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let other = other(&service, &user, &username, "mute").await?;
    service.safety.relations.set(Kind::Mute, &user.user_id, &other).await?;
    service.social.set_muted(&user.user_id, &other, true).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "safety", params(("username" = String, Path, description = "A username")), security(("bearer" = [])),
    responses((status = 204, description = "Not muted (idempotent)"), (status = 404, description = "No such user")))]
#[delete("/v1/users/{username}/mute")]
pub(crate) async fn unmute(
    user: AuthUser,
    username: web::Path<Username>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    unset(user, &username, &service, Kind::Mute).await
}

async fn relation_page(
    user: &AuthUser,
    query: &PageQuery,
    service: &Service,
    kind: Kind,
) -> Result<web::Json<UserPage>, PostError> {
    let page = service.safety.relations.page(kind, &user.user_id, query.cursor()?.as_ref()).await?;
    let (page, next) = paginate(page, |r| Cursor { created_at: r.created_at, key: r.key.clone() });
    let ids: Vec<UserId> = page.iter().map(|r| r.other_id.clone()).collect();
    let names = service.accounts.usernames(&ids).await?;
    let items = ids.into_iter().map(|id| UserRef { username: names.get(&id).cloned(), id }).collect();
    Ok(web::Json(UserPage { items, next_cursor: next }))
}

#[utoipa::path(tag = "safety", params(("cursor" = Option<String>, Query, description = "From the previous page's `next_cursor`")), security(("bearer" = [])),
    responses((status = 200, description = "Those you blocked, newest first", body = UserPage)))]
#[get("/v1/blocks")]
pub(crate) async fn blocks(
    user: AuthUser,
    query: web::Query<PageQuery>,
    service: web::Data<Service>,
) -> Result<web::Json<UserPage>, PostError> {
    relation_page(&user, &query, &service, Kind::Block).await
}

#[utoipa::path(tag = "safety", params(("cursor" = Option<String>, Query, description = "From the previous page's `next_cursor`")), security(("bearer" = [])),
    responses((status = 200, description = "Those you muted, newest first", body = UserPage)))]
#[get("/v1/mutes")]
pub(crate) async fn mutes(
    user: AuthUser,
    query: web::Query<PageQuery>,
    service: web::Data<Service>,
) -> Result<web::Json<UserPage>, PostError> {
    relation_page(&user, &query, &service, Kind::Mute).await
}

/// A named target, with a user looked up by username.
async fn target_of(service: &Service, named: NamedTarget) -> Result<Target, PostError> {
    Ok(match named {
        NamedTarget::Post(id) => Target::Post(id),
        NamedTarget::Comment(id) => Target::Comment(id),
        NamedTarget::User(username) => Target::User(service.accounts.by_username(&username).await?.id),
    })
}

#[utoipa::path(tag = "safety", request_body = NewReport, security(("bearer" = [])),
    responses((status = 201, description = "Reported: moderators will look at it", body = ReportView),
              (status = 404, description = "No such post, comment or user"),
              (status = 409, description = "You have an open report of this already"),
              (status = 422, description = "An unknown reason or kind, a malformed id, yourself, or text over 1,000 characters"),
              (status = 429, description = "Too many reports this minute")))]
#[post("/v1/reports")]
pub(crate) async fn report(
    user: AuthUser,
    body: web::Json<NewReport>,
    service: web::Data<Service>,
) -> Result<Created<ReportView>, PostError> {
    let body = body.into_inner();
    let text = body.text.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty());
    if text.as_ref().is_some_and(|text| text.chars().count() > 1000) {
        return Err(PostError::invalid("text", "must be at most 1,000 characters"));
    }
    let target = target_of(&service, body.target).await?;
    let owner_id = owner_of(&service, &target).await?;
    if owner_id == user.user_id {
        return Err(PostError::invalid("target", "is yours"));
    }
    service.money.limits.admit(Limited::Report, &user.user_id).await?;
    let record = ReportRecord {
        id: ReportId::mint(),
        reporter_id: user.user_id.clone(),
        target_key: target.key(),
        target,
        owner_id,
        reason: body.reason,
        text,
        state: ReportState::Open,
        created_at: DateTime::now(),
        resolved_at: None,
    };
    service.safety.reports.file(&record).await?;
    Ok(Created(record.into()))
}

#[utoipa::path(tag = "safety", security(("bearer" = [])),
    responses((status = 200, description = "Your reports, newest first, and what became of them", body = ReportList)))]
#[get("/v1/reports")]
pub(crate) async fn my_reports(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<ReportList>, PostError> {
    let reports = service.safety.reports.of(&user.user_id, 100).await?;
    Ok(web::Json(ReportList { reports: reports.into_iter().map(Into::into).collect() }))
}

fn moderator_only(user: &AuthUser) -> Result<(), PostError> {
    match user.is_moderator() {
        true => Ok(()),
        false => Err(PostError::Forbidden("Only a moderator or an admin can do this.")),
    }
}

#[utoipa::path(tag = "safety", security(("bearer" = [])),
    responses((status = 200, description = "Open reports grouped by target, the oldest first, with counts", body = Queue),
              (status = 403, description = "Not a moderator")))]
#[get("/v1/moderation/reports")]
pub(crate) async fn queue(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<Queue>, PostError> {
    moderator_only(&user)?;
    let groups = service.safety.reports.queue(100).await?;
    Ok(web::Json(Queue { items: groups.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(tag = "safety", request_body = ActionRequest, security(("bearer" = [])),
    responses((status = 200, description = "Done, its open reports closed and the action in the audit log", body = ActionOutcome),
              (status = 403, description = "Not a moderator"),
              (status = 404, description = "No such post, comment or user"),
              (status = 422, description = "An unknown action, a reason missing or over 500 characters, `remove` of a user, or your own content"),
              (status = 503, description = "A service the action needs (media, auth) did not answer: try again")))]
#[post("/v1/moderation/actions")]
pub(crate) async fn act(
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<ActionRequest>,
    service: web::Data<Service>,
) -> Result<web::Json<ActionOutcome>, PostError> {
    moderator_only(&user)?;
    // The moderator's own token, for media's takedown (`AuthUser` has checked it).
    let token = common::user_auth::bearer_token(&req).ok().flatten().unwrap_or_default();
    let body = body.into_inner();
    let target = target_of(&service, body.target).await?;
    Ok(web::Json(moderation::act(&service, &user, &token, target, body.action, body.reason).await?))
}

#[derive(Deserialize)]
pub(crate) struct AuditQuery {
    /// Who acted (a username).
    actor: Option<Username>,
    /// Whose content or account (a username).
    owner: Option<Username>,
    cursor: Option<String>,
}

#[utoipa::path(tag = "safety", security(("bearer" = [])),
    params(("actor" = Option<String>, Query, description = "Only what this moderator (a username) did"),
           ("owner" = Option<String>, Query, description = "Only actions on this user's content or account (a username)"),
           ("cursor" = Option<String>, Query, description = "From the previous page's `next_cursor`")),
    responses((status = 200, description = "The audit log, newest first (append-only: no route changes it)", body = AuditPage),
              (status = 403, description = "Not an admin"), (status = 404, description = "No such user")))]
#[get("/v1/admin/audit")]
pub(crate) async fn audit(
    user: AuthUser,
    query: web::Query<AuditQuery>,
    service: web::Data<Service>,
) -> Result<web::Json<AuditPage>, PostError> {
    if !user.is_admin() {
        return Err(PostError::Forbidden("Only an admin can read the audit log."));
    }
    let mut filter = AuditFilter::default();
    if let Some(actor) = &query.actor {
        filter.actor = Some(service.accounts.by_username(actor).await?.id);
    }
    if let Some(owner) = &query.owner {
        filter.owner = Some(service.accounts.by_username(owner).await?.id);
    }
    let cursor = query.cursor.as_deref().map(Cursor::decode).transpose()?;
    let page = service.safety.audit.page(&filter, cursor.as_ref()).await?;
    let (page, next) = paginate(page, |r| Cursor { created_at: r.created_at, key: r.id.to_string() });
    Ok(web::Json(AuditPage { items: page.into_iter().map(Into::into).collect(), next_cursor: next }))
}
