//! The meeting logic driven directly, with simulated time and no sockets.
//! One section per part of the protocol.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use lanmeet_common::audio;
use lanmeet_common::base64;
use lanmeet_common::features::SERVER_FEATURES;
use lanmeet_common::framing;
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video;

use super::*;
use crate::rng::SeededRandom;

struct Harness {
    core: Core,
    now: Instant,
    next_conn: ConnId,
    inbox: HashMap<ConnId, VecDeque<Value>>,
    closed: HashSet<ConnId>,
    /// Datagrams sent (mixed audio, relayed video): (to, datagram).
    sent: Vec<(SocketAddr, Vec<u8>)>,
    /// The datagram last handed to the core (what a relay sends).
    handling: Vec<u8>,
    /// Attendance files asked for: (file name, CSV).
    reports: Vec<(String, String)>,
}

/// What came of a datagram, as the tests tell it from the outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DatagramAction {
    /// Nothing sent (dropped, or audio queued for the mixer).
    Nothing,
    /// The hello answer to the sender.
    ReplyHello,
    /// The same bytes to others.
    Relay,
}

/// A joined participant as the tests see it.
#[derive(Clone)]
struct Who {
    conn: ConnId,
    id: String,
    token: String,
    code: String,
}

fn config(max_participants: usize) -> CoreConfig {
    CoreConfig {
        udp_port: 5002,
        max_datagram: 1400,
        max_participants,
        max_connections: 16,
        max_handshakes_per_address: 8,
        idle_timeout: Duration::from_secs(30),
        ..CoreConfig::default()
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl Harness {
    fn new() -> Harness {
        Harness::with(config(64))
    }

    fn with(config: CoreConfig) -> Harness {
        let now = Instant::now();
        Harness {
            core: Core::new(
                config,
                Box::new(SeededRandom(1)),
                now,
                SystemTime::UNIX_EPOCH,
            ),
            now,
            next_conn: 0,
            inbox: HashMap::new(),
            closed: HashSet::new(),
            sent: Vec::new(),
            handling: Vec::new(),
            reports: Vec::new(),
        }
    }

    fn collect(&mut self) {
        let mut outputs = Outputs::default();
        self.core.take_outputs(&mut outputs);
        for out in outputs.drain() {
            match out {
                Output::Send { conn, frame, .. } => {
                    let (body, used) = framing::decode(&frame, usize::MAX).unwrap().unwrap();
                    assert_eq!(used, frame.len());
                    self.inbox
                        .entry(conn)
                        .or_default()
                        .push_back(serde_json::from_slice(body).unwrap());
                }
                Output::Close { conn } => {
                    self.closed.insert(conn);
                }
                Output::Datagram { to, bytes } => {
                    for &to in to {
                        self.sent.push((to, bytes.to_vec()));
                    }
                }
                Output::Relay { to } => {
                    let datagram = self.handling.clone();
                    for &to in to {
                        self.sent.push((to, datagram.clone()));
                    }
                }
                Output::Log(_) => {}
                Output::Attendance { file_name, csv } => self.reports.push((file_name, csv)),
                Output::ScreenPatch { conn, frame, .. } => {
                    let (body, _) = framing::decode(&frame, usize::MAX).unwrap().unwrap();
                    self.inbox
                        .entry(conn)
                        .or_default()
                        .push_back(serde_json::from_slice(body).unwrap());
                }
            }
        }
    }

    fn connect(&mut self) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.core.on_connect(conn, [127, 0, 0, 1].into(), self.now);
        self.collect();
        conn
    }

    fn send(&mut self, conn: ConnId, v: Value) {
        self.core.on_frame(conn, v.to_string().as_bytes(), self.now);
        self.collect();
    }

    /// Everything `conn` got since the last look.
    fn take(&mut self, conn: ConnId) -> Vec<Value> {
        self.inbox.remove(&conn).map(Vec::from).unwrap_or_default()
    }

    /// The types of everything `conn` got since the last look.
    fn types(&mut self, conn: ConnId) -> Vec<String> {
        self.take(conn)
            .iter()
            .map(|v| v["type"].as_str().unwrap().to_string())
            .collect()
    }

    /// The one message `conn` got; fails if it got none or several.
    fn one(&mut self, conn: ConnId) -> Value {
        let got = self.take(conn);
        assert_eq!(got.len(), 1, "expected one message, got {got:?}");
        got.into_iter().next().unwrap()
    }

    fn error_code(&mut self, conn: ConnId) -> String {
        let m = self.one(conn);
        assert_eq!(m["type"], "error", "{m}");
        m["code"].as_str().unwrap().to_string()
    }

    fn create(&mut self, name: &str) -> Who {
        self.create_with(json!({"type":"create_meeting","version":1,"username":name}))
    }

    fn create_with(&mut self, v: Value) -> Who {
        let conn = self.connect();
        self.send(conn, v);
        let reply = self.one(conn);
        assert_eq!(reply["type"], "meeting_created", "{reply}");
        who(conn, &reply)
    }

    fn join(&mut self, name: &str, host: &Who) -> Who {
        let conn = self.connect();
        self.send(
            conn,
            json!({"type":"join_meeting","version":1,"username":name,"meeting_code":host.code}),
        );
        let got = self.take(conn);
        assert_eq!(got[0]["type"], "join_success", "{got:?}");
        // Put back what followed the reply (mute_all notices, a screen frame).
        self.inbox.insert(conn, got[1..].iter().cloned().collect());
        who(conn, &got[0])
    }

    /// A meeting of `names`, first one host, inboxes emptied.
    fn meeting(&mut self, names: &[&str]) -> Vec<Who> {
        let host = self.create(names[0]);
        let mut all = vec![host.clone()];
        for name in &names[1..] {
            all.push(self.join(name, &host));
        }
        self.inbox.clear();
        all
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.core.on_timer(self.now);
        self.collect();
    }

    /// Hands the core a datagram; says what came of it, and to whom.
    fn datagram(&mut self, from: SocketAddr, data: &[u8]) -> (DatagramAction, Vec<SocketAddr>) {
        self.sent.clear();
        self.handling = data.to_vec();
        self.core.on_datagram(from, data);
        self.collect();
        let sent = std::mem::take(&mut self.sent);
        let to: Vec<SocketAddr> = sent.iter().map(|(to, _)| *to).collect();
        let action = match &sent[..] {
            [] => DatagramAction::Nothing,
            [(to, d)] if *to == from && d == HELLO_REPLY => DatagramAction::ReplyHello,
            _ => {
                assert!(sent.iter().all(|(_, d)| d == data), "relayed unchanged");
                DatagramAction::Relay
            }
        };
        (
            action,
            if action == DatagramAction::Relay {
                to
            } else {
                vec![]
            },
        )
    }

    fn hello(&mut self, who: &Who, from: SocketAddr) -> DatagramAction {
        self.datagram(
            from,
            &udp::build(Kind::Hello, &who.id, who.token.as_bytes()),
        )
        .0
    }

    fn audio(&mut self, who: &Who, from: SocketAddr, value: i16) {
        let d = audio::build_datagram(&who.id, 0, &[value; audio::FRAME_SAMPLES]);
        assert_eq!(self.datagram(from, &d).0, DatagramAction::Nothing);
    }

    /// Runs one mixer tick and returns what each address got (first sample
    /// of each mixed frame).
    fn tick(&mut self) -> HashMap<SocketAddr, Vec<i16>> {
        self.sent.clear();
        let due = self.core.next_mix;
        self.now = self.now.max(due);
        self.core.on_timer(self.now);
        self.collect();
        let mut heard: HashMap<SocketAddr, Vec<i16>> = HashMap::new();
        for (to, d) in &self.sent {
            let dg = udp::parse(d).unwrap();
            assert_eq!(dg.kind, Kind::Audio);
            assert_eq!(dg.client_id, "");
            let (_, pcm) = audio::parse_body(dg.body).unwrap();
            let mut frame = [0i16; audio::FRAME_SAMPLES];
            audio::decode_pcm(pcm, &mut frame);
            assert!(
                frame.iter().all(|&s| s == frame[0]),
                "constant input mixes to constant output"
            );
            heard.entry(*to).or_default().push(frame[0]);
        }
        heard
    }
}

fn who(conn: ConnId, reply: &Value) -> Who {
    Who {
        conn,
        id: reply["client_id"].as_str().unwrap().into(),
        token: reply["udp_token"].as_str().unwrap().into(),
        code: reply["meeting_code"].as_str().unwrap().into(),
    }
}

// ---------------------------------------------------------------- handshake

#[test]
fn create_gives_code_id_token_and_host() {
    let mut h = Harness::new();
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"create_meeting","version":1,"username":"  Alice  "}),
    );
    let r = h.one(conn);
    assert_eq!(r["type"], "meeting_created");
    assert_eq!(r["is_host"], true);
    assert_eq!(r["udp_port"], 5002);
    assert_eq!(r["max_datagram"], 1400);
    assert_eq!(r["participants"], json!([]));
    assert_eq!(r["presenter"], Value::Null);
    assert_eq!(r["locked"], false);
    let code = r["meeting_code"].as_str().unwrap();
    assert!(lanmeet_common::message::normalize_meeting_code(code).as_deref() == Some(code));
    let token = r["udp_token"].as_str().unwrap();
    assert!(token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn join_lists_others_and_announces_the_joiner() {
    let mut h = Harness::new();
    let alice = h.create("Alice");
    let conn = h.connect();
    let lower = alice.code.to_lowercase();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"Bob","meeting_code":lower}),
    );
    let r = h.one(conn);
    assert_eq!(r["type"], "join_success");
    assert_eq!(r["is_host"], false);
    assert_eq!(
        r["participants"],
        json!([{"client_id":alice.id,"username":"Alice","is_host":true,"video":false,"muted":false,
                "mic_locked":false,"hand_raised":false,"raised_at":null}])
    );
    let bob = r["client_id"].as_str().unwrap();
    assert_ne!(bob, alice.id);
    assert_eq!(
        h.one(alice.conn),
        json!({"type":"user_joined","client_id":bob,"username":"Bob"})
    );
}

