//! When to try again after the connection to the server dropped: the
//! schedule of resume attempts (section 14 of the protocol).
//!
//! ```text
//!  drop at t=0 --> attempt at 0, then 0.25 s, 0.5 s, 1 s, 2 s, 4 s, 5 s, 5 s, ...
//!                  after each failed attempt; each attempt may take at most
//!                  ATTEMPT_TIMEOUT and never runs past the deadline
//!  t=60 s      --> give up (the server forgets a dropped participant after 60 s)
//! ```
//!
//! [`Reconnect`] keeps only times; `now` comes with every call, so a test
//! runs the whole minute in a loop.

use std::time::{Duration, Instant};

/// How long the server keeps a dropped participant's place.
pub const RESUME_WINDOW: Duration = Duration::from_secs(60);
/// The pause after the first failed attempt; it doubles after each one.
pub const FIRST_RETRY: Duration = Duration::from_millis(250);
/// The longest pause between attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(5);
/// The longest one attempt (connect and handshake) may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the shell should do next while the connection is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Wait until `at`, then try to resume, for at most `timeout`.
    Attempt {
        /// When.
        at: Instant,
        /// How long the attempt may take.
        timeout: Duration,
    },
    /// The window is over: end the session.
    GiveUp,
}

/// The retry schedule of one outage.
#[derive(Debug, Clone)]
pub struct Reconnect {
    deadline: Instant,
    next: Instant,
    pause: Duration,
    attempts: u32,
}

impl Reconnect {
    /// An outage noticed at `now`: the first attempt is due at once.
    pub fn start(now: Instant) -> Reconnect {
        Reconnect {
            deadline: now + RESUME_WINDOW,
            next: now,
            pause: FIRST_RETRY,
            attempts: 0,
        }
    }

    /// What to do at `now`.
    pub fn step(&self, now: Instant) -> Step {
        let at = self.next.max(now);
        if at >= self.deadline {
            return Step::GiveUp;
        }
        Step::Attempt {
            at,
            timeout: ATTEMPT_TIMEOUT.min(self.deadline - at),
        }
    }

    /// An attempt that ended at `now` failed: the next one waits longer.
    pub fn failed(&mut self, now: Instant) {
        self.attempts += 1;
        self.next = now + self.pause;
        self.pause = (self.pause * 2).min(MAX_RETRY);
    }

    /// How many attempts failed so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(step: Step) -> Instant {
        match step {
            Step::Attempt { at, .. } => at,
            Step::GiveUp => panic!("gave up too early"),
        }
    }

    #[test]
    fn backs_off_and_gives_up_after_the_window() {
        let t0 = Instant::now();
        let mut r = Reconnect::start(t0);
        assert_eq!(at(r.step(t0)), t0, "the first attempt is at once");
        let mut now = t0;
        let mut pauses = Vec::new();
        loop {
            match r.step(now) {
                Step::GiveUp => break,
                Step::Attempt { at, timeout } => {
                    assert!(at + timeout <= t0 + RESUME_WINDOW);
                    pauses.push(at - now);
                    // Each attempt fails after 100 ms.
                    now = at + Duration::from_millis(100);
                    r.failed(now);
                }
            }
        }
        let ms: Vec<u128> = pauses.iter().take(7).map(|d| d.as_millis()).collect();
        assert_eq!(ms, [0, 250, 500, 1000, 2000, 4000, 5000]);
        assert!(pauses.iter().all(|p| *p <= MAX_RETRY));
        assert!(now >= t0 + RESUME_WINDOW - MAX_RETRY - Duration::from_millis(100));
        assert!(r.attempts() > 10 && r.attempts() < 20, "{}", r.attempts());
    }

    #[test]
    fn an_attempt_never_runs_past_the_deadline() {
        let t0 = Instant::now();
        let mut r = Reconnect::start(t0);
        r.failed(t0 + Duration::from_millis(59_900));
        assert_eq!(r.step(t0 + Duration::from_millis(59_950)), Step::GiveUp);
        let r = Reconnect::start(t0);
        match r.step(t0 + Duration::from_millis(58_000)) {
            Step::Attempt { timeout, .. } => assert_eq!(timeout, Duration::from_secs(2)),
            Step::GiveUp => panic!("still inside the window"),
        }
    }
}
