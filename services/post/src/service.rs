//! What every request handler works with.

use common::internal_client::ServiceClient;

use crate::{accounts, config, money, notify, posts, safety, social};

pub struct Service {
    pub posts: posts::Posts,
    pub social: social::Social,
    /// Blocks, mutes, reports, moderation, standing.
    pub safety: safety::Safety,
    pub accounts: accounts::AccountDirectory,
    pub money: money::Money,
    /// The outbox, inboxes and live streams.
    pub notifications: notify::Notifications,
    pub media: ServiceClient,
    pub renderer: posts::views::Renderer,
    /// Buyers' copies of an ended grant, released at media.
    pub copies: posts::copies::Copies,
    pub binding: Option<posts::binding::BindingSettings>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub max_price_cents: u64,
    pub dev_topup: bool,
    pub topup_limits: config::AmountLimits,
    pub payout_limits: config::AmountLimits,
}
