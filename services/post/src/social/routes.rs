//! Follows, profile grid, home feed, likes and comments.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, post, web};
use common::ids::{CommentId, PostId, UserId, Username};
use common::respond::Created;
use common::user_auth::{AuthUser, MaybeAuthUser};
use mongodb::bson::DateTime;
use serde::Deserialize;

use crate::error::PostError;
use crate::pages::{Cursor, PAGE_SIZE};
use crate::posts::PostRecord;
use crate::posts::access::access_to;
use crate::posts::binding::ViewerRange;
use crate::posts::cookies::Delivered;
use crate::posts::store::Counter;
use crate::posts::types::{PostPage, UserRef};
use crate::posts::views::Visible;
use crate::safety::relations::Kind;
use crate::safety::visibility::ensure_seen;
use crate::service::Service;
use crate::social::store::{Comment, FollowSide};
use crate::social::types::{CommentPage, CommentView, NewComment, UserPage};

pub const MAX_COMMENT_CHARS: usize = 1000;

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    cursor: Option<String>,
}

impl PageQuery {
    pub(crate) fn cursor(&self) -> Result<Option<Cursor>, PostError> {
        self.cursor.as_deref().map(Cursor::decode).transpose()
    }
}

/// Cuts the one extra item a query fetched into the next cursor.
pub(crate) fn paginate<T>(mut items: Vec<T>, cursor_of: impl Fn(&T) -> Cursor) -> (Vec<T>, Option<String>) {
    let more = items.len() as i64 > PAGE_SIZE;
    items.truncate(PAGE_SIZE as usize);
    let next = if more { items.last().map(|last| cursor_of(last).encode()) } else { None };
    (items, next)
}

#[utoipa::path(tag = "social", params(("username" = String, Path, description = "A username")), security(("bearer" = [])),
    responses((status = 204, description = "Following (idempotent)"), (status = 404, description = "No such user"),
              (status = 422, description = "Yourself")))]
#[post("/v1/users/{username}/follow")]
pub(crate) async fn follow(
    user: AuthUser,
    username: web::Path<Username>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let target = service.accounts.by_username(&username).await?;
    if target.id == user.user_id {
        return Err(PostError::invalid("username", "you cannot follow yourself"));
    }
    let relations = &service.safety.relations;
    let blocked = relations.blocked_between(&user.user_id, &target.id).await?;
    if blocked || service.safety.standing.is_suspended(&target.id) {
        return Err(PostError::UserNotFound);
    }
    let muted = relations.has(Kind::Mute, &user.user_id, &target.id).await?;
    service.social.follow(&user.user_id, &target.id, muted).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "social", params(("username" = String, Path, description = "A username")), security(("bearer" = [])),
    responses((status = 204, description = "Not following (idempotent)"), (status = 404, description = "No such user")))]
#[delete("/v1/users/{username}/follow")]
pub(crate) async fn unfollow(
    user: AuthUser,
    username: web::Path<Username>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let target = service.accounts.by_username(&username).await?;
    service.social.unfollow(&user.user_id, &target.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn follow_list(
    service: &Service,
    username: &Username,
    query: &PageQuery,
    side: FollowSide,
) -> Result<web::Json<UserPage>, PostError> {
    let account = service.accounts.by_username(username).await?;
    let page = service.social.page(side, &account.id, query.cursor()?.as_ref()).await?;
    let (page, next) = paginate(page, |f| Cursor { created_at: f.created_at, key: f.key.clone() });
    let ids: Vec<UserId> = page
        .iter()
        .map(|f| if side == FollowSide::Followers { f.follower_id.clone() } else { f.followee_id.clone() })
        .collect();
    let names = service.accounts.usernames(&ids).await?;
    let items = ids.into_iter().map(|id| UserRef { username: names.get(&id).cloned(), id }).collect();
    Ok(web::Json(UserPage { items, next_cursor: next }))
}

#[utoipa::path(tag = "social", params(("username" = String, Path, description = "A username"), ("cursor" = Option<String>, Query, description = "From the previous page's `next_cursor`")),
    responses((status = 200, description = "A page of followers", body = UserPage), (status = 404, description = "No such user")))]
#[get("/v1/users/{username}/followers")]
pub(crate) async fn followers(
    username: web::Path<Username>,
    query: web::Query<PageQuery>,
    service: web::Data<Service>,
) -> Result<web::Json<UserPage>, PostError> {
    follow_list(&service, &username, &query, FollowSide::Followers).await
}

