//! Accounts: the values a signup must satisfy, parsed once at the boundary,
//! and their storage.

use mongodb::bson::{DateTime, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use common::ids::UserId;
pub use common::ids::Username;

/// An address with one `@`, a local part and a dotted domain; compared
/// case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let email = input.trim();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if !valid {
            return Err("is not an e-mail address");
        }
        Ok(Self(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lower(&self) -> String {
        self.0.to_lowercase()
    }
}

/// 8–128 characters. The upper bound keeps hashing from being a lever for
/// denial of service.
pub struct Password(String);

impl Password {
    pub fn parse(input: String) -> Result<Self, &'static str> {
        match input.chars().count() {
            0..=7 => Err("must be at least 8 characters"),
            8..=128 => Ok(Self(input)),
            _ => Err("must be at most 128 characters"),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(rename = "_id")]
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub email_lower: String,
    pub password_hash: String,
    pub created_at: DateTime,
    /// e.g. `admin` (moderation). Granted by operators in the database, never through the API.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Suspended by a moderator (through post): no sign-in, no refresh.
    #[serde(default)]
    pub suspended: bool,
}

/// The version of the suspended list: moves with every suspension and its end.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SuspensionsVersion {
    #[serde(rename = "_id")]
    key: String,
    version: i64,
}

#[derive(Clone)]
pub struct Users {
    collection: Collection<UserRecord>,
    versions: Collection<SuspensionsVersion>,
}

impl Users {
    pub async fn new(db: &Database) -> anyhow::Result<Self> {
        let collection = db.collection::<UserRecord>("users");
        let unique = || IndexOptions::builder().unique(true).build();
        collection
            .create_indexes([
                IndexModel::builder().keys(doc! { "username": 1 }).options(unique()).build(),
                IndexModel::builder().keys(doc! { "email_lower": 1 }).options(unique()).build(),
                IndexModel::builder().keys(doc! { "suspended": 1 }).build(),
            ])
            .await?;
        Ok(Self { collection, versions: db.collection("suspensions_version") })
    }

    /// Inserts; a taken username or e-mail is MongoDB's duplicate-key error.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert(&self, user: &UserRecord) -> Result<(), mongodb::error::Error> {
        self.collection.insert_one(user).await.map(drop)
    }

    /// Whether the username (rather than the e-mail) is taken.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn username_taken(&self, username: &Username) -> anyhow::Result<bool> {
        Ok(self.collection.find_one(doc! { "username": username.as_str() }).await?.is_some())
    }

    /// By username or e-mail, case-insensitively.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_by_login(&self, login: &str) -> anyhow::Result<Option<UserRecord>> {
        let lower = login.trim().to_lowercase();
        let filter = if lower.contains('@') {
            doc! { "email_lower": lower }
        } else {
            doc! { "username": lower }
        };
        Ok(self.collection.find_one(filter).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find(&self, id: &UserId) -> anyhow::Result<Option<UserRecord>> {
        Ok(self.collection.find_one(doc! { "_id": id }).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_many(&self, ids: &[UserId]) -> anyhow::Result<Vec<UserRecord>> {
        use futures_util::TryStreamExt;
        Ok(self.collection.find(doc! { "_id": { "$in": ids } }).await?.try_collect().await?)
    }

    /// Suspends `id` (or ends it): `false` when there is no such user. The
    /// list's version moves after the account changed, so a service that
    /// read the new version reads the change.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_suspended(&self, id: &UserId, suspended: bool) -> anyhow::Result<bool> {
        let found = self
            .collection
            .update_one(doc! { "_id": id }, doc! { "$set": { "suspended": suspended } })
            .await?;
        if found.matched_count == 0 {
            return Ok(false);
        }
        let upsert = mongodb::options::UpdateOptions::builder().upsert(true).build();
        self.versions
            .update_one(doc! { "_id": "suspended" }, doc! { "$inc": { "version": 1_i64 } })
            .with_options(upsert)
            .await?;
        Ok(true)
    }

    /// The suspended list's version.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn suspensions_version(&self) -> anyhow::Result<i64> {
        Ok(self.versions.find_one(doc! { "_id": "suspended" }).await?.map_or(0, |v| v.version))
    }

    /// Every suspended account.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn suspended(&self) -> anyhow::Result<Vec<UserId>> {
        use futures_util::TryStreamExt;
        let found: Vec<UserRecord> =
            self.collection.find(doc! { "suspended": true }).await?.try_collect().await?;
        Ok(found.into_iter().map(|user| user.id).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_password_hash(&self, id: &UserId, hash: &str) -> anyhow::Result<()> {
        self.collection.update_one(doc! { "_id": id }, doc! { "$set": { "password_hash": hash } }).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("Alice@Example.com").is_ok());
        for bad in
            ["alice", "alice@", "@example.com", "a@b", "a b@example.com", "a@@example.com", "a@example.com."]
        {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("x".repeat(128)).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
    }
}
