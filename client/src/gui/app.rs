//! The window's state and its event loop: one [`App`] owns every widget,
//! the meeting state and the receiving end of the message channel.
//!
//! ```text
//!   join thread:  Session::connect --> Message::Connected(session)
//!                 then, for each session Event (minus frame events):
//!                 Message::Session(event)  (fltk's send wakes the loop)
//!   UI timer:     every 40 ms, Message::VideoTick unless one is pending
//!   widgets:      Message::ToggleMic, SendChat, Person(..), ...
//!
//!   UI thread:    while app.wait() { while let Some(m) = rx.recv() { app.handle(m) } }
//!                 handle: call a Session method (a channel send, never a
//!                 socket) or refresh the widgets from session.state()
//! ```
//!
//! The UI thread never decodes, scales or does network I/O: session
//! methods only queue messages for the session's threads, pictures come
//! decoded from the latest-frame slots, and leaving (which waits for the
//! session's threads) runs on a thread of its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use fltk::app::{self, Receiver, Sender};
use fltk::enums::{Event as UiEvent, Key};
use fltk::prelude::*;
use fltk::window::Window;
use lanmeet_client::devices::PushToTalk;
use lanmeet_client::log::Log;
use lanmeet_client::{
    Config, Event, JoinAction, MediaPath, MeetingState, Session, TransferDirection,
};
use lanmeet_common::message::LeaveReason;
use lanmeet_common::{ClientMessage, ErrorCode};

use super::capture::{self, DeviceCatalog, MicLevel, SelfViewSlot};
use super::dialogs::{self, Prompt};
use super::grid::{frame_identity, StageImage, StageView, TileView};
use super::join::{join_error_text, JoinForm, JoinRequest, LastJoin};
use super::layout::{self, PersonAction};
use super::message::Message;
use super::settings::{self, Settings, SettingsDialog};
use super::sidebar::Sidebar;
use super::theme;
use super::toolbar::{StatusBar, StatusState, Toolbar, ToolbarState, STATUS_H, TOOLBAR_H};

/// How the window was started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `--host`: prefills the server field.
    pub host: Option<String>,
    /// `--port`: prefills the port field.
    pub port: Option<u16>,
    /// `LANMEET_AUTOJOIN=host:port:name:code` (code `create` or empty to
    /// create): fills the form and joins at once (for automated runs).
    pub autojoin: Option<AutoJoin>,
    /// `LANMEET_AUTOCHAT=text`: once joined, sends this chat line through
    /// the chat input and its Send path.
    pub autochat: Option<String>,
    /// `LANMEET_TEST_SOURCES=1`: offer the synthetic camera, tone, test
    /// screen and silent speaker besides real devices.
    pub test_sources: bool,
    /// `LANMEET_DOWNLOAD_DIR`: save downloads here without asking.
    pub download_dir: Option<PathBuf>,
    /// `LANMEET_TAB=chat|people|files`: the sidebar tab to show first.
    pub tab: Option<String>,
}

/// A join to run without anyone typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoJoin {
    /// Server.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Name.
    pub name: String,
    /// Meeting code; `None` creates a meeting.
    pub code: Option<String>,
}

impl AutoJoin {
    /// Parses `host:port:name:code`.
    pub fn parse(text: &str) -> Result<AutoJoin, String> {
        let parts: Vec<&str> = text.splitn(4, ':').collect();
        let [host, port, name, code] = parts[..] else {
            return Err(format!("expected host:port:name:code, got {text:?}"));
        };
        let port = port
            .parse()
            .map_err(|_| format!("the port in {text:?} is not a number"))?;
        let code = match code.trim() {
            "" | "create" => None,
            c => Some(c.to_string()),
        };
        Ok(AutoJoin {
            host: host.to_string(),
            port,
            name: name.to_string(),
            code,
        })
    }
}

impl Options {
    /// Reads the environment variables described on each field.
    pub fn from_env(host: Option<String>, port: Option<u16>) -> Result<Options, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Options {
            host,
            port,
            autojoin: var("LANMEET_AUTOJOIN")
                .map(|v| AutoJoin::parse(&v))
                .transpose()?,
            autochat: var("LANMEET_AUTOCHAT"),
            test_sources: var("LANMEET_TEST_SOURCES").is_some_and(|v| v == "1"),
            download_dir: var("LANMEET_DOWNLOAD_DIR").map(PathBuf::from),
            tab: var("LANMEET_TAB"),
        })
    }
}

