//! A creator's earnings: the sales behind them, payouts, and moving them
//! into the wallet.

use actix_web::{HttpRequest, get, post, web};
use common::respond::Made;
use common::user_auth::AuthUser;

use crate::error::PostError;
use crate::money::ledger::Account;
use crate::money::outflows::{OutflowKind, OutflowRequest};
use crate::money::purchases::Party;
use crate::money::routes::{cents, idempotency_key};
use crate::money::types::{Amount, EarningsView, Moved, OutflowView, SaleView};
use crate::service::Service;

#[utoipa::path(tag = "earnings", security(("bearer" = [])),
    responses((status = 200, description = "Your earnings, the sales behind them and your payouts", body = EarningsView)))]
#[get("/v1/earnings")]
pub(crate) async fn earnings(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<EarningsView>, PostError> {
    let money = &service.money;
    money.clear_due(&user.user_id).await?;
    let earnings_cents = money.ledger.balance(&Account::Earnings(user.user_id.clone())).await?;
    let pending_cents = money.ledger.balance(&Account::PendingEarnings(user.user_id.clone())).await?;
    let sales = money.purchases.recent(Party::Creator, &user.user_id, 50).await?;
    let payouts = match &money.payments {
        Some(payments) => payments.outflows.recent(&user.user_id, OutflowKind::Payout, 20).await?,
        None => Vec::new(),
    };
    Ok(web::Json(EarningsView {
        earnings_cents,
        pending_cents,
        payouts_enabled: money.creators.verified(&user.user_id).await?,
        currency: money.currency.clone(),
        sales: sales.into_iter().map(SaleView::from).collect(),
        payouts: payouts.into_iter().map(OutflowView::from).collect(),
    }))
}

#[utoipa::path(tag = "earnings", security(("bearer" = [])), request_body = Amount,
    params(("Idempotency-Key" = String, Header, description = "A retry with the same key pays out once")),
    responses((status = 201, description = "Debited from earnings; `pending` until the provider confirms, `failed` (money back) if it refuses", body = OutflowView),
              (status = 200, description = "This key's payout, made before", body = OutflowView),
              (status = 403, description = "Your account is not verified for payouts yet"),
              (status = 404, description = "Payouts are not enabled here"),
              (status = 409, description = "More than your available earnings (pending ones clear after the clearing period)"),
              (status = 422, description = "An amount outside the limits"),
              (status = 503, description = "The payment provider is unavailable: nothing was paid and the earnings are as they were")))]
#[post("/v1/earnings/payouts")]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
pub(crate) async fn pay_out(
    req: HttpRequest,
    user: AuthUser,
    service: web::Data<Service>,
    body: web::Json<Amount>,
) -> Result<Made<OutflowView>, PostError> {
    let payments = service.money.payments()?;
    let key = idempotency_key(&req)?;
    let limits = service.payout_limits;
    if !limits.admits(body.amount_cents) {
        return Err(PostError::invalid(
            "amount_cents",
            format!("must be {} to {} cents", limits.min_cents, limits.max_cents),
        ));
    }
    if !service.money.creators.verified(&user.user_id).await? {
        return Err(PostError::Forbidden(
            "Payouts go only to verified creators: your account is not verified yet.",
        ));
    }
    service.money.clear_due(&user.user_id).await?;
    let request = OutflowRequest {
        kind: OutflowKind::Payout,
        user_id: &user.user_id,
        amount_cents: cents(body.amount_cents)?,
        idempotency_key: key,
        topup: None,
        intent_id: None,
    };
    let (new, record) = payments.outflows.start(request).await?;
    Ok(if new { Made::New(record.into()) } else { Made::Existing(record.into()) })
}

#[utoipa::path(tag = "earnings", security(("bearer" = [])), request_body = Amount,
    responses((status = 200, description = "Moved from earnings into your wallet", body = Moved),
              (status = 409, description = "More than your available earnings"),
              (status = 422, description = "An amount of 0")))]
#[post("/v1/earnings/transfers")]
pub(crate) async fn move_to_wallet(
    user: AuthUser,
    service: web::Data<Service>,
    body: web::Json<Amount>,
) -> Result<web::Json<Moved>, PostError> {
    if body.amount_cents == 0 {
        return Err(PostError::invalid("amount_cents", "must be at least 1"));
    }
    let money = &service.money;
    money.move_earnings_to_wallet(&user.user_id, cents(body.amount_cents)?).await?;
    Ok(web::Json(Moved {
        wallet_cents: money.ledger.balance(&Account::Wallet(user.user_id.clone())).await?,
        earnings_cents: money.ledger.balance(&Account::Earnings(user.user_id.clone())).await?,
    }))
}
