//! A rate limit with a burst allowance, for what one participant may send.
//!
//! The classic token bucket ("`rate` tokens a second, at most `burst`
//! saved up"), kept as one instant instead of a token count: the moment at
//! which the bucket would be full again (the generic cell rate algorithm).
//! Each unit spent pushes that moment `1/rate` seconds later; a spend that
//! would push it more than `burst/rate` seconds past now is refused.
//!
//! ```text
//!   now                       full_at      now + burst/rate
//!    |-------- spent ------------|------------- left ---------|
//!    a spend of n units fits when full_at + n/rate <= now + burst/rate
//! ```
//!
//! No floating point and no timer: it only needs the time of each spend,
//! so tests drive it with simulated time like the rest of the core.

use std::time::{Duration, Instant};

/// `rate` units a second on average, up to `burst` at once.
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// Units a second; each unit pushes `full_at` `1/rate` s later.
    rate: u64,
    /// How far past now `full_at` may be (`burst / rate` seconds).
    tolerance: Duration,
    /// When the bucket is full again; `None`: full now.
    full_at: Option<Instant>,
}

impl RateLimit {
    /// A full bucket of `burst` units refilling at `rate` units a second.
    pub fn new(rate: u64, burst: u64) -> RateLimit {
        let rate = rate.max(1);
        RateLimit {
            rate,
            tolerance: cost(burst, rate),
            full_at: None,
        }
    }

    /// Spends `units` at `now` if they fit; says whether they did. A
    /// refused spend costs nothing.
    pub fn try_spend(&mut self, now: Instant, units: u64) -> bool {
        match self.after_spend(now, units) {
            Some(full_at) => {
                self.full_at = Some(full_at);
                true
            }
            None => false,
        }
    }

    /// Whether `units` fit at `now`, without spending them.
    pub fn allows(&self, now: Instant, units: u64) -> bool {
        self.after_spend(now, units).is_some()
    }

    fn after_spend(&self, now: Instant, units: u64) -> Option<Instant> {
        let start = self.full_at.map_or(now, |t| t.max(now));
        let full_at = start.checked_add(cost(units, self.rate))?;
        (full_at.saturating_duration_since(now) <= self.tolerance).then_some(full_at)
    }
}

/// How long `units` take to refill at `rate` a second.
fn cost(units: u64, rate: u64) -> Duration {
    let nanos = u128::from(units) * 1_000_000_000 / u128::from(rate);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(50, 200);
        assert!((0..200).all(|_| r.try_spend(t0, 1)), "the burst fits");
        assert!(!r.try_spend(t0, 1), "one past the burst");
        assert!(!r.try_spend(t0 + Duration::from_millis(19), 1));
        assert!(
            r.try_spend(t0 + Duration::from_millis(20), 1),
            "1/50 s later"
        );
        assert!(!r.try_spend(t0 + Duration::from_millis(20), 1));
        // A quiet spell refills, but never past the burst.
        let later = t0 + Duration::from_secs(60);
        assert!((0..200).all(|_| r.try_spend(later, 1)));
        assert!(!r.try_spend(later, 1));
    }

    #[test]
    fn a_refused_spend_costs_nothing_and_sizes_count() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(1000, 4000);
        assert!(r.try_spend(t0, 3000));
        assert!(!r.try_spend(t0, 1001));
        assert!(r.allows(t0, 1000));
        assert!(r.try_spend(t0, 1000));
        assert!(!r.allows(t0, 1));
        assert!(r.try_spend(t0 + Duration::from_secs(1), 1000));
    }
}
