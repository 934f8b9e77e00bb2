//! End-to-end: host commands (mutes and mic locks, mute-all for later
//! joiners too, prompts, removal, locking, handing the role over) and who
//! receives each notice (PROTOCOL.md section 6).

mod support;

use serde_json::json;

use support::*;

#[test]
fn only_the_host_may_command_and_only_people_in_the_meeting() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let alice = m[0].id.clone();
    for command in [
        json!({"type":"mute_participant","target_client_id":alice}),
        json!({"type":"mute_all","lock":true}),
        json!({"type":"lock_meeting","locked":true}),
        json!({"type":"remove_participant","target_client_id":alice}),
        json!({"type":"make_host","target_client_id":"c2"}),
        json!({"type":"request_all_video"}),
    ] {
        m[1].send(&command);
        m[1].expect_error("not_host");
    }
    // Someone in another meeting is no target either.
    let stranger = create(&server, "Stranger");
    m[0].send(&json!({"type":"mute_participant","target_client_id":stranger.id}));
    m[0].expect_error("no_such_participant");
    m[0].send(&json!({"type":"lower_hand","target_client_id":"c999"}));
    m[0].expect_error("no_such_participant");
    m[0].expect_nothing();
    m[1].expect_nothing();
}

#[test]
fn mute_lock_unlock_unmute_one_participant() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let bob = m[1].id.clone();
    let on_bob = |ty: &str| json!({"type":ty,"target_client_id":bob});

    m[0].send(&on_bob("mute_participant"));
    m[1].expect_type("muted_by_host");
    for member in &mut m {
        assert_eq!(
            member.expect_type("participant_muted")["client_id"],
            bob.as_str()
        );
    }

    m[0].send(&on_bob("lock_mic"));
    m[1].expect_type("mic_locked");
    for member in &mut m {
        let v = member.expect_type("participant_mic_locked");
        assert_eq!(v["client_id"], bob.as_str());
    }
    // Bob cannot unmute himself while locked.
    m[1].send(&json!({"type":"audio_state","muted":false}));
    m[1].expect_error("mic_locked");

    m[0].send(&on_bob("unlock_mic"));
    m[1].expect_type("mic_unlocked");
    for member in &mut m {
        member.expect_type("participant_mic_unlocked");
    }
    m[0].send(&on_bob("unmute_participant"));
    m[1].expect_type("unmuted_by_host");
    for member in &mut m {
        assert_eq!(
            member.expect_type("participant_unmuted")["client_id"],
            bob.as_str()
        );
    }
    for member in &mut m {
        member.expect_nothing();
    }
}

#[test]
fn mute_all_with_lock_covers_later_joiners_until_unmute_all() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let bob = m[1].id.clone();
    m[0].send(&json!({"type":"mute_all","lock":true}));
    m[1].expect_types(&["muted_by_host", "participant_muted", "mic_locked"]);
    m[1].expect_type("participant_mic_locked");
    m[0].expect_types(&["participant_muted", "participant_mic_locked"]);

    // A later joiner is muted and locked right after its join reply.
    let mut carol = join(&server, "Carol", &m[0].code.clone());
    let carol_id = carol.id.clone();
    carol.expect_types(&[
        "muted_by_host",
        "mic_locked",
        "participant_muted",
        "participant_mic_locked",
    ]);
    for member in &mut m {
        member.expect_type("user_joined");
        let v = member.expect_types(&["participant_muted", "participant_mic_locked"]);
        assert_eq!(v[0]["client_id"], carol_id.as_str());
    }
    carol.send(&json!({"type":"audio_state","muted":false}));
    carol.expect_error("mic_locked");

    // unmute_all lifts both, for everyone it covered, in join order.
    m[0].send(&json!({"type":"unmute_all"}));
    m.push(carol);
    let notices = [
        "participant_mic_unlocked",
        "participant_unmuted",
        "participant_mic_unlocked",
        "participant_unmuted",
    ];
    let got = m[0].expect_types(&notices);
    assert_eq!(got[0]["client_id"], bob.as_str());
    assert_eq!(got[2]["client_id"], carol_id.as_str());
    m[1].expect_types(&[
        "mic_unlocked",
        "participant_mic_unlocked",
        "unmuted_by_host",
    ]);
    m[1].expect_types(&["participant_unmuted", "participant_mic_unlocked"]);
    m[1].expect_type("participant_unmuted");
    m[2].expect_types(&[
        "participant_mic_unlocked",
        "participant_unmuted",
        "mic_unlocked",
    ]);
    m[2].expect_types(&[
        "participant_mic_unlocked",
        "unmuted_by_host",
        "participant_unmuted",
    ]);

    // And a joiner after that is not muted.
    let mut dave = join(&server, "Dave", &m[0].code.clone());
    dave.expect_nothing();
}