#[test]
fn handshake_errors_close_the_connection() {
    let mut h = Harness::with(config(2));
    let alice = h.create_with(
        json!({"type":"create_meeting","version":1,"username":"Alice","password":"pw"}),
    );
    let cases = [
        (
            json!({"type":"join_meeting","version":2,"username":"B","meeting_code":alice.code,"password":"pw"}),
            "version_mismatch",
        ),
        (
            json!({"type":"join_meeting","version":1,"username":"","meeting_code":alice.code,"password":"pw"}),
            "bad_request",
        ),
        (
            json!({"type":"join_meeting","version":1,"username":"B","meeting_code":"ZZZZZZ","password":"pw"}),
            "invalid_code",
        ),
        (
            json!({"type":"join_meeting","version":1,"username":"B","meeting_code":"nope","password":"pw"}),
            "invalid_code",
        ),
        (
            json!({"type":"join_meeting","version":1,"username":"B","meeting_code":alice.code}),
            "wrong_password",
        ),
        (
            json!({"type":"join_meeting","version":1,"username":"B","meeting_code":alice.code,"password":"x"}),
            "wrong_password",
        ),
        (
            json!({"type":"join_meeting","version":1,"username":"ALICE","meeting_code":alice.code,"password":"pw"}),
            "name_taken",
        ),
        (json!({"type":"chat","message":"hi"}), "bad_request"),
        (json!({"type":"ping"}), "bad_request"),
    ];
    for (msg, code) in cases {
        let conn = h.connect();
        h.send(conn, msg.clone());
        assert_eq!(h.error_code(conn), code, "{msg}");
        assert!(h.closed.contains(&conn), "{msg} left the connection open");
    }
    let conn = h.connect();
    h.core.on_frame(conn, b"{not json", h.now);
    h.collect();
    assert_eq!(h.error_code(conn), "bad_request");
    assert!(h.closed.contains(&conn));

    // Two fit (max_participants = 2); the third finds it full.
    let bob = h.connect();
    h.send(bob, json!({"type":"join_meeting","version":1,"username":"Bob","meeting_code":alice.code,"password":"pw"}));
    assert_eq!(h.one(bob)["type"], "join_success");
    let carol = h.connect();
    h.send(carol, json!({"type":"join_meeting","version":1,"username":"Carol","meeting_code":alice.code,"password":"pw"}));
    assert_eq!(h.error_code(carol), "server_full");
}

#[test]
fn locked_meeting_refuses_joins() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    h.send(all[0].conn, json!({"type":"lock_meeting","locked":true}));
    assert_eq!(
        h.one(all[1].conn),
        json!({"type":"meeting_locked","locked":true})
    );
    assert_eq!(
        h.one(all[0].conn),
        json!({"type":"meeting_locked","locked":true})
    );
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"C","meeting_code":all[0].code}),
    );
    assert_eq!(h.error_code(conn), "meeting_locked");
    h.send(all[0].conn, json!({"type":"lock_meeting","locked":false}));
    h.join("C", &all[0]);
}

#[test]
fn too_many_connections_is_server_full() {
    let mut h = Harness::with(CoreConfig {
        max_connections: 2,
        ..config(64)
    });
    h.connect();
    h.connect();
    let third = h.connect();
    assert_eq!(h.error_code(third), "server_full");
    assert!(h.closed.contains(&third));
}

#[test]
fn an_address_may_have_only_so_many_connections_in_the_handshake() {
    let mut h = Harness::new(); // 8 per address
    let waiting: Vec<ConnId> = (0..8).map(|_| h.connect()).collect();
    let ninth = h.connect();
    assert_eq!(h.error_code(ninth), "server_full");
    assert!(h.closed.contains(&ninth));
    // Another address is not affected.
    h.core.on_connect(100, [10, 0, 0, 2].into(), h.now);
    h.collect();
    assert!(h.take(100).is_empty() && !h.closed.contains(&100));
    // A connection that joins, or closes, makes room.
    h.send(
        waiting[0],
        json!({"type":"create_meeting","version":1,"username":"A"}),
    );
    h.take(waiting[0]);
    h.core.on_disconnect(waiting[1], LeaveReason::Left);
    let (a, b) = (h.connect(), h.connect());
    assert!(h.take(a).is_empty() && h.take(b).is_empty());
    let c = h.connect();
    assert_eq!(h.error_code(c), "server_full");
}

#[test]
fn errors_quote_at_most_a_few_hundred_bytes_of_input() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice"]);
    let huge = "x".repeat(1 << 20);
    for v in [
        json!({"type": huge}),
        json!({"type":"mute_participant","target_client_id":huge}),
        json!({"type":"file_cancel","transfer_id":huge}),
    ] {
        h.send(all[0].conn, v);
        let e = h.one(all[0].conn);
        assert_eq!(e["type"], "error");
        let text = e["message"].as_str().unwrap();
        assert!(text.len() <= 256, "{} bytes", text.len());
        assert!(text.ends_with('…'), "{text}");
    }
    // The handshake too.
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"B","meeting_code":huge}),
    );
    assert!(h.one(conn)["message"].as_str().unwrap().len() <= 256);
}

#[test]
fn second_handshake_is_bad_request_and_keeps_the_connection() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice"]);
    h.send(
        all[0].conn,
        json!({"type":"create_meeting","version":1,"username":"X"}),
    );
    assert_eq!(h.error_code(all[0].conn), "bad_request");
    assert!(!h.closed.contains(&all[0].conn));
    h.send(all[0].conn, json!({"type":"bogus"}));
    assert_eq!(h.error_code(all[0].conn), "bad_request");
    h.send(all[0].conn, json!({"type":"ping"}));
    assert_eq!(h.one(all[0].conn), json!({"type":"pong"}));
}

#[test]
fn ids_are_never_reused() {
    let mut h = Harness::new();
    let mut seen = HashSet::new();
    for _ in 0..5 {
        let a = h.create("A");
        assert!(seen.insert(a.id.clone()));
        h.send(a.conn, json!({"type":"leave"}));
    }
}

// ---------------------------------------------------------- liveness, leave

#[test]
fn leaving_host_hands_over_to_earliest_joiner() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    h.send(all[0].conn, json!({"type":"leave"}));
    assert!(h.closed.contains(&all[0].conn));
    let got = h.take(all[2].conn);
    assert_eq!(
        got[0],
        json!({"type":"user_left","client_id":all[0].id,"username":"Alice","reason":"left"})
    );
    assert_eq!(got[1], json!({"type":"host_changed","client_id":all[1].id}));
    // Bob is host now and can lock.
    h.send(all[1].conn, json!({"type":"lock_meeting","locked":true}));
    assert_eq!(h.one(all[2].conn)["type"], "meeting_locked");
}

#[test]
fn last_one_out_deletes_the_meeting() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice"]);
    h.core.on_disconnect(all[0].conn, LeaveReason::Left);
    assert_eq!(h.core.meeting_count(), 0);
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"B","meeting_code":all[0].code}),
    );
    assert_eq!(h.error_code(conn), "invalid_code");
}

#[test]
fn silent_connection_times_out_after_30_seconds() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    let mut got = Vec::new();
    for _ in 0..5 {
        h.advance(Duration::from_secs(9));
        h.send(all[1].conn, json!({"type":"ping"}));
        got.extend(h.take(all[1].conn));
        assert_eq!(got.last().unwrap()["type"], "pong");
    }
    // Alice said nothing for 45 s; Bob pinged every 9 s.
    assert!(got.contains(
        &json!({"type":"user_left","client_id":all[0].id,"username":"Alice","reason":"timeout"})
    ));
    assert!(h.closed.contains(&all[0].conn));
    assert!(!h.closed.contains(&all[1].conn));
    // An unjoined connection times out too.
    let idle = h.connect();
    h.advance(Duration::from_secs(31));
    assert!(h.closed.contains(&idle));
}

#[test]
fn too_large_frame_is_an_error_then_close() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    h.core.on_frame_too_large(all[1].conn, 5 << 20, 4 << 20);
    h.collect();
    assert_eq!(h.error_code(all[1].conn), "too_large");
    assert!(h.closed.contains(&all[1].conn));
    assert_eq!(h.one(all[0].conn)["reason"], "error");
}

// --------------------------------------------------------------------- chat

#[test]
fn public_chat_goes_to_others_and_history() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    h.advance(Duration::from_millis(250));
    h.send(
        all[0].conn,
        json!({"type":"chat","message":"Hello","client_id":"forged","timestamp":1}),
    );
    assert!(
        h.take(all[0].conn).is_empty(),
        "the sender shows its own copy"
    );
    let m = h.one(all[1].conn);
    assert_eq!(m["client_id"], all[0].id.as_str());
    assert_eq!(m["username"], "Alice");
    assert_eq!(m["private"], false);
    assert!(
        (m["timestamp"].as_f64().unwrap() - 0.25).abs() < 1e-6,
        "server time, not the client's"
    );
    for i in 0..120 {
        h.send(
            all[0].conn,
            json!({"type":"chat","message":format!("m{i}")}),
        );
    }
    let late = h.join("Carol", &all[0]);
    let _ = late;
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"Dan","meeting_code":all[0].code}),
    );
    let r = h.one(conn);
    let history = r["chat_history"].as_array().unwrap();
    assert_eq!(history.len(), 100);
    assert_eq!(history[0]["message"], "m20");
    assert_eq!(history[99]["message"], "m119");
}

