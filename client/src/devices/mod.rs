//! Real devices: cameras, microphones, speakers and monitors, behind the
//! same traits as the synthetic sources ([`VideoSource`], [`AudioSource`],
//! [`AudioSink`], [`ScreenSource`]), so the session cannot tell them apart.
//!
//! ```text
//!  devices::list()                        what is there, with stable ids
//!  devices::open_camera(id, w, h, fps)  --> Box<dyn VideoSource>  --> session.start_video
//!  devices::open_microphone(id)         --> Box<dyn AudioSource>  --> session.start_audio
//!  devices::open_speaker(id)            --> Box<dyn AudioSink>    --> session.start_playback
//!  devices::open_monitor(id)            --> Box<dyn ScreenSource> --> session.start_screen_share
//! ```
//!
//! | device     | crate | file          | runs on                                   |
//! |------------|-------|---------------|-------------------------------------------|
//! | camera     | nokhwa (V4L2) | `camera.rs` | its own capture thread, newest frame kept |
//! | microphone | cpal  | `microphone.rs` | the sound system's callback, then the audio sender |
//! | speaker    | cpal  | `speaker.rs`  | the playout thread, then the sound system's callback |
//! | monitor    | xcap  | `monitor.rs`  | the session's screen thread               |
//!
//! `None` as an id opens the system's default (the first camera, the
//! default microphone and speaker, the primary monitor).
//!
//! # When a device is missing, busy or fails
//!
//! Opening returns a [`DeviceError`] whose `Display` is a sentence for the
//! user ("no camera found", "the microphone X is busy: ..."); the session
//! goes on without that device. A device that fails during a call makes
//! its pipeline emit an `Event::Warning` naming
//! it, and that pipeline stops (camera frames are skipped) while chat,
//! sound and pictures from the others go on. To pick a device up again,
//! open it again and hand it to the session: the `start_*` methods
//! replace a running source.
//!
//! # Echo
//!
//! The server's mix leaves each participant's own voice out (N-1), so
//! nobody hears themselves. It cannot remove *another* participant's
//! voice that your microphone picks up from your speakers: the
//! session's echo canceller does (`media::voice`, fed with what the
//! speaker plays). In one room the others' voices also reach every
//! microphone through the air, which no canceller knows about: there,
//! headsets or push-to-talk ([`PushToTalk`]) help most; while
//! push-to-talk is on, audio is sent only while the talk key is held.

mod camera;
mod microphone;
mod monitor;
mod resample;
mod sound;
mod speaker;
mod talk;
#[cfg(target_os = "linux")]
mod x11_capture;

use std::fmt;

pub use camera::{choose_mode, CameraMode, CameraPreview, CameraSource, PixelFormat, RawFrame};
pub use microphone::Microphone;
pub use monitor::MonitorScreen;
pub use resample::{downmix, Resampler};
pub use speaker::Speaker;
pub use talk::PushToTalk;

use std::sync::{Mutex, MutexGuard};

use crate::media::{AudioSink, AudioSource, MediaError, ScreenSource, VideoSource};

/// The four kinds of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// A webcam.
    Camera,
    /// A sound input.
    Microphone,
    /// A sound output (speakers or a headset).
    Speaker,
    /// A screen to share.
    Monitor,
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::Camera => "camera",
            DeviceKind::Microphone => "microphone",
            DeviceKind::Speaker => "speaker",
            DeviceKind::Monitor => "screen",
        })
    }
}

/// One device, as a settings dialog shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// What to pass to `open_*` (stable for the same hardware).
    pub id: String,
    /// A name for people.
    pub name: String,
    /// Format, size or description, for a tooltip or a log.
    pub detail: String,
    /// Whether `open_*(None)` opens this one.
    pub is_default: bool,
}

/// Everything [`list`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceList {
    /// Webcams.
    pub cameras: Vec<DeviceInfo>,
    /// Microphones (PulseAudio also lists the "monitor" of each output).
    pub inputs: Vec<DeviceInfo>,
    /// Speakers and headsets.
    pub outputs: Vec<DeviceInfo>,
    /// Screens.
    pub monitors: Vec<DeviceInfo>,
    /// Why a kind could not be listed at all (no display, no sound
    /// system), one sentence each.
    pub problems: Vec<String>,
}

/// Why a device cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceError {
    /// There is no such device (`id: None`: none at all).
    Missing {
        /// What was looked for.
        kind: DeviceKind,
        /// The id asked for.
        id: Option<String>,
    },
    /// Another program holds it.
    Busy {
        /// Which kind.
        kind: DeviceKind,
        /// Its name.
        name: String,
        /// What the system said.
        detail: String,
    },
    /// It exists but would not open or run.
    Failed {
        /// Which kind.
        kind: DeviceKind,
        /// Its name.
        name: String,
        /// What the system said.
        detail: String,
    },
    /// Devices of this kind cannot be reached here at all (no display, no
    /// sound system).
    Unavailable {
        /// Which kind.
        kind: DeviceKind,
        /// What the system said.
        detail: String,
    },
}

