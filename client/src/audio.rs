//! Microphone audio out, the server's mix in.
//!
//! ```text
//!  send (one thread, one frame per 10 ms, paced from a start Instant):
//!    AudioSource::read_frame --> (muted? skip) --> 'A' seq|480 samples --> UDP
//!
//!  receive:
//!    UDP reader --'A' from the server--> JitterBuffer (20-40 ms)
//!    playout thread, every 10 ms --> JitterBuffer::pop --> AudioSink
//! ```
//!
//! Both threads schedule frame `n` at `start + n x 10 ms` instead of
//! sleeping 10 ms in a loop: sleeps always overshoot a little, and 100
//! overshoots a second add up to an audible drift. If the thread falls
//! far behind (the machine stalled) it restarts its clock rather than
//! sending a burst.
//!
//! The jitter buffer absorbs the uneven arrival of datagrams. It waits until
//! it holds `target` frames before it starts playing, plays silence when it
//! runs dry (and waits to refill), and drops the oldest frames when it holds
//! far more than `target` (the sender's clock runs faster than ours).

use std::collections::VecDeque;
use std::f64::consts::TAU;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lanmeet_common::audio::{build_datagram, Frame, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE};
use serde::Serialize;

use crate::error::MediaError;
use crate::session::UdpLink;
use crate::stop::{lock, StopSignal};

/// Where microphone sound comes from: 10 ms frames of 48 kHz mono.
pub trait AudioSource: Send {
    /// Fills `out` with the next 480 samples. `Ok(false)` means the source
    /// has ended (a file played out) and the sender stops.
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool, MediaError>;

    /// Whether the frame just read may be sent. A push-to-talk gate says
    /// `false` while the talk key is up: the frame is still read (a real
    /// microphone keeps delivering sound), only not sent.
    fn may_send(&self) -> bool {
        true
    }
}

/// Where the meeting's sound goes: 10 ms frames of 48 kHz mono.
pub trait AudioSink: Send {
    /// Plays (or records) one frame.
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError>;
    /// Called once when playback stops (close a file, drain a device).
    fn finish(&mut self) -> Result<(), MediaError> {
        Ok(())
    }
}

/// A sine tone: a synthetic microphone whose pitch tells who is speaking.
pub struct ToneSource {
    frequency: f64,
    amplitude: f64,
    phase: f64,
}

impl ToneSource {
    /// A tone at `frequency` Hz, at a third of full scale (so that a mix
    /// of a few tones does not clip).
    pub fn new(frequency: f64) -> ToneSource {
        ToneSource {
            frequency,
            amplitude: f64::from(i16::MAX) / 3.0,
            phase: 0.0,
        }
    }

    /// A frequency between 300 and 1250 Hz picked from a name, so that
    /// every client of a test meeting sounds different.
    pub fn frequency_for(name: &str) -> f64 {
        let hash = name.bytes().fold(2166136261u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(16777619)
        });
        300.0 + f64::from(hash % 20) * 50.0
    }
}

impl AudioSource for ToneSource {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool, MediaError> {
        let step = TAU * self.frequency / f64::from(SAMPLE_RATE);
        for s in out.iter_mut() {
            *s = (self.phase.sin() * self.amplitude) as i16;
            self.phase = (self.phase + step) % TAU;
        }
        Ok(true)
    }
}

/// Sends one frame per 10 ms from `source` until `stop` or its end: the
/// audio sender thread. Frames are read but not sent while `muted`, as a
/// real microphone keeps delivering sound whether or not we use it.
pub(crate) fn run_sender(
    mut source: Box<dyn AudioSource>,
    link: UdpLink,
    muted: Arc<AtomicBool>,
    stop: StopSignal,
    sent: Arc<AtomicU64>,
    warn: impl Fn(String),
) {
    let period = Duration::from_millis(FRAME_MS);
    let mut start = Instant::now();
    let mut n: u32 = 0;
    let mut seq: u32 = 0;
    let mut frame = [0i16; FRAME_SAMPLES];
    loop {
        let due = start + period * n;
        if stop.wait_until(due) {
            return;
        }
        n += 1;
        if Instant::now() > due + period * 10 {
            start = Instant::now();
            n = 1;
        }
        match source.read_frame(&mut frame) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                warn(format!("microphone stopped: {e}"));
                return;
            }
        }
        if muted.load(Ordering::Acquire) || !source.may_send() {
            continue;
        }
        let datagram = build_datagram(&link.client_id, seq, &frame);
        if link.socket.send(&datagram).is_ok() {
            sent.fetch_add(1, Ordering::Relaxed);
        }
        seq = seq.wrapping_add(1);
    }
}

/// Numbers a UI can show about incoming audio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JitterStats {
    /// Frames waiting now, in ms.
    pub depth_ms: u64,
    /// The depth the buffer fills to before playing, in ms.
    pub target_ms: u64,
    /// Frames received.
    pub received: u64,
    /// Frames played.
    pub played: u64,
    /// Times the buffer ran dry while playing (silence was played).
    pub underruns: u64,
    /// Frames dropped because the buffer held too many.
    pub overflow_drops: u64,
    /// Frames dropped because they came after later ones were played.
    pub late_drops: u64,
}

