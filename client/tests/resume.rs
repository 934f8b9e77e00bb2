//! Resuming after a dropped connection (section 14), end to end: the
//! client reaches the server through a small TCP proxy in the test that
//! can cut its connection (UDP goes direct), and must come back on its own
//! with the same id, name, host role and hand.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use lanmeet_client::{DisconnectReason, Event};
use lanmeet_common::message::LeaveReason;
use support::*;

/// A TCP proxy: each accepted connection is piped to `upstream`. `cut`
/// closes the client's side (and, if asked, the server's side) of every
/// connection so far; while `refuse` is set, new connections are closed at
/// once.
struct Proxy {
    addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    refuse: Arc<AtomicBool>,
    /// Connections numbered below this forward nothing (both ways).
    stalled_below: Arc<AtomicUsize>,
    pairs: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
}

/// Copies until either side fails; never passes a close on, so cutting
/// the client's side leaves the server's side open and silent.
/// While the connection is stalled, what arrives is dropped.
fn pump(mut from: TcpStream, mut to: TcpStream, number: usize, stalled_below: Arc<AtomicUsize>) {
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            return;
        }
        if number >= stalled_below.load(Ordering::Acquire) && to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            upstream: Arc::new(Mutex::new(upstream)),
            refuse: Arc::new(AtomicBool::new(false)),
            stalled_below: Arc::new(AtomicUsize::new(0)),
            pairs: Arc::new(Mutex::new(Vec::new())),
        };
        let (upstream, refuse, pairs, stalled) = (
            proxy.upstream.clone(),
            proxy.refuse.clone(),
            proxy.pairs.clone(),
            proxy.stalled_below.clone(),
        );
        std::thread::spawn(move || {
            for (number, client) in listener.incoming().flatten().enumerate() {
                if refuse.load(Ordering::Acquire) {
                    continue; // dropped: closed at once
                }
                let to = *upstream.lock().unwrap();
                let Ok(server) = TcpStream::connect(to) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                pairs
                    .lock()
                    .unwrap()
                    .push((client.try_clone().unwrap(), server.try_clone().unwrap()));
                let st = stalled.clone();
                std::thread::spawn(move || pump(client, s2, number, st));
                let st = stalled.clone();
                std::thread::spawn(move || pump(server, c2, number, st));
            }
        });
        proxy
    }

    /// Every connection so far goes silent both ways (none is closed).
    fn stall(&self) {
        let made = self.pairs.lock().unwrap().len();
        self.stalled_below.store(made, Ordering::Release);
    }

    /// Cuts every connection so far on the client's side; with
    /// `server_too`, on the server's side as well (the server sees the
    /// close).
    fn cut(&self, server_too: bool) {
        for (client, server) in self.pairs.lock().unwrap().drain(..) {
            let _ = client.shutdown(Shutdown::Both);
            if server_too {
                let _ = server.shutdown(Shutdown::Both);
            }
        }
    }
}

/// A creates a meeting through the proxy, B joins directly.
fn meeting(server: &lanmeet_server::ServerHandle, dir: &TempDir) -> (Proxy, Client, Client) {
    meeting_with(server, dir, |_| {})
}

/// `meeting` with Alice's configuration tweaked.
fn meeting_with(
    server: &lanmeet_server::ServerHandle,
    dir: &TempDir,
    tweak: impl FnOnce(&mut lanmeet_client::Config),
) -> (Proxy, Client, Client) {
    let proxy = Proxy::start(server.tcp_addr());
    let mut config = config(server, "Alice", None, dir.path());
    tweak(&mut config);
    config.host = "127.0.0.1".into();
    config.port = proxy.addr.port();
    let a = connect(config);
    let b = join(server, "Bob", &a.code(), dir.path());
    (proxy, a, b)
}

fn left_or_joined(e: &Event) -> bool {
    matches!(
        e,
        Event::ParticipantLeft { .. } | Event::ParticipantJoined { .. }
    )
}

