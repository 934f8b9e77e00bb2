//! The sidebar: three tabs beside the stage.
//!
//! - **Chat**: the meeting's lines (the history sent on join first), each
//!   with its time and sender; a "To" choice for private messages.
//! - **People**: everyone with their microphone, camera and hand; raised
//!   hands on top in the order they went up. A click on a person opens
//!   their menu (host controls when we are the host); the host also gets
//!   an "Everyone" menu (mute all, unmute all, ask all...) and "Lock
//!   meeting" below the list.
//! - **Files**: offers with size and sender, and transfers with a progress
//!   bar, rate, Cancel, and "Open folder" once done.
//!
//! The text of every line comes from plain functions (`chat_line`,
//! `person_line`, `transfer_text`) that are unit-tested; the widgets only
//! hold it.
//!
//! The chat view only ever appends: a new line adds its text at the end,
//! and old lines are cut from the front ([`chat_update`] works out which).
//! It shows the most recent [`CHAT_VIEW_BYTES`] of text: FLTK's text buffer
//! copies itself whole when text is added or cut (its gap is 1 KiB), so the
//! cost of a line grows with the text held. Re-rendering the whole history
//! for every line, as the view once did (up to 1000 lines of up to 4000
//! characters, wrapped), froze the window under a flood of long lines;
//! now a line costs at most a copy of 256 KiB. Ordinary chat (short lines)
//! fits whole: 1000 lines of a hundred characters are about 150 KB.

use std::collections::{HashMap, VecDeque};

use fltk::browser::HoldBrowser;
use fltk::button::Button;
use fltk::enums::{Align, CallbackTrigger, Color, Font, FrameType};
use fltk::frame::Frame;
use fltk::group::{Group, Pack, PackType, Scroll, ScrollType, Tabs};
use fltk::input::Input;
use fltk::menu::{Choice, MenuButton, MenuButtonType};
use fltk::misc::Progress;
use fltk::prelude::*;
use fltk::text::{StyleTableEntry, TextBuffer, TextDisplay, WrapMode};
use lanmeet_client::{Participant, TransferDirection, TransferInfo, TransferStatus};
use lanmeet_common::message::{ChatLine, FileOfferInfo};

use super::layout::{self, format_clock, format_rate, format_size, EveryoneAction};
use super::message::Message;
use super::theme;

/// Style letters of the chat's style buffer (see `CHAT_STYLES`).
const STYLE_TIME: char = 'A';
const STYLE_NAME: char = 'B';
const STYLE_TEXT: char = 'C';
const STYLE_PRIVATE: char = 'D';
const STYLE_OWN: char = 'E';

/// One chat line's text and its styles (one style letter per byte): time,
/// sender, "(private)" with the addressee when we know it, then the
/// message. `recipients` names the addressee of our own private lines, by
/// their timestamp's bits (the server does not echo them, so only we know).
pub fn chat_line(
    line: &ChatLine,
    my_id: &str,
    utc_offset: i64,
    recipients: &HashMap<u64, String>,
) -> (String, String) {
    let mut text = String::new();
    let mut style = String::new();
    let mut push = |s: &str, st: char| {
        text.push_str(s);
        style.extend(std::iter::repeat_n(st, s.len()));
    };
    push(&format_clock(line.timestamp, utc_offset), STYLE_TIME);
    push("  ", STYLE_TEXT);
    let mine = line.client_id == my_id;
    let name = if mine { "You" } else { line.username.as_str() };
    push(name, if mine { STYLE_OWN } else { STYLE_NAME });
    if line.private {
        match recipient(line, my_id, recipients) {
            Some(to) => push(&format!(" to {to} (private)"), STYLE_PRIVATE),
            None => push(" (private)", STYLE_PRIVATE),
        }
    }
    push("\n", STYLE_TEXT);
    push(&line.message, STYLE_TEXT);
    push("\n\n", STYLE_TEXT);
    (text, style)
}

/// Who our own private `line` went to, when we know.
fn recipient<'a>(
    line: &ChatLine,
    my_id: &str,
    recipients: &'a HashMap<u64, String>,
) -> Option<&'a String> {
    recipients
        .get(&line.timestamp.to_bits())
        .filter(|_| line.client_id == my_id)
}

