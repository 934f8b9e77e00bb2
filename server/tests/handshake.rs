//! End-to-end: the handshake (create, join, every refusal code and the
//! close that follows it), leaving, host succession and the connection
//! limits, over real loopback sockets (PROTOCOL.md sections 2 and 3).

mod support;

use serde_json::json;

use lanmeet_common::limits::{MEETING_CODE_ALPHABET, MEETING_CODE_LEN};
use lanmeet_server::Config;
use support::*;

#[test]
fn create_gives_a_code_an_id_a_token_and_the_host_role() {
    let server = start_server();
    let alice = create(&server, "Alice");
    let r = &alice.reply;
    assert_eq!(r["is_host"], true);
    assert_eq!(r["udp_port"], server.udp_addr().port());
    assert_eq!(r["max_datagram"], 1400);
    assert_eq!(r["participants"], json!([]));
    assert_eq!(r["presenter"], json!(null));
    assert_eq!(r["locked"], false);
    assert_eq!(r["chat_history"], json!([]));
    assert_eq!(r["files"], json!([]));
    assert_eq!(alice.code.chars().count(), MEETING_CODE_LEN);
    assert!(alice
        .code
        .chars()
        .all(|c| MEETING_CODE_ALPHABET.contains(c)));
    assert_eq!(alice.token.len(), 32);
    assert!(alice.token.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn join_lists_the_others_and_announces_the_joiner() {
    let server = start_server();
    let mut alice = create(&server, "Alice");
    // Codes are matched ignoring case.
    let bob = join(&server, "Bob", &alice.code.to_lowercase());
    assert_eq!(bob.reply["is_host"], false);
    assert_eq!(bob.code, alice.code);
    assert_ne!(bob.id, alice.id);
    assert_ne!(bob.token, alice.token);
    let others = bob.reply["participants"].as_array().unwrap();
    assert_eq!(others.len(), 1, "{others:?}");
    assert_eq!(others[0]["client_id"], alice.id.as_str());
    assert_eq!(others[0]["username"], "Alice");
    assert_eq!(others[0]["is_host"], true);
    assert_eq!(others[0]["raised_at"], json!(null));

    let joined = alice.expect_type("user_joined");
    assert_eq!(joined["client_id"], bob.id.as_str());
    assert_eq!(joined["username"], "Bob");
}

#[test]
fn handshake_errors_are_answered_then_the_connection_closes() {
    let server = start_server();
    let alice = create_with(
        &server,
        &json!({"type":"create_meeting","version":1,"username":"Alice","password":"pw"}),
    );
    let code = alice.code.as_str();

    let wrong_version = json!({"type":"create_meeting","version":2,"username":"Zed"});
    refused(&server, &wrong_version, "version_mismatch");
    refused(&server, &create_request("   "), "bad_request");
    refused(&server, &create_request(&"x".repeat(33)), "bad_request");
    refused(&server, &create_request("tab\there"), "bad_request");
    refused(&server, &json!({"type":"ping"}), "bad_request");
    refused(
        &server,
        &json!({"type":"chat","message":"hi"}),
        "bad_request",
    );
    // Not made of the code alphabet, and well formed but unknown.
    refused(&server, &join_request("Zed", "0O1I00"), "invalid_code");
    let unknown = if code == "ZZZZZZ" { "YYYYYY" } else { "ZZZZZZ" };
    refused(&server, &join_request("Zed", unknown), "invalid_code");
    refused(&server, &join_request("Zed", code), "wrong_password");
    let wrong_pw = json!({"type":"join_meeting","version":1,"username":"Zed",
                          "meeting_code":code,"password":"nope"});
    refused(&server, &wrong_pw, "wrong_password");
    let right_pw = |name: &str| {
        json!({"type":"join_meeting","version":1,"username":name,
               "meeting_code":code,"password":"pw"})
    };
    // Names are unique ignoring case and surrounding space.
    refused(&server, &right_pw(" alice "), "name_taken");
    join_with(&server, &right_pw("Bob"));
}

#[test]
fn a_locked_meeting_refuses_joins_until_unlocked() {
    let server = start_server();
    let mut alice = create(&server, "Alice");
    alice.send(&json!({"type":"lock_meeting","locked":true}));
    assert_eq!(alice.expect_type("meeting_locked")["locked"], true);
    refused(&server, &join_request("Bob", &alice.code), "meeting_locked");
    alice.send(&json!({"type":"lock_meeting","locked":false}));
    assert_eq!(alice.expect_type("meeting_locked")["locked"], false);
    join(&server, "Bob", &alice.code);
}

#[test]
fn a_full_meeting_is_server_full() {
    let server = start_server_with(Config {
        max_participants: 2,
        ..config()
    });
    let members = meeting(&server, &["Alice", "Bob"]);
    refused(
        &server,
        &join_request("Carol", &members[0].code),
        "server_full",
    );
    // Another meeting on the same server still has room.
    create(&server, "Carol");
}

#[test]
fn connections_beyond_the_server_limit_are_server_full() {
    let server = start_server_with(Config {
        max_connections: 1,
        ..config()
    });
    let mut first = Client::connect(&server);
    // Refused on accept, before it says anything.
    let mut second = Client::connect(&server);
    second.expect_error("server_full");
    second.expect_closed();
    first.send(&create_request("Alice"));
    first.expect_type("meeting_created");
}

#[test]
fn a_second_handshake_is_bad_request_and_keeps_the_connection() {
    let server = start_server();
    let mut alice = create(&server, "Alice");
    alice.send(&create_request("Alice"));
    alice.expect_error("bad_request");
    let code = alice.code.clone();
    alice.send(&join_request("Again", &code));
    alice.expect_error("bad_request");
    alice.ping_pong();
}

#[test]
fn leave_closes_and_the_others_are_told() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    m[2].send(&json!({"type":"leave"}));
    m[2].expect_closed();
    let carol = m[2].id.clone();
    for member in &mut m[..2] {
        let v = member.expect_type("user_left");
        assert_eq!(v["client_id"], carol.as_str());
        assert_eq!(v["username"], "Carol");
        assert_eq!(v["reason"], "left");
    }
}

#[test]
fn closing_the_socket_is_leaving() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let bob = m.pop().unwrap();
    let bob_id = bob.id.clone();
    drop(bob);
    let v = m[0].expect_type("user_left");
    assert_eq!(v["client_id"], bob_id.as_str());
    assert_eq!(v["reason"], "left");
}

