//! The settings: which camera, microphone, speaker and screen, the video
//! size, rate and quality, the push-to-talk key, and echo cancellation
//! and noise suppression; and the dialog that edits them.
//!
//! ```text
//!  [Settings] --> SettingsDialog::open(&settings, &catalog) (modal, the loop runs on)
//!    [Apply] --> Message::ApplySettings --> dialog.read() --> App restarts
//!                what changed (camera, microphone, speaker) in the meeting
//! ```
//!
//! The video size, rate and quality are part of the session's
//! configuration, so they apply from the next join; devices, the
//! push-to-talk key and the voice processing apply at once.

use fltk::button::{Button, CheckButton};
use fltk::enums::{Align, Color, Font, Key};
use fltk::frame::Frame;
use fltk::menu::Choice as ChoiceWidget;
use fltk::prelude::*;
use fltk::window::Window;

use super::capture::{Choice, DeviceCatalog, DeviceOptions};
use super::dialogs::centre_over;
use super::layout::Rect;
use super::message::Message;
use super::theme;
use lanmeet_client::media::VoiceSettings;

/// Video sizes offered.
pub const VIDEO_SIZES: [(u32, u32); 4] = [(320, 240), (640, 480), (960, 720), (1280, 720)];
/// Frame rates offered.
pub const FRAME_RATES: [u32; 4] = [10, 15, 20, 30];
/// Qualities offered: (label, JPEG quality).
pub const QUALITIES: [(&str, u8); 3] = [("Low (less data)", 40), ("Normal", 60), ("High", 80)];
/// Push-to-talk keys offered: (label, key); `None` is off.
pub const TALK_KEYS: [(&str, Option<Key>); 4] = [
    ("Off (microphone always live)", None),
    ("F8", Some(Key::F8)),
    ("F9", Some(Key::F9)),
    ("Right Ctrl", Some(Key::ControlR)),
];

/// What the user chose.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Camera.
    pub camera: Choice,
    /// Microphone.
    pub microphone: Choice,
    /// Speaker.
    pub speaker: Choice,
    /// Screen to share.
    pub monitor: Choice,
    /// Video size sent.
    pub video_size: (u32, u32),
    /// Frames per second sent.
    pub fps: u32,
    /// JPEG quality sent.
    pub quality: u8,
    /// Push-to-talk key (`None`: off).
    pub talk_key: Option<Key>,
    /// Echo cancellation and noise suppression of the microphone.
    pub voice: VoiceSettings,
}

impl Settings {
    /// The defaults for what was found.
    pub fn defaults(catalog: &DeviceCatalog) -> Settings {
        let pick = |o: &DeviceOptions| o.default.clone().unwrap_or(Choice::Off);
        Settings {
            camera: pick(&catalog.cameras),
            microphone: pick(&catalog.microphones),
            speaker: pick(&catalog.speakers),
            monitor: pick(&catalog.monitors),
            video_size: (640, 480),
            fps: 20,
            quality: 60,
            talk_key: None,
            voice: VoiceSettings::default(),
        }
    }

    /// The settings file's text: one `key=value` line each. Devices are
    /// `off`, `test` or `device:ID`.
    pub fn to_text(&self) -> String {
        let device = |c: &Choice| match c {
            Choice::Off => "off".to_string(),
            Choice::Test => "test".to_string(),
            Choice::Device(id) => format!("device:{id}"),
        };
        let talk = TALK_KEYS
            .iter()
            .position(|(_, k)| *k == self.talk_key)
            .unwrap_or(0);
        format!(
            "camera={}\nmicrophone={}\nspeaker={}\nmonitor={}\nvideo_size={}x{}\nfps={}\nquality={}\ntalk_key={}\necho_cancel={}\nnoise_suppression={}\n",
            device(&self.camera),
            device(&self.microphone),
            device(&self.speaker),
            device(&self.monitor),
            self.video_size.0,
            self.video_size.1,
            self.fps,
            self.quality,
            talk,
            on_off(self.voice.echo_cancel),
            on_off(self.voice.noise_suppression),
        )
    }

