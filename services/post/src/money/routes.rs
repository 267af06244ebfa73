//! Wallets and purchases.

use actix_web::{HttpRequest, web};
use common::respond::Made;
use common::user_auth::AuthUser;

use crate::Service;
use crate::error::PostError;
use crate::money::store::{Entitlement, Purchase, TopUp as TopUpOutcome};
use crate::money::types::{Balance, LedgerLine, PurchaseView, TopUp, WalletView};
use crate::posts::routes::post_id;

#[utoipa::path(post, path = "/v1/posts/{id}/purchase", tag = "posts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The post id"), ("Idempotency-Key" = String, Header, description = "Chosen by the client; a retry with the same key buys once")),
    responses((status = 201, description = "Bought", body = PurchaseView),
              (status = 200, description = "Already bought: nothing charged again", body = PurchaseView),
              (status = 402, description = "Not enough money in the wallet"),
              (status = 404, description = "No such post"),
              (status = 409, description = "A free post, or your own"),
              (status = 422, description = "The key was used for another post")))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, post_id = %id))]
pub(crate) async fn purchase(
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<String>,
    service: web::Data<Service>,
) -> Result<Made<PurchaseView>, PostError> {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(|| {
            PostError::BadRequest("An Idempotency-Key header (1–128 characters) is required.".into())
        })?;
    let post = service.posts.live(&post_id(&id)?).await?;
    if post.author_id == user.user_id {
        return Err(PostError::Conflict("This is your own post."));
    }
    if post.price_cents == 0 {
        return Err(PostError::Conflict("This post is free."));
    }
    service.money.claim_key(&user.user_id, key, &post.id).await?;
    let view = |entitlement: Entitlement| PurchaseView {
        post_id: entitlement.post_id,
        price_cents: entitlement.price_cents,
        purchased_at: entitlement.created_at.try_to_rfc3339_string().unwrap_or_default(),
    };
    Ok(match service.money.purchase(&user.user_id, &post, key).await? {
        Purchase::New(entitlement) => Made::New(view(entitlement)),
        Purchase::Existing(entitlement) => Made::Existing(view(entitlement)),
    })
}

#[utoipa::path(get, path = "/v1/wallet", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, description = "Your balance and newest ledger entries", body = WalletView)))]
pub(crate) async fn wallet(
    user: AuthUser,
    service: web::Data<Service>,
) -> Result<web::Json<WalletView>, PostError> {
    let balance_cents = service.money.balance(&user.user_id).await?;
    let ledger = service
        .money
        .recent_ledger(&user.user_id, 20)
        .await?
        .into_iter()
        .map(|e| LedgerLine {
            amount_cents: e.amount_cents,
            kind: e.kind,
            reference: e.reference,
            created_at: e.created_at.try_to_rfc3339_string().unwrap_or_default(),
        })
        .collect();
    Ok(web::Json(WalletView { balance_cents, ledger }))
}

#[utoipa::path(post, path = "/v1/wallet/dev-topup", tag = "wallet", security(("bearer" = [])), request_body = TopUp,
    responses((status = 200, description = "The new balance", body = Balance),
              (status = 404, description = "Not enabled (POST_DEV_TOPUP)"),
              (status = 422, description = "An amount of 0 or over the limit")))]
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
    match service.money.top_up(&user.user_id, body.amount_cents, "dev-topup", None).await? {
        TopUpOutcome::Credited { balance_cents } => Ok(web::Json(Balance { balance_cents })),
        // Without an event id a top-up is never a replay.
        TopUpOutcome::AlreadyApplied => {
            Err(PostError::Internal(anyhow::anyhow!("a dev top-up counted as a replay")))
        }
    }
}
