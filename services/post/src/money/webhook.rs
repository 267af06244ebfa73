//! The payment provider's events: `POST /v1/payments/webhook`.
//!
//! Verified as Stripe specifies: `Stripe-Signature: t={unix},v1={hex},…`
//! where each `v1` is HMAC-SHA256 of `"{t}.{raw body}"` under the endpoint's
//! secret (several when the secret is being rolled), compared in constant
//! time; a `t` more than 5 minutes from now is refused, so a captured
//! request cannot be replayed later. An event is applied by the state of
//! the record it names, so a replay, a retry or a reordering changes
//! nothing twice.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{HttpRequest, post, web};
use common::secrecy::{ExposeSecret, SecretString};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::money::ProviderId;
use crate::money::disputes::{CardReversal, ReversalKind};
use crate::money::outflows::OutflowKind;
use crate::money::stripe::{Intent, Transfer};
use crate::money::topups::{Applied, Mismatch, TopupRecord, TopupState};
use crate::money::{OutflowId, Payments};
use crate::service::Service;

pub const TOLERANCE_S: u64 = 300;
pub const HEADER: &str = "stripe-signature";

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"`: one `v1` signature.
pub fn sign(secret: &SecretString, timestamp: u64, body: &[u8]) -> anyhow::Result<String> {
    let key = PKey::hmac(secret.expose_secret().as_bytes())?;
    let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
    signer.update(timestamp.to_string().as_bytes())?;
    signer.update(b".")?;
    signer.update(body)?;
    Ok(common::hex(&signer.sign_to_vec()?))
}

/// Checks a `Stripe-Signature` header against `body` at time `now`.
pub fn verify(secret: &SecretString, header: Option<&str>, body: &[u8], now: u64) -> Result<(), PostError> {
    let header = header.ok_or(PostError::BadSignature)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<u64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(PostError::BadSignature)?;
    if signatures.is_empty() || timestamp.abs_diff(now) > TOLERANCE_S {
        return Err(PostError::BadSignature);
    }
    let expected = sign(secret, timestamp, body)?;
    let matches = |given: &&str| common::same_secret(given.as_bytes(), expected.as_bytes());
    if signatures.iter().any(matches) { Ok(()) } else { Err(PostError::BadSignature) }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookOutcome {
    /// `applied`, `duplicate` (seen before, or overtaken by a later state)
    /// or `ignored` (a type we do not act on, or about a subscription not ours).
    pub status: &'static str,
}

/// A Stripe event: `data.object` is read by type.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct Event {
    #[schema(value_type = String)]
    id: ProviderId,
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = Object)]
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// What a PaymentIntent event needs beyond [`Intent`].
#[derive(Deserialize)]
struct FailedIntent {
    last_payment_error: Option<PaymentError>,
}

#[derive(Deserialize)]
struct PaymentError {
    message: Option<String>,
}

/// A payout's or a refund's event object.
#[derive(Deserialize)]
struct TransferObject {
    #[serde(flatten)]
    transfer: Transfer,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

#[utoipa::path(tag = "wallet", request_body = Event,
    params(("Stripe-Signature" = String, Header, description = "`t={unix},v1={hex HMAC-SHA256(\"{t}.{body}\")}`, several `v1` allowed")),
    responses((status = 200, description = "Applied, a duplicate, or ignored", body = WebhookOutcome),
              (status = 400, description = "Unsigned, forged, or more than 5 minutes off; or not an event"),
              (status = 404, description = "No payment provider configured"),
              (status = 409, description = "An event contradicting what is recorded (a success for a canceled top-up)"),
              (status = 422, description = "About a payment we did not create, or with another user, amount or currency; a dispute or refund of a top-up we never credited, or for more than it"),
              (status = 503, description = "The database is unavailable: the provider will send it again")))]
