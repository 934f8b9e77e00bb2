//! The window's state and its event loop: one [`App`] owns every widget,
//! the meeting state and the receiving end of the message channel.
//!
//! ```text
//!   join thread:  Session::connect --> Message::Connected(join, session)
//!                 then, for each session Event (minus frame events):
//!                 Message::Session(join, event)  (fltk's send wakes the loop)
//!   UI timer:     every 40 ms, Message::VideoTick unless one is pending
//!   widgets:      Message::ToggleMic, SendChat, Person(..), ...
//!
//!   UI thread:    while app.wait() { while let Some(m) = rx.recv() { app.handle(m) } }
//!                 handle: call a Session method (a channel send, never a
//!                 socket) or refresh the widgets from session.state()
//! ```
//!
//! This file holds the state, the loop and the refreshing of widgets from
//! the state; `app/meeting.rs` joins, reacts to session events and leaves;
//! `app/actions.rs` carries out what the toolbar and sidebar ask for.
//!
//! The UI thread never decodes, scales or does network I/O: session
//! methods only queue messages for the session's threads, pictures come
//! decoded from the latest-frame slots, and leaving (which waits for the
//! session's threads) runs on a thread of its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fltk::app::{self, Receiver, Sender};
use fltk::enums::{Event as UiEvent, Key};
use fltk::prelude::*;
use fltk::window::SingleWindow;
use lanmeet_client::core::subscription::{ShownLayout, ShownTile};
use lanmeet_client::devices::PushToTalk;
use lanmeet_client::{MediaPath, MeetingState, Session};
use lanmeet_common::ClientMessage;

use super::capture::{self, AudioLevel, DeviceCatalog, SelfViewSlot};
use super::dialogs::{self, Prompt};
use super::grid::{frame_identity, StageImage, StageView, TileView, GAP};
use super::join::{JoinForm, JoinRequest, LastJoin};
use super::layout::{self};
use super::message::Message;
pub use super::options::Options;
use super::settings::{self, Settings, SettingsDialog};
use super::sidebar::Sidebar;
use super::theme;
use super::toolbar::{StatusBar, StatusState, Toolbar, ToolbarState, STATUS_H, TOOLBAR_H};

mod actions;
mod classroom;
mod meeting;

/// Width of the sidebar.
const SIDEBAR_W: i32 = 350;
/// How often the stage pulls new frames (25 Hz).
const VIDEO_TICK: f64 = 0.04;
/// How long a notice stays.
const NOTICE_SECONDS: f64 = 6.0;
/// How long without a new frame before a tile says the video is stuck.
const VIDEO_STALL: Duration = Duration::from_secs(3);
/// How long the active-speaker border stays after the last loud frame.
const SPEAKING_HOLD: Duration = Duration::from_millis(400);
/// How long a reaction stays over a tile.
const REACTION_TIME: Duration = Duration::from_secs(4);

/// The main window's widgets.
struct MainWindow {
    window: SingleWindow,
    stage: StageView,
    sidebar: Sidebar,
    toolbar: Toolbar,
    status: StatusBar,
}

impl MainWindow {
    fn new(sender: Sender<Message>, talk_key: std::rc::Rc<std::cell::Cell<Option<Key>>>) -> Self {
        let (w, h) = (1280, 800);
        let mut window = SingleWindow::default()
            .with_size(w, h)
            .with_label("lanmeet");
        window.set_color(theme::STAGE);
        let stage_h = h - TOOLBAR_H - STATUS_H;
        let stage = StageView::new(0, 0, w - SIDEBAR_W, stage_h, sender);
        let sidebar = Sidebar::new(w - SIDEBAR_W, 0, SIDEBAR_W, stage_h, sender);
        let toolbar = Toolbar::new(0, stage_h, w, sender);
        let status = StatusBar::new(0, stage_h + TOOLBAR_H, w, sender);
        window.resizable(&stage.widget);
        window.size_range(860, 560, 0, 0);
        window.end();
        window.set_callback(move |_| {
            // Escape also "closes" a window in FLTK; only the close button
            // (or the window manager) should ask to leave.
            if app::event() == UiEvent::Close {
                sender.send(Message::AskLeave);
            }
        });
        window.handle(move |_, ev| {
            let key = talk_key.get();
            match ev {
                UiEvent::KeyDown
                    if key.is_some() && app::event_key() == key.unwrap_or(Key::None) =>
                {
                    sender.send(Message::PushToTalk(true));
                    true
                }
                UiEvent::KeyUp if key.is_some() && app::event_key() == key.unwrap_or(Key::None) => {
                    sender.send(Message::PushToTalk(false));
                    true
                }
                _ => false,
            }
        });
        MainWindow {
            window,
            stage,
            sidebar,
            toolbar,
            status,
        }
    }
}

