//! One UDP turn of the loop, budgeted so that the mixer runs on time.
//!
//! A datagram in can cost many datagrams out: a video fragment is relayed
//! to everyone else in its meeting (up to 63 copies). A turn that read a
//! fixed 512 datagrams of video from meetings of ten sent 4,600 copies, at
//! about 4 µs each on loopback 18 ms: longer than the mixer's 10 ms
//! period, so under heavy relay the ticks ran late, caught up in bursts
//! and were finally skipped (56-70 mixed frames a second per listener
//! instead of 100). So a turn now
//!
//! ```text
//!  for each datagram, at most MAX_DATAGRAMS:
//!      timers due?  -> run them first (the mixer tick, idle checks)
//!      take one datagram, handle it, send its copies
//!      MAX_SENDS copies sent this turn?  -> end the turn (TCP's turn next)
//! ```
//!
//! Reading the clock costs tens of nanoseconds, a hundredth of one send,
//! so it is read before every datagram: a tick is never later than one
//! datagram's copies. The send budget bounds how long TCP waits for its
//! turn whatever the fan-out.
//!
//! That keeps the tick on time, but a tick can only mix what reached the
//! server. When the relay asks for more sends than a core can make (200
//! participants at 20 fps ask for 400,000 a second), the socket's receive
//! buffer stays full and the kernel drops whatever arrives, audio as much
//! as video: the mixer then has nothing to mix. So when the socket has not
//! been drained for [`BEHIND_LIMIT`] ([`Backlog`]), the core sheds video:
//! it stops relaying new frames (whole frames: a frame already begun is
//! finished) until the loop has caught up. Reading a datagram costs a
//! fraction of relaying it, so the socket drains, audio gets in, and video
//! goes out at the rate the machine can send.
//!
//! The turn is written against [`TurnIo`] rather than the sockets, so a
//! test drives it (with the real core's timers) on simulated time.

use std::time::{Duration, Instant};

/// Datagrams taken in one turn at most.
pub const MAX_DATAGRAMS: usize = 512;
/// Datagrams sent (relayed copies, mixes, answers) in one turn at most,
/// about 8 ms of sends on loopback.
pub const MAX_SENDS: usize = 2048;

/// How long the socket may go without being drained before video is shed.
pub const BEHIND_LIMIT: Duration = Duration::from_millis(30);

/// Whether the loop keeps up with its UDP socket.
#[derive(Debug, Default)]
pub struct Backlog {
    /// When a turn last ended with the socket still holding datagrams,
    /// after one that drained it.
    behind_since: Option<Instant>,
}

impl Backlog {
    /// A turn ended (`end`) at `now`: whether the loop is overloaded, that
    /// is, has not drained the socket for [`BEHIND_LIMIT`].
    pub fn after_turn(&mut self, end: TurnEnd, now: Instant) -> bool {
        match end {
            TurnEnd::Drained => {
                self.behind_since = None;
                false
            }
            TurnEnd::Budget => {
                let since = *self.behind_since.get_or_insert(now);
                now.saturating_duration_since(since) >= BEHIND_LIMIT
            }
        }
    }
}

/// What a UDP turn needs from the loop.
pub trait TurnIo {
    /// The time now.
    fn now(&self) -> Instant;
    /// When the core's timers are next due.
    fn deadline(&self) -> Instant;
    /// Runs the timers due at `now` and sends what they produce.
    fn run_timers(&mut self, now: Instant);
    /// Takes one datagram, hands it to the core and sends what it causes;
    /// the number of datagrams sent, or `None` when the socket is empty.
    fn take_datagram(&mut self) -> Option<usize>;
}

/// Why a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    /// The socket had nothing more to read.
    Drained,
    /// The budget ran out; the socket may hold more.
    Budget,
}

/// Reads and handles datagrams until the socket is empty or the budget is
/// spent, running the timers whenever they fall due in between.
///
/// After a stall (the process was not scheduled, and the timers are more
/// than [`STALLED`] late) the turn reads first and runs the late timers at
/// its end: the audio that arrived during the stall is then in the
/// mixer's queues, and the catch-up ticks mix it instead of finding the
/// queues empty.
pub fn udp_turn(io: &mut impl TurnIo) -> TurnEnd {
    let mut sends = 0;
    let mut end = TurnEnd::Budget;
    for _ in 0..MAX_DATAGRAMS {
        let now = io.now();
        let deadline = io.deadline();
        if now >= deadline && now.saturating_duration_since(deadline) < STALLED {
            io.run_timers(now);
        }
        let Some(sent) = io.take_datagram() else {
            end = TurnEnd::Drained;
            break;
        };
        sends += sent;
        if sends >= MAX_SENDS {
            break;
        }
    }
    run_due_timers(io);
    end
}

/// Timers this late mean the loop was not running: see [`udp_turn`].
pub const STALLED: Duration = Duration::from_millis(10);

