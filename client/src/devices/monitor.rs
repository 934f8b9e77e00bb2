//! A real monitor as a [`ScreenSource`], through xcap: X11 directly, and
//! Wayland through the desktop portal and PipeWire where xcap supports it.
//! On Linux with X11 a capture is one `GetImage` on a connection kept open
//! (`x11_capture.rs`), several times cheaper than xcap's; xcap still finds
//! the monitors and captures everywhere else.
//!
//! ```text
//!  screen thread, every 1/fps s (screen.rs):
//!    Monitor::capture --> xcap RGBA --> RGB --> (pipeline) tiles --> JPEG 4:4:4
//! ```
//!
//! Capturing is done on the session's screen thread, which already skips a
//! tick while the previous frame is still queued, so a slow capture lowers
//! the rate instead of building a backlog. Ids are xcap's monitor ids (the
//! RandR output on X11), stable while the display layout does not change.
//! On Wayland the desktop asks the user for permission the first time.
//!
//! On Windows xcap's monitor is a bare `HMONITOR`, which is not `Send`
//! while a [`ScreenSource`] moves to the screen thread. There the monitor
//! is found, kept and captured on a small thread of its own (`owner`),
//! and the screen thread asks that thread for each frame.

use super::{DeviceError, DeviceInfo, DeviceKind};
use crate::media::{MediaError, RgbImage, ScreenSource};

const KIND: DeviceKind = DeviceKind::Monitor;

fn unavailable(e: impl std::fmt::Display) -> DeviceError {
    DeviceError::Unavailable {
        kind: KIND,
        detail: if std::env::var_os("DISPLAY").is_none()
            && std::env::var_os("WAYLAND_DISPLAY").is_none()
        {
            format!("no display (DISPLAY and WAYLAND_DISPLAY are unset): {e}")
        } else {
            e.to_string()
        },
    }
}

/// Lists the monitors.
pub(crate) fn list() -> Result<Vec<DeviceInfo>, DeviceError> {
    let monitors = xcap::Monitor::all().map_err(unavailable)?;
    Ok(monitors
        .iter()
        .filter_map(|m| {
            let id = m.id().ok()?;
            let name = m
                .friendly_name()
                .ok()
                .filter(|n| !n.is_empty())
                .or_else(|| m.name().ok())
                .unwrap_or_else(|| format!("monitor {id}"));
            Some(DeviceInfo {
                id: id.to_string(),
                name,
                detail: format!(
                    "{}x{} at {},{}",
                    m.width().unwrap_or(0),
                    m.height().unwrap_or(0),
                    m.x().unwrap_or(0),
                    m.y().unwrap_or(0)
                ),
                is_default: m.is_primary().unwrap_or(false),
            })
        })
        .collect())
}

/// One monitor, captured on demand.
pub struct MonitorScreen {
    #[cfg(not(windows))]
    monitor: xcap::Monitor,
    /// The fast X11 path, when it applies (see `x11_capture.rs`).
    #[cfg(target_os = "linux")]
    fast: Option<super::x11_capture::X11Capture>,
    #[cfg(windows)]
    monitor: owner::OwnedMonitor,
    name: String,
}

impl MonitorScreen {
    /// Opens the monitor `id` (from [`super::list`]), or the primary one
    /// (else the first) for `None`. Takes one capture to check that
    /// capturing works here.
    pub fn open(id: Option<&str>) -> Result<MonitorScreen, DeviceError> {
        #[cfg(not(windows))]
        let (monitor, name) = {
            let monitor = select(id)?;
            let name = name_of(&monitor);
            (monitor, name)
        };
        #[cfg(windows)]
        let (monitor, name) = owner::OwnedMonitor::open(id)?;
        #[cfg(target_os = "linux")]
        let fast = match (monitor.x(), monitor.y(), monitor.width(), monitor.height()) {
            (Ok(x), Ok(y), Ok(w), Ok(h)) => super::x11_capture::X11Capture::open(x, y, w, h),
            _ => None,
        };
        let mut screen = MonitorScreen {
            monitor,
            #[cfg(target_os = "linux")]
            fast,
            name,
        };
        screen.capture().map_err(|e| DeviceError::Failed {
            kind: KIND,
            name: screen.name.clone(),
            detail: e.to_string(),
        })?;
        Ok(screen)
    }