/// The difference between local time and UTC, in seconds, from the
/// system's `date` (std has no time zones); 0 if unknown.
fn local_utc_offset() -> i64 {
    let out = std::process::Command::new("date").arg("+%z").output();
    let text = out
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    parse_utc_offset(&text).unwrap_or(0)
}

/// Parses `+0130` / `-0500` into seconds.
pub fn parse_utc_offset(text: &str) -> Option<i64> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Where downloads go unless the user picks another place.
fn default_download_dir() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join("Downloads").join("lanmeet"),
        None => std::env::temp_dir().join("lanmeet-downloads"),
    }
}

/// Where the window's session logs go: `$XDG_STATE_HOME/lanmeet/logs`.
fn log_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("lanmeet").join("logs"))
}

/// Moves a finished download to where the user asked (copy and delete
/// when the two are on different file systems).
fn move_file(from: &Path, to: &Path) -> Result<PathBuf, String> {
    if from == to {
        return Ok(to.to_path_buf());
    }
    if std::fs::rename(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| format!("cannot save {}: {e}", to.display()))?;
        let _ = std::fs::remove_file(from);
    }
    Ok(to.to_path_buf())
}

/// The window: widgets, meeting state, and what the user asked for.
pub struct App {
    app: app::App,
    sender: Sender<Message>,
    receiver: Receiver<Message>,
    options: Options,
    join: JoinForm,
    main: MainWindow,
    /// The session, while in a meeting.
    session: Option<Arc<Session>>,
    /// The last snapshot of the meeting.
    state: MeetingState,
    /// What the last join asked for.
    request: Option<JoinRequest>,
    catalog: DeviceCatalog,
    settings: Settings,
    settings_dialog: Option<SettingsDialog>,
    talk_key: std::rc::Rc<std::cell::Cell<Option<Key>>>,
    talk: PushToTalk,
    prompt: Option<Prompt>,
    self_view: SelfViewSlot,
    /// What we share, while we present.
    share_preview: SelfViewSlot,
    mic_level: AudioLevel,
    /// The meeting's sound on its way to the speaker.
    mix_level: AudioLevel,
    /// When our microphone and the meeting's sound were last loud (the
    /// highlight lingers a moment between syllables).
    mic_loud_at: Option<Instant>,
    mix_loud_at: Option<Instant>,
    camera_on: bool,
    mic_running: bool,
    share_pending: bool,
    sidebar_shown: bool,
    reactions: HashMap<String, (String, Instant)>,
    /// Frames to ignore per participant: the one in the slot when their
    /// camera went off, so it is not shown again when it comes back on.
    stale_frames: HashMap<String, usize>,
    rates: HashMap<String, f64>,
    /// Where the user asked to save an offer, by (sender, file).
    save_as: HashMap<(String, String), PathBuf>,
    /// Where each running download goes, by transfer id.
    destinations: HashMap<String, PathBuf>,
    /// Where finished downloads ended up, by transfer id.
    saved: HashMap<String, PathBuf>,
    notice_id: u64,
    tick_pending: Arc<AtomicBool>,
    utc_offset: i64,
    leaving: bool,
    quit_after_leave: bool,
    autochat: Option<String>,
    /// Chat lines that arrived while the chat tab was not showing.
    unread: usize,
    /// Counts joins; session messages of an older one are ignored.
    join_number: u64,
    /// When each participant's last new video frame was pulled.
    frame_seen: HashMap<String, Instant>,
    /// The layout last given to the session: given again only when it
    /// changes, not on every tick.
    shown_layout: Option<ShownLayout>,
    /// Who each of our private lines went to, by timestamp bits.
    private_to: HashMap<u64, String>,
    // Sections 15-18
    /// The host's new-poll form, while open.
    poll_form: Option<super::poll::PollForm>,
    /// The poll card (hidden when there is no poll).
    poll_card: super::poll::PollCard,
    /// We asked for the attendance and save it when it comes.
    saving_attendance: bool,
    /// Whether the discovery thread should probe (the join window is up).
    discovering: Arc<AtomicBool>,
    // Section 11-12: the stage's views.
    /// Speaker view (the last speaker large, the others in a strip)
    /// instead of the grid.
    speaker_view: bool,
    /// The last other person the server said was speaking.
    last_speaker: Option<String>,
    /// The person we pinned to the stage.
    pinned: Option<String>,
}

