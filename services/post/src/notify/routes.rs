//! The inbox: a page at a time, the unread count, marking read, and the live
//! stream (Server-Sent Events; a client reconnecting sends `Last-Event-ID`
//! and gets what it missed).

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use bytes::Bytes;
use common::ids::{PostId, UserId};
use common::user_auth::AuthUser;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::PostError;
use crate::notify::inbox::NotificationRecord;
use crate::notify::types::{MarkAllRead, MarkedRead, NotificationPage, NotificationView, Unread};
use crate::notify::{Kind, NotificationId};
use crate::pages::Cursor;
use crate::posts::types::UserRef;
use crate::service::Service;
use crate::social::routes::{PageQuery, paginate};

/// A comment line this often keeps proxies from closing a quiet stream.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// Notifications read per look while a stream catches up.
const CATCH_UP: i64 = 100;
/// A stream ends after this long (the client resumes with a fresh access
/// token): its token was checked once, when it opened.
const STREAM_FOR: Duration = Duration::from_secs(10 * 60);

/// Views of `records`: their actors named, their posts' likes counted as they are now.
async fn views(
    service: &Service,
    records: Vec<NotificationRecord>,
) -> Result<Vec<NotificationView>, PostError> {
    let mut actors: Vec<UserId> = records.iter().filter_map(|r| r.actor_id.clone()).collect();
    actors.sort();
    actors.dedup();
    let names =
        if actors.is_empty() { Default::default() } else { service.accounts.usernames(&actors).await? };
    let liked: Vec<PostId> =
        records.iter().filter(|r| r.kind == Kind::Liked).filter_map(|r| r.post_id.clone()).collect();
    let likes = service.posts.like_counts(&liked).await?;
    Ok(records
        .into_iter()
        .map(|record| {
            let actor = record.actor_id.clone().map(|id| UserRef { username: names.get(&id).cloned(), id });
            let count = match record.kind {
                Kind::Liked => record.post_id.as_ref().and_then(|post| likes.get(post).copied()),
                _ => None,
            };
            NotificationView::new(record, actor, count)
        })
        .collect())
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    params(("cursor" = Option<String>, Query, description = "From the previous page's `next_cursor`")),
    responses((status = 200, description = "A page of the inbox, newest first, with the unread count", body = NotificationPage)))]
#[get("/v1/notifications")]
pub(crate) async fn list(
    user: AuthUser,
    query: web::Query<PageQuery>,
    service: web::Data<Service>,
) -> Result<web::Json<NotificationPage>, PostError> {
    let inbox = &service.notifications.inbox;
    let page = inbox.page(&user.user_id, query.cursor()?.as_ref()).await?;
    let (page, next_cursor) = paginate(page, |n| Cursor { created_at: n.created_at, key: n.id.to_string() });
    let unread = inbox.unread(&user.user_id).await?;
    Ok(web::Json(NotificationPage { items: views(&service, page).await?, unread, next_cursor }))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "How many are unread", body = Unread)))]
#[get("/v1/notifications/unread")]
pub(crate) async fn unread_count(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<Unread>, PostError> {
    Ok(web::Json(Unread { unread: service.notifications.inbox.unread(&user.user_id).await? }))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The notification id")),
    responses((status = 204, description = "Read (idempotent)"), (status = 404, description = "No such notification of yours")))]
#[post("/v1/notifications/{id}/read")]
pub(crate) async fn mark_read(
    user: AuthUser,
    id: web::Path<NotificationId>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    if service.notifications.inbox.mark_read(&user.user_id, &id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(PostError::NotificationNotFound)
    }
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = MarkAllRead,
    responses((status = 200, description = "How many were marked, and how many stay unread", body = MarkedRead)))]
#[post("/v1/notifications/read")]
pub(crate) async fn mark_all_read(
    user: AuthUser,
    body: Option<web::Json<MarkAllRead>>,
    service: web::Data<Service>,
) -> Result<web::Json<MarkedRead>, PostError> {
    let up_to = body.map(|b| b.into_inner()).unwrap_or_default().up_to;
    let inbox = &service.notifications.inbox;
    let marked = inbox.mark_all_read(&user.user_id, up_to).await?;
    Ok(web::Json(MarkedRead { marked, unread: inbox.unread(&user.user_id).await? }))
}

