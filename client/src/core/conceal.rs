//! Packet-loss concealment: what to play for a 10 ms frame that did not
//! come, after ITU-T G.711 Appendix I.
//!
//! ```text
//!  history (last 50 ms played)      lost frame            next good frame
//!  ...|<- P ->|<- P ->|<- P ->|  =>  repeat the last     cross-fade from the
//!                                    P (then 2P, 3P),      repetition into the
//!                                    seams overlap-added   real audio (4..10 ms)
//!  gain: 1 for the first 10 ms, then down 20% per 10 ms: silent after 60 ms
//! ```
//!
//! Cutting a lost frame out (or playing silence) makes a step in the
//! waveform, a click, and a hole. Voiced speech and tones are nearly
//! periodic, so the best guess for the next 10 ms is the last pitch period
//! played again: the period `P` is found by normalised autocorrelation
//! between 5 and 15 ms (coarse on every 4th sample, then refined), the
//! last `P` samples are repeated, and the seam at each repetition is
//! smoothed by overlap-adding a quarter period with what came before the
//! repeated block. After 10 ms the block grows to 2 and then 3 periods
//! (one period repeated for long sounds buzzy), and the sound fades out
//! linearly between 10 and 60 ms: a longer gap is not invented. The first
//! good frame after a gap is cross-faded in from the continuing
//! repetition, over 4 ms plus 4 ms per further lost frame (at most 10 ms).
//!
//! Unlike Appendix I this adds no delay: the repetition starts right
//! after the last played sample. The period is chosen so that the sample
//! after it matches (the correlation is taken just before the end), so
//! for periodic sound that first seam is as smooth as the others.
//!
//! Pure code, 48 kHz mono, driven frame by frame; no clock.

use lanmeet_common::audio::{Frame, FRAME_SAMPLES};

/// Shortest pitch period searched: 5 ms.
const MIN_PITCH: usize = 240;
/// Longest pitch period searched: 15 ms.
const MAX_PITCH: usize = 720;
/// Samples compared when looking for the period: 10 ms.
const CORR_LEN: usize = 480;
/// History kept: three of the longest periods, the quarter period
/// before them, and the two frames of a gap after which the block grows
/// to three periods.
const HISTORY: usize = 3 * MAX_PITCH + MAX_PITCH / 4 + 2 * FRAME_SAMPLES;
/// Frames of concealment at full level before the fade starts.
const FULL_FRAMES: usize = 1;
/// Frames the fade to silence takes.
const FADE_FRAMES: usize = 5;

/// Repeats the recent past over lost frames and blends the real audio
/// back in.
pub struct Concealer {
    /// The last `HISTORY` samples played (real or concealed).
    history: Vec<f32>,
    /// Frames concealed in a row (0 while audio flows).
    lost: usize,
    /// The pitch period of this gap.
    pitch: usize,
    /// The block being repeated, seams already smoothed.
    block: Vec<f32>,
    /// Where in `block` the next sample comes from.
    pos: usize,
    /// Samples produced since the gap began (for the fade).
    produced: usize,
}

impl Default for Concealer {
    fn default() -> Self {
        Concealer::new()
    }
}

impl Concealer {
    /// A concealer with a silent past.
    pub fn new() -> Concealer {
        Concealer {
            history: vec![0.0; HISTORY],
            lost: 0,
            pitch: MIN_PITCH,
            block: Vec::new(),
            pos: 0,
            produced: 0,
        }
    }

    /// Frames concealed in a row so far.
    pub fn lost_in_a_row(&self) -> usize {
        self.lost
    }

    /// A frame that arrived: returned as it is, or, right after a gap,
    /// cross-faded in from the concealment.
    pub fn good(&mut self, frame: &Frame) -> Frame {
        let mut out = *frame;
        if self.lost > 0 {
            let fade = (192 * self.lost.min(2) + 96 * self.lost.saturating_sub(2)).min(480);
            for (i, s) in out.iter_mut().take(fade).enumerate() {
                let w = (i + 1) as f32 / (fade + 1) as f32;
                let synth = self.next_synthetic();
                *s = to_i16(w * f32::from(*s) + (1.0 - w) * synth);
            }
            self.lost = 0;
        }
        self.remember(&out);
        out
    }

    /// A frame that did not come: the concealment.
    pub fn lost(&mut self) -> Frame {
        if self.lost == 0 {
            self.pitch = find_pitch(&self.history);
            self.produced = 0;
            self.set_block(1);
        } else if self.lost <= 2 {
            // 10 and 20 ms into the gap: repeat more periods.
            self.grow_block(self.lost + 1);
        }
        self.lost += 1;
        let mut out = [0i16; FRAME_SAMPLES];
        for s in out.iter_mut() {
            *s = to_i16(self.next_synthetic());
        }
        self.remember(&out);
        out
    }

