//! Stripe Billing, the parts card subscriptions use: a Customer per user
//! (its default card), a Plan per tier, interval and price (new prices are
//! new plans, so existing subscribers keep theirs), Subscriptions, and the
//! Invoices Stripe makes for each period. Stripe runs the schedule: it
//! charges each period and tells us by signed events
//! ([`crate::money::subscriptions::cards`]).

use std::collections::HashMap;

use common::ids::UserId;
use serde::Deserialize;
use serde_json::Value;

use crate::money::ProviderId;
use crate::money::stripe::{ProviderError, Stripe};
use crate::money::subscriptions::store::SubscriptionRecord;
use crate::money::subscriptions::{Interval, TierId};

/// A subscription as Stripe holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderSubscription {
    pub id: ProviderId,
    /// `incomplete`, `trialing`, `active`, `past_due`, `canceled`, …
    pub status: String,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default)]
    pub latest_invoice: Option<ProviderId>,
    #[serde(default)]
    pub trial_end: Option<i64>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    #[serde(default)]
    items: Option<ItemList>,
}

#[derive(Debug, Clone, Deserialize)]
struct ItemList {
    data: Vec<Item>,
}

#[derive(Debug, Clone, Deserialize)]
struct Item {
    id: ProviderId,
}

impl ProviderSubscription {
    pub fn ended(&self) -> bool {
        matches!(self.status.as_str(), "canceled" | "incomplete_expired" | "unpaid")
    }
}

/// An invoice: one period's charge (or a proration).
#[derive(Debug, Clone, Deserialize)]
pub struct Invoice {
    pub id: ProviderId,
    #[serde(default)]
    subscription: Option<ProviderId>,
    #[serde(default)]
    parent: Option<Value>,
    pub status: Option<String>,
    #[serde(default)]
    pub amount_paid: i64,
    pub currency: String,
    #[serde(default)]
    pub payment_intent: Option<ProviderId>,
    period_start: i64,
    period_end: i64,
    #[serde(default)]
    lines: Option<Value>,
}

impl Invoice {
    /// The subscription it bills (older API versions name it at the top,
    /// newer ones under `parent.subscription_details`).
    pub fn subscription(&self) -> Option<ProviderId> {
        self.subscription.clone().or_else(|| {
            let named = self.parent.as_ref()?.pointer("/subscription_details/subscription")?;
            ProviderId::parse(named.as_str()?).ok()
        })
    }

    /// The service period it pays for, in unix seconds: its subscription
    /// line's period (the invoice's own is the period before, for renewals).
    pub fn period(&self) -> (i64, i64) {
        let line = self.lines.as_ref().and_then(|lines| lines.pointer("/data/0/period"));
        let bound = |name: &str| line.and_then(|period| period.get(name)).and_then(Value::as_i64);
        match (bound("start"), bound("end")) {
            (Some(start), Some(end)) => (start, end),
            _ => (self.period_start, self.period_end),
        }
    }
}

#[derive(Deserialize)]
struct Customer {
    id: ProviderId,
}

#[derive(Deserialize)]
struct Plan {
    id: ProviderId,
}

/// The plan of `tier` at `price` for `interval`: one per price, so a price
/// change makes a new plan and subscribers of the old one keep it.
fn plan_id(tier: &TierId, interval: Interval, price_cents: i64) -> String {
    format!("shutter-{tier}-{}-{price_cents}", <&str>::from(interval))
}

impl Stripe {
    /// A customer for `user`, paying with `payment_method` by default.
    pub async fn create_customer(
        &self,
        user: &UserId,
        payment_method: &str,
        key: &str,
    ) -> Result<ProviderId, ProviderError> {
        let form = [
            ("payment_method", payment_method.to_owned()),
            ("invoice_settings[default_payment_method]", payment_method.to_owned()),
            ("metadata[user_id]", user.to_string()),
        ];
        Ok(self.post::<Customer>("/v1/customers", key, &form).await?.id)
    }

    /// Makes `payment_method` the customer's default card.
    pub async fn set_default_card(
        &self,
        customer: &ProviderId,
        payment_method: &str,
    ) -> Result<(), ProviderError> {
        let key = format!("{customer}:{payment_method}");
        let attach = [("customer", customer.to_string())];
        let attached: Result<Value, _> =
            self.post(&format!("/v1/payment_methods/{payment_method}/attach"), &key, &attach).await;
        attached?;
        let default = [("invoice_settings[default_payment_method]", payment_method.to_owned())];
        self.post::<Customer>(&format!("/v1/customers/{customer}"), &format!("{key}:default"), &default)
            .await?;
        Ok(())
    }

