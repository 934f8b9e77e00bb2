//! Fuzz target: control message parsing (`ClientMessage::parse`), the
//! first thing the server does with every frame body.
//!
//! It must never panic. What it accepts must also survive a round trip:
//! serialized again and parsed again, the message is the same and still
//! valid, so the server and every client agree on what was said.

#![no_main]

use libfuzzer_sys::fuzz_target;

use lanmeet_common::ClientMessage;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = ClientMessage::parse(data) else {
        return;
    };
    let again = serde_json::to_vec(&message).expect("client messages serialize");
    let reparsed = ClientMessage::parse(&again).expect("a valid message stays valid");
    assert_eq!(message, reparsed);
});
