//! Image work off the async executor, in slots sized by memory: uploads,
//! buyers' marked copies and leak traces each have their own, so a burst of
//! one never starves the others (a creator's traces cannot hold up uploads,
//! nor a wave of purchases either). Marking and tracing also bound how many
//! may wait: past that they are told to come back (503 + `Retry-After`)
//! instead of queueing without end.

use tokio::sync::Semaphore;

use crate::error::MediaError;

pub struct Slots {
    /// What the work is, for the busy answer.
    what: &'static str,
    running: Semaphore,
    /// Running plus waiting; `None`: any number may wait (uploads, which a
    /// client already sent in full).
    admitted: Option<Semaphore>,
}

impl Slots {
    pub fn new(what: &'static str, slots: usize, queue: Option<usize>) -> Self {
        let slots = slots.max(1);
        Self {
            what,
            running: Semaphore::new(slots),
            admitted: queue.map(|queue| Semaphore::new(slots + queue)),
        }
    }

    /// Runs `work` on the blocking pool once a slot is free, or refuses it
    /// at once when the queue is full.
    pub async fn run<T, F>(&self, work: F) -> Result<T, MediaError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let _admitted = match &self.admitted {
            Some(admitted) => Some(admitted.try_acquire().map_err(|_| MediaError::Busy(self.what))?),
            None => None,
        };
        // Waits for a slot rather than decoding past the memory it is sized for.
        let _slot = self
            .running
            .acquire()
            .await
            .map_err(|err| MediaError::Internal(anyhow::anyhow!("{} slots closed: {err}", self.what)))?;
        actix_web::web::block(work)
            .await
            .map_err(|err| MediaError::Internal(anyhow::anyhow!("image task failed: {err}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[actix_web::test]
    async fn past_its_queue_work_is_refused_at_once_and_the_rest_runs() {
        let slots = Arc::new(Slots::new("marking", 1, Some(1)));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(std::sync::Mutex::new(wait));
        let blocked = {
            let (slots, wait) = (slots.clone(), wait.clone());
            actix_web::rt::spawn(async move {
                slots.run(move || wait.lock().unwrap().recv_timeout(Duration::from_secs(10))).await
            })
        };
        let queued = {
            let slots = slots.clone();
            actix_web::rt::spawn(async move { slots.run(|| 7).await })
        };
        // Let both take their places: one running, one waiting.
        while slots.admitted.as_ref().unwrap().available_permits() > 0 {
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(matches!(slots.run(|| 0).await, Err(MediaError::Busy("marking"))));
        release.send(()).unwrap();
        assert!(blocked.await.unwrap().unwrap().is_ok());
        assert_eq!(queued.await.unwrap().unwrap(), 7);
        assert_eq!(slots.run(|| 8).await.unwrap(), 8, "free again");
    }
}
