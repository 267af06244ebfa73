//! Each user's notifications: newest first by page, unread counted, read one
//! by one or all at once, and kept for the retention period (a TTL index).
//!
//! `seq` orders deliveries for the live stream: microseconds since the
//! epoch, strictly increasing within a process. A stream resumes after the
//! `seq` it last sent (its `Last-Event-ID`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::ids::{CommentId, OutflowId, PostId, TierId, UserId};
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::notify::{Kind, NotificationId};
use crate::pages::{self, Cursor, PAGE_SIZE};
use crate::safety::{Action, Target};

/// Unread notifications are counted up to this many (the badge shows "999+").
pub const UNREAD_COUNTED: u64 = 999;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationRecord {
    #[serde(rename = "_id")]
    pub id: NotificationId,
    pub recipient_id: UserId,
    pub kind: Kind,
    pub actor_id: Option<UserId>,
    pub post_id: Option<PostId>,
    pub comment_id: Option<CommentId>,
    pub tier_id: Option<TierId>,
    pub payout_id: Option<OutflowId>,
    pub amount_cents: Option<i64>,
    pub action: Option<Action>,
    pub target: Option<Target>,
    pub reason: Option<String>,
    pub read: bool,
    pub seq: i64,
    /// When it was delivered (or, for likes, last brought up again).
    pub created_at: DateTime,
}

impl NotificationRecord {
    /// A notification of `kind` for `recipient`, with nothing else said yet.
    pub fn new(id: NotificationId, recipient: UserId, kind: Kind, seq: i64) -> Self {
        Self {
            id,
            recipient_id: recipient,
            kind,
            actor_id: None,
            post_id: None,
            comment_id: None,
            tier_id: None,
            payout_id: None,
            amount_cents: None,
            action: None,
            target: None,
            reason: None,
            read: false,
            seq,
            created_at: DateTime::now(),
        }
    }
}

pub struct Inbox {
    records: Collection<NotificationRecord>,
    retention: Duration,
    last_seq: AtomicI64,
}

