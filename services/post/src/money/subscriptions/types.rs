//! Tiers' and subscriptions' request and answer bodies.

use common::ids::{SubscriptionId, UserId};
use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::PostError;
use crate::money::ProviderId;
use crate::money::subscriptions::store::{SubscriptionRecord, SubscriptionState};
use crate::money::subscriptions::tiers::{MAX_TIERS, Promotion, TierRecord};
use crate::money::subscriptions::{Interval, TierId};

/// The lowest price of a period.
pub const MIN_PRICE_CENTS: i64 = 100;
pub const MAX_TRIAL_DAYS: i64 = 90;

fn rfc3339(at: DateTime) -> String {
    at.try_to_rfc3339_string().unwrap_or_default()
}

#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct PromotionInput {
    /// 1–100 % off the first paid period.
    pub(crate) percent_off: i64,
    /// How many new subscribers may have it.
    pub(crate) max_redemptions: i64,
    /// RFC 3339; it ends then.
    pub(crate) ends_at: String,
}

/// `POST /v1/tiers`; `PATCH /v1/tiers/{id}` takes the same fields, each optional.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierInput {
    /// 1–5: a subscriber of a tier sees the posts of its rank and every lower one.
    pub(crate) rank: Option<i64>,
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// At least 100.
    pub(crate) monthly_cents: Option<i64>,
    pub(crate) yearly_cents: Option<i64>,
    pub(crate) trial_days: Option<i64>,
    pub(crate) subscriber_cap: Option<i64>,
    pub(crate) promotion: Option<PromotionInput>,
}

/// The checked fields of a [`TierInput`].
pub struct CheckedTier {
    pub rank: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub monthly_cents: Option<i64>,
    pub yearly_cents: Option<i64>,
    pub trial_days: Option<i64>,
    pub subscriber_cap: Option<i64>,
    pub promotion: Option<Promotion>,
}

