//! Screen sharing: the presenter's encoder and the viewer's canvas.
//!
//! ```text
//!  presenter (the shell's screen thread, every 1/fps s):
//!      previous message still in the outbox? --> skip this tick
//!      ScreenEncoder::next_update:
//!        ScreenSource::capture --> fit inside 2560x1600 (native size below)
//!        --> TileMap (a hash per 64x64 tile) vs the last one sent:
//!            nothing changed                        --> Unchanged (send nothing)
//!            keyframe asked for, first capture, new
//!            size, > half the tiles, no patches     --> Keyframe: screen_frame
//!            otherwise                              --> Patch: screen_patch of the
//!                                                       changed tiles merged into
//!                                                       rectangles
//!  viewer: ScreenCanvas::keyframe / ::patch --> the picture it holds
//! ```
//!
//! Screens carry text, so every JPEG here keeps full colour resolution
//! (4:4:4) at quality [`SCREEN_QUALITY`]. Measured PSNR over the text
//! (`examples/screen_quality.rs`, the `screen` bench and the tests here):
//!
//! | picture                                  | 4:2:0 q85 | 4:4:4 q85 | 4:4:4 q90 |
//! |------------------------------------------|-----------|-----------|-----------|
//! | 1920x1080 xedit, 13-pixel fixed font     | 41.9 dB   | 41.9 dB   | 45.5 dB   |
//! | coloured one-pixel strokes (`text_like`) | 28.6 dB   | 33.7 dB   | 36.7 dB   |
//!
//! Black text loses nothing to subsampling; coloured text (syntax
//! highlighting) does, and needs quality 90 to stay above 35 dB. A
//! 1920x1080 keyframe of code is about 210 KB.
//!
//! Screen messages go over TCP (they must arrive whole). If the last one
//! has not been written to the socket yet, capturing another would only
//! queue stale pictures behind chat and file data, so the tick is skipped;
//! the next patch then covers everything since the last one sent, since
//! tiles are compared with what was sent, not with what was captured.

use std::path::Path;
use std::time::Duration;

use lanmeet_common::framing::encode_json;
use lanmeet_common::limits::{MAX_CLIENT_FRAME, MAX_SCREEN_PATCHES};
use lanmeet_common::message::ScreenPatchRect;
use lanmeet_common::{base64, ClientMessage};

use super::error::MediaError;
use super::image::{decode_jpeg, encode_jpeg_full_chroma, load_image, resize, RgbImage};
use super::tiles::{crop, paint, TileMap};

/// The JPEG quality of screen pictures (4:4:4): the lowest that keeps
/// 13-pixel text at 35 dB PSNR or more, measured (see the module docs).
pub const SCREEN_QUALITY: u8 = 90;

/// Where screen pictures come from.
pub trait ScreenSource: Send {
    /// The screen as it is now, any size (the pipeline scales it).
    fn capture(&mut self) -> Result<RgbImage, MediaError>;
}

/// A "screen" that always shows one image: a JPEG or PPM file.
pub struct ImageScreen {
    image: RgbImage,
}

impl ImageScreen {
    /// Loads the image file (JPEG, PNG or PPM).
    pub fn open(path: &Path) -> Result<ImageScreen, MediaError> {
        Ok(ImageScreen {
            image: load_image(path)?,
        })
    }

    /// Shows an image already in memory.
    pub fn from_image(image: RgbImage) -> ImageScreen {
        ImageScreen { image }
    }
}

impl ScreenSource for ImageScreen {
    fn capture(&mut self) -> Result<RgbImage, MediaError> {
        Ok(self.image.clone())
    }
}

/// How the screen is sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScreenConfig {
    /// Largest width sent; a wider screen is scaled down (default 2560).
    pub max_width: u32,
    /// Largest height sent (default 1600).
    pub max_height: u32,
    /// Captures per second, 1..=15 (default 10). A capture that changed
    /// nothing costs only the capture and the hashing.
    pub fps: f64,
    /// JPEG quality (default [`SCREEN_QUALITY`]).
    pub quality: u8,
}

