//! The time, read through one handle so tests can move it: a renewal a
//! month away happens in a second. Production always has the system clock.
//! The handle that moves time is compiled only with this crate's
//! `test-clock` feature, which only dev-dependencies turn on (Cargo's
//! resolver does not carry a dev-dependency's features into a normal
//! build), and no variable or route reaches it.

use std::time::{Duration, SystemTime};

#[derive(Clone, Default, Debug)]
pub struct Clock {
    #[cfg(feature = "test-clock")]
    ahead: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> SystemTime {
        #[cfg(feature = "test-clock")]
        {
            let ahead = self.ahead.load(std::sync::atomic::Ordering::SeqCst);
            SystemTime::now() + Duration::from_millis(ahead)
        }
        #[cfg(not(feature = "test-clock"))]
        SystemTime::now()
    }

    /// The time `later` from now.
    pub fn after(&self, later: Duration) -> SystemTime {
        self.now() + later
    }
}

#[cfg(feature = "test-clock")]
impl Clock {
    /// Moves this clock, and every copy of it, `by` into the future.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ahead.fetch_add(millis, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
#[cfg(feature = "test-clock")]
mod tests {
    use super::*;

    #[test]
    fn every_copy_moves_together() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(Duration::from_secs(31 * 24 * 3600));
        assert!(copy.now() >= before + Duration::from_secs(31 * 24 * 3600));
    }
}
