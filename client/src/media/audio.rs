//! Sound: the source and sink traits, the sending pipeline's encoder, and
//! a tone generator that needs no microphone.
//!
//! ```text
//!  send (the shell runs it on a thread, one frame per 10 ms from a Pacer):
//!    AudioSource::read_frame --> VoiceProcessor::process (voice.rs: echo, noise)
//!      --> (muted or talk key up? read, not sent) --> 'A' seq | 480 samples --> send
//!
//!  playout (a thread, one frame per 10 ms):
//!    ClientCore::play_frame (the jitter buffer) --> AudioSink::write_frame
//!                                               --> VoiceProcessor::far_end
//! ```
//!
//! A frame is read even when it is not sent: a real microphone keeps
//! delivering sound whether or not we use it, and a file source keeps its
//! place in time.

use std::f64::consts::TAU;

use lanmeet_common::audio::{build_datagram, Frame, FRAME_SAMPLES, SAMPLE_RATE};

use super::error::MediaError;
use super::voice::VoiceProcessor;

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

/// A synthetic talker: voiced "syllables" (a glottal pulse train at a
/// gliding pitch of about 100-250 Hz, shaped by three moving formants),
/// a few hiss-like consonants, and pauses between words. It is not
/// speech, but it has speech's spectrum, rhythm and pauses, which is what
/// echo cancellers and noise suppressors key on; tests and benches use it
/// where a recording would otherwise be needed. The same seed gives the
/// same sound.
pub struct SpeechLike {
    rng: u64,
    /// Samples produced.
    t: u64,
    /// Pitch in Hz and where the glottal cycle is (0..1).
    pitch: f32,
    phase: f32,
    /// Relative pitch change per sample in this syllable.
    glide: f32,
    /// This glottal cycle's length relative to the pitch (jitter).
    cycle: f32,
    /// Samples left in the current segment and what it is.
    left: u32,
    segment: Segment,
    /// Formant centres (Hz) for this syllable.
    formants: [f32; 3],
    /// Two-pole resonator states, one per formant.
    resonators: [(f32, f32); 3],
    level: f32,
}

#[derive(Clone, Copy, PartialEq)]
enum Segment {
    Voiced,
    Hiss,
    Pause,
}

impl SpeechLike {
    /// A talker whose sound follows from `seed`, at about a sixth of full
    /// scale while talking.
    pub fn new(seed: u64) -> SpeechLike {
        let mut s = SpeechLike {
            rng: seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                | 1,
            t: 0,
            pitch: 150.0,
            phase: 0.0,
            glide: 0.0,
            cycle: 1.0,
            left: 0,
            segment: Segment::Pause,
            formants: [500.0, 1500.0, 2500.0],
            resonators: [(0.0, 0.0); 3],
            level: 0.0,
        };
        s.pitch = 100.0 + 150.0 * s.uniform();
        s
    }

    /// A number in 0..1.
    fn uniform(&mut self) -> f32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 40) as f32 / (1u64 << 24) as f32
    }

    fn next_segment(&mut self) {
        let r = self.uniform();
        let ms = |lo: f32, hi: f32, u: f32| ((lo + (hi - lo) * u) * 48.0) as u32;
        (self.segment, self.left) = match self.segment {
            Segment::Voiced if r < 0.25 => (Segment::Pause, ms(60.0, 300.0, self.uniform())),
            Segment::Voiced if r < 0.45 => (Segment::Hiss, ms(30.0, 90.0, self.uniform())),
            _ => (Segment::Voiced, ms(80.0, 250.0, self.uniform())),
        };
        if self.segment == Segment::Voiced {
            self.formants = [
                300.0 + 500.0 * self.uniform(),
                900.0 + 1300.0 * self.uniform(),
                2200.0 + 800.0 * self.uniform(),
            ];
            self.pitch = (self.pitch * (0.85 + 0.3 * self.uniform())).clamp(90.0, 260.0);
            // Up or down by as much as a third over the syllable.
            self.glide = (self.uniform() - 0.5) * 0.6 / self.left as f32;
        }
    }
}

impl AudioSource for SpeechLike {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool, MediaError> {
        let rate = SAMPLE_RATE as f32;
        for s in out.iter_mut() {
            if self.left == 0 {
                self.next_segment();
            }
            self.left -= 1;
            self.t += 1;
            let (excitation, target) = match self.segment {
                Segment::Voiced => {
                    // The pitch glides through a syllable and wobbles
                    // (vibrato, and each cycle a little off: jitter and
                    // shimmer), and breath rides along, as in a voice.
                    self.pitch = (self.pitch * (1.0 + self.glide)).clamp(80.0, 280.0);
                    let vibrato = 1.0 + 0.03 * (self.t as f32 * 5.0 * TAU as f32 / rate).sin();
                    self.phase += self.pitch * vibrato * self.cycle / rate;
                    let pulse = if self.phase >= 1.0 {
                        self.phase -= 1.0;
                        self.cycle = 0.95 + 0.1 * self.uniform();
                        0.7 + 0.6 * self.uniform()
                    } else {
                        0.0
                    };
                    (pulse * 4.0 + 0.15 * (self.uniform() - 0.5), 1.0)
                }
                Segment::Hiss => (self.uniform() - 0.5, 0.5),
                Segment::Pause => (0.0, 0.0),
            };
            // Syllables swell and fade over ~10 ms rather than switch.
            self.level += (target - self.level) * 0.002;
            let mut y = 0.0;
            for (k, f) in self.formants.iter().enumerate() {
                let f = if self.segment == Segment::Hiss {
                    f + 2500.0
                } else {
                    *f
                };
                let r = 0.97f32;
                let c = 2.0 * r * (TAU as f32 * f / rate).cos();
                let (y1, y2) = self.resonators[k];
                let v = excitation + c * y1 - r * r * y2;
                self.resonators[k] = (v, y1);
                y += v / (k + 1) as f32;
            }
            *s = (y * self.level * 600.0).clamp(-32768.0, 32767.0) as i16;
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
        self.step_with(source, muted, None)
    }

    /// [`AudioEncoder::step`] with the frame cleaned by `voice` (echo
    /// and noise) first. Frames that are not sent are cleaned too, so
    /// that the echo canceller stays adapted to the room while muted.
    pub fn step_with(
        &mut self,
        source: &mut dyn AudioSource,
        muted: bool,
        voice: Option<&mut VoiceProcessor>,
    ) -> Result<AudioStep, MediaError> {
        if !source.read_frame(&mut self.frame)? {
            return Ok(AudioStep::Ended);
        }
        if let Some(voice) = voice {
            voice.process(&mut self.frame);
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
