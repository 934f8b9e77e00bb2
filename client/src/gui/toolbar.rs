//! The toolbar under the stage and the status bar under it.
//!
//! ```text
//!  [Mute] [Stop video] [Share screen] [Raise hand] [React v] [Settings] [Hide panel] ...... [Leave]
//!  Connected | Meeting K7Q2XZ [Copy] | Media: ok | 4 participants
//! ```
//!
//! Each button sends one [`Message`]; its label and colour follow the
//! state (`ToolbarState`), and a button whose device is missing is greyed
//! out with the reason as its tooltip.

use fltk::button::Button;
use fltk::enums::{Align, Color, Font, FrameType};
use fltk::frame::Frame;
use fltk::group::Group;
use fltk::menu::MenuButton;
use fltk::prelude::*;
use lanmeet_client::MediaPath;

use super::message::Message;
use super::theme;

/// Reactions offered in the menu. They are symbols that common fonts
/// have (DejaVu covers them), so they show even without an emoji font.
pub const REACTIONS: [(&str, &str); 6] = [
    ("\u{2764}", "Heart"),
    ("\u{263A}", "Smile"),
    ("\u{2714}", "Agree"),
    ("\u{2605}", "Great"),
    ("\u{261D}", "Wait"),
    ("?", "Question"),
];

/// What the toolbar shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolbarState {
    /// Our microphone is off (by us or the host).
    pub muted: bool,
    /// The host locked our microphone.
    pub mic_locked: bool,
    /// Our camera is on.
    pub camera_on: bool,
    /// We present.
    pub sharing: bool,
    /// Our hand is up.
    pub hand_up: bool,
    /// The sidebar is showing.
    pub sidebar_shown: bool,
    /// Why the microphone cannot be used, if it cannot.
    pub no_microphone: Option<String>,
    /// Why the camera cannot be used, if it cannot.
    pub no_camera: Option<String>,
    /// Why the screen cannot be shared, if it cannot.
    pub no_screen: Option<String>,
    /// The push-to-talk key's name, while push-to-talk is on.
    pub talk_key: Option<String>,
    /// Section 15: show the Poll button (host, or a poll to look at).
    pub poll_button: bool,
    /// The stage is in speaker view (not the grid).
    pub speaker_view: bool,
}

/// Height of the toolbar.
pub const TOOLBAR_H: i32 = 60;
/// Height of the status bar.
pub const STATUS_H: i32 = 28;

/// The toolbar's widgets.
pub struct Toolbar {
    mic: Button,
    camera: Button,
    share: Button,
    hand: Button,
    sidebar: Button,
    poll: Button,
    view: Button,
}

fn bar_button(x: i32, y: i32, w: i32, label: &str) -> Button {
    let mut b = Button::new(x, y, w, TOOLBAR_H - 16, None);
    b.set_label(label);
    b.set_color(Color::from_rgb(58, 62, 72));
    b.set_label_color(theme::BAR_TEXT);
    b.set_frame(FrameType::FlatBox);
    b.set_down_frame(FrameType::DownBox);
    b.set_label_size(14);
    b.clear_visible_focus();
    b
}

/// The buttons left of Leave, in order: microphone, camera, share, hand,
/// react, settings, panel, view, poll.
const BUTTONS: usize = 9;
/// Their widths when the window has room for them, with 14-pixel labels.
const ROOMY: [i32; BUTTONS] = [124, 116, 128, 112, 96, 96, 112, 116, 72];
/// Their widths in a narrower window, with 12-pixel labels: the longest
/// label of each ("Speaker view", "Stop sharing", "Lower hand") still
/// fits, and all nine and Leave fit the window's 860-pixel minimum.
const COMPACT: [i32; BUTTONS] = [78, 78, 90, 80, 66, 64, 80, 92, 48];
/// The Leave button's width, at the right end.
const LEAVE_W: i32 = 94;
/// The margin at both ends of the toolbar.
const MARGIN: i32 = 10;

