//! A real camera as a [`VideoSource`], through nokhwa (V4L2 on Linux).
//!
//! ```text
//!  capture thread (owns the camera, blocks in Camera::frame):
//!    frame --> newest-frame slot (an unread older frame is dropped)
//!  video sender thread, every 1/fps s (video.rs):
//!    next_jpeg(W, H): newest frame is MJPEG of exactly WxH?
//!        yes --> sent as it is (no decode, no encode)
//!        no  --> next_frame: MJPEG decode / YUYV / NV12 / RGB --> RGB
//!                --> (pipeline) resize --> JPEG
//! ```
//!
//! The camera runs on its own thread so a slow camera never delays the
//! network or the UI, and it keeps one frame, the newest: when encoding
//! falls behind, frames are dropped, never queued. When the camera offers
//! MJPEG at the configured size, its JPEGs go on the wire untouched, which
//! costs almost nothing; they are decoded only if someone looks at the
//! self-view ([`CameraPreview::latest`]). USB cameras often leave the
//! standard Huffman tables out of their MJPEG frames; jpeg-decoder, which
//! every lanmeet client decodes with, puts them back, so forwarding such
//! frames is safe.
//!
//! The format is chosen by [`choose_mode`]: the resolution closest to the
//! configured one, then MJPEG before the raw formats, then the frame rate
//! closest to (preferably not below) the configured one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

use super::lock;
use super::{DeviceError, DeviceInfo, DeviceKind};
use crate::media::image::{decode_jpeg, RgbImage};
use crate::media::{MediaError, VideoSource};

const KIND: DeviceKind = DeviceKind::Camera;

/// How long `next_frame` waits for a frame before it reports the camera
/// as stalled.
const STALL: Duration = Duration::from_secs(2);

/// Pixel layouts a camera may deliver that this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Motion JPEG: every frame a JPEG.
    Mjpeg,
    /// Packed 4:2:2: Y0 U Y1 V for two pixels.
    Yuyv,
    /// Planar 4:2:0: a Y plane, then interleaved U V at half size.
    Nv12,
    /// 8-bit RGB.
    Rgb,
    /// 8-bit BGR.
    Bgr,
    /// 8-bit grey.
    Gray,
}

impl PixelFormat {
    fn from_nokhwa(f: FrameFormat) -> PixelFormat {
        match f {
            FrameFormat::MJPEG => PixelFormat::Mjpeg,
            FrameFormat::YUYV => PixelFormat::Yuyv,
            FrameFormat::NV12 => PixelFormat::Nv12,
            FrameFormat::RAWRGB => PixelFormat::Rgb,
            FrameFormat::RAWBGR => PixelFormat::Bgr,
            FrameFormat::GRAY => PixelFormat::Gray,
        }
    }

    fn to_nokhwa(self) -> FrameFormat {
        match self {
            PixelFormat::Mjpeg => FrameFormat::MJPEG,
            PixelFormat::Yuyv => FrameFormat::YUYV,
            PixelFormat::Nv12 => FrameFormat::NV12,
            PixelFormat::Rgb => FrameFormat::RAWRGB,
            PixelFormat::Bgr => FrameFormat::RAWBGR,
            PixelFormat::Gray => FrameFormat::GRAY,
        }
    }

    /// Preference among formats of the same size: MJPEG first (it can go
    /// on the wire as it is), then the cheapest conversions.
    fn rank(self) -> u8 {
        match self {
            PixelFormat::Mjpeg => 0,
            PixelFormat::Yuyv => 1,
            PixelFormat::Nv12 => 2,
            PixelFormat::Rgb => 3,
            PixelFormat::Bgr => 4,
            PixelFormat::Gray => 5,
        }
    }
}

/// One way a camera can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CameraMode {
    /// Pixel layout.
    pub format: PixelFormat,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

/// Picks the mode closest to `width` x `height` at `fps` (see the module
/// docs for the order of preference).
pub fn choose_mode(
    offered: &[CameraMode],
    width: u32,
    height: u32,
    fps: u32,
) -> Option<CameraMode> {
    offered.iter().copied().min_by_key(|m| {
        let dx = i64::from(m.width) - i64::from(width);
        let dy = i64::from(m.height) - i64::from(height);
        // Below the asked rate is worse than above it.
        let rate = if m.fps >= fps {
            m.fps - fps
        } else {
            (fps - m.fps) * 4
        };
        (dx * dx + dy * dy, m.format.rank(), rate)
    })
}

