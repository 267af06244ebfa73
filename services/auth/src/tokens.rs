//! Access tokens (EdDSA JWTs, 15 minutes) and refresh tokens (256 random
//! bits, stored only as their SHA-256, rotated on every use; a reused one
//! revokes its whole family).
//!
//! A family's revocation is its own record, checked whenever a token of the
//! family is used: when two requests present one token at once, the winner's
//! successor may be written after the loser revoked the family, and it must
//! die with the family all the same.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::ids::{TokenId, UserId};
use jsonwebtoken::{Algorithm, Header};
use mongodb::bson::{DateTime, doc};
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
    sub: &'a UserId,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    roles: &'a [String],
    jti: TokenId,
    iat: u64,
    exp: u64,
}

pub struct AccessTokens {
    pub key: SigningKey,
    pub issuer: String,
    pub audience: String,
}

impl AccessTokens {
    pub fn issue(&self, user_id: &UserId, roles: &[String]) -> anyhow::Result<String> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let claims = AccessClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: user_id,
            roles,
            jti: TokenId::mint(),
            iat,
            exp: iat + ACCESS_LIFETIME.as_secs(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key.kid.to_string());
        Ok(jsonwebtoken::encode(&header, &claims, self.key.encoding())?)
    }
}

common::uuid_id!(
    /// The refresh tokens that descend from one sign-in: one reuse revokes them all.
    FamilyId,
    "token family id"
);

#[derive(Debug, Serialize, Deserialize)]
struct RefreshRecord {
    /// SHA-256 of the token, hex. The token itself is never stored.
    #[serde(rename = "_id")]
    hash: String,
    user_id: UserId,
    family_id: FamilyId,
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

/// A revoked family, kept as long as any of its tokens could still be valid.
#[derive(Debug, Serialize, Deserialize)]
struct RevokedFamily {
    #[serde(rename = "_id")]
    family_id: FamilyId,
    revoked_at: DateTime,
    expires_at: DateTime,
}

#[derive(Clone)]
pub struct RefreshTokens {
    collection: Collection<RefreshRecord>,
    revoked: Collection<RevokedFamily>,
}

fn digest(token: &str) -> String {
    common::sha256_hex(token.as_bytes())
}

impl RefreshTokens {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<RefreshRecord>("refresh_tokens");
        collection
            .create_indexes([
                common::mongo::expiring("expires_at", Duration::ZERO),
                IndexModel::builder().keys(doc! { "family_id": 1 }).build(),
            ])
            .await?;
        let revoked = db.collection::<RevokedFamily>("refresh_families_revoked");
        revoked.create_index(common::mongo::expiring("expires_at", Duration::ZERO)).await?;
        Ok(Self { collection, revoked })
    }

    /// A new token for `user_id`, in `family_id` (a new family at sign-in).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issue(&self, user_id: &UserId, family_id: Option<FamilyId>) -> anyhow::Result<String> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = SystemTime::now();
        let record = RefreshRecord {
            hash: digest(&token),
            user_id: user_id.clone(),
            family_id: family_id.unwrap_or_else(FamilyId::mint),
            expires_at: DateTime::from_system_time(now + REFRESH_LIFETIME),
            used: false,
            revoked: false,
            created_at: DateTime::from_system_time(now),
        };
        self.collection.insert_one(&record).await?;
        Ok(token)
    }

    /// Marks `token` used and returns its user and family, atomically: of two
    /// concurrent uses, one wins and the other counts as reuse. (The claim is
    /// a conditional update, not a find-and-modify: every MongoDB-compatible
    /// server we test on applies the former atomically.)
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn consume(&self, token: &str) -> anyhow::Result<Result<(UserId, FamilyId), RefreshRefusal>> {
        let hash = digest(token);
        let now = DateTime::now();
        let claimed = self
            .collection
            .update_one(
                doc! { "_id": &hash, "used": false, "revoked": false, "expires_at": { "$gt": now } },
                doc! { "$set": { "used": true } },
            )
            .await?
            .modified_count
            == 1;
        let record = self.collection.find_one(doc! { "_id": &hash }).await?;
        if claimed && let Some(record) = record {
            if self.revoked.find_one(doc! { "_id": &record.family_id }).await?.is_some() {
                return Ok(Err(RefreshRefusal::Revoked));
            }
            return Ok(Ok((record.user_id, record.family_id)));
        }
        let Some(record) = record else {
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
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoke_family_of(&self, token: &str) -> anyhow::Result<bool> {
        match self.collection.find_one(doc! { "_id": digest(token) }).await? {
            Some(record) => {
                self.revoke_family(&record.family_id).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn revoke_family(&self, family_id: &FamilyId) -> anyhow::Result<()> {
        let now = SystemTime::now();
        // Outlives every token of the family, even one written just after this.
        let record = RevokedFamily {
            family_id: family_id.clone(),
            revoked_at: DateTime::from_system_time(now),
            expires_at: DateTime::from_system_time(now + REFRESH_LIFETIME + Duration::from_secs(24 * 3600)),
        };
        match self.revoked.insert_one(&record).await {
            Ok(_) => {}
            Err(err) if common::mongo::is_duplicate_key(&err) => {}
            Err(err) => return Err(err.into()),
        }
        self.collection
            .update_many(doc! { "family_id": family_id }, doc! { "$set": { "revoked": true } })
            .await?;
        Ok(())
    }
}
