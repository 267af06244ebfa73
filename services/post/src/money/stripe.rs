//! Stripe's REST API, the parts we use: PaymentIntents for top-ups, Refunds
//! for card refunds, Payouts. Form-encoded requests, `Idempotency-Key` on
//! every create (our record's id), so a retry never charges, refunds or pays
//! twice. Works against any server speaking the API (localstripe in tests).

use std::collections::HashMap;

use common::ids::UserId;
use common::secrecy::{ExposeSecret, SecretString};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::StripeSettings;
use crate::money::{OutflowId, ProviderId, TopupId};

/// How a call to the provider failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// A final no about this payment (a declined card): its message is for the user.
    Declined(String),
    /// The provider refused the request itself: our bug or configuration.
    Rejected(String),
    /// The request never reached the provider: nothing happened there.
    NotSent,
    /// The provider is busy (rate-limited): it did not process this
    /// request; the same request, with the same key, may be sent later.
    Busy,
    /// Sent, but no answer came back: it may have happened.
    Unknown,
}

/// A PaymentIntent, as far as we read it.
#[derive(Debug, Clone, Deserialize)]
pub struct Intent {
    pub id: ProviderId,
    pub client_secret: Option<String>,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// The invoice it pays (a card subscription's), whose own events settle it.
    #[serde(default)]
    pub invoice: Option<ProviderId>,
}

/// A refund or a payout the provider accepted.
#[derive(Debug, Clone, Deserialize)]
pub struct Transfer {
    pub id: ProviderId,
    pub status: String,
    #[serde(default)]
    pub amount: Option<i64>,
    /// A payout's reason for failing, for people (`failure_message`), or a
    /// refund's code for it (`failure_reason`).
    #[serde(default)]
    pub failure_message: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
}

impl Transfer {
    /// Why the provider could not send it, as it says, for the user.
    pub fn failure_reason(&self) -> String {
        let said = self.failure_message.as_deref().or(self.failure_reason.as_deref());
        match said {
            Some(words) => format!("the payment provider could not send it: {}", words.replace('_', " ")),
            None => "the payment provider could not send it".to_owned(),
        }
    }

    /// Whether the money has left for good (else a webhook will say).
    pub fn done(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "paid")
    }

    pub fn failed(&self) -> bool {
        matches!(self.status.as_str(), "failed" | "canceled")
    }
}

/// Money out to someone: a payout of earnings, or a refund to a card.
pub struct OutgoingRequest<'a> {
    /// Our record's id: the idempotency key and `metadata[outflow_id]`.
    pub id: &'a OutflowId,
    pub user_id: &'a UserId,
    pub amount_cents: i64,
    pub currency: &'a str,
    /// For a card refund: the PaymentIntent it refunds.
    pub intent_id: Option<&'a ProviderId>,
}

/// Where creators' payouts go. Production plugs Stripe Connect here (a
/// transfer to the creator's connected account, paid out on its schedule);
/// [`Stripe`] pays out of the platform balance, which is what the tests can
/// exercise against localstripe.
pub trait PayoutProvider: Send + Sync {
    fn pay_out<'a>(&'a self, payout: OutgoingRequest<'a>) -> BoxFuture<'a, Result<Transfer, ProviderError>>;
}

