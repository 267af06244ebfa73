//! media's internal API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::contract::route::{Callers, InternalRoute, Method, Service};
use crate::ids::{MediaId, PurchaseId, SubscriptionId, UserId};

/// A photo's record ([`MediaInfo`]), for post.
pub const MEDIA_RECORD: InternalRoute = InternalRoute {
    method: Method::Get,
    pattern: "/internal/v1/media/{id}",
    callers: Callers::Only(&[Service::Post]),
};

/// A [`TakedownRequest`], with the acting moderator's access token in
/// `X-Acting-User`: [`TakedownOutcome`]. From the moderation console, or
/// post's moderation queue.
pub const TAKEDOWN: InternalRoute = InternalRoute {
    method: Method::Post,
    pattern: "/internal/v1/media/{id}/takedown",
    callers: Callers::Only(&[Service::Moderation, Service::Post]),
};

pub fn media_path(id: &MediaId) -> String {
    MEDIA_RECORD.path(&[id])
}

pub fn takedown_path(id: &MediaId) -> String {
    TAKEDOWN.path(&[id])
}

/// The header carrying the acting moderator's own access token.
pub const ACTING_USER: &str = "x-acting-user";

/// Stored by its snake_case name and queried by the enum (`crate::stored`);
/// without the `mongo` feature it is only a wire type.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
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

#[cfg(feature = "mongo")]
impl From<MediaStatus> for crate::stored::Bson {
    fn from(value: MediaStatus) -> Self {
        crate::stored::Bson::String(<&'static str>::from(value).to_owned())
    }
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
    pub id: MediaId,
    pub owner_id: UserId,
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
    pub id: MediaId,
    pub status: MediaStatus,
}

/// A [`MarkedCopiesRequest`]: each buyer's own copies of a paid photo
/// ([`MarkedCopies`], in the request's order), made on first request.
pub const MARKED_COPIES: InternalRoute = InternalRoute {
    method: Method::Post,
    pattern: "/internal/v1/marked-copies",
    callers: Callers::Only(&[Service::Post]),
};
pub const MARKED_COPIES_PATH: &str = MARKED_COPIES.pattern;
/// The most copies one request may ask for (a page's paid photos).
pub const MAX_MARKED_COPIES: usize = 200;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkedCopiesRequest {
    pub items: Vec<MarkedCopyRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct MarkedCopyRequest {
    pub media_id: MediaId,
    pub buyer_id: UserId,
    /// What entitles the buyer now (named by a trace).
    pub grant: Grant,
}

/// A [`CopiesRelease`]: a grant ended (a refund, a lapsed or refunded
/// subscription), so the objects of the copies it was serving go (their
/// marks stay, to trace a copy leaked before; a copy asked for again is
/// made again, the same).
pub const COPIES_RELEASE: InternalRoute = InternalRoute {
    method: Method::Post,
    pattern: "/internal/v1/marked-copies/release",
    callers: Callers::Only(&[Service::Post]),
};
pub const COPIES_RELEASE_PATH: &str = COPIES_RELEASE.pattern;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopiesRelease {
    pub buyer_id: UserId,
    pub grant: Grant,
}

/// How many copies' objects a release removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopiesReleased {
    pub released: u64,
}

/// Where a viewer's own copies live: `private/viewers/{viewer}/`, so one
/// signed cookie over that prefix opens every copy of theirs and nothing else.
pub fn viewer_prefix(viewer: &UserId) -> String {
    format!("private/viewers/{viewer}/")
}

/// What entitles a viewer to their own copy of a paid photo.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    Purchase(PurchaseId),
    Subscription(SubscriptionId),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarkedCopies {
    pub items: Vec<MarkedCopy>,
}

/// The object keys of one buyer's display and thumbnail.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MarkedCopy {
    pub display_key: String,
    pub thumb_key: String,
}
