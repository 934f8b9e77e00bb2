//! One audio source's frames between the socket and the mixer: a small
//! jitter buffer, so that the mixer sends every listener exactly one frame
//! per 10 ms tick while anyone speaks.
//!
//! A source's frames do not arrive on the server's tick: its sound card,
//! its scheduler, Wi-Fi and the server's own socket (when the server is not
//! scheduled, the kernel holds or drops what arrives) move each one by a
//! few milliseconds, sometimes tens. A mixer that simply took "the frame
//! that has arrived, if any" sent nothing on a tick where every source's
//! frame was a little late, and its listeners heard a hole, then got the
//! late frames one tick behind. So each source is a buffer with a state:
//!
//! ```text
//!  Silent ──frame arrives──> Playing: each tick takes the oldest frame
//!     ^                        │  queue empty at a tick (frame late/lost):
//!     │                        │    repeat the last frame at half the gain
//!     │                        │    of the one before (concealment)
//!     └── HOLD_TICKS ticks ────┘  still empty after HOLD_TICKS: Silent
//!         without a frame
//! ```
//!
//! - **Concealed, not skipped.** A late or lost frame becomes its source's
//!   previous frame, halved each tick (-6 dB, -12 dB, ... -36 dB after
//!   60 ms, inaudible): the mix still goes out on time, the other voices
//!   in it are not cut, and a voice fades instead of clicking to silence.
//! - **Grows by itself.** A late frame that arrives after its tick stays
//!   queued, so the source now has one frame in hand: the next jitter of
//!   up to 10 ms is absorbed. A source starts with no added delay (its
//!   first frame is mixed on the next tick) and gains depth only when it
//!   needed it.
//! - **Shrinks back.** When a source kept at least one spare frame at
//!   every tick for [`SHRINK_AFTER_TICKS`] (a second: the jitter it once
//!   needed them for has not come back), the spare frames are dropped at
//!   once, one discontinuity rather than several, and the delay they added
//!   is gone. A source whose clock runs fast is trimmed the same way.
//! - **Bounded.** At most [`MAX_QUEUED`] frames (50 ms) wait; a burst
//!   beyond that drops the oldest.
//!
//! Everything is counted per tick, not timed: the buffer is driven only by
//! `push` (a frame arrived) and `take` (a tick), so tests run it without a
//! clock.

use std::collections::VecDeque;

use lanmeet_common::audio::{Frame, FRAME_SAMPLES};

/// Frames a source may have waiting for the mixer; a burst beyond this
/// drops the oldest, so a source never adds more than 50 ms of delay.
pub const MAX_QUEUED: usize = 5;

/// Ticks a source is concealed without a frame before it counts as silent
/// (and its listeners' mixes stop, if nobody else speaks): 60 ms, by which
/// time the repeated frame has faded to -36 dB.
pub const HOLD_TICKS: u32 = 6;

/// Ticks a source must keep a spare frame at every tick before its spare
/// frames are dropped: one second.
pub const SHRINK_AFTER_TICKS: u32 = 100;

/// What a tick took from a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Took {
    /// A frame that arrived.
    Fresh,
    /// A stand-in for a late or lost frame.
    Concealed,
}

/// What happened to frames other than by being mixed, for the counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Dropped because [`MAX_QUEUED`] were waiting.
    pub overflow: u64,
    /// Spare frames dropped to bring the delay back down.
    pub shrunk: u64,
}

/// Whether the source is being mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not heard: ticks take nothing.
    Silent,
    /// Heard; `missed` ticks in a row have found no frame.
    Playing { missed: u32 },
}

/// One source's waiting frames and what the mixer last took from it.
pub struct SourceBuffer {
    queue: VecDeque<Frame>,
    state: State,
    /// The frame last taken (fresh or concealed): what a late frame is
    /// replaced with, at half its gain.
    last: Frame,
    /// The fewest frames waiting at a tick since the last shrink check.
    fewest_waiting: usize,
    /// Ticks since the last shrink check.
    ticks_seen: u32,
    /// Frames dropped since the owner last asked.
    dropped: Dropped,
}

impl Default for SourceBuffer {
    fn default() -> SourceBuffer {
        SourceBuffer {
            queue: VecDeque::with_capacity(MAX_QUEUED),
            state: State::Silent,
            last: [0; FRAME_SAMPLES],
            fewest_waiting: usize::MAX,
            ticks_seen: 0,
            dropped: Dropped::default(),
        }
    }
}

impl SourceBuffer {
    /// A frame arrived from the source.
    pub fn push(&mut self, frame: Frame) {
        if self.queue.len() == MAX_QUEUED {
            self.queue.pop_front();
            self.dropped.overflow += 1;
        }
        self.queue.push_back(frame);
    }