    /// The next sample of the repetition, faded by the time into the gap.
    fn next_synthetic(&mut self) -> f32 {
        if self.block.is_empty() {
            return 0.0;
        }
        let s = self.block[self.pos];
        self.pos = (self.pos + 1) % self.block.len();
        let gain = gain_at(self.produced);
        self.produced += 1;
        s * gain
    }

    /// The last `periods` pitch periods of the history as the block to
    /// repeat, its end overlap-added with what came before its start, so
    /// that the repetition wraps without a step.
    fn set_block(&mut self, periods: usize) {
        let len = periods * self.pitch;
        let end = self.history.len();
        let start = end - len;
        let quarter = self.pitch / 4;
        let mut block = self.history[start..end].to_vec();
        for i in 0..quarter {
            let w = (i + 1) as f32 / (quarter + 1) as f32;
            let tail = &mut block[len - quarter + i];
            *tail = (1.0 - w) * *tail + w * self.history[start - quarter + i];
        }
        self.block = block;
        self.pos = 0;
    }

    /// Switches to a block of `periods` periods from the history as it
    /// was at the start of the gap, keeping the phase, with a quarter
    /// period cross-fade from the old block.
    fn grow_block(&mut self, periods: usize) {
        // The history now ends with our own concealment; the new block
        // comes from before the gap.
        let gap = self.lost * FRAME_SAMPLES;
        let end = self.history.len() - gap;
        let len = periods * self.pitch;
        if end < len + self.pitch / 4 {
            return;
        }
        let old = std::mem::take(&mut self.block);
        let old_pos = self.pos;
        let start = end - len;
        let quarter = self.pitch / 4;
        let mut block = self.history[start..end].to_vec();
        for i in 0..quarter {
            let w = (i + 1) as f32 / (quarter + 1) as f32;
            let tail = &mut block[len - quarter + i];
            *tail = (1.0 - w) * *tail + w * self.history[start - quarter + i];
        }
        // Same phase in the new block: the old block was the last period,
        // which is the new block's last period.
        let pos = (len - old.len() + old_pos) % len;
        for i in 0..quarter {
            let w = (i + 1) as f32 / (quarter + 1) as f32;
            let j = (pos + i) % len;
            block[j] = w * block[j] + (1.0 - w) * old[(old_pos + i) % old.len()];
        }
        self.block = block;
        self.pos = pos;
    }

    fn remember(&mut self, frame: &Frame) {
        self.history.drain(..FRAME_SAMPLES);
        self.history.extend(frame.iter().map(|&s| f32::from(s)));
    }
}

/// The concealment's gain `n` samples into a gap: full for 10 ms, then
/// linearly down to silence at 60 ms.
fn gain_at(n: usize) -> f32 {
    let full = FULL_FRAMES * FRAME_SAMPLES;
    let fade = FADE_FRAMES * FRAME_SAMPLES;
    if n < full {
        1.0
    } else {
        1.0 - ((n - full) as f32 / fade as f32).min(1.0)
    }
}

/// The pitch period (MIN_PITCH..=MAX_PITCH) that best predicts the end of
/// `history` from one period earlier: the lag whose window, shifted,
/// correlates best (normalised) with the last `CORR_LEN` samples. Coarse
/// on every 4th sample, then refined around the best.
fn find_pitch(history: &[f32]) -> usize {
    let end = history.len();
    let target = &history[end - CORR_LEN..];
    let score = |lag: usize, step: usize| -> f32 {
        let earlier = &history[end - CORR_LEN - lag..end - lag];
        let (mut dot, mut energy) = (0.0f32, 0.0f32);
        for i in (0..CORR_LEN).step_by(step) {
            dot += target[i] * earlier[i];
            energy += earlier[i] * earlier[i];
        }
        if energy <= 1e-3 {
            f32::MIN
        } else {
            dot / energy.sqrt()
        }
    };
    let best_of = |lags: &mut dyn Iterator<Item = usize>, step: usize| -> usize {
        let mut best = (MIN_PITCH, f32::MIN);
        for lag in lags {
            let s = score(lag, step);
            if s > best.1 {
                best = (lag, s);
            }
        }
        best.0
    };
    let coarse = best_of(&mut (MIN_PITCH..=MAX_PITCH).step_by(4), 4);
    let lo = coarse.saturating_sub(3).max(MIN_PITCH);
    let hi = (coarse + 3).min(MAX_PITCH);
    best_of(&mut (lo..=hi), 1)
}

