//! One audio source's frames between the socket and the mixer: a small
//! jitter buffer, so that a frame a few milliseconds late still makes its
//! tick and the mixer sends its listeners one frame per 10 ms.
//!
//! A source's frames do not arrive on the server's tick: its sound card,
//! its scheduler, Wi-Fi and the server's own socket move each one by a few
//! milliseconds, sometimes tens. A mixer that simply takes "the frame that
//! has arrived, if any" has no frame of a source whose frame is a moment
//! late; when that is every source of a meeting (one speaker, or several
//! whose frames were held up together), its listeners get no frame that
//! tick, and the late frame goes out a tick behind. So each source keeps
//! one frame in hand:
//!
//! ```text
//!  Silent ──2 frames waiting (or 1 for a whole tick)──> Playing
//!     ^                                                   │ each tick takes the
//!     │                                                   │ oldest; one more waits
//!     └────────── HOLD_TICKS ticks without a frame ───────┘ (the spare)
//! ```
//!
//! - **Primed with a spare.** A source that starts speaking is mixed from
//!   the tick where a second frame waits behind its first (or its first
//!   has waited a whole tick), so from then on a frame up to 10 ms late
//!   finds its predecessor still waiting: the cost is 10 ms of delay.
//! - **Grows by itself.** A frame later than that leaves the source out of
//!   one tick (it contributes nothing, as the protocol says: the server
//!   never makes audio up); when it arrives it waits as a second spare, so
//!   the next such jitter is absorbed too.
//! - **Shrinks back.** When a source had more than its one spare at every
//!   tick for [`SHRINK_AFTER_TICKS`] (a second: the jitter they were for
//!   has not come back), the extra frames are dropped at once, one
//!   discontinuity rather than several, and the delay they added is gone.
//!   A source whose clock runs fast is trimmed the same way.
//! - **Bounded.** At most [`MAX_QUEUED`] frames (50 ms, the protocol's
//!   bound) wait; a burst beyond that drops the oldest.
//!
//! The buffer is driven only by `push` (a frame arrived) and `take` (a
//! tick), so tests run it without a clock.

use std::collections::VecDeque;

use lanmeet_common::audio::Frame;

/// Frames a source may have waiting for the mixer (PROTOCOL.md section 9);
/// a burst beyond this drops the oldest, so a source never adds more than
/// 50 ms of delay.
pub const MAX_QUEUED: usize = 5;

/// Frames waiting at a tick in the steady state: the one taken and the
/// spare behind it.
pub const PRIMED: usize = 2;

/// Ticks in a row without a frame after which a source counts as having
/// stopped (and is primed again when it starts).
pub const HOLD_TICKS: u32 = 5;

/// Ticks a source must have more than its spare at every tick before the
/// extra frames are dropped: one second.
pub const SHRINK_AFTER_TICKS: u32 = 100;

/// What happened to frames other than being mixed, for the counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Ticks where a speaking source had no frame (late or lost).
    pub underruns: u64,
    /// Frames dropped because [`MAX_QUEUED`] were waiting.
    pub overflow: u64,
    /// Extra frames dropped to bring the delay back down.
    pub shrunk: u64,
}

/// Whether the source is being mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not mixed; `waited` ticks have found one frame waiting.
    Silent { waited: u32 },
    /// Mixed; `missed` ticks in a row have found no frame.
    Playing { missed: u32 },
}

/// One source's waiting frames.
pub struct SourceBuffer {
    queue: VecDeque<Frame>,
    state: State,
    /// The fewest frames waiting at a tick since the last shrink check.
    fewest_waiting: usize,
    /// Ticks since the last shrink check.
    ticks_seen: u32,
    /// Since the owner last asked.
    counts: Counts,
}

impl Default for SourceBuffer {
    fn default() -> SourceBuffer {
        SourceBuffer {
            queue: VecDeque::with_capacity(MAX_QUEUED),
            state: State::Silent { waited: 0 },
            fewest_waiting: usize::MAX,
            ticks_seen: 0,
            counts: Counts::default(),
        }
    }
}

impl SourceBuffer {
    /// A frame arrived from the source.
    pub fn push(&mut self, frame: Frame) {
        if self.queue.len() == MAX_QUEUED {
            self.queue.pop_front();
            self.counts.overflow += 1;
        }
        self.queue.push_back(frame);
    }

