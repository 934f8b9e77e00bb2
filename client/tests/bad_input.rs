//! A fake server (a plain TcpListener in the test) that misbehaves: the
//! session must report a clear error, clean up, and never panic or hang.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lanmeet_client::{Config, DisconnectReason, Event, Session, SessionError, TransferStatus};
use lanmeet_common::framing;
use lanmeet_common::ErrorCode;
use serde_json::json;
use support::*;

/// A one-connection fake server running `script`.
struct Fake {
    port: u16,
    /// Keeps the UDP port the join reply names open (it never answers).
    _udp: UdpSocket,
    udp_port: u16,
    thread: Option<JoinHandle<()>>,
}

fn fake(script: impl FnOnce(TcpStream, u16) + Send + 'static) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            script(stream, udp_port);
        }
    });
    Fake {
        port,
        _udp: udp,
        udp_port,
        thread: Some(thread),
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            // An assertion in the fake server's script fails the test.
            if let Err(panic) = t.join() {
                if !std::thread::panicking() {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }
}

fn fake_config(port: u16, dir: &std::path::Path) -> Config {
    let mut c = Config::join("127.0.0.1", port, "Tester", "ABCDEF");
    c.connect_timeout = Duration::from_secs(1);
    c.server_timeout = Duration::from_millis(1200);
    c.ping_interval = Duration::from_millis(300);
    c.download_dir = dir.to_path_buf();
    c
}

/// Reads one client frame (or `None` when the client closed).
fn read_frame(s: &mut TcpStream) -> Option<serde_json::Value> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn send(s: &mut TcpStream, v: serde_json::Value) {
    let _ = s.write_all(&framing::encode_json(&v));
}

fn join_reply(udp_port: u16) -> serde_json::Value {
    json!({"type":"join_success","meeting_code":"ABCDEF","client_id":"c2","is_host":false,
           "udp_port":udp_port,"udp_token":"0123456789abcdef0123456789abcdef","max_datagram":1400,
           "participants":[{"client_id":"c1","username":"Host","is_host":true,"video":false,
                            "muted":false,"mic_locked":false,"hand_raised":false,"raised_at":null}],
           "presenter":null,"locked":false,"chat_history":[],
           "files":[{"sender_id":"c1","username":"Host","file_id":"f1","filename":"a.bin",
                     "filesize":1000000,"sha256":"0".repeat(64)}]})
}

fn connect_err(config: Config) -> SessionError {
    match Session::connect(config) {
        Ok(_) => panic!("the handshake should fail"),
        Err(e) => e,
    }
}

#[test]
fn handshake_failures_are_clear_errors() {
    let dir = TempDir::new("bad-hs");
    // Not our protocol at all: an HTTP answer reads as a 1.2 GB length.
    let f = fake(|mut s, _| {
        read_frame(&mut s);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let e = connect_err(fake_config(f.port, dir.path()));
    assert!(matches!(e, SessionError::Protocol(_)), "{e}");
    assert!(e.to_string().contains("protocol"), "{e}");

    // A frame that is not JSON.
    let f = fake(|mut s, _| {
        read_frame(&mut s);
        let _ = s.write_all(&framing::encode(b"\xff\xfe garbage"));
    });
    let e = connect_err(fake_config(f.port, dir.path()));
    assert!(matches!(e, SessionError::Protocol(_)), "{e}");

    // Hangs up.
    let f = fake(|mut s, _| {
        read_frame(&mut s);
    });
    let e = connect_err(fake_config(f.port, dir.path()));
    assert!(matches!(e, SessionError::Closed), "{e}");

    // Says nothing.
    let f = fake(|mut s, _| {
        read_frame(&mut s);
        std::thread::sleep(Duration::from_millis(1500));
    });
    let t0 = Instant::now();
    let e = connect_err(fake_config(f.port, dir.path()));
    assert!(matches!(e, SessionError::Timeout), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(3));

    // Refuses, in the protocol's words.
    let f = fake(|mut s, _| {
        let hello = read_frame(&mut s).unwrap();
        assert_eq!(hello["type"], "join_meeting");
        assert_eq!(hello["version"], 1);
        send(
            &mut s,
            json!({"type":"error","code":"meeting_locked","message":"locked"}),
        );
    });
    let e = connect_err(fake_config(f.port, dir.path()));
    assert!(
        matches!(
            e,
            SessionError::Refused {
                code: ErrorCode::MeetingLocked,
                ..
            }
        ),
        "{e}"
    );

    // A join reply with a broken token.
    let f = fake(|mut s, udp| {
        read_frame(&mut s);
        let mut reply = join_reply(udp);
        reply["udp_token"] = json!("short");
        send(&mut s, reply);
    });
    let e = connect_err(fake_config(f.port, dir.path()));
    assert!(matches!(e, SessionError::Protocol(_)), "{e}");

    // A closed port.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = connect_err(fake_config(port, dir.path()));
    assert!(matches!(e, SessionError::Connect(_)), "{e}");
}

/// Joins the fake server; returns the client once the join event is in.
fn joined(f: &Fake, dir: &std::path::Path) -> Client {
    let _ = f.udp_port;
    connect(fake_config(f.port, dir))
}

fn wait_end(c: &mut Client) -> DisconnectReason {
    let e = c
        .events
        .wait(|e| matches!(e, Event::Disconnected { .. }), "the end");
    let Event::Disconnected { reason } = e else {
        unreachable!()
    };
    assert!(!c.session.is_connected());
    assert!(!c.session.state().connected);
    assert!(matches!(
        c.session.chat("anyone?", None),
        Err(SessionError::NotConnected)
    ));
    reason
}

#[test]
fn garbage_after_joining_ends_the_session_cleanly() {
    let dir = TempDir::new("bad-garbage");
    let f = fake(|mut s, udp| {
        read_frame(&mut s);
        send(&mut s, join_reply(udp));
        // An extension from a newer server: ignored.
        send(&mut s, json!({"type":"hologram","x":1}));
        // A known type with a missing field: a warning, not the end.
        send(&mut s, json!({"type":"user_joined"}));
        send(
            &mut s,
            json!({"type":"chat","client_id":"c1","username":"Host",
                             "message":"still here","timestamp":1.0,"private":false}),
        );
        let _ = s.write_all(&framing::encode(b"[1, 2, 3]"));
        std::thread::sleep(Duration::from_millis(500));
    });
    let mut c = joined(&f, dir.path());
    c.events
        .wait(|e| matches!(e, Event::Warning { .. }), "the warning");
    c.events.wait(
        |e| matches!(e, Event::Chat(l) if l.message == "still here"),
        "the chat line after the extension",
    );
    let reason = wait_end(&mut c);
    assert!(
        matches!(reason, DisconnectReason::Protocol(_)),
        "{reason:?}"
    );
    let t0 = Instant::now();
    c.session.leave();
    assert!(t0.elapsed() < Duration::from_secs(1), "leave hung");
}

/// The fake server's side of the start of a download: the join answered,
/// then the client's request for `f1` answered with transfer `transfer_id`
/// started. `None` if the client hung up first.
fn start_download(s: &mut TcpStream, udp: u16, transfer_id: &str) -> Option<()> {
    read_frame(s);
    send(s, join_reply(udp));
    // Whatever comes before the request (pings) goes unanswered.
    while read_frame(s)?["type"] != "file_request" {}
    send(
        s,
        json!({"type":"file_transfer_started","transfer_id":transfer_id,
               "sender_id":"c1","file_id":"f1"}),
    );
    Some(())
}

#[test]
fn a_server_that_disconnects_mid_download_leaves_no_part_file() {
    let dir = TempDir::new("bad-close");
    let f = fake(|mut s, udp| {
        // Wait for the file request, start the transfer, send a little.
        if start_download(&mut s, udp, "t1").is_none() {
            return;
        }
        send(
            &mut s,
            json!({"type":"file_chunk","transfer_id":"t1","file_id":"f1",
                             "offset":0,"data":lanmeet_common::base64::encode(&[7u8; 1000])}),
        );
        std::thread::sleep(Duration::from_millis(300));
        // Then vanish.
    });
    let mut c = joined(&f, dir.path());
    assert_eq!(c.session.state().offers.len(), 1);
    c.session.request_file("c1", "f1").unwrap();
    c.events.wait(
        |e| matches!(e, Event::TransferStarted { .. }),
        "the transfer to start",
    );
    assert_eq!(wait_end(&mut c), DisconnectReason::ServerClosed);
    let failed = c
        .events
        .seen
        .iter()
        .any(|e| matches!(e, Event::TransferFailed { transfer_id, .. } if transfer_id == "t1"));
    assert!(failed, "the download failed with an event");
    assert_eq!(
        c.session.state().transfer("t1").unwrap().status,
        TransferStatus::Failed
    );
    assert!(dir.names().is_empty(), "left behind: {:?}", dir.names());
}

#[test]
fn a_server_that_stops_answering_times_out() {
    let dir = TempDir::new("bad-silent");
    let f = fake(|mut s, udp| {
        read_frame(&mut s);
        send(&mut s, join_reply(udp));
        // Read (pings) but never answer.
        let mut pings = 0;
        while let Some(m) = read_frame(&mut s) {
            if m["type"] == "ping" {
                pings += 1;
            }
        }
        assert!(pings >= 2, "the client pinged {pings} times");
    });
    let mut c = joined(&f, dir.path());
    let t0 = Instant::now();
    assert_eq!(wait_end(&mut c), DisconnectReason::Timeout);
    assert!(t0.elapsed() < Duration::from_secs(3));
    // The fake never answers hellos: the media path never was ok.
    assert_ne!(c.session.media_path(), lanmeet_client::MediaPath::Ok);
    drop(c);
}

#[test]
fn a_hostile_chunk_fails_the_download_not_the_session() {
    let dir = TempDir::new("bad-chunk");
    let f = fake(|mut s, udp| {
        if start_download(&mut s, udp, "t9").is_none() {
            return;
        }
        // Starts past the end of what was written: refused.
        send(
            &mut s,
            json!({"type":"file_chunk","transfer_id":"t9","file_id":"f1",
                             "offset":5000,"data":"AAAA"}),
        );
        loop {
            let Some(m) = read_frame(&mut s) else { return };
            if m["type"] == "file_cancel" {
                assert_eq!(m["transfer_id"], "t9");
                send(&mut s, json!({"type":"pong"}));
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        send(
            &mut s,
            json!({"type":"chat","client_id":"c1","username":"Host",
                             "message":"after","timestamp":1.0,"private":false}),
        );
        // Wait for the client to leave.
        while read_frame(&mut s).is_some() {}
    });
    let mut c = joined(&f, dir.path());
    c.session.request_file("c1", "f1").unwrap();
    c.events.wait(
        |e| matches!(e, Event::TransferFailed { transfer_id, .. } if transfer_id == "t9"),
        "the failed download",
    );
    c.events.wait(
        |e| matches!(e, Event::Chat(l) if l.message == "after"),
        "the session going on",
    );
    assert!(dir.names().is_empty(), "left behind: {:?}", dir.names());
    c.session.leave();
}
