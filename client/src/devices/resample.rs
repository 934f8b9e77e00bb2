//! Sample-rate and channel conversion between a sound device and the
//! meeting's format (48 kHz mono, PROTOCOL.md §9).
//!
//! ```text
//!  microphone: device rate, N channels --downmix--> mono --Resampler--> 48 kHz
//!  speaker:    48 kHz mono --Resampler--> device rate --upmix--> N channels
//! ```
//!
//! A device picks its own rate (44.1 kHz is common) and its callbacks come
//! in any size, so the [`Resampler`] works on a stream: it carries its
//! position and the last input sample from one call to the next, and
//! chunks of any length give the same output as one long chunk.
//!
//! The interpolation is linear. It keeps the pitch and timing exact and
//! costs two multiplies a sample; its small high-frequency loss and
//! aliasing are far below what a laptop microphone and a 16-bit stream
//! make audible in speech.

/// Converts a stream of mono `f32` samples from one rate to another.
#[derive(Debug, Clone)]
pub struct Resampler {
    /// Input samples per output sample (`from / to`).
    step: f64,
    /// Where the next output sample falls, in input samples, counted from
    /// `last` (0.0 = on `last`, 1.0 = on the first sample of the next call).
    pos: f64,
    /// The last input sample of the previous call.
    last: f32,
    /// `from == to`: samples pass through untouched.
    same: bool,
}

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz (both at least 1).
    pub fn new(from: u32, to: u32) -> Resampler {
        let (from, to) = (from.max(1), to.max(1));
        Resampler {
            step: f64::from(from) / f64::from(to),
            // The first output sample lands on the first input sample.
            pos: 1.0,
            last: 0.0,
            same: from == to,
        }
    }

    /// Appends the resampled `input` to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.same {
            out.extend_from_slice(input);
            return;
        }
        let n = input.len();
        if n == 0 {
            return;
        }
        // Sample k of the sequence [last, input[0], ..., input[n-1]].
        let at = |k: usize| if k == 0 { self.last } else { input[k - 1] };
        while self.pos < n as f64 {
            let i = self.pos as usize; // pos >= 0, so this is floor
            let frac = (self.pos - i as f64) as f32;
            let (a, b) = (at(i), at(i + 1));
            out.push(a + (b - a) * frac);
            self.pos += self.step;
        }
        self.pos -= n as f64;
        self.last = input[n - 1];
    }
}

/// Averages interleaved frames of `channels` samples into mono, appending
/// to `out`; `sample` turns one raw sample into `f32` in -1.0..=1.0.
pub fn downmix<T: Copy>(
    interleaved: &[T],
    channels: usize,
    sample: impl Fn(T) -> f32,
    out: &mut Vec<f32>,
) {
    let channels = channels.max(1);
    let scale = 1.0 / channels as f32;
    for frame in interleaved.chunks_exact(channels) {
        out.push(frame.iter().map(|s| sample(*s)).sum::<f32>() * scale);
    }
}

/// Converts a sample in -1.0..=1.0 to 16 bits, clipping.
pub fn to_i16(s: f32) -> i16 {
    (s * 32767.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Converts a 16-bit sample to -1.0..=1.0.
pub fn from_i16(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    fn tone(rate: u32, hz: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (TAU * hz * i as f64 / f64::from(rate)).sin() as f32 * 0.5)
            .collect()
    }

    /// Frequency from the rising zero crossings, interpolated between
    /// samples (skips the first few ms where the filter starts).
    fn measure(samples: &[f32], rate: u32) -> f64 {
        let mut first = None;
        let mut last = 0.0;
        let mut count = 0;
        for i in 1..samples.len() {
            let (a, b) = (samples[i - 1], samples[i]);
            if a < 0.0 && b >= 0.0 {
                let t = (i - 1) as f64 + f64::from(-a / (b - a));
                if first.is_none() {
                    first = Some(t);
                } else {
                    count += 1;
                }
                last = t;
            }
        }
        let first = first.unwrap_or(0.0);
        f64::from(count) * f64::from(rate) / (last - first)
    }

    #[test]
    fn a_441_tone_becomes_a_48k_tone_of_the_same_pitch() {
        let input = tone(44_100, 1000.0, 44_100);
        let mut r = Resampler::new(44_100, 48_000);
        let mut out = Vec::new();
        // Odd chunk sizes, as device callbacks deliver them.
        let mut rest = &input[..];
        for size in [441usize, 640, 1, 960, 333].iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).min(rest.len()));
            r.process(chunk, &mut out);
            rest = tail;
        }
        assert!((out.len() as i64 - 48_000).abs() <= 1, "{}", out.len());
        let hz = measure(&out, 48_000);
        assert!((hz - 1000.0).abs() < 0.5, "measured {hz} Hz");
        // The level survives too: a 0.5 tone peaks near 0.5.
        let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((0.49..=0.501).contains(&peak), "peak {peak}");
    }

    #[test]
    fn chunking_does_not_change_the_output() {
        let input = tone(48_000, 440.0, 4_800);
        let mut whole = Vec::new();
        Resampler::new(48_000, 44_100).process(&input, &mut whole);
        let mut pieces = Vec::new();
        let mut r = Resampler::new(48_000, 44_100);
        for chunk in input.chunks(7) {
            r.process(chunk, &mut pieces);
        }
        assert_eq!(whole.len(), pieces.len());
        assert_eq!(whole.len(), 4_410);
        for (a, b) in whole.iter().zip(&pieces) {
            assert!((a - b).abs() < 1e-5);
        }
        assert!((measure(&whole, 44_100) - 440.0).abs() < 0.5);
    }

    #[test]
    fn same_rate_passes_through_and_channels_mix() {
        let mut out = Vec::new();
        Resampler::new(48_000, 48_000).process(&[0.1, 0.2], &mut out);
        assert_eq!(out, [0.1, 0.2]);
        let mut mono = Vec::new();
        downmix(&[1000i16, 3000, -2000, 0], 2, from_i16, &mut mono);
        assert_eq!(mono.len(), 2);
        assert_eq!(to_i16(mono[0]), 2000);
        assert_eq!(to_i16(mono[1]), -1000);
        assert_eq!(to_i16(2.0), i16::MAX);
        assert_eq!(to_i16(-2.0), i16::MIN);
    }
}