#[test]
fn private_chat_goes_to_one_and_is_not_kept() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    h.send(
        all[0].conn,
        json!({"type":"chat","message":"psst","to":all[2].id}),
    );
    assert!(h.take(all[1].conn).is_empty());
    let m = h.one(all[2].conn);
    assert_eq!(
        (m["message"].as_str(), m["private"].as_bool()),
        (Some("psst"), Some(true))
    );
    h.send(
        all[0].conn,
        json!({"type":"chat","message":"psst","to":"c999"}),
    );
    assert_eq!(h.error_code(all[0].conn), "no_such_participant");
    let other = h.meeting(&["Zed"]);
    h.send(
        all[0].conn,
        json!({"type":"chat","message":"psst","to":other[0].id}),
    );
    assert_eq!(h.error_code(all[0].conn), "no_such_participant");
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"Dan","meeting_code":all[0].code}),
    );
    assert_eq!(h.one(conn)["chat_history"], json!([]));
}

#[test]
fn chat_is_rate_limited_per_sender() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    let (a, b, c) = (all[0].clone(), all[1].clone(), all[2].clone());
    // A burst of 200 lines goes through at once.
    for i in 0..200 {
        h.send(a.conn, json!({"type":"chat","message":format!("m{i}")}));
    }
    assert_eq!(h.take(b.conn).len(), 200);
    h.take(c.conn);
    assert!(h.take(a.conn).is_empty());
    // The next, public or private, is refused and reaches nobody.
    h.send(a.conn, json!({"type":"chat","message":"one too many"}));
    assert_eq!(h.error_code(a.conn), "rate_limited");
    h.send(a.conn, json!({"type":"chat","message":"psst","to":b.id}));
    assert_eq!(h.error_code(a.conn), "rate_limited");
    assert!(h.take(b.conn).is_empty() && h.take(c.conn).is_empty());
    // Others still chat.
    h.send(c.conn, json!({"type":"chat","message":"hi"}));
    assert_eq!(h.one(b.conn)["message"], "hi");
    assert_eq!(h.one(a.conn)["message"], "hi");
    // 50 a second: 20 ms later one more fits, and only one.
    h.now += Duration::from_millis(20);
    h.send(a.conn, json!({"type":"chat","message":"later"}));
    h.send(a.conn, json!({"type":"chat","message":"too soon"}));
    assert_eq!(h.one(b.conn)["message"], "later");
    assert_eq!(h.error_code(a.conn), "rate_limited");
    // Bytes count too: lines of 4000 four-byte characters are 16 000
    // bytes, so the 2 MiB burst holds 131 of them.
    let long = "\u{1F600}".repeat(4000);
    h.take(c.conn);
    for _ in 0..131 {
        h.send(b.conn, json!({"type":"chat","message":long}));
    }
    assert_eq!(h.take(c.conn).len(), 131);
    h.send(b.conn, json!({"type":"chat","message":long}));
    assert_eq!(h.error_code(b.conn), "rate_limited");
    // 256 KiB a second: 16 000 bytes fit again after 61 ms.
    h.now += Duration::from_millis(61);
    h.send(b.conn, json!({"type":"chat","message":long}));
    assert_eq!(h.one(c.conn)["message"], long.as_str());
    // The history holds only what was delivered.
    let history = &h.core.meetings[&a.code].chat_history;
    assert!(history.iter().all(|l| l.message != "one too many"));
}

// ------------------------------------------------------- features, resume

/// Creates or joins with `features`; returns the connection and its reply.
fn enter_with(h: &mut Harness, v: Value) -> (ConnId, Value) {
    let conn = h.connect();
    h.send(conn, v);
    let mut got = h.take(conn);
    let reply = got.remove(0);
    h.inbox.insert(conn, got.into());
    (conn, reply)
}

#[test]
fn a_client_naming_no_features_sees_exactly_version_1() {
    let mut h = Harness::new();
    let (_, reply) = enter_with(
        &mut h,
        json!({"type":"create_meeting","version":1,"username":"Old"}),
    );
    for field in ["features", "resume_token", "resumed"] {
        assert!(reply.get(field).is_none(), "{field} in {reply}");
    }
    // Sending `features` (even none) gets the server's list; naming
    // "resume" gets a token too; unknown names are ignored.
    let code = reply["meeting_code"].as_str().unwrap();
    let (_, reply) = enter_with(
        &mut h,
        json!({"type":"join_meeting","version":1,"username":"New","meeting_code":code,"features":[]}),
    );
    assert_eq!(reply["features"], json!(SERVER_FEATURES.names()));
    assert!(reply.get("resume_token").is_none());
    let (_, reply) = enter_with(
        &mut h,
        json!({"type":"join_meeting","version":1,"username":"Newer","meeting_code":code,
               "features":["polls","resume"]}),
    );
    assert_eq!(reply["features"], json!(SERVER_FEATURES.names()));
    assert_eq!(reply["resume_token"].as_str().unwrap().len(), 32);
    assert!(reply.get("resumed").is_none());
    // `features` of the wrong type is bad_request.
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"X","meeting_code":code,"features":"resume"}),
    );
    assert_eq!(h.error_code(conn), "bad_request");
}

#[test]
fn resume_takes_the_place_of_a_connection_not_yet_seen_closed() {
    let mut h = Harness::new();
    let (host, reply) = enter_with(
        &mut h,
        json!({"type":"create_meeting","version":1,"username":"Ann","features":["resume"]}),
    );
    let (id, token) = (reply["client_id"].clone(), reply["resume_token"].clone());
    let udp_token = reply["udp_token"].clone();
    let code = reply["meeting_code"].as_str().unwrap().to_string();
    let bob = h.join("Bob", &who(host, &reply));
    h.send(host, json!({"type":"raise_hand","state":true}));
    h.send(host, json!({"type":"audio_state","muted":true}));
    h.inbox.clear();
    // A new connection resumes; the old one was never seen closed.
    let (conn, r) = enter_with(
        &mut h,
        json!({"type":"resume_meeting","version":1,"resume_token":token}),
    );
    assert_eq!(r["type"], "join_success", "{r}");
    assert_eq!(r["resumed"], true);
    assert_eq!((&r["client_id"], r["is_host"].as_bool()), (&id, Some(true)));
    assert_eq!(r["meeting_code"], code.as_str());
    assert_ne!(r["udp_token"], udp_token, "a new UDP token");
    assert_ne!(r["resume_token"], token, "a new resume token");
    assert!(h.closed.contains(&host), "the old connection is closed");
    assert!(h.take(host).is_empty());
    assert!(h.take(bob.conn).is_empty(), "others see nothing");
    // Its state is kept, as others see it.
    let fay = h.join("Fay", &bob);
    let _ = fay;
    let m = &h.core.meetings[&code];
    let p = m.participant(id.as_str().unwrap()).unwrap();
    assert!(p.is_host && p.muted && p.raised_at.is_some() && p.conn == conn);
    // The old token is spent; the old UDP token too.
    let (c2, e) = enter_with(
        &mut h,
        json!({"type":"resume_meeting","version":1,"resume_token":token}),
    );
    assert_eq!(e["code"], "resume_expired", "{e}");
    assert!(h.closed.contains(&c2));
    assert!(!h.core.tokens.contains_key(udp_token.as_str().unwrap()));
}

#[test]
fn resume_after_a_drop_comes_back_as_the_same_participant() {
    let mut h = Harness::new();
    let (host, reply) = enter_with(
        &mut h,
        json!({"type":"create_meeting","version":1,"username":"Ann","features":["resume"]}),
    );
    let ann = who(host, &reply);
    let token = reply["resume_token"].as_str().unwrap().to_string();
    let bob = h.join("Bob", &ann);
    h.send(host, json!({"type":"lock_meeting","locked":true}));
    h.inbox.clear();
    h.core.on_disconnect(host, LeaveReason::Error);
    h.collect();
    assert_eq!(
        h.types(bob.conn),
        ["user_left", "host_changed"],
        "Bob saw Ann leave and became host"
    );
    h.advance(Duration::from_secs(20));
    let (conn, r) = enter_with(
        &mut h,
        json!({"type":"resume_meeting","version":1,"resume_token":token}),
    );
    assert_eq!(
        (r["type"].as_str(), r["resumed"].as_bool()),
        (Some("join_success"), Some(true)),
        "{r}"
    );
    assert_eq!(
        r["client_id"],
        ann.id.as_str(),
        "the same id, in a locked meeting"
    );
    assert_eq!(r["is_host"], true, "the host role comes back");
    let told = h.take(bob.conn);
    assert_eq!(
        told[0],
        json!({"type":"user_joined","client_id":ann.id,"username":"Ann"})
    );
    assert_eq!(told[1], json!({"type":"host_changed","client_id":ann.id}));
    assert_eq!(h.types(conn), ["host_changed"]);

    // Dropped again, but the host role was handed on by make_host meanwhile:
    // it does not come back.
    let token = r["resume_token"].as_str().unwrap().to_string();
    h.core.on_disconnect(conn, LeaveReason::Left);
    h.collect();
    h.send(bob.conn, json!({"type":"lock_meeting","locked":false}));
    let carol = h.join("Carol", &bob);
    h.send(
        bob.conn,
        json!({"type":"make_host","target_client_id":carol.id}),
    );
    h.inbox.clear();
    let (_, r) = enter_with(
        &mut h,
        json!({"type":"resume_meeting","version":1,"resume_token":token}),
    );
    assert_eq!(r["is_host"], false, "{r}");
    assert_eq!(h.types(bob.conn), ["user_joined"]);
}

