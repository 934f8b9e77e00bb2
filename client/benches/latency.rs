//! Mouth-to-ear latency through a real server on loopback, from a
//! synthetic microphone to a synthetic speaker, and (with
//! `--sender-ppm`) what a sender's fast or slow clock does to it over
//! time. No criterion: two sessions, a clock, and a tone detector.
//!
//! ```text
//!  BurstSource (1 kHz, 300 ms on, 700 ms off)   talker Session --UDP--> server (mixer, 10 ms tick)
//!    onset seen in read_frame: t_in                 --UDP--> listener Session: jitter buffer
//!                                                   --> playout --> OnsetSink: onset in write_frame: t_out
//!  latency = t_out - t_in
//! ```
//!
//! ```text
//! cargo bench -p lanmeet-client --bench latency                       # 20 s
//! cargo bench -p lanmeet-client --bench latency -- --seconds 600 --sender-ppm 1000   # drift
//! cargo bench -p lanmeet-client --bench latency -- --no-voice         # without echo/noise processing
//! scripts/with-test-services.sh cargo bench -p lanmeet-client --bench latency -- --devices
//! ```
//!
//! `--devices` plays into the real speaker path instead (cpal, the
//! PulseAudio null sink that `with-test-services.sh` starts) and hears it
//! with the real microphone path on that sink's monitor: the onset is
//! taken when the microphone's frame is read, so the figure includes
//! both sound cards' buffers (as a null device keeps them).
//!
//! The times are when the session's threads hand a frame over: the
//! moment a real microphone's frame would be read, and the moment a real
//! speaker's queue would be given it. A real sound card adds its own
//! buffers on both sides (docs/ARCHITECTURE.md, "Audio latency").
//! Clicks: sample steps over 2.5 times the tone's steepest, inside the
//! bursts as heard.

use std::f64::consts::TAU;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lanmeet_client::media::{AudioSink, AudioSource, MediaError, VoiceSettings};
use lanmeet_client::{Config, Event, MediaPath, Session};
use lanmeet_common::audio::Frame;

const HZ: f64 = 1000.0;
const AMPLITUDE: f64 = 10_000.0;
const ON: usize = 300 * 48;
const PERIOD: usize = 1000 * 48;
/// The null sink's monitor, as `scripts/with-test-services.sh` names it.
const MONITOR: &str = "pulseaudio:lanmeet_null_sink.monitor";

/// Finds burst onsets in a stream: the first sample over a quarter of
/// the amplitude after at least 100 ms under it.
struct Onsets {
    quiet_run: usize,
}

impl Onsets {
    fn new() -> Onsets {
        Onsets { quiet_run: 0 }
    }

    /// Sample indexes in `frame` where a burst starts.
    fn scan(&mut self, frame: &Frame) -> Vec<usize> {
        let mut found = Vec::new();
        for (i, &s) in frame.iter().enumerate() {
            if f64::from(s).abs() > AMPLITUDE / 4.0 {
                if self.quiet_run >= 100 * 48 {
                    found.push(i);
                }
                self.quiet_run = 0;
            } else {
                self.quiet_run += 1;
            }
        }
        found
    }
}

/// Tone bursts with 2 ms ramps; notes when each onset is read.
struct BurstSource {
    n: usize,
    onsets: Onsets,
    seen: Arc<Mutex<Vec<Instant>>>,
}

impl AudioSource for BurstSource {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool, MediaError> {
        let now = Instant::now();
        for s in out.iter_mut() {
            let k = self.n % PERIOD;
            let ramp = (k.min(ON.saturating_sub(k)) as f64 / 96.0).min(1.0);
            let on = if k < ON { ramp } else { 0.0 };
            *s = ((TAU * HZ * self.n as f64 / 48_000.0).sin() * AMPLITUDE * on) as i16;
            self.n += 1;
        }
        for i in self.onsets.scan(out) {
            let at = now + Duration::from_secs_f64(i as f64 / 48_000.0);
            self.seen.lock().expect("not poisoned").push(at);
        }
        Ok(true)
    }
}

/// A speaker that notes when each onset is handed to it, and counts clicks.
struct OnsetSink {
    onsets: Onsets,
    seen: Arc<Mutex<Vec<Instant>>>,
    clicks: Arc<Mutex<u64>>,
    last: i16,
}

