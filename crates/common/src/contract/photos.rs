//! post's internal API for media: who may still see a photo, that one is
//! gone, and each leak trace made of one (for post's audit log).

use serde::{Deserialize, Serialize};

use crate::contract::route::{Callers, InternalRoute, Method, Service};
use crate::ids::{MediaId, PurchaseId, SubscriptionId, TraceId, UserId};
use crate::request_id::RequestId;

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

/// A leak trace of a photo ([`Traced`]), for the audit log; answered 204
/// (telling one twice records it once).
pub const TRACED: InternalRoute = InternalRoute {
    method: Method::Post,
    pattern: "/internal/v1/media/{id}/traces",
    callers: Callers::Only(&[Service::Media]),
};

pub fn traced_path(id: &MediaId) -> String {
    TRACED.path(&[id])
}

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

/// Who traced: a signed-in user (the photo's owner, or a moderator), or an
/// operator through media's command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Tracer {
    User(UserId),
    Operator(String),
}

/// One leak trace and what it found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Traced {
    /// media's id of the trace, which the audit entry takes as its own.
    pub trace_id: TraceId,
    /// The photo's owner.
    pub owner_id: UserId,
    pub by: Tracer,
    pub found: bool,
    /// Whose copy it was, and by which purchase or subscription.
    pub buyer_id: Option<UserId>,
    pub purchase_id: Option<PurchaseId>,
    pub subscription_id: Option<SubscriptionId>,
    pub confidence: Option<f64>,
    /// The request that traced (none from the command line).
    pub request_id: Option<RequestId>,
    /// When, in milliseconds since the epoch.
    pub at_ms: i64,
}