impl Default for ScreenConfig {
    fn default() -> ScreenConfig {
        ScreenConfig {
            max_width: 2560,
            max_height: 1600,
            fps: 10.0,
            quality: SCREEN_QUALITY,
        }
    }
}

/// What one capture gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenUpdate {
    /// The screen is as it was: nothing to send.
    Unchanged,
    /// A whole `screen_frame` frame, ready to write.
    Keyframe(Vec<u8>),
    /// A whole `screen_patch` frame, ready to write.
    Patch(Vec<u8>),
}

/// The presenter's pipeline, one capture at a time.
pub struct ScreenEncoder {
    config: ScreenConfig,
    /// The tiles of the last picture sent.
    sent: Option<TileMap>,
    keyframe_wanted: bool,
    patches: bool,
}

impl ScreenEncoder {
    /// An encoder with these settings that sends keyframes only (what a
    /// server without `"screen_patches"` takes); see
    /// [`ScreenEncoder::use_patches`].
    pub fn new(config: ScreenConfig) -> ScreenEncoder {
        ScreenEncoder {
            config,
            sent: None,
            keyframe_wanted: true,
            patches: false,
        }
    }

    /// Sends patches between keyframes (the server named the feature).
    pub fn use_patches(&mut self, on: bool) {
        self.patches = on;
    }

    /// The next capture is sent whole (`screen_keyframe_request`).
    pub fn request_keyframe(&mut self) {
        self.keyframe_wanted = true;
    }

    /// Time between captures.
    pub fn period(&self) -> Duration {
        let fps = if self.config.fps.is_finite() {
            self.config.fps.clamp(1.0, 15.0)
        } else {
            ScreenConfig::default().fps
        };
        Duration::from_secs_f64(1.0 / fps)
    }

    /// Captures the screen and says what to send.
    pub fn next_update(
        &mut self,
        source: &mut dyn ScreenSource,
    ) -> Result<ScreenUpdate, MediaError> {
        let img = source.capture()?;
        let (width, height) = fit_inside(
            img.width,
            img.height,
            self.config.max_width.max(16),
            self.config.max_height.max(16),
        );
        let img = if (width, height) == (img.width, img.height) {
            img
        } else {
            resize(&img, width, height)
        };
        let tiles = TileMap::of(&img);
        let changed = self.sent.as_ref().and_then(|old| tiles.changed_since(old));
        let update = match changed {
            Some(changed) if !self.keyframe_wanted => {
                let count = changed.iter().filter(|c| **c).count();
                if count == 0 {
                    return Ok(ScreenUpdate::Unchanged);
                }
                if !self.patches || count * 2 > changed.len() {
                    ScreenUpdate::Keyframe(self.keyframe(&img)?)
                } else {
                    match self.patch(&img, &tiles, &changed)? {
                        Some(bytes) => ScreenUpdate::Patch(bytes),
                        None => ScreenUpdate::Keyframe(self.keyframe(&img)?),
                    }
                }
            }
            _ => ScreenUpdate::Keyframe(self.keyframe(&img)?),
        };
        if matches!(update, ScreenUpdate::Keyframe(_)) {
            self.keyframe_wanted = false;
        }
        self.sent = Some(tiles);
        Ok(update)
    }

    /// The whole picture as a `screen_frame`, at a lower quality if the
    /// configured one does not fit in a frame.
    fn keyframe(&self, img: &RgbImage) -> Result<Vec<u8>, MediaError> {
        let mut quality = self.config.quality;
        loop {
            let jpeg = encode_jpeg_full_chroma(img, quality)?;
            let bytes = encode_json(&ClientMessage::ScreenFrame {
                frame_data: base64::encode(&jpeg),
                width: img.width,
                height: img.height,
            });
            if bytes.len() <= MAX_CLIENT_FRAME {
                return Ok(bytes);
            }
            if quality <= 30 {
                return Err(MediaError::Format("larger than 4 MiB".into()));
            }
            quality -= 10;
        }
    }