/// Where the buttons go in a toolbar at `x`, `w` wide: each button's x
/// and width, Leave's x, and the label size. The roomy widths while they
/// fit left of Leave, else the compact ones.
pub fn button_places(x: i32, w: i32) -> ([(i32, i32); BUTTONS], i32, i32) {
    let leave_x = x + w - MARGIN - LEAVE_W;
    let span =
        |widths: &[i32; BUTTONS], gap: i32| widths.iter().sum::<i32>() + gap * BUTTONS as i32;
    let (widths, gap, label_size) = if MARGIN + span(&ROOMY, 8) <= w - MARGIN - LEAVE_W {
        (ROOMY, 8, 14)
    } else {
        (COMPACT, 6, 12)
    };
    let mut places = [(0, 0); BUTTONS];
    let mut bx = x + MARGIN;
    for (place, width) in places.iter_mut().zip(widths) {
        *place = (bx, width);
        bx += width + gap;
    }
    (places, leave_x, label_size)
}

/// Puts the toolbar's buttons where [`button_places`] says for a toolbar
/// at `x`, `w` wide.
fn place_buttons(buttons: &mut [fltk::widget::Widget], leave: &mut Button, x: i32, y: i32, w: i32) {
    let (places, leave_x, label_size) = button_places(x, w);
    let by = y + 8;
    for (b, (bx, bw)) in buttons.iter_mut().zip(places) {
        b.resize(bx, by, bw, TOOLBAR_H - 16);
        b.set_label_size(label_size);
    }
    leave.resize(leave_x, by, LEAVE_W, TOOLBAR_H - 16);
    leave.set_label_size(label_size);
}

impl Toolbar {
    /// Builds the toolbar across `w` at `y`; its buttons narrow when the
    /// window does (see [`button_places`]).
    pub fn new(x: i32, y: i32, w: i32, sender: fltk::app::Sender<Message>) -> Toolbar {
        let mut group = Group::new(x, y, w, TOOLBAR_H, None);
        group.set_frame(FrameType::FlatBox);
        group.set_color(theme::BAR);
        // Placed by `place_buttons`, here and whenever the window resizes.
        let by = y + 8;
        let mut mic = bar_button(x, by, 124, "Mute");
        mic.emit(sender, Message::ToggleMic);
        let mut camera = bar_button(x, by, 116, "Stop video");
        camera.emit(sender, Message::ToggleCamera);
        let mut share = bar_button(x, by, 128, "Share screen");
        share.emit(sender, Message::ToggleShare);
        let mut hand = bar_button(x, by, 112, "Raise hand");
        hand.emit(sender, Message::ToggleHand);
        let mut react = MenuButton::new(x, by, 96, TOOLBAR_H - 16, "React");
        react.set_color(Color::from_rgb(58, 62, 72));
        react.set_label_color(theme::BAR_TEXT);
        react.set_frame(FrameType::FlatBox);
        react.set_text_size(16);
        react.clear_visible_focus();
        for (emoji, word) in REACTIONS {
            react.add_emit(
                &format!("{emoji}  {word}"),
                fltk::enums::Shortcut::None,
                fltk::menu::MenuFlag::Normal,
                sender,
                Message::React(emoji.to_string()),
            );
        }
        let mut settings = bar_button(x, by, 96, "Settings");
        settings.emit(sender, Message::OpenSettings);
        let mut sidebar = bar_button(x, by, 112, "Hide panel");
        sidebar.emit(sender, Message::ToggleSidebar);
        let mut view = bar_button(x, by, 116, "Speaker view");
        view.set_tooltip(
            "Show the last speaker large and the others in a strip, or everyone in a grid",
        );
        view.emit(sender, Message::ToggleView);
        // Section 15: the host starts polls; everyone reopens the card.
        let mut poll = bar_button(x, by, 72, "Poll");
        poll.emit(sender, Message::OpenPoll);
        poll.hide();
        let mut leave = bar_button(x + w - MARGIN - LEAVE_W, by, LEAVE_W, "Leave");
        leave.set_color(theme::ERROR);
        leave.set_label_color(Color::White);
        leave.set_label_font(Font::HelveticaBold);
        leave.emit(sender, Message::AskLeave);
        // Nothing resizes with the bar by itself: `place_buttons` does.
        let spacer = Frame::new(x + w - 1, by, 1, 10, None);
        group.resizable(&spacer);
        group.end();
        let mut buttons = [
            mic.as_base_widget(),
            camera.as_base_widget(),
            share.as_base_widget(),
            hand.as_base_widget(),
            react.as_base_widget(),
            settings.as_base_widget(),
            sidebar.as_base_widget(),
            view.as_base_widget(),
            poll.as_base_widget(),
        ];
        place_buttons(&mut buttons, &mut leave, x, y, w);
        group.resize_callback(move |_, x, y, w, _| {
            place_buttons(&mut buttons, &mut leave, x, y, w);
        });
        Toolbar {
            mic,
            camera,
            share,
            hand,
            sidebar,
            poll,
            view,
        }
    }