impl App {
    /// Builds both windows (the join window shows first).
    pub fn new(options: Options) -> App {
        let fltk_app = app::App::default().with_scheme(app::Scheme::Gtk);
        app::set_font_size(14);
        app::set_visible_focus(false);
        let (sender, receiver) = app::channel::<Message>();
        let catalog = DeviceCatalog::discover(options.test_sources);
        let settings = match Settings::path().and_then(|p| std::fs::read_to_string(p).ok()) {
            Some(text) => Settings::parse(&text, &catalog),
            None => Settings::defaults(&catalog),
        };
        let last_path = LastJoin::path();
        let last = LastJoin::load(last_path.as_deref());
        let mut join = JoinForm::new(&last, sender);
        join.set_server(options.host.as_deref(), options.port);
        if let Some(title) = &options.title {
            join.set_listing(title, true);
        }
        join.set_devices(
            catalog.cameras.missing.clone().map_or(Ok(()), Err),
            catalog.microphones.missing.clone().map_or(Ok(()), Err),
        );
        let talk_key = std::rc::Rc::new(std::cell::Cell::new(settings.talk_key));
        let main = MainWindow::new(sender, talk_key.clone());
        let autochat = options.autochat.clone();
        let mut gui = App {
            app: fltk_app,
            sender,
            receiver,
            options,
            join,
            main,
            session: None,
            state: MeetingState::default(),
            request: None,
            catalog,
            settings,
            settings_dialog: None,
            talk_key,
            talk: PushToTalk::new(),
            prompt: None,
            self_view: SelfViewSlot::default(),
            share_preview: SelfViewSlot::default(),
            mic_level: AudioLevel::default(),
            mix_level: AudioLevel::default(),
            mic_loud_at: None,
            mix_loud_at: None,
            camera_on: false,
            mic_running: false,
            share_pending: false,
            sidebar_shown: true,
            reactions: HashMap::new(),
            stale_frames: HashMap::new(),
            rates: HashMap::new(),
            save_as: HashMap::new(),
            destinations: HashMap::new(),
            saved: HashMap::new(),
            notice_id: 0,
            tick_pending: Arc::new(AtomicBool::new(false)),
            utc_offset: local_utc_offset(),
            leaving: false,
            quit_after_leave: false,
            autochat,
            unread: 0,
            frame_seen: HashMap::new(),
            shown_layout: None,
            join_number: 0,
            private_to: HashMap::new(),
            poll_form: None,
            poll_card: super::poll::PollCard::new(sender),
            saving_attendance: false,
            discovering: Arc::new(AtomicBool::new(true)),
            speaker_view: false,
            last_speaker: None,
            pinned: None,
        };
        gui.speaker_view = gui.options.speaker_view;
        let sender = gui.sender;
        gui.join.window.set_callback(move |w| {
            if app::event() == UiEvent::Close {
                w.hide();
                sender.send(Message::Leave);
            }
        });
        gui
    }