/// Width of the sidebar.
const SIDEBAR_W: i32 = 350;
/// How often the stage pulls new frames (25 Hz).
const VIDEO_TICK: f64 = 0.04;
/// How long a notice stays.
const NOTICE_SECONDS: f64 = 6.0;
/// How long a reaction stays over a tile.
const REACTION_TIME: Duration = Duration::from_secs(4);

/// The main window's widgets.
struct MainWindow {
    window: Window,
    stage: StageView,
    sidebar: Sidebar,
    toolbar: Toolbar,
    status: StatusBar,
}

impl MainWindow {
    fn new(sender: Sender<Message>, talk_key: std::rc::Rc<std::cell::Cell<Option<Key>>>) -> Self {
        let (w, h) = (1280, 800);
        let mut window = Window::default().with_size(w, h).with_label("lanmeet");
        window.set_color(theme::STAGE);
        let stage_h = h - TOOLBAR_H - STATUS_H;
        let stage = StageView::new(0, 0, w - SIDEBAR_W, stage_h);
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
    mic_level: MicLevel,
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
    /// Who each of our private lines went to, by timestamp bits.
    private_to: HashMap<u64, String>,
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
            mic_level: MicLevel::default(),
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
            private_to: HashMap::new(),
        };
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
            if !self.join.window.shown() && !self.main.window.shown() && self.session.is_none() {
                break;
            }
        }
    }

    fn handle(&mut self, msg: Message) {
        match msg {
            Message::JoinSubmit => self.submit_join(),
            Message::JoinModeChanged => self.join.mode_changed(),
            Message::Connected(session) => self.connected(session),
            Message::JoinFailed(text) => {
                self.join.show_error(&text);
                if !self.join.window.shown() {
                    self.join.window.show();
                }
            }
            Message::Session(event) => self.session_event(event),
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
                    &self.main.window,
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
            Message::MuteAll => {
                self.with_session(|s| s.send(ClientMessage::MuteAll { lock: false }));
                self.notice("Everyone else is muted. They can unmute themselves.");
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

    // ----- joining and leaving -------------------------------------------

    fn submit_join(&mut self) {
        if self.session.is_some() || self.leaving {
            return;
        }
        let req = match self.join.request() {
            Ok(r) => r,
            Err(text) => {
                self.join.show_error(&text);
                return;
            }
        };
        self.join
            .set_busy(true, &format!("Connecting to {}:{}...", req.host, req.port));
        let mut config = Config::create(&req.host, req.port, &req.name);
        config.action = req.action.clone();
        config.password = req.password.clone();
        config.video.width = self.settings.video_size.0;
        config.video.height = self.settings.video_size.1;
        config.video.fps = self.settings.fps;
        config.video.quality = self.settings.quality;
        config.download_dir = self
            .options
            .download_dir
            .clone()
            .unwrap_or_else(default_download_dir);
        if let Some(dir) = log_dir() {
            let stamp = lanmeet_common::time::file_stamp(SystemTime::now());
            if let Ok(log) = Log::to_file(&dir.join(format!("{stamp}.log"))) {
                config.log = log;
            }
        }
        self.request = Some(req.clone());
        let sender = self.sender;
        let spawned = std::thread::Builder::new()
            .name("lanmeet-join".into())
            .spawn(move || match Session::connect(config) {
                Ok((session, events)) => {
                    sender.send(Message::Connected(Arc::new(session)));
                    // The event forwarder: every event but the per-frame
                    // ones (the stage pulls frames on its timer). Ends after
                    // Disconnected, the last event.
                    for event in events {
                        if !matches!(event, Event::VideoFrame { .. } | Event::ScreenFrame { .. }) {
                            sender.send(Message::Session(event));
                        }
                    }
                }
                Err(e) => sender.send(Message::JoinFailed(join_error_text(&e, &req))),
            });
        if let Err(e) = spawned {
            self.join
                .show_error(&format!("Cannot start the connection: {e}"));
        }
    }

    fn connected(&mut self, session: Arc<Session>) {
        self.state = session.state();
        let req = self.request.clone();
        self.session = Some(session);
        self.join.set_busy(false, "");
        self.join.window.hide();
        self.camera_on = false;
        self.mic_running = false;
        self.share_pending = false;
        self.reactions.clear();
        self.stale_frames.clear();
        self.unread = 0;
        self.main.sidebar.set_unread(0);
        {
            let mut model = self.main.stage.model.borrow_mut();
            model.images.clear();
            model.screen = None;
        }
        if let (Some(req), Some(path)) = (&req, LastJoin::path()) {
            let last = LastJoin {
                host: req.host.clone(),
                port: req.port,
                name: req.name.clone(),
            };
            let _ = last.save(&path);
        }
        let code = self.state.meeting_code.clone();
        self.main
            .window
            .set_label(&format!("lanmeet - meeting {code}"));
        self.main.window.show();
        self.talk.set_enabled(self.settings.talk_key.is_some());

        let (camera, microphone) = req.map_or((true, true), |r| (r.camera, r.microphone));
        self.start_media(camera, microphone);
        self.refresh_all();
        match self.options.tab.as_deref() {
            Some("people") => self.main.sidebar.show_people(),
            Some("files") => self.main.sidebar.show_files(),
            _ => self.main.sidebar.show_chat(),
        }
        let created = self
            .request
            .as_ref()
            .is_some_and(|r| r.action == JoinAction::Create);
        if created {
            self.notice(&format!(
                "Meeting {code} is ready. Give the code to the others (Copy, below)."
            ));
        }
        if let Some(text) = self.autochat.take() {
            // The same path as typing and pressing Send.
            self.main.sidebar.chat_input.set_value(&text);
            self.sender.send(Message::SendChat);
        }
    }

    fn start_media(&mut self, camera: bool, microphone: bool) {
        let Some(session) = self.session.clone() else {
            return;
        };
        let mut problems = Vec::new();
        if camera && self.settings.camera != capture::Choice::Off {
            match capture::open_camera(
                &self.settings.camera,
                self.settings.video_size,
                self.settings.fps,
                &self.self_view,
            ) {
                Ok(src) => match session.start_video(src) {
                    Ok(()) => self.camera_on = true,
                    Err(e) => problems.push(format!("camera: {e}")),
                },
                Err(e) => problems.push(format!("camera: {e}")),
            }
        }
        // The microphone runs even while muted (as a real one would), so
        // unmuting is instant; without one we show as muted.
        if self.settings.microphone != capture::Choice::Off {
            match capture::open_microphone(
                &self.settings.microphone,
                &self
                    .state
                    .me()
                    .map(|p| p.username.clone())
                    .unwrap_or_default(),
                &self.mic_level,
                &self.talk,
            ) {
                Ok(src) => match session.start_audio(src) {
                    Ok(()) => self.mic_running = true,
                    Err(e) => problems.push(format!("microphone: {e}")),
                },
                Err(e) => problems.push(format!("microphone: {e}")),
            }
        }
        if !microphone || !self.mic_running {
            let _ = session.set_muted(true);
        }
        if self.settings.speaker != capture::Choice::Off {
            match capture::open_speaker(&self.settings.speaker) {
                Ok(sink) => {
                    if let Err(e) = session.start_playback(sink) {
                        problems.push(format!("speaker: {e}"));
                    }
                }
                Err(e) => problems.push(format!("speaker: {e}")),
            }
        }
        if !problems.is_empty() {
            self.notice(&problems.join("; "));
        }
    }

    fn leave(&mut self) {
        if !self.join.window.shown() && !self.main.window.shown() {
            self.quit_after_leave = true;
        }
        let Some(session) = self.session.take() else {
            if self.quit_after_leave {
                self.app.quit();
            }
            return;
        };
        self.leaving = true;
        if let Some(mut p) = self.prompt.take() {
            p.close();
        }
        let sender = self.sender;
        // Leaving waits for the session's threads (up to about 2 s): not on
        // the UI thread. Dropping the last handle leaves the meeting.
        std::thread::spawn(move || {
            drop(session);
            sender.send(Message::LeaveFinished);
        });
        self.camera_on = false;
        self.self_view.clear();
        self.main.window.hide();
        self.join.set_busy(false, "You left the meeting.");
        if !self.quit_after_leave {
            self.join.window.show();
        }
    }

    // ----- session events -------------------------------------------------

    fn name_of(&self, client_id: &str) -> String {
        if client_id == self.state.my_id {
            return "You".into();
        }
        self.state
            .participant(client_id)
            .map_or_else(|| "Someone".into(), |p| p.username.clone())
    }

    fn refresh_state(&mut self) {
        if let Some(s) = &self.session {
            self.state = s.state();
        }
    }

    fn session_event(&mut self, event: Event) {
        // The session applied the event to its state before sending it.
        let before = self.state.clone();
        self.refresh_state();
        let me = self.state.my_id.clone();
        match event {
            Event::Joined { .. } | Event::Hand { .. } | Event::Muted { .. } => {
                self.refresh_people();
                self.refresh_bars();
            }
            Event::ParticipantJoined { username, .. } => {
                self.notice(&format!("{username} joined"));
                self.refresh_people();
                self.refresh_bars();
            }
            Event::ParticipantLeft {
                client_id,
                username,
                reason,
            } => {
                let how = match reason {
                    LeaveReason::Removed => "was removed",
                    LeaveReason::Left => "left",
                    _ => "dropped out",
                };
                self.notice(&format!("{username} {how}"));
                self.main.stage.model.borrow_mut().images.remove(&client_id);
                self.refresh_people();
                self.refresh_files();
                self.refresh_bars();
            }
            Event::HostChanged { client_id } => {
                if client_id == me {
                    self.notice("You are now the host: the People tab has host controls.");
                } else {
                    let name = self.name_of(&client_id);
                    self.notice(&format!("{name} is now the host"));
                }
                self.refresh_people();
            }
            Event::Chat(line) => {
                self.refresh_chat();
                if !self.main.sidebar.chat_showing() {
                    self.unread += 1;
                    self.main.sidebar.set_unread(self.unread);
                }
                if !self.sidebar_shown {
                    self.notice(&format!("{}: {}", line.username, line.message));
                }
            }
            Event::VideoState { client_id, on } => {
                if !on {
                    self.main.stage.model.borrow_mut().images.remove(&client_id);
                    if let Some(frame) = self
                        .session
                        .as_ref()
                        .and_then(|s| s.latest_video_frame(&client_id))
                    {
                        self.stale_frames.insert(client_id, frame_identity(&frame));
                    }
                }
                self.refresh_people();
            }
            Event::MicLock { client_id, locked } => {
                if client_id == me {
                    self.notice(if locked {
                        "The host locked your microphone"
                    } else {
                        "The host unlocked your microphone"
                    });
                }
                self.refresh_people();
                self.refresh_bars();
            }
            Event::MutedByHost { muted } => {
                self.notice(if muted {
                    "The host muted you"
                } else {
                    "The host unmuted you"
                });
                self.refresh_people();
                self.refresh_bars();
            }
            Event::Reaction {
                client_id, emoji, ..
            } => {
                self.reactions
                    .insert(client_id, (emoji, Instant::now() + REACTION_TIME));
            }
            Event::VideoRequested { by } => {
                let who = self.name_of(&by);
                if self.catalog.cameras.missing.is_some() {
                    self.notice(&format!(
                        "{who} asks you to start video, but there is no camera"
                    ));
                } else if !self.camera_on {
                    let prompt = Prompt::ask(
                        "Start your video?",
                        &format!("{who} (host) asks you to turn on your camera."),
                        ("Start video", Some(Message::StartVideoAsAsked)),
                        "Not now",
                        &self.main.window,
                        self.sender,
                    );
                    self.replace_prompt(prompt);
                }
            }
            Event::UnmuteRequested { by } => {
                let who = self.name_of(&by);
                if !self.mic_running {
                    self.notice(&format!(
                        "{who} asks you to unmute, but there is no microphone"
                    ));
                } else if self.session.as_ref().is_some_and(|s| s.is_muted()) {
                    let prompt = Prompt::ask(
                        "Unmute?",
                        &format!("{who} (host) asks you to unmute your microphone."),
                        ("Unmute", Some(Message::UnmuteAsAsked)),
                        "Stay muted",
                        &self.main.window,
                        self.sender,
                    );
                    self.replace_prompt(prompt);
                }
            }
            Event::MeetingLocked { locked } => {
                self.notice(if locked {
                    "The meeting is locked: nobody new can join"
                } else {
                    "The meeting is unlocked"
                });
                self.refresh_people();
                self.refresh_bars();
            }
            Event::ScreenShareStarted { presenter_id } => {
                if presenter_id == me {
                    self.share_pending = false;
                    self.notice("You are presenting your screen");
                } else {
                    let name = self.name_of(&presenter_id);
                    self.notice(&format!("{name} is presenting"));
                }
                self.main.stage.model.borrow_mut().screen = None;
                self.refresh_bars();
            }
            Event::ScreenShareDenied { current_presenter } => {
                self.share_pending = false;
                let name = self.name_of(&current_presenter);
                self.notice(&format!(
                    "{name} is presenting already: one screen at a time"
                ));
                if let Some(s) = &self.session {
                    let _ = s.stop_screen_share();
                }
                self.refresh_bars();
            }
            Event::ScreenShareStopped { presenter_id } => {
                if before.presenter.as_deref() == Some(presenter_id.as_str()) && presenter_id != me
                {
                    let name = self.name_of(&presenter_id);
                    self.notice(&format!("{name} stopped presenting"));
                }
                self.main.stage.model.borrow_mut().screen = None;
                self.refresh_bars();
            }
            Event::MediaPath { .. } => self.refresh_bars(),
            Event::FileOffered(offer) => {
                if offer.sender_id != me {
                    self.notice(&format!(
                        "{} offers {} ({})",
                        offer.username,
                        offer.filename,
                        layout::format_size(offer.filesize)
                    ));
                }
                self.refresh_files();
            }
            Event::FileUnavailable { .. } => self.refresh_files(),
            Event::TransferStarted {
                transfer_id,
                direction,
                peer_id,
                file_id,
                ..
            } => {
                if direction == TransferDirection::Download {
                    if let Some(dest) = self.save_as.remove(&(peer_id, file_id)) {
                        self.destinations.insert(transfer_id, dest);
                    }
                }
                self.refresh_files();
            }
            Event::TransferProgress {
                transfer_id, rate, ..
            } => {
                self.rates.insert(transfer_id.clone(), rate);
                let rate = Some(rate);
                if let Some(t) = self.state.transfer(&transfer_id).cloned() {
                    if !self.main.sidebar.update_progress(&t, rate) {
                        self.refresh_files();
                    }
                }
            }
            Event::TransferDone {
                transfer_id,
                direction,
                path,
                ..
            } => {
                self.rates.remove(&transfer_id);
                let dest = self.destinations.remove(&transfer_id);
                match (direction, path, dest) {
                    (TransferDirection::Download, Some(from), Some(to)) => {
                        let sender = self.sender;
                        std::thread::spawn(move || {
                            let result = move_file(&from, &to);
                            sender.send(Message::DownloadMoved {
                                transfer_id,
                                result,
                            });
                        });
                    }
                    (TransferDirection::Download, Some(path), None) => {
                        self.notice(&format!("Saved {}", path.display()));
                    }
                    _ => {}
                }
                self.refresh_files();
            }
            Event::TransferFailed { reason, .. } => {
                self.notice(&format!("File transfer stopped: {reason}"));
                self.refresh_files();
            }
            Event::ServerError { code, message } => {
                let text = match code {
                    ErrorCode::MicLocked => "The host has locked your microphone".to_string(),
                    ErrorCode::NotHost => "Only the host can do that".to_string(),
                    _ => format!("The server refused: {message}"),
                };
                self.notice(&text);
                self.refresh_bars();
            }
            Event::Warning { message } => self.notice(&message),
            Event::Disconnected { reason } => self.disconnected(reason),
            Event::VideoFrame { .. } | Event::ScreenFrame { .. } => {}
        }
    }

    fn disconnected(&mut self, reason: lanmeet_client::DisconnectReason) {
        use lanmeet_client::DisconnectReason;
        let session = self.session.take();
        if let Some(mut p) = self.prompt.take() {
            p.close();
        }
        self.camera_on = false;
        self.self_view.clear();
        if let Some(session) = session {
            // Ended from the other side: the threads are already stopping.
            let sender = self.sender;
            self.leaving = true;
            std::thread::spawn(move || {
                drop(session);
                sender.send(Message::LeaveFinished);
            });
        }
        let text = match &reason {
            DisconnectReason::Left => "You left the meeting.".to_string(),
            DisconnectReason::Removed(by) => match self.state.participant(by) {
                Some(host) if !host.is_me => {
                    format!("{} (host) removed you from the meeting.", host.username)
                }
                _ => "The host removed you from the meeting.".to_string(),
            },
            other => format!("The meeting ended for you: {other}."),
        };
        self.main.window.hide();
        if self.quit_after_leave {
            return;
        }
        if reason == DisconnectReason::Left {
            self.join.set_busy(false, &text);
        } else {
            self.join.show_error(&text);
        }
        self.join.window.show();
    }

    // ----- toolbar --------------------------------------------------------

    fn toggle_mic(&mut self) {
        let Some(session) = self.session.clone() else {
            return;
        };
        if !self.mic_running {
            self.notice("No microphone: pick one in Settings");
            return;
        }
        let muted = session.is_muted();
        if muted && self.state.me().is_some_and(|p| p.mic_locked) {
            self.notice("The host has locked your microphone");
            return;
        }
        if let Err(e) = session.set_muted(!muted) {
            self.notice(&e.to_string());
        }
        self.refresh_people();
        self.refresh_bars();
    }

    fn toggle_camera(&mut self) {
        let Some(session) = self.session.clone() else {
            return;
        };
        if self.camera_on {
            if let Err(e) = session.stop_video() {
                self.notice(&e.to_string());
            }
            self.camera_on = false;
            self.self_view.clear();
            self.main
                .stage
                .model
                .borrow_mut()
                .images
                .remove(&self.state.my_id);
        } else {
            match capture::open_camera(
                &self.settings.camera,
                self.settings.video_size,
                self.settings.fps,
                &self.self_view,
            )
            .and_then(|src| session.start_video(src).map_err(|e| e.to_string()))
            {
                Ok(()) => self.camera_on = true,
                Err(e) => self.notice(&format!("Cannot start the camera: {e}")),
            }
        }
        self.refresh_people();
        self.refresh_bars();
    }

    fn am_presenting(&self) -> bool {
        self.state.presenter.as_deref() == Some(self.state.my_id.as_str())
    }

    fn toggle_share(&mut self) {
        let Some(session) = self.session.clone() else {
            return;
        };
        if self.am_presenting() || self.share_pending {
            self.share_pending = false;
            if let Err(e) = session.stop_screen_share() {
                self.notice(&e.to_string());
            }
        } else if let Some(p) = self.state.presenter.clone() {
            let name = self.name_of(&p);
            self.notice(&format!("{name} is presenting: one screen at a time"));
        } else {
            self.share_preview.clear();
            match capture::open_monitor(&self.settings.monitor, &self.share_preview)
                .and_then(|src| session.start_screen_share(src).map_err(|e| e.to_string()))
            {
                Ok(()) => self.share_pending = true,
                Err(e) => self.notice(&format!("Cannot share the screen: {e}")),
            }
        }
        self.refresh_bars();
    }

    fn toggle_sidebar(&mut self) {
        self.sidebar_shown = !self.sidebar_shown;
        let (w, h) = (self.main.window.w(), self.main.window.h());
        let stage_h = h - TOOLBAR_H - STATUS_H;
        if self.sidebar_shown {
            self.main.stage.widget.resize(0, 0, w - SIDEBAR_W, stage_h);
            self.main
                .sidebar
                .tabs
                .resize(w - SIDEBAR_W, 0, SIDEBAR_W, stage_h);
            self.main.sidebar.tabs.show();
        } else {
            self.main.sidebar.tabs.hide();
            self.main.stage.widget.resize(0, 0, w, stage_h);
        }
        // The window remembers its children's sizes for the next resize.
        self.main.window.init_sizes();
        self.main.window.redraw();
        self.chat_seen();
        self.refresh_bars();
    }

    fn open_settings(&mut self) {
        let over = if self.main.window.shown() {
            &self.main.window
        } else {
            &self.join.window
        };
        let dialog = SettingsDialog::open(
            &self.settings,
            &self.catalog,
            self.session.is_some(),
            over,
            self.sender,
        );
        self.settings_dialog = Some(dialog);
    }

    fn apply_settings(&mut self) {
        let Some(mut dialog) = self.settings_dialog.take() else {
            return;
        };
        let new = dialog.read();
        dialog.close();
        let old = std::mem::replace(&mut self.settings, new.clone());
        if let Some(path) = Settings::path() {
            let saved = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, new.to_text()));
            if let Err(e) = saved {
                self.notice(&format!(
                    "Cannot save the settings in {}: {e}",
                    path.display()
                ));
            }
        }
        self.talk_key.set(new.talk_key);
        self.talk.set_enabled(new.talk_key.is_some());
        let Some(session) = self.session.clone() else {
            return;
        };
        if new.camera != old.camera && self.camera_on {
            let _ = session.stop_video();
            self.camera_on = false;
            self.self_view.clear();
            if new.camera != capture::Choice::Off {
                self.toggle_camera();
            }
        }
        if new.microphone != old.microphone {
            session.stop_audio();
            self.mic_running = false;
            if new.microphone == capture::Choice::Off {
                let _ = session.set_muted(true);
            } else {
                let name = self
                    .state
                    .me()
                    .map(|p| p.username.clone())
                    .unwrap_or_default();
                match capture::open_microphone(&new.microphone, &name, &self.mic_level, &self.talk)
                    .and_then(|src| session.start_audio(src).map_err(|e| e.to_string()))
                {
                    Ok(()) => self.mic_running = true,
                    Err(e) => self.notice(&format!("Cannot start the microphone: {e}")),
                }
            }
        }
        if new.speaker != old.speaker {
            session.stop_playback();
            if new.speaker != capture::Choice::Off {
                match capture::open_speaker(&new.speaker)
                    .and_then(|sink| session.start_playback(sink).map_err(|e| e.to_string()))
                {
                    Ok(()) => {}
                    Err(e) => self.notice(&format!("Cannot start the speaker: {e}")),
                }
            }
        }
        self.refresh_bars();
    }

    // ----- sidebar --------------------------------------------------------

    /// Clears the unread count once the chat tab is in view.
    fn chat_seen(&mut self) {
        if self.unread > 0 && self.main.sidebar.chat_showing() {
            self.unread = 0;
            self.main.sidebar.set_unread(0);
        }
    }

    fn send_chat(&mut self) {
        let text = self.main.sidebar.take_chat_input();
        let text = text.trim();
        if text.is_empty() || self.session.is_none() {
            return;
        }
        let to = self.main.sidebar.chat_target();
        if self.with_session(|s| s.chat(text, to.as_deref())).is_some() {
            // Our own lines come back through the state, not as events.
            self.refresh_state();
            if let Some(to) = &to {
                let me = &self.state.my_id;
                let sent = self
                    .state
                    .chat
                    .iter()
                    .rev()
                    .find(|l| l.client_id == *me && l.private && l.message == text);
                if let Some(line) = sent {
                    let name = self.name_of(to);
                    self.private_to.insert(line.timestamp.to_bits(), name);
                }
            }
            self.refresh_chat();
        }
    }

    fn person_menu(&mut self) {
        let Some(id) = self.main.sidebar.selected_person() else {
            return;
        };
        let Some(person) = self.state.participant(&id) else {
            return;
        };
        let actions = layout::person_menu(person, self.state.am_host());
        if actions.is_empty() {
            return;
        }
        let labels: Vec<&str> = actions.iter().map(|a| a.label()).collect();
        let name = person.username.clone();
        let chosen = self
            .main
            .sidebar
            .pop_person_menu(&name, &labels)
            .and_then(|label| actions.iter().find(|a| a.label() == label).copied());
        if let Some(action) = chosen {
            self.person_action(action, &id);
        }
    }

    fn person_action(&mut self, action: PersonAction, id: &str) {
        let target_client_id = id.to_string();
        let msg = match action {
            PersonAction::PrivateChat => {
                self.main.sidebar.show_chat();
                self.chat_seen();
                self.main.sidebar.set_chat_target(Some(id));
                let _ = self.main.sidebar.chat_input.take_focus();
                return;
            }
            PersonAction::Mute => ClientMessage::MuteParticipant { target_client_id },
            PersonAction::Unmute => ClientMessage::UnmuteParticipant { target_client_id },
            PersonAction::LockMic => ClientMessage::LockMic { target_client_id },
            PersonAction::UnlockMic => ClientMessage::UnlockMic { target_client_id },
            PersonAction::AskToUnmute => ClientMessage::RequestUnmute { target_client_id },
            PersonAction::AskForVideo => ClientMessage::RequestVideo { target_client_id },
            PersonAction::LowerHand => ClientMessage::LowerHand { target_client_id },
            PersonAction::MakeHost => ClientMessage::MakeHost { target_client_id },
            PersonAction::Remove => ClientMessage::RemoveParticipant { target_client_id },
        };
        let name = self.name_of(id);
        if self.with_session(|s| s.send(msg)).is_some() {
            let done = match action {
                PersonAction::AskToUnmute => Some(format!("Asked {name} to unmute")),
                PersonAction::AskForVideo => Some(format!("Asked {name} to start video")),
                _ => None,
            };
            if let Some(text) = done {
                self.notice(&text);
            }
        }
    }

    fn download(&mut self, sender_id: String, file_id: String) {
        let Some(offer) = self.state.offer(&sender_id, &file_id).cloned() else {
            return;
        };
        let folder = self
            .options
            .download_dir
            .clone()
            .unwrap_or_else(default_download_dir);
        let dest = if self.options.download_dir.is_some() {
            folder.join(&offer.filename)
        } else {
            let _ = std::fs::create_dir_all(&folder);
            match dialogs::choose_save_location(&folder, &offer.filename) {
                Some(p) => p,
                None => return,
            }
        };
        self.save_as
            .insert((sender_id.clone(), file_id.clone()), dest);
        if self
            .with_session(|s| s.request_file(&sender_id, &file_id))
            .is_some()
        {
            self.main.sidebar.show_files();
        }
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
        let speaking_me = self.mic_running
            && !session.is_muted()
            && self.talk.open()
            && self.mic_level.peak() > capture::SPEAKING_PEAK;
        let participants = &self.state.participants;
        let tiles: Vec<TileView> = layout::tile_order(participants)
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
                speaking: p.is_me && speaking_me,
                reaction: self.reactions.get(&p.client_id).map(|(e, _)| e.clone()),
            })
            .collect();
        let presenter = self
            .state
            .presenter
            .as_ref()
            .map(|id| (self.name_of(id), *id == self.state.my_id));

        let mut model = self.main.stage.model.borrow_mut();
        let mut changed = model.tiles != tiles || model.presenter != presenter;
        for tile in &tiles {
            if !tile.video {
                continue;
            }
            let cached = model.images.get(&tile.client_id).map(|i| i.source);
            if tile.is_me {
                if let Some(img) = self.self_view.latest() {
                    let source = frame_identity(&img);
                    if cached != Some(source) {
                        if let Some(si) = StageImage::from_rgb(source, &img) {
                            model.images.insert(tile.client_id.clone(), si);
                            changed = true;
                        }
                    }
                }
            } else if let Some(frame) = session.latest_video_frame(&tile.client_id) {
                let source = frame_identity(&frame);
                if cached != Some(source) && self.stale_frames.get(&tile.client_id) != Some(&source)
                {
                    self.stale_frames.remove(&tile.client_id);
                    if let Some(si) = StageImage::from_rgb(source, &frame.image) {
                        model.images.insert(tile.client_id.clone(), si);
                        changed = true;
                    }
                }
            }
        }
        model
            .images
            .retain(|id, _| tiles.iter().any(|t| t.client_id == *id));
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
        model.tiles = tiles;
        model.presenter = presenter;
        drop(model);
        if changed {
            self.main.stage.redraw();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autojoin_reads_host_port_name_code() {
        let a = AutoJoin::parse("127.0.0.1:5001:Ann Lee:k7q2xz").unwrap();
        assert_eq!(a.host, "127.0.0.1");
        assert_eq!(a.port, 5001);
        assert_eq!(a.name, "Ann Lee");
        assert_eq!(a.code.as_deref(), Some("k7q2xz"));
        assert_eq!(AutoJoin::parse("h:1:n:create").unwrap().code, None);
        assert_eq!(AutoJoin::parse("h:1:n:").unwrap().code, None);
        assert!(AutoJoin::parse("h:1:n").is_err());
        assert!(AutoJoin::parse("h:x:n:c").is_err());
    }

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