#[test]
fn resume_expires_after_60_seconds_and_never_follows_leave() {
    let mut h = Harness::new();
    let host = h.create("Host");
    let enter = |h: &mut Harness, name: &str| {
        enter_with(
            h,
            json!({"type":"join_meeting","version":1,"username":name,
                   "meeting_code":host.code,"features":["resume"]}),
        )
    };
    let (late, r) = enter(&mut h, "Late");
    let late_token = r["resume_token"].clone();
    let (gone, r) = enter(&mut h, "Gone");
    let gone_token = r["resume_token"].clone();
    h.core.on_disconnect(late, LeaveReason::Left);
    h.send(gone, json!({"type":"leave"}));
    // The meeting goes on (the host pings) while the minute passes.
    for _ in 0..4 {
        h.send(host.conn, json!({"type":"ping"}));
        h.advance(Duration::from_secs(16));
    }
    assert!(h.core.meetings.contains_key(&host.code));
    for token in [
        late_token,
        gone_token,
        json!("0123456789abcdef0123456789abcdef"),
    ] {
        let (conn, e) = enter_with(
            &mut h,
            json!({"type":"resume_meeting","version":1,"resume_token":token}),
        );
        assert_eq!(e["code"], "resume_expired", "{e}");
        assert!(h.closed.contains(&conn));
    }
    let (conn, e) = enter_with(
        &mut h,
        json!({"type":"resume_meeting","version":1,"resume_token":"short"}),
    );
    assert_eq!(e["code"], "bad_request", "{e}");
    assert!(h.closed.contains(&conn));
}

// ----------------------------------------------------------------- presence

#[test]
fn presence_reaches_the_right_people() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    let (a, b) = (all[0].conn, all[1].conn);
    h.send(a, json!({"type":"video_state","state":"started"}));
    assert!(h.take(a).is_empty());
    assert_eq!(
        h.one(b),
        json!({"type":"participant_video_state","client_id":all[0].id,"state":"started"})
    );
    h.send(a, json!({"type":"audio_state","muted":true}));
    let expected = json!({"type":"participant_audio_state","client_id":all[0].id,"muted":true});
    assert_eq!(h.one(a), expected);
    assert_eq!(h.one(b), expected);
    h.send(a, json!({"type":"emoji_reaction","emoji":"👍"}));
    let expected =
        json!({"type":"emoji_reaction","client_id":all[0].id,"username":"Alice","emoji":"👍"});
    assert_eq!(h.one(a), expected);
    assert_eq!(h.one(b), expected);
    // The joiner's list shows the state.
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"C","meeting_code":all[0].code}),
    );
    let p = &h.one(conn)["participants"][0];
    assert_eq!(
        (p["video"].as_bool(), p["muted"].as_bool()),
        (Some(true), Some(true))
    );
}

#[test]
fn hands_are_ordered_by_raise_time() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    h.advance(Duration::from_millis(100));
    h.send(all[2].conn, json!({"type":"raise_hand","state":true}));
    h.send(all[1].conn, json!({"type":"raise_hand","state":true})); // same instant
    let got = h.take(all[0].conn);
    let (carol, bob) = (
        got[0]["raised_at"].as_f64().unwrap(),
        got[1]["raised_at"].as_f64().unwrap(),
    );
    assert!(carol < bob, "same instant still gives an order");
    assert_eq!(got[0]["username"], "Carol");
    assert_eq!(got[1]["state"], true);
    assert_eq!(
        h.types(all[2].conn),
        ["participant_hand_state", "participant_hand_state"]
    );
    // Raising again keeps the place; lowering clears it.
    h.send(all[2].conn, json!({"type":"raise_hand","state":true}));
    assert_eq!(h.one(all[0].conn)["raised_at"].as_f64(), Some(carol));
    h.send(all[2].conn, json!({"type":"raise_hand","state":false}));
    assert_eq!(h.one(all[0].conn)["raised_at"], Value::Null);
    // The host lowers Bob's hand.
    h.inbox.clear();
    h.send(
        all[0].conn,
        json!({"type":"lower_hand","target_client_id":all[1].id}),
    );
    let m = h.one(all[1].conn);
    assert_eq!(
        (m["client_id"].as_str(), m["state"].as_bool()),
        (Some(all[1].id.as_str()), Some(false))
    );
}

// ------------------------------------------------------------ host commands

#[test]
fn host_commands_need_the_host_and_a_real_target() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    let commands = [
        json!({"type":"mute_participant","target_client_id":all[0].id}),
        json!({"type":"unmute_participant","target_client_id":all[0].id}),
        json!({"type":"lock_mic","target_client_id":all[0].id}),
        json!({"type":"unlock_mic","target_client_id":all[0].id}),
        json!({"type":"mute_all","lock":false}),
        json!({"type":"unmute_all"}),
        json!({"type":"request_video","target_client_id":all[0].id}),
        json!({"type":"request_all_video"}),
        json!({"type":"request_unmute","target_client_id":all[0].id}),
        json!({"type":"request_all_unmute"}),
        json!({"type":"lower_hand","target_client_id":all[0].id}),
        json!({"type":"remove_participant","target_client_id":all[0].id}),
        json!({"type":"lock_meeting","locked":true}),
        json!({"type":"make_host","target_client_id":all[1].id}),
    ];
    for c in &commands {
        h.send(all[1].conn, c.clone());
        assert_eq!(h.error_code(all[1].conn), "not_host", "{c}");
        assert!(h.take(all[0].conn).is_empty());
    }
    let other = h.meeting(&["Zed"]);
    for target in ["c999", other[0].id.as_str()] {
        h.send(
            all[0].conn,
            json!({"type":"mute_participant","target_client_id":target}),
        );
        assert_eq!(h.error_code(all[0].conn), "no_such_participant");
    }
    assert!(h.take(other[0].conn).is_empty());
}

#[test]
fn mute_lock_and_unmute() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    let (host, bob, carol) = (all[0].conn, all[1].conn, all[2].conn);
    let bob_id = all[1].id.clone();
    h.send(
        host,
        json!({"type":"mute_participant","target_client_id":bob_id}),
    );
    assert_eq!(h.types(bob), ["muted_by_host", "participant_muted"]);
    assert_eq!(
        h.one(carol),
        json!({"type":"participant_muted","client_id":bob_id})
    );
    h.send(host, json!({"type":"lock_mic","target_client_id":bob_id}));
    assert_eq!(h.types(bob), ["mic_locked", "participant_mic_locked"]);
    assert_eq!(
        h.one(carol),
        json!({"type":"participant_mic_locked","client_id":bob_id})
    );
    h.send(bob, json!({"type":"audio_state","muted":false}));
    assert_eq!(h.error_code(bob), "mic_locked");
    assert!(h.take(carol).is_empty());
    h.send(host, json!({"type":"unlock_mic","target_client_id":bob_id}));
    assert_eq!(h.types(bob), ["mic_unlocked", "participant_mic_unlocked"]);
    h.take(carol);
    // Accepting an unmute request lifts the host mute.
    h.send(
        host,
        json!({"type":"request_unmute","target_client_id":bob_id}),
    );
    assert_eq!(
        h.one(bob),
        json!({"type":"unmute_requested","by":all[0].id})
    );
    assert!(h.take(carol).is_empty());
    h.send(bob, json!({"type":"audio_state","muted":false}));
    assert_eq!(h.one(carol)["muted"], false);
    h.take(bob);
    h.send(
        host,
        json!({"type":"mute_participant","target_client_id":bob_id}),
    );
    h.inbox.clear();
    h.send(
        host,
        json!({"type":"unmute_participant","target_client_id":bob_id}),
    );
    assert_eq!(h.types(bob), ["unmuted_by_host", "participant_unmuted"]);
    assert_eq!(
        h.one(carol),
        json!({"type":"participant_unmuted","client_id":bob_id})
    );
}

#[test]
fn mute_all_with_lock_covers_later_joiners_until_unmute_all() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    let (host, bob) = (all[0].conn, all[1].conn);
    h.send(host, json!({"type":"mute_all","lock":true}));
    assert_eq!(
        h.types(bob),
        [
            "muted_by_host",
            "participant_muted",
            "mic_locked",
            "participant_mic_locked"
        ]
    );
    assert_eq!(
        h.types(host),
        ["participant_muted", "participant_mic_locked"]
    );
    let carol = h.join("Carol", &all[0]);
    assert_eq!(
        h.types(carol.conn),
        [
            "muted_by_host",
            "mic_locked",
            "participant_muted",
            "participant_mic_locked"
        ]
    );
    assert_eq!(
        h.types(bob),
        ["user_joined", "participant_muted", "participant_mic_locked"]
    );
    h.send(carol.conn, json!({"type":"audio_state","muted":false}));
    assert_eq!(h.error_code(carol.conn), "mic_locked");
    h.inbox.clear();
    h.send(host, json!({"type":"unmute_all"}));
    // Bob's changes first (he joined first), then Carol's own.
    assert_eq!(
        h.types(carol.conn),
        [
            "participant_mic_unlocked",
            "participant_unmuted",
            "mic_unlocked",
            "participant_mic_unlocked",
            "unmuted_by_host",
            "participant_unmuted"
        ]
    );
    // After unmute_all a joiner is not muted.
    let dan = h.join("Dan", &all[0]);
    assert!(h.types(dan.conn).is_empty());
}