/// Most bytes of text the chat view holds; older lines are cut from it
/// (the client still keeps them).
pub const CHAT_VIEW_BYTES: usize = 256 * 1024;

/// What identifies a shown chat line: enough to tell "the same line" from
/// "another line" without comparing whole messages. The recipient is part
/// of it, so a line whose addressee became known is drawn again.
#[derive(Debug, Clone, PartialEq)]
struct ChatKey {
    timestamp: u64,
    client_id: String,
    len: usize,
    private: bool,
    to: Option<String>,
}

impl ChatKey {
    fn of(line: &ChatLine, my_id: &str, recipients: &HashMap<u64, String>) -> ChatKey {
        ChatKey {
            timestamp: line.timestamp.to_bits(),
            client_id: line.client_id.clone(),
            len: line.message.len(),
            private: line.private,
            to: recipient(line, my_id, recipients).cloned(),
        }
    }

    fn matches(&self, line: &ChatLine, my_id: &str, recipients: &HashMap<u64, String>) -> bool {
        self.timestamp == line.timestamp.to_bits()
            && self.len == line.message.len()
            && self.private == line.private
            && self.client_id == line.client_id
            && self.to.as_ref() == recipient(line, my_id, recipients)
    }
}

/// How the chat view goes from the `shown` lines it holds to the client's
/// `lines`: cut the first `drop` shown lines, then append `lines[from..]`.
/// `same(i, j)` says whether shown line `i` is `lines[j]`.
///
/// The client only appends lines and forgets the oldest, and the view
/// shows a tail of them, so the shown lines, minus a few at their front,
/// are normally a run of `lines` followed only by new ones. Where the last
/// shown line is no longer in `lines` at all (another meeting), everything
/// is cut and `lines` shown anew.
fn chat_update(shown: usize, lines: usize, same: impl Fn(usize, usize) -> bool) -> (usize, usize) {
    if shown == 0 {
        return (0, 0);
    }
    // Where the last shown line is now; new lines come after it.
    for last in (0..lines).rev() {
        if !same(shown - 1, last) {
            continue;
        }
        // The shown lines before it must be the lines before it, as far
        // as both go; shown lines older than `lines[0]` are cut.
        let kept = shown.min(last + 1);
        if (1..kept).all(|k| same(shown - 1 - k, last - k)) {
            return (shown - kept, last + 1);
        }
    }
    (shown, 0)
}

/// One row of the people list: hand, name and role, states. Columns are
/// separated by tabs; `@.` stops the browser reading `@` codes in names.
pub fn person_line(p: &Participant, hand: Option<usize>) -> String {
    let hand = hand.map(|n| format!("Hand {n}")).unwrap_or_default();
    let mut name = p.username.clone();
    if p.is_me {
        name.push_str(" (you)");
    }
    if p.is_host {
        name.push_str(" - host");
    }
    let mic = if p.mic_locked {
        "mic locked"
    } else if p.muted {
        "muted"
    } else {
        "mic on"
    };
    let cam = if p.video { "cam on" } else { "cam off" };
    format!("@.{hand}\t@.{name}\t@.{mic}, {cam}")
}

/// The status text of a transfer: "45% of 3.5 MB, 1.2 MB/s".
pub fn transfer_text(t: &TransferInfo, rate: Option<f64>) -> String {
    match t.status {
        TransferStatus::Active => {
            let pct = layout::percent(t.bytes, t.size);
            match rate {
                Some(r) if r > 0.0 => {
                    format!("{pct:.0}% of {}, {}", format_size(t.size), format_rate(r))
                }
                _ => format!("{pct:.0}% of {}", format_size(t.size)),
            }
        }
        TransferStatus::Done => match t.direction {
            TransferDirection::Upload => format!("Sent, {}", format_size(t.size)),
            TransferDirection::Download => format!("Saved, {}", format_size(t.size)),
        },
        TransferStatus::Failed => "Cancelled or failed".into(),
    }
}

