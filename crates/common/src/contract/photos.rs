//! post's internal API for media: who may still see a photo, and that one is gone.

use serde::{Deserialize, Serialize};

use crate::ids::MediaId;

/// `GET` it: [`PhotoAccess`].
pub fn access_path(id: &MediaId) -> String {
    format!("/internal/v1/media/{id}/access")
}

/// `POST` to it (no body): [`PhotoRemoved`].
pub fn removed_path(id: &MediaId) -> String {
    format!("/internal/v1/media/{id}/removed")
}

/// The posts showing a photo, and whether anyone bought one of them (an
/// owner may delete only a photo nobody paid to see).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PhotoAccess {
    pub posts: u64,
    pub has_buyers: bool,
}

/// How many posts now show the photo as unavailable.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PhotoRemoved {
    pub posts: u64,
}
