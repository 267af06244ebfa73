//! auth's internal API for post: usernames.

use serde::{Deserialize, Serialize};

use crate::ids::Username;

/// `GET` it: the [`Account`] with that username (404 when there is none).
pub fn by_username_path(username: &Username) -> String {
    format!("/internal/v1/users/by-username/{username}")
}

/// `POST` a [`Lookup`]: [`Accounts`].
pub const LOOKUP_PATH: &str = "/internal/v1/users/lookup";
/// The most ids one lookup may name.
pub const MAX_LOOKUP: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub username: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    pub ids: Vec<String>,
}

/// The accounts found; unknown ids are left out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accounts {
    pub users: Vec<Account>,
}