pub struct Stripe {
    http: reqwest::Client,
    api_url: String,
    secret_key: SecretString,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

impl Stripe {
    pub fn new(settings: &StripeSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(3)))
            .timeout(settings.timeout)
            .build()?;
        Ok(Self { http, api_url: settings.api_url.clone(), secret_key: settings.secret_key.clone() })
    }

    /// A PaymentIntent for a top-up; confirmed at once when the client
    /// already holds a PaymentMethod (`pm_…`), else confirmed by the client
    /// with the answer's `client_secret`.
    pub async fn create_intent(
        &self,
        topup_id: &TopupId,
        user_id: &UserId,
        amount_cents: i64,
        currency: &str,
        payment_method: Option<&str>,
    ) -> Result<Intent, ProviderError> {
        let mut form = vec![
            ("amount", amount_cents.to_string()),
            ("currency", currency.to_owned()),
            ("payment_method_types[]", "card".to_owned()),
            ("metadata[topup_id]", topup_id.to_string()),
            ("metadata[user_id]", user_id.to_string()),
        ];
        if let Some(method) = payment_method {
            form.push(("payment_method", method.to_owned()));
            form.push(("confirm", "true".to_owned()));
        }
        self.post("/v1/payment_intents", topup_id.as_str(), &form).await
    }

    pub async fn intent(&self, id: &ProviderId) -> Result<Intent, ProviderError> {
        self.get(&format!("/v1/payment_intents/{id}")).await
    }

    /// A payout as the provider holds it now.
    pub async fn payout(&self, id: &ProviderId) -> Result<Transfer, ProviderError> {
        self.get(&format!("/v1/payouts/{id}")).await
    }

    /// A dispute as the provider holds it now (its `status` and `amount`
    /// read as a [`Transfer`]'s).
    pub async fn dispute(&self, id: &ProviderId) -> Result<Transfer, ProviderError> {
        self.get(&format!("/v1/disputes/{id}")).await
    }

    /// A card refund as the provider holds it now.
    pub async fn refund_of(&self, id: &ProviderId) -> Result<Transfer, ProviderError> {
        self.get(&format!("/v1/refunds/{id}")).await
    }

    pub async fn refund(&self, refund: OutgoingRequest<'_>) -> Result<Transfer, ProviderError> {
        let intent =
            refund.intent_id.ok_or_else(|| ProviderError::Rejected("a refund without its payment".into()))?;
        let form = vec![
            ("payment_intent", intent.to_string()),
            ("amount", refund.amount_cents.to_string()),
            ("metadata[outflow_id]", refund.id.to_string()),
            ("metadata[user_id]", refund.user_id.to_string()),
        ];
        self.post("/v1/refunds", refund.id.as_str(), &form).await
    }

    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        let request = self
            .http
            .post(format!("{}{path}", self.api_url))
            .header("idempotency-key", idempotency_key)
            .form(form);
        self.send(request).await
    }

    /// `GET {path}` (a path under the API, with its query).
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ProviderError> {
        self.send(self.http.get(format!("{}{path}", self.api_url))).await
    }

    pub(crate) async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ProviderError> {
        self.send(self.http.delete(format!("{}{path}", self.api_url))).await
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, ProviderError> {
        let response = match request.bearer_auth(self.secret_key.expose_secret()).send().await {
            Ok(response) => response,
            Err(err) if err.is_connect() => {
                tracing::warn!(error = %err, "payment provider unreachable");
                return Err(ProviderError::NotSent);
            }
            Err(err) => {
                tracing::warn!(error = %err, "payment provider did not answer");
                return Err(ProviderError::Unknown);
            }
        };
        let status = response.status();
        if status.is_success() {
            return response.json::<T>().await.map_err(|err| {
                tracing::warn!(error = %err, "payment provider answered something unreadable");
                ProviderError::Unknown
            });
        }
        let message = response.json::<ErrorBody>().await.ok().and_then(|body| body.error.message);
        let message = message.unwrap_or_else(|| format!("HTTP {status}"));
        tracing::warn!(status = status.as_u16(), message, "payment provider said no");
        Err(classify(status.as_u16(), message))
    }
}

/// What a refusal from the provider means for the request. Only a final
/// word about the payment (402) or about the request itself (other 4xx)
/// is a no; anything that leaves it open is asked again with the same key.
fn classify(status: u16, message: String) -> ProviderError {
    match status {
        402 => ProviderError::Declined(message),
        // Another request with this idempotency key is still running (ours,
        // which timed out here): it may yet succeed.
        409 => ProviderError::Unknown,
        // Rate-limited: not processed.
        429 => ProviderError::Busy,
        500..=599 => ProviderError::Unknown,
        _ => ProviderError::Rejected(message),
    }
}

impl PayoutProvider for Stripe {
    fn pay_out<'a>(&'a self, payout: OutgoingRequest<'a>) -> BoxFuture<'a, Result<Transfer, ProviderError>> {
        Box::pin(async move {
            let form = vec![
                ("amount", payout.amount_cents.to_string()),
                ("currency", payout.currency.to_owned()),
                ("metadata[outflow_id]", payout.id.to_string()),
                ("metadata[user_id]", payout.user_id.to_string()),
            ];
            self.post("/v1/payouts", payout.id.as_str(), &form).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_final_word_is_a_refusal_and_an_open_question_is_asked_again() {
        let said = |status| classify(status, "words".into());
        assert_eq!(said(402), ProviderError::Declined("words".into()));
        for rejected in [400, 401, 403, 404, 422] {
            assert_eq!(said(rejected), ProviderError::Rejected("words".into()), "{rejected}");
        }
        assert_eq!(said(409), ProviderError::Unknown, "the first request with this key may still succeed");
        assert_eq!(said(429), ProviderError::Busy);
        for maybe in [500, 502, 503, 504] {
            assert_eq!(said(maybe), ProviderError::Unknown, "{maybe}");
        }
    }
}
