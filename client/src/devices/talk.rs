//! Push-to-talk: a gate in front of any [`AudioSource`].
//!
//! ```text
//!  microphone --> PushToTalk gate --> audio sender --> UDP
//!                   | on and key up: frame read, not sent
//!  UI: set_enabled(true) ... talk(true) while the key is held ... talk(false)
//! ```
//!
//! People who share a room, or use loudspeakers, hear each other twice:
//! once in the room and once, a moment later, through the meeting. The
//! server's N-1 mix keeps your own voice out of what you hear, but not
//! your neighbour's voice that your microphone picked up. Headsets solve
//! it; push-to-talk keeps every microphone but the speaker's silent.
//!
//! The gate is a pair of atomic flags shared by every clone: the UI thread
//! flips them, the audio sender thread reads them once per 10 ms frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lanmeet_common::audio::Frame;

use crate::media::{AudioSource, MediaError};

/// The push-to-talk switch and key, shared between the UI and the gate.
#[derive(Clone, Default, Debug)]
pub struct PushToTalk {
    enabled: Arc<AtomicBool>,
    pressed: Arc<AtomicBool>,
}

impl PushToTalk {
    /// A switch that starts off (audio flows as usual).
    pub fn new() -> PushToTalk {
        PushToTalk::default()
    }

    /// Turns push-to-talk on or off. Turning it on also releases the key.
    pub fn set_enabled(&self, on: bool) {
        self.pressed.store(false, Ordering::Release);
        self.enabled.store(on, Ordering::Release);
    }

    /// Whether push-to-talk is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// The talk key went down (`true`) or up (`false`).
    pub fn talk(&self, pressed: bool) {
        self.pressed.store(pressed, Ordering::Release);
    }

    /// Whether audio may be sent now.
    pub fn open(&self) -> bool {
        !self.is_enabled() || self.pressed.load(Ordering::Acquire)
    }

    /// Puts this gate in front of `source`.
    pub fn gate(&self, source: Box<dyn AudioSource>) -> Box<dyn AudioSource> {
        Box::new(Gated {
            source,
            ptt: self.clone(),
        })
    }
}

/// A source behind a push-to-talk gate.
struct Gated {
    source: Box<dyn AudioSource>,
    ptt: PushToTalk,
}

impl AudioSource for Gated {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool, MediaError> {
        self.source.read_frame(out)
    }

    fn may_send(&self) -> bool {
        self.ptt.open() && self.source.may_send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::ToneSource;

    #[test]
    fn gate_follows_the_key_only_when_enabled() {
        let ptt = PushToTalk::new();
        let mut src = ptt.gate(Box::new(ToneSource::new(440.0)));
        let mut f = [0i16; lanmeet_common::audio::FRAME_SAMPLES];
        assert!(src.read_frame(&mut f).unwrap());
        assert!(src.may_send());
        ptt.set_enabled(true);
        assert!(!src.may_send());
        ptt.talk(true);
        assert!(src.may_send());
        ptt.talk(false);
        assert!(!src.may_send());
        ptt.talk(true);
        ptt.set_enabled(false);
        assert!(src.may_send());
        ptt.set_enabled(true);
        assert!(!src.may_send(), "enabling releases the key");
    }
}