    /// Forgets everything waiting and goes silent (the source was muted,
    /// or came back on a new connection).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.state = State::Silent;
        self.reset_shrink_window();
    }

    /// Frames waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.queue.len()
    }

    /// Frames dropped since the last call (not mixed: overflow, shrink).
    pub fn take_dropped(&mut self) -> Dropped {
        std::mem::take(&mut self.dropped)
    }

    /// One mixer tick: the frame this source contributes, and whether it
    /// arrived or stands in for one that did not; `None` while the source
    /// is silent.
    pub fn take(&mut self) -> Option<(&Frame, Took)> {
        self.note_waiting();
        if let Some(frame) = self.queue.pop_front() {
            self.state = State::Playing { missed: 0 };
            self.last = frame;
            return Some((&self.last, Took::Fresh));
        }
        let State::Playing { missed } = self.state else {
            return None;
        };
        let missed = missed + 1;
        if missed > HOLD_TICKS {
            self.state = State::Silent;
            self.reset_shrink_window();
            return None;
        }
        self.state = State::Playing { missed };
        // Half the gain of the frame before: an arithmetic shift rounds
        // toward minus infinity, which at these levels is inaudible.
        for s in &mut self.last {
            *s >>= 1;
        }
        Some((&self.last, Took::Concealed))
    }

    /// Records how many frames wait at this tick and, once a second, drops
    /// the spare ones if there always were some.
    fn note_waiting(&mut self) {
        if self.state == State::Silent {
            return; // a source starting to speak is not trimmed
        }
        self.fewest_waiting = self.fewest_waiting.min(self.queue.len());
        self.ticks_seen += 1;
        if self.ticks_seen < SHRINK_AFTER_TICKS {
            return;
        }
        // One frame waiting at each tick is the normal case (it arrived
        // during the last 10 ms); more were spare every time.
        let spare = self.fewest_waiting.saturating_sub(1);
        for _ in 0..spare {
            self.queue.pop_front();
        }
        self.dropped.shrunk += spare as u64;
        self.reset_shrink_window();
    }

    fn reset_shrink_window(&mut self) {
        self.fewest_waiting = usize::MAX;
        self.ticks_seen = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: i16) -> Frame {
        [v; FRAME_SAMPLES]
    }

    /// The first sample of what a tick took, and how.
    fn tick(b: &mut SourceBuffer) -> Option<(i16, Took)> {
        b.take().map(|(f, how)| (f[0], how))
    }

    #[test]
    fn silent_until_a_frame_arrives_then_mixed_on_the_next_tick() {
        let mut b = SourceBuffer::default();
        assert_eq!(tick(&mut b), None);
        b.push(frame(100));
        assert_eq!(tick(&mut b), Some((100, Took::Fresh)));
    }

    #[test]
    fn a_late_frame_is_concealed_and_then_absorbs_the_next_jitter() {
        let mut b = SourceBuffer::default();
        b.push(frame(1000));
        assert_eq!(tick(&mut b), Some((1000, Took::Fresh)));
        // Frame 2 misses its tick: the last one, halved, stands in.
        assert_eq!(tick(&mut b), Some((500, Took::Concealed)));
        // Frames 2 and 3 arrive; from now on one is always in hand.
        b.push(frame(2));
        b.push(frame(3));
        assert_eq!(tick(&mut b), Some((2, Took::Fresh)));
        // Frame 4 is late again, but frame 3 was waiting: no hole.
        assert_eq!(tick(&mut b), Some((3, Took::Fresh)));
        b.push(frame(4));
        assert_eq!(tick(&mut b), Some((4, Took::Fresh)));
        assert_eq!(b.take_dropped(), Dropped::default());
    }

    #[test]
    fn a_source_that_stops_fades_for_60_ms_then_goes_silent() {
        let mut b = SourceBuffer::default();
        b.push(frame(6400));
        assert_eq!(tick(&mut b), Some((6400, Took::Fresh)));
        let faded: Vec<_> = (0..HOLD_TICKS).map(|_| tick(&mut b)).collect();
        assert_eq!(
            faded,
            [3200, 1600, 800, 400, 200, 100].map(|v| Some((v, Took::Concealed)))
        );
        assert_eq!(tick(&mut b), None);
        assert_eq!(tick(&mut b), None);
        // Speaking again: mixed at once.
        b.push(frame(7));
        assert_eq!(tick(&mut b), Some((7, Took::Fresh)));
    }

    #[test]
    fn a_burst_keeps_the_newest_five() {
        let mut b = SourceBuffer::default();
        for v in 1..=8 {
            b.push(frame(v));
        }
        assert_eq!(b.len(), MAX_QUEUED);
        let got: Vec<_> = (0..5).map(|_| tick(&mut b).map(|t| t.0)).collect();
        assert_eq!(got, [4, 5, 6, 7, 8].map(Some));
        assert_eq!(b.take_dropped().overflow, 3);
    }

    #[test]
    fn spare_frames_kept_for_a_second_are_dropped_at_once() {
        let mut b = SourceBuffer::default();
        // A burst left three frames in hand, then the source runs steadily:
        // each tick finds the new frame plus the two spares.
        let mut next = 0;
        for _ in 0..3 {
            b.push(frame(next));
            next += 1;
        }
        let mut waiting_before = Vec::new();
        for _ in 0..SHRINK_AFTER_TICKS + 5 {
            waiting_before.push(b.len());
            assert!(matches!(tick(&mut b), Some((_, Took::Fresh))));
            b.push(frame(next));
            next += 1;
        }
        assert_eq!(b.take_dropped().shrunk, 2);
        // After the trim, one frame waits at each tick: no delay added.
        assert_eq!(waiting_before[..SHRINK_AFTER_TICKS as usize - 1], [3; 99]);
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn a_spare_frame_that_was_needed_is_kept() {
        let mut b = SourceBuffer::default();
        b.push(frame(0));
        b.push(frame(1));
        let mut next = 2;
        for t in 0..SHRINK_AFTER_TICKS * 3 {
            assert!(matches!(tick(&mut b), Some((_, Took::Fresh))));
            // Every 50 ticks a frame is 15 ms late: it arrives after the
            // next tick, which the spare frame covers.
            if t % 50 != 0 {
                b.push(frame(next));
                next += 1;
            } else {
                assert!(matches!(tick(&mut b), Some((_, Took::Fresh))));
                b.push(frame(next));
                b.push(frame(next + 1));
                next += 2;
            }
        }
        assert_eq!(b.take_dropped(), Dropped::default());
    }

    #[test]
    fn clear_forgets_and_silences() {
        let mut b = SourceBuffer::default();
        b.push(frame(1));
        b.push(frame(2));
        b.clear();
        assert_eq!(b.len(), 0);
        assert_eq!(tick(&mut b), None);
    }
}