#[post("/v1/payments/webhook")]
#[tracing::instrument(skip_all)]
pub(crate) async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    service: web::Data<Service>,
) -> Result<web::Json<WebhookOutcome>, PostError> {
    let payments = service.money.payments.as_ref().ok_or(PostError::NotFound)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(anyhow::Error::from)?.as_secs();
    verify(&payments.webhook_secret, req.headers().get(HEADER).and_then(|v| v.to_str().ok()), &body, now)?;
    let event: Event = serde_json::from_slice(&body)
        .map_err(|err| PostError::BadRequest(format!("The event is not accepted: {err}")))?;
    tracing::info!(event_id = %event.id, kind = event.kind, "payment event");
    let subscriptions = &service.money.subscriptions;
    let applied = match event.kind.as_str() {
        "payment_intent.succeeded" | "payment_intent.payment_failed" | "payment_intent.canceled" => {
            let intent: Intent = object(&event)?;
            match intent.invoice {
                Some(_) => None, // an invoice's: its invoice events settle it
                None => Some(on_intent(&service, &event, intent).await?),
            }
        }
        "invoice.paid" | "invoice.payment_succeeded" => {
            subscriptions.on_invoice_paid(&object(&event)?).await?
        }
        "invoice.payment_failed" => subscriptions.on_invoice_failed(&object(&event)?).await?,
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let deleted = event.kind == "customer.subscription.deleted";
            subscriptions.on_provider_subscription(&object(&event)?, deleted).await?
        }
        "payout.paid" | "payout.failed" | "payout.canceled" | "payout.updated" => {
            Some(on_transfer(payments, OutflowKind::Payout, &event).await?)
        }
        "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated" => {
            Some(match event.data.object.pointer("/metadata/outflow_id").is_some() {
                true => on_transfer(payments, OutflowKind::CardRefund, &event).await?,
                false => on_external_refund(&service, object(&event)?).await?,
            })
        }
        "charge.refunded" => {
            let charge: RefundedCharge = object(&event)?;
            let mut applied = Applied::Duplicate;
            for refund in charge.refunds.map(|list| list.data).unwrap_or_default() {
                if on_external_refund(&service, refund).await? == Applied::Applied {
                    applied = Applied::Applied;
                }
            }
            Some(applied)
        }
        "charge.dispute.created" | "charge.dispute.closed" => Some(on_dispute(&service, &event).await?),
        // Acknowledged so the provider stops sending it; nothing to do.
        _ => None,
    };
    Ok(web::Json(WebhookOutcome {
        status: match applied {
            Some(Applied::Applied) => "applied",
            Some(Applied::Duplicate) => "duplicate",
            // Not ours, or a type we do not act on: acknowledged so the provider stops sending it.
            None => "ignored",
        },
    }))
}

fn object<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, PostError> {
    serde_json::from_value(event.data.object.clone())
        .map_err(|err| PostError::BadRequest(format!("The event's object is not accepted: {err}")))
}

async fn on_intent(service: &Service, event: &Event, intent: Intent) -> Result<Applied, PostError> {
    let topups = &service.money.topups;
    let record = match topups.matching(&intent).await? {
        Ok(record) => record,
        Err(Mismatch::Unknown) => {
            return Err(PostError::UnknownPayment("This payment is not one of our top-ups.".into()));
        }
        Err(Mismatch::Different(what)) => {
            tracing::warn!(intent_id = %intent.id, what, "a payment event does not match its top-up");
            return Err(PostError::UnknownPayment(format!("The payment's {what} is not the top-up's.")));
        }
    };
    match event.kind.as_str() {
        "payment_intent.succeeded" if intent.status == "succeeded" => {
            topups.credit(&record, &intent.id).await
        }
        "payment_intent.succeeded" => {
            Err(PostError::UnknownPayment("A success event for a payment that has not succeeded.".into()))
        }
        "payment_intent.payment_failed" => {
            let failed: FailedIntent = object(event)?;
            let reason = failed.last_payment_error.and_then(|e| e.message);
            topups
                .close(
                    &record,
                    TopupState::Failed,
                    &intent.id,
                    Some(reason.as_deref().unwrap_or("the payment failed")),
                )
                .await
        }
        _ => topups.close(&record, TopupState::Canceled, &intent.id, None).await,
    }
}

/// A dispute's event object.
#[derive(Deserialize)]
struct Dispute {
    id: ProviderId,
    amount: i64,
    currency: String,
    payment_intent: Option<ProviderId>,
    status: String,
}

