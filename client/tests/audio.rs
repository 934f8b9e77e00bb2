//! Audio through a real server's mixer: tones go in, WAV recordings come
//! out, and a Goertzel scan says who was heard.

mod support;

use std::time::Duration;

use lanmeet_client::wav::{read_wav, WavWriter};
use lanmeet_client::{Event, ToneSource};
use support::*;

/// The recording minus its first 300 ms (the jitter buffer filling).
fn recording(path: &std::path::Path) -> Vec<i16> {
    let wav = read_wav(path).expect("a readable recording");
    assert_eq!(wav.rate, 48_000);
    wav.samples.get(14_400..).unwrap_or_default().to_vec()
}

fn assert_tone(samples: &[i16], hz: f64, who: &str) {
    assert!(
        samples.len() > 24_000,
        "{who}: only {} samples",
        samples.len()
    );
    assert!(
        rms(samples) > 1000.0,
        "{who}: silence (rms {:.0})",
        rms(samples)
    );
    let found = dominant_frequency(samples, 48_000.0, 300.0, 1300.0);
    assert!(
        (found - hz).abs() <= hz * 0.02,
        "{who}: dominant {found} Hz, expected {hz} Hz"
    );
}

#[test]
fn tones_are_heard_by_the_others_and_not_by_their_senders() {
    let server = server();
    let dir = TempDir::new("audio");
    let mut a = create(&server, "Low", dir.path());
    let mut b = join(&server, "High", &a.code(), dir.path());
    let mut c = join(&server, "Ear", &a.code(), dir.path());
    for client in [&mut a, &mut b, &mut c] {
        wait_media_ok(client);
    }
    let paths = [dir.join("a.wav"), dir.join("b.wav"), dir.join("c.wav")];
    for (client, path) in [&a, &b, &c].iter().zip(&paths) {
        client
            .session
            .start_playback(Box::new(WavWriter::create(path).unwrap()))
            .unwrap();
    }
    a.session
        .start_audio(Box::new(ToneSource::new(600.0)))
        .unwrap();
    b.session
        .start_audio(Box::new(ToneSource::new(900.0)))
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let jitter = c.session.stats().jitter;
    for client in [&a, &b, &c] {
        client.session.stop_playback();
    }

    let heard_by_a = recording(&paths[0]);
    let heard_by_b = recording(&paths[1]);
    let heard_by_c = recording(&paths[2]);
    assert_tone(&heard_by_a, 900.0, "Low hears High");
    assert_tone(&heard_by_b, 600.0, "High hears Low");
    // Not themselves: the own tone is far below the other's.
    let own_a = tone_power(&heard_by_a, 48_000.0, 600.0);
    let other_a = tone_power(&heard_by_a, 48_000.0, 900.0);
    assert!(
        own_a < other_a / 1000.0,
        "Low hears itself: {own_a} vs {other_a}"
    );
    let own_b = tone_power(&heard_by_b, 48_000.0, 900.0);
    let other_b = tone_power(&heard_by_b, 48_000.0, 600.0);
    assert!(
        own_b < other_b / 1000.0,
        "High hears itself: {own_b} vs {other_b}"
    );
    // The listener hears both.
    let p600 = tone_power(&heard_by_c, 48_000.0, 600.0);
    let p900 = tone_power(&heard_by_c, 48_000.0, 900.0);
    let p750 = tone_power(&heard_by_c, 48_000.0, 750.0);
    assert!(
        p600 > 100.0 * p750 && p900 > 100.0 * p750,
        "{p600} {p900} {p750}"
    );

    // The jitter buffer reports sensible numbers: on loopback the
    // measured jitter is small, so the target is at most the 30 ms it
    // started with.
    assert!(jitter.target_ms <= 30, "{jitter:?}");
    assert!(jitter.played > 50, "{jitter:?}");
    assert!(jitter.depth_ms <= 90, "{jitter:?}");
}

#[test]
fn self_mute_stops_sending_and_tells_the_others() {
    let server = server();
    let dir = TempDir::new("mute");
    let mut a = create(&server, "Talker", dir.path());
    let mut b = join(&server, "Listener", &a.code(), dir.path());
    wait_media_ok(&mut a);
    wait_media_ok(&mut b);
    let a_id = a.id();
    a.session
        .start_audio(Box::new(ToneSource::new(500.0)))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let received = b.session.stats().audio_frames_received;
    assert!(received > 10, "{received} frames at the listener");
    // Paced by a clock: about 100 frames per second.
    let sent = a.session.stats().audio_frames_sent;
    assert!((20..=45).contains(&sent), "{sent} frames in 300 ms");

    a.session.set_muted(true).unwrap();
    b.events.wait(
        |e| matches!(e, Event::Muted { client_id, muted: true } if *client_id == a_id),
        "the mute notice",
    );
    let sent_at_mute = a.session.stats().audio_frames_sent;
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a.session.stats().audio_frames_sent, sent_at_mute);

    a.session.set_muted(false).unwrap();
    a.events.wait(
        |e| matches!(e, Event::Muted { client_id, muted: false } if *client_id == a_id),
        "the server confirming the unmute",
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(a.session.stats().audio_frames_sent > sent_at_mute + 5);
}

/// A 16-bit stereo WAV at 44.1 kHz holding a tone (left and right equal).
fn write_cd_tone(path: &std::path::Path, hz: f64, secs: f64) {
    let rate = 44_100u32;
    let n = (f64::from(rate) * secs) as u32;
    let mut bytes = b"RIFF".to_vec();
    bytes.extend_from_slice(&(36 + n * 4).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 4).to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(n * 4).to_le_bytes());
    for i in 0..n {
        let t = f64::from(i) / f64::from(rate);
        let s = ((std::f64::consts::TAU * hz * t).sin() * 9000.0) as i16;
        bytes.extend_from_slice(&s.to_le_bytes());
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_wav_file_is_resampled_and_heard() {
    let server = server();
    let dir = TempDir::new("audio-wav");
    let mut a = create(&server, "Player", dir.path());
    let mut b = join(&server, "Ear", &a.code(), dir.path());
    wait_media_ok(&mut a);
    wait_media_ok(&mut b);
    let clip = dir.join("clip.wav");
    write_cd_tone(&clip, 700.0, 3.0);
    let heard = dir.join("heard.wav");
    b.session
        .start_playback(Box::new(WavWriter::create(&heard).unwrap()))
        .unwrap();
    let source = lanmeet_client::wav::WavSource::open(&clip, false).unwrap();
    a.session.start_audio(Box::new(source)).unwrap();
    std::thread::sleep(Duration::from_millis(1300));
    b.session.stop_playback();
    assert_tone(&recording(&heard), 700.0, "the WAV clip");
}
