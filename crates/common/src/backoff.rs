//! How long background work waits before trying again after failures in a
//! row (a takedown's follow-up, a payout the provider did not answer):
//! doubling from a first wait up to a ceiling, so a dependency that is down
//! for hours is asked a few times an hour, not hammered.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub ceiling: Duration,
}

impl Backoff {
    /// 5 s, doubling, at most every 10 minutes.
    pub const BACKGROUND: Backoff =
        Backoff { first: Duration::from_secs(5), ceiling: Duration::from_secs(600) };

    /// The wait after the `failures`-th failure in a row (the first is 1).
    pub fn after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.first.saturating_mul(1 << doublings).min(self.ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_first_wait_up_to_the_ceiling() {
        let waits: Vec<u64> = (0..=10).map(|n| Backoff::BACKGROUND.after(n).as_secs()).collect();
        assert_eq!(waits, [5, 5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(Backoff::BACKGROUND.after(u32::MAX).as_secs(), 600);
    }
}
