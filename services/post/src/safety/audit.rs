//! The audit log: every moderator's action, append-only. Written here and
//! read by admins; no route updates or deletes a record, and the store has
//! no method that could.

use common::ids::UserId;
use common::request_id::RequestId;
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::notify::Event;
use crate::notify::outbox::Outbox;
use crate::pages::{self, Cursor, PAGE_SIZE};
use crate::safety::{Action, AuditId, Target};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    #[serde(rename = "_id")]
    pub id: AuditId,
    /// Who acted: a user, or (`None`) the operator named in `operator`.
    pub actor_id: Option<UserId>,
    /// An operator acting outside the API (media's command line).
    #[serde(default)]
    pub operator: Option<String>,
    /// What they did.
    pub action: Action,
    pub target: Target,
    pub target_key: String,
    /// Whose content or account it was.
    pub owner_id: UserId,
    pub reason: String,
    /// Whom it names besides the owner: the buyer a leak trace found.
    #[serde(default)]
    pub subject_id: Option<UserId>,
    /// The request that did it (the one the client and the logs name).
    pub request_id: Option<RequestId>,
    pub created_at: DateTime,
}

#[derive(Clone)]
pub struct AuditLog {
    records: Collection<AuditRecord>,
}

/// What an admin looks for in the log (all when empty).
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub owner: Option<UserId>,
    pub target_key: Option<String>,
}

impl AuditLog {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let records = db.collection::<AuditRecord>("audit_log");
        records
            .create_indexes([
                IndexModel::builder().keys(doc! { "created_at": -1, "_id": -1 }).build(),
                IndexModel::builder().keys(doc! { "actor_id": 1, "created_at": -1 }).build(),
                IndexModel::builder().keys(doc! { "owner_id": 1, "created_at": -1 }).build(),
                IndexModel::builder().keys(doc! { "target_key": 1, "created_at": -1 }).build(),
            ])
            .await?;
        Ok(Self { records })
    }

    /// Appends `record`, and stages what its action tells users in the same transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn append(
        &self,
        record: &AuditRecord,
        outbox: &Outbox,
        told: impl IntoIterator<Item = Event>,
    ) -> Result<(), PostError> {
        outbox.insert_with(&self.records, record, told).await?;
        Ok(())
    }

    /// A page of the log, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn page(
        &self,
        filter: &AuditFilter,
        cursor: Option<&Cursor>,
    ) -> anyhow::Result<Vec<AuditRecord>> {
        let mut wanted = Document::new();
        if let Some(actor) = &filter.actor {
            wanted.insert("actor_id", actor);
        }
        if let Some(owner) = &filter.owner {
            wanted.insert("owner_id", owner);
        }
        if let Some(key) = &filter.target_key {
            wanted.insert("target_key", key);
        }
        let wanted = Cursor::after(cursor, wanted);
        Ok(self.records.find(wanted).sort(pages::sort()).limit(PAGE_SIZE + 1).await?.try_collect().await?)
    }
}
