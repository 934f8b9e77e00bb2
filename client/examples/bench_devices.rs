//! Measures the CPU cost of each device pipeline, as `docs/DEVICES-BENCH.md`
//! reports it:
//!
//! ```text
//!  camera  640x480 @ 30: camera-like YUYV frames --> RGB --> JPEG q60
//!          (a synthetic camera: the test pattern with sensor noise, as
//!          YUYV, made before timing)
//!  mjpeg   640x480 @ 30: the same as MJPEG, forwarded as it is
//!  audio   microphone --> 10 ms frames --> speaker, 48 kHz, for the run
//!  screen  monitor capture --> 64x64 tiles hashed --> changed tiles as
//!          JPEG 4:4:4 q90 @ 10 (what a presenter sends)
//!  screen-keyframes  the same, every capture sent whole
//! ```
//!
//! Run it in a release build, for one pipeline at a time:
//!
//! ```text
//!  cargo run --release -p lanmeet-client --example bench_devices -- camera|mjpeg|audio|screen|screen-keyframes [SECONDS]
//! ```
//!
//! CPU is this process's user + system time (all threads, from
//! `/proc/self/stat`) over the wall-clock time, as a share of one core.

use std::time::{Duration, Instant};

use lanmeet_client::devices::{Microphone, MonitorScreen, PixelFormat, RawFrame, Speaker};
use lanmeet_client::image::{encode_jpeg, resize};
use lanmeet_client::screen::{ScreenConfig, ScreenEncoder, ScreenUpdate};
use lanmeet_client::{AudioSink, AudioSource, TestPattern, VideoSource};
use lanmeet_common::audio::FRAME_SAMPLES;