    /// Shows the join window and runs until the user quits.
    pub fn run(mut self) {
        self.join.window.show();
        let ports = self.options.port.into_iter().collect();
        super::discovery::spawn_prober(self.discovering.clone(), ports, self.sender);
        if let Some(auto) = self.options.autojoin.clone() {
            self.join
                .fill(&auto.host, auto.port, &auto.name, auto.code.as_deref());
            self.sender.send(Message::JoinSubmit);
        }
        let (sender, pending) = (self.sender, self.tick_pending.clone());
        app::add_timeout3(VIDEO_TICK, move |handle| {
            // At most one tick waits in the queue: a busy loop skips
            // ticks (and so frames) rather than queueing them.
            if !pending.swap(true, Ordering::AcqRel) {
                sender.send(Message::VideoTick);
            }
            app::repeat_timeout3(VIDEO_TICK, handle);
        });
        while self.app.wait() {
            while let Some(msg) = self.receiver.recv() {
                self.handle(msg);
            }
            // Both windows closed: quit, once a leave in progress has told
            // the server goodbye.
            if !self.join.window.shown()
                && !self.main.window.shown()
                && self.session.is_none()
                && !self.leaving
            {
                break;
            }
        }
    }

    fn handle(&mut self, msg: Message) {
        match msg {
            Message::JoinSubmit => self.submit_join(),
            Message::JoinModeChanged => self.join.mode_changed(),
            Message::Connected(join, session) => {
                if join == self.join_number {
                    self.connected(session);
                } else {
                    // A join we gave up on: dropping it leaves, which
                    // waits for its threads, so not on this thread.
                    std::thread::spawn(move || drop(session));
                }
            }
            Message::JoinFailed(text) => {
                self.join.show_error(&text);
                if !self.join.window.shown() {
                    self.join.window.show();
                }
            }
            Message::Session(join, event) => {
                // Events of an earlier meeting can still be in the queue.
                if join == self.join_number {
                    self.session_event(event);
                }
            }
            Message::LeaveFinished => {
                self.leaving = false;
                if self.quit_after_leave {
                    self.app.quit();
                }
            }
            Message::ToggleMic => self.toggle_mic(),
            Message::ToggleCamera => self.toggle_camera(),
            Message::ToggleShare => self.toggle_share(),
            Message::ToggleHand => {
                let up = self.state.me().is_some_and(|p| p.hand_raised);
                self.with_session(|s| s.raise_hand(!up));
            }
            Message::React(emoji) => {
                self.with_session(|s| s.react(&emoji));
            }
            Message::OpenSettings => self.open_settings(),
            Message::ApplySettings => self.apply_settings(),
            Message::ToggleSidebar => self.toggle_sidebar(),
            Message::AskLeave => {
                if self.session.is_none() {
                    self.main.window.hide();
                    self.join.window.show();
                    return;
                }
                let prompt = Prompt::ask(
                    "Leave the meeting?",
                    "You can join again with the same code while the meeting goes on.",
                    ("Leave", Some(Message::Leave)),
                    "Stay",
                    dialogs::area_of(&self.main.window),
                    self.sender,
                );
                self.replace_prompt(prompt);
            }
            Message::Leave => self.leave(),
            Message::PushToTalk(down) => {
                self.talk.talk(down);
            }
            Message::CopyCode => {
                app::copy(&self.state.meeting_code);
                self.notice(&format!(
                    "Meeting code {} copied: paste it to the people you invite.",
                    self.state.meeting_code
                ));
            }
            Message::SendChat => self.send_chat(),
            Message::TabChanged => self.chat_seen(),
            Message::PersonClicked => self.person_menu(),
            Message::RemoveConfirmed(id) => {
                let target_client_id = id;
                self.with_session(|s| {
                    s.send(ClientMessage::RemoveParticipant { target_client_id })
                });
            }
            Message::Everyone(action) => {
                let (command, done) = action.command();
                if self.with_session(|s| s.send(command)).is_some() {
                    self.notice(done);
                }
            }
            Message::LockMeeting(locked) => {
                self.with_session(|s| s.send(ClientMessage::LockMeeting { locked }));
            }
            Message::StartVideoAsAsked => {
                if !self.camera_on {
                    self.toggle_camera();
                }
            }
            Message::UnmuteAsAsked => {
                if self.session.as_ref().is_some_and(|s| s.is_muted()) {
                    self.toggle_mic();
                }
            }
            Message::OfferFile => {
                if let Some(path) = dialogs::choose_file_to_offer() {
                    match self.session.as_ref().map(|s| s.offer_file(&path)) {
                        Some(Ok(_)) => self.notice(&format!(
                            "Offering {}: it appears in Files once checked.",
                            path.file_name().unwrap_or_default().to_string_lossy()
                        )),
                        Some(Err(e)) => self.notice(&e.to_string()),
                        None => {}
                    }
                }
            }
            Message::Download { sender_id, file_id } => self.download(sender_id, file_id),
            Message::Unoffer(file_id) => {
                self.with_session(|s| s.unoffer_file(&file_id));
                self.refresh_state();
                self.refresh_files();
            }
            Message::CancelTransfer(id) => {
                self.with_session(|s| s.cancel_transfer(&id));
            }
            Message::OpenFolder(folder) => {
                if let Err(e) = dialogs::open_folder(&folder) {
                    self.notice(&e);
                }
            }
            Message::DownloadMoved {
                transfer_id,
                result,
            } => match result {
                Ok(path) => {
                    self.notice(&format!("Saved {}", path.display()));
                    self.saved.insert(transfer_id, path);
                    self.refresh_files();
                }
                Err(e) => self.notice(&e),
            },
            Message::VideoTick => {
                self.tick_pending.store(false, Ordering::Release);
                self.refresh_stage();
                self.keep_discovering();
            }
            Message::HideNotice(id) => {
                if id == self.notice_id {
                    self.main.stage.model.borrow_mut().notice = None;
                    self.main.stage.redraw();
                }
            }
            Message::ClosePrompt => {
                if self.prompt.as_ref().is_some_and(|p| !p.is_open()) {
                    self.prompt = None;
                }
            }
            m @ (Message::OpenPoll
            | Message::PollFormSubmit
            | Message::PollVote
            | Message::PollClose
            | Message::PollSaveResults
            | Message::PollHide
            | Message::Attendance
            | Message::Spotlight(_)
            | Message::Discovered(_)
            | Message::DiscoveryPicked) => self.classroom_message(m),
            Message::ToggleView => {
                self.speaker_view = !self.speaker_view;
                self.refresh_bars();
                self.refresh_stage();
            }
            Message::TogglePin(id) => {
                let pin = self.pinned.as_deref() != Some(id.as_str());
                if pin {
                    self.notice(&format!(
                        "{} is pinned to your stage (only you see this). Double-click to unpin.",
                        self.name_of(&id)
                    ));
                }
                self.pinned = pin.then_some(id);
                self.refresh_stage();
            }
        }
    }

