//! Fuzz target: server message parsing (`ServerMessage::parse`), which
//! every client runs over every frame the server sends.
//!
//! A client must survive whatever arrives (a newer server, a broken one, a
//! stranger on the port): parsing must never panic, and what parses must
//! serialize again.

#![no_main]

use libfuzzer_sys::fuzz_target;

use lanmeet_common::ServerMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = ServerMessage::parse(data) {
        serde_json::to_vec(&message).expect("server messages serialize");
    }
});