    /// Shows `state`.
    pub fn show(&mut self, state: &ToolbarState) {
        let normal = Color::from_rgb(58, 62, 72);
        let set =
            |b: &mut Button, label: &str, alert: bool, unavailable: &Option<String>, tip: &str| {
                b.set_label(label);
                // A missing device is no alarm: grey, with the reason.
                let alert = alert && unavailable.is_none();
                b.set_color(if alert { theme::ALERT } else { normal });
                match unavailable {
                    Some(why) => {
                        b.deactivate();
                        b.set_tooltip(why);
                    }
                    None => {
                        b.activate();
                        b.set_tooltip(tip);
                    }
                }
                b.redraw();
            };
        let hold = state.talk_key.as_ref().map(|k| format!("Hold {k}"));
        let mic_label = if state.mic_locked {
            "Mic locked"
        } else if state.muted {
            "Unmute"
        } else if let Some(hold) = &hold {
            hold.as_str()
        } else {
            "Mute"
        };
        let mic_tip = if state.mic_locked {
            "The host locked your microphone"
        } else if hold.is_some() {
            "Push to talk: you are heard only while you hold the key. Click to mute."
        } else {
            "Turn your microphone on or off"
        };
        set(
            &mut self.mic,
            mic_label,
            state.muted,
            &state.no_microphone,
            mic_tip,
        );
        set(
            &mut self.camera,
            if state.camera_on {
                "Stop video"
            } else {
                "Start video"
            },
            !state.camera_on,
            &state.no_camera,
            "Turn your camera on or off",
        );
        set(
            &mut self.share,
            if state.sharing {
                "Stop sharing"
            } else {
                "Share screen"
            },
            state.sharing,
            &state.no_screen,
            "Show your screen to everyone",
        );
        set(
            &mut self.hand,
            if state.hand_up {
                "Lower hand"
            } else {
                "Raise hand"
            },
            false,
            &None,
            "Ask to speak",
        );
        if state.hand_up {
            self.hand.set_color(theme::HAND);
            self.hand.set_label_color(Color::Black);
        } else {
            self.hand.set_label_color(theme::BAR_TEXT);
        }
        self.sidebar.set_label(if state.sidebar_shown {
            "Hide panel"
        } else {
            "Show panel"
        });
        self.sidebar.redraw();
        self.view.set_label(if state.speaker_view {
            "Grid view"
        } else {
            "Speaker view"
        });
        self.view.redraw();
        if state.poll_button {
            self.poll.show();
        } else {
            self.poll.hide();
        }
    }
}

/// What the status bar shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusState {
    /// Still in the meeting.
    pub connected: bool,
    /// The connection dropped and the session is trying to resume.
    pub reconnecting: bool,
    /// The meeting's code.
    pub code: String,
    /// Whether UDP media gets through.
    pub media: MediaPath,
    /// How many people are in the meeting.
    pub people: usize,
    /// The meeting refuses new joins.
    pub locked: bool,
}

/// The status line's texts: connection, code, media path, people.
pub fn status_texts(s: &StatusState) -> [String; 4] {
    let connection = if s.reconnecting {
        "\u{25CC} Reconnecting".to_string()
    } else if s.connected {
        "\u{25CF} Connected".to_string()
    } else {
        "\u{25CB} Disconnected".to_string()
    };
    let code = if s.locked {
        format!("Meeting {} (locked)", s.code)
    } else {
        format!("Meeting {}", s.code)
    };
    let media = match s.media {
        MediaPath::Ok => "Audio/video: ok".to_string(),
        MediaPath::Waiting => "Audio/video: checking...".to_string(),
        MediaPath::NoAnswer => "Audio/video: blocked (UDP does not get through)".to_string(),
    };
    let people = format!(
        "{} {}",
        s.people,
        if s.people == 1 {
            "participant"
        } else {
            "participants"
        }
    );
    [connection, code, media, people]
}

