//! The public API's request and answer bodies: what the handlers read and
//! write, and what the API document describes.

use common::ids::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::users::UserRecord;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// 3 to 30 of a-z, 0-9, `_` and `.`; unique regardless of case.
    #[schema(min_length = 3, max_length = 30, pattern = "^[A-Za-z0-9_.]+$")]
    pub(crate) username: String,
    #[schema(format = "email", max_length = 254)]
    pub(crate) email: String,
    #[schema(min_length = 8, max_length = 128)]
    pub(crate) password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or e-mail.
    pub(crate) login: String,
    pub(crate) password: String,
    /// The `device_token` an earlier sign-in on this device received: a
    /// known device keeps its own attempt budget.
    #[serde(default)]
    pub(crate) device_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub(crate) refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) token_type: &'static str,
    pub(crate) expires_in: u64,
    /// At sign-up and login: keep it on this device and send it with the
    /// next login (see `LoginRequest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) device_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Profile {
    pub(crate) id: UserId,
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) created_at: String,
    /// `admin`, `moderator`: what the page may offer (each service checks the token's own).
    pub(crate) roles: Vec<String>,
}

impl From<&UserRecord> for Profile {
    fn from(user: &UserRecord) -> Self {
        Self {
            id: user.id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            created_at: user.created_at.try_to_rfc3339_string().unwrap_or_default(),
            roles: user.roles.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SignedUp {
    pub(crate) user: Profile,
    pub(crate) tokens: TokenPair,
}

/// A JSON Web Key Set.
#[derive(Serialize, ToSchema)]
pub struct KeySet {
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}