/// The sidebar's widgets.
pub struct Sidebar {
    /// The tabs (the sidebar as a whole).
    pub tabs: Tabs,
    chat_group: Group,
    people_group: Group,
    files_group: Group,
    chat_view: TextDisplay,
    chat_buffer: TextBuffer,
    chat_style: TextBuffer,
    chat_to: Choice,
    /// `None` for everyone, else the client id, per `chat_to` entry.
    chat_targets: Vec<Option<String>>,
    /// The chat input.
    pub chat_input: Input,
    /// Each line the chat view shows, with its length in bytes there.
    chat_shown: VecDeque<(ChatKey, usize)>,
    people_title: Frame,
    people: HoldBrowser,
    /// Client ids of the people rows, in order.
    people_ids: Vec<String>,
    everyone: MenuButton,
    lock: Button,
    /// An invisible menu button: it pops each person's menu with their
    /// name as its title.
    person_menu: MenuButton,
    files_pack: Pack,
    files_scroll: Scroll,
    /// The bar, status line and "from/to whom" of each running transfer.
    progress: HashMap<String, (Progress, Frame, String)>,
}

/// Height of the tab headers.
const TAB_H: i32 = 30;

impl Sidebar {
    /// Builds the sidebar at this place.
    pub fn new(x: i32, y: i32, w: i32, h: i32, sender: fltk::app::Sender<Message>) -> Sidebar {
        let mut tabs = Tabs::new(x, y, w, h, None);
        tabs.set_selection_color(theme::PANEL);
        let (gy, gh) = (y + TAB_H, h - TAB_H);

        // Chat.
        let mut chat_group = Group::new(x, gy, w, gh, "  Chat  ");
        chat_group.set_color(theme::PANEL);
        chat_group.set_frame(FrameType::FlatBox);
        let mut chat_view = TextDisplay::new(x + 6, gy + 6, w - 12, gh - 84, None);
        let chat_buffer = TextBuffer::default();
        let chat_style = TextBuffer::default();
        chat_view.set_buffer(chat_buffer.clone());
        let base = 14;
        chat_view.set_highlight_data(
            chat_style.clone(),
            vec![
                StyleTableEntry {
                    color: theme::MUTED_TEXT,
                    font: Font::Helvetica,
                    size: base - 2,
                },
                StyleTableEntry {
                    color: Color::from_rgb(20, 20, 20),
                    font: Font::HelveticaBold,
                    size: base,
                },
                StyleTableEntry {
                    color: Color::from_rgb(30, 30, 30),
                    font: Font::Helvetica,
                    size: base,
                },
                StyleTableEntry {
                    color: Color::from_rgb(130, 50, 160),
                    font: Font::HelveticaItalic,
                    size: base - 1,
                },
                StyleTableEntry {
                    color: theme::ACCENT,
                    font: Font::HelveticaBold,
                    size: base,
                },
            ],
        );
        chat_view.wrap_mode(WrapMode::AtBounds, 0);
        chat_view.set_frame(FrameType::FlatBox);
        chat_view.set_color(Color::White);
        chat_view.set_scrollbar_size(12);
        let mut to_label = Frame::new(x + 6, gy + gh - 72, 30, 28, "To");
        to_label.set_align(Align::Left | Align::Inside);
        let mut chat_to = Choice::new(x + 36, gy + gh - 72, w - 42, 28, None);
        chat_to.add_choice("Everyone");
        chat_to.set_value(0);
        let mut chat_input = Input::new(x + 6, gy + gh - 38, w - 84, 32, None);
        chat_input.set_tooltip("Type a message, Enter sends it");
        chat_input.set_trigger(CallbackTrigger::EnterKeyAlways);
        chat_input.emit(sender, Message::SendChat);
        chat_input.set_maximum_size(2000);
        let mut send = Button::new(x + w - 74, gy + gh - 38, 68, 32, "Send");
        send.set_color(theme::ACCENT);
        send.set_label_color(Color::White);
        send.emit(sender, Message::SendChat);
        chat_group.resizable(&chat_view);
        chat_group.end();

        // People.
        let mut people_group = Group::new(x, gy, w, gh, "  People  ");
        people_group.set_color(theme::PANEL);
        people_group.set_frame(FrameType::FlatBox);
        let mut people_title = Frame::new(x + 8, gy + 4, w - 16, 26, "");
        people_title.set_align(Align::Left | Align::Inside);
        people_title.set_label_font(Font::HelveticaBold);
        let mut people = HoldBrowser::new(x + 6, gy + 32, w - 12, gh - 80, None);
        people.set_column_char('\t');
        people.set_column_widths(&[52, w - 12 - 52 - 108, 108]);
        people.set_text_size(13);
        people.set_frame(FrameType::FlatBox);
        people.set_color(Color::White);
        people.set_tooltip("Click a person for their menu");
        // Every click pops the menu, also a second one on the same row.
        people.set_trigger(CallbackTrigger::ReleaseAlways);
        people.emit(sender, Message::PersonClicked);
        let bw = (w - 18) / 2;
        let mut everyone = MenuButton::new(x + 6, gy + gh - 42, bw, 34, "Everyone");
        everyone.set_tooltip("Host controls for everyone at once");
        for action in EveryoneAction::ALL {
            everyone.add_emit(
                action.label(),
                fltk::enums::Shortcut::None,
                fltk::menu::MenuFlag::Normal,
                sender,
                Message::Everyone(action),
            );
        }
        // Sections 16-17
        everyone.add_emit(
            "Attendance\u{2026}",
            fltk::enums::Shortcut::None,
            fltk::menu::MenuFlag::Normal,
            sender,
            Message::Attendance,
        );
        everyone.add_emit(
            "Turn the spotlight off",
            fltk::enums::Shortcut::None,
            fltk::menu::MenuFlag::Normal,
            sender,
            Message::Spotlight(None),
        );
        let mut lock = Button::new(x + 12 + bw, gy + gh - 42, bw, 34, "Lock meeting");
        lock.emit(sender, Message::LockMeeting(true));
        let mut person_menu = MenuButton::new(x, gy, 0, 0, None);
        person_menu.set_type(MenuButtonType::Popup3);
        people_group.resizable(&people);
        people_group.end();

        // Files.
        let mut files_group = Group::new(x, gy, w, gh, "  Files  ");
        files_group.set_color(theme::PANEL);
        files_group.set_frame(FrameType::FlatBox);
        let mut offer = Button::new(x + 6, gy + 6, w - 12, 34, "Share a file...");
        offer.set_color(theme::ACCENT);
        offer.set_label_color(Color::White);
        offer.emit(sender, Message::OfferFile);
        let mut files_scroll = Scroll::new(x + 6, gy + 46, w - 12, gh - 52, None);
        files_scroll.set_type(ScrollType::Vertical);
        files_scroll.set_color(theme::PANEL);
        files_scroll.set_frame(FrameType::FlatBox);
        let mut files_pack = Pack::new(x + 6, gy + 46, w - 12 - 14, 10, None);
        files_pack.set_type(PackType::Vertical);
        files_pack.set_spacing(6);
        files_pack.end();
        files_scroll.end();
        files_group.resizable(&files_scroll);
        files_group.end();

        tabs.end();
        tabs.emit(sender, Message::TabChanged);

        let mut sidebar = Sidebar {
            tabs,
            chat_group,
            people_group,
            files_group,
            chat_view,
            chat_buffer,
            chat_style,
            chat_to,
            chat_targets: vec![None],
            chat_input,
            chat_shown: VecDeque::new(),
            people_title,
            people,
            people_ids: Vec::new(),
            everyone,
            lock,
            person_menu,
            files_pack,
            files_scroll,
            progress: HashMap::new(),
        };
        sidebar.set_host_controls(false, false);
        sidebar
    }

