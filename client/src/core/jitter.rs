//! The audio jitter buffer: an adaptive reordering queue between the
//! network and the playout, with loss concealment.
//!
//! ```text
//!  'A' mix datagrams (uneven arrival)            playout, one frame per 10 ms
//!   push(seq, frame, now) --> [ 3 | 4 | 6 | 7 ] --> pop() --> AudioSink
//!        |                      target: 1 frame + the measured jitter
//!        +-> arrival jitter (p95 over 2 s)      5 lost: concealed (conceal.rs)
//!                                               empty: conceal, wait (stretch)
//!                                               slack: two frames as one (shrink)
//! ```
//!
//! - **Target from the measured jitter.** Each frame's arrival time minus
//!   its place in the stream (`seq * 10 ms`) is its transit time up to a
//!   constant; the spread between the lowest and the 95th percentile over
//!   the last 2 s is the jitter. The buffer fills to one frame plus that,
//!   in whole frames, at least 20 ms (a quiet LAN) and at most 100 ms.
//! - **A lost frame** (missing while a later one is already here) is
//!   played as the [`Concealer`]'s repetition of the
//!   last pitch periods, fading after 10 ms, and the next real frame is
//!   cross-faded in: no step, no hole.
//! - **Running dry** (nothing here) is concealed too, but the stream
//!   waits for the frame that is late: the delay grows by 10 ms. This is
//!   how the delay grows when the jitter does, and the stretch that
//!   absorbs a sender (or server tick) slower than our sound card. After
//!   100 ms of nothing it stops and refills to the target.
//! - **Shrinking back.** When the buffer never held fewer than two frames
//!   before a pop for a while and holds more than the target, it plays
//!   two frames as one, cross-faded over the whole 10 ms. Far over the
//!   target (after a burst) it does so every 100 ms; one frame over
//!   (drift, a target that came down) every 0.5 s, preferring a quiet
//!   pair for up to 2 s.
//! - **Bounded.** More than 200 ms waiting (a burst after a stall) drops
//!   the oldest down to the target at once.
//!
//! It does no I/O and reads no clock: arrivals come with the time they
//! came, and the playout asks for a frame every 10 ms, so a test plays
//! minutes of it in a loop.

use std::collections::VecDeque;
use std::time::Instant;

use lanmeet_common::audio::{Frame, FRAME_MS, FRAME_SAMPLES};
use serde::Serialize;

use super::conceal::Concealer;

/// Numbers a UI can show about incoming audio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JitterStats {
    /// Frames waiting now, in ms.
    pub depth_ms: u64,
    /// The depth the buffer fills to before playing, in ms.
    pub target_ms: u64,
    /// The measured arrival jitter (95th percentile spread), in ms.
    pub jitter_ms: u64,
    /// Frames received.
    pub received: u64,
    /// Frames played.
    pub played: u64,
    /// Frames concealed (lost, or late when the buffer ran dry).
    pub concealed: u64,
    /// Times the buffer ran dry while playing (a concealed frame was
    /// played and the stream waited).
    pub underruns: u64,
    /// Frames merged into their neighbour to bring the delay back down.
    pub shrink_drops: u64,
    /// Frames dropped because the buffer held too many.
    pub overflow_drops: u64,
    /// Frames dropped because they came after later ones were played.
    pub late_drops: u64,
}

/// Whether sequence number `a` comes after `b` (wrapping).
fn seq_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

/// Default depth the jitter buffer starts with, in ms.
pub const DEFAULT_JITTER_MS: u64 = 30;