#[test]
fn unmute_all_lifts_exactly_what_mute_all_did() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    h.send(all[0].conn, json!({"type":"mute_all","lock":false}));
    // Carol unmutes herself (not locked), Bob stays muted.
    h.send(all[2].conn, json!({"type":"audio_state","muted":false}));
    h.inbox.clear();
    h.send(all[0].conn, json!({"type":"unmute_all"}));
    assert_eq!(
        h.types(all[1].conn),
        ["unmuted_by_host", "participant_unmuted"]
    );
    assert_eq!(h.types(all[2].conn), ["participant_unmuted"]);
}

#[test]
fn unmute_all_keeps_mutes_and_locks_from_before_mute_all() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol", "Dan", "Erin"]);
    let host = all[0].clone();
    let (bob, carol, dan, erin) = (&all[1], &all[2], &all[3], &all[4]);
    // Bob mutes himself, the host mutes Carol and locks Erin's mic; Dan is
    // left alone until mute_all.
    h.send(bob.conn, json!({"type":"audio_state","muted":true}));
    h.send(
        host.conn,
        json!({"type":"mute_participant","target_client_id":carol.id}),
    );
    h.send(
        host.conn,
        json!({"type":"lock_mic","target_client_id":erin.id}),
    );
    h.send(host.conn, json!({"type":"mute_all","lock":true}));
    h.inbox.clear();
    h.send(host.conn, json!({"type":"unmute_all"}));
    // What each was told about itself (messages without a client_id).
    let own = |h: &mut Harness, who: &Who| -> Vec<String> {
        h.take(who.conn)
            .iter()
            .filter(|m| m.get("client_id").is_none())
            .map(|m| m["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(own(&mut h, bob), ["mic_unlocked"], "Bob stays muted");
    assert_eq!(own(&mut h, carol), ["mic_unlocked"], "Carol stays muted");
    assert_eq!(own(&mut h, dan), ["mic_unlocked", "unmuted_by_host"]);
    assert_eq!(own(&mut h, erin), ["unmuted_by_host"], "Erin stays locked");
    let told: Vec<(String, String)> = h
        .take(host.conn)
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap().to_string(),
                m["client_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pair = |t: &str, w: &Who| (t.to_string(), w.id.clone());
    assert_eq!(
        told,
        [
            pair("participant_mic_unlocked", bob),
            pair("participant_mic_unlocked", carol),
            pair("participant_mic_unlocked", dan),
            pair("participant_unmuted", dan),
            pair("participant_unmuted", erin),
        ]
    );
    // A joiner sees the same state.
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"Fay","meeting_code":host.code}),
    );
    let reply = h.take(conn).remove(0);
    let state = |w: &Who| {
        let p = reply["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["client_id"] == w.id.as_str())
            .unwrap();
        (
            p["muted"].as_bool().unwrap(),
            p["mic_locked"].as_bool().unwrap(),
        )
    };
    assert_eq!(state(bob), (true, false));
    assert_eq!(state(carol), (true, false));
    assert_eq!(state(dan), (false, false));
    assert_eq!(state(erin), (false, true));
}

#[test]
fn requests_reach_targets() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    h.send(all[0].conn, json!({"type":"request_all_video"}));
    assert!(h.take(all[0].conn).is_empty());
    assert_eq!(
        h.one(all[1].conn),
        json!({"type":"video_requested","by":all[0].id})
    );
    assert_eq!(
        h.one(all[2].conn),
        json!({"type":"video_requested","by":all[0].id})
    );
    h.send(
        all[0].conn,
        json!({"type":"request_video","target_client_id":all[2].id}),
    );
    assert!(h.take(all[1].conn).is_empty());
    assert_eq!(h.one(all[2].conn)["type"], "video_requested");
    h.send(all[0].conn, json!({"type":"request_all_unmute"}));
    assert_eq!(
        h.one(all[1].conn),
        json!({"type":"unmute_requested","by":all[0].id})
    );
    assert_eq!(h.one(all[2].conn)["type"], "unmute_requested");
}

#[test]
fn remove_participant_tells_target_then_disconnects() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    h.send(
        all[0].conn,
        json!({"type":"remove_participant","target_client_id":all[1].id}),
    );
    assert_eq!(h.one(all[1].conn), json!({"type":"removed","by":all[0].id}));
    assert!(h.closed.contains(&all[1].conn));
    assert_eq!(h.one(all[2].conn)["reason"], "removed");
    // Bob's connection is gone from the core: more frames are ignored.
    h.send(all[1].conn, json!({"type":"chat","message":"still here?"}));
    assert!(h.take(all[2].conn).is_empty());
}

#[test]
fn make_host_moves_the_role() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    h.send(
        all[0].conn,
        json!({"type":"make_host","target_client_id":all[1].id}),
    );
    assert_eq!(
        h.one(all[0].conn),
        json!({"type":"host_changed","client_id":all[1].id})
    );
    assert_eq!(
        h.one(all[1].conn),
        json!({"type":"host_changed","client_id":all[1].id})
    );
    h.send(all[0].conn, json!({"type":"lock_meeting","locked":true}));
    assert_eq!(h.error_code(all[0].conn), "not_host");
}

// ------------------------------------------------------------ screen sharing

#[test]
fn one_presenter_at_a_time_and_frames_to_the_others() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    let (a, b, c) = (all[0].conn, all[1].conn, all[2].conn);
    h.send(b, json!({"type":"request_screen_share"}));
    for conn in [a, b, c] {
        assert_eq!(
            h.one(conn),
            json!({"type":"screen_share_started","presenter_id":all[1].id})
        );
    }
    h.send(c, json!({"type":"request_screen_share"}));
    assert_eq!(
        h.one(c),
        json!({"type":"screen_share_denied","current_presenter":all[1].id})
    );
    h.send(
        c,
        json!({"type":"screen_frame","frame_data":"AAAA","width":2,"height":2}),
    );
    assert_eq!(h.error_code(c), "not_presenter");
    h.send(
        b,
        json!({"type":"screen_frame","frame_data":"AAAA","width":2,"height":2}),
    );
    assert!(h.take(b).is_empty());
    assert_eq!(
        h.one(a),
        json!({"type":"screen_frame","presenter_id":all[1].id,"frame_data":"AAAA","width":2,"height":2})
    );
    h.take(c);
    // A late joiner learns the presenter and gets the latest frame.
    h.send(
        b,
        json!({"type":"screen_frame","frame_data":"BBBB","width":3,"height":3}),
    );
    h.inbox.clear();
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"Dan","meeting_code":all[0].code}),
    );
    let got = h.take(conn);
    assert_eq!(got[0]["presenter"], all[1].id.as_str());
    assert_eq!(got[1]["frame_data"], "BBBB");
    h.inbox.clear();
    // Carol may not stop it; the host may.
    h.send(c, json!({"type":"stop_screen_share"}));
    assert_eq!(h.error_code(c), "not_host");
    h.send(a, json!({"type":"stop_screen_share"}));
    assert_eq!(
        h.one(c),
        json!({"type":"screen_share_stopped","presenter_id":all[1].id})
    );
    // Nobody presents: ignored.
    h.inbox.clear();
    h.send(c, json!({"type":"stop_screen_share"}));
    assert!(h.take(c).is_empty());
}

#[test]
fn presenter_leaving_ends_the_share() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    h.send(all[1].conn, json!({"type":"request_screen_share"}));
    h.send(all[1].conn, json!({"type":"stop_screen_share"}));
    assert_eq!(h.take(all[0].conn)[1]["type"], "screen_share_stopped");
    h.send(all[1].conn, json!({"type":"request_screen_share"}));
    h.inbox.clear();
    h.core.on_disconnect(all[1].conn, LeaveReason::Error);
    h.collect();
    assert_eq!(h.types(all[0].conn), ["user_left", "screen_share_stopped"]);
    h.send(all[0].conn, json!({"type":"request_screen_share"}));
    assert_eq!(h.one(all[0].conn)["type"], "screen_share_started");
}

// ------------------------------------------------------------------- files

const HASH: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

fn offer(h: &mut Harness, from: &Who, file_id: &str, size: u64) {
    h.send(
        from.conn,
        json!({"type":"file_offer","file_id":file_id,"filename":"hello.txt","filesize":size,"sha256":HASH}),
    );
}

/// Opens a transfer of `file_id` from `sender` to `downloader`; returns its id.
fn request(h: &mut Harness, sender: &Who, downloader: &Who, file_id: &str) -> String {
    h.send(
        downloader.conn,
        json!({"type":"file_request","sender_id":sender.id,"file_id":file_id}),
    );
    let to_sender = h.one(sender.conn);
    assert_eq!(to_sender["type"], "file_request");
    assert_eq!(to_sender["downloader_id"], downloader.id.as_str());
    let t = to_sender["transfer_id"].as_str().unwrap().to_string();
    assert_eq!(
        h.one(downloader.conn),
        json!({"type":"file_transfer_started","transfer_id":t,"sender_id":sender.id,"file_id":file_id})
    );
    t
}

