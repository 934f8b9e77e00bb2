//! Webcam video: the sending pipeline, the receiving pipeline, and a test
//! pattern that needs no camera.
//!
//! ```text
//!  send (one thread, paced at fps from a start Instant):
//!    VideoSource::next_frame --> resize to WxH --> JPEG (quality q)
//!      --> video::fragment (fits max_datagram) --> 'V' datagrams --> UDP
//!
//!  receive:
//!    UDP reader --> FragmentAssembler --> DecodeQueue (newest JPEG per sender)
//!      --> decoder thread --> FrameSlots (newest RGB per sender) --> UI
//! ```
//!
//! Both queues hold one item per sender and replace it when a newer one
//! comes: a UI that falls behind skips frames, it never shows old ones.
//! Decoding runs on its own thread so a burst of frames never delays the
//! UDP reader (and with it the audio).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use lanmeet_common::video;

use crate::error::MediaError;
use crate::event::Event;
use crate::font::draw_number;
use crate::image::{decode_jpeg, encode_jpeg, resize, RgbImage};
use crate::session::UdpLink;
use crate::stop::{lock, StopSignal};

/// Where camera frames come from.
pub trait VideoSource: Send {
    /// The next frame, any size (the pipeline resizes it). Called once per
    /// frame period from the video sender thread.
    fn next_frame(&mut self) -> Result<RgbImage, MediaError>;

    /// The next frame as a JPEG of exactly `width` x `height`, when the
    /// source has one ready (a camera that delivers MJPEG at that size):
    /// the pipeline then sends it as it is, with no decode and re-encode.
    /// `Ok(None)`, the default, means "call `next_frame`".
    fn next_jpeg(&mut self, width: u32, height: u32) -> Result<Option<Vec<u8>>, MediaError> {
        let _ = (width, height);
        Ok(None)
    }
}

/// Size, rate and quality of the video we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoConfig {
    /// Pixels across (default 640).
    pub width: u32,
    /// Pixels down (default 480).
    pub height: u32,
    /// Frames per second, 1..=30 (default 20).
    pub fps: u32,
    /// JPEG quality, 1..=100 (default 60).
    pub quality: u8,
}

impl Default for VideoConfig {
    fn default() -> VideoConfig {
        VideoConfig {
            width: 640,
            height: 480,
            fps: 20,
            quality: 60,
        }
    }
}

/// Highest frame rate the sender allows.
pub const MAX_FPS: u32 = 30;

/// A decoded frame from one participant (or the presenter's screen).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFrame {
    /// Who sent it.
    pub client_id: String,
    /// The sender's frame number (screen frames count locally).
    pub frame_seq: u32,
    /// The pixels.
    pub image: RgbImage,
    /// Size of the JPEG it came from.
    pub jpeg_bytes: usize,
}

/// A synthetic camera: moving colour bars, a bouncing square, and the
/// frame number drawn in the top-left corner.
pub struct TestPattern {
    width: u32,
    height: u32,
    frame: u64,
}

impl TestPattern {
    /// A pattern of this size (at least 16x16).
    pub fn new(width: u32, height: u32) -> TestPattern {
        TestPattern {
            width: width.max(16),
            height: height.max(16),
            frame: 0,
        }
    }

    /// Draws frame number `n`.
    pub fn draw(&self, n: u64) -> RgbImage {
        const BARS: [[u8; 3]; 8] = [
            [235, 235, 235],
            [235, 235, 16],
            [16, 235, 235],
            [16, 235, 16],
            [235, 16, 235],
            [235, 16, 16],
            [16, 16, 235],
            [40, 40, 40],
        ];
        let (w, h) = (self.width, self.height);
        let mut img = RgbImage::new(w, h);
        let bar_w = (w / 8).max(1);
        let shift = (n * 4 % u64::from(w)) as u32;
        for x in 0..w {
            let bar = ((x + shift) % w / bar_w).min(7) as usize;
            for y in 0..h {
                img.put(x, y, BARS[bar]);
            }
        }
        // A square bouncing left and right along the lower third.
        let side = h / 6;
        let travel = u64::from(w - side).max(1);
        let phase = n * 8 % (2 * travel);
        let sx = if phase < travel {
            phase
        } else {
            2 * travel - phase
        } as u32;
        img.fill_rect(sx, h - side - h / 12, side, side, [255, 255, 255]);
        draw_number(&mut img, h / 40, h / 40, (h / 60).max(1), n, [255, 255, 0]);
        img
    }
}

