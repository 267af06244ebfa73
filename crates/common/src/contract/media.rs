//! media's internal API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::MediaId;

/// `GET` it: a photo's record ([`MediaInfo`]).
pub fn media_path(id: &MediaId) -> String {
    format!("/internal/v1/media/{id}")
}

/// `POST` a [`TakedownRequest`] to it, with the acting moderator's access
/// token in `X-Acting-User`.
pub fn takedown_path(id: &MediaId) -> String {
    format!("/internal/v1/media/{id}/takedown")
}

/// The header carrying the acting moderator's own access token.
pub const ACTING_USER: &str = "x-acting-user";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    /// A direct upload not completed yet.
    Pending,
    Ready,
    /// Not an acceptable image (see `failure`).
    Failed,
    /// Removed by a moderator; its objects are deleted.
    TakenDown,
    /// Removed by its owner; its objects are deleted.
    Deleted,
}

impl MediaStatus {
    pub fn is_removed(self) -> bool {
        matches!(self, MediaStatus::TakenDown | MediaStatus::Deleted)
    }
}

/// One stored object of a photo.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Variant {
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub content_type: String,
}

/// What post needs to show a photo: its owner, state and objects
/// (`original`, `display`, `thumb` private; `preview` public).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaInfo {
    pub id: String,
    pub owner_id: String,
    pub status: MediaStatus,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub blurhash: Option<String>,
    pub variants: BTreeMap<String, Variant>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakedownRequest {
    /// 1 to 500 characters, kept with the record.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TakedownOutcome {
    pub id: String,
    pub status: MediaStatus,
}