    /// The changed tiles as a `screen_patch`; `None` when a keyframe says
    /// it better (too many rectangles, or too large for one frame).
    fn patch(
        &self,
        img: &RgbImage,
        tiles: &TileMap,
        changed: &[bool],
    ) -> Result<Option<Vec<u8>>, MediaError> {
        let rects = tiles.rects(changed);
        if rects.len() > MAX_SCREEN_PATCHES {
            return Ok(None);
        }
        let mut patches = Vec::with_capacity(rects.len());
        for r in rects {
            let jpeg = encode_jpeg_full_chroma(&crop(img, r), self.config.quality)?;
            patches.push(ScreenPatchRect {
                x: r.x,
                y: r.y,
                width: r.width,
                height: r.height,
                frame_data: base64::encode(&jpeg),
            });
        }
        let bytes = encode_json(&ClientMessage::ScreenPatch { patches });
        Ok((bytes.len() <= MAX_CLIENT_FRAME).then_some(bytes))
    }
}

/// The largest size with the same aspect ratio inside `max_w` x `max_h`
/// (the size itself when it already fits).
pub fn fit_inside(width: u32, height: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    if (width <= max_w && height <= max_h) || width == 0 || height == 0 {
        return (width, height);
    }
    let (w, h) = (u64::from(width), u64::from(height));
    // Scale by the tighter of the two limits.
    if w * u64::from(max_h) >= h * u64::from(max_w) {
        (max_w, ((h * u64::from(max_w)) / w).max(1) as u32)
    } else {
        (((w * u64::from(max_h)) / h).max(1) as u32, max_h)
    }
}

/// The picture a viewer holds: the last keyframe with every patch since
/// painted over it, in order.
#[derive(Debug, Default)]
pub struct ScreenCanvas {
    picture: Option<RgbImage>,
}

impl ScreenCanvas {
    /// An empty canvas (nothing shared yet).
    pub fn new() -> ScreenCanvas {
        ScreenCanvas::default()
    }

    /// The picture now, if a keyframe came.
    pub fn picture(&self) -> Option<&RgbImage> {
        self.picture.as_ref()
    }

    /// Replaces the picture with a keyframe's JPEG.
    pub fn keyframe(&mut self, jpeg: &[u8]) -> Result<(), MediaError> {
        self.picture = Some(decode_jpeg(jpeg)?);
        Ok(())
    }

    /// Paints one patch: each `(x, y, jpeg)` over the picture. A patch
    /// before any keyframe, or a rectangle that does not decode, is an
    /// error; the rectangles before it are painted.
    pub fn patch<'a>(
        &mut self,
        rects: impl IntoIterator<Item = (u32, u32, &'a [u8])>,
    ) -> Result<(), MediaError> {
        let picture = self
            .picture
            .as_mut()
            .ok_or_else(|| MediaError::Format("a screen patch before any keyframe".into()))?;
        for (x, y, jpeg) in rects {
            let piece = decode_jpeg(jpeg)?;
            paint(picture, x, y, &piece);
        }
        Ok(())
    }

