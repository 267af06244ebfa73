//! Creators' tiers, and subscribing to them.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use common::ids::{SubscriptionId, Username};
use common::respond::{Created, Made};
use common::user_auth::AuthUser;

use crate::error::PostError;
use crate::money::purchases::Party;
use crate::money::subscriptions::cards::CardOrder;
use crate::money::subscriptions::store::SubscriptionState;
use crate::money::subscriptions::tiers::{TierChange, TierRecord};
use crate::money::subscriptions::types::{
    ChangeTier, SubscribeRequest, SubscriberList, SubscriptionList, SubscriptionView, TierInput, TierList,
    TierView,
};
use crate::money::subscriptions::{Interval, Subscribed, TierId};
use crate::safety::visibility::ensure_seen;
use crate::service::Service;

/// `id`, when `user` made it.
async fn own_tier(service: &Service, user: &AuthUser, id: &TierId) -> Result<TierRecord, PostError> {
    let tier = service.money.subscriptions.tiers.get(id).await?;
    match tier.creator_id == user.user_id {
        true => Ok(tier),
        false => Err(PostError::TierNotFound),
    }
}

fn max_price(service: &Service) -> i64 {
    i64::try_from(service.max_price_cents).unwrap_or(i64::MAX)
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])), request_body = TierInput,
    responses((status = 201, description = "The tier", body = TierView),
              (status = 409, description = "You already have a tier of that rank (five at most)"),
              (status = 422, description = "A field missing or out of bounds (names it)")))]
#[post("/v1/tiers")]
pub(crate) async fn create_tier(
    user: AuthUser,
    body: web::Json<TierInput>,
    service: web::Data<Service>,
) -> Result<Created<TierView>, PostError> {
    let subscriptions = &service.money.subscriptions;
    let checked = body.into_inner().checked(max_price(&service), subscriptions.now())?;
    let required = |field: &str| PostError::invalid(field, "is required");
    let tier = TierRecord {
        id: TierId::mint(),
        creator_id: user.user_id.clone(),
        rank: checked.rank.ok_or_else(|| required("rank"))?,
        name: checked.name.ok_or_else(|| required("name"))?,
        description: checked.description.unwrap_or_default(),
        monthly_cents: checked.monthly_cents.ok_or_else(|| required("monthly_cents"))?,
        yearly_cents: checked.yearly_cents,
        trial_days: checked.trial_days,
        subscriber_cap: checked.subscriber_cap,
        subscribers: 0,
        promotion: checked.promotion,
        retired: false,
        created_at: subscriptions.now(),
    };
    subscriptions.tiers.create(&tier).await?;
    Ok(Created(tier.into()))
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])), request_body = TierInput,
    params(("id" = String, Path, description = "The tier id")),
    responses((status = 200, description = "The tier; a new price applies to new subscribers only", body = TierView),
              (status = 404, description = "No such tier of yours"),
              (status = 422, description = "A field out of bounds, or the rank (which cannot change)")))]
#[patch("/v1/tiers/{id}")]
pub(crate) async fn change_tier(
    user: AuthUser,
    id: web::Path<TierId>,
    body: web::Json<TierInput>,
    service: web::Data<Service>,
) -> Result<web::Json<TierView>, PostError> {
    let tier = own_tier(&service, &user, &id).await?;
    let subscriptions = &service.money.subscriptions;
    let checked = body.into_inner().checked(max_price(&service), subscriptions.now())?;
    if checked.rank.is_some_and(|rank| rank != tier.rank) {
        return Err(PostError::invalid("rank", "cannot change; make another tier"));
    }
    let change = TierChange {
        name: checked.name,
        description: checked.description,
        monthly_cents: checked.monthly_cents,
        yearly_cents: checked.yearly_cents.map(Some),
        trial_days: checked.trial_days.map(Some),
        subscriber_cap: checked.subscriber_cap.map(Some),
        promotion: checked.promotion.map(Some),
    };
    Ok(web::Json(subscriptions.tiers.change(&tier.id, change).await?.into()))
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The tier id")),
    responses((status = 204, description = "Retired: no new subscribers; those it has go on"),
              (status = 404, description = "No such tier of yours")))]
#[delete("/v1/tiers/{id}")]
pub(crate) async fn retire_tier(
    user: AuthUser,
    id: web::Path<TierId>,
    service: web::Data<Service>,
) -> Result<HttpResponse, PostError> {
    let tier = own_tier(&service, &user, &id).await?;
    service.money.subscriptions.tiers.retire(&tier.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "subscriptions",
    params(("username" = String, Path, description = "A creator's username")),
    responses((status = 200, description = "The creator's open tiers, lowest rank first", body = TierList),
              (status = 404, description = "No such user")))]
#[get("/v1/users/{username}/tiers")]
pub(crate) async fn tiers_of(
    username: web::Path<Username>,
    service: web::Data<Service>,
) -> Result<web::Json<TierList>, PostError> {
    let creator = service.accounts.by_username(&username).await?;
    let tiers = service.money.subscriptions.tiers.of(&creator.id, false).await?;
    Ok(web::Json(TierList { tiers: tiers.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])), request_body = SubscribeRequest,
    params(("id" = String, Path, description = "The tier id")),
    responses((status = 201, description = "Subscribed: the first period paid from the wallet or by the card (or a trial begun); `incomplete` while the payment provider has not confirmed it", body = SubscriptionView),
              (status = 200, description = "Already subscribed to this creator: that subscription, nothing charged", body = SubscriptionView),
              (status = 402, description = "Not enough money in the wallet, or the card was declined"),
              (status = 404, description = "No such tier, or no payment provider for a card"),
              (status = 503, description = "The payment provider is unreachable: nothing was charged"),
              (status = 409, description = "Your own tier, a retired or full one, or a trial already had"),
              (status = 422, description = "No yearly price, or no trial, on this tier")))]
