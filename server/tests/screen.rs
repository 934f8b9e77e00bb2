//! End-to-end: screen sharing over TCP (one presenter at a time, frames to
//! everyone else, the latest frame for late joiners, stopping, and frames
//! coalesced for a viewer that falls behind) (PROTOCOL.md section 7).

mod support;

use serde_json::{json, Value};

use lanmeet_common::base64;
use support::*;

/// A screen frame whose JPEG bytes are `len` copies of `fill`.
fn frame(fill: u8, len: usize) -> Value {
    json!({"type":"screen_frame","frame_data":base64::encode(&vec![fill; len]),
           "width":1280,"height":720})
}

/// The `fill` byte of a received frame.
fn fill_of(v: &Value) -> u8 {
    base64::decode(v["frame_data"].as_str().unwrap()).unwrap()[0]
}

#[test]
fn one_presenter_at_a_time() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let bob = m[1].id.clone();
    m[1].send(&json!({"type":"request_screen_share"}));
    for member in &mut m {
        let v = member.expect_type("screen_share_started");
        assert_eq!(v["presenter_id"], bob.as_str());
    }
    m[2].send(&json!({"type":"request_screen_share"}));
    let v = m[2].expect_type("screen_share_denied");
    assert_eq!(v["current_presenter"], bob.as_str());
    m[0].expect_nothing();
}

#[test]
fn frames_go_unchanged_to_everyone_but_the_presenter() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let bob = m[1].id.clone();
    m[1].send(&json!({"type":"request_screen_share"}));
    for member in &mut m {
        member.expect_type("screen_share_started");
    }
    let sent = frame(7, 300_000);
    m[1].send(&sent);
    for i in [0, 2] {
        let v = m[i].expect_type("screen_frame");
        assert_eq!(v["presenter_id"], bob.as_str());
        assert_eq!(v["frame_data"], sent["frame_data"]);
        assert_eq!(v["width"], 1280);
        assert_eq!(v["height"], 720);
    }
    m[1].expect_nothing();

    // Only the presenter sends frames; a bad frame is refused whoever sends it.
    m[0].send(&frame(1, 10));
    m[0].expect_error("not_presenter");
    m[1].send(&json!({"type":"screen_frame","frame_data":"","width":1,"height":1}));
    m[1].expect_error("bad_request");
    m[1].send(&json!({"type":"screen_frame","frame_data":"AAAA","width":0,"height":1}));
    m[1].expect_error("bad_request");
    m[1].send(&json!({"type":"screen_frame","frame_data":"AAAA","width":16385,"height":1}));
    m[1].expect_error("bad_request");
    m[2].expect_nothing();
}

#[test]
fn a_late_joiner_gets_the_presenter_and_the_latest_frame() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    m[1].send(&json!({"type":"request_screen_share"}));
    for member in &mut m {
        member.expect_type("screen_share_started");
    }
    for fill in 1..=3 {
        m[1].send(&frame(fill, 1000));
        assert_eq!(fill_of(&m[0].expect_type("screen_frame")), fill);
    }
    let mut carol = join(&server, "Carol", &m[0].code.clone());
    assert_eq!(carol.reply["presenter"], m[1].id.as_str());
    let v = carol.expect_type("screen_frame");
    assert_eq!(fill_of(&v), 3);
    carol.expect_nothing();
}