/// The smallest target: one frame to play and one arriving.
const MIN_TARGET: usize = 2;
/// The largest target: 100 ms.
const MAX_TARGET: usize = 10;
/// The most frames held: 200 ms.
const MAX_FRAMES: usize = 20;
/// Arrivals the jitter is measured over: 2 s.
const ARRIVALS: usize = 200;
/// Arrivals needed before the measurement replaces the starting target.
const MIN_ARRIVALS: usize = 50;
/// A pause in arrivals after which the stream is measured anew, in ms.
const PAUSE_MS: f64 = 250.0;
/// Pops the buffer must have slack for before it shrinks: 0.5 s.
const SLACK_POPS: usize = 50;
/// Pops of slack before a shrink far over the target: 100 ms.
const BURST_POPS: usize = 10;
/// Pops a shrink waits for a quiet pair of frames: 2 s.
const QUIET_WAIT_POPS: usize = 200;
/// Concealed frames on an empty buffer before it stops and refills.
const DRY_POPS: usize = 10;

/// Arrival times against stream positions, for the jitter.
struct Arrivals {
    /// The first arrival of this stream: (time, seq).
    origin: Option<(Instant, u32)>,
    last: Option<Instant>,
    /// Transit time relative to the origin's, in ms, newest last.
    transit: VecDeque<f64>,
}

impl Arrivals {
    fn new() -> Arrivals {
        Arrivals {
            origin: None,
            last: None,
            transit: VecDeque::with_capacity(ARRIVALS),
        }
    }

    fn record(&mut self, seq: u32, now: Instant) {
        let paused = self
            .last
            .is_some_and(|l| now.saturating_duration_since(l).as_secs_f64() * 1e3 > PAUSE_MS);
        if paused {
            self.origin = None;
            self.transit.clear();
        }
        self.last = Some(now);
        let (t0, s0) = *self.origin.get_or_insert((now, seq));
        let elapsed = now.saturating_duration_since(t0).as_secs_f64() * 1e3;
        let position = f64::from(seq.wrapping_sub(s0) as i32) * FRAME_MS as f64;
        if self.transit.len() == ARRIVALS {
            self.transit.pop_front();
        }
        self.transit.push_back(elapsed - position);
    }

    /// The spread from the lowest transit time to the 95th percentile,
    /// in ms, once enough arrivals were seen.
    fn jitter_ms(&self) -> Option<f64> {
        if self.transit.len() < MIN_ARRIVALS {
            return None;
        }
        let mut sorted: Vec<f64> = self.transit.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let p95 = sorted[(sorted.len() * 95 / 100).min(sorted.len() - 1)];
        Some(p95 - sorted[0])
    }
}

