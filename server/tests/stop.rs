//! End-to-end: Ctrl-C (or SIGTERM) on the server ends the meetings in
//! progress, each writing its attendance, before the process exits.
//!
//! ```text
//!  lanmeet-server --log-dir D     <-- Alice creates, Bob joins, Bob leaves
//!  kill -INT <pid>                --> Alice's connection closes, exit status 0,
//!                                     D/attendance/<code>-<start>.csv:
//!                                     Alice ... server_stopped, Bob ... left
//! ```

#![cfg(unix)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use support::ServerProcess;

#[test]
fn ctrl_c_writes_the_attendance_of_the_meetings_in_progress() {
    stop_with("-INT");
}

#[test]
fn sigterm_does_the_same() {
    stop_with("-TERM");
}

/// Runs a meeting of two, one of whom leaves, then sends the server
/// `signal` (a `kill` option) and checks its exit and its attendance file.
fn stop_with(signal: &str) {
    let mut server = ServerProcess::start(&format!("stop{signal}"), &[]);
    let (mut alice, code) = server.enter("Alice", None);
    let (mut bob, _) = server.enter("Bob", Some(&code));
    alice.expect_type("user_joined");
    bob.send(&json!({"type": "leave"}));
    alice.expect_type("user_left");

    let pid = server.child.id().to_string();
    let sent = Command::new("kill").args([signal, &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill {signal} {pid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("the server is a child") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    alice.expect_closed();

    let folder = server.log_dir.join("attendance");
    let files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap_or_default().to_string_lossy();
    assert!(name.starts_with(&format!("{code}-")), "{name}");
    let csv = std::fs::read_to_string(&files[0]).expect("the CSV reads");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert_eq!(lines[0], "username,client_id,joined_at,left_at,reason");
    assert!(
        lines[1].starts_with("Alice,") && lines[1].ends_with("Z,server_stopped"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("Bob,") && lines[2].ends_with("Z,left"),
        "{csv}"
    );
}
