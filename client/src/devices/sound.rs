//! What the microphone and the speaker share: choosing the sound system,
//! listing its devices, finding one by id, picking a stream format, and
//! keeping a stream alive on a thread of its own.
//!
//! ```text
//!  Linux: PulseAudio reachable (PULSE_SERVER or the user's socket)?
//!     yes --> cpal's `pulseaudio` host (pure Rust, ~2% CPU for capture)
//!     no  --> cpal's ALSA host (its sound cards; none on a server)
//!  elsewhere: cpal's default host (WASAPI on Windows, CoreAudio on macOS)
//! ```
//!
//! ALSA also lists every plugin its configuration defines (rate
//! converters, channel mixers, bridges to other sound systems) and `null`,
//! which discards what it plays and records silence with no clock at all:
//! a stream on it calls back as fast as the CPU allows, and with a
//! window's microphone and speaker there cpal's two threads used 150% of
//! a core. None of these is a sound device, so none is offered
//! ([`offered`]) and `null` cannot be opened: a machine without a sound
//! card says so and runs without sound.
//!
//! cpal's ALSA backend can also reach PulseAudio through the ALSA pulse
//! plugin, but its capture loop then spins a whole core; the native host
//! does not. Device ids are cpal's own `host:name` strings
//! (`pulseaudio:alsa_input.usb-...`, `alsa:hw:1,0`): stable across runs
//! for the same hardware, and they say which host to open them with.
//!
//! A cpal stream is not `Send` on every platform, and it must outlive the
//! callbacks it drives. So each stream is built, started and dropped on
//! one small owner thread ([`StreamOwner`]); the source or sink the
//! session holds only keeps a channel to the callback and a handle to
//! that thread.

