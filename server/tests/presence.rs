//! End-to-end: presence (camera state, mute state, raised hands, emoji
//! reactions) and who receives each notice (PROTOCOL.md section 5).

mod support;

use serde_json::json;

use support::*;

#[test]
fn video_state_goes_to_the_others_only() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let bob = m[1].id.clone();
    m[1].send(&json!({"type":"video_state","state":"started"}));
    for i in [0, 2] {
        let v = m[i].expect_type("participant_video_state");
        assert_eq!(v["client_id"], bob.as_str());
        assert_eq!(v["state"], "started");
    }
    m[1].expect_nothing();

    // A joiner sees the camera state in its reply.
    let dave = join(&server, "Dave", &m[0].code.clone());
    let listed = dave.reply["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["client_id"] == bob.as_str())
        .cloned()
        .unwrap();
    assert_eq!(listed["video"], true);

    m[1].expect_type("user_joined");
    m[1].send(&json!({"type":"video_state","state":"sideways"}));
    m[1].expect_error("bad_request");
}

#[test]
fn audio_state_goes_to_everyone_sender_included() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let alice = m[0].id.clone();
    m[0].send(&json!({"type":"audio_state","muted":true}));
    for member in &mut m {
        let v = member.expect_type("participant_audio_state");
        assert_eq!(v["client_id"], alice.as_str());
        assert_eq!(v["muted"], true);
    }
    m[0].send(&json!({"type":"audio_state","muted":false}));
    for member in &mut m {
        assert_eq!(
            member.expect_type("participant_audio_state")["muted"],
            false
        );
    }
}

#[test]
fn hands_carry_the_time_they_went_up_in_order() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let mut raised = Vec::new();
    for who in [2, 1] {
        m[who].send(&json!({"type":"raise_hand","state":true}));
        let id = m[who].id.clone();
        let mut stamps = Vec::new();
        for member in &mut m {
            let v = member.expect_type("participant_hand_state");
            assert_eq!(v["client_id"], id.as_str());
            assert_eq!(v["state"], true);
            stamps.push(v["raised_at"].as_f64().unwrap());
        }
        assert!(stamps.windows(2).all(|w| w[0] == w[1]), "one stamp for all");
        raised.push(stamps[0]);
    }
    assert!(raised[0] < raised[1], "Carol raised first: {raised:?}");

    // Raising again keeps the place in the queue.
    m[2].send(&json!({"type":"raise_hand","state":true}));
    for member in &mut m {
        let v = member.expect_type("participant_hand_state");
        assert_eq!(v["raised_at"].as_f64().unwrap(), raised[0]);
    }

    m[2].send(&json!({"type":"raise_hand","state":false}));
    for member in &mut m {
        let v = member.expect_type("participant_hand_state");
        assert_eq!(v["state"], false);
        assert_eq!(v["raised_at"], json!(null));
        assert_eq!(v["username"], "Carol");
    }
}

#[test]
fn emoji_reactions_go_to_everyone_and_are_bounded() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let bob = m[1].id.clone();
    m[1].send(&json!({"type":"emoji_reaction","emoji":"👍"}));
    for member in &mut m {
        let v = member.expect_type("emoji_reaction");
        assert_eq!(v["client_id"], bob.as_str());
        assert_eq!(v["username"], "Bob");
        assert_eq!(v["emoji"], "👍");
    }
    // 16 bytes is the limit: four 4-byte emoji pass, a fifth does not.
    m[1].send(&json!({"type":"emoji_reaction","emoji":"👍👍👍👍"}));
    for member in &mut m {
        member.expect_type("emoji_reaction");
    }
    m[1].send(&json!({"type":"emoji_reaction","emoji":"👍👍👍👍👍"}));
    m[1].expect_error("bad_request");
    m[1].send(&json!({"type":"emoji_reaction","emoji":""}));
    m[1].expect_error("bad_request");
    m[0].expect_nothing();
}