/// An adaptive reordering buffer with concealment between the network
/// and the sink.
pub struct JitterBuffer {
    frames: VecDeque<(u32, Frame)>,
    concealer: Concealer,
    arrivals: Arrivals,
    /// Frames to hold before playing.
    target: usize,
    playing: bool,
    /// The sequence number to play next.
    next: u32,
    /// The last sequence number played or given up.
    last_played: Option<u32>,
    /// Concealed pops in a row on an empty buffer.
    dry: usize,
    /// The fewest frames held before a pop in the current slack window.
    window_min: usize,
    window_pops: usize,
    /// Pops since the buffer first wanted to shrink and found no quiet pair.
    shrink_waiting: usize,
    /// Recent mean square level of what was played, for "quiet".
    level: f32,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer that starts by filling to `target_ms` (clamped to
    /// 20..=100 ms) and then follows the measured jitter.
    pub fn new(target_ms: u64) -> JitterBuffer {
        let target = ((target_ms / FRAME_MS) as usize).clamp(MIN_TARGET, MAX_TARGET);
        JitterBuffer {
            frames: VecDeque::new(),
            concealer: Concealer::new(),
            arrivals: Arrivals::new(),
            target,
            playing: false,
            next: 0,
            last_played: None,
            dry: 0,
            window_min: usize::MAX,
            window_pops: 0,
            shrink_waiting: 0,
            level: 0.0,
            stats: JitterStats {
                target_ms: target as u64 * FRAME_MS,
                ..JitterStats::default()
            },
        }
    }

    /// Adds a frame from the network that arrived at `now`.
    pub fn push(&mut self, seq: u32, frame: Frame, now: Instant) {
        self.stats.received += 1;
        self.arrivals.record(seq, now);
        if let Some(jitter) = self.arrivals.jitter_ms() {
            self.stats.jitter_ms = jitter.round() as u64;
            let frames = 1 + (jitter / FRAME_MS as f64).ceil() as usize;
            self.target = frames.clamp(MIN_TARGET, MAX_TARGET);
            self.stats.target_ms = self.target as u64 * FRAME_MS;
        }
        if let Some(last) = self.last_played {
            if !seq_after(seq, last) {
                self.stats.late_drops += 1;
                return;
            }
        }
        // Keep the queue in sequence order; datagrams rarely arrive out of
        // order, so the search from the back is short.
        let at = self
            .frames
            .iter()
            .rposition(|(s, _)| !seq_after(*s, seq))
            .map_or(0, |i| i + 1);
        if at > 0 && self.frames[at - 1].0 == seq {
            self.stats.late_drops += 1; // a duplicate
            return;
        }
        self.frames.insert(at, (seq, frame));
        if self.frames.len() > MAX_FRAMES {
            while self.frames.len() > self.target {
                self.frames.pop_front();
                self.stats.overflow_drops += 1;
            }
            if let Some(&(s, _)) = self.frames.front() {
                self.next = s;
                self.last_played = Some(s.wrapping_sub(1));
            }
        }
    }

    /// The next 10 ms to play: silence while filling, a concealment for
    /// a missing frame.
    pub fn pop(&mut self) -> Frame {
        if !self.playing {
            if self.frames.len() < self.target {
                return self.concealer.good(&[0; FRAME_SAMPLES]);
            }
            self.playing = true;
            self.next = self.frames[0].0;
            self.reset_window();
        }
        let shrink = self.wants_to_shrink();
        let out = match self.frames.front() {
            Some(&(seq, _)) if seq == self.next => {
                let (_, mut frame) = self.frames.pop_front().expect("front exists");
                if shrink {
                    frame = self.merge_with_next(frame);
                }
                self.dry = 0;
                self.stats.played += 1;
                self.concealer.good(&frame)
            }
            Some(_) => {
                // `next` is missing and a later frame is here: it is lost
                // (or reordered so late that it would be a loss anyway).
                self.dry = 0;
                self.stats.concealed += 1;
                self.concealer.lost()
            }
            None => {
                // Nothing here: conceal and wait for `next`, which is late
                // (the delay grows by one frame). After 100 ms, stop and
                // refill to the target.
                self.stats.underruns += 1;
                self.stats.concealed += 1;
                self.dry += 1;
                let out = self.concealer.lost();
                if self.dry >= DRY_POPS {
                    self.playing = false;
                }
                out
            }
        };
        if self.dry == 0 {
            self.last_played = Some(self.next);
            self.next = self.next.wrapping_add(1);
        }
        self.level = 0.95 * self.level + 0.05 * mean_square(&out);
        out
    }

    /// Whether this pop should play two frames as one: the buffer had
    /// slack (never fewer than two frames) for the whole window and holds
    /// more than the target. Far over the target (after a burst) the
    /// window is 100 ms and any pair will do; one frame over (drift), the
    /// window is 0.5 s and a quiet pair is preferred for up to 2 s.
    fn wants_to_shrink(&mut self) -> bool {
        let depth = self.frames.len();
        self.window_min = self.window_min.min(depth);
        self.window_pops += 1;
        let far_over = depth > self.target + 2;
        let needed = if far_over { BURST_POPS } else { SLACK_POPS };
        if self.window_pops < needed {
            return false;
        }
        if self.window_min < 2 || depth <= self.target {
            self.reset_window();
            self.shrink_waiting = 0;
            return false;
        }
        let consecutive = depth >= 2
            && self.frames[0].0 == self.next
            && self.frames[1].0 == self.next.wrapping_add(1);
        if !consecutive {
            return false;
        }
        let pair = mean_square(&self.frames[0].1).max(mean_square(&self.frames[1].1));
        let quiet = pair <= self.level / 16.0;
        self.shrink_waiting += 1;
        if far_over || quiet || self.shrink_waiting >= QUIET_WAIT_POPS {
            self.reset_window();
            self.shrink_waiting = 0;
            return true;
        }
        false
    }

    /// `first` and the frame after it, cross-faded into one frame.
    fn merge_with_next(&mut self, first: Frame) -> Frame {
        let Some((seq, second)) = self.frames.pop_front() else {
            return first;
        };
        self.next = seq;
        self.stats.shrink_drops += 1;
        let mut out = [0i16; FRAME_SAMPLES];
        for (i, s) in out.iter_mut().enumerate() {
            let w = (i + 1) as f32 / (FRAME_SAMPLES + 1) as f32;
            *s = ((1.0 - w) * f32::from(first[i]) + w * f32::from(second[i])).round() as i16;
        }
        out
    }

    fn reset_window(&mut self) {
        self.window_min = usize::MAX;
        self.window_pops = 0;
    }

    /// Frames waiting now.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// Counters and depth.
    pub fn stats(&self) -> JitterStats {
        JitterStats {
            depth_ms: self.frames.len() as u64 * FRAME_MS,
            ..self.stats
        }
    }
}

fn mean_square(frame: &Frame) -> f32 {
    frame.iter().map(|&s| f32::from(s).powi(2)).sum::<f32>() / FRAME_SAMPLES as f32
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn frame(v: i16) -> Frame {
        [v; FRAME_SAMPLES]
    }

    /// A simulated link: frame `seq` is sent at `seq * 10 ms` and arrives
    /// `delay(seq)` ms later (or never); the playout pops every 10 ms.
    /// Returns the first sample of each played frame.
    fn run(
        buffer: &mut JitterBuffer,
        frames: u32,
        delay: impl Fn(u32) -> Option<u64>,
        pops: usize,
    ) -> Vec<i16> {
        let t0 = Instant::now();
        let mut arrivals: Vec<(u64, u32)> = (0..frames)
            .filter_map(|s| delay(s).map(|d| (u64::from(s) * 10 + d, s)))
            .collect();
        arrivals.sort();
        let mut next = 0;
        let mut played = Vec::new();
        // Time in 1 ms steps; the playout pops at 5 ms past each 10 ms.
        for ms in 0..(pops as u64 * 10) {
            while next < arrivals.len() && arrivals[next].0 <= ms {
                let seq = arrivals[next].1;
                buffer.push(seq, frame(seq as i16 + 1), t0 + Duration::from_millis(ms));
                next += 1;
            }
            if ms % 10 == 5 {
                played.push(buffer.pop()[0]);
            }
        }
        played
    }

    /// A rough, repeatable pseudo-random number in 0..n for `seq`.
    fn hash(seq: u32, n: u64) -> u64 {
        u64::from(seq.wrapping_mul(2_654_435_761) >> 8) % n
    }

    #[test]
    fn fills_to_the_starting_target_then_plays_in_order() {
        let mut j = JitterBuffer::new(30);
        j.push(0, frame(1), Instant::now());
        j.push(1, frame(2), Instant::now());
        assert_eq!(j.pop(), frame(0)); // still filling
        j.push(2, frame(3), Instant::now());
        assert_eq!(j.pop(), frame(1));
        assert_eq!(j.pop(), frame(2));
        assert_eq!(j.pop(), frame(3));
        assert_eq!(j.stats().played, 3);
    }

    #[test]
    fn reorders_and_drops_late_and_duplicates() {
        let mut j = JitterBuffer::new(20);
        let now = Instant::now();
        j.push(1, frame(1), now);
        j.push(0, frame(0), now);
        j.push(1, frame(1), now);
        assert_eq!(j.pop(), frame(0));
        j.push(0, frame(0), now); // already played
        assert_eq!(j.pop(), frame(1));
        assert_eq!(j.stats().late_drops, 2);
    }

    #[test]
    fn a_quiet_lan_settles_at_20_ms() {
        let mut j = JitterBuffer::new(30);
        // 0..2 ms of jitter.
        let played = run(&mut j, 1000, |s| Some(1 + hash(s, 2)), 1000);
        let s = j.stats();
        assert_eq!(s.target_ms, 20, "{s:?}");
        assert!(s.jitter_ms <= 2, "{s:?}");
        assert_eq!(s.concealed, 0, "{s:?}");
        // The delay came down to one or two frames.
        assert!(s.depth_ms <= 20, "{s:?}");
        let tail = &played[900..];
        assert!(tail.windows(2).all(|w| w[1] == w[0] + 1), "{tail:?}");
    }

    #[test]
    fn twenty_ms_of_jitter_raises_the_target_and_plays_every_frame() {
        let mut j = JitterBuffer::new(20);
        let played = run(&mut j, 2000, |s| Some(hash(s, 21)), 2000);
        let s = j.stats();
        assert!((18..=20).contains(&s.jitter_ms), "{s:?}");
        assert_eq!(s.target_ms, 30, "{s:?}");
        // Some concealment while it learns, none once it knows.
        let tail = &played[1000..];
        assert!(
            tail.windows(2).all(|w| w[1] == w[0] + 1 || w[1] == w[0]),
            "{tail:?}"
        );
        assert!(s.concealed < 20, "{s:?}");
        assert!(s.depth_ms <= 50, "{s:?}");
    }

    #[test]
    fn a_lost_frame_is_concealed_not_skipped_or_silent() {
        let mut j = JitterBuffer::new(20);
        let played = run(&mut j, 100, |s| (s != 50).then_some(1), 100);
        // Frame 50 (value 51) is missing; the concealment repeats the
        // constant signal of frame 49 (value 50) instead of silence, and
        // frame 51 (value 52) is cross-faded in from it.
        let at = played
            .iter()
            .position(|&v| v == 50)
            .expect("frame 49 played");
        assert_eq!(&played[at..at + 2], &[50, 50]);
        assert_eq!(played[at + 3], 53);
        assert_eq!(j.stats().concealed, 1);
        assert_eq!(j.stats().underruns, 0);
    }

    /// Frames 300..315 are held back and arrive all at once at 3.15 s.
    fn stall(s: u32) -> Option<u64> {
        Some(if (300..315).contains(&s) {
            150 - (u64::from(s) - 300) * 10
        } else {
            1
        })
    }

    #[test]
    fn after_a_stall_and_a_burst_the_delay_shrinks_back() {
        let mut during = JitterBuffer::new(20);
        run(&mut during, 1000, stall, 316);
        let s = during.stats();
        assert!(s.depth_ms >= 100, "{s:?}");
        assert!(s.underruns >= 1, "{s:?}");
        let mut after = JitterBuffer::new(20);
        // The stall counts in the measured jitter for 2 s, then the delay
        // comes back down.
        let played = run(&mut after, 1000, stall, 800);
        let s = after.stats();
        assert!(s.shrink_drops >= 10, "{s:?}");
        assert!(s.depth_ms <= 30, "{s:?}");
        // In order, one frame skipped where two were merged.
        assert!(played[700..]
            .windows(2)
            .all(|w| w[1] == w[0] + 1 || w[1] == w[0] + 2));
    }

    #[test]
    fn a_slow_sender_is_stretched_and_a_fast_one_merged() {
        // The sender's clock 0.1% slow: 1 ms later every 100 frames.
        let mut slow = JitterBuffer::new(20);
        let played = run(&mut slow, 6000, |s| Some(1 + u64::from(s) / 100), 5990);
        let s = slow.stats();
        assert!((3..=15).contains(&s.underruns), "{s:?}");
        assert!(played[1000..].iter().all(|&v| v != 0), "no silence");
        assert!(s.depth_ms <= 30, "{s:?}");
        // 0.1% fast.
        let mut fast = JitterBuffer::new(20);
        run(
            &mut fast,
            6000,
            |s| Some(100u64.saturating_sub(u64::from(s) / 100)),
            5990,
        );
        let s = fast.stats();
        assert!(s.shrink_drops >= 3, "{s:?}");
        assert!(s.depth_ms <= 30, "{s:?}");
        assert_eq!(s.overflow_drops, 0, "{s:?}");
    }

    /// Ten simulated minutes of a 440 Hz tone from a sender whose clock
    /// runs `ppm` fast (negative: slow), 0..3 ms of jitter. Returns the
    /// depth (ms) averaged over each 10 s and the clicks in each minute.
    fn drift_run(ppm: i64) -> (Vec<f64>, Vec<u32>) {
        let t0 = Instant::now();
        let tone = |n: u64| -> i16 {
            let t = n as f64 / 48_000.0;
            ((std::f64::consts::TAU * 440.0 * t).sin() * 10_000.0) as i16
        };
        let steepest = 10_000.0 * std::f64::consts::TAU * 440.0 / 48_000.0;
        let mut j = JitterBuffer::new(20);
        // Time in µs. Frame `seq` leaves at seq * period and arrives
        // 1..3 ms later; the playout pops every 10 ms by our clock.
        let period_us = 10_000.0 / (1.0 + ppm as f64 * 1e-6);
        let minutes = 10;
        let end_us = minutes * 60 * 1_000_000u64;
        let mut seq = 0u32;
        let mut next_pop = 5_000u64;
        let (mut depths, mut window) = (Vec::new(), (0u64, 0u64));
        let mut clicks = vec![0u32; minutes as usize];
        let mut last = 0i16;
        loop {
            let arrival = (f64::from(seq) * period_us) as u64 + 1_000 + hash(seq, 3) * 1_000;
            if arrival.min(next_pop) >= end_us {
                break;
            }
            if arrival <= next_pop {
                let mut f = [0i16; FRAME_SAMPLES];
                for (i, s) in f.iter_mut().enumerate() {
                    *s = tone(u64::from(seq) * FRAME_SAMPLES as u64 + i as u64);
                }
                j.push(seq, f, t0 + Duration::from_micros(arrival));
                seq += 1;
            } else {
                let out = j.pop();
                let minute = (next_pop / 60_000_000) as usize;
                for &s in &out {
                    if (f64::from(s) - f64::from(last)).abs() > 2.5 * steepest {
                        clicks[minute] += 1;
                    }
                    last = s;
                }
                window.0 += j.depth() as u64 * FRAME_MS;
                window.1 += 1;
                if window.1 == 1000 {
                    depths.push(window.0 as f64 / window.1 as f64);
                    window = (0, 0);
                }
                next_pop += 10_000;
            }
        }
        (depths, clicks)
    }

    #[test]
    fn ten_minutes_of_a_sender_clock_0_1_percent_off_keep_the_delay_and_no_clicks() {
        for ppm in [1000, -1000] {
            let (depths, clicks) = drift_run(ppm);
            // From 10 s on (the buffer has settled), the delay stays
            // within 20 ms of where it started.
            let start = depths[1];
            let worst = depths[1..]
                .iter()
                .map(|d| (d - start).abs())
                .fold(0.0, f64::max);
            eprintln!(
                "{ppm:+} ppm: depth at 10 s {start:.1} ms, moved at most {worst:.1} ms; \
                 clicks a minute {clicks:?}"
            );
            assert!(
                worst <= 20.0,
                "{ppm} ppm: depth moved {worst} ms: {depths:?}"
            );
            assert!(
                clicks.iter().all(|&c| c <= 1),
                "{ppm} ppm: clicks a minute {clicks:?}"
            );
        }
    }

    #[test]
    fn overflow_is_bounded() {
        let mut j = JitterBuffer::new(40);
        let now = Instant::now();
        for s in 0..25 {
            j.push(s, frame(s as i16), now);
        }
        assert!(j.depth() <= MAX_FRAMES);
        assert!(j.stats().overflow_drops > 0);
        assert_eq!(j.pop()[0], j.stats().overflow_drops as i16);
    }
}