#[test]
fn a_cut_connection_resumes_with_the_same_id_name_host_role_and_hand() {
    let server = server();
    let dir = TempDir::new("resume-cut");
    let (proxy, mut a, mut b) = meeting(&server, &dir);
    let a_id = a.id();
    a.session.raise_hand(true).unwrap();
    b.events.wait(
        |e| matches!(e, Event::Hand { raised: true, client_id, .. } if *client_id == a_id),
        "Alice's hand",
    );
    a.events.drain();

    // The server never sees this close: the old connection stays open.
    proxy.cut(false);
    a.events
        .wait(|e| matches!(e, Event::Reconnecting { .. }), "reconnecting");
    let resumed = a
        .events
        .wait(|e| matches!(e, Event::Resumed { .. }), "the resume");
    assert!(
        matches!(&resumed, Event::Resumed { client_id, is_host: true, others: 1 } if *client_id == a_id),
        "{resumed:?}"
    );
    let state = a.session.state();
    let me = state.me().unwrap();
    assert_eq!(
        (me.client_id.as_str(), me.username.as_str()),
        (a_id.as_str(), "Alice")
    );
    assert!(me.is_host && me.hand_raised && !state.reconnecting);

    // The connection works: a chat line goes through it.
    a.session.chat("still here", None).unwrap();
    b.events.wait(
        |e| matches!(e, Event::Chat(line) if line.message == "still here" && line.client_id == a_id),
        "the chat line after the resume",
    );
    let seen_by_b = b.session.state();
    let a_there = seen_by_b.participant(&a_id).unwrap();
    assert!(a_there.is_host && a_there.hand_raised && a_there.username == "Alice");
    assert!(
        !b.events.seen.iter().any(left_or_joined),
        "Bob saw nothing: {:?}",
        b.events.seen
    );
    a.session.leave();
}

#[test]
fn a_resume_after_the_server_saw_the_close_returns_the_place() {
    let server = server();
    let dir = TempDir::new("resume-closed");
    let (proxy, mut a, mut b) = meeting(&server, &dir);
    let (a_id, b_id) = (a.id(), b.id());
    a.session.raise_hand(true).unwrap();
    b.events.wait(
        |e| matches!(e, Event::Hand { raised: true, client_id, .. } if *client_id == a_id),
        "Alice's hand",
    );

    // Attempts fail until the server has seen Alice go.
    proxy.refuse.store(true, Ordering::Release);
    proxy.cut(true);
    a.events
        .wait(|e| matches!(e, Event::Reconnecting { .. }), "reconnecting");
    b.events.wait(
        |e| matches!(e, Event::ParticipantLeft { client_id, reason: LeaveReason::Error | LeaveReason::Left | LeaveReason::Timeout, .. } if *client_id == a_id),
        "Alice's drop, seen by the server",
    );
    b.events.wait(
        |e| matches!(e, Event::HostChanged { client_id } if *client_id == b_id),
        "the host role moving to Bob",
    );
    proxy.refuse.store(false, Ordering::Release);

    let resumed = a
        .events
        .wait(|e| matches!(e, Event::Resumed { .. }), "the resume");
    assert!(
        matches!(&resumed, Event::Resumed { client_id, is_host: true, .. } if *client_id == a_id),
        "{resumed:?}"
    );
    b.events.wait(
        |e| matches!(e, Event::ParticipantJoined { client_id, username } if *client_id == a_id && username == "Alice"),
        "Alice back, same id and name",
    );
    b.events.wait(
        |e| matches!(e, Event::HostChanged { client_id } if *client_id == a_id),
        "the host role back with Alice",
    );
    let state = a.session.state();
    assert!(state.am_host() && state.my_id == a_id);
    // The server forgot the hand with the drop; the client raised it again.
    b.events.wait(
        |e| matches!(e, Event::Hand { raised: true, client_id, .. } if *client_id == a_id),
        "Alice's hand up again",
    );
    assert!(b.session.state().participant(&a_id).unwrap().hand_raised);
    a.session.chat("back", None).unwrap();
    b.events.wait(
        |e| matches!(e, Event::Chat(line) if line.message == "back"),
        "a chat line after the resume",
    );
    a.session.leave();
}

