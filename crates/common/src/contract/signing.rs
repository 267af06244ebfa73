//! url-signer's internal API.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::contract::route::{Callers, InternalRoute, Method, Service};
use crate::ids::KeyId;

/// Signed URLs: only post shows photos (media never asks for signatures).
pub const SIGN: InternalRoute = InternalRoute {
    method: Method::Post,
    pattern: "/internal/v1/sign",
    callers: Callers::Only(&[Service::Post]),
};
/// Signed cookies, for post too.
pub const COOKIES: InternalRoute = InternalRoute {
    method: Method::Post,
    pattern: "/internal/v1/cookies",
    callers: Callers::Only(&[Service::Post]),
};
/// The published public keys: open on the internal network (edge, which
/// reads them, faces the internet and holds no credential).
pub const PUBLIC_KEYS: InternalRoute =
    InternalRoute { method: Method::Get, pattern: "/internal/v1/public-keys", callers: Callers::Open };
pub const SIGN_PATH: &str = SIGN.pattern;
pub const COOKIES_PATH: &str = COOKIES.pattern;
pub const PUBLIC_KEYS_PATH: &str = PUBLIC_KEYS.pattern;

/// `POST /internal/v1/sign`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    pub items: Vec<SignItem>,
    /// Sign with this published key instead of the active one (rotation checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignItem {
    /// The URL to sign, exactly as it will be requested.
    pub resource: String,
    pub expires_in_s: u64,
    /// Restrict to one address or CIDR range (a custom policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Epoch seconds before which the URL does not work (a custom policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedUrl {
    pub url: Arc<str>,
    /// Epoch seconds; never earlier than asked for.
    pub expires_at: u64,
}

/// The URLs in the order of the request's items.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SignResponse {
    pub items: Vec<SignedUrl>,
    pub key_id: KeyId,
}

/// `POST /internal/v1/cookies`: one item, whose `resource` may be a URL
/// pattern (`*` after an allowed prefix matches the rest).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CookieRequest {
    /// (Unknown fields are refused by the item.)
    #[serde(flatten)]
    pub item: SignItem,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CookieResponse {
    /// `CloudFront-Policy` (or `-Expires`), `CloudFront-Signature`, `CloudFront-Key-Pair-Id`, …
    pub cookies: BTreeMap<String, String>,
    pub expires_at: u64,
}

/// `GET /internal/v1/public-keys`: the key group CloudFront (or edge) trusts.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PublicKeys {
    pub keys: Vec<PublishedKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedKey {
    pub id: KeyId,
    pub algorithm: String,
    /// SubjectPublicKeyInfo PEM, as CloudFront's CreatePublicKey takes it.
    pub public_key_pem: String,
    pub active: bool,
}
