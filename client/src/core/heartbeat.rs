//! The things a session does on a clock, whatever else happens: `ping` on
//! TCP every 10 s (the server closes a connection silent for 30 s), the
//! `'I'` hello on UDP every 2 s (it binds our UDP address and proves the
//! media path works), the media-path state a UI shows, and giving up on a
//! server that has gone silent.
//!
//! ```text
//!  t=0  hello ----UDP----> server ----'I' "ok"----> hello_answered(now)
//!  t=2  hello ...
//!  t=10 ping  ----TCP----> server ----pong-------> heard_from_server(now)
//!  every 250 ms: last answer within 5 s? Ok
//!                : no answer yet and started < 5 s ago? Waiting : NoAnswer
//!  nothing from the server for 30 s: silent
//! ```
//!
//! [`Heartbeat`] only keeps the times; `now` comes with every call, so a
//! test runs minutes of it in a loop.

use std::time::{Duration, Instant};

use super::event::MediaPath;

/// How often the media-path state is re-evaluated.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The intervals and timeouts, from the session's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often to ping (10 s).
    pub ping_interval: Duration,
    /// How often to send the UDP hello (2 s).
    pub hello_interval: Duration,
    /// How long without a hello answer before the path is `NoAnswer` (5 s).
    pub media_timeout: Duration,
    /// How long the server may be silent before the session gives up (30 s).
    pub server_timeout: Duration,
}

/// What is due at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Due {
    /// Send a ping.
    pub ping: bool,
    /// Send a hello.
    pub hello: bool,
    /// The media path changed to this.
    pub path: Option<MediaPath>,
    /// The server has been silent for longer than the timeout.
    pub server_silent: bool,
}

/// The session's timers.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    timing: Timing,
    started: Instant,
    next_ping: Instant,
    next_hello: Instant,
    next_check: Instant,
    last_hello_ok: Option<Instant>,
    last_heard: Instant,
    shown: MediaPath,
}

/// The media-path state from the time of the last answer.
pub fn media_path(
    last_ok: Option<Instant>,
    started: Instant,
    now: Instant,
    timeout: Duration,
) -> MediaPath {
    match last_ok {
        Some(t) if now.saturating_duration_since(t) < timeout => MediaPath::Ok,
        None if now.saturating_duration_since(started) < timeout => MediaPath::Waiting,
        _ => MediaPath::NoAnswer,
    }
}

impl Heartbeat {
    /// Timers that start now; the first hello is due at once.
    pub fn new(timing: Timing, now: Instant) -> Heartbeat {
        Heartbeat {
            timing,
            started: now,
            next_ping: now + timing.ping_interval,
            next_hello: now,
            next_check: now + CHECK_EVERY,
            last_hello_ok: None,
            last_heard: now,
            shown: MediaPath::Waiting,
        }
    }

    /// A frame came from the server (any frame, even one we ignore).
    pub fn heard_from_server(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// The server answered a hello.
    pub fn hello_answered(&mut self, now: Instant) {
        self.last_hello_ok = Some(now);
    }

    /// The media-path state last reported.
    pub fn path(&self) -> MediaPath {
        self.shown
    }

    /// What is due at `now`; moves the timers on.
    pub fn tick(&mut self, now: Instant) -> Due {
        let mut due = Due::default();
        if now >= self.next_ping {
            due.ping = true;
            self.next_ping = now + self.timing.ping_interval;
        }
        if now >= self.next_hello {
            due.hello = true;
            self.next_hello = now + self.timing.hello_interval;
        }
        if now >= self.next_check {
            self.next_check = now + CHECK_EVERY;
        }
        let path = media_path(
            self.last_hello_ok,
            self.started,
            now,
            self.timing.media_timeout,
        );
        if path != self.shown {
            self.shown = path;
            due.path = Some(path);
        }
        due.server_silent =
            now.saturating_duration_since(self.last_heard) >= self.timing.server_timeout;
        due
    }

    /// When the next tick has something to do.
    pub fn next_deadline(&self) -> Instant {
        self.next_ping.min(self.next_hello).min(self.next_check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_path_states() {
        let t0 = Instant::now();
        let five = Duration::from_secs(5);
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(media_path(None, t0, at(1), five), MediaPath::Waiting);
        assert_eq!(media_path(None, t0, at(5), five), MediaPath::NoAnswer);
        assert_eq!(media_path(Some(at(4)), t0, at(6), five), MediaPath::Ok);
        assert_eq!(
            media_path(Some(at(4)), t0, at(9), five),
            MediaPath::NoAnswer
        );
    }
}