#[utoipa::path(tag = "social", params(("username" = String, Path, description = "A username"), ("cursor" = Option<String>, Query, description = "From the previous page's `next_cursor`")),
    responses((status = 200, description = "A page of followed users", body = UserPage), (status = 404, description = "No such user")))]
#[get("/v1/users/{username}/following")]
pub(crate) async fn following(
    username: web::Path<Username>,
    query: web::Query<PageQuery>,
    service: web::Data<Service>,
) -> Result<web::Json<UserPage>, PostError> {
    follow_list(&service, &username, &query, FollowSide::Following).await
}

/// A page of posts as `viewer` may see them, with authors' usernames.
async fn render_page(
    service: &Service,
    viewer: Option<&AuthUser>,
    viewer_range: ViewerRange,
    posts: Vec<PostRecord>,
    next: Option<String>,
) -> Result<Delivered<PostPage>, PostError> {
    let access = access_to(service, viewer.map(|v| &v.user_id), &posts).await?;
    let visible: Vec<Visible<'_>> =
        posts.iter().zip(access).map(|(post, access)| Visible { post, access }).collect();
    let mut authors: Vec<UserId> = posts.iter().map(|p| p.author_id.clone()).collect();
    authors.dedup();
    let names = service.accounts.usernames(&authors).await?;
    let mut rendered = service.renderer.render(&visible, viewer_range.0).await;
    for (item, post) in rendered.views.iter_mut().zip(&posts) {
        item.author =
            Some(UserRef { id: post.author_id.clone(), username: names.get(&post.author_id).cloned() });
    }
    Ok(rendered
        .answer(StatusCode::OK, &service.renderer.cookies, |items| PostPage { items, next_cursor: next }))
}

#[utoipa::path(tag = "social", params(("username" = String, Path, description = "A username"), ("cursor" = Option<String>, Query, description = "From the previous page's `next_cursor`")), security((), ("bearer" = [])),
    responses((status = 200, description = "The user's posts, newest first, as this viewer may see them", body = PostPage),
              (status = 401, description = "A token was given and is not valid"), (status = 404, description = "No such user")))]
#[get("/v1/users/{username}/posts")]
pub(crate) async fn profile(
    viewer: MaybeAuthUser,
    viewer_range: ViewerRange,
    username: web::Path<Username>,
    query: web::Query<PageQuery>,
    service: web::Data<Service>,
) -> Result<Delivered<PostPage>, PostError> {
    let account = service.accounts.by_username(&username).await?;
    let viewer_id = viewer.0.as_ref().map(|v| &v.user_id);
    ensure_seen(&service, viewer_id, &account.id, PostError::UserNotFound).await?;
    let page = service.posts.page(&[account.id], query.cursor()?.as_ref()).await?;
    let (posts, next) = paginate(page, |p| Cursor { created_at: p.created_at, key: p.id.to_string() });
    render_page(&service, viewer.0.as_ref(), viewer_range, posts, next).await
}

#[utoipa::path(tag = "social", params(("cursor" = Option<String>, Query, description = "From the previous page's `next_cursor`")), security(("bearer" = [])),
    responses((status = 200, description = "Posts of the people you follow and your own, newest first", body = PostPage)))]
#[get("/v1/feed")]
pub(crate) async fn feed(
    user: AuthUser,
    viewer_range: ViewerRange,
    query: web::Query<PageQuery>,
    service: web::Data<Service>,
) -> Result<Delivered<PostPage>, PostError> {
    // Followed and not muted (blocks end follows both ways); not suspended.
    let mut authors = service.social.following_ids(&user.user_id).await?;
    authors.retain(|author| !service.safety.standing.is_suspended(author));
    authors.push(user.user_id.clone());
    let page = service.posts.page(&authors, query.cursor()?.as_ref()).await?;
    let (posts, next) = paginate(page, |p| Cursor { created_at: p.created_at, key: p.id.to_string() });
    render_page(&service, Some(&user), viewer_range, posts, next).await
}

/// Post `id`, live and seen by `viewer` (else absent to them).
async fn seen_post(service: &Service, viewer: Option<&UserId>, id: &PostId) -> Result<PostRecord, PostError> {
    let post = service.posts.live(id).await?;
    ensure_seen(service, viewer, &post.author_id, PostError::NotFound).await?;
    Ok(post)
}

#[utoipa::path(tag = "social", params(("id" = String, Path, description = "The post id")), security(("bearer" = [])),
    responses((status = 204, description = "Liked (idempotent)"), (status = 404, description = "No such post")))]
