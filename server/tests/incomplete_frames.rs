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

use std::io::ErrorKind;
use std::time::Duration;

use serde_json::json;

use lanmeet_common::limits::MAX_CLIENT_FRAME;
use support::{Next, ServerProcess};

const CAP_MIB: usize = 64;
const HOLDERS: usize = 200;
/// Memory the server may use besides the incomplete frames.
const OVERHEAD_MIB: usize = 32;

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

#[test]
fn hundreds_of_almost_complete_frames_stay_under_the_cap() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("skipped: needs /proc to read the server's memory");
        return;
    }
    let server = ServerProcess::start(
        "incomplete",
        &["--max-incomplete-mib", &CAP_MIB.to_string()],
    );
    let pid = server.child.id();
    let (mut alice, code) = server.enter("Alice", None);
    let (mut bob, _) = server.enter("Bob", Some(&code));
    alice.expect_type("user_joined");
    let before = status_kib(pid, "VmRSS:");

    // 200 participants in four meetings of 50.
    let mut holders = Vec::new();
    let mut meeting = String::new();
    for i in 0..HOLDERS {
        let (c, joined) = if i % 50 == 0 {
            server.enter(&format!("H{i}"), None)
        } else {
            server.enter(&format!("H{i}"), Some(&meeting))
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