    /// The plan for `tier` at `price`, made when it is not there yet.
    pub async fn plan(
        &self,
        tier: &TierId,
        name: &str,
        interval: Interval,
        price_cents: i64,
        currency: &str,
    ) -> Result<ProviderId, ProviderError> {
        let id = plan_id(tier, interval, price_cents);
        match self.get::<Plan>(&format!("/v1/plans/{id}")).await {
            Ok(plan) => return Ok(plan.id),
            Err(ProviderError::Rejected(_)) => {} // not there yet
            Err(err) => return Err(err),
        }
        let form = [
            ("id", id.clone()),
            ("amount", price_cents.to_string()),
            ("currency", currency.to_owned()),
            ("interval", if interval == Interval::Yearly { "year" } else { "month" }.to_owned()),
            ("product[name]", name.to_owned()),
            ("metadata[tier_id]", tier.to_string()),
        ];
        match self.post::<Plan>("/v1/plans", &id, &form).await {
            Ok(plan) => Ok(plan.id),
            // Made by a request racing this one.
            Err(ProviderError::Unknown) => Ok(self.get::<Plan>(&format!("/v1/plans/{id}")).await?.id),
            Err(err) => Err(err),
        }
    }

    /// Subscribes `customer` to `plan` for our `record`: its first invoice is
    /// charged at once and must succeed (else a 402), or a trial begins.
    pub async fn create_subscription(
        &self,
        record: &SubscriptionRecord,
        customer: &ProviderId,
        plan: &ProviderId,
        trial_days: Option<i64>,
    ) -> Result<ProviderSubscription, ProviderError> {
        let mut form = vec![
            ("customer", customer.to_string()),
            ("items[0][plan]", plan.to_string()),
            ("metadata[subscription_id]", record.id.to_string()),
            ("payment_behavior", "error_if_incomplete".to_owned()),
        ];
        if let Some(days) = trial_days {
            form.push(("trial_period_days", days.to_string()));
        }
        self.post("/v1/subscriptions", record.id.as_str(), &form).await
    }

    pub async fn subscription(&self, id: &ProviderId) -> Result<ProviderSubscription, ProviderError> {
        self.get(&format!("/v1/subscriptions/{id}")).await
    }

    /// Ends at the period's end (`true`) or goes on (`false`).
    pub async fn set_cancel_at_period_end(
        &self,
        id: &ProviderId,
        cancel: bool,
        key: &str,
    ) -> Result<ProviderSubscription, ProviderError> {
        let form = [("cancel_at_period_end", cancel.to_string())];
        self.post(&format!("/v1/subscriptions/{id}"), key, &form).await
    }

    /// Moves the subscription to `plan` now; Stripe prorates the rest of
    /// the period on the next invoice (its default `proration_behavior`).
    pub async fn change_plan(
        &self,
        id: &ProviderId,
        plan: &ProviderId,
        key: &str,
    ) -> Result<ProviderSubscription, ProviderError> {
        let held = self.subscription(id).await?;
        let mut form = vec![("items[0][plan]", plan.to_string())];
        if let Some(item) = held.items.as_ref().and_then(|items| items.data.first()) {
            form.push(("items[0][id]", item.id.to_string()));
        }
        self.post(&format!("/v1/subscriptions/{id}"), key, &form).await
    }

    /// Ends the subscription now (no more invoices); one already ended is left so.
    pub async fn cancel_subscription(&self, id: &ProviderId) -> Result<(), ProviderError> {
        match self.delete::<ProviderSubscription>(&format!("/v1/subscriptions/{id}")).await {
            Ok(_) => Ok(()),
            Err(ProviderError::Rejected(_)) => match self.subscription(id).await {
                Ok(held) if held.ended() => Ok(()),
                Ok(_) => Err(ProviderError::Rejected("the subscription could not be cancelled".into())),
                Err(err) => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// A credit of `amount_cents` the provider takes off `customer`'s next
    /// invoice — a promotion's discount on the first paid period (a pending
    /// invoice item: a new subscription's first invoice takes it).
    pub async fn credit(
        &self,
        customer: &ProviderId,
        amount_cents: i64,
        currency: &str,
        key: &str,
    ) -> Result<ProviderId, ProviderError> {
        let form = [
            ("customer", customer.to_string()),
            ("amount", (-amount_cents).to_string()),
            ("currency", currency.to_owned()),
            ("description", "promotion".to_owned()),
        ];
        Ok(self.post::<Item>("/v1/invoiceitems", key, &form).await?.id)
    }

    /// Withdraws a credit no subscription took.
    pub async fn drop_credit(&self, item: &ProviderId) -> Result<(), ProviderError> {
        self.delete::<Value>(&format!("/v1/invoiceitems/{item}")).await.map(drop)
    }

    pub async fn invoice(&self, id: &ProviderId) -> Result<Invoice, ProviderError> {
        self.get(&format!("/v1/invoices/{id}")).await
    }
}
