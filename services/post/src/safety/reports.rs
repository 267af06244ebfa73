//! Reports: a signed-in user reports a post, a comment or a user, with a
//! reason from a fixed list. One open report per reporter and target (a
//! slot keyed `{reporter}:{target}`, freed when the report is resolved), so
//! two racing reports are one. Moderators see them grouped by target.

use std::collections::HashMap;

use common::ids::UserId;
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::money::stored::stored_enum;
use crate::safety::{ReportId, Target};

stored_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum Reason {
        Spam,
        Harassment,
        Hate,
        Violence,
        Nudity,
        /// Someone's work or likeness used without their consent.
        Stolen,
        Other,
    }
}

stored_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum ReportState {
        Open,
        /// A moderator found nothing to do.
        Dismissed,
        /// A moderator acted on its target.
        Actioned,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportRecord {
    #[serde(rename = "_id")]
    pub id: ReportId,
    pub reporter_id: UserId,
    pub target: Target,
    /// `{kind}:{id}`: what reports of one target share.
    pub target_key: String,
    /// Whose content it is (the user, for a user).
    pub owner_id: UserId,
    pub reason: Reason,
    pub text: Option<String>,
    pub state: ReportState,
    pub created_at: DateTime,
    pub resolved_at: Option<DateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    #[serde(rename = "_id")]
    key: String,
    report_id: ReportId,
}

/// Open reports of one target, for the queue.
#[derive(Debug, Clone)]
pub struct Group {
    pub target: Target,
    pub owner_id: UserId,
    pub count: usize,
    pub oldest: DateTime,
    pub reasons: Vec<Reason>,
    pub reports: Vec<ReportId>,
}

/// How many open reports the queue reads at once (oldest first).
const QUEUE_READ: i64 = 1000;

#[derive(Clone)]
pub struct Reports {
    records: Collection<ReportRecord>,
    slots: Collection<Slot>,
}

impl Reports {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let records = db.collection::<ReportRecord>("reports");
        records
            .create_indexes([
                IndexModel::builder().keys(doc! { "state": 1, "created_at": 1 }).build(),
                IndexModel::builder().keys(doc! { "target_key": 1, "state": 1 }).build(),
                IndexModel::builder().keys(doc! { "reporter_id": 1, "created_at": -1 }).build(),
            ])
            .await?;
        Ok(Self { records, slots: db.collection("report_slots") })
    }

    /// Files `report`; 409 while the reporter has an open one on its target.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn file(&self, report: &ReportRecord) -> Result<(), PostError> {
        let slot = Slot {
            key: format!("{}:{}", report.reporter_id, report.target_key),
            report_id: report.id.clone(),
        };
        match self.slots.insert_one(&slot).await {
            Ok(_) => {}
            Err(err) if common::mongo::is_duplicate_key(&err) => {
                return Err(PostError::Conflict(
                    "You have already reported this; a moderator will look at it.",
                ));
            }
            Err(err) => return Err(anyhow::Error::from(err).into()),
        }
        if let Err(err) = self.records.insert_one(report).await {
            self.slots.delete_one(doc! { "_id": &slot.key }).await?;
            return Err(anyhow::Error::from(err).into());
        }
        Ok(())
    }

    /// The oldest open reports, grouped by target, oldest group first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn queue(&self, limit: usize) -> anyhow::Result<Vec<Group>> {
        let open: Vec<ReportRecord> = self
            .records
            .find(doc! { "state": ReportState::Open })
            .sort(doc! { "created_at": 1 })
            .limit(QUEUE_READ)
            .await?
            .try_collect()
            .await?;
        let mut order: Vec<String> = Vec::new();
        let mut groups: HashMap<String, Group> = HashMap::new();
        for report in open {
            let group = groups.entry(report.target_key.clone()).or_insert_with(|| {
                order.push(report.target_key.clone());
                Group {
                    target: report.target.clone(),
                    owner_id: report.owner_id.clone(),
                    count: 0,
                    oldest: report.created_at,
                    reasons: Vec::new(),
                    reports: Vec::new(),
                }
            });
            group.count += 1;
            if !group.reasons.contains(&report.reason) {
                group.reasons.push(report.reason);
            }
            group.reports.push(report.id);
        }
        Ok(order.into_iter().take(limit).filter_map(|key| groups.remove(&key)).collect())
    }

    /// Resolves every open report of `target` as `state`; answers their reporters.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn resolve(&self, target: &Target, state: ReportState) -> anyhow::Result<Vec<UserId>> {
        let open = doc! { "target_key": target.key(), "state": ReportState::Open };
        let reports: Vec<ReportRecord> = self.records.find(open.clone()).await?.try_collect().await?;
        let resolved = doc! { "$set": { "state": state, "resolved_at": DateTime::now() } };
        self.records.update_many(open, resolved).await?;
        let keys: Vec<String> =
            reports.iter().map(|r| format!("{}:{}", r.reporter_id, r.target_key)).collect();
        self.slots.delete_many(doc! { "_id": { "$in": keys } }).await?;
        Ok(reports.into_iter().map(|r| r.reporter_id).collect())
    }

    /// `reporter`'s reports, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn of(&self, reporter: &UserId, limit: i64) -> anyhow::Result<Vec<ReportRecord>> {
        Ok(common::mongo::newest(&self.records, doc! { "reporter_id": reporter }, limit).await?)
    }
}
