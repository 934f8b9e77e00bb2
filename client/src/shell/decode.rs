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

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::stop::{lock, StopSignal};
use crate::core::{DecodeJob, Event, FrameKey};
use crate::media::video::{decode_frame, VideoFrame};

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
            let Some(image) = decode_frame(&jpeg) else {
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
}
