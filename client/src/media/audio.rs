//! Sound: the source and sink traits, the sending pipeline's encoder, and
//! a tone generator that needs no microphone.
//!
//! ```text
//!  send (the shell runs it on a thread, one frame per 10 ms from a Pacer):
//!    AudioSource::read_frame --> (muted or talk key up? read, not sent)
//!      --> 'A' seq | 480 samples --> send
//!
//!  playout (a thread, one frame per 10 ms):
//!    ClientCore::play_frame (the jitter buffer) --> AudioSink::write_frame
//! ```
//!
//! A frame is read even when it is not sent: a real microphone keeps
//! delivering sound whether or not we use it, and a file source keeps its
//! place in time.

use std::f64::consts::TAU;

use lanmeet_common::audio::{build_datagram, Frame, FRAME_SAMPLES, SAMPLE_RATE};

use super::error::MediaError;

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

/// What one 10 ms step of the sending pipeline gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioStep {
    /// Send this `'A'` datagram.
    Send(Vec<u8>),
    /// A frame was read but must not be sent (muted, talk key up).
    Quiet,
    /// The source has ended: stop.
    Ended,
}

/// The sending pipeline, one frame at a time: numbers the frames we send
/// (from 0 for each encoder) and builds their datagrams.
pub struct AudioEncoder {
    client_id: String,
    seq: u32,
    frame: Frame,
}

impl AudioEncoder {
    /// An encoder for our id.
    pub fn new(client_id: &str) -> AudioEncoder {
        AudioEncoder {
            client_id: client_id.to_string(),
            seq: 0,
            frame: [0; FRAME_SAMPLES],
        }
    }

    /// Reads the source's next frame and says what to do with it.
    pub fn step(
        &mut self,
        source: &mut dyn AudioSource,
        muted: bool,
    ) -> Result<AudioStep, MediaError> {
        if !source.read_frame(&mut self.frame)? {
            return Ok(AudioStep::Ended);
        }
        if muted || !source.may_send() {
            return Ok(AudioStep::Quiet);
        }
        let datagram = build_datagram(&self.client_id, self.seq, &self.frame);
        self.seq = self.seq.wrapping_add(1);
        Ok(AudioStep::Send(datagram))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanmeet_common::audio::parse_body;
    use lanmeet_common::udp;

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

    #[test]
    fn encoder_numbers_only_frames_it_sends() {
        let mut enc = AudioEncoder::new("c1");
        let mut tone = ToneSource::new(440.0);
        let seq_of = |step: AudioStep| match step {
            AudioStep::Send(d) => {
                let d = udp::parse(&d).unwrap();
                assert_eq!(d.client_id, "c1");
                parse_body(d.body).unwrap().0
            }
            other => panic!("expected a datagram, got {other:?}"),
        };
        assert_eq!(seq_of(enc.step(&mut tone, false).unwrap()), 0);
        assert_eq!(enc.step(&mut tone, true).unwrap(), AudioStep::Quiet);
        assert_eq!(seq_of(enc.step(&mut tone, false).unwrap()), 1);
    }
}
