//! The join window's list of servers and listed meetings on the network
//! (PROTOCOL.md section 18).
//!
//! ```text
//!  join window shown --> looking = true
//!  discovery thread: every 3 s while looking: probe every broadcast
//!    address (and this machine) on the UDP port, collect answers for 3 s
//!    --> Message::Discovered(found) --> DiscoveryPanel::set(found)
//!  double-click a line --> Message::DiscoveryPicked --> server, port, code filled in
//! ```
//!
//! Manual entry stays: the list only fills the fields, and broadcast may
//! not cross a Wi-Fi access point at all.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fltk::browser::HoldBrowser;
use fltk::enums::{Align, Font};
use fltk::frame::Frame;
use fltk::prelude::*;
use lanmeet_client::discovery::{Discovery, Found};
use lanmeet_common::limits::DEFAULT_TCP_PORT;

use super::message::Message;
use super::theme;

/// How often the window probes while it is open.
pub const PROBE_EVERY: Duration = Duration::from_secs(3);

/// One line of the list: a server, or one of its meetings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// Where to connect.
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The meeting to join, for a meeting line.
    pub code: Option<String>,
}

/// The lines the list shows for `found`, each with what a double-click
/// fills in. A server line first, then its meetings, indented.
pub fn lines(found: &[Found]) -> Vec<(String, Pick)> {
    let mut out = Vec::new();
    for server in found {
        let host = server.address.to_string();
        let port = server.reply.tcp_port;
        out.push((
            format!("@b@.{}  ({host}:{port})", escape(&server.reply.name)),
            Pick {
                host: host.clone(),
                port,
                code: None,
            },
        ));
        if server.reply.meetings.is_empty() {
            out.push((
                "@i@.    no listed meetings: type a code".to_string(),
                Pick {
                    host: host.clone(),
                    port,
                    code: None,
                },
            ));
        }
        for m in &server.reply.meetings {
            let title = m.title.as_deref().unwrap_or("(no title)");
            let mut notes = vec![match m.participants {
                1 => "1 person".to_string(),
                n => format!("{n} people"),
            }];
            if m.password {
                notes.push("password".into());
            }
            if m.locked {
                notes.push("locked".into());
            }
            out.push((
                format!(
                    "@.    {}  ({}, {})",
                    escape(title),
                    m.meeting_code,
                    notes.join(", ")
                ),
                Pick {
                    host: host.clone(),
                    port,
                    code: Some(m.meeting_code.clone()),
                },
            ));
        }
    }
    out
}

/// Browser lines treat a leading `@` as a format code: `@.` ends the
/// codes, and `@@` inside the text is not needed after it.
fn escape(text: &str) -> String {
    text.replace('\t', " ")
}

/// The list in the join window.
pub struct DiscoveryPanel {
    browser: HoldBrowser,
    status: Frame,
    picks: Vec<Pick>,
    shown: Vec<Found>,
}

impl DiscoveryPanel {
    /// The panel at this place (inside the join window being built).
    pub fn new(x: i32, y: i32, w: i32, h: i32, sender: fltk::app::Sender<Message>) -> Self {
        let mut title = Frame::new(x, y, w, 22, "On this network");
        title.set_label_font(Font::HelveticaBold);
        title.set_align(Align::Left | Align::Inside);
        let mut browser = HoldBrowser::new(x, y + 26, w, h - 56, None);
        browser.set_tooltip("Double-click a meeting to fill in the server and code");
        browser.set_callback(move |_| {
            if fltk::app::event_clicks() {
                sender.send(Message::DiscoveryPicked);
            }
        });
        let mut status = Frame::new(x, y + h - 26, w, 24, "Looking for servers\u{2026}");
        status.set_label_color(theme::MUTED_TEXT);
        status.set_label_size(12);
        status.set_align(Align::Left | Align::Inside | Align::Wrap);
        DiscoveryPanel {
            browser,
            status,
            picks: Vec::new(),
            shown: Vec::new(),
        }
    }

    /// Shows the servers of the latest round of probes.
    pub fn set(&mut self, found: Vec<Found>) {
        if found == self.shown {
            return;
        }
        let selected = self.selected();
        self.browser.clear();
        self.picks.clear();
        for (text, pick) in lines(&found) {
            self.browser.add(&text);
            self.picks.push(pick);
        }
        if let Some(at) = selected.and_then(|s| self.picks.iter().position(|p| *p == s)) {
            self.browser.select(at as i32 + 1);
        }
        self.status.set_label(match found.len() {
            0 => "No server answered yet. You can still type the address.",
            _ => "Double-click a meeting to fill in the fields.",
        });
        self.shown = found;
        self.browser.redraw();
    }

    /// What the selected line fills in.
    pub fn selected(&self) -> Option<Pick> {
        let line = self.browser.value();
        (line >= 1)
            .then(|| self.picks.get(line as usize - 1).cloned())
            .flatten()
    }
}

/// Probes every [`PROBE_EVERY`] while `looking` is set, for servers on
/// `tcp_ports` (each probed on its UDP port, the next one), and sends
/// each round's answers. Runs for the life of the window.
pub fn spawn_prober(
    looking: Arc<AtomicBool>,
    tcp_ports: Vec<u16>,
    sender: fltk::app::Sender<Message>,
) {
    let mut ports = tcp_ports;
    ports.push(DEFAULT_TCP_PORT);
    ports.sort_unstable();
    ports.dedup();
    let spawned = std::thread::Builder::new()
        .name("discovery".into())
        .spawn(move || {
            let Ok(discovery) = Discovery::open() else {
                return; // no UDP at all: the list stays empty, typing works
            };
            // This machine too: a server here is not reached by broadcast.
            let here = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
            loop {
                if !looking.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                for &port in &ports {
                    discovery.probe(port.saturating_add(1), &here);
                }
                let found = discovery
                    .receive(Instant::now() + PROBE_EVERY)
                    .unwrap_or_default();
                if looking.load(Ordering::Acquire) {
                    sender.send(Message::Discovered(found));
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("lanmeet: no discovery thread: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanmeet_common::discovery::{DiscoveryReply, ListedMeeting};

    #[test]
    fn a_server_line_then_its_meetings() {
        let found = vec![Found {
            address: "192.168.1.20".parse().unwrap(),
            reply: DiscoveryReply {
                name: "Lab 3 server".into(),
                version: 1,
                tcp_port: 5001,
                udp_port: 5002,
                meetings: vec![ListedMeeting {
                    meeting_code: "K7Q2XZ".into(),
                    title: Some("CS101 lab".into()),
                    participants: 12,
                    password: true,
                    locked: false,
                }],
            },
        }];
        let l = lines(&found);
        assert_eq!(l.len(), 2);
        assert!(l[0].0.contains("Lab 3 server") && l[0].0.contains("192.168.1.20:5001"));
        assert_eq!(l[0].1.code, None);
        assert!(
            l[1].0.contains("CS101 lab  (K7Q2XZ, 12 people, password)"),
            "{}",
            l[1].0
        );
        assert_eq!(
            l[1].1,
            Pick {
                host: "192.168.1.20".into(),
                port: 5001,
                code: Some("K7Q2XZ".into())
            }
        );
    }
}
