//! Section 11 end to end: a real `--headless --video test` sender sends
//! the thumbnail layer once someone subscribes to it, and each receiver
//! gets the layer it asked for: thumbnails are far fewer bytes than the
//! full layer, and `none` is nothing; a sender that only thumbnails are
//! wanted of stops encoding its full layer.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lanmeet_client::core::speaking::parse_subscription;
use lanmeet_client::{Event, TestPattern};
use serde_json::Value;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_lanmeet-client");

/// Starts the binary in the meeting with `extra` arguments; its stdout
/// lines are collected by a thread.
fn spawn(port: &str, code: &str, name: &str, extra: &[&str]) -> (Child, JoinHandle<Vec<String>>) {
    let dir = TempDir::new("thumbs-bin");
    let mut child = Command::new(BIN)
        .args(["--headless", "--host", "127.0.0.1", "--port", port])
        .args(["--name", name, "--join", code])
        .args(extra)
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the client binary runs");
    let stdout = child.stdout.take().expect("stdout is piped");
    let lines = std::thread::spawn(move || {
        let _dir = dir; // the logs live until the binary ends
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect()
    });
    (child, lines)
}

/// Whether a 240x180 picture, a decoded thumbnail, reaches `client` within
/// 30 s.
fn thumbnail_arrives(client: &mut Client) -> bool {
    client
        .events
        .wait_for(
            Duration::from_secs(30),
            |e| {
                matches!(
                    e,
                    Event::VideoFrame {
                        width: 240,
                        height: 180,
                        ..
                    }
                )
            },
            "a thumbnail",
        )
        .is_some()
}

/// The binary's stats line, once it has left.
fn stats_of(mut child: Child, lines: JoinHandle<Vec<String>>) -> Value {
    let status = child.wait().expect("the binary exits");
    assert!(status.success(), "{status}");
    let lines = lines.join().expect("the reader thread ends");
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "stats")
        .unwrap_or_else(|| panic!("no stats line: {lines:?}"))
}

fn layer(stats: &Value, layer: &str, what: &str) -> u64 {
    stats[layer][what]
        .as_u64()
        .unwrap_or_else(|| panic!("no {layer}.{what}: {stats}"))
}

#[test]
fn each_receiver_gets_the_layer_it_subscribed_to() {
    let server = server();
    let dir = TempDir::new("thumbs");
    let mut host = create(&server, "Host", dir.path());
    // The host shows everyone small: the sender is asked for thumbnails.
    host.session
        .send(parse_subscription("default=thumb").unwrap())
        .unwrap();
    let (port, code) = (server.tcp_addr().port().to_string(), host.code());

    let (mut sender, sender_lines) = spawn(
        &port,
        &code,
        "Camera",
        &["--video", "test", "--size", "640x480", "--fps", "20"],
    );
    // Until its thumbnails flow the host gets the full layer (section 11's
    // fall-back); then 240x180 pictures, decoded from 'T' frames.
    assert!(
        thumbnail_arrives(&mut host),
        "the sender's thumbnail layer reaches the host, decoded at 240x180"
    );

    let receivers: Vec<_> = ["thumb", "full", "none"]
        .into_iter()
        .map(|layer| {
            let sub = format!("default={layer}");
            spawn(
                &port,
                &code,
                layer,
                &["--subscribe", &sub, "--seconds", "4"],
            )
        })
        .collect();
    let stats: Vec<Value> = receivers
        .into_iter()
        .map(|(child, lines)| stats_of(child, lines))
        .collect();
    let (thumb, full, none) = (&stats[0], &stats[1], &stats[2]);

    // 10 thumbnails and 20 full frames a second for about 4 s: a few are
    // enough on a busy machine.
    assert!(layer(thumb, "thumb_layer", "frames") >= 3, "{thumb}");
    assert!(layer(full, "full_layer", "frames") >= 3, "{full}");
    assert_eq!(layer(full, "thumb_layer", "frames"), 0, "{full}");
    // 240x180 at quality 50 and 10 fps against 640x480 at 60 and 20 fps:
    // about a sixth (the test pattern's flat bars make the full layer
    // small); a third leaves room for frames lost on a busy machine.
    let thumb_bytes = layer(thumb, "thumb_layer", "bytes") + layer(thumb, "full_layer", "bytes");
    let full_bytes = layer(full, "full_layer", "bytes");
    assert!(
        thumb_bytes * 3 < full_bytes,
        "thumb receiver {thumb_bytes} B, full receiver {full_bytes} B"
    );
    // `none` gets no thumbnail, and no full frame but (at most) one begun
    // between its UDP hello and its subscription reaching the server.
    assert_eq!(layer(none, "thumb_layer", "frames"), 0, "{none}");
    assert!(layer(none, "full_layer", "frames") <= 1, "{none}");

    sender.kill().expect("the sender stops");
    let _ = sender.wait();
    let _ = sender_lines.join();
}

#[test]
fn a_sender_stops_its_full_layer_while_only_thumbnails_are_wanted() {
    let server = server();
    let dir = TempDir::new("thumbs-stop");
    let mut sender = create(&server, "Camera", dir.path());
    sender
        .session
        .start_video(Box::new(TestPattern::new(640, 480)))
        .unwrap();
    let mut viewer = join(&server, "Viewer", &sender.code(), dir.path());
    viewer
        .session
        .send(parse_subscription("default=thumb").unwrap())
        .unwrap();
    // The server asks for the thumbnail, then, once it flows, for nothing
    // else: nobody receives the full layer.
    sender
        .events
        .wait_for(
            Duration::from_secs(30),
            |e| {
                matches!(
                    e,
                    Event::LayersWanted {
                        full: false,
                        thumb: true
                    }
                )
            },
            "only the thumbnail wanted",
        )
        .expect("the server stops wanting the full layer");
    assert!(
        thumbnail_arrives(&mut viewer),
        "the viewer gets 240x180 thumbnails"
    );
    // Five more thumbnails go out; at most the full frame being encoded
    // when the wish came does too.
    let before = sender.session.stats();
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let now = sender.session.stats();
        if now.thumb_frames_sent >= before.thumb_frames_sent + 5 {
            break now;
        }
        assert!(Instant::now() < deadline, "thumbnails stopped: {now:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        after.video_frames_sent <= before.video_frames_sent + 1,
        "full frames went on: {before:?} then {after:?}"
    );
}