    /// Whether the chat tab is the one showing.
    pub fn chat_showing(&self) -> bool {
        self.tabs.visible()
            && self
                .tabs
                .value()
                .is_some_and(|g| g.is_same(&self.chat_group))
    }

    /// Counts unread chat lines in the tab's label ("Chat (3)").
    pub fn set_unread(&mut self, unread: usize) {
        if unread == 0 {
            self.chat_group.set_label("  Chat  ");
        } else {
            self.chat_group.set_label(&format!("  Chat ({unread})  "));
        }
        self.tabs.redraw();
    }

    /// Shows the chat tab.
    pub fn show_chat(&mut self) {
        let _ = self.tabs.set_value(&self.chat_group);
        self.tabs.redraw();
    }

    /// Shows the people tab.
    pub fn show_people(&mut self) {
        let _ = self.tabs.set_value(&self.people_group);
        self.tabs.redraw();
    }

    /// Shows the files tab.
    pub fn show_files(&mut self) {
        let _ = self.tabs.set_value(&self.files_group);
        self.tabs.redraw();
    }

    /// Shows `lines`, appending what is new and cutting from the front
    /// what the client no longer keeps or what passes
    /// [`CHAT_VIEW_BYTES`], and keeps the view at the end. The cost is that
    /// of the changed lines, not of the whole history.
    pub fn set_chat(
        &mut self,
        lines: &[ChatLine],
        my_id: &str,
        utc_offset: i64,
        recipients: &HashMap<u64, String>,
    ) {
        let shown = &self.chat_shown;
        let (mut drop, from) = chat_update(shown.len(), lines.len(), |i, j| {
            shown[i].0.matches(&lines[j], my_id, recipients)
        });
        if drop == 0 && from == lines.len() {
            return;
        }
        // Render the new lines, newest first, as far as the view holds.
        let mut new_lines = Vec::new();
        let mut new_bytes = 0;
        for line in lines[from..].iter().rev() {
            let rendered = chat_line(line, my_id, utc_offset, recipients);
            new_bytes += rendered.0.len();
            new_lines.push((ChatKey::of(line, my_id, recipients), rendered));
            if new_bytes >= CHAT_VIEW_BYTES {
                break;
            }
        }
        // Cut what the client forgot, and then the oldest shown lines until
        // the new ones fit.
        let mut held: usize = self.chat_shown.iter().map(|(_, n)| n).sum::<usize>() + new_bytes;
        held -= self
            .chat_shown
            .iter()
            .take(drop)
            .map(|(_, n)| n)
            .sum::<usize>();
        while drop < self.chat_shown.len() && held > CHAT_VIEW_BYTES {
            held -= self.chat_shown[drop].1;
            drop += 1;
        }
        let cut: usize = self.chat_shown.drain(..drop).map(|(_, n)| n).sum();
        if cut > 0 {
            // Styles first: the display reads them to lay out the text.
            self.chat_style.remove(0, cut as i32);
            self.chat_buffer.remove(0, cut as i32);
        }
        let (mut text, mut style) = (String::with_capacity(new_bytes), String::new());
        for (key, (t, st)) in new_lines.into_iter().rev() {
            text.push_str(&t);
            style.push_str(&st);
            self.chat_shown.push_back((key, t.len()));
        }
        self.chat_style.append(&style);
        self.chat_buffer.append(&text);
        // Past the last line: the display clamps it and counts back from
        // the end, so this costs the last screenful, not the history.
        self.chat_view.scroll(i32::MAX / 2, 0);
        self.chat_view.redraw();
    }