/// The status bar's widgets.
pub struct StatusBar {
    /// The bar.
    pub group: Group,
    connection: Frame,
    code: Frame,
    media: Frame,
    people: Frame,
}

impl StatusBar {
    /// Builds the status bar across `w` at `y`.
    pub fn new(x: i32, y: i32, w: i32, sender: fltk::app::Sender<Message>) -> StatusBar {
        let mut group = Group::new(x, y, w, STATUS_H, None);
        group.set_frame(FrameType::FlatBox);
        group.set_color(Color::from_rgb(28, 30, 35));
        let label = |x: i32, w: i32| {
            let mut f = Frame::new(x, y, w, STATUS_H, None);
            f.set_align(Align::Left | Align::Inside | Align::Clip);
            f.set_label_color(theme::BAR_TEXT);
            f.set_label_size(13);
            f
        };
        let connection = label(x + 10, 110);
        let code = label(x + 124, 190);
        let mut copy = Button::new(x + 316, y + 3, 56, STATUS_H - 6, "Copy");
        copy.set_label_size(12);
        copy.set_tooltip("Copy the meeting code to give it to others");
        copy.clear_visible_focus();
        copy.emit(sender, Message::CopyCode);
        let media = label(x + 390, 360);
        let people = label(x + 760, 160);
        let spacer = Frame::new(x + 930, y, (w - 940).max(1), STATUS_H, None);
        group.resizable(&spacer);
        group.end();
        StatusBar {
            group,
            connection,
            code,
            media,
            people,
        }
    }

    /// Shows `state`. Labels are set only when their text or colour
    /// changes: setting the label of a frame without a box damages the
    /// window around it, and the bar is shown again on every event.
    pub fn show(&mut self, state: &StatusState) {
        let [connection, code, media, people] = status_texts(state);
        let connection_color = if state.reconnecting {
            theme::HAND
        } else if state.connected {
            theme::GOOD
        } else {
            theme::ERROR
        };
        let media_color = match state.media {
            MediaPath::Ok => theme::BAR_TEXT,
            MediaPath::Waiting => theme::HAND,
            MediaPath::NoAnswer => Color::from_rgb(255, 120, 120),
        };
        let mut changed = false;
        for (frame, text, color) in [
            (&mut self.connection, &connection, Some(connection_color)),
            (&mut self.code, &code, None),
            (&mut self.media, &media, Some(media_color)),
            (&mut self.people, &people, None),
        ] {
            if frame.label() != *text {
                frame.set_label(text);
                changed = true;
            }
            if let Some(color) = color.filter(|c| *c != frame.label_color()) {
                frame.set_label_color(color);
                changed = true;
            }
        }
        if changed {
            self.group.redraw();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buttons_fit_left_of_leave_from_the_minimum_width_up() {
        for w in [860, 900, 1000, 1100, 1165, 1166, 1280, 1920] {
            let (places, leave_x, _) = button_places(0, w);
            let (last_x, last_w) = places[BUTTONS - 1];
            assert!(
                last_x + last_w + 6 <= leave_x,
                "at {w}: {places:?}, Leave at {leave_x}"
            );
            assert!(
                places.windows(2).all(|p| p[0].0 + p[0].1 < p[1].0),
                "at {w}"
            );
            assert_eq!(leave_x + LEAVE_W + MARGIN, w);
        }
        // Roomy buttons with large labels when there is room.
        assert_eq!(button_places(0, 1280).2, 14);
        assert_eq!(button_places(0, 860).2, 12);
    }

    #[test]
    fn status_line_says_what_is_going_on() {
        let mut s = StatusState {
            connected: true,
            reconnecting: false,
            code: "K7Q2XZ".into(),
            media: MediaPath::Ok,
            people: 1,
            locked: false,
        };
        assert_eq!(
            status_texts(&s),
            [
                "\u{25CF} Connected".to_string(),
                "Meeting K7Q2XZ".into(),
                "Audio/video: ok".into(),
                "1 participant".into()
            ]
        );
        s.media = MediaPath::NoAnswer;
        s.people = 4;
        s.locked = true;
        let t = status_texts(&s);
        assert!(t[2].contains("blocked"));
        assert_eq!(t[3], "4 participants");
        assert_eq!(t[1], "Meeting K7Q2XZ (locked)");
        s.reconnecting = true;
        assert_eq!(status_texts(&s)[0], "\u{25CC} Reconnecting");
    }
}