/// Runs the timers if they are due.
pub fn run_due_timers(io: &mut impl TurnIo) {
    let now = io.now();
    if now >= io.deadline() {
        io.run_timers(now);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::core::{Core, CoreConfig, MIX_PERIOD};
    use crate::rng::SeededRandom;

    /// A socket that always holds video and a machine where each datagram
    /// in costs `per_datagram` and each copy out `per_send`, with the real
    /// core's timers.
    struct Simulated {
        now: Instant,
        core: Core,
        fan_out: usize,
        per_datagram: Duration,
        per_send: Duration,
        /// How late each timer run was after the deadline it served.
        lateness: Vec<Duration>,
    }

    impl Simulated {
        fn new(fan_out: usize) -> Simulated {
            let now = Instant::now();
            let core = Core::new(
                CoreConfig::default(),
                Box::new(SeededRandom(1)),
                now,
                SystemTime::now(),
            );
            Simulated {
                now,
                core,
                fan_out,
                per_datagram: Duration::from_micros(2),
                per_send: Duration::from_micros(4),
                lateness: Vec::new(),
            }
        }

        /// The loop as the shell runs it: a UDP turn, then the timers.
        fn run_for(&mut self, length: Duration) {
            let end = self.now + length;
            while self.now < end {
                udp_turn(self);
                run_due_timers(self);
            }
        }
    }

    impl TurnIo for Simulated {
        fn now(&self) -> Instant {
            self.now
        }
        fn deadline(&self) -> Instant {
            self.core.next_deadline()
        }
        fn run_timers(&mut self, now: Instant) {
            self.lateness.push(now - self.core.next_deadline());
            self.core.on_timer(now);
        }
        fn take_datagram(&mut self) -> Option<usize> {
            self.now += self.per_datagram + self.per_send * self.fan_out as u32;
            Some(self.fan_out)
        }
    }

    #[test]
    fn the_mixer_ticks_every_10_ms_under_endless_video() {
        // Meetings of ten: every fragment goes out nine times, and the
        // socket never runs dry (the 200-participant bench).
        let mut sim = Simulated::new(9);
        sim.run_for(Duration::from_secs(1));
        let ticks = sim.core.media_stats.mix_ticks;
        assert!((99..=101).contains(&ticks), "{ticks} ticks in a second");
        let worst = sim.lateness.iter().max().copied().unwrap_or_default();
        // Never later than one datagram's copies.
        assert!(worst <= Duration::from_micros(2 + 9 * 4), "{worst:?} late");
    }

    #[test]
    fn a_meeting_of_64_relaying_is_still_on_time() {
        let mut sim = Simulated::new(63);
        sim.run_for(Duration::from_secs(2));
        let ticks = sim.core.media_stats.mix_ticks;
        assert!((199..=201).contains(&ticks), "{ticks} ticks in two seconds");
        let worst = sim.lateness.iter().max().copied().unwrap_or_default();
        assert!(worst < MIX_PERIOD / 20, "{worst:?} late");
    }

    #[test]
    fn after_a_stall_the_socket_is_read_before_the_late_ticks_run() {
        let mut sim = Simulated::new(0);
        // Not scheduled for 35 ms: then the first datagram is read before
        // the late ticks, which run at the end of the turn.
        sim.now += Duration::from_millis(35);
        let mut order = Vec::new();
        struct Recorder<'a>(&'a mut Simulated, &'a mut Vec<&'static str>, usize);
        impl TurnIo for Recorder<'_> {
            fn now(&self) -> Instant {
                self.0.now
            }
            fn deadline(&self) -> Instant {
                self.0.deadline()
            }
            fn run_timers(&mut self, now: Instant) {
                self.1.push("timers");
                self.0.run_timers(now);
            }
            fn take_datagram(&mut self) -> Option<usize> {
                if self.2 == 0 {
                    return None;
                }
                self.2 -= 1;
                self.1.push("datagram");
                self.0.take_datagram()
            }
        }
        let end = udp_turn(&mut Recorder(&mut sim, &mut order, 3));
        assert_eq!(end, TurnEnd::Drained);
        assert_eq!(order, ["datagram", "datagram", "datagram", "timers"]);
        assert_eq!(sim.core.media_stats.mix_ticks, 3);
    }

    #[test]
    fn overloaded_after_30_ms_without_draining_the_socket() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut b = Backlog::default();
        assert!(!b.after_turn(TurnEnd::Budget, t0));
        assert!(!b.after_turn(TurnEnd::Budget, t0 + ms(29)));
        assert!(b.after_turn(TurnEnd::Budget, t0 + ms(30)));
        assert!(!b.after_turn(TurnEnd::Drained, t0 + ms(31)));
        assert!(!b.after_turn(TurnEnd::Budget, t0 + ms(40)));
        assert!(b.after_turn(TurnEnd::Budget, t0 + ms(70)));
    }

    #[test]
    fn a_turn_ends_on_its_send_budget_or_when_the_socket_is_empty() {
        let mut sim = Simulated::new(9);
        let before = sim.now;
        assert_eq!(udp_turn(&mut sim), TurnEnd::Budget);
        let taken = MAX_SENDS.div_ceil(9);
        assert_eq!(
            sim.now - before,
            (sim.per_datagram + sim.per_send * 9) * taken as u32
        );

        // No fan-out (audio): the datagram budget ends the turn.
        let mut audio = Simulated::new(0);
        let before = audio.now;
        assert_eq!(udp_turn(&mut audio), TurnEnd::Budget);
        assert_eq!(
            audio.now - before,
            audio.per_datagram * MAX_DATAGRAMS as u32
        );

        struct Empty(Simulated);
        impl TurnIo for Empty {
            fn now(&self) -> Instant {
                self.0.now
            }
            fn deadline(&self) -> Instant {
                self.0.deadline()
            }
            fn run_timers(&mut self, now: Instant) {
                self.0.run_timers(now)
            }
            fn take_datagram(&mut self) -> Option<usize> {
                None
            }
        }
        assert_eq!(udp_turn(&mut Empty(Simulated::new(9))), TurnEnd::Drained);
    }
}