    /// Rebuilds the "To" choice: everyone, then each other person.
    pub fn set_chat_targets(&mut self, people: &[&Participant]) {
        let current = self
            .chat_targets
            .get(self.chat_to.value().max(0) as usize)
            .cloned()
            .flatten();
        self.chat_to.clear();
        self.chat_to.add_choice("Everyone");
        self.chat_targets = vec![None];
        for p in people.iter().filter(|p| !p.is_me) {
            // `add_choice` reads '/' as a submenu and '|' as a separator.
            let label = format!("{} (private)", p.username).replace(['/', '|', '&', '_'], " ");
            self.chat_to.add_choice(&label);
            self.chat_targets.push(Some(p.client_id.clone()));
        }
        let index = self
            .chat_targets
            .iter()
            .position(|t| *t == current)
            .unwrap_or(0);
        self.chat_to.set_value(index as i32);
    }

    /// Picks the private target (or everyone with `None`).
    pub fn set_chat_target(&mut self, client_id: Option<&str>) {
        let index = self
            .chat_targets
            .iter()
            .position(|t| t.as_deref() == client_id)
            .unwrap_or(0);
        self.chat_to.set_value(index as i32);
    }

    /// Who the next message goes to (`None`: everyone).
    pub fn chat_target(&self) -> Option<String> {
        self.chat_targets
            .get(self.chat_to.value().max(0) as usize)
            .cloned()
            .flatten()
    }

