//! Telling media that a grant ended, so the copies it was serving lose
//! their objects (their marks stay, to trace a copy leaked before). Best
//! effort: a copy media is not told of goes when it has not been asked for
//! in `MEDIA_COPY_IDLE`; the viewer's cookie that could reach it expires
//! within `POST_URL_LIFETIME` either way.

use common::contract::media::{COPIES_RELEASE_PATH, CopiesRelease, CopiesReleased, Grant};
use common::ids::UserId;
use common::internal_client::ServiceClient;

#[derive(Clone)]
pub struct Copies {
    pub media: ServiceClient,
}

impl Copies {
    /// Releases `buyer`'s copies serving `grant`, in the background.
    pub fn release(&self, buyer: UserId, grant: Grant) {
        let media = self.media.clone();
        // Not actix's spawn: renewals end subscriptions off any request, on a worker.
        tokio::spawn(async move {
            let request = CopiesRelease { buyer_id: buyer, grant };
            match media.post_json_idempotent::<_, CopiesReleased>(COPIES_RELEASE_PATH, &request).await {
                Ok(done) => tracing::debug!(released = done.released, "copies released"),
                Err(err) => tracing::warn!(error = %err, "copies not released now; they go when idle"),
            }
        });
    }
}
