//! Wallets in integer cents, the ledger, and purchases.
//!
//! A purchase is one MongoDB transaction: the buyer is debited only if the
//! balance covers the price, the creator credited (less the platform fee),
//! both ledger entries written and the entitlement inserted under a unique
//! id. Whatever the concurrency, money moves once per (buyer, post).

use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc};
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::options::FindOneAndUpdateOptions;
use mongodb::{Client, ClientSession, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::error::PostError;
use crate::posts::PostRecord;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Wallet {
    #[serde(rename = "_id")]
    pub user_id: String,
    pub balance_cents: i64,
}

/// Why money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    Topup,
    Purchase,
    Sale,
    Fee,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerEntry {
    #[serde(rename = "_id")]
    pub id: String,
    pub user_id: String,
    /// Positive in, negative out.
    pub amount_cents: i64,
    pub kind: LedgerKind,
    pub reference: String,
    pub created_at: DateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entitlement {
    /// `{user_id}:{post_id}`: one per buyer and post, by construction.
    #[serde(rename = "_id")]
    pub id: String,
    pub user_id: String,
    pub post_id: String,
    pub price_cents: u64,
    pub idempotency_key: String,
    pub created_at: DateTime,
}

/// How often a transaction (or its commit) is retried before giving up with 503.
const MAX_ATTEMPTS: usize = 50;
/// How long a transaction may keep being retried: a client waiting longer
/// than this is better told 503 and to come back (its Idempotency-Key makes
/// that safe).
const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

pub fn entitlement_id(user_id: &str, post_id: &str) -> String {
    format!("{user_id}:{post_id}")
}

#[derive(Clone)]
pub struct Money {
    client: Client,
    pub wallets: Collection<Wallet>,
    pub ledger: Collection<LedgerEntry>,
    pub entitlements: Collection<Entitlement>,
    /// Payment-provider events already applied, by their id.
    events: Collection<mongodb::bson::Document>,
    /// Purchase idempotency keys, by `{user}:{key}`, with the post they were used for.
    idempotency: Collection<mongodb::bson::Document>,
    fee_bps: u64,
}

pub enum Purchase {
    New(Entitlement),
    Existing(Entitlement),
}

/// What a top-up did.
pub enum TopUp {
    Credited {
        balance_cents: i64,
    },
    /// A provider event applied before: nothing credited again.
    AlreadyApplied,
}

/// What one run of a purchase's transaction found.
enum Attempt {
    Bought,
    NotEnoughMoney,
    AlreadyBought(Entitlement),
}

/// How a transaction ended.
enum Commit<T> {
    Committed(T),
    /// Transient: run the whole transaction again, as MongoDB's retry protocol asks.
    Retry,
}

fn entry(user_id: &str, amount_cents: i64, kind: LedgerKind, reference: &str) -> LedgerEntry {
    LedgerEntry {
        id: uuid::Uuid::now_v7().simple().to_string(),
        user_id: user_id.to_owned(),
        amount_cents,
        kind,
        reference: reference.to_owned(),
        created_at: DateTime::now(),
    }
}

impl Money {
    pub async fn new(db: &Database, fee_bps: u64) -> anyhow::Result<Self> {
        let ledger = db.collection::<LedgerEntry>("ledger");
        ledger
            .create_index(IndexModel::builder().keys(doc! { "user_id": 1, "created_at": -1 }).build())
            .await?;
        let entitlements = db.collection::<Entitlement>("entitlements");
        entitlements.create_index(IndexModel::builder().keys(doc! { "post_id": 1 }).build()).await?;
        Ok(Self {
            client: db.client().clone(),
            wallets: db.collection("wallets"),
            ledger,
            entitlements,
            events: db.collection("payment_events"),
            idempotency: db.collection("purchase_keys"),
            fee_bps,
        })
    }

    pub async fn balance(&self, user_id: &str) -> anyhow::Result<i64> {
        Ok(self.wallets.find_one(doc! { "_id": user_id }).await?.map_or(0, |w| w.balance_cents))
    }

    pub async fn recent_ledger(&self, user_id: &str, limit: i64) -> anyhow::Result<Vec<LedgerEntry>> {
        Ok(self
            .ledger
            .find(doc! { "user_id": user_id })
            .sort(doc! { "created_at": -1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }

    /// Whether anyone has bought any of `post_ids`.
    pub async fn any_buyer(&self, post_ids: &[String]) -> anyhow::Result<bool> {
        Ok(self.entitlements.find_one(doc! { "post_id": { "$in": post_ids } }).await?.is_some())
    }

    pub async fn entitled(&self, user_id: &str, post_id: &str) -> anyhow::Result<bool> {
        Ok(self.entitlements.find_one(doc! { "_id": entitlement_id(user_id, post_id) }).await?.is_some())
    }

    /// Post ids among `post_ids` that `user_id` has bought.
    pub async fn bought(
        &self,
        user_id: &str,
        post_ids: &[&str],
    ) -> anyhow::Result<std::collections::HashSet<String>> {
        let ids: Vec<String> = post_ids.iter().map(|p| entitlement_id(user_id, p)).collect();
        let found: Vec<Entitlement> =
            self.entitlements.find(doc! { "_id": { "$in": ids } }).await?.try_collect().await?;
        Ok(found.into_iter().map(|e| e.post_id).collect())
    }

    /// Credits `amount_cents` and writes the ledger entry, in one transaction.
    /// With `event_id` (a payment provider's), the event is recorded in the
    /// same transaction and a replay credits nothing.
    pub async fn top_up(
        &self,
        user_id: &str,
        amount_cents: u64,
        reference: &str,
        event_id: Option<&str>,
    ) -> Result<TopUp, PostError> {
        let amount =
            i64::try_from(amount_cents).map_err(|_| PostError::invalid("amount_cents", "is too large"))?;
        let deadline = std::time::Instant::now() + RETRY_BUDGET;
        for _attempt in 0..MAX_ATTEMPTS {
            if std::time::Instant::now() > deadline {
                break;
            }
            let mut session = self.client.start_session().await?;
            session.start_transaction().await?;
            let outcome = async {
                if let Some(event_id) = event_id {
                    let event = doc! { "_id": event_id, "user_id": user_id, "amount_cents": amount, "at": DateTime::now() };
                    self.events.insert_one(event).session(&mut session).await?;
                }
                let wallet = self
                    .wallets
                    .find_one_and_update(
                        doc! { "_id": user_id },
                        doc! { "$inc": { "balance_cents": amount } },
                    )
                    .with_options(
                        FindOneAndUpdateOptions::builder()
                            .upsert(true)
                            .return_document(mongodb::options::ReturnDocument::After)
                            .build(),
                    )
                    .session(&mut session)
                    .await?;
                self.ledger
                    .insert_one(entry(user_id, amount, LedgerKind::Topup, reference))
                    .session(&mut session)
                    .await?;
                Ok::<_, mongodb::error::Error>(wallet.map_or(amount, |w| w.balance_cents))
            }
            .await;
            match finish(&mut session, outcome, deadline).await {
                Ok(Commit::Committed(balance_cents)) => return Ok(TopUp::Credited { balance_cents }),
                Ok(Commit::Retry) => continue,
                Err(PostError::Internal(err)) if is_duplicate(&err) => return Ok(TopUp::AlreadyApplied),
                Err(err) => return Err(err),
            }
        }
        Err(PostError::Unavailable("the database"))
    }

    /// Binds `key` to `post_id` for `user` on first use; the same key for
    /// another post is refused (a client bug that must not buy the wrong thing).
    pub async fn claim_key(&self, user: &str, key: &str, post_id: &str) -> Result<(), PostError> {
        let id = format!("{user}:{key}");
        let record = doc! { "_id": &id, "post_id": post_id, "at": DateTime::now() };
        match self.idempotency.insert_one(record).await {
            Ok(_) => Ok(()),
            Err(err) if common::mongo::is_duplicate_key(&err) => {
                let existing = self.idempotency.find_one(doc! { "_id": &id }).await?;
                match existing.as_ref().and_then(|d| d.get_str("post_id").ok()) {
                    Some(bound) if bound == post_id => Ok(()),
                    _ => Err(PostError::invalid("Idempotency-Key", "was already used for another purchase")),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Buys `post` for `buyer`: exactly once, however often it is asked.
    pub async fn purchase(
        &self,
        buyer: &str,
        post: &PostRecord,
        idempotency_key: &str,
    ) -> Result<Purchase, PostError> {
        let id = entitlement_id(buyer, &post.id);
        let price = i64::try_from(post.price_cents).map_err(|_| PostError::Conflict("price out of range"))?;
        let fee = price * i64::try_from(self.fee_bps).unwrap_or(0) / 10_000;
        let deadline = std::time::Instant::now() + RETRY_BUDGET;
        for _attempt in 0..MAX_ATTEMPTS {
            if std::time::Instant::now() > deadline {
                break;
            }
            if let Some(existing) = self.entitlements.find_one(doc! { "_id": &id }).await? {
                return Ok(Purchase::Existing(existing));
            }
            let mut session = self.client.start_session().await?;
            session.start_transaction().await?;
            let outcome = async {
                if let Some(existing) =
                    self.entitlements.find_one(doc! { "_id": &id }).session(&mut session).await?
                {
                    return Ok(Attempt::AlreadyBought(existing));
                }
                let debited = self
                    .wallets
                    .update_one(
                        doc! { "_id": buyer, "balance_cents": { "$gte": price } },
                        doc! { "$inc": { "balance_cents": -price } },
                    )
                    .session(&mut session)
                    .await?;
                if debited.matched_count == 0 {
                    return Ok(Attempt::NotEnoughMoney);
                }
                self.wallets
                    .update_one(
                        doc! { "_id": &post.author_id },
                        doc! { "$inc": { "balance_cents": price - fee } },
                    )
                    .upsert(true)
                    .session(&mut session)
                    .await?;
                let mut entries = vec![
                    entry(buyer, -price, LedgerKind::Purchase, &post.id),
                    entry(&post.author_id, price - fee, LedgerKind::Sale, &post.id),
                ];
                if fee > 0 {
                    entries.push(entry("platform", fee, LedgerKind::Fee, &post.id));
                    self.wallets
                        .update_one(doc! { "_id": "platform" }, doc! { "$inc": { "balance_cents": fee } })
                        .upsert(true)
                        .session(&mut session)
                        .await?;
                }
                self.ledger.insert_many(entries).session(&mut session).await?;
                let entitlement = Entitlement {
                    id: id.clone(),
                    user_id: buyer.to_owned(),
                    post_id: post.id.clone(),
                    price_cents: post.price_cents,
                    idempotency_key: idempotency_key.to_owned(),
                    created_at: DateTime::now(),
                };
                self.entitlements.insert_one(&entitlement).session(&mut session).await?;
                Ok(Attempt::Bought)
            }
            .await;
            match finish(&mut session, outcome, deadline).await {
                Ok(Commit::Committed(Attempt::Bought)) => {
                    let bought = self.entitlements.find_one(doc! { "_id": &id }).await?;
                    return bought
                        .map(Purchase::New)
                        .ok_or_else(|| PostError::Internal(anyhow::anyhow!("entitlement vanished")));
                }
                Ok(Commit::Committed(Attempt::NotEnoughMoney)) => {
                    let balance_cents = self.balance(buyer).await?;
                    return Err(PostError::InsufficientFunds {
                        balance_cents,
                        price_cents: post.price_cents,
                    });
                }
                Ok(Commit::Committed(Attempt::AlreadyBought(existing))) => {
                    return Ok(Purchase::Existing(existing));
                }
                Ok(Commit::Retry) => continue,
                // A concurrent twin inserted the entitlement first.
                Err(PostError::Internal(err)) if is_duplicate(&err) => continue,
                Err(err) => return Err(err),
            }
        }
        Err(PostError::Unavailable("the database"))
    }
}

/// Retry the whole transaction: MongoDB's `TransientTransactionError`, or a
/// bare write conflict (code 112), which some servers send unlabelled.
fn is_transient(err: &mongodb::error::Error) -> bool {
    err.contains_label(TRANSIENT_TRANSACTION_ERROR)
        || matches!(err.kind.as_ref(), mongodb::error::ErrorKind::Command(e) if e.code == 112)
}

fn is_duplicate(err: &anyhow::Error) -> bool {
    err.downcast_ref::<mongodb::error::Error>().is_some_and(common::mongo::is_duplicate_key)
}

/// Commits (or aborts) a transaction.
async fn finish<T>(
    session: &mut ClientSession,
    outcome: Result<T, mongodb::error::Error>,
    deadline: std::time::Instant,
) -> Result<Commit<T>, PostError> {
    match outcome {
        Ok(value) => {
            for _attempt in 0..MAX_ATTEMPTS {
                if std::time::Instant::now() > deadline {
                    break;
                }
                match session.commit_transaction().await {
                    Ok(()) => return Ok(Commit::Committed(value)),
                    Err(err) if err.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => continue,
                    Err(err) if is_transient(&err) => return Ok(Commit::Retry),
                    Err(err) => return Err(PostError::Internal(err.into())),
                }
            }
            Err(PostError::Unavailable("the database"))
        }
        Err(err) => {
            let _ = session.abort_transaction().await;
            if is_transient(&err) {
                return Ok(Commit::Retry);
            }
            Err(PostError::Internal(err.into()))
        }
    }
}
