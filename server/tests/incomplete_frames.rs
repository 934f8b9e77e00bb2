//! End-to-end: hundreds of participants each hold an almost complete
//! 4 MiB frame, and the server's memory stays under its cap on incomplete
//! frames while a meeting goes on (docs/SECURITY.md states this bound).
//!
//! ```text
//!  200 joined connections --- 4 MiB header + 4 MiB - 1 bytes each --> server
//!                                 (--max-incomplete-mib 64: about 16 fit;
//!                                  past the cap the newest is refused)
//!  Alice <--- chat ---> Bob          still served
//!  peak RSS of the server process (VmHWM) < cap + 32 MiB
//! ```
//!
//! The server runs as its own process, so its memory is measured apart
//! from this test's.

mod support;

use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use lanmeet_common::limits::MAX_CLIENT_FRAME;
use support::{Client, Next};

const CAP_MIB: usize = 64;
const HOLDERS: usize = 200;
/// Memory the server may use besides the incomplete frames.
const OVERHEAD_MIB: usize = 32;

struct ServerProcess {
    child: Child,
    tcp: SocketAddr,
    log_dir: PathBuf,
    _stdout: BufReader<ChildStdout>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.log_dir);
    }
}

fn start() -> ServerProcess {
    let log_dir = std::env::temp_dir().join(format!("lanmeet-incomplete-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_lanmeet-server"))
        .args(["--bind", "127.0.0.1", "--port", "0", "--log-dir"])
        .arg(&log_dir)
        .args(["--max-incomplete-mib", &CAP_MIB.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary starts");
    let mut line = String::new();
    // Kept open: the server prints a second line, and a closed pipe would
    // fail it.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let tcp = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("tcp="))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    ServerProcess {
        child,
        tcp,
        log_dir,
        _stdout: stdout,
    }
}

/// A `/proc/<pid>/status` figure in KiB.
fn status_kib(pid: u32, field: &str) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn connect(server: &ServerProcess) -> Client {
    Client::from_stream(TcpStream::connect(server.tcp).unwrap())
}

/// Creates (`code` None) or joins a meeting; returns the connection and
/// the meeting code.
fn enter(server: &ServerProcess, name: &str, code: Option<&str>) -> (Client, String) {
    let mut c = connect(server);
    match code {
        None => c.send(&json!({"type":"create_meeting","version":1,"username":name})),
        Some(code) => {
            c.send(&json!({"type":"join_meeting","version":1,"username":name,"meeting_code":code}))
        }
    }
    let reply = c.recv();
    assert!(
        reply["type"] == "meeting_created" || reply["type"] == "join_success",
        "{reply}"
    );
    let code = reply["meeting_code"].as_str().unwrap().to_string();
    (c, code)
}

#[test]
fn hundreds_of_almost_complete_frames_stay_under_the_cap() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("skipped: needs /proc to read the server's memory");
        return;
    }
    let server = start();
    let pid = server.child.id();
    let (mut alice, code) = enter(&server, "Alice", None);
    let (mut bob, _) = enter(&server, "Bob", Some(&code));
    alice.expect_type("user_joined");
    let before = status_kib(pid, "VmRSS:");

    // 200 participants in four meetings of 50.
    let mut holders = Vec::new();
    let mut meeting = String::new();
    for i in 0..HOLDERS {
        let (c, joined) = if i % 50 == 0 {
            enter(&server, &format!("H{i}"), None)
        } else {
            enter(&server, &format!("H{i}"), Some(&meeting))
        };
        meeting = joined;
        holders.push(c);
    }
    // Each sends all of a 4 MiB frame but its last byte.
    let mut frame = vec![b'x'; 4 + MAX_CLIENT_FRAME - 1];
    frame[..4].copy_from_slice(&(MAX_CLIENT_FRAME as u32).to_be_bytes());
    let mut refused_while_sending = 0;
    for c in &mut holders {
        if let Err(e) = c.try_send_raw(&frame) {
            assert!(
                matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
                "{e}"
            );
            refused_while_sending += 1;
        }
    }
    // A meeting goes on.
    alice.send(&json!({"type":"chat","message":"still here?"}));
    assert_eq!(bob.expect_type("chat")["message"], "still here?");
    bob.ping_pong();

    // Who was refused: server_full, then closed. The others hold on.
    let mut held = Vec::new();
    let mut refused = 0;
    for (i, c) in holders.iter_mut().enumerate() {
        // Skip the user_joined notices of later joiners.
        loop {
            match c.next_frame(Duration::from_millis(50)) {
                Next::Frame(body) => {
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    if v["type"] == "error" {
                        assert_eq!(v["code"], "server_full", "{v}");
                        refused += 1;
                        break;
                    }
                }
                Next::Closed => {
                    refused += 1;
                    break;
                }
                Next::Timeout => {
                    held.push(i);
                    break;
                }
            }
        }
    }
    let peak = status_kib(pid, "VmHWM:");
    println!(
        "{} of {HOLDERS} hold an almost complete 4 MiB frame, {refused} refused \
         ({refused_while_sending} while sending); server RSS {} MiB before, peak {} MiB, cap {CAP_MIB} MiB",
        held.len(),
        before >> 10,
        peak >> 10
    );
    assert!(
        peak >> 10 < CAP_MIB + OVERHEAD_MIB,
        "peak RSS {} MiB is over the cap of {CAP_MIB} MiB plus {OVERHEAD_MIB} MiB",
        peak >> 10
    );
    let fit = CAP_MIB / 4;
    assert!(
        (fit - 2..=fit).contains(&held.len()),
        "{} frames held, {fit} fit under the cap",
        held.len()
    );
    // The oldest were kept, the newest refused.
    assert_eq!(held, (0..held.len()).collect::<Vec<_>>());
    // A frame held that long is still taken whole: its last byte makes it
    // a (malformed) message, answered and kept.
    let first = &mut holders[held[0]];
    first.send_raw(b"x");
    first.expect_error("bad_request");
    first.ping_pong();
}
