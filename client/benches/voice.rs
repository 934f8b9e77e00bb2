//! CPU time of the voice processing per 10 ms frame (no criterion: a
//! plain loop and a clock). Run it with
//!
//! ```text
//! cargo bench -p lanmeet-client --bench voice
//! ```
//!
//! It processes 30 s of a synthetic talker (`SpeechLike`) with its echo
//! in the microphone, once per setting, and prints the mean and the 99th
//! percentile per frame, and the share of one core that makes (a frame
//! is due every 10 ms). The machine's load average is printed with it:
//! on a shared machine the figures are only as quiet as the machine.

use std::time::Instant;

use lanmeet_client::media::{AudioSource, SpeechLike, VoiceProcessor, VoiceSettings};
use lanmeet_common::audio::FRAME_SAMPLES;

const FRAMES: usize = 3000;

fn main() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average: {}", load.trim());
    let mut far = SpeechLike::new(1);
    let mut near = SpeechLike::new(2);
    let mut frames = Vec::with_capacity(FRAMES);
    let mut history = vec![[0i16; FRAME_SAMPLES]; 6];
    for k in 0..FRAMES {
        let (mut f, mut n) = ([0i16; FRAME_SAMPLES], [0i16; FRAME_SAMPLES]);
        far.read_frame(&mut f).expect("synthetic");
        near.read_frame(&mut n).expect("synthetic");
        // The far end comes back 60 ms later at a third of its level.
        let echo = history[k % 6];
        history[k % 6] = f;
        let mut mic = [0i16; FRAME_SAMPLES];
        for i in 0..FRAME_SAMPLES {
            mic[i] = n[i].saturating_add(echo[i] / 3);
        }
        frames.push((f, mic));
    }
    println!("| processing | mean µs/frame | p99 µs/frame | one core |\n|---|---|---|---|");
    let settings = [
        (
            "echo cancellation",
            VoiceSettings {
                echo_cancel: true,
                noise_suppression: false,
            },
        ),
        (
            "noise suppression",
            VoiceSettings {
                echo_cancel: false,
                noise_suppression: true,
            },
        ),
        ("both (the default)", VoiceSettings::default()),
    ];
    for (name, s) in settings {
        let mut voice = VoiceProcessor::new(s).expect("voice processor");
        let mut times = Vec::with_capacity(FRAMES);
        for (f, mic) in &frames {
            let mut m = *mic;
            let t = Instant::now();
            voice.far_end(f);
            voice.process(&mut m);
            times.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(&m);
        }
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        times.sort_by(f64::total_cmp);
        let p99 = times[times.len() * 99 / 100];
        println!(
            "| {name} | {mean:.0} | {p99:.0} | {:.1}% |",
            mean / 10_000.0 * 100.0
        );
    }
}
