//! Screen sharing, the presenter's side (the viewers' side is the video
//! decoder, fed by the core).
//!
//! ```text
//!  session.start_screen_share(source) --> request_screen_share
//!  <-- screen_share_started{presenter_id: us}
//!  screen thread (in the shell), every 1/fps s:
//!      previous frame still in the outbox? --> skip this tick
//!      ScreenEncoder::next_frame: ScreenSource::capture --> fit longest
//!        side <= 1280 --> JPEG --> base64 --> screen_frame --> outbox
//!  session.stop_screen_share() --> stop_screen_share, thread ends
//! ```
//!
//! Screen frames go over TCP (they must arrive whole) but are the one
//! message that may be dropped: if the last frame has not been written to
//! the socket yet, capturing another would only queue stale pictures
//! behind chat and file data, so the tick is skipped.

use std::path::Path;
use std::time::Duration;

use lanmeet_common::framing::encode_json;
use lanmeet_common::limits::MAX_CLIENT_FRAME;
use lanmeet_common::{base64, ClientMessage};

use super::error::MediaError;
use super::image::{encode_jpeg, fit_within, load_image, resize, RgbImage};

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
    /// Longest side in pixels after scaling (default 1280).
    pub max_side: u32,
    /// Frames per second, 2..=5 (default 3).
    pub fps: f64,
    /// JPEG quality (default 70: screen text needs more than faces).
    pub quality: u8,
}

impl Default for ScreenConfig {
    fn default() -> ScreenConfig {
        ScreenConfig {
            max_side: 1280,
            fps: 3.0,
            quality: 70,
        }
    }
}

/// The presenter's pipeline, one picture at a time.
pub struct ScreenEncoder {
    config: ScreenConfig,
}

impl ScreenEncoder {
    /// An encoder with these settings.
    pub fn new(config: ScreenConfig) -> ScreenEncoder {
        ScreenEncoder { config }
    }

    /// Time between pictures (2 to 5 a second).
    pub fn period(&self) -> Duration {
        let fps = if self.config.fps.is_finite() {
            self.config.fps.clamp(2.0, 5.0)
        } else {
            ScreenConfig::default().fps
        };
        Duration::from_secs_f64(1.0 / fps)
    }

    /// Captures the screen and returns a whole `screen_frame` frame,
    /// ready to write to the socket.
    pub fn next_frame(&mut self, source: &mut dyn ScreenSource) -> Result<Vec<u8>, MediaError> {
        let img = source.capture()?;
        let (width, height) = fit_within(img.width, img.height, self.config.max_side.max(16));
        let img = resize(&img, width, height);
        let jpeg = encode_jpeg(&img, self.config.quality)?;
        let bytes = encode_json(&ClientMessage::ScreenFrame {
            frame_data: base64::encode(&jpeg),
            width,
            height,
        });
        if bytes.len() > MAX_CLIENT_FRAME {
            return Err(MediaError::Format("larger than 4 MiB".into()));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_scaled_and_framed() {
        let mut enc = ScreenEncoder::new(ScreenConfig::default());
        assert!(enc.period() > Duration::from_millis(300));
        let mut src = ImageScreen::from_image(RgbImage::new(2560, 1440));
        let bytes = enc.next_frame(&mut src).unwrap();
        let (body, used) = lanmeet_common::framing::decode(&bytes, usize::MAX)
            .unwrap()
            .unwrap();
        assert_eq!(used, bytes.len());
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["type"], "screen_frame");
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(1280), Some(720))
        );
    }
}
