//! Echo cancellation and noise suppression on a simulated room
//! (`media::voice`): the far-end talker played by our speaker comes back
//! into the microphone through an echo path (delayed, attenuated,
//! filtered, with a decaying tail of reflections), with and without a
//! near-end talker, and a steady noise under a talker.
//!
//! ```text
//!  far talker --> far_end(frame) ................. (the reference)
//!      |
//!      +--> echo path (20-120 ms, -8 dB, low-pass, reflections) --+
//!  near talker (or nothing) + faint noise -------------------------+--> process --> out
//! ```
//!
//! Figures (printed, `--nocapture`): ERLE (echo return loss
//! enhancement) from 2 s on, and how much of the near-end talker is kept
//! during double talk: the correlation of the output with the near-end
//! signal alone, and their level difference.

use lanmeet_client::media::{AudioSource, SpeechLike, VoiceProcessor, VoiceSettings};
use lanmeet_common::audio::{Frame, FRAME_SAMPLES};

const RATE: usize = 48_000;

/// `seconds` of a synthetic talker.
fn talker(seed: u64, seconds: usize) -> Vec<f32> {
    let mut source = SpeechLike::new(seed);
    let mut out = Vec::with_capacity(seconds * RATE);
    let mut frame = [0i16; FRAME_SAMPLES];
    while out.len() < seconds * RATE {
        source.read_frame(&mut frame).unwrap();
        out.extend(frame.iter().map(|&s| f32::from(s)));
    }
    out
}

/// A reproducible noise in -1..1.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// The room between our speaker and our microphone: `delay_ms` of sound
/// card buffers and air, then the direct sound at `gain`, low-passed (a
/// laptop speaker and the distance), plus 40 ms of decaying reflections.
fn echo_path(signal: &[f32], delay_ms: usize, gain: f32) -> Vec<f32> {
    let mut noise = Noise(7);
    let tail = 40 * RATE / 1000;
    let mut h = vec![0.0f32; tail];
    h[0] = 1.0;
    for (i, tap) in h.iter_mut().enumerate().skip(48) {
        let decay = (-(i as f32) / (5.0 * RATE as f32 / 1000.0)).exp();
        *tap = 0.03 * decay * noise.next();
    }
    let delay = delay_ms * RATE / 1000;
    let mut out = vec![0.0f32; signal.len()];
    let mut lowpass = 0.0f32;
    for n in delay..signal.len() {
        let x = signal[n - delay];
        lowpass += 0.35 * (x - lowpass);
        out[n] = lowpass;
    }
    // The reflections: a sparse convolution is enough here (every 4th tap).
    let direct = out.clone();
    for (n, o) in out.iter_mut().enumerate() {
        let mut acc = direct[n];
        for k in (48..tail).step_by(4) {
            if n >= k {
                acc += 4.0 * h[k] * direct[n - k];
            }
        }
        *o = gain * acc;
    }
    out
}

fn power(s: &[f32]) -> f64 {
    s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len().max(1) as f64
}

fn db(ratio: f64) -> f64 {
    10.0 * ratio.max(1e-20).log10()
}

/// Runs `mic` through a processor fed with `far` as the reference, one
/// frame of each at a time, as the client does.
fn process(settings: VoiceSettings, far: &[f32], mic: &[f32]) -> Vec<f32> {
    let mut voice = VoiceProcessor::new(settings).unwrap();
    let mut out = Vec::with_capacity(mic.len());
    let to_frame = |s: &[f32]| -> Frame {
        let mut f = [0i16; FRAME_SAMPLES];
        for (o, &x) in f.iter_mut().zip(s) {
            *o = x.round().clamp(-32768.0, 32767.0) as i16;
        }
        f
    };
    for (far, mic) in far
        .chunks_exact(FRAME_SAMPLES)
        .zip(mic.chunks_exact(FRAME_SAMPLES))
    {
        voice.far_end(&to_frame(far));
        let mut frame = to_frame(mic);
        voice.process(&mut frame);
        out.extend(frame.iter().map(|&s| f32::from(s)));
    }
    assert_eq!(voice.failures(), 0);
    out
}

/// The normalised correlation of `a` with `b` shifted by the lag (0..=20
/// ms) that fits best, and that lag in samples.
fn best_correlation(a: &[f32], b: &[f32]) -> (f64, usize) {
    let n = a.len().min(b.len()) - 1000;
    (0..=960)
        .step_by(8)
        .map(|lag| {
            let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
            for i in 0..n - lag {
                let (x, y) = (f64::from(a[i + lag]), f64::from(b[i]));
                ab += x * y;
                aa += x * x;
                bb += y * y;
            }
            (ab / (aa * bb).sqrt().max(1e-9), lag)
        })
        .fold((f64::MIN, 0), |best, c| if c.0 > best.0 { c } else { best })
}