#[test]
fn a_file_is_relayed_from_offer_to_last_ack() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    let (a, b) = (&all[0].clone(), &all[1].clone());
    offer(&mut h, a, "f1", 5);
    assert!(h.take(a.conn).is_empty());
    let m = h.one(b.conn);
    assert_eq!(
        m,
        json!({"type":"file_offer","sender_id":a.id,"username":"Alice","file_id":"f1",
               "filename":"hello.txt","filesize":5,"sha256":HASH})
    );
    h.take(all[2].conn);
    let t = request(&mut h, a, b, "f1");
    h.send(
        a.conn,
        json!({"type":"file_chunk","transfer_id":t,"offset":0,"data":"aGVsbG8="}),
    );
    assert_eq!(
        h.one(b.conn),
        json!({"type":"file_chunk","transfer_id":t,"file_id":"f1","offset":0,"data":"aGVsbG8="})
    );
    assert!(h.take(all[2].conn).is_empty());
    h.send(
        a.conn,
        json!({"type":"file_end","transfer_id":t,"sha256":HASH}),
    );
    assert_eq!(
        h.one(b.conn),
        json!({"type":"file_end","transfer_id":t,"file_id":"f1","sha256":HASH})
    );
    h.send(
        b.conn,
        json!({"type":"file_ack","transfer_id":t,"offset":5}),
    );
    assert_eq!(
        h.one(a.conn),
        json!({"type":"file_ack","transfer_id":t,"offset":5})
    );
    assert_eq!(
        h.core.transfer_count(),
        0,
        "closed after file_end and the full ack"
    );
    h.send(
        b.conn,
        json!({"type":"file_ack","transfer_id":t,"offset":5}),
    );
    assert_eq!(h.error_code(b.conn), "no_such_transfer");
    // The offer stays for others, and shows in a join reply.
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"Dan","meeting_code":a.code}),
    );
    assert_eq!(h.one(conn)["files"][0]["file_id"], "f1");
}

#[test]
fn chunks_past_the_window_are_refused_and_not_relayed() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    let (a, b) = (&all[0].clone(), &all[1].clone());
    offer(&mut h, a, "big", 4 << 20);
    h.take(b.conn);
    let t = request(&mut h, a, b, "big");
    let data = base64::encode(&[7u8; 64 * 1024]);
    let chunk =
        |offset: u64| json!({"type":"file_chunk","transfer_id":t,"offset":offset,"data":data});
    // The first 1 MiB goes through without an ack.
    for k in 0..16u64 {
        h.send(a.conn, chunk(k * 65536));
        assert_eq!(h.one(b.conn)["offset"], k * 65536);
    }
    // One more byte past the window: refused, and the downloader gets nothing.
    h.send(a.conn, chunk(1 << 20));
    assert_eq!(h.error_code(a.conn), "bad_request");
    assert!(h.take(b.conn).is_empty());
    // An ack moves the window.
    h.send(
        b.conn,
        json!({"type":"file_ack","transfer_id":t,"offset":65536}),
    );
    h.take(a.conn);
    h.send(a.conn, chunk(1 << 20));
    assert_eq!(h.one(b.conn)["offset"], 1 << 20);
    h.send(a.conn, chunk((1 << 20) + 65536));
    assert_eq!(h.error_code(a.conn), "bad_request");
    assert!(h.take(b.conn).is_empty());
}

#[test]
fn only_the_right_party_may_touch_a_transfer() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol"]);
    let (a, b, c) = (all[0].clone(), all[1].clone(), all[2].clone());
    offer(&mut h, &a, "f1", 100);
    h.inbox.clear();
    h.send(
        b.conn,
        json!({"type":"file_request","sender_id":a.id,"file_id":"nope"}),
    );
    assert_eq!(h.error_code(b.conn), "no_such_file");
    let t = request(&mut h, &a, &b, "f1");
    let bad = [
        (
            c.conn,
            json!({"type":"file_chunk","transfer_id":t,"offset":0,"data":"AAAA"}),
        ),
        (
            b.conn,
            json!({"type":"file_chunk","transfer_id":t,"offset":0,"data":"AAAA"}),
        ),
        (
            a.conn,
            json!({"type":"file_ack","transfer_id":t,"offset":0}),
        ),
        (
            c.conn,
            json!({"type":"file_end","transfer_id":t,"sha256":HASH}),
        ),
        (c.conn, json!({"type":"file_cancel","transfer_id":t})),
        (
            a.conn,
            json!({"type":"file_chunk","transfer_id":"t999","offset":0,"data":"AAAA"}),
        ),
    ];
    for (conn, msg) in bad {
        h.send(conn, msg.clone());
        assert_eq!(h.error_code(conn), "no_such_transfer", "{msg}");
    }
    h.send(
        a.conn,
        json!({"type":"file_chunk","transfer_id":t,"offset":99,"data":"AAAA"}),
    );
    assert_eq!(
        h.error_code(a.conn),
        "bad_request",
        "past the end of the file"
    );
    assert!(h.take(b.conn).is_empty());
}

#[test]
fn cancel_and_leaving_end_transfers() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    let (a, b) = (all[0].clone(), all[1].clone());
    offer(&mut h, &a, "f1", 100);
    h.inbox.clear();
    let t1 = request(&mut h, &a, &b, "f1");
    h.send(b.conn, json!({"type":"file_cancel","transfer_id":t1}));
    assert_eq!(
        h.one(a.conn),
        json!({"type":"file_error","transfer_id":t1,"reason":"cancelled"})
    );
    let t2 = request(&mut h, &a, &b, "f1");
    let t3 = request(&mut h, &a, &b, "f1");
    h.send(
        a.conn,
        json!({"type":"file_end","transfer_id":t3,"sha256":HASH}),
    );
    h.take(b.conn);
    h.core.on_disconnect(a.conn, LeaveReason::Left);
    h.collect();
    let got = h.take(b.conn);
    assert!(got.contains(&json!({"type":"file_error","transfer_id":t2,"reason":"peer_left"})));
    assert!(
        !got.iter().any(|m| m["transfer_id"] == t3.as_str()),
        "t3 had its file_end"
    );
    assert!(got.contains(&json!({"type":"file_unavailable","sender_id":a.id,"file_id":"f1"})));
    assert_eq!(h.core.transfer_count(), 0);
}

#[test]
fn offers_are_unique_per_sender_and_can_be_withdrawn() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    offer(&mut h, &all[0], "f1", 1);
    offer(&mut h, &all[1], "f1", 1); // same file_id, another sender: fine
    h.inbox.clear();
    offer(&mut h, &all[0], "f1", 1);
    assert_eq!(h.error_code(all[0].conn), "bad_request");
    h.send(all[0].conn, json!({"type":"file_unoffer","file_id":"f1"}));
    let expected = json!({"type":"file_unavailable","sender_id":all[0].id,"file_id":"f1"});
    assert_eq!(h.one(all[0].conn), expected);
    assert_eq!(h.one(all[1].conn), expected);
    h.send(
        all[1].conn,
        json!({"type":"file_request","sender_id":all[0].id,"file_id":"f1"}),
    );
    assert_eq!(h.error_code(all[1].conn), "no_such_file");
}

// -------------------------------------------------------------------- UDP

#[test]
fn hello_binds_with_a_valid_token_only() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    assert_eq!(h.hello(&all[0], addr(1000)), DatagramAction::ReplyHello);
    assert_eq!(
        HELLO_REPLY,
        udp::build(Kind::Hello, "", udp::HELLO_OK).as_slice()
    );
    let wrong = udp::build(Kind::Hello, &all[0].id, b"00000000000000000000000000000000");
    assert_eq!(h.datagram(addr(1001), &wrong).0, DatagramAction::Nothing);
    // Bob's token with Alice's id: refused.
    let mixed = udp::build(Kind::Hello, &all[0].id, all[1].token.as_bytes());
    assert_eq!(h.datagram(addr(1001), &mixed).0, DatagramAction::Nothing);
    assert_eq!(h.core.media_stats.dropped, 2);
}

fn video(who: &Who, seq: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    video::fragment(&who.id, seq, &[7u8; 3000], 1400, |d| out.push(d.to_vec())).unwrap();
    out
}

#[test]
fn video_is_relayed_to_bound_others_only_from_the_bound_address() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob", "Carol", "Dan"]);
    h.hello(&all[0], addr(1000));
    h.hello(&all[1], addr(1001));
    h.hello(&all[2], addr(1002)); // Dan never says hello
    let frags = video(&all[0], 1);
    let (action, to) = h.datagram(addr(1000), &frags[0]);
    assert_eq!(action, DatagramAction::Relay);
    assert_eq!(to, [addr(1001), addr(1002)]);
    // Alice's id from Bob's address: spoofed, dropped.
    let (action, to) = h.datagram(addr(1001), &frags[1]);
    assert_eq!((action, to.len()), (DatagramAction::Nothing, 0));
    // Re-binding moves Alice.
    h.hello(&all[0], addr(2000));
    assert_eq!(h.datagram(addr(2000), &frags[1]).0, DatagramAction::Relay);
    assert_eq!(h.datagram(addr(1000), &frags[1]).0, DatagramAction::Nothing);
}

#[test]
fn bad_datagrams_are_counted_and_dropped() {
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    h.hello(&all[0], addr(1000));
    h.hello(&all[1], addr(1001));
    let id = all[0].id.as_str();
    let malformed: Vec<Vec<u8>> = vec![
        vec![],
        vec![b'X', 0, 0],
        vec![b'V', 0, 9, b'c'],
        udp::build(Kind::Video, id, &[0, 0, 0, 0, 0, 0, 0, 0]), // frag_count 0
        udp::build(Kind::Video, id, &[0, 0, 0, 0, 0, 0, 0xff, 0xff]), // 65535
        udp::build(Kind::Video, id, &[0, 0, 0, 0, 0, 5, 0, 5]), // index == count
        udp::build(Kind::Video, id, &[1, 2, 3]),
        udp::build(Kind::Audio, id, &[0; 963]),
        udp::build(Kind::Audio, id, &[0; 965]),
    ];
    for d in &malformed {
        assert_eq!(
            h.datagram(addr(1000), d).0,
            DatagramAction::Nothing,
            "{d:?}"
        );
    }
    assert_eq!(h.core.media_stats.malformed, malformed.len() as u64);
    let big = udp::build(Kind::Video, id, &vec![0u8; 1500]);
    assert_eq!(h.datagram(addr(1000), &big).0, DatagramAction::Nothing);
    let stranger = udp::build(Kind::Video, "c999", &[0, 0, 0, 0, 0, 0, 0, 1, 9]);
    assert_eq!(h.datagram(addr(1000), &stranger).0, DatagramAction::Nothing);
    assert_eq!(h.core.media_stats.dropped, 2);
}

