//! When the next frame of a paced pipeline is due.
//!
//! Media threads schedule frame `n` at `start + n x period` instead of
//! sleeping one period in a loop: sleeps always overshoot a little, and
//! 100 overshoots a second add up to an audible drift. A pipeline that
//! falls far behind (the machine stalled, an encode was slow) restarts its
//! clock instead of sending a burst of late frames.

use std::time::{Duration, Instant};

/// The schedule of one paced pipeline.
#[derive(Debug, Clone)]
pub struct Pacer {
    period: Duration,
    /// How late a frame may be before the schedule starts again.
    max_late: Duration,
    start: Instant,
    n: u32,
}

impl Pacer {
    /// A schedule whose first frame is due at `now`.
    pub fn new(period: Duration, max_late: Duration, now: Instant) -> Pacer {
        Pacer {
            period,
            max_late,
            start: now,
            n: 0,
        }
    }

    /// When the next frame is due.
    pub fn due(&self) -> Instant {
        self.start + self.period * self.n
    }

    /// The due frame is being made at `now`: moves on to the next one,
    /// skipping the missed ones if `now` is more than `max_late` past due.
    pub fn advance(&mut self, now: Instant) {
        let due = self.due();
        self.n += 1;
        if now > due + self.max_late {
            self.start = now;
            self.n = 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_time_and_skips_after_a_stall() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut p = Pacer::new(ms(10), ms(100), t0);
        for n in 0..100u32 {
            assert_eq!(p.due(), t0 + ms(10) * n);
            // Woken a little late every time: no drift.
            p.advance(p.due() + ms(3));
        }
        assert_eq!(p.due(), t0 + ms(1000));
        // A stall of half a second: the schedule restarts from then.
        let late = t0 + ms(1500);
        p.advance(late);
        assert_eq!(p.due(), late + ms(10));
    }
}
