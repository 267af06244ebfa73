//! Request coalescing: concurrent misses for one key share one origin fetch.
//!
//! The fetch is a shared future that every waiter polls; the fetch itself
//! says when it has landed, so the next request starts a new one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

pub type Flight<T> = Shared<BoxFuture<'static, T>>;

pub struct Flights<T: Clone> {
    in_flight: Mutex<HashMap<String, (u64, Flight<T>)>>,
    next_id: AtomicU64,
}

impl<T: Clone> Default for Flights<T> {
    fn default() -> Self {
        Self { in_flight: Mutex::new(HashMap::new()), next_id: AtomicU64::new(0) }
    }
}

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    /// The fetch in flight for `key`, or a new one made by `start` with its
    /// id (which it hands to [`Flights::land`] when done). `true` when joined.
    pub fn join<F>(&self, key: &str, start: impl FnOnce(u64) -> F) -> (Flight<T>, bool)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, flight)) = in_flight.get(key) {
            return (flight.clone(), true);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let flight = start(id).boxed().shared();
        in_flight.insert(key.to_owned(), (id, flight.clone()));
        (flight, false)
    }

    /// Fetch `id` for `key` is done: later requests start their own.
    pub fn land(&self, key: &str, id: u64) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if in_flight.get(key).is_some_and(|(current, _)| *current == id) {
            in_flight.remove(key);
        }
    }

    /// Fetches begun before an invalidation may bring old bytes: requests
    /// for these keys start afresh (those already waiting still get them).
    pub fn forget(&self, matches: impl Fn(&str) -> bool) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        in_flight.retain(|key, _| !matches(key));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test]
    async fn concurrent_joins_share_one_fetch_and_the_next_starts_anew() {
        let flights = Arc::new(Flights::<usize>::default());
        let started = Arc::new(AtomicUsize::new(0));
        let (gate, opened) = tokio::sync::oneshot::channel::<()>();
        let opened = opened.shared();
        let mut waiting = Vec::new();
        for _ in 0..10 {
            let (flights2, started2, opened2) = (flights.clone(), started.clone(), opened.clone());
            let (flight, _) = flights.join("k", move |id| async move {
                let _ = opened2.await;
                flights2.land("k", id);
                started2.fetch_add(1, Ordering::SeqCst) + 1
            });
            waiting.push(tokio::spawn(flight));
        }
        let _ = gate.send(());
        for task in waiting {
            assert_eq!(task.await.unwrap(), 1);
        }
        assert_eq!(started.load(Ordering::SeqCst), 1, "one fetch for ten waiters");
        let (_, joined) = flights.join("k", |_| async { 0 });
        assert!(!joined, "a landed fetch is not joined");
    }
}
