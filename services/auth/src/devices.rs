//! Known devices: a device that signed in to an account gets a device token
//! (256 random bits, stored only as its SHA-256), and presents it at its
//! next logins. A known device has a login budget of its own (see
//! `limiter`), so a stranger guessing an account's password cannot lock its
//! owner out of the devices they already use.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::ids::UserId;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A device not seen for this long is forgotten.
pub const FORGOTTEN_AFTER: Duration = Duration::from_secs(180 * 24 * 3600);

#[derive(Debug, Serialize, Deserialize)]
struct DeviceRecord {
    /// SHA-256 of the token, hex.
    #[serde(rename = "_id")]
    hash: String,
    user_id: UserId,
    created_at: DateTime,
    last_seen_at: DateTime,
}

/// A device token as its owner presented it, recognised for one account.
#[derive(Debug, Clone)]
pub struct KnownDevice {
    /// The token's digest (its stored key), never the token itself.
    pub digest: String,
    pub token: String,
}

#[derive(Clone)]
pub struct Devices {
    collection: Collection<DeviceRecord>,
}

impl Devices {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<DeviceRecord>("devices");
        collection.create_index(common::mongo::expiring("last_seen_at", FORGOTTEN_AFTER)).await?;
        Ok(Self { collection })
    }

    /// A new device token for `user_id`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue(&self, user_id: &UserId) -> anyhow::Result<String> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = DateTime::now();
        let record = DeviceRecord {
            hash: common::sha256_hex(token.as_bytes()),
            user_id: user_id.clone(),
            created_at: now,
            last_seen_at: now,
        };
        self.collection.insert_one(&record).await?;
        Ok(token)
    }

    /// `token` when it is a device of `user_id`'s (and marks it seen).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recognise(&self, token: &str, user_id: &UserId) -> anyhow::Result<Option<KnownDevice>> {
        if token.len() > 64 {
            return Ok(None);
        }
        let digest = common::sha256_hex(token.as_bytes());
        let seen = self
            .collection
            .update_one(
                doc! { "_id": &digest, "user_id": user_id },
                doc! { "$set": { "last_seen_at": DateTime::now() } },
            )
            .await?;
        Ok((seen.matched_count == 1).then(|| KnownDevice { digest, token: token.to_owned() }))
    }
}
