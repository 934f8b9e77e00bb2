//! Fuzz target: the server core (`lanmeet_server::core::Core`), driven the
//! way the mio shell drives it, with frames and datagrams from a few
//! connections and addresses, and simulated time.
//!
//! ```text
//!  Vec<Step> --> on_connect / on_frame / on_frame_too_large / on_disconnect
//!                on_datagram / on_timer            --> Core --> outputs
//!                                                              checked
//! ```
//!
//! Random bytes rarely get past the handshake, so most steps build a
//! message of a chosen type from fields the fuzzer picks, filled with the
//! ids, codes and tokens the core has handed out so far. Raw bytes are sent
//! too. The core must never panic, and after every step:
//!
//! - every frame it sends is a valid server message under 8 MiB;
//! - mixed audio is a well-formed `'A'` datagram with an empty id;
//! - it tracks exactly the connections the shell would still feed;
//! - no meeting is empty, no participant is without a connection.

#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

use lanmeet_common::limits::MAX_SERVER_FRAME;
use lanmeet_common::message::{LeaveReason, ServerMessage};
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::{audio, base64, framing};
use lanmeet_server::core::{ConnId, Core, CoreConfig, Output, Outputs};
use lanmeet_server::rng::SeededRandom;

/// Every `type` a client may send.
const TYPES: [&str; 38] = [
    "create_meeting",
    "join_meeting",
    "ping",
    "leave",
    "chat",
    "video_state",
    "audio_state",
    "raise_hand",
    "emoji_reaction",
    "mute_participant",
    "unmute_participant",
    "lock_mic",
    "unlock_mic",
    "mute_all",
    "unmute_all",
    "request_video",
    "request_all_video",
    "request_unmute",
    "request_all_unmute",
    "lower_hand",
    "remove_participant",
    "lock_meeting",
    "make_host",
    "stop_screen_share",
    "request_screen_share",
    "screen_frame",
    "file_offer",
    "file_request",
    "file_chunk",
    "file_ack",
    "file_end",
    "file_cancel",
    "file_unoffer",
    // Sections 15-18
    "poll_create",
    "poll_vote",
    "poll_close",
    "attendance_request",
    "spotlight",
];

const NAMES: [&str; 4] = ["Alice", "alice", "Bob", " Carol "];

/// The values a built message is filled with.
#[derive(Debug, Arbitrary)]
struct Fields {
    /// Which participant a target, `to` or `sender_id` names.
    who: u8,
    name: u8,
    code: u8,
    /// `version` 1 when true, else `small`.
    right_version: bool,
    with_password: bool,
    private: bool,
    flag: bool,
    small: u16,
    number: u32,
    file: u8,
    transfer: u8,
    text: String,
}

#[derive(Debug, Arbitrary)]
enum Step {
    Connect,
    Message {
        conn: u8,
        kind: u8,
        fields: Fields,
    },
    Frame {
        conn: u8,
        body: Vec<u8>,
    },
    TooLarge {
        conn: u8,
        len: u32,
    },
    Disconnect {
        conn: u8,
        error: bool,
    },
    Hello {
        from: u8,
        who: u8,
        with_id: bool,
    },
    Audio {
        from: u8,
        who: u8,
        seq: u32,
        value: i16,
    },
    Video {
        from: u8,
        who: u8,
        header: [u8; 8],
        len: u16,
    },
    Datagram {
        from: u8,
        data: Vec<u8>,
    },
    Wait {
        ms: u16,
    },
}

/// What the core handed out, learned from its replies.
#[derive(Default)]
struct Known {
    /// (client_id, udp_token) of everyone who ever joined.
    members: Vec<(String, String)>,
    codes: Vec<String>,
}

impl Known {
    fn id(&self, i: u8) -> String {
        self.members
            .get(usize::from(i) % (self.members.len() + 1))
            .map_or_else(|| "c999".to_string(), |m| m.0.clone())
    }

