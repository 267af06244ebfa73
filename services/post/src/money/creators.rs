//! Which creators may be paid out.
//!
//! A payout goes to a person the platform knows: here an admin verifies a
//! creator (`PUT /v1/admin/creators/{id}/verification`), which the dev stack
//! and the tests can do. In production with Stripe Connect the same check is
//! the connected account's `payouts_enabled` (Stripe verifies the identity);
//! the payout provider would answer it instead of this record. The dev
//! stack, which has no admin, counts every creator as verified.

use common::ids::UserId;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Verification {
    /// The creator's user id.
    #[serde(rename = "_id")]
    user_id: UserId,
    verified: bool,
    /// The admin who said so.
    by: UserId,
    at: DateTime,
}

#[derive(Clone)]
pub struct Creators {
    verifications: Collection<Verification>,
    all_verified: bool,
}

impl Creators {
    pub fn new(db: &Database, all_verified: bool) -> Self {
        Self { verifications: db.collection("creator_verifications"), all_verified }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn verified(&self, user_id: &UserId) -> anyhow::Result<bool> {
        if self.all_verified {
            return Ok(true);
        }
        let found = self.verifications.find_one(doc! { "_id": user_id }).await?;
        Ok(found.is_some_and(|v| v.verified))
    }

    /// Records an admin's word; the last one counts.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_verified(&self, user_id: &UserId, verified: bool, by: &UserId) -> anyhow::Result<()> {
        let record = doc! { "$set": { "verified": verified, "by": by, "at": DateTime::now() } };
        self.verifications.update_one(doc! { "_id": user_id }, record).upsert(true).await?;
        Ok(())
    }
}