impl AudioSink for OnsetSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        let now = Instant::now();
        for i in self.onsets.scan(frame) {
            let at = now + Duration::from_secs_f64(i as f64 / 48_000.0);
            self.seen.lock().expect("not poisoned").push(at);
        }
        let steepest = AMPLITUDE * TAU * HZ / 48_000.0;
        let mut clicks = 0;
        for &s in frame {
            if (f64::from(s) - f64::from(self.last)).abs() > 2.5 * steepest {
                clicks += 1;
            }
            self.last = s;
        }
        *self.clicks.lock().expect("not poisoned") += clicks;
        Ok(())
    }
}

/// Notes onsets on their way into a real speaker.
struct Tap {
    onsets: Onsets,
    seen: Arc<Mutex<Vec<Instant>>>,
    inner: Box<dyn AudioSink>,
}

impl AudioSink for Tap {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        let now = Instant::now();
        for i in self.onsets.scan(frame) {
            let at = now + Duration::from_secs_f64(i as f64 / 48_000.0);
            self.seen.lock().expect("not poisoned").push(at);
        }
        self.inner.write_frame(frame)
    }

    fn finish(&mut self) -> Result<(), MediaError> {
        self.inner.finish()
    }
}

/// For each time in `later`, the time since the last one in `earlier`
/// before it (under 900 ms), in ms, sorted.
fn pair(earlier: &[Instant], later: &[Instant]) -> Vec<f64> {
    let mut out = Vec::new();
    for h in later {
        if let Some(s) = earlier.iter().rev().find(|s| *s < h) {
            let ms = h.duration_since(*s).as_secs_f64() * 1e3;
            if ms < 900.0 {
                out.push(ms);
            }
        }
    }
    out.sort_by(f64::total_cmp);
    out
}