fn within(
    field: &str,
    value: Option<i64>,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, PostError> {
    match value {
        Some(v) if !range.contains(&v) => {
            Err(PostError::invalid(field, format!("must be {} to {}", range.start(), range.end())))
        }
        other => Ok(other),
    }
}

impl TierInput {
    pub fn checked(self, max_price_cents: i64, now: DateTime) -> Result<CheckedTier, PostError> {
        let name = match self.name.map(|n| n.trim().to_owned()) {
            Some(name) if name.is_empty() || name.chars().count() > 60 => {
                return Err(PostError::invalid("name", "must be 1 to 60 characters"));
            }
            name => name,
        };
        if self.description.as_ref().is_some_and(|d| d.chars().count() > 1000) {
            return Err(PostError::invalid("description", "is longer than 1000 characters"));
        }
        let promotion = match self.promotion {
            None => None,
            Some(input) => {
                within("promotion.percent_off", Some(input.percent_off), 1..=100)?;
                within("promotion.max_redemptions", Some(input.max_redemptions), 1..=1_000_000)?;
                let ends_at = DateTime::parse_rfc3339_str(&input.ends_at)
                    .map_err(|_| PostError::invalid("promotion.ends_at", "must be an RFC 3339 time"))?;
                if ends_at <= now {
                    return Err(PostError::invalid("promotion.ends_at", "must be in the future"));
                }
                Some(Promotion {
                    percent_off: input.percent_off,
                    max_redemptions: input.max_redemptions,
                    redeemed: 0,
                    ends_at,
                })
            }
        };
        Ok(CheckedTier {
            rank: within("rank", self.rank, 1..=MAX_TIERS)?,
            name,
            description: self.description,
            monthly_cents: within("monthly_cents", self.monthly_cents, MIN_PRICE_CENTS..=max_price_cents)?,
            yearly_cents: within("yearly_cents", self.yearly_cents, MIN_PRICE_CENTS..=max_price_cents * 12)?,
            trial_days: within("trial_days", self.trial_days, 1..=MAX_TRIAL_DAYS)?,
            subscriber_cap: within("subscriber_cap", self.subscriber_cap, 1..=10_000_000)?,
            promotion,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct PromotionView {
    pub percent_off: i64,
    /// How many new subscribers may still have it.
    pub remaining: i64,
    pub ends_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct TierView {
    #[schema(value_type = String)]
    pub id: TierId,
    pub creator_id: UserId,
    pub rank: i64,
    pub name: String,
    pub description: String,
    pub monthly_cents: i64,
    pub yearly_cents: Option<i64>,
    pub trial_days: Option<i64>,
    pub subscriber_cap: Option<i64>,
    pub subscribers: i64,
    pub promotion: Option<PromotionView>,
    pub retired: bool,
}

impl From<TierRecord> for TierView {
    fn from(tier: TierRecord) -> Self {
        Self {
            id: tier.id,
            creator_id: tier.creator_id,
            rank: tier.rank,
            name: tier.name,
            description: tier.description,
            monthly_cents: tier.monthly_cents,
            yearly_cents: tier.yearly_cents,
            trial_days: tier.trial_days,
            subscriber_cap: tier.subscriber_cap,
            subscribers: tier.subscribers,
            promotion: tier.promotion.map(|p| PromotionView {
                percent_off: p.percent_off,
                remaining: (p.max_redemptions - p.redeemed).max(0),
                ends_at: rfc3339(p.ends_at),
            }),
            retired: tier.retired,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TierList {
    pub tiers: Vec<TierView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// `monthly` (the default) or `yearly`, when the tier has a yearly price.
    #[serde(default)]
    pub(crate) interval: Option<Interval>,
    /// Start with the tier's free trial (once per creator).
    #[serde(default)]
    pub(crate) trial: bool,
    /// Pay by this card (`pm_…`) through the payment provider, which
    /// charges each period; without it, each period is paid from the wallet.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub(crate) payment_method: Option<ProviderId>,
}

/// `POST /v1/subscriptions/{id}/tier`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeTier {
    #[schema(value_type = String)]
    pub(crate) tier_id: TierId,
}

/// A move to a lower tier, due at the period's end.
#[derive(Serialize, ToSchema)]
pub struct NextTierView {
    #[schema(value_type = String)]
    pub tier_id: TierId,
    pub rank: i64,
    pub price_cents: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: SubscriptionId,
    pub subscriber_id: UserId,
    pub creator_id: UserId,
    #[schema(value_type = String)]
    pub tier_id: TierId,
    pub rank: i64,
    pub interval: Interval,
    /// What each renewal charges.
    pub price_cents: i64,
    /// `incomplete` (by card, not yet confirmed by the provider), `trialing`, `active`, `past_due` (a renewal failed; still open in its grace period), `ended`, `refunded`.
    #[schema(value_type = String)]
    pub state: SubscriptionState,
    /// Ends at `current_period_end` instead of renewing.
    pub cancel_at_period_end: bool,
    /// RFC 3339.
    pub current_period_end: String,
    pub grace_until: Option<String>,
    /// A move down, from `current_period_end`.
    pub next_tier: Option<NextTierView>,
    /// `wallet` or `card`: what pays each period.
    pub paid_by: &'static str,
}

impl From<SubscriptionRecord> for SubscriptionView {
    fn from(record: SubscriptionRecord) -> Self {
        Self {
            id: record.id,
            subscriber_id: record.subscriber_id,
            creator_id: record.creator_id,
            tier_id: record.tier_id,
            rank: record.rank,
            interval: record.interval,
            price_cents: record.price_cents,
            state: record.state,
            cancel_at_period_end: record.cancel_at_period_end,
            current_period_end: rfc3339(record.period_end),
            grace_until: record.grace_until.map(rfc3339),
            next_tier: record.next_tier.map(|next| NextTierView {
                tier_id: next.tier_id,
                rank: next.rank,
                price_cents: next.price_cents,
            }),
            paid_by: if record.card.is_some() { "card" } else { "wallet" },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionList {
    /// The 100 newest, newest first.
    pub subscriptions: Vec<SubscriptionView>,
}

/// A creator's subscribers.
#[derive(Serialize, ToSchema)]
pub struct SubscriberList {
    /// The 100 newest, newest first, ended ones included.
    pub subscriptions: Vec<SubscriptionView>,
    /// Monthly recurring revenue of the live ones: yearly prices count a twelfth.
    pub monthly_recurring_cents: i64,
}
