//! How clean a recorded pure tone is: clicks, silence and the longest
//! dropout. Plain std, shared by the bench and the client's tests
//! (`#[path]`).
//!
//! - A **click** is a step from one sample to the next well above the
//!   steepest a tone of this level and frequency can make (2.5 times
//!   `A * 2 pi f / rate`); steps within 1 ms of each other count once.
//! - **Silence** is each 1 ms window whose peak is under a tenth of the
//!   tone's level.
//! - The **longest gap** is the longest run of 1 ms windows under half
//!   the level (silent or faded).
//!
//! The level `A` is the median of the 1 ms peaks, so losses and fades do
//! not move it.

#![allow(dead_code)] // the bench and the tests use different parts

/// What [`analyse`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ToneQuality {
    /// Seconds analysed.
    pub seconds: f64,
    /// The tone's level (median 1 ms peak).
    pub level: f64,
    /// Clicks found.
    pub clicks: u64,
    /// Silent milliseconds.
    pub silent_ms: u64,
    /// The longest run of milliseconds under half the level.
    pub longest_gap_ms: u64,
}

impl ToneQuality {
    pub fn clicks_per_s(&self) -> f64 {
        self.clicks as f64 / self.seconds.max(1e-9)
    }

    pub fn silent_ms_per_s(&self) -> f64 {
        self.silent_ms as f64 / self.seconds.max(1e-9)
    }
}

/// Analyses `samples` (mono, `rate` Hz) of a tone at `hz`.
pub fn analyse(samples: &[i16], rate: f64, hz: f64) -> ToneQuality {
    let window = (rate / 1000.0).round().max(1.0) as usize;
    let peaks: Vec<f64> = samples
        .chunks_exact(window)
        .map(|w| w.iter().map(|&s| f64::from(s).abs()).fold(0.0, f64::max))
        .collect();
    if peaks.is_empty() {
        return ToneQuality::default();
    }
    let mut sorted = peaks.clone();
    sorted.sort_by(f64::total_cmp);
    let level = sorted[sorted.len() / 2];

    let limit = 2.5 * level * std::f64::consts::TAU * hz / rate;
    let mut clicks = 0;
    let mut last_click: Option<usize> = None;
    for (i, pair) in samples.windows(2).enumerate() {
        let step = (f64::from(pair[1]) - f64::from(pair[0])).abs();
        if step > limit && level > 0.0 {
            if last_click.is_none_or(|l| i - l > window) {
                clicks += 1;
            }
            last_click = Some(i);
        }
    }

    let silent_ms = peaks.iter().filter(|&&p| p < level / 10.0).count() as u64;
    let (mut longest, mut run) = (0u64, 0u64);
    for &p in &peaks {
        run = if p < level / 2.0 { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    ToneQuality {
        seconds: samples.len() as f64 / rate,
        level,
        clicks,
        silent_ms,
        longest_gap_ms: longest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, hz: f64) -> Vec<i16> {
        (0..n)
            .map(|i| ((std::f64::consts::TAU * hz * i as f64 / 48_000.0).sin() * 10_000.0) as i16)
            .collect()
    }

    #[test]
    fn a_clean_tone_has_no_clicks_or_silence() {
        let q = analyse(&tone(48_000, 600.0), 48_000.0, 600.0);
        assert_eq!((q.clicks, q.silent_ms, q.longest_gap_ms), (0, 0, 0));
        assert!((q.level - 10_000.0).abs() < 50.0);
    }

    #[test]
    fn a_cut_out_frame_is_a_click_and_silence_is_counted() {
        let mut s = tone(48_000, 600.0);
        s.drain(10_000..10_130); // a phase jump
        for x in &mut s[20_000..21_440] {
            *x = 0; // 30 ms of silence
        }
        let q = analyse(&s, 48_000.0, 600.0);
        assert!(q.clicks >= 1 && q.clicks <= 3, "{q:?}");
        assert!((29..=31).contains(&q.silent_ms), "{q:?}");
        assert!((29..=31).contains(&q.longest_gap_ms), "{q:?}");
    }
}