/// A refund's event object, ours (with `metadata.outflow_id`) or made at the provider.
#[derive(Deserialize)]
struct RefundObject {
    id: ProviderId,
    amount: i64,
    status: String,
    payment_intent: Option<ProviderId>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

#[derive(Deserialize)]
struct RefundedCharge {
    refunds: Option<RefundList>,
}

#[derive(Deserialize)]
struct RefundList {
    data: Vec<RefundObject>,
}

/// The succeeded top-up a dispute or refund of `intent_id` is about, for
/// at most its amount and in its currency.
async fn reversed_topup(
    service: &Service,
    intent_id: Option<&ProviderId>,
    amount_cents: i64,
    currency: Option<&str>,
) -> Result<TopupRecord, PostError> {
    let not_ours = || PostError::UnknownPayment("This is not about one of our top-ups.".into());
    let intent_id = intent_id.ok_or_else(not_ours)?;
    let topup = service.money.topups.by_intent(intent_id).await?.ok_or_else(not_ours)?;
    if topup.state != TopupState::Succeeded {
        return Err(PostError::UnknownPayment("The top-up was never credited.".into()));
    }
    if currency.is_some_and(|c| c != topup.currency) || amount_cents <= 0 || amount_cents > topup.amount_cents
    {
        tracing::warn!(topup_id = %topup.id, amount_cents, "a reversal does not fit its top-up");
        return Err(PostError::UnknownPayment("The amount or currency is not the top-up's.".into()));
    }
    Ok(topup)
}

async fn on_dispute(service: &Service, event: &Event) -> Result<Applied, PostError> {
    let dispute: Dispute = object(event)?;
    let topup =
        reversed_topup(service, dispute.payment_intent.as_ref(), dispute.amount, Some(&dispute.currency))
            .await?;
    let reversal = CardReversal {
        id: &dispute.id,
        kind: ReversalKind::Dispute,
        amount_cents: dispute.amount,
        topup: &topup,
    };
    let reversals = &service.money.reversals;
    match event.kind.as_str() {
        "charge.dispute.created" => reversals.open_dispute(&reversal).await,
        _ => reversals.close_dispute(&reversal, dispute.status == "lost").await,
    }
}

/// A refund we did not make: one made on the provider's dashboard.
async fn on_external_refund(service: &Service, refund: RefundObject) -> Result<Applied, PostError> {
    if refund.metadata.contains_key("outflow_id") {
        return Ok(Applied::Duplicate); // ours: its own events settle it
    }
    if !matches!(refund.status.as_str(), "succeeded" | "pending") {
        // A dashboard refund that failed after we reversed it is left to an operator.
        tracing::warn!(
            refund_id = %refund.id,
            status = refund.status,
            "a refund made at the provider did not go through"
        );
        return Ok(Applied::Duplicate);
    }
    let topup = reversed_topup(service, refund.payment_intent.as_ref(), refund.amount, None).await?;
    let reversal = CardReversal {
        id: &refund.id,
        kind: ReversalKind::ExternalRefund,
        amount_cents: refund.amount,
        topup: &topup,
    };
    service.money.reversals.external_refund(&reversal).await
}

async fn on_transfer(payments: &Payments, kind: OutflowKind, event: &Event) -> Result<Applied, PostError> {
    let object: TransferObject = object(event)?;
    let outflows = &payments.outflows;
    let not_ours = || PostError::UnknownPayment("This transfer is not one of ours.".into());
    let id =
        object.metadata.get("outflow_id").and_then(|id| OutflowId::parse(id).ok()).ok_or_else(not_ours)?;
    let record = outflows.get(&id).await?.filter(|r| r.kind == kind).ok_or_else(not_ours)?;
    if record.provider_id.as_ref().is_some_and(|ours| *ours != object.transfer.id) {
        tracing::warn!(outflow_id = %record.id, "a transfer event names another provider id");
        return Err(PostError::UnknownPayment("The transfer's id is not the one we recorded.".into()));
    }
    let before = record.state;
    outflows.settle(&record.id, &object.transfer).await?;
    let after = outflows.get(&id).await?.map(|r| r.state);
    Ok(if after == Some(before) { Applied::Duplicate } else { Applied::Applied })
}
