//! End-to-end: a real X display showing code in a 13-pixel font, shared by
//! the headless client (`--share-screen`), received by another headless
//! client that saves the picture it holds (`--save-screen`). The saved
//! picture is compared with the display itself (PSNR over the text), once
//! after the first keyframe and again after typing, which travels as
//! screen patches.
//!
//! The test runs its own Xvfb (1920x1080) so nothing else on a shared
//! display changes the screen under it. Without Xvfb, xedit (x11-apps),
//! xdotool, xwd and xwdtopnm (netpbm) it says why and passes;
//! `scripts/ensure-deps.sh test` installs them.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use lanmeet_client::image::{decode_ppm, load_image};
use lanmeet_client::tiles::text_psnr;
use lanmeet_client::RgbImage;
use serde_json::Value;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_lanmeet-client");

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have_tools() -> bool {
    for tool in ["Xvfb", "xedit", "xdotool", "xwd", "xwdtopnm"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
        if !found {
            eprintln!("screen text test: skipped: {tool} is missing (scripts/ensure-deps.sh test)");
            return false;
        }
    }
    true
}

/// Starts Xvfb on a free display; returns it and the display name.
fn start_xvfb() -> (Killed, String) {
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", "1920x1080x24"])
        .args(["-noreset", "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb starts");
    let mut number = String::new();
    let mut out = child.stdout.take().expect("piped");
    let mut byte = [0u8; 1];
    while out.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
        number.push(byte[0] as char);
    }
    assert!(!number.trim().is_empty(), "Xvfb said no display number");
    (Killed(child), format!(":{}", number.trim()))
}

/// The display as it is now, through xwd (independent of our capture).
fn grab(display: &str) -> RgbImage {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "xwd -root -silent -display {display} | xwdtopnm 2>/dev/null"
        ))
        .output()
        .expect("xwd and xwdtopnm run");
    decode_ppm(&out.stdout).expect("xwdtopnm gives a PPM")
}

/// Runs the headless client with `args`; its JSON lines come on the channel.
fn headless(
    server: &lanmeet_server::ServerHandle,
    args: &[&str],
    display: &str,
    dir: &Path,
) -> (Killed, ChildStdin, Receiver<Value>) {
    let port = server.tcp_addr().port().to_string();
    let mut child = Command::new(BIN)
        .args(["--headless", "--host", "127.0.0.1", "--port", &port])
        .args(args)
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .env("DISPLAY", display)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the client binary runs");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if tx.send(v).is_err() {
                    return;
                }
            }
        }
    });
    (Killed(child), stdin, rx)
}

/// Waits for a line whose `event` is `event`.
fn wait_line(rx: &Receiver<Value>, event: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) if v["event"] == event => return v,
            Ok(v) if v["event"] == "error" => panic!("the client reported {v}"),
            Ok(_) => {}
            Err(_) => panic!("no {event} line within {within:?}"),
        }
    }
}

/// Asks the viewer to save, and reads what it saved.
fn saved(stdin: &mut ChildStdin, rx: &Receiver<Value>, path: &Path) -> RgbImage {
    writeln!(stdin, "save-screen").unwrap();
    stdin.flush().unwrap();
    let v = wait_line(rx, "screen_saved", Duration::from_secs(10));
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(1920), Some(1080))
    );
    load_image(path).expect("the saved PNG loads")
}

#[test]
fn a_shared_display_of_code_reads_sharp_for_the_viewer_through_patches() {
    if !have_tools() {
        return;
    }
    let dir = TempDir::new("screen-text");
    let (_xvfb, display) = start_xvfb();
    let code_file = dir.join("code.rs");
    std::fs::write(&code_file, include_str!("../src/media/tiles.rs")).unwrap();
    let _editor = Killed(
        Command::new("xedit")
            .args(["-display", &display, "-geometry", "1920x1080+0+0"])
            .arg(&code_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xedit runs"),
    );
    std::thread::sleep(Duration::from_millis(1500));

    let server = server();
    let host = create(&server, "Host", dir.path());
    let code = host.code();
    let (_presenter, _p_in, p_lines) = headless(
        &server,
        &["--name", "Teacher", "--join", &code, "--share-screen"],
        &display,
        dir.path(),
    );
    wait_line(&p_lines, "screen_share_started", Duration::from_secs(10));
    let held = dir.join("held.png");
    let held_arg = held.to_str().unwrap();
    let (mut viewer, mut v_in, v_lines) = headless(
        &server,
        &[
            "--name",
            "Student",
            "--join",
            &code,
            "--save-screen",
            held_arg,
            "--seconds",
            "30",
        ],
        &display,
        dir.path(),
    );
    let frame = wait_line(&v_lines, "screen_frame", Duration::from_secs(10));
    assert_eq!(
        (frame["width"].as_u64(), frame["height"].as_u64()),
        (Some(1920), Some(1080))
    );

    // The first picture: the keyframe.
    std::thread::sleep(Duration::from_millis(500));
    let screen = grab(&display);
    let picture = saved(&mut v_in, &v_lines, &held);
    let db = text_psnr(&screen, &picture);
    println!("keyframe: {db:.1} dB over the text");
    assert!(
        db >= 35.0,
        "the viewer's picture is {db:.1} dB from the display"
    );

    // Typing changes a few tiles: patches. The viewer's picture follows.
    let typed = Command::new("xdotool")
        .args(["type", "--delay", "120", "let typed_in_class = 42;"])
        .env("DISPLAY", &display)
        .status()
        .expect("xdotool runs");
    assert!(typed.success());
    std::thread::sleep(Duration::from_millis(1500));
    let after = grab(&display);
    assert!(
        text_psnr(&screen, &after) < 60.0,
        "typing changed the display"
    );
    // What came were patches: each a few kilobytes, not a 200 KB keyframe.
    let sizes: Vec<u64> = v_lines
        .try_iter()
        .filter(|v| v["event"] == "screen_frame")
        .filter_map(|v| v["jpeg_bytes"].as_u64())
        .collect();
    assert!(!sizes.is_empty(), "the typing reached the viewer");
    assert!(
        sizes.iter().all(|&b| b < 30_000),
        "typing sent small patches: {sizes:?} bytes"
    );
    let picture = saved(&mut v_in, &v_lines, &held);
    let db = text_psnr(&after, &picture);
    println!("after typing: {db:.1} dB over the text");
    assert!(
        db >= 35.0,
        "after typing the viewer's picture is {db:.1} dB from the display"
    );

    // Leaving writes the picture once more.
    std::fs::remove_file(&held).unwrap();
    drop(v_in);
    let _ = viewer.0.kill();
    let _ = viewer.0.wait();
    // A kill does not leave cleanly; a short run that ends by itself does.
    let quick = dir.join("quick.png");
    let (mut q, _q_in, q_lines) = headless(
        &server,
        &[
            "--name",
            "Quick",
            "--join",
            &code,
            "--save-screen",
            quick.to_str().unwrap(),
            "--seconds",
            "2",
        ],
        &display,
        dir.path(),
    );
    wait_line(&q_lines, "screen_saved", Duration::from_secs(15));
    let _ = q.0.wait();
    assert_eq!(load_image(&quick).unwrap().width, 1920);
}
