//! End-to-end: hostile and broken input (over-long frame lengths, frames
//! that are not the JSON the protocol asks for, frames cut off by a
//! disconnect, UDP garbage of every shape) is refused as the protocol says,
//! and afterwards the server serves a fresh meeting normally
//! (PROTOCOL.md sections 1, 9 and 10).

mod support;

use std::thread;
use std::time::Duration;

use serde_json::json;

use lanmeet_common::audio::{self, FRAME_SAMPLES};
use lanmeet_common::limits::{MAX_CLIENT_FRAME, MAX_FILE_CHUNK, MAX_HANDSHAKE_FRAME};
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::{base64, framing, video};
use lanmeet_server::ServerHandle;
use support::*;

/// Frame bodies that are not a valid client message, each with what is
/// wrong with it.
fn malformed_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let text = |s: &str| s.as_bytes().to_vec();
    vec![
        ("empty body", vec![]),
        ("not JSON", text("hello")),
        ("JSON cut short", text(r#"{"type":"ping""#)),
        ("an array", text(r#"[{"type":"ping"}]"#)),
        ("a string", text(r#""ping""#)),
        ("a number", text("42")),
        ("null", text("null")),
        ("no type", text(r#"{"message":"hi"}"#)),
        ("type not a string", text(r#"{"type":7}"#)),
        ("unknown type", text(r#"{"type":"teleport"}"#)),
        ("missing field", text(r#"{"type":"chat"}"#)),
        (
            "message not a string",
            text(r#"{"type":"chat","message":42}"#),
        ),
        (
            "muted not a bool",
            text(r#"{"type":"audio_state","muted":"yes"}"#),
        ),
        (
            "state not a bool",
            text(r#"{"type":"raise_hand","state":1}"#),
        ),
        (
            "unknown enum",
            text(r#"{"type":"video_state","state":"on"}"#),
        ),
        (
            "negative offset",
            text(r#"{"type":"file_ack","transfer_id":"t1","offset":-1}"#),
        ),
        (
            "width too big for u32",
            text(r#"{"type":"screen_frame","frame_data":"AAAA","width":4294967296,"height":1}"#),
        ),
        (
            "screen base64 symbol",
            text(r#"{"type":"screen_frame","frame_data":"AA!A","width":1,"height":1}"#),
        ),
        (
            "screen base64 length",
            text(r#"{"type":"screen_frame","frame_data":"AAA","width":1,"height":1}"#),
        ),
        (
            "screen base64 padding bits",
            text(r#"{"type":"screen_frame","frame_data":"Zh==","width":1,"height":1}"#),
        ),
        (
            "chunk base64 symbol",
            text(r#"{"type":"file_chunk","transfer_id":"t1","offset":0,"data":"****"}"#),
        ),
        (
            "chunk base64 line break",
            text(r#"{"type":"file_chunk","transfer_id":"t1","offset":0,"data":"AAAA\nAAAA"}"#),
        ),
        ("chunk over 64 KiB", {
            let data = base64::encode(&vec![0u8; MAX_FILE_CHUNK + 1]);
            json!({"type":"file_chunk","transfer_id":"t1","offset":0,"data":data})
                .to_string()
                .into_bytes()
        }),
        (
            "invalid UTF-8 in a string",
            b"{\"type\":\"chat\",\"message\":\"\xff\xfe\"}".to_vec(),
        ),
        (
            "invalid UTF-8 outside strings",
            b"{\"type\":\"ping\"\xc0}".to_vec(),
        ),
        (
            "a lone surrogate escape",
            text(r#"{"type":"chat","message":"\ud800"}"#),
        ),
    ]
}

#[test]
fn a_malformed_frame_after_the_handshake_is_bad_request_and_the_connection_lives() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    for (what, body) in malformed_bodies() {
        m[0].send_body(&body);
        let v = m[0].recv();
        assert_eq!(v["type"], "error", "{what}: {v}");
        assert_eq!(v["code"], "bad_request", "{what}: {v}");
        m[0].ping_pong();
    }
    m[1].expect_nothing();
    // Still in the meeting: chat goes through.
    let alice = m[0].id.clone();
    m[0].send(&json!({"type":"chat","message":"still here"}));
    expect_chat(&mut m[1], &alice, "still here", false);
}

#[test]
fn a_malformed_first_frame_is_bad_request_then_the_connection_closes() {
    let server = start_server();
    for (what, body) in malformed_bodies() {
        let mut client = Client::connect(&server);
        client.send_body(&body);
        let v = client.recv();
        // A first frame over 64 KiB is refused from its header alone.
        let code = if body.len() > MAX_HANDSHAKE_FRAME {
            "too_large"
        } else {
            "bad_request"
        };
        assert_eq!(v["code"], code, "{what}: {v}");
        client.expect_closed();
    }
    create(&server, "Alice");
}

#[test]
fn a_length_over_4_mib_is_refused_before_the_body() {
    let server = start_server();
    for len in [MAX_CLIENT_FRAME as u32 + 1, u32::MAX] {
        // Before the handshake: only the 4-byte header is ever sent.
        let mut client = Client::connect(&server);
        client.send_raw(&len.to_be_bytes());
        client.expect_error("too_large");
        client.expect_closed();
    }

    // After it: the others see the sender leave with an error.
    let mut m = meeting(&server, &["Alice", "Bob"]);
    m[1].send_raw(&(MAX_CLIENT_FRAME as u32 + 1).to_be_bytes());
    m[1].expect_error("too_large");
    m[1].expect_closed();
    let v = m[0].expect_type("user_left");
    assert_eq!(v["client_id"], m[1].id.as_str());
    assert_eq!(v["reason"], "error");
}

#[test]
fn a_frame_of_exactly_4_mib_is_accepted() {
    let server = start_server();
    let mut alice = create(&server, "Alice");
    // A ping padded with an unknown field (ignored) to the exact limit.
    let frame = |pad: usize| json!({"type":"ping","pad":"x".repeat(pad)}).to_string();
    let overhead = frame(0).len();
    let body = frame(MAX_CLIENT_FRAME - overhead);
    assert_eq!(body.len(), MAX_CLIENT_FRAME);
    alice.send_body(body.as_bytes());
    alice.expect_type("pong");
}

#[test]
fn frames_cut_off_by_a_disconnect_are_forgotten() {
    let server = start_server();
    let mut alice = create(&server, "Alice");
    let code = alice.code.clone();
    let ping = lanmeet_common::framing::encode(br#"{"type":"ping"}"#);
    let ping_then_half_a_length = [&ping[..], &[0, 0]].concat();
    // The bytes, and the reply a whole frame among them gets (read before
    // closing, since closing on unread data resets the connection).
    let cut_offs: [(&[u8], Option<&str>); 4] = [
        (&[0, 0], None),                          // half a length
        (&[0, 0, 0, 100], None),                  // a length, no body
        (&[0, 0, 0, 100, b'{', b'"'], None),      // part of the body
        (&ping_then_half_a_length, Some("pong")), // a whole frame, then half a length
    ];
    for (n, (bytes, reply)) in cut_offs.iter().enumerate() {
        let mut joiner = join(&server, &format!("Joiner{n}"), &code);
        alice.expect_type("user_joined");
        joiner.send_raw(bytes);
        if let Some(ty) = reply {
            joiner.expect_type(ty);
        }
        joiner.shutdown_write();
        drop(joiner);
        let v = alice.expect_type("user_left");
        assert_eq!(v["reason"], "left", "{v}");
        // Before the handshake too.
        let mut stranger = Client::connect(&server);
        stranger.send_raw(bytes);
        drop(stranger);
    }
    alice.ping_pong();
    fresh_meeting_works(&server);
}

#[test]
fn frames_split_into_single_bytes_or_run_together_are_read_whole() {
    let server = start_server();
    let mut alice = Client::connect(&server);
    // Three frames in one write: the handshake and two more behind it.
    let mut bytes = framing::encode_json(&create_request("Alice"));
    bytes.extend(framing::encode_json(&json!({"type":"ping"})));
    bytes.extend(framing::encode_json(
        &json!({"type":"raise_hand","state":true}),
    ));
    alice.send_raw(&bytes);
    let code = alice.expect_type("meeting_created")["meeting_code"]
        .as_str()
        .unwrap()
        .to_string();
    alice.expect_type("pong");
    alice.expect_type("participant_hand_state");

    // A join, one byte per write, with pauses so each is its own read.
    let mut bob = Client::connect(&server);
    for byte in framing::encode_json(&join_request("Bob", &code)) {
        bob.send_raw(&[byte]);
        thread::sleep(Duration::from_micros(200));
    }
    bob.expect_type("join_success");
    alice.expect_type("user_joined");
}

/// Every way a datagram can be wrong, from `member` (bound or not).
fn garbage_for(member: &Member) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let id = member.id.as_str();
    // Every length of every kind up to a little past a full header, with
    // both an honest id length and one that overruns the datagram.
    for kind in [b'I', b'V', b'A', b'X', 0, 0xff] {
        for len in 0..24usize {
            let mut d = vec![kind];
            d.extend_from_slice(&(id.len() as u16).to_be_bytes());
            d.extend_from_slice(id.as_bytes());
            d.resize(len, 0x5a);
            out.push(d.clone());
            if len >= 3 {
                d[1..3].copy_from_slice(&u16::MAX.to_be_bytes());
                out.push(d);
            }
        }
    }
    // Every wrong length of an audio body (the right one is 964 bytes).
    let audio_ok = audio::build_datagram(id, 0, &[123; FRAME_SAMPLES]);
    let header = udp::header_len(id);
    for len in header..audio_ok.len() {
        out.push(audio_ok[..len].to_vec());
    }
    let mut long = audio_ok.clone();
    long.push(0);
    out.push(long);
    // Fragment headers the protocol forbids.
    for (index, count) in [(0u16, 0u16), (0, 65535), (65534, 65535), (5, 5), (0, 257)] {
        let mut body = vec![0, 0, 0, 1];
        body.extend_from_slice(&index.to_be_bytes());
        body.extend_from_slice(&count.to_be_bytes());
        body.extend_from_slice(b"jpeg");
        out.push(udp::build(Kind::Video, id, &body));
    }
    // An id that is not UTF-8, a hello with a huge or binary token, and
    // the largest datagram IPv4 carries.
    out.push(vec![b'V', 0, 2, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 1]);
    out.push(udp::build(Kind::Hello, id, &vec![b'f'; 1200]));
    out.push(udp::build(Kind::Hello, id, &[0xff; 32]));
    out.push(vec![b'V'; 65_507]);
    out
}

/// Sends `datagrams` in small batches, so the server's receive buffer is
/// not what drops them.
fn send_paced(media: &Media, datagrams: &[Vec<u8>]) {
    for batch in datagrams.chunks(32) {
        for d in batch {
            media.send(d);
        }
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn udp_garbage_is_dropped_and_never_relayed() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let a = Media::bound(&server, &m[0]);
    let b = Media::bound(&server, &m[1]);
    let garbage = garbage_for(&m[0]);
    println!("{} garbage datagrams", garbage.len());
    send_paced(&a, &garbage);
    // From an unbound socket too.
    send_paced(&Media::new(&server), &garbage);

    // Fragments of frames that never complete are still relayed as they
    // are: the server keeps no frame state that could pile up.
    let mut first_fragments = Vec::new();
    for seq in 0..20 {
        let jpeg = vec![seq as u8; 5000];
        let mut all = Vec::new();
        video::fragment(&m[0].id, seq, &jpeg, 1400, |d| all.push(d.to_vec())).unwrap();
        first_fragments.push(all.swap_remove(0));
    }
    send_paced(&a, &first_fragments);
    for expected in &first_fragments {
        assert_eq!(&b.recv(), expected);
    }
    b.expect_nothing();
    a.expect_nothing();
    // The mixer got no audio from any of it.
    m[0].ping_pong();
    m[1].ping_pong();
    fresh_meeting_works(&server);
}

/// A new meeting on `server` does a chat round trip and relays video.
fn fresh_meeting_works(server: &ServerHandle) {
    let mut m = meeting(server, &["Fresh1", "Fresh2"]);
    let (one, two) = (m[0].id.clone(), m[1].id.clone());
    m[0].send(&json!({"type":"chat","message":"ping?"}));
    expect_chat(&mut m[1], &one, "ping?", false);
    m[1].send(&json!({"type":"chat","message":"pong!","to":one}));
    expect_chat(&mut m[0], &two, "pong!", true);

    let a = Media::bound(server, &m[0]);
    let b = Media::bound(server, &m[1]);
    let mut frame = Vec::new();
    video::fragment(&one, 1, &[9u8; 3000], 1400, |d| frame.push(d.to_vec())).unwrap();
    for d in &frame {
        a.send(d);
    }
    let mut got: Vec<Vec<u8>> = frame.iter().map(|_| b.recv()).collect();
    got.sort();
    frame.sort();
    assert_eq!(got, frame);
}