// -------------------------------------------------------------------- mixer

#[test]
fn mixer_sends_each_listener_everyone_but_itself() {
    let mut h = Harness::new();
    let all = h.meeting(&["A", "B", "C"]);
    for (i, w) in all.iter().enumerate() {
        h.hello(w, addr(1000 + i as u16));
    }
    h.audio(&all[0], addr(1000), 1000);
    h.audio(&all[1], addr(1001), 2000);
    // A lone first frame waits one tick for a spare (`jitter.rs`).
    assert!(h.tick().is_empty());
    let heard = h.tick();
    assert_eq!(heard[&addr(1000)], [2000]);
    assert_eq!(heard[&addr(1001)], [1000]);
    assert_eq!(heard[&addr(1002)], [3000]);
}

#[test]
fn mixer_clamps_to_i16() {
    let mut h = Harness::new();
    let all = h.meeting(&["A", "B", "C"]);
    for (i, w) in all.iter().enumerate() {
        h.hello(w, addr(1000 + i as u16));
    }
    h.audio(&all[0], addr(1000), 30000);
    h.audio(&all[1], addr(1001), 30000);
    assert!(h.tick().is_empty(), "primed");
    assert_eq!(h.tick()[&addr(1002)], [32767]);
    h.audio(&all[0], addr(1000), -30000);
    h.audio(&all[1], addr(1001), -30000);
    assert_eq!(h.tick()[&addr(1002)], [-32768]);
}

#[test]
fn mixer_leaves_out_muted_sources() {
    let mut h = Harness::new();
    let all = h.meeting(&["A", "B", "C"]);
    for (i, w) in all.iter().enumerate() {
        h.hello(w, addr(1000 + i as u16));
    }
    h.send(
        all[0].conn,
        json!({"type":"mute_participant","target_client_id":all[1].id}),
    );
    h.audio(&all[0], addr(1000), 1000);
    let b = audio::build_datagram(&all[1].id, 0, &[2000; audio::FRAME_SAMPLES]);
    h.datagram(addr(1001), &b);
    assert!(h.tick().is_empty(), "primed");
    let heard = h.tick();
    assert_eq!(heard[&addr(1002)], [1000]);
    assert_eq!(heard[&addr(1001)], [1000]);
    assert!(!heard.contains_key(&addr(1000)), "nobody but A spoke");
}

#[test]
fn mixer_takes_one_frame_per_tick_and_keeps_five() {
    let mut h = Harness::new();
    let all = h.meeting(&["A", "B"]);
    h.hello(&all[0], addr(1000));
    h.hello(&all[1], addr(1001));
    for v in 1..=8 {
        h.audio(&all[0], addr(1000), v * 1000); // a burst of 8: the oldest 3 are dropped
    }
    let mut got = Vec::new();
    for _ in 0..5 {
        got.extend(h.tick().remove(&addr(1001)).unwrap_or_default());
    }
    assert_eq!(
        got,
        [4000, 5000, 6000, 7000, 8000],
        "one frame per tick, newest five kept"
    );
    assert_eq!(h.core.media_stats.audio_dropped, 3);
}

#[test]
fn a_frame_up_to_a_tick_late_still_makes_its_tick() {
    let mut h = Harness::new();
    let all = h.meeting(&["A", "B"]);
    h.hello(&all[0], addr(1000));
    h.hello(&all[1], addr(1001));
    // A starts speaking: its first frame waits for a spare behind it.
    h.audio(&all[0], addr(1000), 1);
    assert!(h.tick().is_empty(), "held until a spare frame is in hand");
    let mut heard = Vec::new();
    for v in 2..=40 {
        // Every tenth frame arrives just after its tick instead of before.
        if v % 10 != 0 {
            h.audio(&all[0], addr(1000), v);
        }
        heard.extend(h.tick().remove(&addr(1001)).unwrap_or_default());
        if v % 10 == 0 {
            h.audio(&all[0], addr(1000), v);
        }
    }
    assert_eq!(
        heard,
        (1..=39).collect::<Vec<i16>>(),
        "B hears A at every tick"
    );
    assert_eq!(h.core.media_stats.audio_underruns, 0);
    // A stops: the spare goes out, then nothing.
    assert_eq!(h.tick()[&addr(1001)], [40]);
    assert!(h.tick().is_empty());
    assert_eq!(h.core.media_stats.audio_underruns, 1);
}

#[test]
fn mixed_frames_count_up_per_listener() {
    let mut h = Harness::new();
    let all = h.meeting(&["A", "B"]);
    h.hello(&all[0], addr(1000));
    h.hello(&all[1], addr(1001));
    let mut seqs = Vec::new();
    h.audio(&all[0], addr(1000), 5);
    assert!(h.tick().is_empty(), "primed");
    for _ in 0..3 {
        h.audio(&all[0], addr(1000), 5);
        h.tick();
        let (_, d) = &h.sent[0];
        let (seq, _) = audio::parse_body(udp::parse(d).unwrap().body).unwrap();
        seqs.push(seq);
    }
    assert_eq!(seqs, [0, 1, 2]);
}

#[test]
fn mixer_runs_every_10_ms_from_the_timer() {
    let mut h = Harness::new();
    let start = h.core.media_stats.mix_ticks;
    for _ in 0..100 {
        h.advance(Duration::from_millis(10));
    }
    assert_eq!(h.core.media_stats.mix_ticks - start, 100);
    assert!(h.core.next_deadline() <= h.now + MIX_PERIOD);
}

#[test]
fn offers_and_downloads_are_bounded_per_participant() {
    use lanmeet_common::limits::{MAX_DOWNLOADS_PER_PARTICIPANT, MAX_OFFERS_PER_PARTICIPANT};
    let mut h = Harness::new();
    let all = h.meeting(&["Alice", "Bob"]);
    for i in 0..MAX_OFFERS_PER_PARTICIPANT {
        offer(&mut h, &all[0], &format!("f{i}"), 1);
    }
    h.inbox.clear();
    offer(&mut h, &all[0], "one-too-many", 1);
    assert_eq!(h.error_code(all[0].conn), "bad_request");
    assert!(h.take(all[1].conn).is_empty());
    h.send(all[0].conn, json!({"type":"file_unoffer","file_id":"f0"}));
    h.inbox.clear();
    offer(&mut h, &all[0], "now-fits", 1);
    assert!(h.take(all[0].conn).is_empty());
    h.inbox.clear();
    for _ in 0..MAX_DOWNLOADS_PER_PARTICIPANT {
        request(&mut h, &all[0], &all[1], "f1");
    }
    h.send(
        all[1].conn,
        json!({"type":"file_request","sender_id":all[0].id,"file_id":"f1"}),
    );
    assert_eq!(h.error_code(all[1].conn), "bad_request");
    assert!(h.take(all[0].conn).is_empty());
}

#[test]
fn the_largest_possible_join_reply_fits_a_client_frame() {
    use lanmeet_common::limits::{
        MAX_OFFERS_PER_MEETING, MAX_OFFERS_PER_PARTICIPANT, MAX_SERVER_FRAME,
    };
    // Everything at its limit, with the characters that cost the most bytes:
    // 4-byte characters in names, control characters (escaped as \u0001,
    // six bytes each) in chat lines and file names.
    let name = |i: usize| {
        let tag: String = format!("{i:02}")
            .chars()
            .map(|c| char::from_u32(0x1F600 + c as u32).unwrap())
            .collect();
        format!("{}{tag}", "𝕏".repeat(30))
    };
    let mut h = Harness::with(CoreConfig {
        max_connections: 128,
        ..config(64)
    });
    let host = h.create(&name(0));
    let mut all = vec![host.clone()];
    for i in 1..63 {
        all.push(h.join(&name(i), &host));
        h.inbox.clear();
    }
    let line = "\u{1}".repeat(4000);
    for _ in 0..100 {
        h.send(host.conn, json!({"type":"chat","message":line}));
    }
    let filename = "\u{1}".repeat(255);
    let mut offered = 0;
    'outer: for who in &all {
        for n in 0..MAX_OFFERS_PER_PARTICIPANT {
            if offered == MAX_OFFERS_PER_MEETING {
                break 'outer;
            }
            let file_id = format!("{}{n:04}", "\u{1}".repeat(60));
            h.send(
                who.conn,
                json!({"type":"file_offer","file_id":file_id,"filename":filename,"filesize":1,"sha256":HASH}),
            );
            offered += 1;
        }
    }
    h.inbox.clear();
    // One more offer is refused: the meeting is full of offers.
    h.send(
        all[20].conn,
        json!({"type":"file_offer","file_id":"x","filename":"x","filesize":1,"sha256":HASH}),
    );
    assert_eq!(h.error_code(all[20].conn), "bad_request");
    // The 64th participant joins and gets the biggest reply there can be.
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":name(63),"meeting_code":host.code}),
    );
    let reply = h.one(conn);
    assert_eq!(
        reply["files"].as_array().unwrap().len(),
        MAX_OFFERS_PER_MEETING
    );
    assert_eq!(reply["chat_history"].as_array().unwrap().len(), 100);
    let size = serde_json::to_vec(&reply).unwrap().len();
    println!("largest join reply: {size} bytes");
    assert!(
        size <= MAX_SERVER_FRAME,
        "join reply of {size} bytes is over {MAX_SERVER_FRAME}"
    );
}

// ------------------------------------------------ section 13: video NACKs

#[path = "nack_tests.rs"]
mod nack;