#[test]
fn prompts_reach_their_targets_and_unmuting_accepts() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let (alice, bob) = (m[0].id.clone(), m[1].id.clone());

    m[0].send(&json!({"type":"request_video","target_client_id":bob}));
    assert_eq!(m[1].expect_type("video_requested")["by"], alice.as_str());
    m[0].send(&json!({"type":"request_all_video"}));
    m[1].expect_type("video_requested");
    m[2].expect_type("video_requested");

    // A host mute is lifted by the target's own unmute after a prompt.
    m[0].send(&json!({"type":"mute_participant","target_client_id":bob}));
    m[1].expect_type("muted_by_host");
    for member in &mut m {
        member.expect_type("participant_muted");
    }
    m[0].send(&json!({"type":"request_unmute","target_client_id":bob}));
    assert_eq!(m[1].expect_type("unmute_requested")["by"], alice.as_str());
    m[1].send(&json!({"type":"audio_state","muted":false}));
    for member in &mut m {
        let v = member.expect_type("participant_audio_state");
        assert_eq!(v["client_id"], bob.as_str());
        assert_eq!(v["muted"], false);
    }
    m[0].send(&json!({"type":"request_all_unmute"}));
    m[1].expect_type("unmute_requested");
    m[2].expect_type("unmute_requested");
    m[0].expect_nothing();
}

#[test]
fn the_host_lowers_a_hand() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let bob = m[1].id.clone();
    m[1].send(&json!({"type":"raise_hand","state":true}));
    for member in &mut m {
        member.expect_type("participant_hand_state");
    }
    m[0].send(&json!({"type":"lower_hand","target_client_id":bob}));
    for member in &mut m {
        let v = member.expect_type("participant_hand_state");
        assert_eq!(v["client_id"], bob.as_str());
        assert_eq!(v["state"], false);
    }
}

#[test]
fn a_removed_participant_is_told_then_disconnected() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let (alice, bob) = (m[0].id.clone(), m[1].id.clone());
    m[0].send(&json!({"type":"remove_participant","target_client_id":bob}));
    assert_eq!(m[1].expect_type("removed")["by"], alice.as_str());
    m[1].expect_closed();
    for i in [0, 2] {
        let v = m[i].expect_type("user_left");
        assert_eq!(v["client_id"], bob.as_str());
        assert_eq!(v["reason"], "removed");
    }
    // The host cannot remove itself.
    m[0].send(&json!({"type":"remove_participant","target_client_id":alice}));
    m[0].expect_error("bad_request");
}

#[test]
fn make_host_moves_the_role() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let bob = m[1].id.clone();
    m[0].send(&json!({"type":"make_host","target_client_id":bob}));
    for member in &mut m {
        assert_eq!(
            member.expect_type("host_changed")["client_id"],
            bob.as_str()
        );
    }
    m[0].send(&json!({"type":"lock_meeting","locked":true}));
    m[0].expect_error("not_host");
    m[1].send(&json!({"type":"lock_meeting","locked":true}));
    for member in &mut m {
        member.expect_type("meeting_locked");
    }
}
