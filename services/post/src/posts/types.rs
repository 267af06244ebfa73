//! Posts' request and answer bodies: what the handlers read and write, and
//! what the API document describes.

use common::ids::{Claimed, MediaId, PostId, UserId};

use crate::posts::store::Audience;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePost {
    #[serde(default)]
    #[schema(max_length = 2200)]
    pub(crate) caption: String,
    /// Your own processed photos, 1 to 10, distinct.
    #[schema(min_items = 1, max_items = 10)]
    #[schema(value_type = Vec<String>)]
    pub(crate) media_ids: Vec<Claimed<MediaId>>,
    /// Any JSON number, so a negative or fractional price is answered
    /// naming the field rather than as a parse error.
    #[serde(default)]
    #[schema(value_type = Option<u64>, maximum = 100_000)]
    pub(crate) price_cents: Option<serde_json::Number>,
    /// Who sees it without buying it (default `{"kind": "anyone"}`: the price decides).
    #[serde(default)]
    pub(crate) audience: Audience,
}

/// A photo as this viewer may see it.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum PhotoView {
    /// Entitled (free, theirs, bought): CloudFront signed URLs.
    Unlocked(UnlockedPhoto),
    /// Not entitled: the blurred public preview and the price.
    Locked(LockedPhoto),
    /// Taken down or deleted by its owner: nothing to show.
    Unavailable(UnavailablePhoto),
}

/// What every shown photo says about itself.
#[derive(Serialize, ToSchema)]
pub struct PhotoFacts {
    pub media_id: MediaId,
    pub width: u32,
    pub height: u32,
    pub blurhash: Option<String>,
    /// The public blurred preview.
    pub preview_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct UnlockedPhoto {
    #[serde(flatten)]
    pub facts: PhotoFacts,
    /// `false`.
    pub locked: bool,
    /// The display size, signed; `null` (with `error`) when URLs cannot be made now.
    #[schema(required = true)]
    pub url: Option<String>,
    /// The thumbnail, signed; `null` with `error` as `url`.
    #[schema(required = true)]
    pub thumb_url: Option<String>,
    /// When the URLs stop working, epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// `temporarily_unavailable` when url-signer could not be reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct LockedPhoto {
    #[serde(flatten)]
    pub facts: PhotoFacts,
    /// `true`.
    pub locked: bool,
    pub price_cents: u64,
}

#[derive(Serialize, ToSchema)]
pub struct UnavailablePhoto {
    pub media_id: MediaId,
    /// `true`.
    pub unavailable: bool,
}

#[derive(Serialize, ToSchema)]
pub struct UserRef {
    pub id: UserId,
    pub username: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PostView {
    pub id: PostId,
    pub author_id: UserId,
    /// In pages (feed, profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<UserRef>,
    pub caption: String,
    pub price_cents: u64,
    pub audience: Audience,
    pub deleted: bool,
    pub like_count: i64,
    pub comment_count: i64,
    /// RFC 3339.
    pub created_at: String,
    pub photos: Vec<PhotoView>,
    /// How many of `photos` a buyer gets (the others were taken down or
    /// deleted); a paid post with none left cannot be bought.
    pub photos_available: usize,
}

#[derive(Serialize, ToSchema)]
pub struct PostPage {
    pub items: Vec<PostView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}
