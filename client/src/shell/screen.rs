//! The viewer's screen painter: keyframes and patches, applied in the
//! order they came, to the picture the viewer holds.
//!
//! ```text
//!  core Output::Screen(job) --> ScreenJobs (in order; a keyframe drops
//!                               the jobs before it)
//!    --> painter thread: ScreenCanvas::keyframe / ::patch
//!    --> FrameSlots.screen (a copy of the picture) + Event::ScreenFrame --> UI
//! ```
//!
//! Unlike camera frames, patches cannot be skipped: each paints over the
//! last. A keyframe makes everything queued before it moot, which bounds
//! the queue in practice; [`MAX_QUEUED_BYTES`] bounds it always (past it
//! the queue is emptied and the picture waits for the next keyframe).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::decode::FrameSlots;
use super::stop::{lock, StopSignal};
use crate::core::{Event, ScreenJob};
use crate::media::{ScreenCanvas, VideoFrame};

/// JPEG bytes the painter may have waiting.
pub(crate) const MAX_QUEUED_BYTES: usize = 64 * 1024 * 1024;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<ScreenJob>,
    bytes: usize,
    /// Jobs were dropped: patches wait for the next keyframe.
    broken: bool,
    /// Bumped by `clear`: the painter drops its picture.
    generation: u64,
}

/// Screen jobs waiting for the painter, in order.
#[derive(Default)]
pub(crate) struct ScreenJobs {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Patches dropped (behind the limit, or before a keyframe).
    pub(crate) dropped: AtomicU64,
}

fn job_bytes(job: &ScreenJob) -> usize {
    match job {
        ScreenJob::Keyframe { jpeg, .. } => jpeg.len(),
        ScreenJob::Patch { pieces, .. } => pieces.iter().map(|p| p.jpeg.len()).sum(),
    }
}

impl ScreenJobs {
    /// Queues a job.
    pub(crate) fn submit(&self, job: ScreenJob) {
        let mut q = lock(&self.queue);
        if matches!(job, ScreenJob::Keyframe { .. }) {
            q.jobs.clear();
            q.bytes = 0;
            q.broken = false;
        } else if q.broken || q.bytes + job_bytes(&job) > MAX_QUEUED_BYTES {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            q.jobs.clear();
            q.bytes = 0;
            q.broken = true;
            return;
        }
        q.bytes += job_bytes(&job);
        q.jobs.push_back(job);
        self.ready.notify_one();
    }

    /// The share ended: forget the jobs and the picture.
    pub(crate) fn clear(&self) {
        let mut q = lock(&self.queue);
        q.jobs.clear();
        q.bytes = 0;
        q.broken = false;
        q.generation += 1;
        self.ready.notify_one();
    }

    /// Waits up to `wait` for work; takes it with the clear generation.
    fn take(&self, wait: Duration) -> (u64, Vec<ScreenJob>) {
        let mut q = lock(&self.queue);
        if q.jobs.is_empty() {
            q = match self.ready.wait_timeout(q, wait) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        q.bytes = 0;
        let generation = q.generation;
        (generation, q.jobs.drain(..).collect())
    }

    /// Wakes the painter (used when stopping).
    pub(crate) fn wake(&self) {
        self.ready.notify_all();
    }
}

/// Paints queued jobs until `stop`: the screen painter thread.
pub(crate) fn run_painter(
    jobs: Arc<ScreenJobs>,
    slots: Arc<FrameSlots>,
    stop: StopSignal,
    events: Sender<Event>,
) {
    let mut canvas = ScreenCanvas::new();
    let mut generation = 0;
    let mut seq = 0u32;
    while !stop.is_stopped() {
        let (now_generation, work) = jobs.take(Duration::from_millis(200));
        if now_generation != generation {
            generation = now_generation;
            canvas.clear();
        }
        if work.is_empty() {
            continue;
        }
        let mut last = None;
        for job in work {
            let bytes = job_bytes(&job);
            let (presenter_id, result) = match job {
                ScreenJob::Keyframe { presenter_id, jpeg } => {
                    (presenter_id, canvas.keyframe(&jpeg))
                }
                ScreenJob::Patch {
                    presenter_id,
                    pieces,
                } => (
                    presenter_id,
                    canvas.patch(pieces.iter().map(|p| (p.x, p.y, p.jpeg.as_slice()))),
                ),
            };
            if result.is_ok() {
                last = Some((presenter_id, bytes));
            } else {
                jobs.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        let (Some((presenter_id, jpeg_bytes)), Some(picture)) = (last, canvas.picture()) else {
            continue;
        };
        // A share that ended while we painted is not shown again.
        if lock(&jobs.queue).generation != generation {
            continue;
        }
        let (width, height) = (picture.width, picture.height);
        let frame = VideoFrame {
            client_id: presenter_id.clone(),
            frame_seq: seq,
            image: picture.clone(),
            jpeg_bytes,
        };
        seq = seq.wrapping_add(1);
        *lock(&slots.screen) = Some(Arc::new(frame));
        let _ = events.send(Event::ScreenFrame {
            presenter_id,
            width,
            height,
            jpeg_bytes,
        });
    }
}