    fn code(&self, i: u8) -> String {
        self.codes
            .get(usize::from(i) % (self.codes.len() + 1))
            .cloned()
            .unwrap_or_else(|| "ZZZZZZ".to_string())
    }
}

/// A message of type `kind` filled from `f`. Unknown fields are ignored by
/// the server, so every field any type needs is simply present.
fn build(kind: u8, f: &Fields, known: &Known) -> Value {
    let ty = TYPES[usize::from(kind) % TYPES.len()];
    let who = known.id(f.who);
    let blob = base64::encode(&vec![0xa5; usize::from(f.small) % 3000]);
    let mut v = json!({
        "type": ty,
        "version": if f.right_version { 1 } else { u64::from(f.small) },
        "username": NAMES[usize::from(f.name) % NAMES.len()],
        "meeting_code": known.code(f.code),
        "message": f.text,
        "emoji": if f.flag { "👍" } else { "" },
        "muted": f.flag,
        "lock": f.flag,
        "locked": f.flag,
        "target_client_id": who,
        "sender_id": who,
        "frame_data": blob,
        "width": 1 + u32::from(f.small) % 20000,
        "height": 720,
        "file_id": format!("f{}", f.file % 3),
        "filename": "notes.txt",
        "filesize": f.number % 5000,
        "sha256": "0".repeat(64),
        "transfer_id": format!("t{}", f.transfer % 6),
        "offset": f.number % 5000,
        "data": blob,
        "question": f.text,
        "options": ["a", "b", "c"],
        "anonymous": f.flag,
        "multiple": !f.flag,
        "poll_id": format!("p{}", f.file % 3),
        "choices": [f.small % 4],
        "client_id": who,
        "features": ["polls", "attendance", "spotlight", "discovery"],
        "title": "Lab",
        "listed": f.flag,
    });
    v["state"] = if ty == "video_state" {
        json!(if f.flag { "started" } else { "stopped" })
    } else {
        json!(f.flag)
    };
    if f.with_password {
        v["password"] = json!("pw");
    }
    if f.private {
        v["to"] = json!(who);
    }
    v
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40_000 + u16::from(i % 6)))
}

struct Harness {
    core: Core,
    now: Instant,
    next_conn: ConnId,
    /// Connections the shell would still feed (open, not yet closed).
    open: Vec<ConnId>,
    known: Known,
}

impl Harness {
    fn conn(&self, i: u8) -> Option<ConnId> {
        (!self.open.is_empty()).then(|| self.open[usize::from(i) % self.open.len()])
    }

    fn member(&self, i: u8) -> Option<(String, String)> {
        (!self.known.members.is_empty())
            .then(|| self.known.members[usize::from(i) % self.known.members.len()].clone())
    }

    /// Checks and applies the core's outputs.
    fn collect(&mut self) {
        let mut outputs = Outputs::default();
        self.core.take_outputs(&mut outputs);
        for output in outputs.drain() {
            match output {
                Output::Send { conn, frame, .. } => {
                    assert!(self.open.contains(&conn), "frame for conn {conn}, not open");
                    let (body, used) = framing::decode(&frame, MAX_SERVER_FRAME)
                        .expect("server frames are within 8 MiB")
                        .expect("a whole frame");
                    assert_eq!(used, frame.len());
                    match ServerMessage::parse(body).expect("server frames parse") {
                        ServerMessage::MeetingCreated(r) | ServerMessage::JoinSuccess(r) => {
                            self.known.members.push((r.client_id, r.udp_token));
                            if !self.known.codes.contains(&r.meeting_code) {
                                self.known.codes.push(r.meeting_code);
                            }
                        }
                        _ => {}
                    }
                }
                Output::Close { conn } => self.open.retain(|&c| c != conn),
                Output::Datagram { bytes, .. } if bytes.first() == Some(&b'D') => {
                    lanmeet_common::discovery::parse_reply(bytes).expect("discovery answers parse");
                }
                Output::Datagram { bytes, .. } => {
                    let d = udp::parse(bytes).expect("server datagrams parse");
                    if d.kind == Kind::Audio {
                        assert_eq!(d.client_id, "");
                        audio::parse_body(d.body).expect("a whole audio frame");
                    }
                }
                Output::Relay { .. }
                | Output::Log(_)
                | Output::Attendance { .. }
                | Output::ScreenPatch { .. } => {}
            }
        }
        assert_eq!(self.core.connection_count(), self.open.len());
        assert!(self.core.participant_count() <= self.core.connection_count());
        assert!(self.core.meeting_count() <= self.core.participant_count());
    }

