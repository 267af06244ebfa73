//! One money operation at a time, where the database cannot keep
//! concurrent ones apart.
//!
//! Money moves in MongoDB transactions, and a replica set isolates them
//! (snapshot reads, write conflicts retried): there the gate stays open and
//! replicas of post move money side by side. The embedded jongodb test
//! server, which the dev stack and the suite run on, does not. Measured on
//! jongodb 0.1.6 (16 concurrent clients; see docs/POST.md, "Money on the
//! embedded database"):
//!
//! - 160 committed transactions each `$inc`-ing one document left it at 25–27;
//!   160 inserting *distinct* documents of one collection left 101–143 of them:
//!   a commit writes back every collection it touched as it read them,
//!   erasing what others wrote there meanwhile;
//! - with the transactions run one at a time, plain writes to the same
//!   collections alongside them were still lost (152–158 of 160);
//! - writes to collections no transaction touched, and single-document
//!   updates outside transactions (a conditional `$inc`, a compare-and-set),
//!   were all kept.
//!
//! So on such a database every operation that writes a money collection —
//! in a transaction or not — passes this gate, one at a time in the
//! process (and the dev stack runs one post process). Reads never wait.

use std::sync::Arc;

use mongodb::Database;
use mongodb::bson::doc;
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Clone, Default)]
pub struct MoneyGate(Option<Arc<Mutex<()>>>);

/// Held for the whole of one money operation (nothing while the gate is open).
pub struct Passage(#[allow(dead_code)] Option<OwnedMutexGuard<()>>);

impl MoneyGate {
    /// Open: the database isolates transactions.
    pub fn open() -> Self {
        Self(None)
    }

    /// One operation at a time.
    pub fn one_at_a_time() -> Self {
        Self(Some(Arc::new(Mutex::new(()))))
    }

    /// The gate `db` needs: one at a time on a server known not to isolate
    /// transactions (jongodb names itself in `buildInfo`), open otherwise.
    pub async fn for_database(db: &Database) -> anyhow::Result<Self> {
        let info = db.client().database("admin").run_command(doc! { "buildInfo": 1 }).await?;
        let version = info.get_str("version").unwrap_or_default();
        if lacks_isolation(version) {
            tracing::warn!(
                version,
                "this database does not isolate transactions: money moves one operation at a time \
                 in this process (run a single post process on it; production needs a replica set)"
            );
            return Ok(Self::one_at_a_time());
        }
        Ok(Self::open())
    }

    pub async fn enter(&self) -> Passage {
        match &self.0 {
            Some(lock) => Passage(Some(lock.clone().lock_owned().await)),
            None => Passage(None),
        }
    }

    pub fn is_open(&self) -> bool {
        self.0.is_none()
    }
}

/// Servers whose transactions are not isolated, by their `buildInfo` version.
fn lacks_isolation(version: &str) -> bool {
    version.contains("jongodb")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jongodb_is_known_by_its_version_and_mongod_is_not() {
        assert!(lacks_isolation("8.0.0-jongodb"));
        for mongod in ["7.0.14", "8.0.4", "6.0.19-ent"] {
            assert!(!lacks_isolation(mongod), "{mongod}");
        }
    }

    #[tokio::test]
    async fn a_closed_gate_lets_one_through_at_a_time() {
        let gate = MoneyGate::one_at_a_time();
        let first = gate.enter().await;
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move {
                let _passage = gate.enter().await;
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the second waits for the first");
        drop(first);
        waiting.await.unwrap();
        assert!(MoneyGate::open().is_open());
    }
}
