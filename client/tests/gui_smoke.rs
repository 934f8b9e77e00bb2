//! The desktop window, end to end: a real window process joins a meeting
//! (filled in and submitted through its join form), sends its camera and
//! a chat line typed into its chat input, and draws something.
//!
//! ```text
//!  in-process server <-- session "Watcher" (creates the meeting, records events)
//!        ^
//!        '-- lanmeet-client window, LANMEET_AUTOJOIN=host:port:name:code,
//!            LANMEET_AUTOCHAT=text, LANMEET_TEST_SOURCES=1 (test pattern, tone)
//!  Watcher sees: the window's user join, its video frames, its chat line
//!  then: xwd screenshot of the display --> many distinct colours
//!  then: the host mutes the window's user and asks them to unmute; a click
//!        on the prompt's "Unmute" button unmutes them
//!  then: the host removes them; the window goes back to the join form
//! ```
//!
//! Needs a display: `make test` runs the tests under Xvfb
//! (`scripts/with-test-services.sh`). Without `DISPLAY` the test says so
//! and passes without running.

mod support;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lanmeet_client::image::decode_ppm;
use lanmeet_client::Event;
use lanmeet_common::ClientMessage;
use support::{skipped_without_display, TempDir};

/// Kills the window process when the test ends, however it ends.
struct Window(Child);

impl Drop for Window {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A screenshot of the whole display as a PPM, through `xwd | xwdtopnm`;
/// `None` (with the reason printed) when the tools are missing.
fn screenshot() -> Option<Vec<u8>> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("xwd -root -silent | xwdtopnm 2>/dev/null")
        .output();
    match out {
        Ok(o) if o.status.success() && !o.stdout.is_empty() => Some(o.stdout),
        _ => {
            eprintln!("screenshot skipped: xwd or xwdtopnm is missing (x11-apps, netpbm)");
            None
        }
    }
}

#[test]
fn the_window_joins_sends_video_and_chat_and_draws() {
    if skipped_without_display("gui_smoke") {
        return;
    }
    let server = support::server();
    let dir = TempDir::new("gui-smoke");
    let mut watcher = support::create(&server, "Watcher", dir.path());
    let code = watcher.code();
    let port = server.tcp_addr().port();
    let chat_line = "hello from the window";

    let _window = Window(
        Command::new(env!("CARGO_BIN_EXE_lanmeet-client"))
            .env(
                "LANMEET_AUTOJOIN",
                format!("127.0.0.1:{port}:Window User:{code}"),
            )
            .env("LANMEET_AUTOCHAT", chat_line)
            .env("LANMEET_TEST_SOURCES", "1")
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("LANMEET_DOWNLOAD_DIR", dir.join("downloads"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the client binary starts"),
    );

    // Joining includes the window start-up and the device listing.
    let joined = watcher
        .events
        .wait_for(
            Duration::from_secs(20),
            |e| matches!(e, Event::ParticipantJoined { username, .. } if username == "Window User"),
            "the window's user joining",
        )
        .expect("the window joins the meeting");
    let Event::ParticipantJoined { client_id: id, .. } = joined else {
        unreachable!("matched above")
    };

    let said = watcher.events.wait(
        |e| matches!(e, Event::Chat(line) if line.client_id == id),
        "the window's chat line",
    );
    let Event::Chat(line) = said else {
        unreachable!("matched above")
    };
    assert_eq!(line.message, chat_line);
    assert!(!line.private);

    for n in 0..3 {
        watcher.events.wait(
            |e| matches!(e, Event::VideoFrame { client_id, .. } if *client_id == id),
            &format!("video frame {n} from the window"),
        );
    }

    // The join form remembered the server and name.
    let last = std::fs::read_to_string(dir.join("config").join("lanmeet").join("last.txt"))
        .expect("the window saved last.txt");
    assert!(last.contains(&format!("port={port}")), "{last}");
    assert!(last.contains("name=Window User"), "{last}");

    // Give the window a moment to draw the video it sends and receives.
    std::thread::sleep(Duration::from_millis(800));
    if let Some(ppm) = screenshot() {
        let image = decode_ppm(&ppm).expect("xwdtopnm writes a PPM");
        let colours: HashSet<[u8; 3]> = image
            .pixels
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        assert!(
            colours.len() > 100,
            "the screen looks blank: {} distinct colours",
            colours.len()
        );
    }

    answer_an_unmute_request(&mut watcher, &id);
    removal_brings_back_the_join_window(&mut watcher, &id);
    watcher.session.leave();
}

/// The host removes the window's user: the host sees them go, and the
/// window goes back to its join form (which says why).
fn removal_brings_back_the_join_window(host: &mut support::Client, id: &str) {
    host.session
        .send(ClientMessage::RemoveParticipant {
            target_client_id: id.to_string(),
        })
        .expect("the host removes");
    host.events.wait(
        |e| matches!(e, Event::ParticipantLeft { client_id, .. } if client_id == id),
        "the window's user removed",
    );
    if !has_xdotool() {
        return;
    }
    let join_form = Command::new("timeout")
        .args(["10", "xdotool", "search", "--sync", "--onlyvisible"])
        .args(["--name", "^lanmeet - join"])
        .stdout(Stdio::null())
        .status()
        .expect("xdotool runs");
    assert!(join_form.success(), "the join window did not come back");
}

fn has_xdotool() -> bool {
    Command::new("xdotool")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The host mutes the window's user, then asks them to unmute: the window
/// shows a prompt, a click on its "Unmute" button unmutes, and the host
/// sees it. Needs xdotool to find and click the prompt.
fn answer_an_unmute_request(host: &mut support::Client, id: &str) {
    if !has_xdotool() {
        eprintln!("prompt check skipped: xdotool is missing");
        return;
    }
    let target_client_id = id.to_string();
    host.session
        .send(ClientMessage::MuteParticipant {
            target_client_id: target_client_id.clone(),
        })
        .expect("the host mutes");
    host.events.wait(
        |e| matches!(e, Event::Muted { client_id, muted: true } if client_id == id),
        "the window's user muted",
    );
    host.session
        .send(ClientMessage::RequestUnmute { target_client_id })
        .expect("the host asks to unmute");
    // `timeout`: xdotool's --sync would wait forever for a prompt that
    // never comes.
    let found = Command::new("timeout")
        .args(["10", "xdotool", "search", "--sync", "--name", "^Unmute\\?$"])
        .args(["getwindowgeometry", "--shell"])
        .output()
        .expect("xdotool runs");
    if !found.status.success() {
        let _ = Command::new("sh")
            .arg("-c")
            .arg("xwd -root -silent | xwdtopnm | pnmtopng > /tmp/gui-smoke-fail.png")
            .status();
    }
    assert!(found.status.success(), "no prompt appeared");
    let geometry = String::from_utf8_lossy(&found.stdout);
    let field = |name: &str| -> i32 {
        geometry
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {geometry:?}"))
    };
    // The "Unmute" button sits at (296, 108) in the 420x160 prompt.
    let (x, y) = (field("X") + 296 + 50, field("Y") + 108 + 17);
    let clicked = Command::new("xdotool")
        .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
        .status()
        .expect("xdotool runs");
    assert!(clicked.success());
    host.events.wait(
        |e| matches!(e, Event::Muted { client_id, muted: false } if client_id == id),
        "the window's user unmuted after the prompt",
    );
}