fn micros(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl Inbox {
    pub async fn new(db: &Database, retention: Duration) -> anyhow::Result<Self> {
        let records = db.collection::<NotificationRecord>("notifications");
        let expire = IndexOptions::builder().expire_after(retention).build();
        records
            .create_indexes([
                IndexModel::builder().keys(doc! { "recipient_id": 1, "created_at": -1, "_id": -1 }).build(),
                IndexModel::builder().keys(doc! { "recipient_id": 1, "read": 1, "seq": 1 }).build(),
                IndexModel::builder().keys(doc! { "seq": 1 }).build(),
                IndexModel::builder().keys(doc! { "created_at": 1 }).options(expire).build(),
            ])
            .await?;
        Ok(Self { records, retention, last_seq: AtomicI64::new(0) })
    }

    /// The next delivery's `seq`: now in microseconds, after every earlier one here.
    pub fn next_seq(&self) -> i64 {
        seq_after(&self.last_seq, micros(SystemTime::now()))
    }

    /// The oldest `seq` a stream may resume after: older ones may be gone.
    pub fn oldest_resumable(&self) -> i64 {
        micros(SystemTime::now() - self.retention)
    }

    /// Writes `records`; one already there (a retried delivery) stays as it was.
    pub async fn deliver(&self, records: &[NotificationRecord]) -> mongodb::error::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        match self.records.insert_many(records).ordered(false).await {
            Ok(_) => Ok(()),
            Err(err) if only_duplicates(&err) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Writes `record` over the one of the same id (likes: one per post, brought up unread).
    pub async fn replace(&self, record: &NotificationRecord) -> mongodb::error::Result<()> {
        self.records.replace_one(doc! { "_id": &record.id }, record).upsert(true).await?;
        Ok(())
    }

    /// A page of `user`'s notifications, newest first.
    pub async fn page(
        &self,
        user: &UserId,
        cursor: Option<&Cursor>,
    ) -> mongodb::error::Result<Vec<NotificationRecord>> {
        let filter = Cursor::after(cursor, doc! { "recipient_id": user });
        self.records.find(filter).sort(pages::sort()).limit(PAGE_SIZE + 1).await?.try_collect().await
    }

    /// How many of `user`'s notifications are unread, up to [`UNREAD_COUNTED`].
    pub async fn unread(&self, user: &UserId) -> mongodb::error::Result<u64> {
        let unread = doc! { "recipient_id": user, "read": false };
        self.records.count_documents(unread).limit(UNREAD_COUNTED).await
    }

    /// Marks one read: `false` when `user` has no such notification.
    pub async fn mark_read(&self, user: &UserId, id: &NotificationId) -> mongodb::error::Result<bool> {
        let theirs = doc! { "_id": id, "recipient_id": user };
        Ok(self.records.update_one(theirs, doc! { "$set": { "read": true } }).await?.matched_count == 1)
    }

    /// Marks read every notification of `user` delivered up to `up_to`
    /// (all when `None`): what arrived after the page was shown stays unread.
    pub async fn mark_all_read(&self, user: &UserId, up_to: Option<i64>) -> mongodb::error::Result<u64> {
        let mut unread = doc! { "recipient_id": user, "read": false };
        if let Some(up_to) = up_to {
            unread.insert("seq", doc! { "$lte": up_to });
        }
        Ok(self.records.update_many(unread, doc! { "$set": { "read": true } }).await?.modified_count)
    }

    /// `user`'s notifications delivered after `seq`, oldest first.
    pub async fn after(
        &self,
        user: &UserId,
        seq: i64,
        limit: i64,
    ) -> mongodb::error::Result<Vec<NotificationRecord>> {
        let newer = doc! { "recipient_id": user, "read": { "$in": [false, true] }, "seq": { "$gt": seq } };
        self.records.find(newer).sort(doc! { "seq": 1 }).limit(limit).await?.try_collect().await
    }

    /// The `seq` of `user`'s newest notification (0: none).
    pub async fn latest_seq(&self, user: &UserId) -> mongodb::error::Result<i64> {
        let theirs = doc! { "recipient_id": user, "read": { "$in": [false, true] } };
        let newest = self.records.find_one(theirs).sort(doc! { "seq": -1 }).await?;
        Ok(newest.map_or(0, |n| n.seq))
    }

    /// Who was delivered something after `seq`, with what `seq` (another
    /// replica's deliveries, for this one's live streams).
    pub async fn delivered_after(&self, seq: i64, limit: i64) -> mongodb::error::Result<Vec<(UserId, i64)>> {
        #[derive(Deserialize)]
        struct Delivered {
            recipient_id: UserId,
            seq: i64,
        }
        let newer = doc! { "seq": { "$gt": seq } };
        let found: Vec<Delivered> = self
            .records
            .clone_with_type::<Delivered>()
            .find(newer)
            .projection(doc! { "_id": 0, "recipient_id": 1, "seq": 1 })
            .sort(doc! { "seq": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        Ok(found.into_iter().map(|n| (n.recipient_id, n.seq)).collect())
    }
}

/// `now`, or one past the last `seq` handed out when that is not before it.
fn seq_after(last: &AtomicI64, now: i64) -> i64 {
    let previous = last.fetch_max(now, Ordering::SeqCst);
    if previous >= now { last.fetch_add(1, Ordering::SeqCst) + 1 } else { now }
}

/// Whether every write an unordered insert refused was a duplicate key.
fn only_duplicates(err: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    match err.kind.as_ref() {
        ErrorKind::InsertMany(e) => {
            e.write_concern_error.is_none()
                && e.write_errors.as_ref().is_some_and(|errors| errors.iter().all(|w| w.code == 11000))
        }
        _ => common::mongo::is_duplicate_key(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_increase_within_a_process_even_in_the_same_microsecond_or_a_clock_step_back() {
        let last = AtomicI64::new(0);
        let seqs: Vec<i64> = [100, 100, 99, 200].into_iter().map(|now| seq_after(&last, now)).collect();
        assert_eq!(seqs, [100, 101, 102, 200]);
    }
}