    /// Takes the typed message, leaving the input empty.
    pub fn take_chat_input(&mut self) -> String {
        let text = self.chat_input.value();
        self.chat_input.set_value("");
        text
    }

    /// Refills the people list.
    pub fn set_people(&mut self, everyone: &[Participant], locked: bool) {
        let order = layout::people_order(everyone);
        let selected = self.selected_person();
        self.people.clear();
        self.people_ids.clear();
        for p in &order {
            let hand = layout::hand_position(everyone, &p.client_id);
            self.people.add(&person_line(p, hand));
            self.people_ids.push(p.client_id.clone());
        }
        if let Some(id) = selected {
            if let Some(i) = self.people_ids.iter().position(|c| *c == id) {
                self.people.select(i as i32 + 1);
            }
        }
        let count = everyone.len();
        let hands = everyone.iter().filter(|p| p.hand_raised).count();
        let mut title = format!(
            "{count} {}",
            if count == 1 {
                "participant"
            } else {
                "participants"
            }
        );
        if hands > 0 {
            title.push_str(&format!(", {hands} raised"));
        }
        if locked {
            title.push_str(" - meeting locked");
        }
        // A boxless label damages the window around it when set: only
        // when it changes (the list is shown again on every event).
        if self.people_title.label() != title {
            self.people_title.set_label(&title);
        }
        self.set_chat_targets(&order);
        self.people_group.redraw();
    }

    /// The client id of the selected row.
    pub fn selected_person(&self) -> Option<String> {
        let line = self.people.value();
        if line < 1 {
            return None;
        }
        self.people_ids.get(line as usize - 1).cloned()
    }

    /// Pops a person's menu at the mouse, titled with their name, and
    /// returns the label picked.
    pub fn pop_person_menu(&mut self, name: &str, labels: &[&str]) -> Option<String> {
        self.person_menu.clear();
        for label in labels {
            self.person_menu.add_choice(label);
        }
        self.person_menu.set_label(&name.replace('@', "@@"));
        self.person_menu.popup().and_then(|item| item.label())
    }

    /// Shows the host buttons only to the host, "Lock" or "Unlock".
    pub fn set_host_controls(&mut self, am_host: bool, locked: bool) {
        if am_host {
            self.everyone.show();
            self.lock.show();
        } else {
            self.everyone.hide();
            self.lock.hide();
        }
        self.lock.set_label(if locked {
            "Unlock meeting"
        } else {
            "Lock meeting"
        });
        self.lock.set_callback({
            let sender = fltk::app::Sender::<Message>::get();
            move |_| sender.send(Message::LockMeeting(!locked))
        });
        self.people_group.redraw();
    }