use std::str::FromStr;
use std::sync::mpsc::{self, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
#[cfg(target_os = "linux")]
use cpal::HostId;
use cpal::{BufferSize, Device, DeviceId, ErrorKind, Host, SampleFormat, StreamConfig};

use super::{DeviceError, DeviceInfo, DeviceKind};

/// How long building a stream may take before we give up on the device.
const OPEN_TIMEOUT: Duration = Duration::from_secs(3);

/// The sound system to use: PulseAudio when it answers, else ALSA.
#[cfg(target_os = "linux")]
pub(crate) fn host() -> Result<Host, DeviceError> {
    if cpal::available_hosts().contains(&HostId::PulseAudio) {
        if let Ok(h) = cpal::host_from_id(HostId::PulseAudio) {
            return Ok(h);
        }
    }
    cpal::host_from_id(HostId::Alsa).map_err(|e| DeviceError::Unavailable {
        kind: DeviceKind::Microphone,
        detail: format!("no sound system: {e}"),
    })
}

/// The sound system to use: the platform's own (WASAPI on Windows).
#[cfg(not(target_os = "linux"))]
pub(crate) fn host() -> Result<Host, DeviceError> {
    Ok(cpal::default_host())
}

/// The sound system that opens the device `id` (its `host:` prefix).
fn host_for(id: &DeviceId) -> Result<Host, cpal::Error> {
    cpal::host_from_id(id.host())
}

/// Lists the microphones (`input`) or speakers (`!input`).
pub(crate) fn list(input: bool) -> Result<Vec<DeviceInfo>, DeviceError> {
    let kind = if input {
        DeviceKind::Microphone
    } else {
        DeviceKind::Speaker
    };
    let host = host()?;
    let default = if input {
        host.default_input_device()
    } else {
        host.default_output_device()
    }
    .and_then(|d| d.id().ok());
    let devices = if input {
        host.input_devices().map(|d| d.collect::<Vec<_>>())
    } else {
        host.output_devices().map(|d| d.collect::<Vec<_>>())
    }
    .map_err(|e| DeviceError::Unavailable {
        kind,
        detail: format!("cannot list devices: {e}"),
    })?;
    let mut out = Vec::new();
    for d in devices {
        let Ok(id) = d.id() else { continue };
        if !offered(&id) {
            continue;
        }
        let config = if input {
            d.default_input_config()
        } else {
            d.default_output_config()
        };
        let detail = match config {
            Ok(c) => format!(
                "{} Hz, {} ch, {}",
                c.sample_rate(),
                c.channels(),
                c.sample_format()
            ),
            Err(_) => String::new(),
        };
        out.push(DeviceInfo {
            is_default: default.as_ref() == Some(&id),
            id: id.to_string(),
            name: display_name(&d),
            detail,
        });
    }
    Ok(out)
}

/// A person's name for a device.
pub(crate) fn display_name(d: &Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_else(|_| d.to_string())
}

/// Finds the device `id`, or the default one for `None`.
pub(crate) fn find(kind: DeviceKind, id: Option<&str>) -> Result<Device, DeviceError> {
    let input = kind == DeviceKind::Microphone;
    let missing = || DeviceError::Missing {
        kind,
        id: id.map(String::from),
    };
    let device = match id {
        None => {
            let host = host().map_err(|e| e.with_kind(kind))?;
            if input {
                host.default_input_device()
            } else {
                host.default_output_device()
            }
        }
        Some(text) => {
            let parsed = DeviceId::from_str(text).map_err(|_| missing())?;
            if is_alsa_null(&parsed) {
                return Err(DeviceError::Failed {
                    kind,
                    name: text.to_string(),
                    detail: "ALSA's null device is no sound device: it keeps no time \
                             and would use a whole core"
                        .into(),
                });
            }
            let host = host_for(&parsed).map_err(|e| DeviceError::Unavailable {
                kind,
                detail: format!("{}: {e}", parsed.host()),
            })?;
            host.device_by_id(&parsed)
        }
    };
    device.ok_or_else(missing)
}

/// ALSA's names for what is not a sound device of its own: `null`, and
/// the plugins of `alsa-plugins` (converters, mixers, bridges). A card's
/// devices are named after it (`hw:CARD=PCH,DEV=0`, `sysdefault:...`).
const ALSA_NOT_DEVICES: [&str; 10] = [
    "null",
    "lavrate",
    "samplerate",
    "speexrate",
    "speex",
    "upmix",
    "vdownmix",
    "jack",
    "oss",
    "pulse",
];

/// Whether `id` is a device worth offering: everything but ALSA's
/// [`ALSA_NOT_DEVICES`] (the native PulseAudio host is used whenever
/// PulseAudio runs, so its ALSA bridge is never needed).
fn offered(id: &DeviceId) -> bool {
    !is_alsa(id) || !ALSA_NOT_DEVICES.contains(&pcm_name(id.id()))
}

/// Whether `id` is ALSA's `null` device.
fn is_alsa_null(id: &DeviceId) -> bool {
    is_alsa(id) && pcm_name(id.id()) == "null"
}

/// A PCM's name without its arguments (`hw:CARD=PCH,DEV=0` -> `hw`).
fn pcm_name(pcm: &str) -> &str {
    pcm.split(':').next().unwrap_or(pcm)
}

#[cfg(target_os = "linux")]
fn is_alsa(id: &DeviceId) -> bool {
    id.host() == HostId::Alsa
}

#[cfg(not(target_os = "linux"))]
fn is_alsa(_: &DeviceId) -> bool {
    false
}

/// Sample formats this module converts from and to.
fn convertible(f: SampleFormat) -> bool {
    use SampleFormat::*;
    matches!(f, I8 | I16 | I32 | U8 | U16 | U32 | F32 | F64)
}

/// The device's own format (rate, channels, sample type), or the closest
/// one it lists in a sample type we convert.
pub(crate) fn choose_format(
    kind: DeviceKind,
    device: &Device,
) -> Result<(StreamConfig, SampleFormat), DeviceError> {
    let input = kind == DeviceKind::Microphone;
    let fail = |e: cpal::Error| classify(kind, &display_name(device), &e);
    let default = if input {
        device.default_input_config()
    } else {
        device.default_output_config()
    }
    .map_err(fail)?;
    if convertible(default.sample_format()) {
        return Ok((default.config(), default.sample_format()));
    }
    let ranges: Vec<_> = if input {
        device.supported_input_configs().map_err(fail)?.collect()
    } else {
        device.supported_output_configs().map_err(fail)?.collect()
    };
    let rate = default.sample_rate();
    ranges
        .into_iter()
        .filter(|r| convertible(r.sample_format()))
        .min_by_key(|r| (!r.contains_rate(rate), r.channels()))
        .map(|r| {
            let c = if r.contains_rate(rate) {
                r.with_sample_rate(rate)
            } else {
                r.with_max_sample_rate()
            };
            (c.config(), c.sample_format())
        })
        .ok_or_else(|| DeviceError::Failed {
            kind,
            name: display_name(device),
            detail: format!("it only offers {} samples", default.sample_format()),
        })
}

/// Turns a cpal error into a message a person can act on.
pub(crate) fn classify(kind: DeviceKind, name: &str, e: &cpal::Error) -> DeviceError {
    let (name, detail) = (name.to_string(), e.to_string());
    match e.kind() {
        ErrorKind::DeviceBusy => DeviceError::Busy { kind, name, detail },
        ErrorKind::DeviceNotAvailable => DeviceError::Missing {
            kind,
            id: Some(name),
        },
        ErrorKind::HostUnavailable => DeviceError::Unavailable { kind, detail },
        _ => DeviceError::Failed { kind, name, detail },
    }
}

/// The stream's buffer: about `ms` of frames, which the PulseAudio host
/// needs (its default buffers about 2 s); other hosts choose their own.
pub(crate) fn buffer_for(device: &Device, rate: u32, ms: u32) -> BufferSize {
    if on_pulseaudio(device) {
        BufferSize::Fixed((rate * ms / 1000).max(64))
    } else {
        BufferSize::Default
    }
}

/// Whether `device` belongs to cpal's PulseAudio host (Linux only).
#[cfg(target_os = "linux")]
fn on_pulseaudio(device: &Device) -> bool {
    device
        .id()
        .map(|id| id.host() == HostId::PulseAudio)
        .unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
fn on_pulseaudio(_: &Device) -> bool {
    false
}

/// Runs a stream on a thread of its own until dropped.
pub(crate) struct StreamOwner {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl StreamOwner {
    /// Calls `build` on a new thread, starts the stream it returns, and
    /// keeps it there. Returns once the stream plays (or failed to).
    pub(crate) fn start<F>(
        kind: DeviceKind,
        name: &str,
        build: F,
    ) -> Result<StreamOwner, DeviceError>
    where
        F: FnOnce() -> Result<cpal::Stream, DeviceError> + Send + 'static,
    {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), DeviceError>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let label = name.to_string();
        let handle = thread::Builder::new()
            .name(format!("lanmeet-{kind}"))
            .spawn(move || {
                let stream = match build() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                if let Err(e) = stream.play() {
                    let _ = ready_tx.send(Err(classify(kind, &label, &e)));
                    return;
                }
                let _ = ready_tx.send(Ok(()));
                // Parked until the owner is dropped (its sender goes away).
                let _ = stop_rx.recv();
                drop(stream);
            })
            .map_err(|e| DeviceError::Failed {
                kind,
                name: name.to_string(),
                detail: format!("cannot start a thread: {e}"),
            })?;
        let owner = StreamOwner {
            stop: Some(stop_tx),
            handle: Some(handle),
        };
        match ready_rx.recv_timeout(OPEN_TIMEOUT * 2) {
            Ok(Ok(())) => Ok(owner),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                // The sound system hangs: leave the thread behind rather
                // than hang the caller too.
                let mut owner = owner;
                owner.handle.take();
                Err(DeviceError::Busy {
                    kind,
                    name: name.to_string(),
                    detail: "it did not start in time".into(),
                })
            }
        }
    }
}

impl Drop for StreamOwner {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The timeout handed to cpal's stream builders.
pub(crate) fn open_timeout() -> Option<Duration> {
    Some(OPEN_TIMEOUT)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn alsa_plugins_and_null_are_not_offered_cards_are() {
        let alsa = |pcm: &str| DeviceId::new(HostId::Alsa, pcm);
        for pcm in ["null", "lavrate", "speex", "pulse", "jack"] {
            assert!(!offered(&alsa(pcm)), "{pcm}");
        }
        for pcm in [
            "hw:CARD=PCH,DEV=0",
            "plughw:1,0",
            "sysdefault:CARD=PCH",
            "default",
        ] {
            assert!(offered(&alsa(pcm)), "{pcm}");
        }
        assert!(is_alsa_null(&alsa("null")));
        assert!(!is_alsa_null(&alsa("nullx")));
        // PulseAudio's own devices are whatever it has.
        assert!(offered(&DeviceId::new(HostId::PulseAudio, "null")));
    }

    #[test]
    fn the_null_device_is_refused_with_a_reason() {
        let Err(e) = find(DeviceKind::Microphone, Some("alsa:null")) else {
            panic!("alsa:null opened");
        };
        assert!(e.to_string().contains("null device"), "{e}");
    }
}
