//! Stopping cleanly: the signals that ask for it, and the background work a
//! service owns, stopped with it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Resolves at the first SIGTERM or SIGINT (docker, systemd, Kubernetes and
/// `timeout` send the first, a terminal the second). When the handlers
/// cannot be installed it never resolves, and says so.
pub async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(signal = name, "stopping");
        }
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!(error = %err, "cannot listen for SIGTERM/SIGINT");
            std::future::pending::<()>().await;
        }
    }
}

/// A service's background tasks (outbox workers, key refreshers, janitors):
/// each runs until the service stops, then is cancelled at its next await.
#[derive(Clone, Default)]
pub struct Workers {
    stop: CancellationToken,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Workers {
    pub fn spawn(&self, name: &'static str, work: impl Future<Output = ()> + Send + 'static) {
        use tracing::Instrument;
        let stop = self.stop.clone();
        // Everything a worker logs carries its name.
        let span = tracing::info_span!("worker", worker = name);
        let task = tokio::spawn(
            async move {
                tokio::select! {
                    () = stop.cancelled() => tracing::debug!("stopped"),
                    () = work => {}
                }
            }
            .instrument(span),
        );
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(task);
        }
    }

    /// Cancels every task and waits for them to end, at most `within`.
    pub async fn stop(&self, within: Duration) {
        self.stop.cancel();
        let tasks = self.tasks.lock().map(|mut tasks| std::mem::take(&mut *tasks)).unwrap_or_default();
        if tokio::time::timeout(within, futures_util::future::join_all(tasks)).await.is_err() {
            tracing::warn!("background work did not stop in time");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stopping_cancels_a_worker_that_would_run_forever() {
        let workers = Workers::default();
        let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<()>();
        workers.spawn("forever", async move {
            let _ended = ended_tx; // dropped when the task is cancelled
            std::future::pending::<()>().await;
        });
        workers.stop(Duration::from_secs(1)).await;
        assert!(ended_rx.await.is_err(), "the worker's state was dropped");
    }
}