    /// Forgets the picture (the share ended).
    pub fn clear(&mut self) {
        self.picture = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tiles::{psnr, Rect};
    use lanmeet_common::ServerMessage;

    /// A "screen" that shows whatever the test puts in it.
    struct Shown(std::sync::Arc<std::sync::Mutex<RgbImage>>);

    impl ScreenSource for Shown {
        fn capture(&mut self) -> Result<RgbImage, MediaError> {
            Ok(self.0.lock().unwrap().clone())
        }
    }

    /// Something like a screen of code: glyphs of one-pixel strokes (as
    /// in a 6x13 fixed font) in 7x15 cells on white, some coloured.
    fn text_like(width: u32, height: u32, seed: u32) -> RgbImage {
        let mut img = RgbImage::new(width, height);
        img.pixels.fill(255);
        let mut s = seed.wrapping_mul(2654435761).max(1);
        for cy in (4..height.saturating_sub(15)).step_by(15) {
            for cx in (4..width.saturating_sub(7)).step_by(7) {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                if s.is_multiple_of(5) {
                    continue; // a space
                }
                let rgb = match s % 7 {
                    0 => [160, 30, 30],
                    1 => [20, 90, 170],
                    _ => [20, 20, 20],
                };
                let bit = |n: u32| (s >> (n + 8)) & 1 == 1;
                if bit(0) {
                    img.fill_rect(cx + 1, cy + 3, 1, 9, rgb);
                }
                if bit(1) {
                    img.fill_rect(cx + 5, cy + 3, 1, 9, rgb);
                }
                for (i, y) in [3, 7, 11].into_iter().enumerate() {
                    if bit(2 + i as u32) {
                        img.fill_rect(cx + 1, cy + y, 5, 1, rgb);
                    }
                }
            }
        }
        img
    }

    /// Reads a framed message the encoder made.
    fn message(bytes: &[u8]) -> serde_json::Value {
        let (body, used) = lanmeet_common::framing::decode(bytes, usize::MAX)
            .unwrap()
            .unwrap();
        assert_eq!(used, bytes.len());
        serde_json::from_slice(body).unwrap()
    }

    /// Applies what the encoder sent, as a viewer does.
    fn apply(canvas: &mut ScreenCanvas, update: &ScreenUpdate) {
        match update {
            ScreenUpdate::Unchanged => {}
            ScreenUpdate::Keyframe(b) => {
                let v = message(b);
                let jpeg = base64::decode(v["frame_data"].as_str().unwrap()).unwrap();
                canvas.keyframe(&jpeg).unwrap();
            }
            ScreenUpdate::Patch(b) => {
                let (body, _) = lanmeet_common::framing::decode(b, usize::MAX)
                    .unwrap()
                    .unwrap();
                let m: ClientMessage = serde_json::from_slice(body).unwrap();
                let ClientMessage::ScreenPatch { patches } = m else {
                    panic!("not a patch");
                };
                let decoded: Vec<(u32, u32, Vec<u8>)> = patches
                    .iter()
                    .map(|p| (p.x, p.y, base64::decode(&p.frame_data).unwrap()))
                    .collect();
                canvas
                    .patch(decoded.iter().map(|(x, y, j)| (*x, *y, j.as_slice())))
                    .unwrap();
            }
        }
    }

    #[test]
    fn native_size_up_to_2560x1600_and_fit_beyond() {
        assert_eq!(fit_inside(1920, 1080, 2560, 1600), (1920, 1080));
        assert_eq!(fit_inside(2560, 1600, 2560, 1600), (2560, 1600));
        assert_eq!(fit_inside(3840, 2160, 2560, 1600), (2560, 1440));
        assert_eq!(fit_inside(2560, 2048, 2560, 1600), (2000, 1600));
        let mut enc = ScreenEncoder::new(ScreenConfig::default());
        let mut src = ImageScreen::from_image(RgbImage::new(3840, 2160));
        let ScreenUpdate::Keyframe(bytes) = enc.next_update(&mut src).unwrap() else {
            panic!("the first capture is a keyframe");
        };
        let v = message(&bytes);
        assert_eq!(v["type"], "screen_frame");
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(2560), Some(1440))
        );
    }

    #[test]
    fn text_stays_sharp_at_the_screen_quality() {
        let img = text_like(640, 360, 7);
        let all = Rect {
            x: 0,
            y: 0,
            width: 640,
            height: 360,
        };
        let full = decode_jpeg(&encode_jpeg_full_chroma(&img, SCREEN_QUALITY).unwrap()).unwrap();
        let db = psnr(&img, &full, all);
        assert!(db >= 35.0, "4:4:4 at {SCREEN_QUALITY}: {db:.1} dB");
        // jpeg-encoder subsamples (4:2:0) below quality 90 unless told not to.
        let sub = decode_jpeg(&super::super::image::encode_jpeg(&img, 85).unwrap()).unwrap();
        let full_85 = decode_jpeg(&encode_jpeg_full_chroma(&img, 85).unwrap()).unwrap();
        let (sub_db, full_db) = (psnr(&img, &sub, all), psnr(&img, &full_85, all));
        assert!(
            sub_db + 3.0 < full_db,
            "4:2:0 {sub_db:.1} dB, 4:4:4 {full_db:.1} dB"
        );
    }

    #[test]
    fn identical_captures_send_nothing_and_changes_send_patches() {
        let shown = std::sync::Arc::new(std::sync::Mutex::new(text_like(640, 384, 1)));
        let mut src = Shown(shown.clone());
        let mut enc = ScreenEncoder::new(ScreenConfig::default());
        enc.use_patches(true);
        let mut canvas = ScreenCanvas::new();
        let first = enc.next_update(&mut src).unwrap();
        assert!(matches!(first, ScreenUpdate::Keyframe(_)));
        apply(&mut canvas, &first);
        assert_eq!(enc.next_update(&mut src).unwrap(), ScreenUpdate::Unchanged);

        // "Typing": two characters in different tiles.
        shown.lock().unwrap().fill_rect(70, 20, 6, 10, [0, 0, 0]);
        shown
            .lock()
            .unwrap()
            .fill_rect(300, 200, 6, 10, [200, 0, 0]);
        let update = enc.next_update(&mut src).unwrap();
        let ScreenUpdate::Patch(bytes) = &update else {
            panic!("a small change is a patch: {update:?}");
        };
        let v = message(bytes);
        assert_eq!(v["type"], "screen_patch");
        assert_eq!(v["patches"].as_array().unwrap().len(), 2);
        assert_eq!(v["patches"][0]["x"], 64);
        apply(&mut canvas, &update);
        let now = shown.lock().unwrap().clone();
        let all = Rect {
            x: 0,
            y: 0,
            width: 640,
            height: 384,
        };
        let db = psnr(&now, canvas.picture().unwrap(), all);
        assert!(db >= 35.0, "the viewer's picture: {db:.1} dB");

        // More than half the screen: a keyframe. And one asked for.
        shown.lock().unwrap().fill_rect(0, 0, 640, 300, [1, 2, 3]);
        assert!(matches!(
            enc.next_update(&mut src).unwrap(),
            ScreenUpdate::Keyframe(_)
        ));
        enc.request_keyframe();
        assert!(matches!(
            enc.next_update(&mut src).unwrap(),
            ScreenUpdate::Keyframe(_)
        ));
        assert_eq!(enc.next_update(&mut src).unwrap(), ScreenUpdate::Unchanged);
    }

    #[test]
    fn without_patches_every_change_is_a_keyframe() {
        let shown = std::sync::Arc::new(std::sync::Mutex::new(text_like(320, 200, 3)));
        let mut src = Shown(shown.clone());
        let mut enc = ScreenEncoder::new(ScreenConfig::default());
        assert!(matches!(
            enc.next_update(&mut src).unwrap(),
            ScreenUpdate::Keyframe(_)
        ));
        shown.lock().unwrap().put(5, 5, [9, 9, 9]);
        assert!(matches!(
            enc.next_update(&mut src).unwrap(),
            ScreenUpdate::Keyframe(_)
        ));
    }

    #[test]
    fn a_patch_before_a_keyframe_is_refused() {
        let mut canvas = ScreenCanvas::new();
        let jpeg = encode_jpeg_full_chroma(&RgbImage::new(8, 8), 80).unwrap();
        assert!(canvas.patch([(0, 0, jpeg.as_slice())]).is_err());
        // The server's patch parses as a ServerMessage too.
        let m = ServerMessage::parse(
            br#"{"type":"screen_patch","presenter_id":"c1","patches":[{"x":0,"y":0,"width":8,"height":8,"frame_data":"AA=="}]}"#,
        )
        .unwrap();
        assert!(matches!(m, ServerMessage::ScreenPatch { .. }));
    }
}
