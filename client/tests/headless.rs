//! The real `lanmeet-client --headless` binary against an in-process
//! server, checked through its JSON event lines.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use lanmeet_client::Event;
use serde_json::Value;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_lanmeet-client");

#[test]
fn headless_client_joins_talks_shows_video_and_downloads() {
    let server = server();
    let dir = TempDir::new("headless");
    let downloads = dir.join("downloads");
    let logs = dir.join("logs");
    let offered = dir.join("handout.pdf");
    let sha = write_test_file(&offered, 300_000, 9);

    let mut host = create(&server, "Host", dir.path());
    let file_id = host.session.offer_file(&offered).unwrap();
    host.events.wait(
        |e| matches!(e, Event::FileOffered(o) if o.file_id == file_id),
        "our offer to go out",
    );

    let port = server.tcp_addr().port().to_string();
    let code = host.code();
    let mut child = Command::new(BIN)
        .args(["--headless", "--host", "127.0.0.1", "--port", &port])
        .args(["--name", "Robot", "--join", &code.to_lowercase()])
        .args(["--video", "test", "--size", "320x240", "--fps", "10"])
        .args(["--audio", "tone:700", "--say", "hi from the binary"])
        .args(["--accept-files", "--seconds", "4"])
        .arg("--download-dir")
        .arg(&downloads)
        .arg("--log-dir")
        .arg(&logs)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the client binary runs");
    let lines = read_stdout_lines(&mut child);

    let e = host.events.wait(
        |e| matches!(e, Event::ParticipantJoined { username, .. } if username == "Robot"),
        "the binary joining",
    );
    let Event::ParticipantJoined {
        client_id: robot, ..
    } = e
    else {
        unreachable!()
    };
    host.events.wait(
        |e| matches!(e, Event::Chat(l) if l.message == "hi from the binary" && l.client_id == robot),
        "the binary's chat line",
    );
    host.events.wait(
        |e| matches!(e, Event::VideoFrame { client_id, width: 320, height: 240, .. } if *client_id == robot),
        "the binary's test pattern",
    );
    host.session.chat("hello robot", None).unwrap();
    host.events.wait(
        |e| matches!(e, Event::TransferDone { .. }),
        "the upload to the binary",
    );

    let status = child.wait().expect("the binary exits");
    assert!(status.success(), "{status}");
    let lines = lines.join().expect("the reader thread ends");
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|v| v["event"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(kinds[0], "joined", "{kinds:?}");
    assert_eq!(events[0]["meeting_code"], Value::from(code));
    assert_eq!(events[0]["client_id"], Value::from(robot.clone()));
    assert_eq!(*kinds.last().unwrap(), "disconnected", "{kinds:?}");
    assert_eq!(events.last().unwrap()["reason"]["kind"], "left");
    assert!(events
        .iter()
        .any(|v| v["event"] == "chat" && v["message"] == "hello robot" && v["username"] == "Host"));
    let done = events
        .iter()
        .find(|v| v["event"] == "transfer_done" && v["direction"] == "download")
        .unwrap_or_else(|| panic!("no download: {kinds:?}"));
    let saved = std::path::PathBuf::from(done["path"].as_str().unwrap());
    assert_eq!(saved, downloads.join("handout.pdf"));
    assert_eq!(file_sha256(&saved), sha);
    assert!(kinds.contains(&"media_path"), "{kinds:?}");
    let stats = events
        .iter()
        .find(|v| v["event"] == "stats")
        .expect("stats");
    assert!(
        stats["video_frames_sent"].as_u64().unwrap() >= 20,
        "{stats}"
    );
    assert!(
        stats["audio_frames_sent"].as_u64().unwrap() >= 200,
        "{stats}"
    );
    let log_files: Vec<_> = std::fs::read_dir(&logs).unwrap().collect();
    assert_eq!(log_files.len(), 1, "one log file");
}

#[test]
fn headless_help_gui_and_errors() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--headless"));

    // Without --headless the binary opens the window; with no display it
    // says so, points at --headless, and exits with 2.
    let out = Command::new(BIN)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no display") && err.contains("--headless"),
        "{err}"
    );

    let out = Command::new(BIN)
        .args([
            "--headless",
            "--host",
            "127.0.0.1",
            "--name",
            "x",
            "--frobnicate",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // Nobody listening: a JSON error line and exit code 1.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = TempDir::new("headless-err");
    let out = Command::new(BIN)
        .args([
            "--headless",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(["--name", "x", "--create", "--log-dir"])
        .arg(dir.path())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["event"], "error");
    assert!(line["message"].as_str().unwrap().contains("cannot reach"));
}

/// Runs the binary with `args` to the end and returns its JSON lines.
fn run_binary(args: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("the client binary runs");
    assert!(out.status.success(), "{:?}", out.status);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

#[test]
fn headless_poll_vote_attendance_and_discover() {
    let server = server();
    let dir = TempDir::new("headless-poll");
    let logs = dir.join("logs");
    let logs = logs.to_str().unwrap();
    let port = server.tcp_addr().port().to_string();
    let mut host = create(&server, "Teacher", dir.path());
    let code = host.code();
    let options = ["Yes".to_string(), "No".to_string()];
    host.session
        .create_poll("Ready?", &options, true, false)
        .unwrap();
    host.events
        .wait(|e| matches!(e, Event::PollStarted(_)), "the poll");
    // The student votes in the poll its join reply carries.
    let student = run_binary(&[
        "--headless",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--name",
        "Student",
        "--join",
        &code,
        "--vote",
        "1",
        "--seconds",
        "1.5",
        "--log-dir",
        logs,
    ]);
    assert!(student
        .iter()
        .any(|l| l["event"] == "poll_started" && l["question"] == "Ready?"));
    host.events.wait(
        |e| matches!(e, Event::PollUpdate { counts, .. } if counts == &[0, 1]),
        "the binary's vote",
    );

    // A teacher binary: a listed meeting with a poll it closes itself,
    // and the attendance before leaving; --discover finds the meeting.
    let mut teacher = Command::new(BIN)
        .args([
            "--headless",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--name",
            "T2",
        ])
        .args([
            "--create",
            "--title",
            "CS101 lab",
            "--listed",
            "--poll",
            "Done?|Yes|No",
        ])
        .args([
            "--close-poll-after",
            "0.5",
            "--attendance",
            "--seconds",
            "2.5",
        ])
        .args(["--log-dir", logs])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the client binary runs");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let udp = server.udp_addr().port().to_string();
    let found = run_binary(&[
        "--discover",
        "--host",
        "127.0.0.1",
        "--udp-port",
        &udp,
        "--seconds",
        "0.5",
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["event"], "server_found");
    let meetings = found[0]["meetings"].as_array().unwrap();
    assert_eq!(meetings.len(), 1, "only the listed meeting: {found:?}");
    assert_eq!(meetings[0]["title"], "CS101 lab");
    let stdout = teacher.stdout.take().unwrap();
    let lines: Vec<Value> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    assert!(teacher.wait().unwrap().success());
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    for kind in ["poll_started", "poll_results", "attendance", "disconnected"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}
