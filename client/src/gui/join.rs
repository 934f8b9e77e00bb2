//! The join window: which server, who we are, create (with an optional
//! title, listed on the network or not) or join by code, an optional
//! password, what went wrong when joining fails, and the servers and
//! meetings found on the network (`discovery.rs`).
//!
//! ```text
//!  JoinForm (prefilled from last.txt, then --host/--port)
//!    [Join] --> JoinForm::request() checks the fields --> JoinRequest
//!      --> join thread: Session::connect (blocks up to 10 s, off the UI thread)
//!            ok  --> Message::Connected, then forwards events
//!            err --> Message::JoinFailed(join_error_text(..)) --> shown in red
//! ```
//!
//! The server and name are remembered in `$XDG_CONFIG_HOME/lanmeet/last.txt`
//! (`~/.config/lanmeet/last.txt`), three `key=value` lines, written after
//! each successful join.

use std::path::{Path, PathBuf};

use fltk::button::{Button, CheckButton, RadioRoundButton, ReturnButton};
use fltk::enums::{Align, CallbackTrigger, Color, Font, FrameType};
use fltk::frame::Frame;
use fltk::input::{Input, IntInput, SecretInput};
use fltk::prelude::*;
use fltk::window::Window;
use lanmeet_client::{JoinAction, SessionError};
use lanmeet_common::limits::DEFAULT_TCP_PORT;
use lanmeet_common::ErrorCode;

use super::discovery::DiscoveryPanel;
use super::message::Message;
use super::theme;

/// What the form asks the session for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// Server name or address.
    pub host: String,
    /// Server TCP port.
    pub port: u16,
    /// Display name.
    pub name: String,
    /// Create or join.
    pub action: JoinAction,
    /// Meeting password, if any.
    pub password: Option<String>,
    /// Start with the camera on.
    pub camera: bool,
    /// Start with the microphone on.
    pub microphone: bool,
    /// On create: the meeting's title (section 18).
    pub title: Option<String>,
    /// On create: list it for others' join windows.
    pub listed: bool,
}

/// Checks the form's fields and builds a request, or says what to fix.
pub fn check_fields(
    host: &str,
    port: &str,
    name: &str,
    create: bool,
    code: &str,
    password: &str,
) -> Result<JoinRequest, String> {
    let host = host.trim();
    if host.is_empty() {
        return Err("Enter the server's name or address.".into());
    }
    let port: u16 = match port.trim().parse() {
        Ok(p) if p > 0 => p,
        _ => return Err("The port is a number from 1 to 65535.".into()),
    };
    let name = name.trim();
    if name.is_empty() {
        return Err("Enter your name: the others see it under your picture.".into());
    }
    if name.chars().count() > 32 {
        return Err("Your name can have at most 32 characters.".into());
    }
    let action = if create {
        JoinAction::Create
    } else {
        let code = code.trim();
        if code.is_empty() {
            return Err("Enter the meeting code the host gave you.".into());
        }
        JoinAction::Join(code.to_string())
    };
    Ok(JoinRequest {
        host: host.to_string(),
        port,
        name: name.to_string(),
        action,
        password: Some(password.to_string()).filter(|p| !p.is_empty()),
        camera: true,
        microphone: true,
        title: None,
        listed: false,
    })
}

/// Why a join failed, in words that say what to do next.
pub fn join_error_text(err: &SessionError, req: &JoinRequest) -> String {
    let code_text = match &req.action {
        JoinAction::Join(code) => code.trim().to_uppercase(),
        JoinAction::Create => String::new(),
    };
    match err {
        SessionError::Connect(e) => {
            let why = match e.kind() {
                std::io::ErrorKind::ConnectionRefused => "nothing answers on that port".into(),
                std::io::ErrorKind::TimedOut => "no answer".into(),
                _ => {
                    // Drop the " (os error N)" that io errors end with.
                    let text = e.to_string();
                    text.split(" (os error")
                        .next()
                        .unwrap_or_default()
                        .to_string()
                }
            };
            format!(
                "Cannot reach the server at {}:{}: {why}. Check the address and port, \
                 and that the server is running.",
                req.host, req.port
            )
        }
        SessionError::Timeout => format!(
            "The server at {}:{} did not answer in time. Check the address and port.",
            req.host, req.port
        ),
        SessionError::Refused { code, message } => match code {
            ErrorCode::InvalidCode => {
                format!("No meeting has the code {code_text}. Check the code with the host.")
            }
            ErrorCode::NameTaken => format!(
                "Someone in this meeting is already called \"{}\". Choose another name.",
                req.name
            ),
            ErrorCode::MeetingLocked => {
                "The host has locked this meeting: nobody new can join.".into()
            }
            ErrorCode::WrongPassword => {
                if req.password.is_some() {
                    "Wrong password for this meeting.".into()
                } else {
                    "This meeting has a password: enter it and join again.".into()
                }
            }
            ErrorCode::ServerFull => "The server or the meeting is full. Try again later.".into(),
            ErrorCode::VersionMismatch => {
                "The server speaks another version of the protocol: update the client.".into()
            }
            _ => format!("The server refused: {message}"),
        },
        SessionError::InvalidInput(why) => format!("{why}."),
        other => format!("Could not join: {other}."),
    }
}

