//! Delivers the outbox: each event to its recipients' inboxes, minus the
//! actor and whoever muted or blocked them (or was blocked by them), then
//! wakes the recipients' live streams here and deletes the entry.
//!
//! Woken by each committed event on this process; every [`RECOVER_EVERY`]
//! it also looks for entries another process staged and did not deliver
//! (it stopped, or crashed, between its commit and the delivery). Every
//! delivery is idempotent: a notification's id is derived from the event
//! and the recipient, and a post's likes are one notification replaced.

use std::collections::HashSet;
use std::time::Duration;

use actix_web::web;
use common::ids::UserId;
use futures_util::StreamExt;

use crate::error::PostError;
use crate::notify::inbox::NotificationRecord;
use crate::notify::outbox::OutboxEntry;
use crate::notify::{Event, NotificationId};
use crate::service::Service;

/// How often entries no relay took are looked for (each commit here wakes
/// the relay at once; this only finds what a stopped process left, and is
/// what an idle process pays).
const RECOVER_EVERY: Duration = Duration::from_secs(30);
/// Entries read at a time.
const BATCH: i64 = 50;
/// Entries delivered at once (a celebrity's fan-out does not hold up the rest).
const CONCURRENT: usize = 4;
/// Recipients written per insert.
const CHUNK: usize = 1000;

pub fn start(service: web::Data<Service>, workers: &common::shutdown::Workers) {
    let relay = service.clone();
    workers.spawn("notification relay", async move {
        let outbox = &relay.notifications.outbox;
        loop {
            if let Err(err) = drain(&relay).await {
                tracing::warn!(error = %err, "notification outbox unavailable; will retry");
            }
            tokio::select! {
                () = outbox.woken() => {}
                () = tokio::time::sleep(RECOVER_EVERY) => {}
            }
        }
    });
    workers.spawn("live notifications", async move {
        let notifications = &service.notifications;
        notifications.live.follow_others(&notifications.inbox).await;
    });
}

/// Delivers every entry due now.
async fn drain(service: &Service) -> Result<(), PostError> {
    let outbox = &service.notifications.outbox;
    loop {
        let due = outbox.due(BATCH).await?;
        if due.is_empty() {
            return Ok(());
        }
        futures_util::stream::iter(due)
            .for_each_concurrent(CONCURRENT, |entry| async move {
                match outbox.take(&entry).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(err) => return tracing::warn!(error = %err, "cannot take an outbox entry"),
                }
                let delivered = match deliver(service, &entry).await {
                    Ok(()) => outbox.delivered(&entry.id).await.map_err(PostError::from),
                    Err(err) => Err(err),
                };
                if let Err(err) = delivered {
                    // Left in the outbox: due again once its lease runs out.
                    tracing::warn!(error = %err, event_id = %entry.id, "notification not delivered yet");
                }
            })
            .await;
    }
}

/// Whether the record of the action `event` was staged for exists (events
/// staged in their action's own transaction are not asked about).
async fn recorded(service: &Service, event: &Event) -> Result<bool, PostError> {
    Ok(match event {
        Event::Followed { follower, followee } => {
            service.social.following_among(follower, &[followee]).await?.contains(followee)
        }
        Event::Liked { liker, post, .. } => service.social.likes(liker, post).await?,
        Event::Commented { comment, .. } => service.social.comment_by_id(comment).await?.is_some(),
        Event::Posted { post, .. } => service.posts.get(post).await?.is_some(),
        _ => true,
    })
}

/// Who hears of `event`.
async fn recipients(service: &Service, event: &Event) -> Result<Vec<UserId>, PostError> {
    Ok(match event {
        Event::Followed { followee: to, .. }
        | Event::Commented { author: to, .. }
        | Event::Liked { author: to, .. }
        | Event::Purchased { author: to, .. }
        | Event::Subscribed { creator: to, .. }
        | Event::SubscriptionEnded { creator: to, .. }
        | Event::PayoutPaid { creator: to, .. }
        | Event::PayoutFailed { creator: to, .. }
        | Event::Moderated { owner: to, .. } => vec![to.clone()],
        Event::ReportResolved { reporters, .. } => reporters.clone(),
        Event::Posted { author, .. } => {
            let mut audience: HashSet<UserId> =
                service.social.follower_ids(author).await?.into_iter().collect();
            audience.extend(service.money.subscriptions.store.subscriber_ids(author).await?);
            audience.into_iter().collect()
        }
    })
}

async fn deliver(service: &Service, entry: &OutboxEntry) -> Result<(), PostError> {
    let event = &entry.event;
    if !entry.confirmed && !recorded(service, event).await? {
        tracing::info!(event_id = %entry.id, "an unconfirmed event's action never happened; dropped");
        return Ok(());
    }
    let mut to = recipients(service, event).await?;
    if let Some(actor) = event.actor() {
        to.retain(|recipient| recipient != actor);
    }
    let notifications = &service.notifications;
    let silenced = match event.actor() {
        Some(actor) => service.safety.relations.silencing(actor).await?,
        None => HashSet::new(),
    };
    for chunk in to.chunks(CHUNK) {
        let seq = notifications.inbox.next_seq();
        let records: Vec<NotificationRecord> = chunk
            .iter()
            .filter(|recipient| !silenced.contains(*recipient))
            .map(|recipient| record(entry, recipient, seq))
            .collect();
        if let Event::Liked { .. } = event {
            for record in &records {
                notifications.inbox.replace(record).await?;
            }
        } else {
            notifications.inbox.deliver(&records).await?;
        }
        for record in &records {
            notifications.live.delivered(&record.recipient_id, seq);
        }
    }
    Ok(())
}

/// `recipient`'s notification of `entry`'s event.
fn record(entry: &OutboxEntry, recipient: &UserId, seq: i64) -> NotificationRecord {
    let event = &entry.event;
    let key = match event {
        // One per post and recipient: the newest like brings it up again.
        Event::Liked { post, .. } => format!("likes:{post}:{recipient}"),
        _ => format!("{}:{recipient}", entry.id),
    };
    let mut record =
        NotificationRecord::new(NotificationId::derived(&key), recipient.clone(), event.kind(), seq);
    record.actor_id = event.actor().cloned();
    match event {
        Event::Followed { .. } => {}
        Event::Posted { post, .. } | Event::Liked { post, .. } => record.post_id = Some(post.clone()),
        Event::Commented { post, comment, .. } => {
            record.post_id = Some(post.clone());
            record.comment_id = Some(comment.clone());
        }
        Event::Purchased { post, price_cents, .. } => {
            record.post_id = Some(post.clone());
            record.amount_cents = Some(*price_cents);
        }
        Event::Subscribed { tier, .. } | Event::SubscriptionEnded { tier, .. } => {
            record.tier_id = Some(tier.clone());
        }
        Event::PayoutPaid { payout, amount_cents, .. } | Event::PayoutFailed { payout, amount_cents, .. } => {
            record.payout_id = Some(payout.clone());
            record.amount_cents = Some(*amount_cents);
        }
        Event::Moderated { action, target, reason, .. } => {
            record.action = Some(*action);
            record.target = Some(target.clone());
            record.reason = Some(reason.clone());
        }
        Event::ReportResolved { action, target, .. } => {
            record.action = Some(*action);
            record.target = Some(target.clone());
        }
    }
    record
}