#[test]
fn the_earliest_remaining_joiner_becomes_host() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    m[0].send(&json!({"type":"leave"}));
    m[0].expect_closed();
    let bob_id = m[1].id.clone();
    for member in &mut m[1..] {
        assert_eq!(member.expect_type("user_left")["reason"], "left");
        assert_eq!(
            member.expect_type("host_changed")["client_id"],
            bob_id.as_str()
        );
    }
    // The new host's commands work.
    m[1].send(&json!({"type":"lock_meeting","locked":true}));
    m[1].expect_type("meeting_locked");
    m[2].expect_type("meeting_locked");
}

#[test]
fn the_last_one_out_deletes_the_meeting() {
    let server = start_server();
    let mut alice = create(&server, "Alice");
    let code = alice.code.clone();
    alice.send(&json!({"type":"leave"}));
    alice.expect_closed();
    refused(&server, &join_request("Bob", &code), "invalid_code");
}

#[test]
fn ids_are_never_reused() {
    let server = start_server();
    let mut seen = std::collections::HashSet::new();
    for round in 0..3 {
        let m = meeting(&server, &["Alice", "Bob"]);
        for member in &m {
            assert!(
                seen.insert(member.id.clone()),
                "round {round}: {} reused",
                member.id
            );
        }
    }
}

// A client that vanishes without a word: client/tests/vanished_client.rs
// stops a real client process (SIGSTOP) and checks the server closes it
// after the idle timeout; the core test
// `silent_connection_times_out_after_30_seconds` checks the 30 s.