#[post("/v1/posts/{id}/like")]
pub(crate) async fn like(
    user: AuthUser,
    id: web::Path<PostId>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let post = seen_post(&service, Some(&user.user_id), &id).await?;
    if service.social.like(&user.user_id, &post.id, &post.author_id).await? {
        service.posts.count(&post.id, Counter::Likes, 1).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "social", params(("id" = String, Path, description = "The post id")), security(("bearer" = [])),
    responses((status = 204, description = "Not liked (idempotent)"), (status = 404, description = "No such post")))]
#[delete("/v1/posts/{id}/like")]
pub(crate) async fn unlike(
    user: AuthUser,
    id: web::Path<PostId>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let post = seen_post(&service, Some(&user.user_id), &id).await?;
    if service.social.unlike(&user.user_id, &post.id).await? {
        service.posts.count(&post.id, Counter::Likes, -1).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

fn comment_view(comment: &Comment) -> CommentView {
    CommentView {
        id: comment.id.clone(),
        author_id: comment.author_id.clone(),
        text: comment.text.clone(),
        created_at: comment.created_at.try_to_rfc3339_string().unwrap_or_default(),
    }
}

#[utoipa::path(tag = "social", params(("id" = String, Path, description = "The post id"), ("cursor" = Option<String>, Query, description = "From the previous page's `next_cursor`")),
    responses((status = 200, description = "A page of comments, newest first", body = CommentPage), (status = 404, description = "No such post")))]
#[get("/v1/posts/{id}/comments")]
pub(crate) async fn comments(
    viewer: MaybeAuthUser,
    id: web::Path<PostId>,
    query: web::Query<PageQuery>,
    service: web::Data<Service>,
) -> Result<web::Json<CommentPage>, PostError> {
    let viewer = viewer.0.as_ref().map(|v| &v.user_id);
    let post = seen_post(&service, viewer, &id).await?;
    // A signed-in viewer does not see comments of those they blocked or muted, or who blocked them.
    let hidden = match viewer {
        Some(viewer) => service.safety.relations.hidden_from(viewer).await?,
        None => Default::default(),
    };
    let page = service.social.comment_page(&post.id, &hidden, query.cursor()?.as_ref()).await?;
    let (page, next) = paginate(page, |c| Cursor { created_at: c.created_at, key: c.id.to_string() });
    Ok(web::Json(CommentPage { items: page.iter().map(comment_view).collect(), next_cursor: next }))
}

#[utoipa::path(tag = "social", params(("id" = String, Path, description = "The post id")), security(("bearer" = [])), request_body = NewComment,
    responses((status = 201, description = "The comment", body = CommentView), (status = 404, description = "No such post"),
              (status = 422, description = "Empty or over 1,000 characters")))]
#[post("/v1/posts/{id}/comments")]
pub(crate) async fn add_comment(
    user: AuthUser,
    id: web::Path<PostId>,
    body: web::Json<NewComment>,
    service: web::Data<Service>,
) -> Result<Created<CommentView>, PostError> {
    let post = seen_post(&service, Some(&user.user_id), &id).await?;
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > MAX_COMMENT_CHARS {
        return Err(PostError::invalid("text", format!("must be 1 to {MAX_COMMENT_CHARS} characters")));
    }
    let comment = Comment {
        id: CommentId::mint(),
        post_id: post.id.clone(),
        author_id: user.user_id.clone(),
        text: text.to_owned(),
        created_at: DateTime::now(),
    };
    service.social.add_comment(&comment, &post.author_id).await?;
    service.posts.count(&post.id, Counter::Comments, 1).await?;
    Ok(Created(comment_view(&comment)))
}

/// By the comment's author or the post's author; anyone else: 404.
#[utoipa::path(tag = "social", security(("bearer" = [])),
    params(("id" = String, Path, description = "The post id"), ("comment_id" = String, Path, description = "The comment id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such comment you may delete")))]
#[delete("/v1/posts/{id}/comments/{comment_id}")]
pub(crate) async fn delete_comment(
    user: AuthUser,
    path: web::Path<(PostId, CommentId)>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let (post_id, comment_id) = path.into_inner();
    let post = service.posts.get(&post_id).await?.ok_or(PostError::NotFound)?;
    let comment = service.social.comment(&post_id, &comment_id).await?.ok_or(PostError::CommentNotFound)?;
    if comment.author_id != user.user_id && post.author_id != user.user_id {
        return Err(PostError::CommentNotFound);
    }
    if service.social.delete_comment(&post_id, &comment_id).await? {
        service.posts.count(&post_id, Counter::Comments, -1).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