    /// Runs a session call and shows its error as a notice.
    fn with_session<T>(
        &mut self,
        f: impl FnOnce(&Session) -> Result<T, lanmeet_client::SessionError>,
    ) -> Option<T> {
        let result = self.session.as_ref().map(|s| f(s))?;
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.notice(&e.to_string());
                None
            }
        }
    }

    fn replace_prompt(&mut self, prompt: Prompt) {
        if let Some(mut old) = self.prompt.take() {
            old.close();
        }
        self.prompt = Some(prompt);
    }

    /// Shows a notice over the stage for a few seconds.
    fn notice(&mut self, text: &str) {
        self.notice_id += 1;
        let id = self.notice_id;
        self.main.stage.model.borrow_mut().notice = Some(text.to_string());
        self.main.stage.redraw();
        let sender = self.sender;
        app::add_timeout3(NOTICE_SECONDS, move |_| {
            sender.send(Message::HideNotice(id))
        });
    }

    // ----- refreshing the widgets -----------------------------------------

    fn refresh_all(&mut self) {
        self.refresh_people();
        self.refresh_chat();
        self.refresh_files();
        self.refresh_bars();
        self.refresh_stage();
    }

    fn refresh_people(&mut self) {
        // The server does not echo our own camera state back to us, and
        // the session knows our microphone best: show ours from here.
        let mut everyone = self.state.participants.clone();
        for p in everyone.iter_mut().filter(|p| p.is_me) {
            p.video = self.camera_on;
            p.muted = self.session.as_ref().is_none_or(|s| s.is_muted());
        }
        self.main.sidebar.set_people(&everyone, self.state.locked);
        self.main
            .sidebar
            .set_host_controls(self.state.am_host(), self.state.locked);
    }

    fn refresh_chat(&mut self) {
        self.main.sidebar.set_chat(
            &self.state.chat,
            &self.state.my_id,
            self.utc_offset,
            &self.private_to,
        );
    }

    fn refresh_files(&mut self) {
        let mut names: HashMap<String, String> = self
            .state
            .participants
            .iter()
            .map(|p| (p.client_id.clone(), p.username.clone()))
            .collect();
        for o in &self.state.offers {
            names
                .entry(o.sender_id.clone())
                .or_insert_with(|| o.username.clone());
        }
        let transfers: Vec<_> = self
            .state
            .transfers
            .iter()
            .cloned()
            .map(|mut t| {
                if let Some(p) = self.saved.get(&t.transfer_id) {
                    t.path = Some(p.clone());
                }
                t
            })
            .collect();
        self.main.sidebar.set_files(
            &self.state.offers,
            &transfers,
            &self.state.my_id,
            &names,
            &self.rates,
            self.sender,
        );
    }

    fn refresh_bars(&mut self) {
        let me = self.state.me().cloned();
        let muted = self.session.as_ref().is_none_or(|s| s.is_muted());
        let toolbar = ToolbarState {
            muted,
            mic_locked: me.as_ref().is_some_and(|p| p.mic_locked),
            camera_on: self.camera_on,
            sharing: self.am_presenting() || self.share_pending,
            hand_up: me.as_ref().is_some_and(|p| p.hand_raised),
            sidebar_shown: self.sidebar_shown,
            speaker_view: self.speaker_view,
            poll_button: self.state.am_host()
                || self.state.poll.is_some()
                || self.state.poll_results.is_some(),
            no_microphone: self.catalog.microphones.missing.clone(),
            no_camera: self.catalog.cameras.missing.clone(),
            no_screen: self.catalog.monitors.missing.clone(),
            talk_key: self.settings.talk_key.and_then(|key| {
                settings::TALK_KEYS
                    .iter()
                    .find(|(_, k)| *k == Some(key))
                    .map(|(label, _)| label.to_string())
            }),
        };
        self.main.toolbar.show(&toolbar);
        let status = StatusState {
            connected: self.session.as_ref().is_some_and(|s| s.is_connected()),
            reconnecting: self.main.stage.model.borrow().reconnecting,
            code: self.state.meeting_code.clone(),
            media: self
                .session
                .as_ref()
                .map_or(MediaPath::Waiting, |s| s.media_path()),
            people: self.state.participants.len(),
            locked: self.state.locked,
        };
        self.main.status.show(&status);
    }

    /// Pulls new frames from the slots and redraws the stage if anything
    /// changed. Runs on every UI tick.
    fn refresh_stage(&mut self) {
        let Some(session) = self.session.clone() else {
            return;
        };
        let now = Instant::now();
        self.reactions.retain(|_, (_, until)| *until > now);
        if self.mic_level.peak() > capture::SPEAKING_PEAK {
            self.mic_loud_at = Some(now);
        }
        if self.mix_level.peak() > capture::SPEAKING_PEAK {
            self.mix_loud_at = Some(now);
        }
        let recent =
            |at: Option<Instant>| at.is_some_and(|t| now.duration_since(t) < SPEAKING_HOLD);
        let speaking_me =
            self.mic_running && !session.is_muted() && self.talk.open() && recent(self.mic_loud_at);
        let speaking_other = layout::lone_unmuted(&self.state.participants)
            .filter(|_| recent(self.mix_loud_at))
            .map(String::from);
        let participants = &self.state.participants;
        let mut tiles: Vec<TileView> = layout::tile_order(participants)
            .into_iter()
            .map(|p| TileView {
                client_id: p.client_id.clone(),
                name: p.username.clone(),
                is_me: p.is_me,
                is_host: p.is_host,
                muted: if p.is_me { session.is_muted() } else { p.muted },
                mic_locked: p.mic_locked,
                video: if p.is_me { self.camera_on } else { p.video },
                hand: layout::hand_position(participants, &p.client_id),
                // Section 12: the server's list covers everyone; without it,
                // the local guesses.
                speaking: self.state.speaking.contains(&p.client_id)
                    || if p.is_me {
                        speaking_me
                    } else {
                        speaking_other.as_deref() == Some(p.client_id.as_str())
                    },
                reaction: self.reactions.get(&p.client_id).map(|(e, _)| e.clone()),
                stalled: false,
            })
            .collect();
        let presenter = self
            .state
            .presenter
            .as_ref()
            .map(|id| (self.name_of(id), *id == self.state.my_id));

        // Speaker view: the last other person the server said spoke.
        if let Some(id) = self
            .state
            .speaking
            .iter()
            .find(|id| **id != self.state.my_id)
        {
            self.last_speaker = Some(id.clone());
        }
        let present = |id: &Option<String>| {
            id.as_ref()
                .filter(|id| tiles.iter().any(|t| t.client_id == **id))
                .cloned()
        };
        if present(&self.pinned).is_none() {
            self.pinned = None;
        }
        let speaker = self.speaker_view.then(|| {
            present(&self.last_speaker)
                .or_else(|| tiles.iter().find(|t| !t.is_me).map(|t| t.client_id.clone()))
                .or_else(|| tiles.first().map(|t| t.client_id.clone()))
        });

        let mut model = self.main.stage.model.borrow_mut();
        let mut changed = model.presenter != presenter
            || model.pinned != self.pinned
            || model.speaker != speaker.clone().flatten()
            || model.spotlight != self.state.spotlight;
        model.presenter = presenter.clone();
        model.spotlight = self.state.spotlight.clone();
        model.pinned = self.pinned.clone();
        model.speaker = speaker.flatten();
        let old_tiles = std::mem::replace(&mut model.tiles, tiles.clone());
        // What is shown, at what size: subscribe to it and have it decoded
        // at that size (section 11).
        let stage = &self.main.stage.widget;
        let area = layout::Rect::new(stage.x(), stage.y(), stage.w(), stage.h()).inset(GAP);
        let plan = model.plan(area);
        let mut shown = ShownLayout::default();
        let placed = plan
            .star
            .iter()
            .map(|(i, r, _)| (*i, *r))
            .chain(plan.tiles.iter().copied());
        for (i, rect) in placed {
            if !tiles[i].is_me {
                shown.shown.push(ShownTile {
                    client_id: tiles[i].client_id.clone(),
                    width: rect.w.max(1) as u32,
                    height: rect.h.max(1) as u32,
                });
            }
        }
        for &i in &plan.hidden {
            if !tiles[i].is_me {
                shown.hidden.push(tiles[i].client_id.clone());
            }
        }
        let is_shown = |id: &str| {
            tiles.iter().any(|t| t.is_me && t.client_id == id)
                || shown.shown.iter().any(|t| t.client_id == id)
        };
        // The picture of someone no longer shown would come back stale.
        model.images.retain(|id, _| is_shown(id));
        // Tiles whose picture alone changed: only they are drawn again,
        // unless something else changed too.
        let mut new_pictures = Vec::new();
        for tile in &tiles {
            if !tile.video || !is_shown(&tile.client_id) {
                continue;
            }
            let cached = model.images.get(&tile.client_id).map(|i| i.source);
            if tile.is_me {
                if let Some(img) = self.self_view.latest() {
                    let source = frame_identity(&img);
                    if cached != Some(source) {
                        if let Some(si) = StageImage::from_rgb(source, &img) {
                            model.images.insert(tile.client_id.clone(), si);
                            new_pictures.push(tile.client_id.clone());
                        }
                    }
                }
            } else if let Some(frame) = session.latest_video_frame(&tile.client_id) {
                let source = frame_identity(&frame);
                if cached != Some(source) && self.stale_frames.get(&tile.client_id) != Some(&source)
                {
                    self.stale_frames.remove(&tile.client_id);
                    self.frame_seen.insert(tile.client_id.clone(), now);
                    if let Some(si) = StageImage::from_rgb(source, &frame.image) {
                        model.images.insert(tile.client_id.clone(), si);
                        new_pictures.push(tile.client_id.clone());
                    }
                }
            }
        }
        if self.shown_layout.as_ref() != Some(&shown) {
            session.show_layout(shown.clone());
            self.shown_layout = Some(shown);
        }
        // A camera that is on but sent nothing new for a while (lost
        // datagrams, a blocked media path): say so over its last picture.
        for tile in tiles.iter_mut().filter(|t| !t.is_me && t.video) {
            tile.stalled = model.images.contains_key(&tile.client_id)
                && self
                    .frame_seen
                    .get(&tile.client_id)
                    .is_some_and(|seen| now.duration_since(*seen) > VIDEO_STALL);
        }
        changed |= old_tiles != tiles;
        model.tiles = tiles;
        if presenter.as_ref().is_some_and(|(_, me)| *me) {
            if let Some(img) = self.share_preview.latest() {
                let source = frame_identity(&img);
                if model.screen.as_ref().map(|s| s.source) != Some(source) {
                    model.screen = StageImage::from_rgb(source, &img);
                    changed = true;
                }
            }
        } else if presenter.is_some() {
            if let Some(frame) = session.latest_screen_frame() {
                let source = frame_identity(&frame);
                let presenter_id = self.state.presenter.as_deref().unwrap_or_default();
                if frame.client_id == presenter_id
                    && model.screen.as_ref().map(|s| s.source) != Some(source)
                {
                    model.screen = StageImage::from_rgb(source, &frame.image);
                    changed = true;
                }
            }
        }
        let only_pictures = !changed && !new_pictures.is_empty();
        if only_pictures {
            model.new_pictures.append(&mut new_pictures);
        }
        drop(model);
        if changed {
            self.main.stage.redraw();
        } else if only_pictures {
            self.main.stage.redraw_pictures();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_offsets_parse() {
        assert_eq!(parse_utc_offset("+0000"), Some(0));
        assert_eq!(parse_utc_offset("+0530"), Some(5 * 3600 + 30 * 60));
        assert_eq!(parse_utc_offset("-0800"), Some(-8 * 3600));
        assert_eq!(parse_utc_offset("0800"), None);
        assert_eq!(parse_utc_offset("+08"), None);
    }

    #[test]
    fn downloads_move_to_the_chosen_place() {
        let dir = std::env::temp_dir().join(format!("lanmeet-move-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let from = dir.join("a.part");
        std::fs::write(&from, b"data").unwrap();
        let to = dir.join("b.txt");
        assert_eq!(move_file(&from, &to).unwrap(), to);
        assert_eq!(std::fs::read(&to).unwrap(), b"data");
        assert!(!from.exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