fn main() {
    let mut seconds = 20.0f64;
    let mut ppm = 0.0f64;
    let mut voice = VoiceSettings::default();
    let mut devices = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--seconds S")
            }
            "--sender-ppm" => {
                ppm = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--sender-ppm N")
            }
            "--no-voice" => voice = VoiceSettings::OFF,
            "--devices" => devices = true,
            _ => {} // cargo bench passes --bench
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load.trim());
    let server = lanmeet_server::spawn(lanmeet_server::Config {
        bind: "127.0.0.1".parse().expect("an address literal"),
        port: 0,
        log_dir: None,
        ..Default::default()
    })
    .expect("a server on port 0");
    let addr = server.tcp_addr();
    let mut talker_config = Config::create(&addr.ip().to_string(), addr.port(), "Talker");
    talker_config.voice = voice;
    // A sender clock `ppm` fast sends its frames that much more often.
    talker_config.audio_period = Duration::from_secs_f64(0.010 / (1.0 + ppm * 1e-6));
    let (talker, talker_events) = Session::connect(talker_config).expect("talker joins");
    let code = talker.identity().meeting_code.clone();
    let mut listener_config = Config::join(&addr.ip().to_string(), addr.port(), "Listener", &code);
    listener_config.voice = voice;
    let (listener, listener_events) = Session::connect(listener_config).expect("listener joins");
    for events in [&talker_events, &listener_events] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Event::MediaPath {
                state: MediaPath::Ok,
            }) = events.recv_timeout(Duration::from_millis(100))
            {
                break;
            }
        }
    }
    let sent = Arc::new(Mutex::new(Vec::new()));
    let heard = Arc::new(Mutex::new(Vec::new()));
    let clicks = Arc::new(Mutex::new(0u64));
    let ear = Arc::new(AtomicBool::new(true));
    // With --devices: when each onset was handed to the speaker.
    let to_speaker = Arc::new(Mutex::new(Vec::new()));
    if devices {
        let speaker =
            lanmeet_client::devices::open_speaker(None).expect("a speaker (the null sink)");
        listener
            .start_playback(Box::new(Tap {
                onsets: Onsets::new(),
                seen: to_speaker.clone(),
                inner: speaker,
            }))
            .expect("playback");
        let mut mic = lanmeet_client::devices::open_microphone(Some(MONITOR))
            .expect("the null sink's monitor");
        let (seen, clicks, on) = (heard.clone(), clicks.clone(), ear.clone());
        std::thread::spawn(move || {
            let mut sink = OnsetSink {
                onsets: Onsets::new(),
                seen,
                clicks,
                last: 0,
            };
            let mut frame = [0i16; 480];
            while on.load(Ordering::Relaxed) {
                if mic.read_frame(&mut frame).is_err() {
                    break;
                }
                let _ = sink.write_frame(&frame);
            }
        });
    } else {
        listener
            .start_playback(Box::new(OnsetSink {
                onsets: Onsets::new(),
                seen: heard.clone(),
                clicks: clicks.clone(),
                last: 0,
            }))
            .expect("playback");
    }
    talker
        .start_audio(Box::new(BurstSource {
            n: 0,
            onsets: Onsets::new(),
            seen: sent.clone(),
        }))
        .expect("audio");
    let start = Instant::now();
    let mut minute_clicks = Vec::new();
    while start.elapsed().as_secs_f64() < seconds {
        std::thread::sleep(Duration::from_secs(1));
        // Drain events so the channels do not grow.
        while talker_events.try_recv().is_ok() || listener_events.try_recv().is_ok() {}
        let elapsed = start.elapsed().as_secs();
        if minute_clicks.len() < (elapsed / 60) as usize {
            minute_clicks.push(*clicks.lock().expect("not poisoned"));
        }
    }
    talker.stop_audio();
    std::thread::sleep(Duration::from_millis(300));
    listener.stop_playback();
    ear.store(false, Ordering::Relaxed);
    let sent = sent.lock().expect("not poisoned").clone();
    let heard = heard.lock().expect("not poisoned").clone();
    // Pair each burst heard with the last one sent before it.
    let mut latencies = Vec::new();
    for h in &heard {
        if let Some(s) = sent.iter().rev().find(|s| *s < h) {
            let ms = h.duration_since(*s).as_secs_f64() * 1e3;
            if ms < 900.0 {
                latencies.push((s.duration_since(start).as_secs_f64(), ms));
            }
        }
    }
    // The first two bursts: the jitter buffer settling.
    let settled: Vec<(f64, f64)> = latencies.iter().skip(2).copied().collect();
    let mut ms: Vec<f64> = settled.iter().map(|l| l.1).collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: usize| {
        ms.get((ms.len() * p / 100).min(ms.len().saturating_sub(1)))
            .copied()
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at end: {}", load.trim());
    println!(
        "voice processing: {voice:?}; sender clock {ppm:+} ppm; {seconds} s; {}; bursts sent {}, heard {}",
        if devices { "speaker and microphone: cpal on PulseAudio's null sink and its monitor" } else { "synthetic speaker" },
        sent.len(),
        heard.len()
    );
    if let (Some(p50), Some(p95), Some(max)) = (pct(50), pct(95), ms.last()) {
        println!("mouth-to-ear (synthetic mic to synthetic speaker): p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms");
    }
    // Latency at the start and at the end (first and last 10 settled bursts).
    if settled.len() >= 20 {
        let mean = |s: &[(f64, f64)]| s.iter().map(|l| l.1).sum::<f64>() / s.len() as f64;
        let first = mean(&settled[..10]);
        let last = mean(&settled[settled.len() - 10..]);
        println!(
            "latency first 10 bursts {first:.1} ms, last 10 {last:.1} ms: change {:+.1} ms",
            last - first
        );
    }
    if devices {
        let at_speaker = to_speaker.lock().expect("not poisoned").clone();
        let path = pair(&sent, &at_speaker);
        let device = pair(&at_speaker, &heard);
        let median = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
        println!(
            "of which: talker's frame read to listener's speaker write {:.1} ms, speaker write \
             to monitor read {:.1} ms (medians): the second is the two sound card paths",
            median(&path),
            median(&device)
        );
    }
    let total = *clicks.lock().expect("not poisoned");
    println!(
        "clicks: {total} in {seconds} s ({:.2} a minute); per minute (cumulative): {minute_clicks:?}",
        total as f64 / seconds * 60.0
    );
    let stats = listener.stats();
    println!("listener jitter buffer: {:?}", stats.jitter);
    talker.leave();
    listener.leave();
}