/// Where a stream starts: after the client's `Last-Event-ID`, which must be
/// one this service gave (a `seq`) and not older than the retention.
fn resume_after(req: &HttpRequest, service: &Service) -> Result<Option<i64>, PostError> {
    let Some(header) = req.headers().get("last-event-id") else { return Ok(None) };
    let seq = header.to_str().ok().and_then(|text| text.trim().parse::<i64>().ok()).ok_or_else(|| {
        PostError::BadRequest("Last-Event-ID must be the id of an event this stream sent.".into())
    })?;
    let inbox = &service.notifications.inbox;
    if seq > inbox.next_seq() {
        return Err(PostError::BadRequest("Last-Event-ID is later than any event sent.".into()));
    }
    if seq < inbox.oldest_resumable() {
        return Err(PostError::StreamExpired);
    }
    Ok(Some(seq))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event (what an EventSource sends when it reconnects)")),
    responses((status = 200, description = "`text/event-stream`: `notification` events (data: a notification and the unread count), id = its `seq`", content_type = "text/event-stream"),
              (status = 400, description = "A malformed Last-Event-ID"),
              (status = 410, description = "Last-Event-ID is older than notifications are kept: read the inbox, then open a new stream")))]
#[get("/v1/notifications/stream")]
pub(crate) async fn stream(
    user: AuthUser,
    req: HttpRequest,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let resume = resume_after(&req, &service)?;
    let notifications = &service.notifications;
    // Watching before reading where to start: a delivery in between is read by the first look.
    let watch = notifications.live.subscribe(&user.user_id, resume.unwrap_or(0));
    let last = match resume {
        Some(seq) => seq,
        None => notifications.inbox.latest_seq(&user.user_id).await?,
    };
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = Stream {
        stopping: notifications.stopping.clone(),
        service: service.clone(),
        user: user.user_id,
        last,
        catching_up: true,
        watch,
        heartbeat,
        ends_at: tokio::time::Instant::now() + STREAM_FOR,
        pending: VecDeque::from([Bytes::from_static(b"retry: 3000\n\n")]),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        // nginx (the production gateway) passes each event on at once.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(futures_util::stream::unfold(state, Stream::next)))
}

/// One open stream.
struct Stream {
    stopping: CancellationToken,
    service: web::Data<Service>,
    user: UserId,
    /// The newest `seq` sent.
    last: i64,
    /// Whether to look for deliveries after `last` (at the start, after a
    /// delivery was seen, and while a look found a full batch).
    catching_up: bool,
    watch: watch::Receiver<i64>,
    heartbeat: tokio::time::Interval,
    ends_at: tokio::time::Instant,
    pending: VecDeque<Bytes>,
}

impl Stream {
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Some((Ok(chunk), self));
            }
            // A suspended account's stream ends at once, as its tokens stop working.
            if self.service.safety.standing.is_suspended(&self.user) {
                return None;
            }
            if self.catching_up {
                match self.read_new().await {
                    Ok(more) => self.catching_up = more,
                    Err(err) => {
                        tracing::warn!(error = %err, "ending a notification stream; the client resumes");
                        return None;
                    }
                }
                continue;
            }
            tokio::select! {
                () = self.stopping.cancelled() => return None,
                () = tokio::time::sleep_until(self.ends_at) => return None,
                changed = self.watch.changed() => {
                    changed.ok()?;
                    self.catching_up = true;
                }
                _ = self.heartbeat.tick() => self.pending.push_back(Bytes::from_static(b": keep-alive\n\n")),
            }
        }
    }

    /// Queues what was delivered after `last`; whether more may be waiting.
    /// An error ends the stream: the client reconnects with its `Last-Event-ID`.
    async fn read_new(&mut self) -> Result<bool, PostError> {
        let inbox = &self.service.notifications.inbox;
        let found = inbox.after(&self.user, self.last, CATCH_UP).await?;
        let more = found.len() as i64 == CATCH_UP;
        if found.is_empty() {
            return Ok(false);
        }
        let unread = inbox.unread(&self.user).await?;
        for view in views(&self.service, found).await? {
            self.last = self.last.max(view.seq);
            let data = serde_json::json!({ "notification": view, "unread": unread });
            self.pending
                .push_back(Bytes::from(format!("id: {}\nevent: notification\ndata: {data}\n\n", view.seq)));
        }
        Ok(more)
    }
}