/// A frame as the camera delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// Pixel layout of `data`.
    pub format: PixelFormat,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// The bytes.
    pub data: Vec<u8>,
}

/// BT.601 (studio range, as cameras send it) to RGB, in integers.
fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = (i32::from(y) - 16).max(0) * 298;
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clip = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
    [
        clip(c + 409 * e),
        clip(c - 100 * d - 208 * e),
        clip(c + 516 * d),
    ]
}

impl RawFrame {
    /// Converts to RGB, checking that the bytes fit the size.
    pub fn to_rgb(&self) -> Result<RgbImage, MediaError> {
        let (w, h) = (self.width as usize, self.height as usize);
        let short = |need: usize| {
            MediaError::Format(format!(
                "a {:?} frame of {}x{} needs {need} bytes, got {}",
                self.format,
                self.width,
                self.height,
                self.data.len()
            ))
        };
        let mut rgb = Vec::with_capacity(w * h * 3);
        match self.format {
            PixelFormat::Mjpeg => return decode_jpeg(&self.data),
            PixelFormat::Yuyv => {
                let need = w * h * 2;
                if w % 2 != 0 || self.data.len() < need {
                    return Err(short(need));
                }
                for q in self.data[..need].chunks_exact(4) {
                    rgb.extend_from_slice(&yuv_to_rgb(q[0], q[1], q[3]));
                    rgb.extend_from_slice(&yuv_to_rgb(q[2], q[1], q[3]));
                }
            }
            PixelFormat::Nv12 => {
                let need = w * h + w.div_ceil(2) * 2 * h.div_ceil(2);
                if self.data.len() < need {
                    return Err(short(need));
                }
                let (luma, chroma) = self.data.split_at(w * h);
                let stride = w.div_ceil(2) * 2;
                for y in 0..h {
                    for x in 0..w {
                        let c = (y / 2) * stride + (x / 2) * 2;
                        rgb.extend_from_slice(&yuv_to_rgb(
                            luma[y * w + x],
                            chroma[c],
                            chroma[c + 1],
                        ));
                    }
                }
            }
            PixelFormat::Rgb | PixelFormat::Bgr => {
                let need = w * h * 3;
                if self.data.len() < need {
                    return Err(short(need));
                }
                rgb.extend_from_slice(&self.data[..need]);
                if self.format == PixelFormat::Bgr {
                    for px in rgb.chunks_exact_mut(3) {
                        px.swap(0, 2);
                    }
                }
            }
            PixelFormat::Gray => {
                let need = w * h;
                if self.data.len() < need {
                    return Err(short(need));
                }
                for g in &self.data[..need] {
                    rgb.extend_from_slice(&[*g, *g, *g]);
                }
            }
        }
        RgbImage::from_pixels(self.width, self.height, rgb)
    }
}

/// Lists the cameras. An empty list is not an error.
pub(crate) fn list() -> Result<Vec<DeviceInfo>, DeviceError> {
    let cameras = nokhwa::query(ApiBackend::Auto).map_err(|e| DeviceError::Unavailable {
        kind: KIND,
        detail: e.to_string(),
    })?;
    Ok(cameras
        .iter()
        .enumerate()
        .map(|(i, c)| DeviceInfo {
            id: c.index().to_string(),
            name: c.human_name(),
            detail: c.description().to_string(),
            is_default: i == 0,
        })
        .collect())
}

/// The newest frame, shared by the capture thread and the source.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
    /// Frames replaced before anyone took them.
    dropped: AtomicU64,
    /// Tells the capture thread to close the camera.
    stop: AtomicBool,
}

#[derive(Default)]
struct SlotState {
    frame: Option<RawFrame>,
    failure: Option<String>,
}

/// What the self-view shows: the last frame sent, kept as it came.
#[derive(Clone, Default)]
pub struct CameraPreview {
    last: Arc<Mutex<Option<Arc<RawFrame>>>>,
}

impl CameraPreview {
    /// The last frame, decoded now (an MJPEG frame is decoded only here).
    pub fn latest(&self) -> Option<RgbImage> {
        let frame = lock(&self.last).clone()?;
        frame.to_rgb().ok()
    }

    fn set(&self, frame: RawFrame) {
        *lock(&self.last) = Some(Arc::new(frame));
    }
}

/// An open camera.
pub struct CameraSource {
    name: String,
    mode: CameraMode,
    slot: Arc<Slot>,
    held: Option<RawFrame>,
    preview: CameraPreview,
}

