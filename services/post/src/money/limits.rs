//! Per-user limits on purchases, refunds and reports: each one costs work
//! elsewhere (a buyer's marked copies are made for every purchase, a report
//! is a moderator's to read), and a refund followed by a purchase again must
//! not be a free loop.
//!
//! A fixed window of one minute per user and action, counted in MongoDB so
//! every replica sees one count: one conditional upsert either adds to a
//! count still under the limit or, when the count is full, fails on the
//! window's unique id — an atomic step on any MongoDB-compatible server
//! (measured on jongodb: conditional updates and unique inserts are atomic).
//! A window's record expires a minute after it ends.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::ids::UserId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::{Collection, Database};

use crate::error::PostError;

const WINDOW_S: u64 = 60;

#[derive(Debug, Clone, Copy)]
pub enum Action {
    Purchase,
    Refund,
    /// A report to the moderators (each one is someone's work to read).
    Report,
}

#[derive(Clone)]
pub struct ActionLimits {
    counts: Collection<Document>,
    purchases_per_minute: u32,
    refunds_per_minute: u32,
    reports_per_minute: u32,
}

impl ActionLimits {
    pub async fn new(
        db: &Database,
        purchases_per_minute: u32,
        refunds_per_minute: u32,
        reports_per_minute: u32,
    ) -> anyhow::Result<Self> {
        let counts = db.collection::<Document>("action_counts");
        counts.create_index(common::mongo::expiring("expires_at", Duration::ZERO)).await?;
        Ok(Self { counts, purchases_per_minute, refunds_per_minute, reports_per_minute })
    }

    /// Counts one `action` by `user_id`, or refuses it with 429 when this
    /// minute's are spent.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn admit(&self, action: Action, user_id: &UserId) -> Result<(), PostError> {
        let (name, limit) = match action {
            Action::Purchase => ("purchase", self.purchases_per_minute),
            Action::Refund => ("refund", self.refunds_per_minute),
            Action::Report => ("report", self.reports_per_minute),
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(anyhow::Error::from)?.as_secs();
        let window = now / WINDOW_S;
        let id = format!("{name}:{user_id}:{window}");
        let expires_at =
            DateTime::from_system_time(UNIX_EPOCH + Duration::from_secs((window + 2) * WINDOW_S));
        let under = doc! { "_id": &id, "count": { "$lt": i64::from(limit) } };
        let counted = doc! { "$inc": { "count": 1_i64 }, "$setOnInsert": { "expires_at": expires_at } };
        match self.counts.update_one(under, counted).upsert(true).await {
            Ok(_) => Ok(()),
            Err(err) if common::mongo::is_duplicate_key(&err) => {
                Err(PostError::TooMany { action: name, retry_after_s: (window + 1) * WINDOW_S - now })
            }
            Err(err) => Err(err.into()),
        }
    }
}
