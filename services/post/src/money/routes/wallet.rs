//! The wallet: its balance and ledger, top-ups by card (and the dev
//! top-up), refunds of top-ups to the card.

use actix_web::{HttpRequest, get, post, web};
use common::respond::{Created, Made};
use common::user_auth::AuthUser;

use crate::error::PostError;
use crate::money::TopupId;
use crate::money::ledger::Account;
use crate::money::outflows::{OutflowKind, OutflowRequest};
use crate::money::routes::{cents, idempotency_key};
use crate::money::topups::TopupState;
use crate::money::types::{
    Balance, CardRefund, CardTopUp, LedgerLine, OutflowView, TopUp, TopupList, TopupStarted, WalletView,
};
use crate::service::Service;

#[utoipa::path(tag = "wallet", security(("bearer" = [])),
    responses((status = 200, description = "Your balance and newest ledger entries", body = WalletView)))]
#[get("/v1/wallet")]
pub(crate) async fn wallet(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<WalletView>, PostError> {
    let account = Account::Wallet(user.user_id.clone());
    let money = &service.money;
    let balance_cents = money.ledger.balance(&account).await?;
    let ledger = money.ledger.recent(&account, 20).await?.into_iter().map(LedgerLine::from).collect();
    Ok(web::Json(WalletView {
        balance_cents,
        currency: money.currency.clone(),
        card_topups: money.payments.is_some(),
        ledger,
    }))
}

#[utoipa::path(tag = "wallet", security(("bearer" = [])), request_body = TopUp,
    responses((status = 200, description = "The new balance", body = Balance),
              (status = 404, description = "Not enabled (POST_DEV_TOPUP)"),
              (status = 422, description = "An amount of 0 or over the limit")))]
#[post("/v1/wallet/dev-topup")]
pub(crate) async fn dev_topup(
    user: AuthUser,
    service: web::Data<Service>,
    body: web::Json<TopUp>,
) -> Result<web::Json<Balance>, PostError> {
    if !service.dev_topup {
        return Err(PostError::NotFound);
    }
    if body.amount_cents == 0 || body.amount_cents > 1_000_000 {
        return Err(PostError::invalid("amount_cents", "must be 1 to 1,000,000"));
    }
    let balance_cents = service.money.topups.dev_top_up(&user.user_id, cents(body.amount_cents)?).await?;
    Ok(web::Json(Balance { balance_cents }))
}

#[utoipa::path(tag = "wallet", security(("bearer" = [])), request_body = CardTopUp,
    responses((status = 201, description = "A payment started: the wallet is credited when the provider confirms it", body = TopupStarted),
              (status = 402, description = "The card was declined"),
              (status = 404, description = "Card payments are not enabled here"),
              (status = 422, description = "An amount outside the limits, or a malformed payment method"),
              (status = 502, description = "The payment provider refused the request"),
              (status = 503, description = "The payment provider is unavailable: nothing was charged, or it is credited when confirmed")))]
#[post("/v1/wallet/topups")]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
pub(crate) async fn start_topup(
    user: AuthUser,
    service: web::Data<Service>,
    body: web::Json<CardTopUp>,
) -> Result<Created<TopupStarted>, PostError> {
    let payments = service.money.payments()?;
    let limits = service.topup_limits;
    if !limits.admits(body.amount_cents) {
        return Err(PostError::invalid(
            "amount_cents",
            format!("must be {} to {} cents", limits.min_cents, limits.max_cents),
        ));
    }
    let method = body.payment_method.as_deref();
    if method.is_some_and(|m| !is_payment_method_id(m)) {
        return Err(PostError::invalid("payment_method", "must be a payment method id, pm_…"));
    }
    let (record, client_secret) = service
        .money
        .topups
        .create(&payments.stripe, &user.user_id, cents(body.amount_cents)?, &service.money.currency, method)
        .await?;
    let intent_id = record.intent_id.clone();
    Ok(Created(TopupStarted { topup: record.into(), intent_id, client_secret }))
}

/// `pm_` and letters, digits or `_`: what Stripe's ids look like.
fn is_payment_method_id(id: &str) -> bool {
    id.len() <= 100
        && id.strip_prefix("pm_").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

#[utoipa::path(tag = "wallet", security(("bearer" = [])),
    responses((status = 200, description = "Your card top-ups, newest first", body = TopupList)))]
#[get("/v1/wallet/topups")]
pub(crate) async fn topups(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<TopupList>, PostError> {
    let records = service.money.topups.recent(&user.user_id, 50).await?;
    Ok(web::Json(TopupList { topups: records.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(tag = "wallet", security(("bearer" = [])), request_body = CardRefund,
    params(("id" = String, Path, description = "The top-up id"), ("Idempotency-Key" = String, Header, description = "A retry with the same key refunds once")),
    responses((status = 201, description = "Debited and sent back to the card (pending until the provider confirms)", body = OutflowView),
              (status = 200, description = "This key's refund, made before", body = OutflowView),
              (status = 404, description = "No such top-up of yours, or card payments are not enabled"),
              (status = 409, description = "More than is left of the top-up, or than the wallet holds (money already spent)"),
              (status = 503, description = "The payment provider is unavailable: nothing was refunded and the wallet is as it was")))]
#[post("/v1/wallet/topups/{id}/refund")]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, topup_id = %id))]
pub(crate) async fn refund_topup(
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<TopupId>,
    service: web::Data<Service>,
    body: Option<web::Json<CardRefund>>,
) -> Result<Made<OutflowView>, PostError> {
    let payments = service.money.payments()?;
    let key = idempotency_key(&req)?;
    let topup = service.money.topups.get(&id).await?;
    if topup.user_id != user.user_id {
        return Err(PostError::TopupNotFound);
    }
    let made = payments.outflows.made_with(OutflowKind::CardRefund, &user.user_id, key).await?;
    if let Some(record) = made.filter(|r| r.topup_id.as_ref() == Some(&topup.id)) {
        return Ok(Made::Existing(record.into()));
    }
    if topup.state != TopupState::Succeeded {
        return Err(PostError::Conflict("Only a top-up that was paid can be refunded."));
    }
    let left = topup.amount_cents - topup.refunded_cents;
    let amount_cents = match body.and_then(|b| b.into_inner().amount_cents) {
        Some(amount) => cents(amount)?,
        None => left.min(service.money.ledger.balance(&Account::Wallet(user.user_id.clone())).await?),
    };
    if amount_cents <= 0 {
        return Err(PostError::Conflict("Nothing of this top-up is left in the wallet to refund."));
    }
    let request = OutflowRequest {
        kind: OutflowKind::CardRefund,
        user_id: &user.user_id,
        amount_cents,
        idempotency_key: key,
        topup: Some(&topup),
        intent_id: None,
    };
    let (new, record) = payments.outflows.start(request).await?;
    Ok(if new { Made::New(record.into()) } else { Made::Existing(record.into()) })
}