    /// Rebuilds the files tab: offers first, then transfers newest first.
    pub fn set_files(
        &mut self,
        offers: &[FileOfferInfo],
        transfers: &[TransferInfo],
        my_id: &str,
        names: &HashMap<String, String>,
        rates: &HashMap<String, f64>,
        sender: fltk::app::Sender<Message>,
    ) {
        self.files_pack.clear();
        self.progress.clear();
        let w = self.files_pack.w();
        self.files_pack.begin();
        section(
            w,
            if offers.is_empty() {
                "No files offered yet"
            } else {
                "Offered"
            },
        );
        for offer in offers.iter().rev() {
            let mine = offer.sender_id == my_id;
            let mut row = Group::new(0, 0, w, 50, None);
            row.set_frame(FrameType::FlatBox);
            row.set_color(Color::White);
            let mut name = Frame::new(8, 0, w - 110, 26, None);
            name.set_label(&offer.filename.replace('@', "@@"));
            name.set_align(Align::Left | Align::Inside | Align::Clip);
            name.set_label_font(Font::HelveticaBold);
            let from = if mine { "you" } else { offer.username.as_str() };
            let mut meta = Frame::new(8, 24, w - 110, 22, None);
            meta.set_label(
                &format!("{} from {}", format_size(offer.filesize), from).replace('@', "@@"),
            );
            meta.set_align(Align::Left | Align::Inside | Align::Clip);
            meta.set_label_color(theme::MUTED_TEXT);
            meta.set_label_size(12);
            let mut button = Button::new(w - 98, 10, 90, 30, None);
            if mine {
                button.set_label("Withdraw");
                button.emit(sender, Message::Unoffer(offer.file_id.clone()));
            } else {
                button.set_label("Download");
                button.set_color(theme::ACCENT);
                button.set_label_color(Color::White);
                button.emit(
                    sender,
                    Message::Download {
                        sender_id: offer.sender_id.clone(),
                        file_id: offer.file_id.clone(),
                    },
                );
            }
            row.end();
        }
        if !transfers.is_empty() {
            section(w, "Transfers");
        }
        for t in transfers.iter().rev() {
            let peer = names.get(&t.peer_id).map_or("someone", String::as_str);
            let (title, whom) = match t.direction {
                TransferDirection::Upload => {
                    (format!("\u{2191} {}", t.filename), format!("to {peer}"))
                }
                TransferDirection::Download => {
                    (format!("\u{2193} {}", t.filename), format!("from {peer}"))
                }
            };
            let mut row = Group::new(0, 0, w, 74, None);
            row.set_frame(FrameType::FlatBox);
            row.set_color(Color::White);
            let mut name = Frame::new(8, 0, w - 16, 24, None);
            name.set_label(&title.replace('@', "@@"));
            name.set_align(Align::Left | Align::Inside | Align::Clip);
            name.set_label_font(Font::HelveticaBold);
            let mut bar = Progress::new(8, 26, w - 110, 20, None);
            bar.set_minimum(0.0);
            bar.set_maximum(100.0);
            bar.set_value(layout::percent(t.bytes, t.size));
            bar.set_selection_color(match t.status {
                TransferStatus::Failed => theme::ERROR,
                TransferStatus::Done => theme::GOOD,
                TransferStatus::Active => theme::ACCENT,
            });
            let mut status = Frame::new(8, 48, w - 110, 22, None);
            status.set_label(
                &format!(
                    "{whom}: {}",
                    transfer_text(t, rates.get(&t.transfer_id).copied())
                )
                .replace('@', "@@"),
            );
            status.set_align(Align::Left | Align::Inside | Align::Clip);
            status.set_label_size(12);
            status.set_label_color(theme::MUTED_TEXT);
            match (t.status, &t.path) {
                (TransferStatus::Active, _) => {
                    let mut cancel = Button::new(w - 98, 22, 90, 30, "Cancel");
                    cancel.emit(sender, Message::CancelTransfer(t.transfer_id.clone()));
                }
                (TransferStatus::Done, Some(path)) => {
                    let mut open = Button::new(w - 98, 22, 90, 30, "Open folder");
                    let folder = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
                    open.emit(sender, Message::OpenFolder(folder));
                    open.set_tooltip(&path.display().to_string());
                }
                _ => {}
            }
            row.end();
            if t.status == TransferStatus::Active {
                self.progress.insert(
                    t.transfer_id.clone(),
                    (bar, status, whom.replace('@', "@@")),
                );
            }
        }
        self.files_pack.end();
        // `end` makes the pack's parent the "current" group, and FLTK puts
        // every new widget, windows included, into the current group: a
        // prompt opened later would land inside this tab. No group is
        // current outside of building one.
        Group::set_current(None::<&Group>);
        self.files_scroll.redraw();
    }

    /// Moves one transfer's bar and text without rebuilding the tab.
    pub fn update_progress(&mut self, t: &TransferInfo, rate: Option<f64>) -> bool {
        match self.progress.get_mut(&t.transfer_id) {
            Some((bar, status, whom)) => {
                bar.set_value(layout::percent(t.bytes, t.size));
                status.set_label(&format!("{whom}: {}", transfer_text(t, rate)));
                bar.redraw();
                status.redraw();
                true
            }
            None => false,
        }
    }
}