impl DeviceError {
    /// The kind of device the error is about.
    pub fn kind(&self) -> DeviceKind {
        match self {
            DeviceError::Missing { kind, .. }
            | DeviceError::Busy { kind, .. }
            | DeviceError::Failed { kind, .. }
            | DeviceError::Unavailable { kind, .. } => *kind,
        }
    }

    /// The same error about another kind (the sound code is shared).
    pub(crate) fn with_kind(self, k: DeviceKind) -> DeviceError {
        match self {
            DeviceError::Missing { id, .. } => DeviceError::Missing { kind: k, id },
            DeviceError::Busy { name, detail, .. } => DeviceError::Busy {
                kind: k,
                name,
                detail,
            },
            DeviceError::Failed { name, detail, .. } => DeviceError::Failed {
                kind: k,
                name,
                detail,
            },
            DeviceError::Unavailable { detail, .. } => DeviceError::Unavailable { kind: k, detail },
        }
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::Missing { kind, id: None } => write!(f, "no {kind} found"),
            DeviceError::Missing { kind, id: Some(id) } => {
                write!(f, "no {kind} {id:?} (see --list-devices)")
            }
            DeviceError::Busy { kind, name, detail } => {
                write!(
                    f,
                    "the {kind} {name} is busy (another program uses it?): {detail}"
                )
            }
            DeviceError::Failed { kind, name, detail } => {
                write!(f, "the {kind} {name} does not work: {detail}")
            }
            DeviceError::Unavailable { kind, detail } => {
                write!(f, "no {kind} can be used here: {detail}")
            }
        }
    }
}

impl std::error::Error for DeviceError {}

impl From<DeviceError> for MediaError {
    fn from(e: DeviceError) -> MediaError {
        MediaError::Device(e.to_string())
    }
}

/// Locks a mutex shared with a device's own thread, taking the data even
/// if that thread panicked while holding it: the frames and counters kept
/// there stay valid between statements.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Lists every device. Never fails: a kind that cannot be listed is empty
/// and says why in `problems`.
pub fn list() -> DeviceList {
    let mut problems = Vec::new();
    let mut keep = |r: Result<Vec<DeviceInfo>, DeviceError>| {
        r.unwrap_or_else(|e| {
            problems.push(e.to_string());
            Vec::new()
        })
    };
    let cameras = keep(camera::list());
    let inputs = keep(sound::list(true));
    let outputs = keep(sound::list(false).map_err(|e| e.with_kind(DeviceKind::Speaker)));
    let monitors = keep(monitor::list());
    DeviceList {
        cameras,
        inputs,
        outputs,
        monitors,
        problems,
    }
}

/// Opens a camera at the mode closest to `width` x `height` at `fps`.
pub fn open_camera(
    id: Option<&str>,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<Box<dyn VideoSource>, DeviceError> {
    Ok(Box::new(CameraSource::open(id, width, height, fps)?))
}

/// Opens a microphone (any rate and format; the session gets 48 kHz mono).
pub fn open_microphone(id: Option<&str>) -> Result<Box<dyn AudioSource>, DeviceError> {
    Ok(Box::new(Microphone::open(id)?))
}

/// Opens a speaker (the session's 48 kHz mono is converted to its format).
pub fn open_speaker(id: Option<&str>) -> Result<Box<dyn AudioSink>, DeviceError> {
    Ok(Box::new(Speaker::open(id)?))
}

/// Opens a monitor for screen sharing.
pub fn open_monitor(id: Option<&str>) -> Result<Box<dyn ScreenSource>, DeviceError> {
    Ok(Box::new(MonitorScreen::open(id)?))
}

/// The device list as text, one line per device (for `--list-devices`).
pub fn describe(list: &DeviceList) -> String {
    let mut s = String::new();
    let mut section = |title: &str, flag: &str, items: &[DeviceInfo]| {
        s.push_str(&format!("{title} ({flag} ID):\n"));
        if items.is_empty() {
            s.push_str("  (none)\n");
        }
        for d in items {
            let star = if d.is_default { " [default]" } else { "" };
            s.push_str(&format!("  {}  {}{star}", d.id, d.name));
            if !d.detail.is_empty() {
                s.push_str(&format!("  ({})", d.detail));
            }
            s.push('\n');
        }
    };
    section("Cameras", "--camera", &list.cameras);
    section("Microphones", "--mic", &list.inputs);
    section("Speakers", "--speaker", &list.outputs);
    section("Monitors", "--monitor", &list.monitors);
    for p in &list.problems {
        s.push_str(&format!("note: {p}\n"));
    }
    s
}
