//! Image work off the async executor, at most as many at once as the
//! processing slots allow (memory is what bounds them).

use tokio::sync::Semaphore;

use crate::error::MediaError;

/// Runs `work` on the blocking pool once a slot is free.
pub async fn in_slot<T, F>(slots: &Semaphore, work: F) -> Result<T, MediaError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    // Waits for a slot rather than decoding past the memory it is sized for.
    let _slot = slots
        .acquire()
        .await
        .map_err(|err| MediaError::Internal(anyhow::anyhow!("processing slots closed: {err}")))?;
    actix_web::web::block(work)
        .await
        .map_err(|err| MediaError::Internal(anyhow::anyhow!("image task failed: {err}")))
}
