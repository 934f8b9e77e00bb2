//! End-to-end: screen patches over real sockets (PROTOCOL.md section 19):
//! patches in order, a slow viewer that recovers at the next keyframe, a
//! late joiner rebuilt from the keyframe and the patches since, and a
//! version 1 viewer that gets keyframes only.

mod support;

use serde_json::{json, Value};

use lanmeet_common::base64;
use support::*;

fn keyframe(fill: u8, len: usize) -> Value {
    json!({"type":"screen_frame","frame_data":base64::encode(&vec![fill; len]),
           "width":1920,"height":1080})
}

fn patch(fill: u8, len: usize) -> Value {
    json!({"type":"screen_patch","patches":[
        {"x":64,"y":128,"width":64,"height":64,"frame_data":base64::encode(&vec![fill; len])}]})
}

fn fill_of(v: &Value) -> u8 {
    let data = match v["type"].as_str() {
        Some("screen_patch") => &v["patches"][0]["frame_data"],
        _ => &v["frame_data"],
    };
    base64::decode(data.as_str().unwrap()).unwrap()[0]
}

fn named(name: &str, code: Option<&str>) -> Value {
    match code {
        None => json!({"type":"create_meeting","version":1,"username":name,
                       "features":["screen_patches"]}),
        Some(code) => json!({"type":"join_meeting","version":1,"username":name,
                             "meeting_code":code,"features":["screen_patches"]}),
    }
}

#[test]
fn patches_arrive_in_order_and_a_late_joiner_gets_them_after_the_keyframe() {
    let server = start_server();
    let mut pam = create_with(&server, &named("Pam", None));
    assert!(pam.reply["features"]
        .as_array()
        .unwrap()
        .contains(&json!("screen_patches")));
    let code = pam.code.clone();
    let mut vic = join_with(&server, &named("Vic", Some(&code)));
    pam.expect_type("user_joined");
    pam.send(&json!({"type":"request_screen_share"}));
    pam.expect_type("screen_share_started");
    vic.expect_type("screen_share_started");
    pam.send(&keyframe(1, 5000));
    for fill in 2..=20 {
        pam.send(&patch(fill, 300));
    }
    assert_eq!(fill_of(&vic.expect_type("screen_frame")), 1);
    for fill in 2..=20 {
        let v = vic.expect_type("screen_patch");
        assert_eq!(fill_of(&v), fill);
        assert_eq!(v["presenter_id"], pam.id.as_str());
        assert_eq!(v["patches"][0]["x"], 64);
    }
    pam.ping_pong();
    let mut late = join_with(&server, &named("Late", Some(&code)));
    assert_eq!(fill_of(&late.expect_type("screen_frame")), 1);
    for fill in 2..=20 {
        assert_eq!(fill_of(&late.expect_type("screen_patch")), fill);
    }
    late.expect_nothing();
    pam.expect_type("user_joined");
    vic.expect_type("user_joined");
    pam.expect_nothing();
}

#[test]
fn a_slow_viewer_gets_nothing_more_until_the_next_keyframe_then_recovers() {
    let server = start_server();
    let mut pam = create_with(&server, &named("Pam", None));
    let code = pam.code.clone();
    let mut slow = Client::connect_with_receive_buffer(&server, 4096);
    slow.send(&named("Slow", Some(&code)));
    slow.expect_type("join_success");
    pam.expect_type("user_joined");
    pam.send(&json!({"type":"request_screen_share"}));
    pam.expect_type("screen_share_started");
    pam.send(&keyframe(1, 100_000));
    // Slow reads nothing while 60 patches of 100 KB come: its queue backs
    // up, so the server drops its screen data and asks for a keyframe.
    for fill in 2..=61 {
        pam.send(&patch(fill, 100_000));
    }
    let request = pam.expect_type("screen_keyframe_request");
    assert_eq!(request, json!({"type":"screen_keyframe_request"}));
    pam.send(&json!({"type":"chat","message":"flood over"}));
    pam.ping_pong();

    // Slow reads again: what it gets is whole up to the gap, then nothing
    // of the screen.
    slow.expect_type("screen_share_started");
    let mut seen = Vec::new();
    loop {
        let v = slow.recv();
        match v["type"].as_str().unwrap() {
            "screen_frame" | "screen_patch" => seen.push(fill_of(&v)),
            "chat" => break,
            _ => panic!("unexpected {v}"),
        }
    }
    assert!(seen.len() < 61, "screen data was dropped: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap: {seen:?}"
    );
    // The keyframe asked for brings it back, and patches follow it again.
    pam.send(&keyframe(100, 1000));
    pam.send(&patch(101, 100));
    assert_eq!(fill_of(&slow.expect_type("screen_frame")), 100);
    assert_eq!(fill_of(&slow.expect_type("screen_patch")), 101);
    slow.ping_pong();
}

#[test]
fn a_version_1_viewer_gets_keyframes_only_and_the_presenter_is_asked_for_them() {
    let server = start_server();
    let mut pam = create_with(&server, &named("Pam", None));
    let code = pam.code.clone();
    let mut old = join(&server, "Old", &code);
    assert!(old.reply.get("features").is_none());
    pam.expect_type("user_joined");
    pam.send(&json!({"type":"request_screen_share"}));
    pam.expect_type("screen_share_started");
    old.expect_type("screen_share_started");
    pam.send(&keyframe(1, 1000));
    assert_eq!(fill_of(&old.expect_type("screen_frame")), 1);
    pam.send(&patch(2, 100));
    pam.expect_type("screen_keyframe_request");
    pam.send(&keyframe(3, 1000));
    assert_eq!(fill_of(&old.expect_type("screen_frame")), 3);
    old.expect_nothing();
    // A presenter that named no features may not send patches.
    pam.send(&json!({"type":"stop_screen_share"}));
    old.expect_type("screen_share_stopped");
    old.send(&json!({"type":"request_screen_share"}));
    old.expect_type("screen_share_started");
    old.send(&keyframe(4, 100));
    old.send(&patch(5, 100));
    old.expect_error("bad_request");
}
