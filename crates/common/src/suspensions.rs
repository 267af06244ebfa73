//! Suspended accounts, known to every service that takes access tokens:
//! a suspended user's still-valid token is refused at once, not at its
//! expiry. auth keeps the list (its `suspended` accounts and a version that
//! moves with every change); each service holds a copy in memory, asks auth
//! for it again every two seconds (the answer is the version alone when nothing
//! changed), and the service that suspends someone adds them to its own copy
//! at once. [`crate::user_auth::AuthUser`] consults it when it is in the
//! app's data.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::contract::users::{Suspended, suspended_path};
use crate::ids::UserId;
use crate::internal_client::ServiceClient;

/// How often a service asks auth for the list.
/// (Each ask is a request and a database read at auth: an idle stack's
/// cost, measured by `scripts/idle-cpu`.)
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);

#[derive(Clone, Default)]
pub struct Suspensions {
    inner: Arc<RwLock<Known>>,
}

#[derive(Default)]
struct Known {
    version: i64,
    users: HashSet<UserId>,
}

impl Suspensions {
    pub fn contains(&self, user: &UserId) -> bool {
        self.inner.read().is_ok_and(|known| known.users.contains(user))
    }

    /// Notes a suspension (or its end) made here, before auth's list shows it.
    pub fn note(&self, user: &UserId, suspended: bool) {
        if let Ok(mut known) = self.inner.write() {
            match suspended {
                true => known.users.insert(user.clone()),
                false => known.users.remove(user),
            };
        }
    }

    fn version(&self) -> i64 {
        self.inner.read().map_or(0, |known| known.version)
    }

    fn replace(&self, list: Suspended) {
        if let (Ok(mut known), Some(users)) = (self.inner.write(), list.user_ids) {
            *known = Known { version: list.version, users: users.into_iter().collect() };
        }
    }

    /// Keeps this copy in step with auth's list, until `workers` stop.
    pub fn follow(&self, auth: ServiceClient, workers: &crate::shutdown::Workers) {
        let suspensions = self.clone();
        workers.spawn("suspensions", async move {
            loop {
                match auth.get_json::<Suspended>(&suspended_path(suspensions.version())).await {
                    Ok(list) => suspensions.replace(list),
                    Err(err) => tracing::debug!(error = %err, "suspended accounts not refreshed; will retry"),
                }
                tokio::time::sleep(FOLLOW_EVERY).await;
            }
        });
    }
}