    /// The monitor's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Finds the monitor `id`, or the primary one (else the first) for `None`.
fn select(id: Option<&str>) -> Result<xcap::Monitor, DeviceError> {
    let monitors = xcap::Monitor::all().map_err(unavailable)?;
    let missing = || DeviceError::Missing {
        kind: KIND,
        id: id.map(String::from),
    };
    match id {
        Some(text) => {
            let wanted: u32 = text.trim().parse().map_err(|_| missing())?;
            monitors.into_iter().find(|m| m.id().ok() == Some(wanted))
        }
        None => {
            let primary = monitors
                .iter()
                .position(|m| m.is_primary().unwrap_or(false))
                .unwrap_or(0);
            monitors.into_iter().nth(primary)
        }
    }
    .ok_or_else(missing)
}

/// The monitor's name, for messages.
fn name_of(monitor: &xcap::Monitor) -> String {
    monitor.name().unwrap_or_else(|_| "the screen".to_string())
}

/// One capture of `monitor`, as RGB.
fn grab(monitor: &xcap::Monitor, name: &str) -> Result<RgbImage, MediaError> {
    let rgba = monitor
        .capture_image()
        .map_err(|e| MediaError::Device(format!("cannot capture the screen {name}: {e}")))?;
    let (width, height) = (rgba.width(), rgba.height());
    // RGBA to RGB in place: no second buffer for a 2560x1600 screen.
    let mut pixels = rgba.into_raw();
    let count = pixels.len() / 4;
    for i in 0..count {
        pixels.copy_within(i * 4..i * 4 + 3, i * 3);
    }
    pixels.truncate(count * 3);
    RgbImage::from_pixels(width, height, pixels)
}

impl ScreenSource for MonitorScreen {
    #[cfg(not(windows))]
    fn capture(&mut self) -> Result<RgbImage, MediaError> {
        #[cfg(target_os = "linux")]
        if let Some(fast) = &self.fast {
            let mut img = RgbImage::new(0, 0);
            if fast.capture(&mut img).is_ok() {
                return Ok(img);
            }
            self.fast = None; // e.g. the screen changed size: xcap from now on
        }
        grab(&self.monitor, &self.name)
    }

    #[cfg(windows)]
    fn capture(&mut self) -> Result<RgbImage, MediaError> {
        self.monitor.capture()
    }
}

#[cfg(windows)]
mod owner {
    //! A monitor that lives on the thread that found it.

    use std::sync::mpsc::{self, Receiver, SyncSender};
    use std::thread::{self, JoinHandle};

    use super::{grab, name_of, select, DeviceError, MediaError, RgbImage, KIND};

    /// The capturing thread, and the two channels to it: one capture
    /// request in, one frame out, at a time.
    pub(super) struct OwnedMonitor {
        requests: Option<SyncSender<()>>,
        frames: Receiver<Result<RgbImage, MediaError>>,
        thread: Option<JoinHandle<()>>,
    }

    impl OwnedMonitor {
        /// Starts the thread, which selects the monitor as
        /// [`super::MonitorScreen::open`] says; returns with its name.
        pub(super) fn open(id: Option<&str>) -> Result<(OwnedMonitor, String), DeviceError> {
            let id = id.map(String::from);
            let (ready_tx, ready_rx) = mpsc::channel::<Result<String, DeviceError>>();
            let (request_tx, request_rx) = mpsc::sync_channel::<()>(1);
            let (frame_tx, frame_rx) = mpsc::sync_channel(1);
            let thread = thread::Builder::new()
                .name("lanmeet-monitor".into())
                .spawn(move || {
                    let monitor = match select(id.as_deref()) {
                        Ok(m) => m,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let name = name_of(&monitor);
                    if ready_tx.send(Ok(name.clone())).is_err() {
                        return;
                    }
                    // Until the screen is dropped (its sender goes away).
                    while request_rx.recv().is_ok() {
                        if frame_tx.send(grab(&monitor, &name)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| DeviceError::Failed {
                    kind: KIND,
                    name: "the screen".into(),
                    detail: format!("cannot start a thread: {e}"),
                })?;
            let owned = OwnedMonitor {
                requests: Some(request_tx),
                frames: frame_rx,
                thread: Some(thread),
            };
            match ready_rx.recv() {
                Ok(Ok(name)) => Ok((owned, name)),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(DeviceError::Failed {
                    kind: KIND,
                    name: "the screen".into(),
                    detail: "the capture thread stopped".into(),
                }),
            }
        }

        /// One frame from the capturing thread.
        pub(super) fn capture(&mut self) -> Result<RgbImage, MediaError> {
            let gone = || MediaError::Device("the screen capture thread stopped".into());
            let requests = self.requests.as_ref().ok_or_else(gone)?;
            requests.send(()).map_err(|_| gone())?;
            self.frames.recv().map_err(|_| gone())?
        }
    }

    impl Drop for OwnedMonitor {
        fn drop(&mut self) {
            self.requests.take();
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}
