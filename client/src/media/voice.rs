//! Voice processing on the microphone path: echo cancellation and noise
//! suppression, one 10 ms frame at a time.
//!
//! ```text
//!  playout: every frame we play ----------------> far_end(frame)
//!                                                    |  (the reference: what the
//!                                                    v   speaker is about to say)
//!  microphone frame --> process(frame): [high-pass + AEC3] --> [RNNoise] --> sent
//!                                        echo_cancel          noise_suppression
//! ```
//!
//! - **Echo.** In a room of laptops every loudspeaker feeds the voices it
//!   plays back into its own microphone, and the others hear themselves
//!   a moment later. The echo canceller (`aec3`, WebRTC's AEC3 ported to
//!   Rust) is given every frame the client plays as the far-end reference;
//!   it finds the delay from speaker to microphone (the sound card's
//!   buffers plus the air, up to a few hundred ms), models the room's echo
//!   path with an adaptive filter, subtracts its estimate of the echo,
//!   and suppresses what is left. Near-end speech during double talk is
//!   kept. WebRTC's own noise suppressor and gain control inside that
//!   crate are left off: the first is replaced by RNNoise below, the
//!   second would change the level others hear with no way to see it.
//!   Its framing delays the sound by 10 ms (measured in
//!   `client/tests/voice.rs`).
//! - **Noise.** Thirty open microphones add up their fans and keyboards.
//!   The noise suppressor (`nnnoiseless`, RNNoise ported to Rust, its small
//!   recurrent network built in) computes a gain per band from what
//!   sounds like speech and what does not. It delays the sound by one
//!   frame (10 ms): its output overlaps two analysis windows.
//!
//! Both are on by default and switch independently at any frame
//! ([`VoiceProcessor::set`]); an echo canceller switched back on starts
//! afresh. It does no I/O, runs no thread and reads no clock: the shell
//! calls [`VoiceProcessor::far_end`] for each played frame and
//! [`VoiceProcessor::process`] for each microphone frame, in the order
//! they happen. The processor is not `Send` (the echo canceller's graph
//! is not): build it on the thread that uses it.

use aec3::nodes::audio::AudioFormat;
use aec3::pipelines::linear::{self, LinearPipeline};
use lanmeet_common::audio::{Frame, FRAME_SAMPLES, SAMPLE_RATE};
use nnnoiseless::DenoiseState;

use super::error::MediaError;

/// Which voice processing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceSettings {
    /// Remove the sound of our own speaker from the microphone.
    pub echo_cancel: bool,
    /// Remove steady noise (fans, hum, keyboards) from the microphone.
    pub noise_suppression: bool,
}

impl Default for VoiceSettings {
    /// Both on.
    fn default() -> VoiceSettings {
        VoiceSettings {
            echo_cancel: true,
            noise_suppression: true,
        }
    }
}

impl VoiceSettings {
    /// Both off: the microphone as it is.
    pub const OFF: VoiceSettings = VoiceSettings {
        echo_cancel: false,
        noise_suppression: false,
    };
}

/// The echo canceller and the noise suppressor, fed with the frames we
/// play and the frames the microphone hears.
pub struct VoiceProcessor {
    settings: VoiceSettings,
    /// Built when echo cancellation is on.
    echo: Option<LinearPipeline>,
    noise: Box<DenoiseState<'static>>,
    /// Whether the noise suppressor has seen a frame since it was (re)started:
    /// its first output is its own fade-in, not sound.
    noise_primed: bool,
    input: Vec<f32>,
    output: Vec<f32>,
    /// Echo canceller calls that failed (the frame went through as it was).
    failures: u64,
}

fn echo_canceller() -> Result<LinearPipeline, MediaError> {
    let format = AudioFormat::ten_ms(SAMPLE_RATE, 1);
    linear::builder(format, format)
        .enable_noise_suppression(false)
        .enable_gain_controller2(false)
        .build()
        .map_err(|e| MediaError::Device(format!("echo canceller: {e}")))
}

impl VoiceProcessor {
    /// A processor running what `settings` asks for.
    pub fn new(settings: VoiceSettings) -> Result<VoiceProcessor, MediaError> {
        let mut p = VoiceProcessor {
            settings: VoiceSettings::OFF,
            echo: None,
            noise: DenoiseState::new(),
            noise_primed: false,
            input: vec![0.0; FRAME_SAMPLES],
            output: vec![0.0; FRAME_SAMPLES],
            failures: 0,
        };
        p.set(settings)?;
        Ok(p)
    }

    /// What runs now.
    pub fn settings(&self) -> VoiceSettings {
        self.settings
    }

    /// Switches either part on or off from the next frame. A part switched
    /// on starts afresh.
    pub fn set(&mut self, settings: VoiceSettings) -> Result<(), MediaError> {
        if settings.echo_cancel && self.echo.is_none() {
            self.echo = Some(echo_canceller()?);
        } else if !settings.echo_cancel {
            self.echo = None;
        }
        if settings.noise_suppression && !self.settings.noise_suppression {
            self.noise = DenoiseState::new();
            self.noise_primed = false;
        }
        self.settings = settings;
        Ok(())
    }

    /// Echo canceller calls that failed so far (each such frame was sent
    /// without echo cancellation).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// One frame that the speaker plays (or is about to): the echo
    /// canceller's reference.
    pub fn far_end(&mut self, frame: &Frame) {
        let Some(echo) = self.echo.as_mut() else {
            return;
        };
        for (o, &s) in self.input.iter_mut().zip(frame.iter()) {
            *o = f32::from(s) / 32768.0;
        }
        if echo.handle_render_frame(&self.input).is_err() {
            self.failures += 1;
        }
    }

    /// Cleans one microphone frame in place.
    pub fn process(&mut self, frame: &mut Frame) {
        if let Some(echo) = self.echo.as_mut() {
            for (o, &s) in self.input.iter_mut().zip(frame.iter()) {
                *o = f32::from(s) / 32768.0;
            }
            match echo.process_capture_frame(&self.input, &mut self.output) {
                Ok(true) => {
                    for (o, &s) in frame.iter_mut().zip(self.output.iter()) {
                        *o = to_i16(s * 32768.0);
                    }
                }
                // No output yet: the frame goes on as it was.
                Ok(false) => {}
                Err(_) => self.failures += 1,
            }
        }
        if self.settings.noise_suppression {
            for (o, &s) in self.input.iter_mut().zip(frame.iter()) {
                *o = f32::from(s);
            }
            self.noise.process_frame(&mut self.output, &self.input);
            if self.noise_primed {
                for (o, &s) in frame.iter_mut().zip(self.output.iter()) {
                    *o = to_i16(s);
                }
            } else {
                *frame = [0; FRAME_SAMPLES];
                self.noise_primed = true;
            }
        }
    }
}

fn to_i16(x: f32) -> i16 {
    x.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}
