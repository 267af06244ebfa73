//! Notifications: what happened that a user should hear of, written to an
//! outbox in the same transaction as the action that caused it
//! (`outbox`), delivered to each recipient's inbox asynchronously by the
//! relay (`relay`), read page by page or as a live Server-Sent Events stream
//! (`inbox`, `live`, `routes`).
//!
//! An action pays for one small insert in its own transaction; fan-out (a
//! creator's 10,000 followers) happens after the answer, and an event staged
//! before a crash is delivered by whichever replica's relay finds it next.

pub mod inbox;
pub mod live;
pub mod outbox;
pub mod relay;
pub mod routes;
pub mod types;

use common::ids::{CommentId, OutflowId, PostId, TierId, UserId};
use serde::{Deserialize, Serialize};

use crate::safety::{Action, Target};

common::uuid_id!(
    /// One event in the outbox: what happened, once.
    EventId,
    "event id"
);
common::uuid_id!(
    /// One notification in one user's inbox.
    NotificationId,
    "notification id"
);

impl NotificationId {
    /// The same id for the same `key` however often it is delivered (a
    /// retried delivery writes nothing new).
    pub fn derived(key: &str) -> Self {
        const NAMESPACE: uuid::Uuid = uuid::uuid!("6f1c1d2e-8a43-4c55-9e0e-5b8f7f3a9d10");
        Self(uuid::Uuid::new_v5(&NAMESPACE, key.as_bytes()).simple().to_string())
    }
}

common::stored_enum! {
    /// What a notification is about.
    #[derive(utoipa::ToSchema)]
    pub enum Kind {
        /// Someone followed the recipient.
        Followed,
        /// A creator the recipient follows or subscribes to posted.
        Posted,
        /// Someone commented on the recipient's post.
        Commented,
        /// People liked the recipient's post (one notification per post, counting them).
        Liked,
        /// Someone bought the recipient's post.
        Purchased,
        /// Someone subscribed to one of the recipient's tiers.
        Subscribed,
        /// A subscription to the recipient ended.
        SubscriptionEnded,
        PayoutPaid,
        PayoutFailed,
        /// A moderator acted on the recipient's content or account.
        Moderated,
        /// A report the recipient filed was resolved.
        ReportResolved,
    }
}

/// What happened, as the outbox keeps it until every recipient has it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Followed { follower: UserId, followee: UserId },
    Posted { author: UserId, post: PostId },
    Commented { author: UserId, post: PostId, commenter: UserId, comment: CommentId },
    Liked { author: UserId, post: PostId, liker: UserId },
    Purchased { author: UserId, post: PostId, buyer: UserId, price_cents: i64 },
    Subscribed { creator: UserId, subscriber: UserId, tier: TierId },
    SubscriptionEnded { creator: UserId, subscriber: UserId, tier: TierId },
    PayoutPaid { creator: UserId, payout: OutflowId, amount_cents: i64 },
    PayoutFailed { creator: UserId, payout: OutflowId, amount_cents: i64 },
    Moderated { owner: UserId, action: Action, target: Target, reason: String },
    ReportResolved { reporters: Vec<UserId>, action: Action, target: Target },
}

impl Event {
    pub fn kind(&self) -> Kind {
        match self {
            Event::Followed { .. } => Kind::Followed,
            Event::Posted { .. } => Kind::Posted,
            Event::Commented { .. } => Kind::Commented,
            Event::Liked { .. } => Kind::Liked,
            Event::Purchased { .. } => Kind::Purchased,
            Event::Subscribed { .. } => Kind::Subscribed,
            Event::SubscriptionEnded { .. } => Kind::SubscriptionEnded,
            Event::PayoutPaid { .. } => Kind::PayoutPaid,
            Event::PayoutFailed { .. } => Kind::PayoutFailed,
            Event::Moderated { .. } => Kind::Moderated,
            Event::ReportResolved { .. } => Kind::ReportResolved,
        }
    }

    /// The user whose doing this was: someone who muted or blocked them
    /// (or whom they blocked) hears nothing of it. Moderators stay unnamed.
    pub fn actor(&self) -> Option<&UserId> {
        match self {
            Event::Followed { follower: actor, .. }
            | Event::Posted { author: actor, .. }
            | Event::Commented { commenter: actor, .. }
            | Event::Liked { liker: actor, .. }
            | Event::Purchased { buyer: actor, .. }
            | Event::Subscribed { subscriber: actor, .. }
            | Event::SubscriptionEnded { subscriber: actor, .. } => Some(actor),
            Event::PayoutPaid { .. }
            | Event::PayoutFailed { .. }
            | Event::Moderated { .. }
            | Event::ReportResolved { .. } => None,
        }
    }
}

/// What the service keeps for notifications.
pub struct Notifications {
    pub outbox: outbox::Outbox,
    pub inbox: inbox::Inbox,
    pub live: live::Live,
    /// Cancelled when the service is asked to stop: live streams end.
    pub stopping: tokio_util::sync::CancellationToken,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_queried_as_they_are_stored() {
        assert!(common::stored::stored_as_queried::<Kind>());
    }

    #[test]
    fn a_derived_id_is_the_same_for_the_same_key_and_canonical() {
        let one = NotificationId::derived("a:b");
        assert_eq!(one, NotificationId::derived("a:b"));
        assert_ne!(one, NotificationId::derived("a:c"));
        assert_eq!(NotificationId::parse(&one.to_string()).unwrap(), one);
    }

    #[test]
    fn an_event_names_its_kind_as_stored() {
        let event = Event::Followed { follower: UserId::mint(), followee: UserId::mint() };
        let stored = serde_json::to_value(&event).unwrap();
        assert_eq!(stored["kind"], serde_json::to_value(Kind::Followed).unwrap());
        assert_eq!(event.kind(), Kind::Followed);
    }
}
