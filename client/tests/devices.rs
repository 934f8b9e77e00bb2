//! Real devices on the test machine's stand-ins: a null PulseAudio source
//! and sink at 48 kHz and an Xvfb display (`scripts/with-test-services.sh`
//! starts them; `make test` runs the tests under it). Without them the
//! tests that need them say why and pass. There is no camera here, which
//! is exactly what the camera test checks.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lanmeet_client::devices::{self, DeviceError, DeviceKind, Microphone, MonitorScreen, Speaker};
use lanmeet_client::{AudioSink, AudioSource, Event, ScreenSource, ToneSource};
use lanmeet_common::audio::FRAME_SAMPLES;
use support::*;

/// Whether the test can run; prints why not.
fn have(var: &str, test: &str) -> bool {
    if std::env::var_os(var).is_some() {
        return true;
    }
    eprintln!(
        "{test}: skipped: {var} is not set (run under scripts/with-test-services.sh, as `make test` does)"
    );
    false
}

#[test]
fn microphone_captures_at_the_real_rate() {
    if !have("PULSE_SERVER", "microphone_captures_at_the_real_rate") {
        return;
    }
    let mut mic = Microphone::open(None).expect("the null source opens");
    let mut frame = [0i16; FRAME_SAMPLES];
    // Let the stream settle, then count for 5 s.
    for _ in 0..10 {
        mic.read_frame(&mut frame).expect("a frame");
    }
    let start = Instant::now();
    let mut frames = 0u64;
    while start.elapsed() < Duration::from_secs(5) {
        assert!(mic.read_frame(&mut frame).expect("a frame"));
        frames += 1;
    }
    let rate = frames as f64 * FRAME_SAMPLES as f64 / start.elapsed().as_secs_f64();
    eprintln!("microphone: {rate:.0} samples/s");
    assert!(
        (rate / 48_000.0 - 1.0).abs() < 0.02,
        "captured {rate:.0} samples/s from {} ({} Hz), expected 48000 +- 2%",
        mic.name(),
        mic.device_rate()
    );
    // The null source is silent.
    assert!(frame.iter().all(|s| s.abs() < 10));
}

/// Unloads a PulseAudio module we loaded when the test ends.
struct Module(String);

impl Drop for Module {
    fn drop(&mut self) {
        let _ = Command::new("pactl")
            .args(["unload-module", &self.0])
            .status();
    }
}

#[test]
fn a_44100_hz_microphone_is_resampled_to_48000() {
    if !have(
        "PULSE_SERVER",
        "a_44100_hz_microphone_is_resampled_to_48000",
    ) {
        return;
    }
    let _module = null_source("lanmeet_test_44k", 44_100);
    let mut mic = Microphone::open(Some("pulseaudio:lanmeet_test_44k")).expect("the source opens");
    assert_eq!(mic.device_rate(), 44_100);
    let mut frame = [0i16; FRAME_SAMPLES];
    for _ in 0..10 {
        mic.read_frame(&mut frame).expect("a frame");
    }
    let start = Instant::now();
    let mut frames = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        assert!(mic.read_frame(&mut frame).expect("a frame"));
        frames += 1;
    }
    let rate = frames as f64 * FRAME_SAMPLES as f64 / start.elapsed().as_secs_f64();
    eprintln!("44.1 kHz microphone: {rate:.0} samples/s after resampling");
    assert!(
        (rate / 48_000.0 - 1.0).abs() < 0.02,
        "{rate:.0} samples/s, expected 48000 +- 2%"
    );
}

/// Loads a null source at `rate` named `name`; unloaded when dropped.
fn null_source(name: &str, rate: u32) -> Module {
    let loaded = Command::new("pactl")
        .args([
            "load-module",
            "module-null-source",
            &format!("source_name={name}"),
            &format!("rate={rate}"),
        ])
        .output()
        .expect("pactl runs");
    assert!(loaded.status.success(), "pactl load-module failed");
    Module(String::from_utf8_lossy(&loaded.stdout).trim().to_string())
}