#[test]
fn the_presenter_or_the_host_stops_the_share() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let bob = m[1].id.clone();
    // Nobody presents: ignored.
    m[1].send(&json!({"type":"stop_screen_share"}));
    m[1].expect_nothing();

    m[1].send(&json!({"type":"request_screen_share"}));
    for member in &mut m {
        member.expect_type("screen_share_started");
    }
    m[2].send(&json!({"type":"stop_screen_share"}));
    m[2].expect_error("not_host");
    m[1].send(&json!({"type":"stop_screen_share"}));
    for member in &mut m {
        assert_eq!(
            member.expect_type("screen_share_stopped")["presenter_id"],
            bob.as_str()
        );
    }

    // Now Carol presents and the host (Alice) ends it.
    let carol = m[2].id.clone();
    m[2].send(&json!({"type":"request_screen_share"}));
    for member in &mut m {
        member.expect_type("screen_share_started");
    }
    m[0].send(&json!({"type":"stop_screen_share"}));
    for member in &mut m {
        assert_eq!(
            member.expect_type("screen_share_stopped")["presenter_id"],
            carol.as_str()
        );
    }
    // A joiner after that sees no presenter and gets no frame.
    let mut dave = join(&server, "Dave", &m[0].code.clone());
    assert_eq!(dave.reply["presenter"], json!(null));
    dave.expect_nothing();
}

#[test]
fn the_presenter_leaving_ends_the_share() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let bob = m[1].id.clone();
    m[1].send(&json!({"type":"request_screen_share"}));
    for member in &mut m {
        member.expect_type("screen_share_started");
    }
    drop(m.pop());
    m[0].expect_type("user_left");
    assert_eq!(
        m[0].expect_type("screen_share_stopped")["presenter_id"],
        bob.as_str()
    );
    // The role is free again.
    m[0].send(&json!({"type":"request_screen_share"}));
    m[0].expect_type("screen_share_started");
}

#[test]
fn a_viewer_that_falls_behind_gets_the_newest_frame_not_every_frame() {
    let server = start_server();
    let mut alice = create(&server, "Alice");
    let code = alice.code.clone();
    // Bob's small receive buffer backs frames up into the server quickly.
    let mut bob = Client::connect_with_receive_buffer(&server, 4096);
    bob.send(&join_request("Bob", &code));
    bob.expect_type("join_success");
    alice.expect_type("user_joined");
    alice.send(&json!({"type":"request_screen_share"}));
    alice.expect_type("screen_share_started");

    // 100 frames of 200 KB while Bob reads nothing: 20 MB, far more than
    // the kernel buffers between them hold.
    const FRAMES: u8 = 100;
    for fill in 1..=FRAMES {
        alice.send(&frame(fill, 150_000));
    }
    alice.send(&json!({"type":"chat","message":"after the frames"}));
    // Alice's pong means the server has handled every frame she sent.
    alice.ping_pong();

    bob.expect_type("screen_share_started");
    let mut seen = Vec::new();
    loop {
        let v = bob.recv();
        match v["type"].as_str().unwrap() {
            "screen_frame" => seen.push(fill_of(&v)),
            "chat" => break,
            _ => panic!("unexpected {v}"),
        }
    }
    println!("Bob got {} of {FRAMES} frames", seen.len());
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order: {seen:?}");
    assert!(seen.len() < usize::from(FRAMES), "frames were coalesced");
    // A newer frame takes the place of a waiting one at the back of the
    // queue: the newest is kept, and still comes before the later chat.
    assert_eq!(seen.last(), Some(&FRAMES));
    bob.ping_pong();
}

#[test]
fn a_screen_frame_at_the_4_mib_limit_is_relayed_whole() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    m[0].send(&json!({"type":"request_screen_share"}));
    for member in &mut m {
        member.expect_type("screen_share_started");
    }
    // The largest JPEG whose frame still fits in a 4 MiB client frame; the
    // relayed frame is a little larger, which clients accept (up to 8 MiB).
    let jpeg: Vec<u8> = (0..3_145_000u32).map(|i| (i % 251) as u8).collect();
    let sent = json!({"type":"screen_frame","frame_data":base64::encode(&jpeg),
                      "width":3840,"height":2160});
    let len = sent.to_string().len();
    assert!(len <= lanmeet_common::limits::MAX_CLIENT_FRAME && len > 4_190_000);
    m[0].send(&sent);
    let v = m[1].expect_type("screen_frame");
    assert_eq!(
        base64::decode(v["frame_data"].as_str().unwrap()).unwrap(),
        jpeg
    );
    m[1].ping_pong();
}