/// Whether sequence number `a` comes after `b` (wrapping).
fn seq_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

/// A small reordering buffer between the network and the sink.
pub struct JitterBuffer {
    frames: VecDeque<(u32, Frame)>,
    target: usize,
    max: usize,
    playing: bool,
    last_played: Option<u32>,
    stats: JitterStats,
}

/// Default depth the jitter buffer fills to, in ms.
pub const DEFAULT_JITTER_MS: u64 = 30;

impl JitterBuffer {
    /// A buffer that fills to `target_ms` (clamped to 20..=40 ms) and
    /// holds at most 60 ms more than that.
    pub fn new(target_ms: u64) -> JitterBuffer {
        let target = (target_ms.clamp(20, 40) / FRAME_MS) as usize;
        JitterBuffer {
            frames: VecDeque::new(),
            target,
            max: target + 6,
            playing: false,
            last_played: None,
            stats: JitterStats {
                target_ms: target as u64 * FRAME_MS,
                ..JitterStats::default()
            },
        }
    }

    /// Adds a frame from the network.
    pub fn push(&mut self, seq: u32, frame: Frame) {
        self.stats.received += 1;
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
        if self.frames.len() > self.max {
            while self.frames.len() > self.target {
                self.frames.pop_front();
                self.stats.overflow_drops += 1;
            }
        }
    }

    /// The next frame to play: silence while filling or when dry.
    pub fn pop(&mut self) -> Frame {
        if !self.playing {
            if self.frames.len() < self.target {
                return [0; FRAME_SAMPLES];
            }
            self.playing = true;
        }
        match self.frames.pop_front() {
            Some((seq, frame)) => {
                self.last_played = Some(seq);
                self.stats.played += 1;
                frame
            }
            None => {
                self.playing = false;
                self.stats.underruns += 1;
                [0; FRAME_SAMPLES]
            }
        }
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

/// Plays the jitter buffer into `sink` every 10 ms until `stop`: the
/// playout thread. Finishes the sink before returning.
pub(crate) fn run_playout(
    mut sink: Box<dyn AudioSink>,
    jitter: Arc<Mutex<JitterBuffer>>,
    stop: StopSignal,
    warn: impl Fn(String),
) {
    let period = Duration::from_millis(FRAME_MS);
    let mut start = Instant::now();
    let mut n: u32 = 0;
    loop {
        let due = start + period * n;
        if stop.wait_until(due) {
            break;
        }
        n += 1;
        if Instant::now() > due + period * 10 {
            start = Instant::now();
            n = 1;
        }
        let frame = lock(&jitter).pop();
        if let Err(e) = sink.write_frame(&frame) {
            warn(format!("audio output stopped: {e}"));
            break;
        }
    }
    if let Err(e) = sink.finish() {
        warn(format!("audio output did not close cleanly: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: i16) -> Frame {
        [v; FRAME_SAMPLES]
    }

    #[test]
    fn fills_before_playing_and_plays_silence_when_dry() {
        let mut j = JitterBuffer::new(30);
        j.push(0, frame(1));
        j.push(1, frame(2));
        assert_eq!(j.pop(), frame(0)); // still filling
        j.push(2, frame(3));
        assert_eq!(j.pop(), frame(1));
        assert_eq!(j.pop(), frame(2));
        assert_eq!(j.pop(), frame(3));
        assert_eq!(j.pop(), frame(0));
        assert_eq!(j.stats().underruns, 1);
        assert_eq!(j.stats().played, 3);
    }

    #[test]
    fn reorders_and_drops_late_and_duplicates() {
        let mut j = JitterBuffer::new(20);
        j.push(1, frame(1));
        j.push(0, frame(0));
        j.push(1, frame(1));
        assert_eq!(j.pop(), frame(0));
        j.push(0, frame(0)); // already played
        assert_eq!(j.pop(), frame(1));
        assert_eq!(j.stats().late_drops, 2);
    }

    #[test]
    fn overflow_drops_back_to_target() {
        let mut j = JitterBuffer::new(40);
        for s in 0..11 {
            j.push(s, frame(s as i16));
        }
        assert_eq!(j.depth(), 4);
        assert_eq!(j.stats().overflow_drops, 7);
        assert_eq!(j.stats().depth_ms, 40);
        assert_eq!(j.pop(), frame(7));
    }

    #[test]
    fn tone_is_periodic() {
        let mut t = ToneSource::new(1000.0);
        let mut f = [0i16; FRAME_SAMPLES];
        t.read_frame(&mut f).unwrap();
        // 1 kHz at 48 kHz: 48 samples per period.
        assert!((i32::from(f[0]) - i32::from(f[48])).abs() < 3);
        assert!(f[12] > 10_000);
        let a = ToneSource::frequency_for("alice");
        assert!((300.0..=1250.0).contains(&a));
    }
}
