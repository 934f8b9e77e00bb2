//! The two things a session does on a clock, whatever else happens:
//! `ping` on TCP every 10 s (the server closes a connection silent for
//! 30 s) and the `'I'` hello on UDP every 2 s (it binds our UDP address
//! and proves the media path works), plus the media-path state a UI shows.
//!
//! ```text
//!  t=0  hello ----UDP----> server ----'I' "ok"----> UDP reader: last_ok = now
//!  t=2  hello ...
//!  t=10 ping  ----TCP----> server ----pong-------->
//!  every 250 ms: last_ok within 5 s? Ok : (never yet and < 5 s? Waiting : NoAnswer)
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use lanmeet_common::udp::{self, Kind};
use lanmeet_common::ClientMessage;

use crate::event::{Event, MediaPath};
use crate::session::Shared;
use crate::stop::lock;

/// How often the media-path state is re-evaluated.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Sends one UDP hello.
pub(crate) fn send_hello(shared: &Shared) {
    let hello = udp::build(
        Kind::Hello,
        &shared.identity.client_id,
        shared.identity.udp_token.as_bytes(),
    );
    // A lost hello is fine: the next one goes out in 2 s.
    let _ = shared.link.socket.send(&hello);
}

/// The media-path state from the time of the last answer.
pub(crate) fn media_path(
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

/// The heartbeat thread's body.
pub(crate) fn run(shared: Arc<Shared>) {
    let config = &shared.config;
    let started = Instant::now();
    let mut next_ping = started + config.ping_interval;
    let mut next_hello = started + config.hello_interval;
    let mut shown = MediaPath::Waiting;
    loop {
        let next = next_ping.min(next_hello).min(Instant::now() + CHECK_EVERY);
        if shared.stop.wait_until(next) {
            return;
        }
        let now = Instant::now();
        if now >= next_ping {
            if shared.send(ClientMessage::Ping).is_err() {
                return;
            }
            next_ping = now + config.ping_interval;
        }
        if now >= next_hello {
            send_hello(&shared);
            next_hello = now + config.hello_interval;
        }
        let last_ok = *lock(&shared.last_hello_ok);
        let path = media_path(last_ok, started, now, config.media_timeout);
        if path != shown {
            shown = path;
            *lock(&shared.media_path) = path;
            shared.log.write(format_args!("media path: {path:?}"));
            shared.emit(Event::MediaPath { state: path });
        }
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