#[path = "shed_tests.rs"]
mod shed;

// Sections 15-18: polls, attendance, spotlight, discovery.
mod classroom;

// ------------------------------------------------- screen patches (section 19)

/// A meeting of Pam (presenting, named the feature), Vic (named it) and,
/// when `with_version1`, Old (a version 1 client); inboxes emptied after
/// Pam's first keyframe of a 256x128 screen.
fn patch_meeting(h: &mut Harness, with_version1: bool) -> Vec<(ConnId, String)> {
    let named = json!(["screen_patches"]);
    let (pam, reply) = enter_with(
        h,
        json!({"type":"create_meeting","version":1,"username":"Pam","features":named}),
    );
    let code = reply["meeting_code"].as_str().unwrap().to_string();
    let mut all = vec![(pam, reply["client_id"].as_str().unwrap().to_string())];
    let (vic, r) = enter_with(
        h,
        json!({"type":"join_meeting","version":1,"username":"Vic","meeting_code":code,"features":named}),
    );
    all.push((vic, r["client_id"].as_str().unwrap().to_string()));
    if with_version1 {
        let (old, r) = enter_with(
            h,
            json!({"type":"join_meeting","version":1,"username":"Old","meeting_code":code}),
        );
        all.push((old, r["client_id"].as_str().unwrap().to_string()));
    }
    h.send(pam, json!({"type":"request_screen_share"}));
    h.send(pam, keyframe(0));
    h.inbox.clear();
    all
}

fn keyframe(n: u8) -> Value {
    json!({"type":"screen_frame","frame_data":base64::encode(&[n; 3]),"width":256,"height":128})
}

fn patch(n: u8) -> Value {
    json!({"type":"screen_patch","patches":[
        {"x":0,"y":0,"width":64,"height":64,"frame_data":base64::encode(&[n; 3])},
        {"x":64,"y":64,"width":192,"height":64,"frame_data":base64::encode(&[n, 1, 2])}]})
}

/// The first byte of each rectangle of a received `screen_patch`.
fn patch_fill(v: &Value) -> u8 {
    assert_eq!(v["type"], "screen_patch", "{v}");
    base64::decode(v["patches"][0]["frame_data"].as_str().unwrap()).unwrap()[0]
}

#[test]
fn patches_go_in_order_to_viewers_that_named_the_feature() {
    let mut h = Harness::new();
    let all = patch_meeting(&mut h, false);
    let (pam, vic) = (all[0].0, all[1].0);
    for n in 1..=5 {
        h.send(pam, patch(n));
    }
    let got = h.take(vic);
    assert_eq!(
        got.iter().map(patch_fill).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(got[0]["presenter_id"], all[0].1.as_str());
    assert_eq!(got[0]["patches"][1]["width"], 192);
    assert!(h.take(pam).is_empty(), "no echo, no keyframe request");
}

#[test]
fn bad_patches_are_refused_and_not_forwarded() {
    let mut h = Harness::new();
    let all = patch_meeting(&mut h, true);
    let (pam, vic, old) = (all[0].0, all[1].0, all[2].0);
    // From someone else: not_presenter.
    h.send(vic, patch(1));
    assert_eq!(h.error_code(vic), "not_presenter");
    // Outside the keyframe, empty, too many rectangles: bad_request.
    let outside = json!({"type":"screen_patch","patches":[
        {"x":200,"y":0,"width":64,"height":64,"frame_data":"AAAA"}]});
    let empty = json!({"type":"screen_patch","patches":[]});
    let rect = json!({"x":0,"y":0,"width":1,"height":1,"frame_data":"AAAA"});
    let many = json!({"type":"screen_patch","patches":vec![rect; 257]});
    for bad in [outside, empty, many] {
        h.send(pam, bad);
        assert_eq!(h.error_code(pam), "bad_request");
    }
    assert!(h.take(vic).is_empty());
    // Old (version 1) becomes presenter: it did not name the feature.
    h.send(pam, json!({"type":"stop_screen_share"}));
    h.send(old, json!({"type":"request_screen_share"}));
    h.inbox.clear();
    h.send(old, keyframe(1));
    h.take(vic);
    h.send(old, patch(1));
    assert_eq!(h.error_code(old), "bad_request");
    assert!(h.take(vic).is_empty());
    // A presenter that named it, before its first keyframe.
    h.send(old, json!({"type":"stop_screen_share"}));
    h.send(vic, json!({"type":"request_screen_share"}));
    h.inbox.clear();
    h.send(vic, patch(1));
    assert_eq!(h.error_code(vic), "bad_request");
    assert!(h.take(pam).is_empty());
}

#[test]
fn a_version_1_viewer_gets_keyframes_only_and_a_fresh_one_each_second() {
    let mut h = Harness::new();
    let all = patch_meeting(&mut h, true);
    let (pam, old) = (all[0].0, all[2].0);
    h.send(pam, patch(1));
    assert!(h.take(old).is_empty(), "no screen_patch for version 1");
    assert_eq!(h.one(pam), json!({"type":"screen_keyframe_request"}));
    // More patches inside the second: no more requests.
    h.advance(Duration::from_millis(400));
    h.send(pam, patch(2));
    h.advance(Duration::from_millis(400));
    h.send(pam, patch(3));
    assert!(h.take(pam).is_empty());
    h.advance(Duration::from_millis(300));
    h.send(pam, patch(4));
    assert_eq!(h.types(pam), ["screen_keyframe_request"]);
    h.send(pam, keyframe(5));
    assert_eq!(h.one(old)["type"], "screen_frame");
    // Without version 1 viewers, patches ask for nothing.
    let mut h = Harness::new();
    let all = patch_meeting(&mut h, false);
    for _ in 0..3 {
        h.send(all[0].0, patch(1));
        h.advance(Duration::from_secs(1));
    }
    assert!(h.take(all[0].0).is_empty());
}

#[test]
fn a_slow_viewer_waits_for_the_next_keyframe() {
    let mut h = Harness::new();
    let all = patch_meeting(&mut h, false);
    let (pam, vic) = (all[0].0, all[1].0);
    h.send(pam, patch(1));
    h.take(vic);
    // Its queue was found holding screen data when patch 1 came.
    h.core.on_screen_viewer_behind(vic, h.now);
    h.collect();
    assert_eq!(h.types(pam), ["screen_keyframe_request"]);
    h.send(pam, patch(2));
    assert!(
        h.take(vic).is_empty(),
        "nothing of the screen until a keyframe"
    );
    // Behind again within 500 ms: the request waits, then goes once.
    h.core.on_screen_viewer_behind(vic, h.now);
    h.collect();
    assert!(h.take(pam).is_empty());
    h.advance(Duration::from_millis(510));
    assert_eq!(h.types(pam), ["screen_keyframe_request"]);
    h.advance(Duration::from_millis(600));
    assert!(h.take(pam).is_empty());
    // The keyframe brings it back, and patches follow again.
    h.send(pam, keyframe(3));
    h.send(pam, patch(4));
    let got = h.take(vic);
    assert_eq!(got[0]["type"], "screen_frame");
    assert_eq!(patch_fill(&got[1]), 4);
}

#[test]
fn a_late_joiner_gets_the_keyframe_then_every_patch_since() {
    let mut h = Harness::new();
    let all = patch_meeting(&mut h, false);
    let pam = all[0].0;
    for n in 1..=3 {
        h.send(pam, patch(n));
    }
    let code = h.core.meetings.keys().next().unwrap().clone();
    let (late, _) = enter_with(
        &mut h,
        json!({"type":"join_meeting","version":1,"username":"Late","meeting_code":code,
               "features":["screen_patches"]}),
    );
    let got = h.take(late);
    assert_eq!(got[0]["type"], "screen_frame");
    assert_eq!(
        got[1..].iter().map(patch_fill).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(h.types(pam), ["user_joined"], "no keyframe asked for");
    // A version 1 joiner gets the keyframe, and a fresh one is asked for.
    let (old, _) = enter_with(
        &mut h,
        json!({"type":"join_meeting","version":1,"username":"Old","meeting_code":code}),
    );
    assert_eq!(h.types(old), ["screen_frame"]);
    assert_eq!(h.types(pam), ["user_joined", "screen_keyframe_request"]);
}

#[test]
fn past_4_mib_of_patches_the_server_asks_for_a_keyframe_and_joiners_wait() {
    let mut h = Harness::new();
    let all = patch_meeting(&mut h, false);
    let pam = all[0].0;
    let big = base64::encode(&vec![9u8; 600 * 1024]);
    let big_patch = json!({"type":"screen_patch","patches":[
        {"x":0,"y":0,"width":8,"height":8,"frame_data":big}]});
    for _ in 0..5 {
        h.send(pam, big_patch.clone());
    }
    assert!(h.take(pam).is_empty(), "under 4 MiB kept");
    h.send(pam, big_patch.clone());
    assert_eq!(h.types(pam), ["screen_keyframe_request"]);
    let code = h.core.meetings.keys().next().unwrap().clone();
    let (late, _) = enter_with(
        &mut h,
        json!({"type":"join_meeting","version":1,"username":"Late","meeting_code":code,
               "features":["screen_patches"]}),
    );
    assert_eq!(
        h.types(late),
        ["screen_frame"],
        "the old keyframe, no patches"
    );
    h.take(pam);
    h.send(pam, patch(1));
    assert!(h.take(late).is_empty(), "it waits for the next keyframe");
    h.send(pam, keyframe(2));
    h.send(pam, patch(3));
    assert_eq!(h.types(late), ["screen_frame", "screen_patch"]);
}

// ------------------------------------- sections 11-12: layers and speaking

#[path = "layers_tests.rs"]
mod layers;