impl VideoSource for TestPattern {
    fn next_frame(&mut self) -> Result<RgbImage, MediaError> {
        let img = self.draw(self.frame);
        self.frame += 1;
        Ok(img)
    }
}

/// Sends frames from `source` until `stop`: the video sender thread.
pub(crate) fn run_sender(
    mut source: Box<dyn VideoSource>,
    config: VideoConfig,
    link: UdpLink,
    stop: StopSignal,
    sent: Arc<AtomicU64>,
    warn: impl Fn(String),
) {
    let period = Duration::from_secs(1) / config.fps.clamp(1, MAX_FPS);
    let mut start = Instant::now();
    let mut n: u32 = 0;
    let mut seq: u32 = 0;
    let mut quality = config.quality.clamp(1, 100);
    let mut last_warning = String::new();
    loop {
        let due = start + period * n;
        if stop.wait_until(due) {
            return;
        }
        n += 1;
        // Fell behind by more than a frame (a slow encode, a busy machine):
        // skip the missed frames rather than send a burst of them.
        if Instant::now() > due + period {
            start = Instant::now();
            n = 1;
        }
        let limit = video::fragment_payload(&link.client_id, link.max_datagram) * 256;
        let encode = |img: RgbImage, quality: u8| {
            let img = resize(&img, config.width, config.height);
            encode_jpeg(&img, quality).map(|jpeg| (Some(img), jpeg))
        };
        let result = match source.next_jpeg(config.width, config.height) {
            Ok(Some(jpeg)) if jpeg.len() <= limit => Ok((None, jpeg)),
            // Too big to send as it is: decode it and encode it smaller.
            Ok(Some(jpeg)) => decode_jpeg(&jpeg).and_then(|img| encode(img, quality)),
            Ok(None) => source.next_frame().and_then(|img| encode(img, quality)),
            Err(e) => Err(e),
        };
        let (img, jpeg) = match result {
            Ok(r) => r,
            Err(e) => {
                let text = format!("camera frame skipped: {e}");
                if text != last_warning {
                    warn(text.clone());
                    last_warning = text;
                }
                continue;
            }
        };
        let mut jpeg = jpeg;
        // A frame too big for 256 fragments: lower the quality until it
        // fits (and keep the lower quality for the next frames).
        while let Some(img) = img.as_ref().filter(|_| jpeg.len() > limit && quality > 10) {
            quality = quality.saturating_sub(10).max(10);
            match encode_jpeg(img, quality) {
                Ok(j) => jpeg = j,
                Err(_) => break,
            }
        }
        let sent_ok = video::fragment(&link.client_id, seq, &jpeg, link.max_datagram, |d| {
            // A full socket buffer or a transient error loses this
            // fragment, and the receiver drops the frame: acceptable.
            let _ = link.socket.send(d);
        });
        if sent_ok.is_ok() {
            sent.fetch_add(1, Ordering::Relaxed);
        }
        seq = seq.wrapping_add(1);
    }
}

/// Which slot a JPEG is decoded into.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum FrameKey {
    /// A participant's camera.
    Camera(String),
    /// The presenter's screen.
    Screen(String),
}

/// JPEGs waiting to be decoded, at most one per key (the newest).
#[derive(Default)]
pub(crate) struct DecodeQueue {
    pending: Mutex<HashMap<FrameKey, (u32, Vec<u8>)>>,
    ready: Condvar,
    /// Frames replaced before they were decoded.
    pub(crate) skipped: AtomicU64,
}

