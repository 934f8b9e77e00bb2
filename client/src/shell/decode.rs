//! The receiving end of video: JPEGs waiting for the decoder thread, and
//! the newest decoded picture of each sender.
//!
//! ```text
//!  core Output::Decode --> DecodeQueue (newest JPEG per slot: a sender's
//!                          full layer and thumbnail layer are two slots)
//!    --> decoder thread: media::video::decode_frame
//!    --> FrameSlots (newest picture per sender, of either layer, and the
//!                    screen) --> UI
//! ```
//!
//! Both hold one item per sender and replace it when a newer one comes: a
//! UI that falls behind skips frames, it never shows old ones. Decoding
//! runs on its own thread so a burst of frames never delays the UDP
//! reader (and with it the audio).
//!
//! Once a window says what it shows ([`DecodeQueue::set_shown`], from
//! `Session::show_layout`), a camera picture is decoded only for a person
//! with a tile, and at the tile's size: the JPEG decoder itself scales
//! down by 1/2, 1/4 or 1/8 (a 640x480 frame for a 145x109 tile is decoded
//! at 160x120, a sixteenth of the work; it may go down to 4/5 of the
//! tile's width, so a 240-pixel thumbnail for that tile is decoded at 120),
//! and what is left to shrink or grow is done here too, so the window only
//! copies pixels to the screen.
//! Without a layout (the headless client, tests) every picture is decoded
//! whole.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::stop::{lock, StopSignal};
use crate::core::{DecodeJob, Event, FrameKey};
use crate::media::image::{decode_jpeg_scaled, resize, RgbImage};
use crate::media::video::{decode_frame, VideoFrame};

/// JPEGs waiting to be decoded, at most one per key (the newest).
#[derive(Default)]
pub(crate) struct DecodeQueue {
    pending: Mutex<HashMap<FrameKey, (u32, Vec<u8>)>>,
    ready: Condvar,
    /// Frames replaced before they were decoded.
    pub(crate) skipped: AtomicU64,
    /// The size each person's tile is shown at; `None` until a window
    /// says (then every picture is decoded whole).
    shown: Mutex<Option<HashMap<String, (u32, u32)>>>,
    /// Camera frames not decoded because nobody shows them.
    pub(crate) not_shown: AtomicU64,
}