/// The last server and name used, as kept in `last.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastJoin {
    /// Server name or address.
    pub host: String,
    /// Server TCP port.
    pub port: u16,
    /// Display name.
    pub name: String,
}

impl Default for LastJoin {
    fn default() -> LastJoin {
        LastJoin {
            host: "127.0.0.1".into(),
            port: DEFAULT_TCP_PORT,
            name: String::new(),
        }
    }
}

impl LastJoin {
    /// Reads `key=value` lines; unknown keys and bad lines are ignored.
    pub fn parse(text: &str) -> LastJoin {
        let mut last = LastJoin::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "host" if !value.is_empty() => last.host = value.to_string(),
                "port" => last.port = value.parse().unwrap_or(last.port),
                "name" => last.name = value.to_string(),
                _ => {}
            }
        }
        last
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        format!(
            "host={}\nport={}\nname={}\n",
            self.host, self.port, self.name
        )
    }

    /// `$XDG_CONFIG_HOME/lanmeet/last.txt`, else `~/.config/lanmeet/last.txt`.
    pub fn path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("lanmeet").join("last.txt"))
    }

    /// Loads the file, or the defaults when there is none.
    pub fn load(path: Option<&Path>) -> LastJoin {
        path.and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| LastJoin::parse(&t))
            .unwrap_or_default()
    }

    /// Writes the file (creating its folder).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, self.to_text())
    }
}

/// The join window's widgets.
pub struct JoinForm {
    /// The window itself.
    pub window: Window,
    host: Input,
    port: IntInput,
    name: Input,
    create: RadioRoundButton,
    join: RadioRoundButton,
    code: Input,
    password: SecretInput,
    camera: CheckButton,
    microphone: CheckButton,
    status: Frame,
    submit: ReturnButton,
    title: Input,
    listed: CheckButton,
    /// Servers and listed meetings found on the network.
    pub discovery: DiscoveryPanel,
}