impl DecodeQueue {
    /// Queues a JPEG, replacing any older one of the same key.
    pub(crate) fn submit(&self, key: FrameKey, seq: u32, jpeg: Vec<u8>) {
        if lock(&self.pending).insert(key, (seq, jpeg)).is_some() {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
        self.ready.notify_one();
    }

    /// Forgets a sender's undecoded frame.
    pub(crate) fn forget(&self, key: &FrameKey) {
        lock(&self.pending).remove(key);
    }

    /// Waits up to `wait` for work and takes all of it.
    fn take(&self, wait: Duration) -> Vec<(FrameKey, u32, Vec<u8>)> {
        let mut pending = lock(&self.pending);
        if pending.is_empty() {
            pending = match self.ready.wait_timeout(pending, wait) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        pending.drain().map(|(k, (s, j))| (k, s, j)).collect()
    }

    /// Wakes the decoder (used when stopping).
    pub(crate) fn wake(&self) {
        self.ready.notify_all();
    }
}

/// The newest decoded frame of each sender, and of the screen.
#[derive(Default)]
pub(crate) struct FrameSlots {
    pub(crate) camera: Mutex<HashMap<String, Arc<VideoFrame>>>,
    pub(crate) screen: Mutex<Option<Arc<VideoFrame>>>,
}

/// Decodes queued JPEGs until `stop`: the decoder thread.
pub(crate) fn run_decoder(
    queue: Arc<DecodeQueue>,
    slots: Arc<FrameSlots>,
    stop: StopSignal,
    events: Sender<Event>,
    decoded: Arc<AtomicU64>,
) {
    while !stop.is_stopped() {
        for (key, seq, jpeg) in queue.take(Duration::from_millis(200)) {
            // The JPEG comes from another participant. A corrupt one is an
            // error to skip; a decoder panic on hostile bytes is caught too,
            // so one bad frame cannot end everyone's video for the session.
            let image = match std::panic::catch_unwind(|| decode_jpeg(&jpeg)) {
                Ok(Ok(img)) => img,
                Ok(Err(_)) | Err(_) => continue,
            };
            decoded.fetch_add(1, Ordering::Relaxed);
            let (width, height, jpeg_bytes) = (image.width, image.height, jpeg.len());
            match key {
                FrameKey::Camera(id) => {
                    let frame = VideoFrame {
                        client_id: id.clone(),
                        frame_seq: seq,
                        image,
                        jpeg_bytes,
                    };
                    lock(&slots.camera).insert(id.clone(), Arc::new(frame));
                    let _ = events.send(Event::VideoFrame {
                        client_id: id,
                        frame_seq: seq,
                        width,
                        height,
                        jpeg_bytes,
                    });
                }
                FrameKey::Screen(id) => {
                    let frame = VideoFrame {
                        client_id: id.clone(),
                        frame_seq: seq,
                        image,
                        jpeg_bytes,
                    };
                    *lock(&slots.screen) = Some(Arc::new(frame));
                    let _ = events.send(Event::ScreenFrame {
                        presenter_id: id,
                        width,
                        height,
                        jpeg_bytes,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_moves_and_encodes() {
        let mut p = TestPattern::new(320, 240);
        let a = p.next_frame().unwrap();
        let b = p.next_frame().unwrap();
        assert_eq!((a.width, a.height), (320, 240));
        assert_ne!(a, b);
        let jpeg = encode_jpeg(&a, 60).unwrap();
        assert!(jpeg.len() < 40_000, "{}", jpeg.len());
    }

    #[test]
    fn queue_keeps_newest_per_key() {
        let q = DecodeQueue::default();
        q.submit(FrameKey::Camera("c1".into()), 1, vec![1]);
        q.submit(FrameKey::Camera("c1".into()), 2, vec![2]);
        q.submit(FrameKey::Camera("c2".into()), 9, vec![9]);
        let mut got = q.take(Duration::ZERO);
        got.sort_by_key(|(_, s, _)| *s);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, 2);
        assert_eq!(q.skipped.load(Ordering::Relaxed), 1);
    }
}
