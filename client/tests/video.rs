//! Webcam video through a real server: the test pattern is encoded,
//! fragmented, relayed, reassembled and decoded at the other end.

mod support;

use std::time::{Duration, Instant};

use lanmeet_client::{Event, TestPattern};
use support::*;

/// Mean absolute difference per channel between two same-size images.
fn mean_diff(a: &lanmeet_client::RgbImage, b: &lanmeet_client::RgbImage) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let sum: u64 = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.pixels.len() as f64
}

#[test]
fn test_pattern_arrives_decoded_at_size_and_rate() {
    let server = server();
    let dir = TempDir::new("video");
    let mut a = create(&server, "Cam", dir.path());
    let mut b = join(&server, "Viewer", &a.code(), dir.path());
    let mut c = join(&server, "Viewer2", &a.code(), dir.path());
    wait_media_ok(&mut a);
    wait_media_ok(&mut b);
    wait_media_ok(&mut c);
    let a_id = a.id();

    a.session
        .start_video(Box::new(TestPattern::new(640, 480)))
        .unwrap();
    b.events.wait(
        |e| matches!(e, Event::VideoState { client_id, on: true } if *client_id == a_id),
        "the camera-on notice",
    );
    assert!(b.session.state().participant(&a_id).unwrap().video);
    b.events.wait(
        |e| matches!(e, Event::VideoFrame { client_id, .. } if *client_id == a_id),
        "the first frame",
    );
    // Count frames over two seconds at the default 20 fps.
    let start = Instant::now();
    let before = b.events.seen.len();
    b.events.collect_for(Duration::from_secs(2));
    let secs = start.elapsed().as_secs_f64();
    let frames: Vec<(u32, u32, u32)> = b.events.seen[before..]
        .iter()
        .filter_map(|e| match e {
            Event::VideoFrame {
                client_id,
                frame_seq,
                width,
                height,
                ..
            } if *client_id == a_id => Some((*frame_seq, *width, *height)),
            _ => None,
        })
        .collect();
    let rate = frames.len() as f64 / secs;
    assert!(
        (14.0..=22.0).contains(&rate),
        "{rate:.1} frames per second, expected about 20"
    );
    assert!(frames.iter().all(|&(_, w, h)| (w, h) == (640, 480)));
    assert!(
        frames.windows(2).all(|w| w[1].0 > w[0].0),
        "frames in order"
    );

    // The slot holds the newest frame; it is the pattern it claims to be.
    let frame = b
        .session
        .latest_video_frame(&a_id)
        .expect("a frame in the slot");
    let expected = TestPattern::new(640, 480).draw(u64::from(frame.frame_seq));
    let diff = mean_diff(&frame.image, &expected);
    assert!(
        diff < 8.0,
        "decoded frame differs from the pattern by {diff:.1}"
    );
    assert!(frame.jpeg_bytes > 1000);

    // The third participant sees it too; the sender never sees itself.
    c.events.wait(
        |e| matches!(e, Event::VideoFrame { client_id, .. } if *client_id == a_id),
        "a frame at the second viewer",
    );
    a.events.drain();
    assert!(!a
        .events
        .seen
        .iter()
        .any(|e| matches!(e, Event::VideoFrame { .. })));
    let stats = a.session.stats();
    assert!(stats.video_frames_sent >= 30, "{stats:?}");

    a.session.stop_video().unwrap();
    b.events.wait(
        |e| matches!(e, Event::VideoState { client_id, on: false } if *client_id == a_id),
        "the camera-off notice",
    );
    assert!(b.session.latest_video_frame(&a_id).is_none());
}

#[test]
fn fragments_follow_the_servers_datagram_size() {
    // A big datagram size: each small frame fits in a few fragments.
    let server = server_with(|c| c.max_datagram = 9000);
    let dir = TempDir::new("video-dgram");
    let mut a = create(&server, "Cam", dir.path());
    assert_eq!(a.session.identity().max_datagram, 9000);
    let mut b = join(&server, "Viewer", &a.code(), dir.path());
    wait_media_ok(&mut a);
    wait_media_ok(&mut b);
    let a_id = a.id();
    a.session
        .start_video(Box::new(TestPattern::new(320, 240)))
        .unwrap();
    let e = b.events.wait(
        |e| matches!(e, Event::VideoFrame { client_id, .. } if *client_id == a_id),
        "a frame",
    );
    // Resized to the configured 640x480 whatever the source size.
    assert!(matches!(
        e,
        Event::VideoFrame {
            width: 640,
            height: 480,
            ..
        }
    ));
    a.session.leave();
    b.events.wait(
        |e| matches!(e, Event::ParticipantLeft { client_id, .. } if *client_id == a_id),
        "the camera leaving",
    );
    assert!(b.session.latest_video_frame(&a_id).is_none());
}

/// A camera turned off and on again starts numbering its frames from 0.
/// Receivers must show the new stream at once, not wait until its numbers
/// pass those of the first run (which froze the picture for as long as the
/// camera had been on before).
#[test]
fn a_restarted_camera_is_shown_again_at_once() {
    let server = server();
    let dir = TempDir::new("video-restart");
    let mut a = create(&server, "Cam", dir.path());
    let mut b = join(&server, "Viewer", &a.code(), dir.path());
    wait_media_ok(&mut a);
    wait_media_ok(&mut b);
    let a_id = a.id();
    let from_a = |e: &Event| match e {
        Event::VideoFrame {
            client_id,
            frame_seq,
            ..
        } if *client_id == a_id => Some(*frame_seq),
        _ => None,
    };

    // A first run of 40 frames (2 s at 20 fps).
    a.session
        .start_video(Box::new(TestPattern::new(320, 240)))
        .unwrap();
    b.events.wait(
        |e| from_a(e).is_some_and(|seq| seq >= 40),
        "frame 40 of the first run",
    );
    a.session.stop_video().unwrap();
    b.events.wait(
        |e| matches!(e, Event::VideoState { client_id, on: false } if *client_id == a_id),
        "the camera-off notice",
    );
    b.events.collect_for(Duration::from_millis(200));
    let before = b.events.seen.len();

    // The second run numbers from 0 again.
    a.session
        .start_video(Box::new(TestPattern::new(320, 240)))
        .unwrap();
    let restarted = Instant::now();
    let first = loop {
        if let Some(seq) = b.events.seen[before..].iter().find_map(from_a) {
            break seq;
        }
        assert!(
            restarted.elapsed() < Duration::from_millis(1500),
            "no frame of the restarted camera within 1.5 s (the first run had 40 frames)"
        );
        b.events.collect_for(Duration::from_millis(20));
    };
    assert!(
        first < 20,
        "first frame shown is {first}, not of the new run"
    );
    // And it keeps being shown: about 20 frames a second.
    b.events.collect_for(Duration::from_secs(1));
    let shown = b.events.seen[before..]
        .iter()
        .filter(|e| from_a(e).is_some())
        .count();
    assert!(
        shown >= 10,
        "{shown} frames of the restarted camera in over a second"
    );
    assert!(b.session.latest_video_frame(&a_id).is_some());
}