/// Finds the camera `id` or the first one, opens it in the best mode,
/// and runs the capture loop until the source is dropped.
fn open_on_thread(
    id: Option<String>,
    width: u32,
    height: u32,
    fps: u32,
    slot: Arc<Slot>,
    ready: mpsc::Sender<Result<(String, CameraMode), DeviceError>>,
) {
    let missing = |detail: Option<String>| DeviceError::Missing {
        kind: KIND,
        id: detail.or_else(|| id.clone()),
    };
    let index = match &id {
        Some(text) => match text.trim().parse::<u32>() {
            Ok(n) => CameraIndex::Index(n),
            Err(_) => CameraIndex::String(text.clone()),
        },
        None => match nokhwa::query(ApiBackend::Auto) {
            Ok(list) if !list.is_empty() => list[0].index().clone(),
            _ => {
                let _ = ready.send(Err(missing(None)));
                return;
            }
        },
    };
    let any = RequestedFormat::with_formats(
        RequestedFormatType::None,
        &[
            FrameFormat::MJPEG,
            FrameFormat::YUYV,
            FrameFormat::NV12,
            FrameFormat::RAWRGB,
            FrameFormat::RAWBGR,
            FrameFormat::GRAY,
        ],
    );
    let fail = |e: nokhwa::NokhwaError, name: &str| {
        let detail = e.to_string();
        if detail.contains("No such file") || detail.contains("No such device") {
            missing(None)
        } else if detail.contains("busy") || detail.contains("Busy") {
            DeviceError::Busy {
                kind: KIND,
                name: name.to_string(),
                detail,
            }
        } else {
            DeviceError::Failed {
                kind: KIND,
                name: name.to_string(),
                detail,
            }
        }
    };
    let label = index.to_string();
    let mut camera = match nokhwa::Camera::new(index, any) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(fail(e, &label)));
            return;
        }
    };
    let name = camera.info().human_name();
    let offered: Vec<CameraMode> = camera
        .compatible_camera_formats()
        .unwrap_or_default()
        .into_iter()
        .map(|f| CameraMode {
            format: PixelFormat::from_nokhwa(f.format()),
            width: f.resolution().width(),
            height: f.resolution().height(),
            fps: f.frame_rate(),
        })
        .collect();
    let Some(mode) = choose_mode(&offered, width, height, fps) else {
        let _ = ready.send(Err(DeviceError::Failed {
            kind: KIND,
            name,
            detail: "it offers no format this client reads".into(),
        }));
        return;
    };
    let chosen = CameraFormat::new(
        Resolution::new(mode.width, mode.height),
        mode.format.to_nokhwa(),
        mode.fps,
    );
    let exact = [chosen.format()];
    let request = RequestedFormat::with_formats(RequestedFormatType::Exact(chosen), &exact);
    if let Err(e) = camera
        .set_camera_requset(request)
        .and_then(|_| camera.open_stream())
    {
        let _ = ready.send(Err(fail(e, &name)));
        return;
    }
    let _ = ready.send(Ok((name, mode)));
    while !slot.stop.load(Ordering::Acquire) {
        let frame = camera.frame().map(|buf| {
            let res = buf.resolution();
            RawFrame {
                format: PixelFormat::from_nokhwa(buf.source_frame_format()),
                width: res.width(),
                height: res.height(),
                data: buf.buffer().to_vec(),
            }
        });
        let mut state = lock(&slot.state);
        match frame {
            Ok(f) => {
                if state.frame.replace(f).is_some() {
                    slot.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                state.failure = Some(e.to_string());
                slot.ready.notify_all();
                break;
            }
        }
        drop(state);
        slot.ready.notify_all();
    }
    let _ = camera.stop_stream();
}

impl CameraSource {
    /// Opens the camera `id` (from [`super::list`]), or the first one for
    /// `None`, in the mode closest to `width` x `height` at `fps`.
    pub fn open(
        id: Option<&str>,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<CameraSource, DeviceError> {
        let slot = Arc::new(Slot::default());
        let (tx, rx) = mpsc::channel();
        let (id_owned, s) = (id.map(String::from), slot.clone());
        thread::Builder::new()
            .name("lanmeet-camera".into())
            .spawn(move || open_on_thread(id_owned, width, height, fps, s, tx))
            .map_err(|e| DeviceError::Failed {
                kind: KIND,
                name: id.unwrap_or("camera").to_string(),
                detail: format!("cannot start a thread: {e}"),
            })?;
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok((name, mode))) => Ok(CameraSource {
                name,
                mode,
                slot,
                held: None,
                preview: CameraPreview::default(),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                slot.stop.store(true, Ordering::Release);
                Err(DeviceError::Busy {
                    kind: KIND,
                    name: id.unwrap_or("camera").to_string(),
                    detail: "it did not start in 5 s".into(),
                })
            }
        }
    }

