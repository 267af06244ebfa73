//! auth's internal API for post: usernames, and suspended accounts (post and media).

use serde::{Deserialize, Serialize};

use crate::contract::route::{Callers, InternalRoute, Method, Service};
use crate::ids::{UserId, Username};

/// The [`Account`] with a username (404 when there is none), for post.
pub const BY_USERNAME: InternalRoute = InternalRoute {
    method: Method::Get,
    pattern: "/internal/v1/users/by-username/{username}",
    callers: Callers::Only(&[Service::Post]),
};

/// A [`Lookup`]: [`Accounts`].
pub const LOOKUP: InternalRoute = InternalRoute {
    method: Method::Post,
    pattern: "/internal/v1/users/lookup",
    callers: Callers::Only(&[Service::Post, Service::Media]),
};
pub const LOOKUP_PATH: &str = LOOKUP.pattern;

/// A [`Suspension`] of an account, or its end (by post's moderators).
pub const SUSPENSION: InternalRoute = InternalRoute {
    method: Method::Post,
    pattern: "/internal/v1/users/{id}/suspension",
    callers: Callers::Only(&[Service::Post]),
};

/// The suspended accounts ([`Suspended`]); `?known={version}` answers the
/// version alone when it has not moved.
pub const SUSPENDED: InternalRoute = InternalRoute {
    method: Method::Get,
    pattern: "/internal/v1/suspended",
    callers: Callers::Only(&[Service::Post, Service::Media]),
};

pub fn suspension_path(id: &UserId) -> String {
    SUSPENSION.path(&[id])
}

pub fn suspended_path(known_version: i64) -> String {
    format!("{}?known={known_version}", SUSPENDED.pattern)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    pub suspended: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Suspended {
    /// Moves with every suspension and its end.
    pub version: i64,
    /// Every suspended account; `None` when the caller's version is current.
    pub user_ids: Option<Vec<UserId>>,
}

pub fn by_username_path(username: &Username) -> String {
    BY_USERNAME.path(&[username])
}
/// The most ids one lookup may name.
pub const MAX_LOOKUP: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: UserId,
    pub username: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    pub ids: Vec<UserId>,
}

/// The accounts found; unknown ids are left out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accounts {
    pub users: Vec<Account>,
}