    fn datagram(&mut self, from: SocketAddr, data: &[u8]) {
        self.core.on_datagram(from, data);
        self.collect();
    }

    fn step(&mut self, step: Step) {
        match step {
            Step::Connect => {
                let conn = self.next_conn;
                self.next_conn += 1;
                self.open.push(conn);
                self.core.on_connect(conn, [127, 0, 0, 1].into(), self.now);
                self.collect();
            }
            Step::Message { conn, kind, fields } => {
                let Some(conn) = self.conn(conn) else { return };
                let body = build(kind, &fields, &self.known).to_string();
                self.core.on_frame(conn, body.as_bytes(), self.now);
                self.collect();
            }
            Step::Frame { conn, body } => {
                let Some(conn) = self.conn(conn) else { return };
                self.core.on_frame(conn, &body, self.now);
                self.collect();
            }
            Step::TooLarge { conn, len } => {
                let Some(conn) = self.conn(conn) else { return };
                self.core.on_frame_too_large(conn, len as usize, 4 << 20);
                self.collect();
            }
            Step::Disconnect { conn, error } => {
                let Some(conn) = self.conn(conn) else { return };
                // The shell forgets the connection before telling the core.
                self.open.retain(|&c| c != conn);
                let reason = if error {
                    LeaveReason::Error
                } else {
                    LeaveReason::Left
                };
                self.core.on_disconnect(conn, reason);
                self.collect();
            }
            Step::Hello { from, who, with_id } => {
                let Some((id, token)) = self.member(who) else {
                    return;
                };
                let id = if with_id { id.as_str() } else { "" };
                self.datagram(addr(from), &udp::build(Kind::Hello, id, token.as_bytes()));
            }
            Step::Audio {
                from,
                who,
                seq,
                value,
            } => {
                let Some((id, _)) = self.member(who) else {
                    return;
                };
                let d = audio::build_datagram(&id, seq, &[value; audio::FRAME_SAMPLES]);
                self.datagram(addr(from), &d);
            }
            Step::Video {
                from,
                who,
                header,
                len,
            } => {
                let Some((id, _)) = self.member(who) else {
                    return;
                };
                let mut body = header.to_vec();
                body.resize(8 + usize::from(len) % 1500, 0x11);
                self.datagram(addr(from), &udp::build(Kind::Video, &id, &body));
            }
            Step::Datagram { from, data } => self.datagram(addr(from), &data),
            Step::Wait { ms } => {
                self.now += Duration::from_millis(u64::from(ms));
                self.core.on_timer(self.now);
                self.collect();
            }
        }
    }
}

fuzz_target!(|input: (u64, Vec<Step>)| {
    let (seed, steps) = input;
    let now = Instant::now();
    let config = CoreConfig {
        udp_port: 5002,
        max_datagram: 1400,
        max_participants: 3,
        max_connections: 6,
        ..CoreConfig::default()
    };
    let mut h = Harness {
        core: Core::new(
            config,
            Box::new(SeededRandom(seed)),
            now,
            SystemTime::UNIX_EPOCH,
        ),
        now,
        next_conn: 0,
        open: Vec::new(),
        known: Known::default(),
    };
    for step in steps {
        h.step(step);
    }
});