#[post("/v1/tiers/{id}/subscriptions")]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, tier_id = %id))]
pub(crate) async fn subscribe(
    user: AuthUser,
    id: web::Path<TierId>,
    body: web::Json<SubscribeRequest>,
    service: web::Data<Service>,
) -> Result<Made<SubscriptionView>, PostError> {
    let subscriptions = &service.money.subscriptions;
    let tier = subscriptions.tiers.get(&id).await?;
    ensure_seen(&service, Some(&user.user_id), &tier.creator_id, PostError::TierNotFound).await?;
    let interval = body.interval.unwrap_or(Interval::Monthly);
    let subscribed = match &body.payment_method {
        None => subscriptions.subscribe(&user.user_id, &tier, interval, body.trial).await?,
        Some(card) => {
            let order = CardOrder { tier: &tier, interval, trial: body.trial, payment_method: card };
            subscriptions.subscribe_by_card(&user.user_id, order).await?
        }
    };
    match subscribed {
        Subscribed::New(record) => Ok(Made::New(record.into())),
        Subscribed::Existing(record) => Ok(Made::Existing(record.into())),
    }
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])),
    responses((status = 200, description = "Your subscriptions, newest first", body = SubscriptionList)))]
#[get("/v1/subscriptions")]
pub(crate) async fn mine(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<SubscriptionList>, PostError> {
    let records = service.money.subscriptions.store.recent(Party::Buyer, &user.user_id, 100).await?;
    Ok(web::Json(SubscriptionList { subscriptions: records.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])),
    responses((status = 200, description = "Your subscribers, newest first, and your monthly recurring revenue", body = SubscriberList)))]
#[get("/v1/subscribers")]
pub(crate) async fn subscribers(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<SubscriberList>, PostError> {
    let records = service.money.subscriptions.store.recent(Party::Creator, &user.user_id, 100).await?;
    let monthly_recurring_cents = records
        .iter()
        .filter(|r| SubscriptionState::LIVE.contains(&r.state) && !r.cancel_at_period_end)
        .map(|r| match r.interval {
            Interval::Monthly => r.price_cents,
            Interval::Yearly => r.price_cents / 12,
        })
        .sum();
    Ok(web::Json(SubscriberList {
        subscriptions: records.into_iter().map(Into::into).collect(),
        monthly_recurring_cents,
    }))
}

async fn set_cancelled(
    user: AuthUser,
    id: web::Path<SubscriptionId>,
    service: web::Data<Service>,
    ending: bool,
) -> Result<web::Json<SubscriptionView>, PostError> {
    let record = service.money.subscriptions.set_cancelled(&id, &user.user_id, ending).await?;
    Ok(web::Json(record.into()))
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The subscription id")),
    responses((status = 200, description = "It ends at the period's end; open until then", body = SubscriptionView),
              (status = 404, description = "No such subscription of yours"),
              (status = 409, description = "It has ended")))]
#[post("/v1/subscriptions/{id}/cancel")]
pub(crate) async fn cancel(
    user: AuthUser,
    id: web::Path<SubscriptionId>,
    service: web::Data<Service>,
) -> Result<web::Json<SubscriptionView>, PostError> {
    set_cancelled(user, id, service, true).await
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The subscription id")),
    responses((status = 200, description = "It renews again", body = SubscriptionView),
              (status = 404, description = "No such subscription of yours"),
              (status = 409, description = "It has ended")))]
#[post("/v1/subscriptions/{id}/resume")]
pub(crate) async fn resume(
    user: AuthUser,
    id: web::Path<SubscriptionId>,
    service: web::Data<Service>,
) -> Result<web::Json<SubscriptionView>, PostError> {
    set_cancelled(user, id, service, false).await
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])), request_body = ChangeTier,
    params(("id" = String, Path, description = "The subscription id")),
    responses((status = 200, description = "Up: at once, the prorated difference paid now. Down: due at the period's end (`next_tier`). The current tier: a move down dropped", body = SubscriptionView),
              (status = 402, description = "Not enough money in the wallet for the difference"),
              (status = 404, description = "No such subscription of yours, or no such tier"),
              (status = 409, description = "It has ended, the tier is retired or full, or a move down is already due"),
              (status = 422, description = "Another creator's tier, or one without the subscription's interval")))]
#[post("/v1/subscriptions/{id}/tier")]
pub(crate) async fn change_tier_of(
    user: AuthUser,
    id: web::Path<SubscriptionId>,
    body: web::Json<ChangeTier>,
    service: web::Data<Service>,
) -> Result<web::Json<SubscriptionView>, PostError> {
    let subscriptions = &service.money.subscriptions;
    let tier = subscriptions.tiers.get(&body.tier_id).await?;
    Ok(web::Json(subscriptions.change_tier(&id, &user.user_id, &tier).await?.into()))
}

#[utoipa::path(tag = "subscriptions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The subscription id")),
    responses((status = 200, description = "The current period refunded (to the wallet, or to the card that paid it); the subscription ended", body = SubscriptionView),
              (status = 403, description = "Not the creator or an admin"),
              (status = 404, description = "No such subscription"),
              (status = 409, description = "It had ended, or the creator's earnings no longer hold the share")))]
#[post("/v1/subscriptions/{id}/refund")]
pub(crate) async fn refund(
    user: AuthUser,
    id: web::Path<SubscriptionId>,
    service: web::Data<Service>,
) -> Result<web::Json<SubscriptionView>, PostError> {
    let record = service.money.refund_subscription(&id, &user.user_id, user.is_admin()).await?;
    Ok(web::Json(record.into()))
}
