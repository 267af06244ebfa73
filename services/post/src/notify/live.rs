//! Who has a live stream open on this process, and the newest `seq`
//! delivered to each: a stream waits on its user's watch and reads what is
//! new from the inbox when it moves. This process's relay moves the watches
//! of what it delivers at once; what another replica delivered is found by
//! one query every [`POLL_EVERY`] for all streams here, and only while there
//! are any (an idle process asks nothing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::ids::UserId;
use tokio::sync::{Notify, watch};

use crate::notify::inbox::Inbox;

/// How often other replicas' deliveries are looked for while streams are open.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// How far back each look reaches: a delivery committed late (its `seq`
/// taken before another's that was already seen) is still found.
const OVERLAP_MICROS: i64 = 2_000_000;
/// The most deliveries one look reads.
const POLL_LIMIT: i64 = 10_000;

#[derive(Clone, Default)]
pub struct Live {
    watches: Arc<Mutex<HashMap<UserId, watch::Sender<i64>>>>,
    first_stream: Arc<Notify>,
}

impl Live {
    /// A watch on `user`'s deliveries, starting at `seq`.
    pub fn subscribe(&self, user: &UserId, seq: i64) -> watch::Receiver<i64> {
        let mut watches = self.watches.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let receiver = match watches.get(user) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = watch::channel(seq);
                watches.insert(user.clone(), sender);
                receiver
            }
        };
        self.first_stream.notify_one();
        receiver
    }

    /// Something up to `seq` was delivered to `user`.
    pub fn delivered(&self, user: &UserId, seq: i64) {
        let watches = self.watches.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = watches.get(user) {
            sender.send_if_modified(|newest| {
                let newer = seq > *newest;
                if newer {
                    *newest = seq;
                }
                newer
            });
        }
    }

    /// Forgets users whose streams all ended; whether any stream is left.
    fn prune(&self) -> bool {
        let mut watches = self.watches.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        watches.retain(|_, sender| sender.receiver_count() > 0);
        !watches.is_empty()
    }

    /// Looks for other replicas' deliveries while streams are open here.
    pub async fn follow_others(&self, inbox: &Inbox) {
        let mut seen = inbox.next_seq();
        loop {
            if !self.prune() {
                self.first_stream.notified().await;
                seen = seen.max(inbox.next_seq() - OVERLAP_MICROS);
                continue;
            }
            tokio::time::sleep(POLL_EVERY).await;
            match inbox.delivered_after(seen - OVERLAP_MICROS, POLL_LIMIT).await {
                Ok(found) => {
                    for (user, seq) in &found {
                        self.delivered(user, *seq);
                        seen = seen.max(*seq);
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot look for deliveries; will retry"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_wakes_for_its_user_only_and_for_newer_deliveries_only() {
        let live = Live::default();
        let (ann, bob) = (UserId::mint(), UserId::mint());
        let mut watching = live.subscribe(&ann, 10);
        live.delivered(&bob, 50);
        assert!(!watching.has_changed().unwrap());
        live.delivered(&ann, 5);
        assert!(!watching.has_changed().unwrap(), "older than what it has");
        live.delivered(&ann, 20);
        assert!(watching.has_changed().unwrap());
        assert_eq!(*watching.borrow_and_update(), 20);
        assert!(live.prune());
        drop(watching);
        assert!(!live.prune(), "a user whose streams ended is forgotten");
    }
}