impl JoinForm {
    /// Builds the window, filled in from `last` (not shown yet).
    pub fn new(last: &LastJoin, sender: fltk::app::Sender<Message>) -> JoinForm {
        let mut window = Window::default()
            .with_size(820, 540)
            .with_label("lanmeet - join a meeting");
        window.set_color(theme::PANEL);

        let mut title = Frame::new(30, 18, 440, 34, "lanmeet");
        title.set_label_font(Font::HelveticaBold);
        title.set_label_size(24);
        title.set_label_color(theme::ACCENT);
        title.set_align(Align::Left | Align::Inside);
        let mut subtitle = Frame::new(30, 50, 440, 22, "Meetings on your local network");
        subtitle.set_label_color(theme::MUTED_TEXT);
        subtitle.set_align(Align::Left | Align::Inside);

        let label_w = 120;
        let mut host = Input::new(30 + label_w, 92, 196, 30, "Server");
        host.set_value(&last.host);
        let mut port = IntInput::new(30 + label_w + 250, 92, 70, 30, "Port");
        port.set_value(&last.port.to_string());
        let mut name = Input::new(30 + label_w, 132, 320, 30, "Your name");
        name.set_value(&last.name);
        name.set_maximum_size(32);

        let mut create = RadioRoundButton::new(30 + label_w, 176, 320, 26, "Start a new meeting");
        let mut join = RadioRoundButton::new(30 + label_w, 204, 320, 26, "Join with a code:");
        join.set_value(true);
        create.emit(sender, Message::JoinModeChanged);
        join.emit(sender, Message::JoinModeChanged);
        let mut code = Input::new(30 + label_w, 234, 160, 30, "Meeting code");
        code.set_maximum_size(16);
        let mut password = SecretInput::new(30 + label_w, 274, 200, 30, "Password");
        password.set_tooltip("Optional. When you start a meeting, it sets the password.");
        let mut pw_hint = Frame::new(30 + label_w + 206, 274, 120, 30, "(optional)");
        pw_hint.set_label_color(theme::MUTED_TEXT);
        pw_hint.set_align(Align::Left | Align::Inside);

        let mut title_input = Input::new(30 + label_w, 314, 320, 30, "Meeting title");
        title_input.set_maximum_size(80);
        title_input.set_tooltip("Optional. Shown in the list of meetings on the network.");
        let listed = CheckButton::new(
            30 + label_w,
            348,
            320,
            26,
            "List this meeting on the network",
        );

        let mut camera = CheckButton::new(30 + label_w, 384, 150, 26, "Camera on");
        camera.set_value(true);
        let mut microphone = CheckButton::new(30 + label_w + 150, 384, 170, 26, "Microphone on");
        microphone.set_value(true);

        let mut status = Frame::new(30, 416, 440, 58, "");
        status.set_align(Align::Left | Align::Inside | Align::Wrap | Align::Top);
        status.set_label_color(theme::ERROR);
        status.set_frame(FrameType::FlatBox);
        status.set_color(theme::PANEL);

        let mut settings = Button::new(30, 486, 120, 34, "Settings...");
        settings.emit(sender, Message::OpenSettings);
        let mut submit = ReturnButton::new(350, 486, 120, 34, "Join");
        submit.set_color(theme::ACCENT);
        submit.set_label_color(Color::White);
        submit.emit(sender, Message::JoinSubmit);
        for input in [&mut host, &mut name, &mut code] {
            input.set_trigger(CallbackTrigger::EnterKeyAlways);
            input.emit(sender, Message::JoinSubmit);
        }
        port.set_trigger(CallbackTrigger::EnterKeyAlways);
        port.emit(sender, Message::JoinSubmit);
        password.set_trigger(CallbackTrigger::EnterKeyAlways);
        password.emit(sender, Message::JoinSubmit);
        let discovery = DiscoveryPanel::new(500, 92, 300, 382, sender);
        window.end();

        let mut form = JoinForm {
            window,
            host,
            port,
            name,
            create,
            join,
            code,
            password,
            camera,
            microphone,
            status,
            submit,
            title: title_input,
            listed,
            discovery,
        };
        form.mode_changed();
        form
    }

    /// Overrides the server fields (from `--host`/`--port`).
    pub fn set_server(&mut self, host: Option<&str>, port: Option<u16>) {
        if let Some(h) = host {
            self.host.set_value(h);
        }
        if let Some(p) = port {
            self.port.set_value(&p.to_string());
        }
    }

    /// Fills every field (for automated runs).
    pub fn fill(&mut self, host: &str, port: u16, name: &str, code: Option<&str>) {
        self.set_server(Some(host), Some(port));
        self.name.set_value(name);
        match code {
            Some(c) => {
                self.join.set_value(true);
                self.create.set_value(false);
                self.code.set_value(c);
            }
            None => {
                self.create.set_value(true);
                self.join.set_value(false);
            }
        }
        self.mode_changed();
    }

    /// Sets the form to join meeting `code` again (after a lost connection),
    /// keeping the server, name and password as they were.
    pub fn offer_rejoin(&mut self, code: &str) {
        self.join.set_value(true);
        self.create.set_value(false);
        self.code.set_value(code);
        self.mode_changed();
    }

    /// Enables the code field only when joining by code, the title and
    /// listing only when starting a meeting.
    pub fn mode_changed(&mut self) {
        if self.join.value() {
            self.code.activate();
            self.title.deactivate();
            self.listed.deactivate();
        } else {
            self.code.deactivate();
            self.title.activate();
            self.listed.activate();
        }
    }

    /// Fills server, port and (for a meeting) the code from a line of the
    /// discovery list.
    pub fn pick(&mut self, pick: &super::discovery::Pick) {
        self.set_server(Some(&pick.host), Some(pick.port));
        if let Some(code) = &pick.code {
            self.offer_rejoin(code);
        }
        self.window.redraw();
    }

    /// Sets the title and listing of a new meeting (for automated runs).
    pub fn set_listing(&mut self, title: &str, listed: bool) {
        self.title.set_value(title);
        self.listed.set_value(listed);
    }

    /// The request the fields describe, or what to fix.
    pub fn request(&self) -> Result<JoinRequest, String> {
        let mut req = check_fields(
            &self.host.value(),
            &self.port.value(),
            &self.name.value(),
            self.create.value(),
            &self.code.value(),
            &self.password.value(),
        )?;
        req.camera = self.camera.value();
        req.microphone = self.microphone.value();
        let title = self.title.value().trim().to_string();
        req.title = (!title.is_empty()).then_some(title);
        req.listed = self.listed.value();
        Ok(req)
    }