    /// Reads a settings file over the defaults. A device that is no longer
    /// there, a value out of the offered ones, or a bad line keeps the
    /// default.
    pub fn parse(text: &str, catalog: &DeviceCatalog) -> Settings {
        let mut s = Settings::defaults(catalog);
        let device = |value: &str, options: &DeviceOptions, current: &Choice| -> Choice {
            let wanted = match value {
                "off" => return Choice::Off,
                "test" => Choice::Test,
                other => match other.strip_prefix("device:") {
                    Some(id) => Choice::Device(id.to_string()),
                    None => return current.clone(),
                },
            };
            if options.entries.iter().any(|(c, _)| *c == wanted) {
                wanted
            } else {
                current.clone()
            }
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "camera" => s.camera = device(value, &catalog.cameras, &s.camera),
                "microphone" => s.microphone = device(value, &catalog.microphones, &s.microphone),
                "speaker" => s.speaker = device(value, &catalog.speakers, &s.speaker),
                "monitor" => s.monitor = device(value, &catalog.monitors, &s.monitor),
                "video_size" => {
                    let size = value
                        .split_once('x')
                        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)));
                    if let Some(size) = size.filter(|sz| VIDEO_SIZES.contains(sz)) {
                        s.video_size = size;
                    }
                }
                "fps" => {
                    if let Some(f) = value.parse().ok().filter(|f| FRAME_RATES.contains(f)) {
                        s.fps = f;
                    }
                }
                "quality" => {
                    let q: Option<u8> = value.parse().ok();
                    if let Some(q) = q.filter(|q| QUALITIES.iter().any(|(_, v)| v == q)) {
                        s.quality = q;
                    }
                }
                "talk_key" => {
                    if let Some((_, key)) =
                        value.parse::<usize>().ok().and_then(|i| TALK_KEYS.get(i))
                    {
                        s.talk_key = *key;
                    }
                }
                "echo_cancel" => {
                    if let Some(on) = parse_on_off(value) {
                        s.voice.echo_cancel = on;
                    }
                }
                "noise_suppression" => {
                    if let Some(on) = parse_on_off(value) {
                        s.voice.noise_suppression = on;
                    }
                }
                _ => {}
            }
        }
        s
    }

    /// `$XDG_CONFIG_HOME/lanmeet/settings.txt` (next to `last.txt`).
    pub fn path() -> Option<std::path::PathBuf> {
        super::join::LastJoin::path().map(|p| p.with_file_name("settings.txt"))
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

fn parse_on_off(value: &str) -> Option<bool> {
    match value {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

/// The index of `value` in `items`, or `fallback`.
pub fn index_of<T: PartialEq>(
    items: impl IntoIterator<Item = T>,
    value: &T,
    fallback: usize,
) -> usize {
    items
        .into_iter()
        .position(|v| v == *value)
        .unwrap_or(fallback)
}

/// The settings dialog.
pub struct SettingsDialog {
    window: Window,
    camera: ChoiceWidget,
    microphone: ChoiceWidget,
    speaker: ChoiceWidget,
    monitor: ChoiceWidget,
    size: ChoiceWidget,
    fps: ChoiceWidget,
    quality: ChoiceWidget,
    talk: ChoiceWidget,
    echo_cancel: CheckButton,
    noise_suppression: CheckButton,
    catalog: DeviceCatalog,
}

/// A menu label with the characters `add_choice` reads as structure
/// ('/' submenu, '|' separator, '&' shortcut, '_' divider) made harmless.
fn menu_label(text: &str) -> String {
    text.replace(['/', '|', '&', '_'], " ")
}

fn device_choice(y: i32, label: &str, options: &DeviceOptions, current: &Choice) -> ChoiceWidget {
    let mut c = ChoiceWidget::new(170, y, 330, 30, None);
    let mut l = Frame::new(20, y, 145, 30, None);
    l.set_label(label);
    l.set_align(Align::Right | Align::Inside);
    if options.entries.is_empty() {
        c.add_choice(&menu_label(
            options.missing.as_deref().unwrap_or("Not available"),
        ));
        c.set_value(0);
        c.deactivate();
        return c;
    }
    c.add_choice("Off");
    for (_, name) in &options.entries {
        c.add_choice(&menu_label(name));
    }
    let index = options
        .entries
        .iter()
        .position(|(ch, _)| ch == current)
        .map_or(0, |i| i + 1);
    c.set_value(index as i32);
    c
}

fn read_device(c: &ChoiceWidget, options: &DeviceOptions) -> Choice {
    let i = c.value();
    if options.entries.is_empty() || i < 1 {
        return Choice::Off;
    }
    options
        .entries
        .get(i as usize - 1)
        .map_or(Choice::Off, |(ch, _)| ch.clone())
}

fn list_choice(y: i32, label: &str, items: &[String], index: usize) -> ChoiceWidget {
    let mut c = ChoiceWidget::new(170, y, 330, 30, None);
    let mut l = Frame::new(20, y, 145, 30, None);
    l.set_label(label);
    l.set_align(Align::Right | Align::Inside);
    for item in items {
        c.add_choice(&menu_label(item));
    }
    c.set_value(index as i32);
    c
}

impl SettingsDialog {
    /// Opens the dialog on `settings`.
    pub fn open(
        settings: &Settings,
        catalog: &DeviceCatalog,
        in_meeting: bool,
        over: Option<Rect>,
        sender: fltk::app::Sender<Message>,
    ) -> SettingsDialog {
        // A top-level window: not inside whatever group was built last.
        fltk::group::Group::set_current(None::<&fltk::group::Group>);
        let mut window = Window::default().with_size(530, 500).with_label("Settings");
        centre_over(&mut window, over);
        window.set_color(theme::PANEL);
        let mut title = Frame::new(20, 12, 490, 30, "Devices");
        title.set_label_font(Font::HelveticaBold);
        title.set_align(Align::Left | Align::Inside);
        let camera = device_choice(48, "Camera", &catalog.cameras, &settings.camera);
        let microphone =
            device_choice(84, "Microphone", &catalog.microphones, &settings.microphone);
        let speaker = device_choice(120, "Speaker", &catalog.speakers, &settings.speaker);
        let monitor = device_choice(156, "Screen to share", &catalog.monitors, &settings.monitor);

        let mut video = Frame::new(20, 200, 490, 30, "Video you send");
        video.set_label_font(Font::HelveticaBold);
        video.set_align(Align::Left | Align::Inside);
        let sizes: Vec<String> = VIDEO_SIZES
            .iter()
            .map(|(w, h)| format!("{w} x {h}"))
            .collect();
        let size = list_choice(
            236,
            "Size",
            &sizes,
            index_of(VIDEO_SIZES, &settings.video_size, 1),
        );
        let rates: Vec<String> = FRAME_RATES
            .iter()
            .map(|r| format!("{r} frames per second"))
            .collect();
        let fps = list_choice(
            272,
            "Frame rate",
            &rates,
            index_of(FRAME_RATES, &settings.fps, 2),
        );
        let qualities: Vec<String> = QUALITIES.iter().map(|(l, _)| l.to_string()).collect();
        let quality = list_choice(
            308,
            "Quality",
            &qualities,
            index_of(QUALITIES.iter().map(|q| q.1), &settings.quality, 1),
        );
        let mut note = Frame::new(170, 340, 340, 22, None);
        if in_meeting {
            note.set_label("Size, rate and quality apply from the next meeting.");
        }
        note.set_label_size(12);
        note.set_label_color(theme::MUTED_TEXT);
        note.set_align(Align::Left | Align::Inside);

        let keys: Vec<String> = TALK_KEYS.iter().map(|(l, _)| l.to_string()).collect();
        let talk = list_choice(
            372,
            "Push to talk",
            &keys,
            index_of(TALK_KEYS.iter().map(|k| k.1), &settings.talk_key, 0),
        );

        let mut echo_cancel = CheckButton::new(170, 406, 160, 26, "Echo cancellation");
        echo_cancel.set_checked(settings.voice.echo_cancel);
        echo_cancel.set_tooltip("Others do not hear themselves from your speakers");
        let mut noise_suppression = CheckButton::new(335, 406, 175, 26, "Noise suppression");
        noise_suppression.set_checked(settings.voice.noise_suppression);
        noise_suppression.set_tooltip("Fans, hum and keyboards are taken out of your microphone");

        let mut cancel = Button::new(290, 452, 100, 34, "Cancel");
        let mut apply = Button::new(400, 452, 110, 34, "Apply");
        apply.set_color(theme::ACCENT);
        apply.set_label_color(Color::White);
        apply.emit(sender, Message::ApplySettings);
        window.end();
        let mut w = window.clone();
        cancel.set_callback(move |_| w.hide());
        window.make_modal(true);
        window.show();
        SettingsDialog {
            window,
            camera,
            microphone,
            speaker,
            monitor,
            size,
            fps,
            quality,
            talk,
            echo_cancel,
            noise_suppression,
            catalog: catalog.clone(),
        }
    }

    /// What the dialog shows now.
    pub fn read(&self) -> Settings {
        let pick = |c: &ChoiceWidget, n: usize| (c.value().max(0) as usize).min(n - 1);
        Settings {
            camera: read_device(&self.camera, &self.catalog.cameras),
            microphone: read_device(&self.microphone, &self.catalog.microphones),
            speaker: read_device(&self.speaker, &self.catalog.speakers),
            monitor: read_device(&self.monitor, &self.catalog.monitors),
            video_size: VIDEO_SIZES[pick(&self.size, VIDEO_SIZES.len())],
            fps: FRAME_RATES[pick(&self.fps, FRAME_RATES.len())],
            quality: QUALITIES[pick(&self.quality, QUALITIES.len())].1,
            talk_key: TALK_KEYS[pick(&self.talk, TALK_KEYS.len())].1,
            voice: VoiceSettings {
                echo_cancel: self.echo_cancel.is_checked(),
                noise_suppression: self.noise_suppression.is_checked(),
            },
        }
    }

    /// Closes the dialog.
    pub fn close(&mut self) {
        self.window.hide();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_forget_missing_devices() {
        let catalog = DeviceCatalog {
            cameras: DeviceOptions {
                entries: vec![
                    (Choice::Device("v0".into()), "Cam".into()),
                    (Choice::Test, "Test pattern".into()),
                ],
                default: Some(Choice::Device("v0".into())),
                missing: None,
            },
            ..DeviceCatalog::default()
        };
        let mut s = Settings::defaults(&catalog);
        s.camera = Choice::Test;
        s.video_size = (1280, 720);
        s.fps = 30;
        s.quality = 80;
        s.talk_key = Some(Key::F9);
        s.voice.echo_cancel = false;
        assert_eq!(Settings::parse(&s.to_text(), &catalog), s);
        s.voice = VoiceSettings::OFF;
        assert_eq!(Settings::parse(&s.to_text(), &catalog), s);
        let gone = Settings::parse(
            "camera=device:v9\nfps=7\njunk\necho_cancel=maybe\n",
            &catalog,
        );
        assert_eq!(gone.camera, Choice::Device("v0".into()));
        assert_eq!(gone.fps, 20);
        assert_eq!(gone.voice, VoiceSettings::default(), "on unless said off");
    }

    #[test]
    fn defaults_follow_the_catalog() {
        let catalog = DeviceCatalog {
            cameras: DeviceOptions {
                entries: vec![(Choice::Test, "Test pattern".into())],
                default: Some(Choice::Test),
                missing: None,
            },
            ..DeviceCatalog::default()
        };
        let s = Settings::defaults(&catalog);
        assert_eq!(s.camera, Choice::Test);
        assert_eq!(s.microphone, Choice::Off);
        assert_eq!(s.video_size, (640, 480));
        assert_eq!(index_of(VIDEO_SIZES, &s.video_size, 0), 1);
        assert_eq!(index_of(FRAME_RATES, &7, 2), 2);
    }
}