    /// The camera's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mode it runs in.
    pub fn mode(&self) -> CameraMode {
        self.mode
    }

    /// A handle for the self-view.
    pub fn preview(&self) -> CameraPreview {
        self.preview.clone()
    }

    /// Frames the camera delivered that were never used (encoding was
    /// slower than the camera).
    pub fn dropped_frames(&self) -> u64 {
        self.slot.dropped.load(Ordering::Relaxed)
    }

    /// Waits for the next frame from the capture thread.
    fn take(&mut self) -> Result<RawFrame, MediaError> {
        if let Some(f) = self.held.take() {
            return Ok(f);
        }
        let deadline = Instant::now() + STALL;
        let mut state = lock(&self.slot.state);
        loop {
            if let Some(f) = state.frame.take() {
                return Ok(f);
            }
            if let Some(why) = &state.failure {
                return Err(MediaError::Device(format!(
                    "the camera {} stopped: {why}",
                    self.name
                )));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(MediaError::Device(format!(
                    "the camera {} sent no picture for {} s",
                    self.name,
                    STALL.as_secs()
                )));
            }
            state = match self.slot.ready.wait_timeout(state, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

impl VideoSource for CameraSource {
    fn next_frame(&mut self) -> Result<RgbImage, MediaError> {
        let frame = self.take()?;
        let image = frame.to_rgb()?;
        self.preview.set(frame);
        Ok(image)
    }

    fn next_jpeg(&mut self, width: u32, height: u32) -> Result<Option<Vec<u8>>, MediaError> {
        let frame = self.take()?;
        if frame.format == PixelFormat::Mjpeg && frame.width == width && frame.height == height {
            let jpeg = frame.data.clone();
            self.preview.set(frame);
            Ok(Some(jpeg))
        } else {
            self.held = Some(frame);
            Ok(None)
        }
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        // The capture thread sees this after its current frame and closes
        // the camera; it is not joined, so a hung camera cannot hang us.
        self.slot.stop.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(format: PixelFormat, width: u32, height: u32, fps: u32) -> CameraMode {
        CameraMode {
            format,
            width,
            height,
            fps,
        }
    }

    #[test]
    fn picks_size_then_mjpeg_then_rate() {
        use PixelFormat::*;
        let offered = [
            mode(Yuyv, 640, 480, 30),
            mode(Mjpeg, 640, 480, 15),
            mode(Mjpeg, 640, 480, 30),
            mode(Mjpeg, 1280, 720, 30),
            mode(Yuyv, 320, 240, 30),
        ];
        assert_eq!(choose_mode(&offered, 640, 480, 20), Some(offered[2]));
        assert_eq!(choose_mode(&offered, 1280, 720, 30), Some(offered[3]));
        assert_eq!(choose_mode(&offered, 300, 200, 30), Some(offered[4]));
        assert_eq!(choose_mode(&[], 640, 480, 30), None);
    }

    #[test]
    fn raw_formats_convert() {
        // Two pixels of YUYV: studio white and studio black.
        let yuyv = RawFrame {
            format: PixelFormat::Yuyv,
            width: 2,
            height: 1,
            data: vec![235, 128, 16, 128],
        };
        let img = yuyv.to_rgb().unwrap();
        assert_eq!(img.get(0, 0), [255, 255, 255]);
        assert_eq!(img.get(1, 0), [0, 0, 0]);
        // NV12 2x2, pure red-ish chroma.
        let nv12 = RawFrame {
            format: PixelFormat::Nv12,
            width: 2,
            height: 2,
            data: vec![82, 82, 82, 82, 90, 240],
        };
        let red = nv12.to_rgb().unwrap().get(1, 1);
        assert!(red[0] > 240 && red[1] < 20 && red[2] < 20, "{red:?}");
        let bgr = RawFrame {
            format: PixelFormat::Bgr,
            width: 1,
            height: 1,
            data: vec![1, 2, 3],
        };
        assert_eq!(bgr.to_rgb().unwrap().get(0, 0), [3, 2, 1]);
        let short = RawFrame {
            format: PixelFormat::Yuyv,
            width: 4,
            height: 4,
            data: vec![0; 5],
        };
        assert!(short.to_rgb().is_err());
    }
}
