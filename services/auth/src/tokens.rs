//! Access tokens (EdDSA JWTs, 15 minutes) and refresh tokens (256 random
//! bits, stored only as their SHA-256, rotated on every use; a reused one
//! revokes its whole family).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use mongodb::bson::{DateTime, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::keys::SigningKey;

pub const ACCESS_LIFETIME: Duration = Duration::from_secs(15 * 60);
pub const REFRESH_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    roles: &'a [String],
    jti: String,
    iat: u64,
    exp: u64,
}

pub struct AccessTokens {
    pub key: SigningKey,
    pub issuer: String,
    pub audience: String,
}

impl AccessTokens {
    pub fn issue(&self, user_id: &str, roles: &[String]) -> anyhow::Result<String> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let claims = AccessClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: user_id,
            roles,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iat,
            exp: iat + ACCESS_LIFETIME.as_secs(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, self.key.encoding())?)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct RefreshRecord {
    /// SHA-256 of the token, hex. The token itself is never stored.
    #[serde(rename = "_id")]
    hash: String,
    user_id: String,
    family_id: String,
    expires_at: DateTime,
    used: bool,
    revoked: bool,
    created_at: DateTime,
}

/// Why a refresh token was refused (logged, never told).
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshRefusal {
    Unknown,
    Revoked,
    Expired,
    /// Presented a second time: its family is now revoked.
    Reused,
}

#[derive(Clone)]
pub struct RefreshTokens {
    collection: Collection<RefreshRecord>,
}

fn digest(token: &str) -> String {
    common::hex(&openssl::sha::sha256(token.as_bytes()))
}

impl RefreshTokens {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<RefreshRecord>("refresh_tokens");
        collection
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "expires_at": 1 })
                    .options(IndexOptions::builder().expire_after(Duration::ZERO).build())
                    .build(),
                IndexModel::builder().keys(doc! { "family_id": 1 }).build(),
            ])
            .await?;
        Ok(Self { collection })
    }

    /// A new token for `user_id`, in `family_id` (a new family at sign-in).
    pub async fn issue(&self, user_id: &str, family_id: Option<String>) -> anyhow::Result<String> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = SystemTime::now();
        let record = RefreshRecord {
            hash: digest(&token),
            user_id: user_id.to_owned(),
            family_id: family_id.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
            expires_at: DateTime::from_system_time(now + REFRESH_LIFETIME),
            used: false,
            revoked: false,
            created_at: DateTime::from_system_time(now),
        };
        self.collection.insert_one(&record).await?;
        Ok(token)
    }

    /// Marks `token` used and returns its user and family, atomically: of two
    /// concurrent uses, one wins and the other counts as reuse.
    pub async fn consume(&self, token: &str) -> anyhow::Result<Result<(String, String), RefreshRefusal>> {
        let hash = digest(token);
        let now = DateTime::now();
        let claimed = self
            .collection
            .find_one_and_update(
                doc! { "_id": &hash, "used": false, "revoked": false, "expires_at": { "$gt": now } },
                doc! { "$set": { "used": true } },
            )
            .await?;
        if let Some(record) = claimed {
            return Ok(Ok((record.user_id, record.family_id)));
        }
        let Some(record) = self.collection.find_one(doc! { "_id": &hash }).await? else {
            return Ok(Err(RefreshRefusal::Unknown));
        };
        if record.revoked {
            return Ok(Err(RefreshRefusal::Revoked));
        }
        if record.used {
            self.revoke_family(&record.family_id).await?;
            return Ok(Err(RefreshRefusal::Reused));
        }
        Ok(Err(RefreshRefusal::Expired))
    }

    /// Revokes the family of `token`; false when the token is unknown.
    pub async fn revoke_family_of(&self, token: &str) -> anyhow::Result<bool> {
        match self.collection.find_one(doc! { "_id": digest(token) }).await? {
            Some(record) => {
                self.revoke_family(&record.family_id).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn revoke_family(&self, family_id: &str) -> anyhow::Result<()> {
        self.collection
            .update_many(doc! { "family_id": family_id }, doc! { "$set": { "revoked": true } })
            .await?;
        Ok(())
    }
}
