//! The window's chat view under a flood: 4000-character lines arrive for
//! 10 s, 200 a second (four participants each at the server's chat rate
//! limit), while a timer in the same window measures how late its
//! callbacks run. The window stays responsive when the p99 of that delay
//! is under 100 ms.
//!
//! ```text
//!  FLTK event loop (one thread, as in the client)
//!    flood timer, every 5 ms: the lines due since the start are appended
//!      to the kept history (at most 1000, the oldest forgotten, as the
//!      client's state does) and handed to Sidebar::set_chat one by one,
//!      as the window does for each chat event
//!    probe timer, every 20 ms: records how late it fires
//! ```
//!
//! The sidebar is the window's own (`src/gui/sidebar.rs`, with the modules
//! it uses), built here without the rest of the window. Re-rendering the
//! whole history for every line, as the chat view did before it appended,
//! makes each line cost the whole history: the probe then waits seconds.
//!
//! Needs a display: `make test` runs the tests under Xvfb
//! (`scripts/with-test-services.sh`). Without `DISPLAY` the test says so
//! and passes without running.

#[allow(dead_code)]
#[path = "../src/gui/layout.rs"]
mod layout;
#[allow(dead_code)]
#[path = "../src/gui/message.rs"]
mod message;
#[allow(dead_code)]
#[path = "../src/gui/sidebar.rs"]
mod sidebar;
mod support;
#[allow(dead_code)]
#[path = "../src/gui/theme.rs"]
mod theme;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use fltk::prelude::*;
use fltk::window::Window;
use lanmeet_common::message::ChatLine;

use message::Message;
use sidebar::Sidebar;
use support::skipped_without_display;

/// Lines the client keeps (`lanmeet_client::state::CHAT_KEPT`).
const KEPT: usize = 1000;
/// Flood rate: four participants at the server's limit of 50 a second.
const LINES_PER_SEC: f64 = 200.0;
const FLOOD: Duration = Duration::from_secs(10);
const PROBE_PERIOD: f64 = 0.020;

/// A 4000-character line of words, so wrapping works as on real text.
fn long_line(n: usize) -> String {
    let words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
    ];
    let mut text = format!("{n:06} ");
    let mut k = n;
    while text.chars().count() < 4000 {
        text.push_str(words[k % words.len()]);
        text.push(' ');
        k += 3;
    }
    text.chars().take(4000).collect()
}

struct Flood {
    sidebar: Sidebar,
    lines: Vec<ChatLine>,
    sent: usize,
    start: Instant,
}

impl Flood {
    /// Appends and shows every line due by now.
    fn catch_up(&mut self) {
        let elapsed = self.start.elapsed().min(FLOOD);
        let due = (elapsed.as_secs_f64() * LINES_PER_SEC) as usize;
        let recipients = HashMap::new();
        // A view that cannot keep up gives up at the end of the flood.
        while self.sent < due && self.start.elapsed() < FLOOD {
            self.lines.push(ChatLine {
                client_id: format!("c{}", 2 + self.sent % 4),
                username: format!("Flooder {}", self.sent % 4),
                message: long_line(self.sent),
                timestamp: 1_800_000_000.0 + self.sent as f64 * 0.005,
                private: false,
            });
            if self.lines.len() > KEPT {
                let extra = self.lines.len() - KEPT;
                self.lines.drain(..extra);
            }
            self.sent += 1;
            self.sidebar.set_chat(&self.lines, "c1", 0, &recipients);
        }
    }
}

#[test]
fn a_flooded_chat_leaves_the_window_responsive() {
    if skipped_without_display("chat_flood") {
        return;
    }
    let _app = fltk::app::App::default();
    let (sender, _receiver) = fltk::app::channel::<Message>();
    // The sidebar's size in the window at its default size.
    let mut window = Window::new(100, 100, 340, 720, "chat flood");
    let mut sidebar = Sidebar::new(0, 0, 340, 720, sender);
    window.end();
    window.show();
    sidebar.show_chat();
    // Wait until the window is mapped, so the flood is drawn for real.
    let shown_by = Instant::now() + Duration::from_secs(5);
    while !window.shown() && Instant::now() < shown_by {
        let _ = fltk::app::wait_for(0.01);
    }
    let _ = fltk::app::wait_for(0.1);

    let start = Instant::now();
    let flood = Rc::new(RefCell::new(Flood {
        sidebar,
        lines: Vec::new(),
        sent: 0,
        start,
    }));
    fltk::app::add_timeout3(0.005, {
        let flood = flood.clone();
        move |handle| {
            flood.borrow_mut().catch_up();
            if start.elapsed() < FLOOD {
                fltk::app::repeat_timeout3(0.005, handle);
            }
        }
    });
    // The probe is due 20 ms after its last run; how much later it runs is
    // how long the window could not react.
    let period = Duration::from_secs_f64(PROBE_PERIOD);
    let delays = Rc::new(RefCell::new(Vec::new()));
    let due = Rc::new(RefCell::new(start + period));
    fltk::app::add_timeout3(PROBE_PERIOD, {
        let (delays, due) = (delays.clone(), due.clone());
        move |handle| {
            let now = Instant::now();
            let mut due = due.borrow_mut();
            delays
                .borrow_mut()
                .push(now.saturating_duration_since(*due));
            *due = now + period;
            if start.elapsed() < FLOOD {
                fltk::app::repeat_timeout3(PROBE_PERIOD, handle);
            }
        }
    });
    while start.elapsed() < FLOOD + Duration::from_millis(200) {
        if !fltk::app::wait_for(0.05).unwrap_or(false) && !window.shown() {
            break;
        }
    }

    let sent = flood.borrow().sent;
    let mut delays = delays.borrow().clone();
    delays.sort();
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize];
    println!(
        "{sent} lines of 4000 characters in {:?}; {} probes late by p50 {:?}, p99 {:?}, max {:?}",
        FLOOD,
        delays.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    assert!(
        sent as f64 >= LINES_PER_SEC * FLOOD.as_secs_f64() * 0.95,
        "only {sent} lines were shown"
    );
    // Enough samples for a p99: at least one per 100 ms.
    assert!(
        delays.len() >= 100,
        "the probe ran only {} times in 10 s",
        delays.len()
    );
    assert!(
        at(0.99) < Duration::from_millis(100),
        "the window was unresponsive: timer delay p99 {:?}",
        at(0.99)
    );
}
