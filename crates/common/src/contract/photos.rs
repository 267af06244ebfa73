//! post's internal API for media: who may still see a photo, and that one is gone.

use serde::{Deserialize, Serialize};

use crate::contract::route::{Callers, InternalRoute, Method, Service};
use crate::ids::MediaId;

/// [`PhotoAccess`], for media.
pub const ACCESS: InternalRoute = InternalRoute {
    method: Method::Get,
    pattern: "/internal/v1/media/{id}/access",
    callers: Callers::Only(&[Service::Media]),
};

/// A photo is gone (no body): [`PhotoRemoved`].
pub const REMOVED: InternalRoute = InternalRoute {
    method: Method::Post,
    pattern: "/internal/v1/media/{id}/removed",
    callers: Callers::Only(&[Service::Media]),
};

pub fn access_path(id: &MediaId) -> String {
    ACCESS.path(&[id])
}

pub fn removed_path(id: &MediaId) -> String {
    REMOVED.path(&[id])
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
