//! Leak tracing: a photo's owner (or a moderator) sends a suspected leaked
//! copy; the mark it carries, read against the clean display, names the
//! purchase and the buyer. Every trace is recorded.

use common::contract::users::{Accounts, LOOKUP_PATH, Lookup};
use common::ids::{MediaId, PurchaseId, SubscriptionId, UserId};
use common::internal_client::ServiceClient;
use imaging::watermark::Detection;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::marks::MarkRecord;
use crate::types::{TraceBuyer, TraceResult};

common::uuid_id!(
    /// One trace of a suspected leak.
    TraceId,
    "trace id"
);

/// One trace, kept: who traced which photo, when, and what it found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceRecord {
    #[serde(rename = "_id")]
    pub id: TraceId,
    pub media_id: MediaId,
    /// A user id, or the operator CLI.
    pub by: String,
    pub at: DateTime,
    pub found: bool,
    pub mark_id: Option<i64>,
    pub purchase_id: Option<PurchaseId>,
    #[serde(default)]
    pub subscription_id: Option<SubscriptionId>,
    pub buyer_id: Option<UserId>,
    pub confidence: Option<f64>,
    /// The suspect file's SHA-256, to recognise the same file traced again.
    pub suspect_sha256: String,
}

#[derive(Clone)]
pub struct Traces {
    collection: Collection<TraceRecord>,
}

impl Traces {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<TraceRecord>("traces");
        collection.create_index(IndexModel::builder().keys(doc! { "media_id": 1, "at": -1 }).build()).await?;
        Ok(Self { collection })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record(&self, trace: &TraceRecord) -> anyhow::Result<()> {
        self.collection.insert_one(trace).await?;
        Ok(())
    }
}

/// A detection counts only when its mark is one media made for this photo.
pub async fn outcome(
    detection: Option<&Detection>,
    mark: Option<&MarkRecord>,
    auth: Option<&ServiceClient>,
) -> TraceResult {
    let (Some(detection), Some(mark)) = (detection, mark) else {
        return TraceResult {
            found: false,
            buyer: None,
            purchase_id: None,
            subscription_id: None,
            confidence: None,
        };
    };
    TraceResult {
        found: true,
        buyer: Some(TraceBuyer { id: mark.buyer_id.clone(), username: username(auth, &mark.buyer_id).await }),
        purchase_id: mark.purchase_id.clone(),
        subscription_id: mark.subscription_id.clone(),
        confidence: Some((detection.confidence * 1000.0).round() / 1000.0),
    }
}

/// The buyer's username from auth; `None` when auth cannot say now (the
/// id and the purchase still answer the question).
async fn username(auth: Option<&ServiceClient>, user_id: &UserId) -> Option<String> {
    let lookup = Lookup { ids: vec![user_id.clone()] };
    match auth?.post_json_idempotent::<_, Accounts>(LOOKUP_PATH, &lookup).await {
        Ok(accounts) => accounts.users.into_iter().find(|a| a.id == *user_id).map(|a| a.username),
        Err(err) => {
            tracing::warn!(error = %err, "usernames unavailable; tracing without one");
            None
        }
    }
}
