//! What the playout thread and the audio sender share for voice
//! processing: the frames just played (the echo canceller's reference)
//! and the two switches.
//!
//! ```text
//!  [playout]       play_frame --> sink, and push_played(frame) --+
//!                                                                |  at most 0.5 s kept
//!  [audio sender]  every 10 ms: drain played frames --> VoiceProcessor::far_end
//!                               switches changed?   --> VoiceProcessor::set
//!                               microphone frame    --> VoiceProcessor::process
//! ```
//!
//! The two threads run at the same 10 ms pace from different clocks, so
//! the reference arrives in small bursts; the echo canceller buffers it
//! and finds the delay itself. A sender that is not running (no
//! microphone) leaves the queue full, and the oldest frames go.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use lanmeet_common::audio::Frame;

use super::stop::lock;
use crate::media::{VoiceProcessor, VoiceSettings};

/// Played frames kept for the sender: 0.5 s.
const MAX_PLAYED: usize = 50;

/// The far-end reference and the switches, shared by the playout and the
/// audio sender.
pub(crate) struct VoicePath {
    played: Mutex<VecDeque<Frame>>,
    echo_cancel: AtomicBool,
    noise_suppression: AtomicBool,
}

impl VoicePath {
    pub(crate) fn new(settings: VoiceSettings) -> VoicePath {
        VoicePath {
            played: Mutex::new(VecDeque::with_capacity(MAX_PLAYED)),
            echo_cancel: AtomicBool::new(settings.echo_cancel),
            noise_suppression: AtomicBool::new(settings.noise_suppression),
        }
    }

    /// What should run now.
    pub(crate) fn settings(&self) -> VoiceSettings {
        VoiceSettings {
            echo_cancel: self.echo_cancel.load(Ordering::Acquire),
            noise_suppression: self.noise_suppression.load(Ordering::Acquire),
        }
    }

    /// Switches from the sender's next frame on.
    pub(crate) fn set(&self, settings: VoiceSettings) {
        self.echo_cancel
            .store(settings.echo_cancel, Ordering::Release);
        self.noise_suppression
            .store(settings.noise_suppression, Ordering::Release);
    }

    /// The playout just played `frame`.
    pub(crate) fn push_played(&self, frame: &Frame) {
        let mut played = lock(&self.played);
        if played.len() == MAX_PLAYED {
            played.pop_front();
        }
        played.push_back(*frame);
    }

    /// Forgets what was played (a sender starting afresh).
    pub(crate) fn clear(&self) {
        lock(&self.played).clear();
    }

    /// Brings `voice` up to date: the switches, then every frame played
    /// since the last call as the reference.
    pub(crate) fn feed(&self, voice: &mut VoiceProcessor) -> Result<(), crate::media::MediaError> {
        let wanted = self.settings();
        if voice.settings() != wanted {
            voice.set(wanted)?;
        }
        // Taken out under the lock, processed after it: the playout never
        // waits for the echo canceller.
        let played: Vec<Frame> = lock(&self.played).drain(..).collect();
        for frame in &played {
            voice.far_end(frame);
        }
        Ok(())
    }
}