/// User + system CPU seconds of this process, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the full line: 11 and 12
    // after the name; Linux counts them in 100 Hz ticks.
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `step` every `period` for `seconds` and prints the CPU share.
fn paced(
    name: &str,
    seconds: f64,
    period: Duration,
    mut step: impl FnMut() -> Result<usize, String>,
) {
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let (mut n, mut bytes, mut late) = (0u32, 0usize, 0u32);
    while t0.elapsed().as_secs_f64() < seconds {
        match step() {
            Ok(b) => bytes += b,
            Err(e) => {
                eprintln!("{name}: {e}");
                return;
            }
        }
        n += 1;
        let due = t0 + period * n;
        match due.checked_duration_since(Instant::now()) {
            Some(wait) => std::thread::sleep(wait),
            None => late += 1,
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - c0;
    println!(
        "{name}: {n} steps in {wall:.1} s ({:.1}/s), CPU {:.1}% of one core, {:.1} ms CPU per step, {} KB per step, {late} late",
        f64::from(n) / wall,
        cpu / wall * 100.0,
        cpu * 1000.0 / f64::from(n.max(1)),
        bytes / n.max(1) as usize / 1024,
    );
}

/// YUYV frames made from the test pattern, as a camera would send them.
fn yuyv_frames(width: u32, height: u32, count: u64) -> Vec<RawFrame> {
    let pattern = TestPattern::new(width, height);
    (0..count)
        .map(|n| {
            let rgb = pattern.draw(n);
            let mut data = Vec::with_capacity((width * height * 2) as usize);
            let mut seed = n.wrapping_add(1);
            for pair in rgb.pixels.chunks_exact(6) {
                let yuv = |p: &[u8]| {
                    let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
                    let y = 16.0 + 0.257 * r + 0.504 * g + 0.098 * b;
                    let u = 128.0 - 0.148 * r - 0.291 * g + 0.439 * b;
                    let v = 128.0 + 0.439 * r - 0.368 * g - 0.071 * b;
                    (y as u8, u as u8, v as u8)
                };
                let (y0, u, v) = yuv(&pair[..3]);
                let (y1, _, _) = yuv(&pair[3..]);
                // Sensor noise, -7..=8 levels, so that the JPEG encoder works
                // as hard as on a real camera picture (flat test bars
                // compress far better than a face in a room).
                let mut noise = || {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 60) as i16 - 7
                };
                let n0 = (i16::from(y0) + noise()).clamp(16, 235) as u8;
                let n1 = (i16::from(y1) + noise()).clamp(16, 235) as u8;
                data.extend_from_slice(&[n0, u, n1, v]);
            }
            RawFrame {
                format: PixelFormat::Yuyv,
                width,
                height,
                data,
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map(String::as_str).unwrap_or("");
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10.0);
    match what {
        "camera" => {
            let frames = yuyv_frames(640, 480, 60);
            let mut i = 0;
            paced(
                "camera 640x480@30 YUYV->RGB->JPEG q60",
                seconds,
                Duration::from_secs(1) / 30,
                || {
                    let raw = &frames[i % frames.len()];
                    i += 1;
                    let rgb = raw.to_rgb().map_err(|e| e.to_string())?;
                    let rgb = resize(&rgb, 640, 480);
                    encode_jpeg(&rgb, 60)
                        .map(|j| j.len())
                        .map_err(|e| e.to_string())
                },
            );
        }
        "mjpeg" => {
            let mut pattern = TestPattern::new(640, 480);
            let jpegs: Vec<Vec<u8>> = (0..60)
                .filter_map(|_| pattern.next_frame().ok())
                .filter_map(|img| encode_jpeg(&img, 60).ok())
                .collect();
            let mut i = 0;
            paced(
                "camera 640x480@30 MJPEG forwarded",
                seconds,
                Duration::from_secs(1) / 30,
                || {
                    let jpeg = jpegs[i % jpegs.len()].clone();
                    i += 1;
                    Ok(jpeg.len())
                },
            );
        }
        "audio" => {
            let mut mic = match Microphone::open(None) {
                Ok(m) => m,
                Err(e) => return eprintln!("audio: {e}"),
            };
            let mut speaker = match Speaker::open(None) {
                Ok(s) => s,
                Err(e) => return eprintln!("audio: {e}"),
            };
            println!(
                "audio: microphone {} at {} Hz, speaker {} at {} Hz",
                mic.name(),
                mic.device_rate(),
                speaker.name(),
                speaker.device_rate()
            );
            let mut frame = [0i16; FRAME_SAMPLES];
            paced(
                "audio capture+playback 48 kHz",
                seconds,
                Duration::from_millis(10),
                || {
                    mic.read_frame(&mut frame).map_err(|e| e.to_string())?;
                    speaker.write_frame(&frame).map_err(|e| e.to_string())?;
                    Ok(FRAME_SAMPLES * 2)
                },
            );
        }
        "screen" | "screen-keyframes" => {
            let mut screen = match MonitorScreen::open(None) {
                Ok(s) => s,
                Err(e) => return eprintln!("screen: {e}"),
            };
            // The presenter's real pipeline: native size, tiles hashed,
            // only changed tiles encoded (4:4:4, quality 90). With
            // `screen-keyframes` every capture is sent whole, the cost of
            // a screen that changes completely each time.
            let every_keyframe = what == "screen-keyframes";
            let mut encoder = ScreenEncoder::new(ScreenConfig::default());
            encoder.use_patches(true);
            let period = encoder.period();
            paced(
                if every_keyframe {
                    "screen capture->tiles->keyframe JPEG 4:4:4 q90 @10"
                } else {
                    "screen capture->tiles->changed tiles JPEG 4:4:4 q90 @10"
                },
                seconds,
                period,
                || {
                    if every_keyframe {
                        encoder.request_keyframe();
                    }
                    match encoder
                        .next_update(&mut screen)
                        .map_err(|e| e.to_string())?
                    {
                        ScreenUpdate::Unchanged => Ok(0),
                        ScreenUpdate::Keyframe(b) | ScreenUpdate::Patch(b) => Ok(b.len()),
                    }
                },
            );
        }
        _ => eprintln!("usage: bench_devices camera|mjpeg|audio|screen|screen-keyframes [SECONDS]"),
    }
}