/// A section header in the files tab.
fn section(w: i32, text: &str) {
    let mut f = Frame::new(0, 0, w, 26, None);
    f.set_label(text);
    f.set_align(Align::Left | Align::Inside | Align::Bottom);
    f.set_label_font(Font::HelveticaBold);
    f.set_label_color(theme::MUTED_TEXT);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, name: &str, text: &str, private: bool) -> ChatLine {
        ChatLine {
            client_id: id.into(),
            username: name.into(),
            message: text.into(),
            timestamp: 3600.0 * 9.0 + 60.0 * 5.0,
            private,
        }
    }

    #[test]
    fn chat_lines_have_time_name_and_matching_styles() {
        let lines = [
            line("c1", "Zoë", "héllo", false),
            line("c2", "Me", "hi", true),
        ];
        let chat_text = |to: &HashMap<u64, String>| {
            let parts: Vec<(String, String)> =
                lines.iter().map(|l| chat_line(l, "c2", 0, to)).collect();
            let text: String = parts.iter().map(|p| p.0.as_str()).collect();
            let style: String = parts.iter().map(|p| p.1.as_str()).collect();
            (text, style)
        };
        let (text, style) = chat_text(&HashMap::new());
        assert_eq!(text, "09:05  Zoë\nhéllo\n\n09:05  You (private)\nhi\n\n");
        assert_eq!(text.len(), style.len(), "one style byte per text byte");
        assert!(style.starts_with("AAAAACCBBBB"));
        assert!(style.contains('E') && style.contains('D'));
        let to = HashMap::from([(lines[1].timestamp.to_bits(), "Zoë".to_string())]);
        let (text, style) = chat_text(&to);
        assert!(text.contains("You to Zoë (private)\nhi"), "{text}");
        assert_eq!(text.len(), style.len());
    }

    #[test]
    fn chat_updates_append_and_cut_the_front() {
        let update = |shown: &[u32], lines: &[u32]| {
            chat_update(shown.len(), lines.len(), |i, j| shown[i] == lines[j])
        };
        let shown = [1, 2, 3, 4, 5];
        // Two new lines.
        assert_eq!(update(&shown, &[1, 2, 3, 4, 5, 6, 7]), (0, 5));
        // Nothing new.
        assert_eq!(update(&shown, &[1, 2, 3, 4, 5]), (0, 5));
        // At the client's cap: one new line, the oldest forgotten.
        assert_eq!(update(&shown, &[2, 3, 4, 5, 6]), (1, 4));
        // The view shows only the last lines of what the client keeps.
        assert_eq!(update(&[4, 5], &[1, 2, 3, 4, 5, 6]), (0, 5));
        // More new lines than were shown: everything shown is cut.
        assert_eq!(update(&shown, &[5, 8, 9]), (4, 1));
        assert_eq!(update(&shown, &[8, 9]), (5, 0));
        // A history that does not continue what is shown is shown anew.
        assert_eq!(update(&shown, &[1, 2, 9]), (5, 0));
        assert_eq!(update(&shown, &[2, 4, 5]), (5, 0));
        assert_eq!(update(&[], &[1, 2]), (0, 0));
    }

    #[test]
    fn people_rows_show_hand_role_and_states() {
        let p = Participant {
            client_id: "c1".into(),
            username: "@Ann".into(),
            is_me: true,
            is_host: true,
            video: false,
            muted: true,
            mic_locked: false,
            hand_raised: true,
            raised_at: Some(1.0),
        };
        assert_eq!(
            person_line(&p, Some(2)),
            "@.Hand 2\t@.@Ann (you) - host\t@.muted, cam off"
        );
    }

    #[test]
    fn transfer_status_texts() {
        let mut t = TransferInfo {
            transfer_id: "t1".into(),
            direction: TransferDirection::Download,
            peer_id: "c1".into(),
            file_id: "f1".into(),
            filename: "a.bin".into(),
            size: 2_000_000,
            bytes: 500_000,
            status: TransferStatus::Active,
            path: None,
        };
        assert_eq!(
            transfer_text(&t, Some(1_000_000.0)),
            "25% of 2.0 MB, 1.0 MB/s"
        );
        assert_eq!(transfer_text(&t, None), "25% of 2.0 MB");
        t.status = TransferStatus::Done;
        assert_eq!(transfer_text(&t, None), "Saved, 2.0 MB");
    }
}