    /// Shows "connecting" and locks the button, or unlocks it.
    pub fn set_busy(&mut self, busy: bool, text: &str) {
        if busy {
            self.submit.deactivate();
            self.status.set_label_color(theme::MUTED_TEXT);
        } else {
            self.submit.activate();
        }
        self.status.set_label(text);
        self.window.redraw();
    }

    /// Shows an error in red and unlocks the button.
    pub fn show_error(&mut self, text: &str) {
        self.submit.activate();
        self.status.set_label_color(theme::ERROR);
        self.status.set_label(text);
        self.window.redraw();
    }

    /// Whether the camera and microphone checkboxes may be used, with the
    /// reason shown as a tooltip when not.
    pub fn set_devices(&mut self, camera: Result<(), String>, microphone: Result<(), String>) {
        for (check, state) in [
            (&mut self.camera, camera),
            (&mut self.microphone, microphone),
        ] {
            match state {
                Ok(()) => {
                    check.activate();
                    check.set_tooltip("");
                }
                Err(why) => {
                    check.set_value(false);
                    check.deactivate();
                    check.set_tooltip(&why);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked() {
        let r = check_fields(" srv ", "5001", " Ann ", false, " k7q2xz ", "").unwrap();
        assert_eq!(r.host, "srv");
        assert_eq!(r.name, "Ann");
        assert_eq!(r.action, JoinAction::Join("k7q2xz".into()));
        assert_eq!(r.password, None);
        let r = check_fields("srv", "5001", "Ann", true, "", "pw").unwrap();
        assert_eq!(r.action, JoinAction::Create);
        assert_eq!(r.password.as_deref(), Some("pw"));
        assert!(check_fields("", "5001", "Ann", true, "", "").is_err());
        assert!(check_fields("srv", "0", "Ann", true, "", "").is_err());
        assert!(check_fields("srv", "70000", "Ann", true, "", "").is_err());
        assert!(check_fields("srv", "5001", " ", true, "", "").is_err());
        assert!(check_fields("srv", "5001", "Ann", false, " ", "").is_err());
        assert!(check_fields("srv", "5001", &"x".repeat(33), true, "", "").is_err());
    }

    #[test]
    fn errors_say_what_to_do() {
        let req = check_fields("srv", "5001", "Ann", false, "k7q2xz", "").unwrap();
        let refused = |code| SessionError::Refused {
            code,
            message: "no".into(),
        };
        let unreachable = SessionError::Connect(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert!(
            join_error_text(&unreachable, &req).starts_with("Cannot reach the server at srv:5001")
        );
        assert!(join_error_text(&refused(ErrorCode::InvalidCode), &req).contains("K7Q2XZ"));
        assert!(join_error_text(&refused(ErrorCode::NameTaken), &req).contains("\"Ann\""));
        assert!(join_error_text(&refused(ErrorCode::MeetingLocked), &req).contains("locked"));
        assert!(
            join_error_text(&refused(ErrorCode::WrongPassword), &req).contains("has a password")
        );
        let with_pw = JoinRequest {
            password: Some("x".into()),
            ..req.clone()
        };
        assert_eq!(
            join_error_text(&refused(ErrorCode::WrongPassword), &with_pw),
            "Wrong password for this meeting."
        );
    }

    #[test]
    fn last_join_round_trips_and_tolerates_junk() {
        let last = LastJoin {
            host: "10.0.0.5".into(),
            port: 6001,
            name: "Ann Lee".into(),
        };
        assert_eq!(LastJoin::parse(&last.to_text()), last);
        let junk = LastJoin::parse("nonsense\nport=abc\nhost=\nname=Bo\n");
        assert_eq!(junk.host, "127.0.0.1");
        assert_eq!(junk.port, DEFAULT_TCP_PORT);
        assert_eq!(junk.name, "Bo");
    }

    #[test]
    fn last_join_is_saved_in_the_config_folder() {
        let dir = std::env::temp_dir().join(format!("lanmeet-last-{}", std::process::id()));
        let path = dir.join("lanmeet").join("last.txt");
        let last = LastJoin {
            host: "h".into(),
            port: 7,
            name: "n".into(),
        };
        last.save(&path).unwrap();
        assert_eq!(LastJoin::load(Some(&path)), last);
        assert_eq!(LastJoin::load(Some(&dir.join("none"))), LastJoin::default());
        let _ = std::fs::remove_dir_all(dir);
    }
}