impl DecodeQueue {
    /// Queues a JPEG, replacing any older one of the same key.
    pub(crate) fn submit(&self, job: DecodeJob) {
        if lock(&self.pending)
            .insert(job.key, (job.frame_seq, job.jpeg))
            .is_some()
        {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
        self.ready.notify_one();
    }

    /// Forgets a slot's undecoded frame.
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

    /// From now on decode camera pictures only of these people, to fit
    /// these sizes (width, height in pixels).
    pub(crate) fn set_shown(&self, sizes: HashMap<String, (u32, u32)>) {
        *lock(&self.shown) = Some(sizes);
    }

    /// The size to decode `id`'s camera at: `Some(None)` whole (no window
    /// said), `Some(Some(size))` to fit a tile, `None` not at all.
    fn size_for(&self, id: &str) -> Option<Option<(u32, u32)>> {
        match &*lock(&self.shown) {
            None => Some(None),
            Some(sizes) => sizes.get(id).map(|&size| Some(size)),
        }
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

impl FrameSlots {
    /// Empties a slot (the camera went off, the share ended).
    pub(crate) fn clear(&self, key: &FrameKey) {
        match key {
            FrameKey::Camera(id) | FrameKey::Thumb(id) => {
                lock(&self.camera).remove(id);
            }
            FrameKey::Screen(_) => *lock(&self.screen) = None,
        }
    }
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
            let size = match &key {
                FrameKey::Camera(id) | FrameKey::Thumb(id) => queue.size_for(id),
                FrameKey::Screen(_) => Some(None),
            };
            let image = match size {
                None => {
                    queue.not_shown.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Some(None) => decode_frame(&jpeg),
                Some(Some((w, h))) => decode_to_fit(&jpeg, w, h),
            };
            let Some(image) = image else {
                continue;
            };
            decoded.fetch_add(1, Ordering::Relaxed);
            let (width, height, jpeg_bytes) = (image.width, image.height, jpeg.len());
            match key {
                // Either layer: the person's latest picture.
                FrameKey::Camera(id) | FrameKey::Thumb(id) => {
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

/// The largest `src_w` x `src_h` shape that fits in `width` x `height`
/// (the window's `fit_image` does the same sum, so a picture decoded to
/// this size is drawn 1:1).
pub(crate) fn fit_size(src_w: u32, src_h: u32, width: u32, height: u32) -> (u32, u32) {
    if src_w == 0 || src_h == 0 || width == 0 || height == 0 {
        return (0, 0);
    }
    let (sw, sh, w, h) = (
        u64::from(src_w),
        u64::from(src_h),
        u64::from(width),
        u64::from(height),
    );
    if w * sh <= h * sw {
        (width, (w * sh / sw) as u32)
    } else {
        ((h * sw / sh) as u32, height)
    }
}

/// Decodes a JPEG to the largest size of its shape that fits `width` x
/// `height`: scaled down by the decoder as far as it stays at least 4/5 of
/// that, then resized to the exact size. `None` for a broken JPEG (a panic
/// of the decoder included).
pub(crate) fn decode_to_fit(jpeg: &[u8], width: u32, height: u32) -> Option<RgbImage> {
    std::panic::catch_unwind(|| {
        let mut header = jpeg_decoder::Decoder::new(jpeg);
        header.read_info().ok()?;
        let info = header.info()?;
        let (w, h) = fit_size(u32::from(info.width), u32::from(info.height), width, height);
        if w == 0 || h == 0 {
            return None;
        }
        // Down to 4/5 of the width: a 240-pixel thumbnail for a 145-pixel
        // tile is decoded at 120 and grown by a fifth, not decoded whole
        // and shrunk (a quarter of the work, and small enough for the
        // decoder to stay on this thread instead of starting threads).
        let decoded = decode_jpeg_scaled(jpeg, (w * 4 / 5).max(1)).ok()?;
        Some(if (decoded.width, decoded.height) == (w, h) {
            decoded
        } else {
            resize_for_tile(&decoded, w, h)
        })
    })
    .ok()
    .flatten()
}

/// The same bilinear resize as `media::image::resize` (pixel centres,
/// 8 fractional bits, the same rounding), with each output column's two
/// source pixels and weight worked out once per picture instead of once
/// per pixel and channel: this thread resizes every picture of a grid
/// (25 people at 7.5 a second), and this way it takes a third of the
/// time.
fn resize_for_tile(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    if src.width == 0 || src.height == 0 || width == 0 || height == 0 {
        return resize(src, width, height);
    }
    /// Where output position `i` samples the source: the two neighbours
    /// and the second one's weight (of 256).
    fn taps(i: u32, ratio: u64, last: u32) -> (usize, usize, u32) {
        let max = u64::from(last) << 8;
        let s = ((u64::from(i) * ratio + ratio / 2).saturating_sub(128)).min(max);
        let (i0, f) = ((s >> 8) as usize, (s & 255) as u32);
        (i0, (i0 + 1).min(last as usize), f)
    }
    let x_ratio = (u64::from(src.width) << 8) / u64::from(width);
    let y_ratio = (u64::from(src.height) << 8) / u64::from(height);
    let columns: Vec<(usize, usize, u32)> = (0..width)
        .map(|x| {
            let (x0, x1, fx) = taps(x, x_ratio, src.width - 1);
            (x0 * 3, x1 * 3, fx)
        })
        .collect();
    let row_len = src.width as usize * 3;
    let mut out = RgbImage::new(width, height);
    for (y, out_row) in out.pixels.chunks_exact_mut(width as usize * 3).enumerate() {
        let (y0, y1, fy) = taps(y as u32, y_ratio, src.height - 1);
        let top = &src.pixels[y0 * row_len..(y0 + 1) * row_len];
        let bottom = &src.pixels[y1 * row_len..(y1 + 1) * row_len];
        for (px, &(x0, x1, fx)) in out_row.chunks_exact_mut(3).zip(&columns) {
            for c in 0..3 {
                let t = u32::from(top[x0 + c]) * (256 - fx) + u32::from(top[x1 + c]) * fx;
                let b = u32::from(bottom[x0 + c]) * (256 - fx) + u32::from(bottom[x1 + c]) * fx;
                px[c] = ((t * (256 - fy) + b * fy) >> 16) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, seq: u32) -> DecodeJob {
        DecodeJob {
            key: FrameKey::Camera(id.into()),
            frame_seq: seq,
            jpeg: vec![seq as u8],
        }
    }

    #[test]
    fn queue_keeps_newest_per_key() {
        let q = DecodeQueue::default();
        q.submit(job("c1", 1));
        q.submit(job("c1", 2));
        q.submit(job("c2", 9));
        let mut got = q.take(Duration::ZERO);
        got.sort_by_key(|(_, s, _)| *s);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, 2);
        assert_eq!(q.skipped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn pictures_are_decoded_at_the_size_they_are_shown() {
        use crate::media::image::encode_jpeg;
        use crate::media::video::TestPattern;
        use crate::media::VideoSource;
        let frame = TestPattern::new(640, 480).next_frame().unwrap();
        let jpeg = encode_jpeg(&frame, 70).unwrap();
        // A 145x109 tile: the decoder's 1/4 (160x120), then 145x108; a
        // 100x75 one: 1/8 (80x60, at least 4/5 of 100), then 100x75.
        let small = decode_to_fit(&jpeg, 145, 109).unwrap();
        assert_eq!((small.width, small.height), (145, 108));
        let tiny = decode_to_fit(&jpeg, 100, 75).unwrap();
        assert_eq!((tiny.width, tiny.height), (100, 75));
        // Letterboxed in a wide box, grown for a large stage.
        let wide = decode_to_fit(&jpeg, 400, 150).unwrap();
        assert_eq!((wide.width, wide.height), (200, 150));
        let stage = decode_to_fit(&jpeg, 960, 720).unwrap();
        assert_eq!((stage.width, stage.height), (960, 720));
        // The colours survive the scaled decode: the picture's mean is
        // close to the full decode's.
        let whole = decode_frame(&jpeg).unwrap();
        let mean = |i: &RgbImage| {
            i.pixels.iter().map(|&p| u64::from(p)).sum::<u64>() / i.pixels.len() as u64
        };
        assert!(
            mean(&whole).abs_diff(mean(&small)) < 12,
            "{} vs {}",
            mean(&whole),
            mean(&small)
        );
        assert!(decode_to_fit(b"not a jpeg", 100, 100).is_none());
        assert!(decode_to_fit(&jpeg, 0, 100).is_none());
    }

    #[test]
    fn the_tile_resize_gives_the_same_pixels_as_the_plain_one() {
        let mut src = RgbImage::new(120, 90);
        for (i, p) in src.pixels.iter_mut().enumerate() {
            *p = (i * 7 % 251) as u8;
        }
        for (w, h) in [
            (145, 108),
            (100, 75),
            (120, 90),
            (61, 1),
            (1, 1),
            (240, 180),
        ] {
            assert_eq!(resize_for_tile(&src, w, h), resize(&src, w, h), "{w}x{h}");
        }
    }

    #[test]
    fn people_not_shown_are_not_decoded() {
        let q = DecodeQueue::default();
        assert_eq!(q.size_for("c1"), Some(None), "no window: everything whole");
        q.set_shown([("c1".to_string(), (145, 109))].into_iter().collect());
        assert_eq!(q.size_for("c1"), Some(Some((145, 109))));
        assert_eq!(q.size_for("c2"), None);
    }

    #[test]
    fn the_decoder_thread_skips_the_hidden_and_shrinks_the_shown() {
        use crate::media::image::encode_jpeg;
        use crate::media::video::TestPattern;
        use crate::media::VideoSource;
        let jpeg = encode_jpeg(&TestPattern::new(640, 480).next_frame().unwrap(), 70).unwrap();
        let queue = Arc::new(DecodeQueue::default());
        queue.set_shown([("c1".to_string(), (160, 120))].into_iter().collect());
        let slots = Arc::new(FrameSlots::default());
        let stop = StopSignal::new();
        let (events, events_rx) = std::sync::mpsc::channel();
        let decoded = Arc::new(AtomicU64::new(0));
        let (q, s, st, d) = (queue.clone(), slots.clone(), stop.clone(), decoded.clone());
        let thread = std::thread::spawn(move || run_decoder(q, s, st, events, d));
        for id in ["c1", "c2"] {
            queue.submit(DecodeJob {
                key: FrameKey::Camera(id.into()),
                frame_seq: 1,
                jpeg: jpeg.clone(),
            });
        }
        let event = events_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(
            matches!(event, Event::VideoFrame { ref client_id, width: 160, height: 120, .. } if client_id == "c1"),
            "{event:?}"
        );
        while queue.not_shown.load(Ordering::Relaxed) == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.stop();
        queue.wake();
        thread.join().unwrap();
        assert_eq!(decoded.load(Ordering::Relaxed), 1);
        assert!(lock(&slots.camera).get("c2").is_none());
        assert_eq!(lock(&slots.camera)["c1"].image.width, 160);
    }
}