#[test]
fn a_refused_resume_ends_with_a_clear_disconnect() {
    let server = server();
    let other = support::server();
    let dir = TempDir::new("resume-expired");
    let (proxy, mut a, _b) = meeting(&server, &dir);
    // The new connection reaches a server that never heard of the token.
    *proxy.upstream.lock().unwrap() = other.tcp_addr();
    proxy.cut(true);
    a.events
        .wait(|e| matches!(e, Event::Reconnecting { .. }), "reconnecting");
    let end = a
        .events
        .wait(|e| matches!(e, Event::Disconnected { .. }), "the end");
    assert_eq!(
        end,
        Event::Disconnected {
            reason: DisconnectReason::ResumeExpired
        }
    );
    assert!(!a.session.is_connected());
    assert!(!a.session.state().connected);
}

#[test]
fn the_headless_client_resumes_sends_its_camera_state_again_and_prints_the_events() {
    let server = server();
    let dir = TempDir::new("resume-headless");
    let proxy = Proxy::start(server.tcp_addr());
    let mut host = create(&server, "Host", dir.path());
    let port = proxy.addr.port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lanmeet-client"))
        .args(["--headless", "--host", "127.0.0.1", "--port", &port])
        .args(["--name", "Robot", "--join", &host.code()])
        .args(["--video", "test", "--size", "160x120", "--fps", "5"])
        .args(["--audio", "none", "--seconds", "4"])
        .arg("--download-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the client binary runs");
    let lines = read_stdout_lines(&mut child);
    let camera_on = |e: &Event| matches!(e, Event::VideoState { on: true, .. });
    host.events.wait(camera_on, "the binary's camera");
    proxy.cut(false);
    // Only the resumed session says so again.
    host.events
        .wait(camera_on, "the camera state sent again after the resume");

    assert!(child.wait().expect("the binary exits").success());
    let events: Vec<serde_json::Value> = lines
        .join()
        .unwrap()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let named = |name: &str| {
        events
            .iter()
            .position(|v| v["event"] == name)
            .unwrap_or_else(|| panic!("no {name} line in {events:?}"))
    };
    let (joined, reconnecting, resumed) =
        (named("joined"), named("reconnecting"), named("resumed"));
    assert!(joined < reconnecting && reconnecting < resumed);
    assert_eq!(events[resumed]["client_id"], events[joined]["client_id"]);
    assert_eq!(events[reconnecting]["reason"]["kind"], "server_closed");
    let seen = &host.events.seen;
    assert!(!seen
        .iter()
        .any(|e| matches!(e, Event::ParticipantLeft { .. })));
    let joins = seen
        .iter()
        .filter(|e| matches!(e, Event::ParticipantJoined { .. }))
        .count();
    assert_eq!(joins, 1, "the binary joined once: {seen:?}");
}

#[test]
fn a_silent_connection_is_given_up_and_resumed() {
    let server = server();
    let dir = TempDir::new("resume-silent");
    let (proxy, mut a, mut b) = meeting_with(&server, &dir, |c| {
        c.ping_interval = std::time::Duration::from_millis(300);
        c.server_timeout = std::time::Duration::from_millis(1500);
    });
    let a_id = a.id();
    proxy.stall();
    let lost = a
        .events
        .wait(|e| matches!(e, Event::Reconnecting { .. }), "reconnecting");
    assert_eq!(
        lost,
        Event::Reconnecting {
            reason: DisconnectReason::Timeout
        }
    );
    let resumed = a
        .events
        .wait(|e| matches!(e, Event::Resumed { .. }), "the resume");
    assert!(matches!(&resumed, Event::Resumed { client_id, .. } if *client_id == a_id));
    a.session.chat("awake", None).unwrap();
    b.events.wait(
        |e| matches!(e, Event::Chat(line) if line.message == "awake"),
        "a chat line after the resume",
    );
    assert!(!b.events.seen.iter().any(left_or_joined));
    a.session.leave();
}