/// Far-end talk only: how far the echo is brought down from 2 s on.
fn erle(delay_ms: usize, settings: VoiceSettings) -> f64 {
    let far = talker(1, 8);
    let mut noise = Noise(3);
    let echo = echo_path(&far, delay_ms, 0.4);
    let mic: Vec<f32> = echo.iter().map(|&e| e + 3.0 * noise.next()).collect();
    let out = process(settings, &far, &mic);
    let from = 2 * RATE;
    db(power(&echo[from..]) / power(&out[from..]))
}

const ECHO_ONLY: VoiceSettings = VoiceSettings {
    echo_cancel: true,
    noise_suppression: false,
};

#[test]
fn the_echo_of_our_speaker_is_cancelled_after_2_s() {
    for delay in [20, 60, 120] {
        let aec = erle(delay, ECHO_ONLY);
        let both = erle(delay, VoiceSettings::default());
        let none = erle(delay, VoiceSettings::OFF);
        eprintln!("echo path {delay} ms: ERLE {aec:.1} dB (with noise suppression {both:.1} dB, off {none:.1} dB)");
        assert!(aec >= 25.0, "{delay} ms: ERLE {aec:.1} dB");
        assert!(both >= 25.0, "{delay} ms: ERLE {both:.1} dB");
        assert!(none.abs() < 0.5, "off passes the microphone through");
    }
}

#[test]
fn near_end_speech_is_kept_during_double_talk() {
    for delay in [20, 120] {
        let far = talker(1, 8);
        let near = talker(2, 8);
        let echo = echo_path(&far, delay, 0.4);
        let mic: Vec<f32> = echo.iter().zip(&near).map(|(e, n)| e + n).collect();
        let from = 2 * RATE;
        for settings in [ECHO_ONLY, VoiceSettings::default()] {
            let out = process(settings, &far, &mic);
            let (corr, lag) = best_correlation(&out[from..], &near[from..]);
            let (corr_in, _) = best_correlation(&mic[from..], &near[from..]);
            let level = db(power(&out[from..]) / power(&near[from..]));
            eprintln!(
                "echo path {delay} ms, {settings:?}: near-end correlation {corr:.3} (microphone {corr_in:.3}), \
                 level {level:+.1} dB, delay {lag} samples"
            );
            // During double talk the echo canceller's suppressor takes
            // some of the near end along with the echo; most stays.
            assert!(corr >= 0.75, "{delay} ms: correlation {corr:.3}");
            assert!(level > -6.0, "{delay} ms: near end {level:+.1} dB");
        }
    }
}

#[test]
fn a_steady_noise_is_reduced_and_a_talker_kept() {
    // A fan: low-passed noise, about -30 dBFS, some 20 dB under the
    // talker.
    let seconds = 6;
    let mut noise = Noise(11);
    let mut lp = 0.0f32;
    let fan: Vec<f32> = (0..seconds * RATE)
        .map(|_| {
            lp += 0.2 * (noise.next() - lp);
            3000.0 * lp
        })
        .collect();
    let speech = talker(5, seconds);
    let settings = VoiceSettings {
        echo_cancel: false,
        noise_suppression: true,
    };
    let silent = vec![0.0f32; seconds * RATE];
    let from = RATE;
    // Noise alone.
    let out = process(settings, &silent, &fan);
    let reduced = db(power(&fan[from..]) / power(&out[from..]));
    // The talker in the noise.
    let mic: Vec<f32> = fan.iter().zip(&speech).map(|(f, s)| f + s).collect();
    let out = process(settings, &silent, &mic);
    let (corr, lag) = best_correlation(&out[from..], &speech[from..]);
    let (corr_in, _) = best_correlation(&mic[from..], &speech[from..]);
    let level = db(power(&out[from..]) / power(&speech[from..]));
    let snr_in = db(power(&speech[from..]) / power(&fan[from..]));
    eprintln!(
        "noise alone down {reduced:.1} dB; talker in noise (SNR {snr_in:.1} dB): correlation \
         {corr:.3} (microphone {corr_in:.3}), level {level:+.1} dB, delay {lag} samples"
    );
    assert!(reduced >= 10.0, "noise down only {reduced:.1} dB");
    assert!(corr >= 0.85, "correlation {corr:.3} vs {corr_in:.3}");
    assert!(level > -3.0, "talker {level:+.1} dB");
}

#[test]
fn switching_on_and_off_midway_is_safe() {
    let mut voice = VoiceProcessor::new(VoiceSettings::OFF).unwrap();
    let mut source = SpeechLike::new(9);
    let mut frame = [0i16; FRAME_SAMPLES];
    let all = [
        VoiceSettings::default(),
        VoiceSettings::OFF,
        ECHO_ONLY,
        VoiceSettings {
            echo_cancel: false,
            noise_suppression: true,
        },
    ];
    for k in 0..400 {
        voice.set(all[k / 25 % all.len()]).unwrap();
        source.read_frame(&mut frame).unwrap();
        voice.far_end(&frame);
        let before = frame;
        voice.process(&mut frame);
        if voice.settings() == VoiceSettings::OFF {
            assert_eq!(frame, before);
        }
    }
    assert_eq!(voice.failures(), 0);
}