#[test]
fn a_microphone_that_fails_is_reported_and_can_be_opened_again() {
    if !have("PULSE_SERVER", "a_microphone_that_fails_...") {
        return;
    }
    let name = "lanmeet_test_fail";
    let id = format!("pulseaudio:{name}");
    let module = null_source(name, 48_000);
    let mut mic = Microphone::open(Some(&id)).expect("the source opens");
    let mut frame = [0i16; FRAME_SAMPLES];
    mic.read_frame(&mut frame).expect("a frame");

    // The device stops delivering sound, as a failing one does.
    let suspend = |on: &str| {
        let ok = Command::new("pactl")
            .args(["suspend-source", name, on])
            .status()
            .map(|s| s.success());
        assert!(matches!(ok, Ok(true)), "pactl suspend-source {name} {on}");
    };
    suspend("1");
    let t0 = Instant::now();
    let err = loop {
        match mic.read_frame(&mut frame) {
            Ok(_) => assert!(t0.elapsed() < Duration::from_secs(3), "still reading"),
            Err(e) => break e,
        }
    };
    let text = err.to_string();
    assert!(text.starts_with("Null Input"), "names the device: {text}");
    drop(mic);
    suspend("0");

    // Opening it again works.
    let mut mic = Microphone::open(Some(&id)).expect("the source opens again");
    mic.read_frame(&mut frame).expect("a frame after reopening");
    drop(mic);

    // Unplugged: opening says there is no such microphone.
    drop(module);
    let missing = Microphone::open(Some(&id))
        .err()
        .expect("no such source now");
    assert_eq!(
        missing,
        DeviceError::Missing {
            kind: DeviceKind::Microphone,
            id: Some(id.clone())
        }
    );
}

#[test]
fn speaker_consumes_at_the_real_rate() {
    if !have("PULSE_SERVER", "speaker_consumes_at_the_real_rate") {
        return;
    }
    let mut speaker = Speaker::open(None).expect("the null sink opens");
    let mut tone = ToneSource::new(440.0);
    let mut frame = [0i16; FRAME_SAMPLES];
    // Feed like the playout thread: one frame per 10 ms from a clock.
    let mut feed = |speaker: &mut Speaker, frame: &mut [i16; FRAME_SAMPLES], d: Duration| {
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < d {
            tone.read_frame(frame).expect("the tone never ends");
            speaker.write_frame(frame).expect("the speaker plays");
            n += 1;
            let due = start + Duration::from_millis(10) * n;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    };
    // An idle null sink notices a new stream only after its current sleep
    // (up to about 2 s): wait until the device takes more than the first
    // buffer-full, then measure.
    let first = Instant::now();
    feed(&mut speaker, &mut frame, Duration::from_millis(100));
    let initial = speaker.frames_consumed();
    while speaker.frames_consumed() <= initial && first.elapsed() < Duration::from_secs(5) {
        feed(&mut speaker, &mut frame, Duration::from_millis(50));
    }
    feed(&mut speaker, &mut frame, Duration::from_millis(200));
    let (t0, c0) = (Instant::now(), speaker.frames_consumed());
    feed(&mut speaker, &mut frame, Duration::from_secs(5));
    let consumed = speaker.frames_consumed() - c0;
    let rate = consumed as f64 / t0.elapsed().as_secs_f64();
    let want = f64::from(speaker.device_rate());
    eprintln!("speaker: {rate:.0} frames/s at {want} Hz");
    assert!(
        (rate / want - 1.0).abs() < 0.02,
        "{} consumed {rate:.0} frames/s, expected {want} +- 2% ({} underruns, {} frames dropped)",
        speaker.name(),
        speaker.underruns(),
        speaker.dropped_frames()
    );
    let _ = speaker.finish();
}

#[test]
fn a_speaker_queue_is_trimmed_in_quiet_frames_only() {
    if !have(
        "PULSE_SERVER",
        "a_speaker_queue_is_trimmed_in_quiet_frames_only",
    ) {
        return;
    }
    let mut speaker = Speaker::open(None).expect("the null sink opens");
    // A burst of silence, far faster than the device plays: only a few
    // frames are queued, the rest left out, none dropped as overflow.
    let silence = [0i16; FRAME_SAMPLES];
    for _ in 0..20 {
        speaker.write_frame(&silence).expect("the speaker plays");
    }
    assert!(
        speaker.trimmed_frames() >= 10,
        "{}",
        speaker.trimmed_frames()
    );
    assert_eq!(speaker.dropped_frames(), 0);
    // Sound is never trimmed: a burst of tone overflows instead.
    let mut tone = ToneSource::new(440.0);
    let mut frame = [0i16; FRAME_SAMPLES];
    let trimmed = speaker.trimmed_frames();
    for _ in 0..20 {
        tone.read_frame(&mut frame).expect("the tone never ends");
        speaker.write_frame(&frame).expect("the speaker plays");
    }
    assert_eq!(speaker.trimmed_frames(), trimmed);
    assert!(
        speaker.dropped_frames() >= 10,
        "{}",
        speaker.dropped_frames()
    );
    let _ = speaker.finish();
}

/// Kills the X client we started when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn screen_capture_shows_what_is_on_the_display() {
    if !have("DISPLAY", "screen_capture_shows_what_is_on_the_display") {
        return;
    }
    let monitors = devices::list().monitors;
    assert!(!monitors.is_empty(), "Xvfb has a monitor");
    // Something recognisable in the top-left corner: a red xlogo window.
    let child = match Command::new("xlogo")
        .args([
            "-bg",
            "#ff0000",
            "-fg",
            "#0000ff",
            "-geometry",
            "300x200+0+0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => Killed(c),
        Err(e) => {
            eprintln!("screen test: skipped: cannot run xlogo (x11-apps): {e}");
            return;
        }
    };
    let mut screen = MonitorScreen::open(None).expect("the Xvfb screen opens");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let img = screen.capture().expect("a capture");
        assert_eq!((img.width, img.height), (1600, 1000), "Xvfb's screen size");
        let red = (0..10)
            .flat_map(|i| (0..10).map(move |j| (20 + i * 25, 15 + j * 17)))
            .filter(|&(x, y)| {
                let [r, g, b] = img.get(x, y);
                r > 200 && g < 50 && b < 50
            })
            .count();
        if red >= 50 {
            // And far from the window, the root window is not red.
            let [r, g, b] = img.get(1500, 900);
            assert!(!(r > 200 && g < 50 && b < 50), "the whole screen is red");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the red window never showed in the capture ({red} red points)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(child);
}

#[test]
fn a_missing_camera_is_a_clear_error_and_the_session_goes_on() {
    if !devices::list().cameras.is_empty() {
        eprintln!("missing camera test: skipped: this machine has a camera");
        return;
    }
    let err = devices::open_camera(None, 640, 480, 20)
        .err()
        .expect("no camera to open");
    assert_eq!(
        err,
        DeviceError::Missing {
            kind: DeviceKind::Camera,
            id: None
        }
    );
    assert_eq!(err.to_string(), "no camera found");
    let err = devices::open_camera(Some("3"), 640, 480, 20)
        .err()
        .expect("no camera 3");
    assert_eq!(err.kind(), DeviceKind::Camera);
    assert!(err.to_string().contains("camera"), "{err}");

    // The session does not care: chat works, and so does audio (here
    // through push-to-talk).
    let server = server();
    let dir = TempDir::new("devices-camera");
    let a = create(&server, "Ann", dir.path());
    let mut b = join(&server, "Ben", &a.code(), dir.path());
    a.session
        .chat("no camera, still here", None)
        .expect("chat works");
    b.events.wait(
        |e| matches!(e, Event::Chat(l) if l.message == "no camera, still here"),
        "the line from a client with no camera",
    );
    a.session.set_push_to_talk(true);
    assert!(a.session.push_to_talk());
    a.session
        .start_audio(Box::new(ToneSource::new(500.0)))
        .expect("audio starts");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        a.session.stats().audio_frames_sent,
        0,
        "key up: nothing sent"
    );
    a.session.talk(true);
    std::thread::sleep(Duration::from_millis(300));
    let sent = a.session.stats().audio_frames_sent;
    assert!(sent >= 10, "key down: frames sent ({sent})");
    a.session.talk(false);
    std::thread::sleep(Duration::from_millis(50));
    let after = a.session.stats().audio_frames_sent;
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a.session.stats().audio_frames_sent, after, "key up again");
}