fn to_i16(x: f32) -> i16 {
    x.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of a tone at `hz` (any frequency: not a whole number of
    /// samples per period), starting at frame `first`.
    fn tone_frame(hz: f64, index: usize) -> Frame {
        let mut f = [0i16; FRAME_SAMPLES];
        for (i, s) in f.iter_mut().enumerate() {
            let t = (index * FRAME_SAMPLES + i) as f64 / 48_000.0;
            *s = ((std::f64::consts::TAU * hz * t).sin() * 10_000.0) as i16;
        }
        f
    }

    /// The biggest sample-to-sample step in `s`.
    fn max_step(s: &[i16]) -> i32 {
        s.windows(2)
            .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
            .max()
            .unwrap_or(0)
    }

    fn peak(s: &[i16]) -> i32 {
        s.iter().map(|&x| i32::from(x).abs()).max().unwrap_or(0)
    }

    /// Plays 30 frames of a tone, loses `lost` frames, plays 10 more.
    fn play_with_gap(hz: f64, lost: usize) -> Vec<i16> {
        let mut c = Concealer::new();
        let mut out = Vec::new();
        for k in 0..30 + lost + 10 {
            let frame = if (30..30 + lost).contains(&k) {
                c.lost()
            } else {
                c.good(&tone_frame(hz, k))
            };
            out.extend_from_slice(&frame);
        }
        out
    }

    #[test]
    fn one_lost_frame_of_a_tone_is_repeated_without_a_click() {
        for hz in [440.0, 600.0, 997.0, 150.0] {
            let out = play_with_gap(hz, 1);
            // The steepest a 10 000-level tone can step, with room for the
            // seams and cross-fade.
            let slope = 10_000.0 * std::f64::consts::TAU * hz / 48_000.0;
            let step = max_step(&out);
            assert!(
                f64::from(step) < 1.6 * slope,
                "{hz} Hz: step {step} vs slope {slope:.0}"
            );
            // The lost frame is sound, not silence.
            let gap = &out[30 * FRAME_SAMPLES..31 * FRAME_SAMPLES];
            assert!(peak(gap) > 9_000, "{hz} Hz: peak {}", peak(gap));
        }
    }

    #[test]
    fn a_burst_of_three_stays_audible_and_smooth() {
        let out = play_with_gap(600.0, 3);
        for k in 30..33 {
            let frame = &out[k * FRAME_SAMPLES..(k + 1) * FRAME_SAMPLES];
            assert!(peak(frame) > 5_000, "frame {k}: {}", peak(frame));
        }
        let slope = 10_000.0 * std::f64::consts::TAU * 600.0 / 48_000.0;
        assert!(f64::from(max_step(&out)) < 1.6 * slope);
    }

    #[test]
    fn a_long_gap_fades_to_silence_by_60_ms_and_comes_back_smoothly() {
        let out = play_with_gap(440.0, 10);
        // Frames 30..36 are the first 60 ms: fading.
        let levels: Vec<i32> = (30..40)
            .map(|k| peak(&out[k * FRAME_SAMPLES..(k + 1) * FRAME_SAMPLES]))
            .collect();
        assert!(levels[0] > 9_000, "{levels:?}");
        assert!(levels.windows(2).all(|w| w[1] <= w[0] + 50), "{levels:?}");
        assert!(levels[6..].iter().all(|&l| l == 0), "{levels:?}");
        // The real tone fades in over 10 ms, without a step.
        let slope = 10_000.0 * std::f64::consts::TAU * 440.0 / 48_000.0;
        assert!(f64::from(max_step(&out)) < 1.6 * slope);
        let back = &out[41 * FRAME_SAMPLES..42 * FRAME_SAMPLES];
        assert!(peak(back) > 9_000);
    }

    #[test]
    fn the_pitch_of_a_periodic_signal_is_found() {
        // 200 Hz: 240 samples per period; 100 Hz: 480.
        for (hz, period) in [(200.0, 240), (100.0, 480)] {
            let mut c = Concealer::new();
            for k in 0..10 {
                c.good(&tone_frame(hz, k));
            }
            let p = find_pitch(&c.history);
            assert!(p.is_multiple_of(period), "{hz} Hz: {p}");
        }
    }

    #[test]
    fn silence_stays_silence() {
        let mut c = Concealer::new();
        assert_eq!(c.lost(), [0; FRAME_SAMPLES]);
        assert_eq!(c.good(&[0; FRAME_SAMPLES]), [0; FRAME_SAMPLES]);
    }
}
