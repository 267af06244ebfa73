//! What every request handler works with.

use ipnet::IpNet;

use crate::{devices, limiter, passwords, tokens, users};

pub struct Auth {
    pub users: users::Users,
    pub passwords: passwords::Passwords,
    pub access: tokens::AccessTokens,
    pub refresh: tokens::RefreshTokens,
    pub limiter: limiter::LoginLimiter,
    pub devices: devices::Devices,
    pub trusted_proxies: Vec<IpNet>,
    pub signups_per_hour: usize,
}

/// The published key set.
pub struct Jwks(pub serde_json::Value);