#[test]
fn the_headless_client_goes_on_without_a_camera() {
    if !devices::list().cameras.is_empty() {
        eprintln!("headless camera test: skipped: this machine has a camera");
        return;
    }
    let server = server();
    let dir = TempDir::new("devices-headless");
    let port = server.tcp_addr().port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_lanmeet-client"))
        .args(["--headless", "--host", "127.0.0.1", "--port", &port])
        .args(["--name", "Cam", "--create", "--video", "camera"])
        .args(["--say", "no camera here", "--seconds", "1"])
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .stderr(Stdio::null())
        .output()
        .expect("the client binary runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&r#"{"event":"error","message":"no camera found"}"#),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains(r#""event":"joined""#)),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains(r#""event":"stats""#)),
        "{text}"
    );
}

#[test]
fn list_devices_prints_every_kind() {
    let out = Command::new(env!("CARGO_BIN_EXE_lanmeet-client"))
        .arg("--list-devices")
        .output()
        .expect("the client runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for section in ["Cameras", "Microphones", "Speakers", "Monitors"] {
        assert!(text.contains(section), "{section} missing from:\n{text}");
    }
    if std::env::var_os("PULSE_SERVER").is_some() {
        assert!(text.contains("lanmeet_null_source"), "{text}");
        assert!(text.contains("lanmeet_null_sink"), "{text}");
    }
}
