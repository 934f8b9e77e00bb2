//! Small windows that ask something: the host's requests ("turn on your
//! video?", "unmute?"), "leave the meeting?", and the file choosers.
//!
//! A prompt is not a blocking `dialog::choice`: that would run a nested
//! event loop inside a message handler while session events pile up. It
//! is a small window whose buttons send ordinary [`Message`]s, so the main
//! loop keeps running (video keeps moving) while it is open.

use std::path::{Path, PathBuf};

use fltk::button::{Button, ReturnButton};
use fltk::dialog::{NativeFileChooser, NativeFileChooserType};
use fltk::enums::{Align, Color, Font};
use fltk::frame::Frame;
use fltk::group::Group;
use fltk::prelude::*;
use fltk::window::Window;

use super::layout::Rect;
use super::message::Message;
use super::theme;

/// A question with up to two answers; answering (or closing) also sends
/// `ClosePrompt`.
pub struct Prompt {
    window: Window,
}

impl Prompt {
    /// Shows the question. `yes` is the default button (Enter).
    pub fn ask(
        title: &str,
        text: &str,
        yes: (&str, Option<Message>),
        no: &str,
        over: Option<Rect>,
        sender: fltk::app::Sender<Message>,
    ) -> Prompt {
        // A top-level window: not inside whatever group was built last.
        Group::set_current(None::<&Group>);
        let mut window = Window::default().with_size(420, 160).with_label(title);
        centre_over(&mut window, over);
        window.set_color(theme::PANEL);
        let mut head = Frame::new(20, 14, 380, 28, None);
        head.set_label(title);
        head.set_label_font(Font::HelveticaBold);
        head.set_label_size(16);
        head.set_align(Align::Left | Align::Inside);
        let mut body = Frame::new(20, 44, 380, 54, None);
        body.set_label(&text.replace('@', "@@"));
        body.set_align(Align::Left | Align::Inside | Align::Wrap | Align::Top);
        let mut no_button = Button::new(180, 108, 110, 34, None);
        no_button.set_label(no);
        let mut yes_button = ReturnButton::new(296, 108, 110, 34, None);
        yes_button.set_label(yes.0);
        yes_button.set_color(theme::ACCENT);
        yes_button.set_label_color(Color::White);
        window.end();
        let answer = yes.1;
        yes_button.set_callback(move |b| {
            if let Some(m) = answer.clone() {
                sender.send(m);
            }
            if let Some(mut w) = b.window() {
                w.hide();
            }
            sender.send(Message::ClosePrompt);
        });
        no_button.set_callback(move |b| {
            if let Some(mut w) = b.window() {
                w.hide();
            }
            sender.send(Message::ClosePrompt);
        });
        window.set_callback(move |w| {
            w.hide();
            sender.send(Message::ClosePrompt);
        });
        window.show();
        Prompt { window }
    }

    /// Whether the prompt is still on screen.
    pub fn is_open(&self) -> bool {
        self.window.shown()
    }

    /// Takes the prompt away.
    pub fn close(&mut self) {
        self.window.hide();
    }
}

/// Where a window is on the screen, while it is shown: what a dialog is
/// placed over.
pub fn area_of(window: &impl WindowExt) -> Option<Rect> {
    window
        .shown()
        .then(|| Rect::new(window.x(), window.y(), window.w(), window.h()))
}

/// Places `window` in the middle of `over` (a window manager may still
/// move it; without one, as under Xvfb, it would sit in a corner).
pub fn centre_over(window: &mut Window, over: Option<Rect>) {
    if let Some(over) = over {
        let x = over.x + (over.w - window.w()) / 2;
        let y = over.y + (over.h - window.h()) / 3;
        window.set_pos(x.max(0), y.max(0));
    }
}

/// Asks for a file to offer; `None` when cancelled.
pub fn choose_file_to_offer() -> Option<PathBuf> {
    let mut chooser = NativeFileChooser::new(NativeFileChooserType::BrowseFile);
    chooser.set_title("Share a file with the meeting");
    chooser.show();
    let path = chooser.filename();
    (!path.as_os_str().is_empty()).then_some(path)
}

/// Asks where to save a download, starting in `folder` with `name`.
pub fn choose_save_location(folder: &Path, name: &str) -> Option<PathBuf> {
    let mut chooser = NativeFileChooser::new(NativeFileChooserType::BrowseSaveFile);
    chooser.set_title("Save the file as");
    let _ = chooser.set_directory(&folder);
    chooser.set_preset_file(name);
    chooser.show();
    let path = chooser.filename();
    (!path.as_os_str().is_empty()).then_some(path)
}

/// Opens a folder in the desktop's file manager (does not wait for it).
pub fn open_folder(folder: &Path) -> Result<(), String> {
    std::process::Command::new("xdg-open")
        .arg(folder)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|mut child| {
            // Reap it when it ends, so no zombie stays behind.
            std::thread::spawn(move || child.wait());
        })
        .map_err(|e| format!("cannot open {}: {e}", folder.display()))
}