    /// Forgets everything waiting and goes silent (the source was muted,
    /// or came back on a new connection).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.state = State::Silent { waited: 0 };
        self.reset_shrink_window();
    }

    /// What happened since the last call.
    pub fn take_counts(&mut self) -> Counts {
        std::mem::take(&mut self.counts)
    }

    /// One mixer tick: the frame this source contributes, if any.
    pub fn take(&mut self) -> Option<Frame> {
        match self.state {
            State::Silent { waited } => {
                if self.queue.len() < PRIMED && (self.queue.is_empty() || waited == 0) {
                    let waited = waited + u32::from(!self.queue.is_empty());
                    self.state = State::Silent { waited };
                    return None;
                }
                self.state = State::Playing { missed: 0 };
                self.queue.pop_front()
            }
            State::Playing { missed } => {
                self.note_waiting();
                if let Some(frame) = self.queue.pop_front() {
                    self.state = State::Playing { missed: 0 };
                    return Some(frame);
                }
                self.counts.underruns += 1;
                self.state = if missed + 1 >= HOLD_TICKS {
                    self.reset_shrink_window();
                    State::Silent { waited: 0 }
                } else {
                    State::Playing { missed: missed + 1 }
                };
                None
            }
        }
    }

    /// Records how many frames wait at this tick and, once a second, drops
    /// the extra ones if there always were some.
    fn note_waiting(&mut self) {
        self.fewest_waiting = self.fewest_waiting.min(self.queue.len());
        self.ticks_seen += 1;
        if self.ticks_seen < SHRINK_AFTER_TICKS {
            return;
        }
        let extra = self.fewest_waiting.saturating_sub(PRIMED);
        for _ in 0..extra {
            self.queue.pop_front();
        }
        self.counts.shrunk += extra as u64;
        self.reset_shrink_window();
    }

    fn reset_shrink_window(&mut self) {
        self.fewest_waiting = usize::MAX;
        self.ticks_seen = 0;
    }

    /// Frames waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use lanmeet_common::audio::FRAME_SAMPLES;

    use super::*;

    fn frame(v: i16) -> Frame {
        [v; FRAME_SAMPLES]
    }

    /// The first sample of what a tick took.
    fn tick(b: &mut SourceBuffer) -> Option<i16> {
        b.take().map(|f| f[0])
    }

    #[test]
    fn a_source_starts_once_a_spare_frame_waits() {
        let mut b = SourceBuffer::default();
        assert_eq!(tick(&mut b), None);
        b.push(frame(1));
        assert_eq!(tick(&mut b), None, "held: no spare yet");
        b.push(frame(2));
        assert_eq!(tick(&mut b), Some(1));
        b.push(frame(3));
        assert_eq!(tick(&mut b), Some(2));
        assert_eq!(b.len(), 1, "one spare in hand");
    }

    #[test]
    fn a_lone_frame_goes_out_on_the_second_tick() {
        let mut b = SourceBuffer::default();
        b.push(frame(7));
        assert_eq!(tick(&mut b), None);
        assert_eq!(tick(&mut b), Some(7));
        assert_eq!(tick(&mut b), None);
    }

    #[test]
    fn a_burst_is_mixed_at_once_one_per_tick_newest_five_kept() {
        let mut b = SourceBuffer::default();
        for v in 1..=8 {
            b.push(frame(v));
        }
        assert_eq!(b.len(), MAX_QUEUED);
        let got: Vec<_> = (0..6).map(|_| tick(&mut b)).collect();
        assert_eq!(got, [Some(4), Some(5), Some(6), Some(7), Some(8), None]);
        assert_eq!(b.take_counts().overflow, 3);
    }

    #[test]
    fn a_frame_up_to_a_tick_late_is_absorbed_by_the_spare() {
        let mut b = SourceBuffer::default();
        b.push(frame(0));
        b.push(frame(1));
        let mut next = 2;
        let mut got = Vec::new();
        for t in 0..50 {
            got.push(tick(&mut b));
            // Every tenth frame arrives after the next tick instead of
            // before it.
            if t % 10 == 5 {
                continue;
            }
            let late = t % 10 == 6;
            for _ in 0..if late { 2 } else { 1 } {
                b.push(frame(next));
                next += 1;
            }
        }
        assert_eq!(got, (0..50).map(Some).collect::<Vec<_>>());
        assert_eq!(b.take_counts(), Counts::default());
    }

    #[test]
    fn a_later_frame_costs_one_tick_and_leaves_a_second_spare() {
        let mut b = SourceBuffer::default();
        b.push(frame(0));
        b.push(frame(1));
        assert_eq!(tick(&mut b), Some(0));
        // Frames 2 and 3 are 20 ms late: the spare covers one tick, then
        // the source is out of one.
        assert_eq!(tick(&mut b), Some(1));
        assert_eq!(tick(&mut b), None);
        for v in 2..=4 {
            b.push(frame(v));
        }
        assert_eq!(tick(&mut b), Some(2));
        assert_eq!(b.len(), 2, "two spares now");
        assert_eq!(b.take_counts().underruns, 1);
    }

    #[test]
    fn extra_spares_kept_for_a_second_are_dropped_at_once() {
        let mut b = SourceBuffer::default();
        for v in 0..4 {
            b.push(frame(v));
        }
        let mut waiting = Vec::new();
        for next in 4..4 + SHRINK_AFTER_TICKS as i16 + 5 {
            waiting.push(b.len());
            assert!(tick(&mut b).is_some());
            b.push(frame(next));
        }
        assert_eq!(b.take_counts().shrunk, 2);
        assert_eq!(waiting[1..SHRINK_AFTER_TICKS as usize], [4; 99]);
        assert_eq!(*waiting.last().unwrap(), PRIMED);
    }

    #[test]
    fn a_source_that_stops_is_primed_again_when_it_starts() {
        let mut b = SourceBuffer::default();
        b.push(frame(0));
        b.push(frame(1));
        assert_eq!(tick(&mut b), Some(0));
        assert_eq!(tick(&mut b), Some(1));
        for _ in 0..HOLD_TICKS {
            assert_eq!(tick(&mut b), None);
        }
        b.push(frame(9));
        assert_eq!(tick(&mut b), None, "primed again");
        b.push(frame(10));
        assert_eq!(tick(&mut b), Some(9));
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
