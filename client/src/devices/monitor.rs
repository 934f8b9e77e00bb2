//! A real monitor as a [`ScreenSource`], through xcap: X11 directly, and
//! Wayland through the desktop portal and PipeWire where xcap supports it.
//!
//! ```text
//!  screen thread, every 1/fps s (screen.rs):
//!    Monitor::capture --> xcap RGBA --> RGB --> (pipeline) fit 1280 --> JPEG
//! ```
//!
//! Capturing is done on the session's screen thread, which already skips a
//! tick while the previous frame is still queued, so a slow capture lowers
//! the rate instead of building a backlog. Ids are xcap's monitor ids (the
//! RandR output on X11), stable while the display layout does not change.
//! On Wayland the desktop asks the user for permission the first time.

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
    monitor: xcap::Monitor,
    name: String,
}

impl MonitorScreen {
    /// Opens the monitor `id` (from [`super::list`]), or the primary one
    /// (else the first) for `None`. Takes one capture to check that
    /// capturing works here.
    pub fn open(id: Option<&str>) -> Result<MonitorScreen, DeviceError> {
        let monitors = xcap::Monitor::all().map_err(unavailable)?;
        let missing = || DeviceError::Missing {
            kind: KIND,
            id: id.map(String::from),
        };
        let monitor = match id {
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
        .ok_or_else(missing)?;
        let name = monitor.name().unwrap_or_else(|_| "the screen".to_string());
        let mut screen = MonitorScreen { monitor, name };
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

impl ScreenSource for MonitorScreen {
    fn capture(&mut self) -> Result<RgbImage, MediaError> {
        let rgba = self.monitor.capture_image().map_err(|e| {
            MediaError::Device(format!("cannot capture the screen {}: {e}", self.name))
        })?;
        let (width, height) = (rgba.width(), rgba.height());
        let raw = rgba.into_raw();
        let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
        for px in raw.chunks_exact(4) {
            rgb.extend_from_slice(&px[..3]);
        }
        RgbImage::from_pixels(width, height, rgb)
    }
}
