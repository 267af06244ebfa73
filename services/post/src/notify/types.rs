//! Notifications on the wire.

use common::ids::{CommentId, OutflowId, PostId, TierId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::notify::inbox::NotificationRecord;
use crate::notify::{Kind, NotificationId};
use crate::posts::types::UserRef;
use crate::safety::{Action, Target};

#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    #[schema(value_type = String)]
    pub id: NotificationId,
    pub kind: Kind,
    /// Who did it (none for payouts and moderators' decisions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<UserRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub post_id: Option<PostId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub comment_id: Option<CommentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub tier_id: Option<TierId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub payout_id: Option<OutflowId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_cents: Option<i64>,
    /// Likes: how many like the post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub read: bool,
    /// Its place in delivery order: the live stream's event id, and what
    /// "mark all read up to" takes.
    pub seq: i64,
    pub created_at: String,
}

impl NotificationView {
    /// `count`: how many like the post now (likes only).
    pub fn new(record: NotificationRecord, actor: Option<UserRef>, count: Option<i64>) -> Self {
        Self {
            id: record.id,
            kind: record.kind,
            actor,
            post_id: record.post_id,
            comment_id: record.comment_id,
            tier_id: record.tier_id,
            payout_id: record.payout_id,
            amount_cents: record.amount_cents,
            count,
            action: record.action,
            target: record.target,
            reason: record.reason,
            read: record.read,
            seq: record.seq,
            created_at: record.created_at.try_to_rfc3339_string().unwrap_or_default(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationView>,
    /// Unread notifications, counted up to 999.
    pub unread: u64,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Unread {
    /// Unread notifications, counted up to 999.
    pub unread: u64,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MarkAllRead {
    /// Only those delivered up to this `seq` (the newest the page showed):
    /// what arrived since stays unread. Absent: all.
    pub up_to: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct MarkedRead {
    pub marked: u64,
    pub unread: u64,
}
