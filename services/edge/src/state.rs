//! What every request needs, and edge's name.

use std::sync::Arc;

use ipnet::IpNet;

use crate::{cache, origin, trusted_keys};

pub const NAME: &str = common::contract::route::Service::Edge.name();

/// What every request needs.
pub struct Edge {
    pub keys: trusted_keys::TrustedKeys,
    pub origin: origin::Origin,
    pub trusted_proxies: Vec<IpNet>,
    pub public_prefix: String,
    pub public_cache_control: String,
    pub private_cache_control: String,
    /// Off when its memory budget is 0.
    pub cache: Option<Arc<cache::EdgeCache>>,
}
