//! End-to-end: public and private chat, the history a joiner gets, and the
//! stamps only the server may write (PROTOCOL.md section 4).

mod support;

use serde_json::json;

use lanmeet_common::limits::{CHAT_HISTORY_LEN, MAX_CHAT_CHARS};
use lanmeet_common::message::ChatLine;
use lanmeet_common::{ClientMessage, ServerMessage};
use support::*;

#[test]
fn public_chat_goes_to_everyone_else_with_server_stamps() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let bob = m[1].id.clone();
    // The client tries to choose the stamps; the server writes its own.
    m[1].send(&json!({"type":"chat","message":"Hello","client_id":"c999",
                      "username":"Mallory","timestamp":1.0,"private":true}));
    for i in [0, 2] {
        let v = expect_chat(&mut m[i], &bob, "Hello", false);
        assert_eq!(v["username"], "Bob");
        assert!(v["timestamp"].as_f64().unwrap() > 1.7e9, "{v}");
    }
    // The sender shows its own copy: nothing comes back to it.
    m[1].expect_nothing();
}

#[test]
fn chat_from_one_sender_arrives_in_order() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let alice = m[0].id.clone();
    for n in 0..200 {
        m[0].send(&json!({"type":"chat","message":format!("line {n}")}));
    }
    for n in 0..200 {
        expect_chat(&mut m[1], &alice, &format!("line {n}"), false);
    }
}

#[test]
fn private_chat_reaches_only_its_target_and_is_not_kept() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let (alice, carol) = (m[0].id.clone(), m[2].id.clone());
    m[0].send(&json!({"type":"chat","message":"psst","to":carol}));
    let v = expect_chat(&mut m[2], &alice, "psst", true);
    assert_eq!(v["username"], "Alice");
    m[1].expect_nothing();
    m[0].expect_nothing();

    m[0].send(&json!({"type":"chat","message":"psst","to":"c999"}));
    m[0].expect_error("no_such_participant");

    let dave = join(&server, "Dave", &m[0].code.clone());
    assert_eq!(dave.reply["chat_history"], json!([]));
}

#[test]
fn a_joiner_gets_the_last_100_public_lines_oldest_first() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let total = CHAT_HISTORY_LEN + 5;
    for n in 0..total {
        m[0].send(&json!({"type":"chat","message":format!("line {n}")}));
    }
    // Bob's copies prove the server has handled every line.
    let alice = m[0].id.clone();
    for n in 0..total {
        expect_chat(&mut m[1], &alice, &format!("line {n}"), false);
    }
    let carol = join(&server, "Carol", &m[0].code.clone());
    let history = carol.reply["chat_history"].as_array().unwrap();
    assert_eq!(history.len(), CHAT_HISTORY_LEN);
    for (i, line) in history.iter().enumerate() {
        assert_eq!(line["message"], format!("line {}", i + 5));
        assert_eq!(line["client_id"], alice.as_str());
        assert_eq!(line["private"], false);
    }
}

#[test]
fn message_length_is_counted_in_characters() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let alice = m[0].id.clone();
    // 4000 three-byte characters are 12000 bytes but within the limit.
    let longest = "€".repeat(MAX_CHAT_CHARS);
    m[0].send(&json!({"type":"chat","message":longest}));
    expect_chat(&mut m[1], &alice, &longest, false);

    let too_long = "a".repeat(MAX_CHAT_CHARS + 1);
    m[0].send(&json!({"type":"chat","message":too_long}));
    m[0].expect_error("bad_request");
    m[0].send(&json!({"type":"chat","message":""}));
    m[0].expect_error("bad_request");
    m[0].ping_pong();
    m[1].expect_nothing();
}

#[test]
fn the_protocol_crate_types_work_over_the_wire() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let chat = ClientMessage::Chat {
        message: "typed".into(),
        to: Some(m[0].id.clone()),
    };
    m[1].send_message(&chat);
    match m[0].recv_message() {
        ServerMessage::Chat(ChatLine {
            client_id,
            username,
            message,
            private,
            ..
        }) => {
            assert_eq!(client_id, m[1].id);
            assert_eq!(username, "Bob");
            assert_eq!(message, "typed");
            assert!(private);
        }
        other => panic!("expected a chat line, got {other:?}"),
    }
}
