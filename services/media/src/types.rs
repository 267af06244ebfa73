//! The public API's request and answer bodies: what the handlers read and
//! write, and what the API document describes.

use std::collections::BTreeMap;

use common::contract::media::MediaStatus;
use common::ids::{MediaId, PurchaseId, SubscriptionId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::records::MediaRecord;

/// `POST /v1/media` as a form.
#[derive(ToSchema)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub(crate) content_type: String,
    /// Bytes, at most MEDIA_MAX_BYTES.
    #[schema(minimum = 1)]
    pub(crate) size: u64,
}

#[derive(Serialize, ToSchema)]
pub struct VariantView {
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub content_type: String,
}

/// A media item as its uploader sees it (storage keys are never shown).
#[derive(Serialize, ToSchema)]
pub struct MediaView {
    pub id: MediaId,
    pub status: MediaStatus,
    pub failure: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub blurhash: Option<String>,
    /// `original`, `display`, `thumb`, `preview`.
    pub variants: BTreeMap<String, VariantView>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&MediaRecord> for MediaView {
    fn from(record: &MediaRecord) -> Self {
        let variants = record
            .variants
            .iter()
            .map(|(name, v)| {
                let view = VariantView {
                    width: v.width,
                    height: v.height,
                    bytes: v.bytes,
                    content_type: v.content_type.clone(),
                };
                (name.clone(), view)
            })
            .collect();
        Self {
            id: record.id.clone(),
            status: record.status,
            failure: record.failure.clone(),
            width: record.width,
            height: record.height,
            blurhash: record.blurhash.clone(),
            variants,
            created_at: record.created_at.try_to_rfc3339_string().unwrap_or_default(),
        }
    }
}

/// The headers the presigned PUT must carry.
#[derive(Serialize, ToSchema)]
pub struct UploadHeaders {
    #[serde(rename = "content-type")]
    pub content_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct DirectUpload {
    pub id: MediaId,
    /// PUT the image here with the headers below.
    pub upload_url: String,
    /// `PUT`.
    pub method: &'static str,
    pub headers: UploadHeaders,
    /// RFC 3339.
    pub expires_at: String,
}

/// `POST /v1/media/{id}/trace`: whose copy a suspected leak is.
#[derive(Serialize, ToSchema)]
pub struct TraceResult {
    /// Whether the image carries a mark media made for one of this photo's buyers.
    pub found: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<TraceBuyer>,
    /// The purchase the copy was made for, or the subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_id: Option<PurchaseId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<SubscriptionId>,
    /// The estimated probability that the mark was read exactly right (0–1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct TraceBuyer {
    pub id: UserId,
    /// `null` when the account service cannot say right now.
    pub username: Option<String>,
}
