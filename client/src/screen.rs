//! Screen sharing, the presenter's side (the viewers' side is the video
//! decoder, fed by the TCP reader).
//!
//! ```text
//!  session.start_screen_share(source) --> request_screen_share
//!  <-- screen_share_started{presenter_id: us}
//!  screen thread, every 1/fps s:
//!      previous frame still in the outbox? --> skip this tick
//!      ScreenSource::capture --> fit longest side <= 1280 --> JPEG
//!        --> base64 --> screen_frame{frame_data, width, height} --> outbox
//!  session.stop_screen_share() --> stop_screen_share, thread ends
//! ```
//!
//! Screen frames go over TCP (they must arrive whole) but are the one
//! message that may be dropped: if the last frame has not been written to
//! the socket yet, capturing another would only queue stale pictures
//! behind chat and file data, so the tick is skipped.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lanmeet_common::framing::encode_json;
use lanmeet_common::limits::MAX_CLIENT_FRAME;
use lanmeet_common::{base64, ClientMessage};

use crate::error::MediaError;
use crate::image::{encode_jpeg, fit_within, load_image, resize, RgbImage};
use crate::stop::StopSignal;
use crate::wire::Outgoing;

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

/// Counters of the screen sender.
#[derive(Default)]
pub(crate) struct ScreenCounters {
    pub(crate) sent: AtomicU64,
    pub(crate) skipped: AtomicU64,
}

/// Captures and sends until `stop`: the screen sender thread.
pub(crate) fn run_sender(
    mut source: Box<dyn ScreenSource>,
    config: ScreenConfig,
    outbox: Sender<Outgoing>,
    stop: StopSignal,
    counters: Arc<ScreenCounters>,
    warn: impl Fn(String),
) {
    let fps = if config.fps.is_finite() {
        config.fps.clamp(2.0, 5.0)
    } else {
        ScreenConfig::default().fps
    };
    let period = Duration::from_secs_f64(1.0 / fps);
    let in_flight = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut n: u32 = 0;
    let mut last_warning = String::new();
    loop {
        if stop.wait_until(start + period * n) {
            return;
        }
        n += 1;
        if in_flight.load(Ordering::Acquire) {
            counters.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let frame = source.capture().and_then(|img| {
            let (w, h) = fit_within(img.width, img.height, config.max_side.max(16));
            let img = resize(&img, w, h);
            encode_jpeg(&img, config.quality).map(|jpeg| (jpeg, w, h))
        });
        let (jpeg, width, height) = match frame {
            Ok(f) => f,
            Err(e) => {
                let text = format!("screen frame skipped: {e}");
                if text != last_warning {
                    warn(text.clone());
                    last_warning = text;
                }
                continue;
            }
        };
        let bytes = encode_json(&ClientMessage::ScreenFrame {
            frame_data: base64::encode(&jpeg),
            width,
            height,
        });
        if bytes.len() > MAX_CLIENT_FRAME {
            warn("screen frame skipped: larger than 4 MiB".into());
            continue;
        }
        in_flight.store(true, Ordering::Release);
        if outbox
            .send(Outgoing::Screen(bytes, in_flight.clone()))
            .is_err()
        {
            return;
        }
        counters.sent.fetch_add(1, Ordering::Relaxed);
    }
}
