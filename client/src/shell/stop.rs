//! A stop signal a paced thread can sleep on.
//!
//! Media threads run on a clock ("the next audio frame is due at
//! start + n x 10 ms"). They wait for that deadline on a condition
//! variable rather than with `thread::sleep`, so that stopping the thread
//! (the user turned the camera off, the session ended) wakes it at once
//! instead of after its sleep.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A shared "stop now" flag with a wake-up.
#[derive(Clone, Default)]
pub(crate) struct StopSignal {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl StopSignal {
    pub(crate) fn new() -> StopSignal {
        StopSignal::default()
    }

    fn flag(&self) -> MutexGuard<'_, bool> {
        // A poisoned flag still holds a valid bool.
        self.inner.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Raises the flag and wakes every waiter.
    pub(crate) fn stop(&self) {
        *self.flag() = true;
        self.inner.1.notify_all();
    }

    /// Whether the flag is up.
    pub(crate) fn is_stopped(&self) -> bool {
        *self.flag()
    }

    /// Sleeps until `deadline` or until stopped; returns `true` when stopped.
    pub(crate) fn wait_until(&self, deadline: Instant) -> bool {
        let mut stopped = self.flag();
        loop {
            if *stopped {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            stopped = match self.inner.1.wait_timeout(stopped, deadline - now) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Sleeps for `d` or until stopped; returns `true` when stopped.
    pub(crate) fn wait_for(&self, d: Duration) -> bool {
        self.wait_until(Instant::now() + d)
    }
}

/// Locks a mutex, taking the data even if a thread panicked while holding
/// it: every structure guarded here stays consistent between statements,
/// and a client that keeps running beats one that cascades a panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_returns_at_deadline_or_on_stop() {
        let s = StopSignal::new();
        let t0 = Instant::now();
        assert!(!s.wait_for(Duration::from_millis(20)));
        assert!(t0.elapsed() >= Duration::from_millis(20));
        let s2 = s.clone();
        let h = std::thread::spawn(move || s2.wait_for(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        s.stop();
        assert!(h.join().unwrap());
        assert!(s.is_stopped());
    }
}
