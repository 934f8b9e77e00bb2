//! The audio jitter buffer: a small reordering queue between the network
//! and the playout.
//!
//! ```text
//!  'A' mix datagrams (uneven arrival)        playout, one frame per 10 ms
//!   push(seq, frame) --> [ 3 | 4 | 6 | 7 ] --> pop() --> AudioSink
//!                         target depth 20..40 ms
//! ```
//!
//! It waits until it holds `target` frames before it starts playing, plays
//! silence when it runs dry (and waits to refill), drops a frame that comes
//! after a later one was played (and duplicates), and drops the oldest
//! frames when it holds far more than `target` (the sender's clock runs
//! faster than ours, or a burst came in late). It does no I/O and reads no
//! clock: the playout asks for a frame every 10 ms, so a test plays ten
//! seconds of it in a loop.

use std::collections::VecDeque;

use lanmeet_common::audio::{Frame, FRAME_MS, FRAME_SAMPLES};
use serde::Serialize;

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
}
