//! A real microphone as an [`AudioSource`]: any device, any rate, any
//! sample format, delivered as 10 ms frames of 48 kHz mono.
//!
//! ```text
//!  cpal callback (audio thread, any size: 441, 640, 960 frames ...)
//!    empty Vec <-- try_recv(spares)            (none yet? allocate one)
//!    raw samples --downmix to mono f32--> try_send(Vec) --+
//!                                 (full? drop, count it)   |  sync_channel(64)
//!  audio sender thread, every 10 ms:                       |
//!    read_frame <-- 480 samples <-- FIFO <-- Resampler <---+  (waits up to 0.5 s)
//!    used Vec --> try_send(spares)
//! ```
//!
//! The callback runs on the sound system's real-time thread and must
//! never wait. It only mixes to mono and hands the buffer over with
//! `SyncSender::try_send`: a bounded channel whose `try_` calls never
//! block (a lock-free queue inside std), where a `Mutex` could make the
//! audio thread wait for a reader that was descheduled while holding it.
//! Buffers travel back on a second channel and are reused, so after the
//! first few callbacks the audio thread neither allocates nor frees
//! memory (both may take a lock in the allocator). If the reader has
//! stopped reading, buffers are dropped and counted, not queued.
//! Resampling and framing happen on the reader's side, so the callback
//! does the least possible work.
//!
//! The reader waits for sound: the device's clock, not the sender's
//! sleep, sets the pace. If the device runs a little fast the FIFO is
//! trimmed back to 40 ms, so the delay cannot grow. If the device stops
//! delivering (unplugged, the sound server gone), `read_frame` fails with
//! a message and the session reports it as a warning.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cpal::traits::DeviceTrait;
use cpal::{Data, Sample, SampleFormat};
use lanmeet_common::audio::{Frame, FRAME_SAMPLES, SAMPLE_RATE};

use super::resample::{downmix, to_i16, Resampler};
use super::sound::{self, StreamOwner};
use super::{DeviceError, DeviceKind};
use crate::media::{AudioSource, MediaError};

/// Buffers the callback may queue before it drops (about 0.6 s or more).
const QUEUE: usize = 64;

/// How long `read_frame` waits for sound before it calls the device dead.
const STALL: Duration = Duration::from_millis(500);

/// Most sound kept between callbacks and reads, in 48 kHz samples (40 ms).
const MAX_BACKLOG: usize = FRAME_SAMPLES * 4;

/// An open microphone.
pub struct Microphone {
    name: String,
    rate: u32,
    chunks: Receiver<Vec<f32>>,
    spares: SyncSender<Vec<f32>>,
    resampler: Resampler,
    fifo: VecDeque<i16>,
    scratch: Vec<f32>,
    failure: Arc<Mutex<Option<String>>>,
    dropped: Arc<AtomicU64>,
    samples_in: u64,
    // Dropped last: stops the stream after the channel is gone.
    _stream: StreamOwner,
}

impl Microphone {
    /// Opens the microphone `id` (from [`super::list`]), or the default
    /// one for `None`, in its own format.
    pub fn open(id: Option<&str>) -> Result<Microphone, DeviceError> {
        let kind = DeviceKind::Microphone;
        let device = sound::find(kind, id)?;
        let name = sound::display_name(&device);
        let (mut config, format) = sound::choose_format(kind, &device)?;
        config.buffer_size = sound::buffer_for(&device, config.sample_rate, 20);
        let rate = config.sample_rate;
        let channels = usize::from(config.channels);
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<f32>>(QUEUE);
        let failure = Arc::new(Mutex::new(None));
        let dropped = Arc::new(AtomicU64::new(0));
        let (fail, drops, label) = (failure.clone(), dropped.clone(), name.clone());
        let stream = StreamOwner::start(kind, &name, move || {
            let on_data = move |data: &Data, _: &cpal::InputCallbackInfo| {
                let mut mono = spare_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(data.len() / channels.max(1)));
                mono.clear();
                to_mono(data, channels, &mut mono);
                push(&tx, mono, &drops);
            };
            let on_error = move |e: cpal::Error| {
                // Not the audio thread's hot path: a plain lock is fine.
                if let Ok(mut f) = fail.lock() {
                    f.get_or_insert_with(|| e.to_string());
                }
            };
            device
                .build_input_stream_raw(config, format, on_data, on_error, sound::open_timeout())
                .map_err(|e| sound::classify(kind, &label, &e))
        })?;
        Ok(Microphone {
            name,
            rate,
            chunks: rx,
            spares: spare_tx,
            resampler: Resampler::new(rate, SAMPLE_RATE),
            fifo: VecDeque::with_capacity(MAX_BACKLOG * 2),
            scratch: Vec::new(),
            failure,
            dropped,
            samples_in: 0,
            _stream: stream,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device's own sample rate (the resampler turns it into 48 kHz).
    pub fn device_rate(&self) -> u32 {
        self.rate
    }

    /// Callback buffers dropped because nobody read them in time.
    pub fn dropped_buffers(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Samples received from the device so far, at its own rate.
    pub fn samples_captured(&self) -> u64 {
        self.samples_in
    }

    fn dead(&self, why: &str) -> MediaError {
        MediaError::Device(format!("{}: {why}", self.name))
    }

    fn take_chunk(&mut self, chunk: Vec<f32>) {
        self.samples_in += chunk.len() as u64;
        self.scratch.clear();
        self.resampler.process(&chunk, &mut self.scratch);
        self.fifo.extend(self.scratch.iter().map(|s| to_i16(*s)));
        // Back to the callback for reuse (dropped here if it has enough).
        let _ = self.spares.try_send(chunk);
    }
}

/// Hands a buffer to the reader without ever waiting.
fn push(tx: &SyncSender<Vec<f32>>, mono: Vec<f32>, dropped: &AtomicU64) {
    match tx.try_send(mono) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(_)) => {
            dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Mixes one callback's interleaved samples, whatever their type, to mono.
fn to_mono(data: &Data, channels: usize, out: &mut Vec<f32>) {
    fn mix<T: Sample + cpal::SizedSample>(data: &Data, channels: usize, out: &mut Vec<f32>)
    where
        f32: cpal::FromSample<T>,
    {
        if let Some(s) = data.as_slice::<T>() {
            downmix(s, channels, |x: T| x.to_sample::<f32>(), out);
        }
    }
    match data.sample_format() {
        SampleFormat::I8 => mix::<i8>(data, channels, out),
        SampleFormat::I16 => mix::<i16>(data, channels, out),
        SampleFormat::I32 => mix::<i32>(data, channels, out),
        SampleFormat::U8 => mix::<u8>(data, channels, out),
        SampleFormat::U16 => mix::<u16>(data, channels, out),
        SampleFormat::U32 => mix::<u32>(data, channels, out),
        SampleFormat::F32 => mix::<f32>(data, channels, out),
        SampleFormat::F64 => mix::<f64>(data, channels, out),
        // choose_format never opens a stream in another format.
        _ => {}
    }
}

impl AudioSource for Microphone {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool, MediaError> {
        let deadline = Instant::now() + STALL;
        // Take whatever has arrived, then wait only if a frame is missing.
        while let Ok(chunk) = self.chunks.try_recv() {
            self.take_chunk(chunk);
        }
        while self.fifo.len() < FRAME_SAMPLES {
            if let Some(why) = self.failure.lock().ok().and_then(|f| f.clone()) {
                return Err(self.dead(&why));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.take_chunk(chunk),
                Err(RecvTimeoutError::Timeout) => return Err(self.dead("no sound for 0.5 s")),
                Err(RecvTimeoutError::Disconnected) => return Err(self.dead("the stream closed")),
            }
        }
        // A device a little faster than our clock: drop the oldest sound
        // rather than let the delay grow.
        while self.fifo.len() > MAX_BACKLOG {
            self.fifo.drain(..FRAME_SAMPLES);
        }
        for (o, s) in out.iter_mut().zip(self.fifo.drain(..FRAME_SAMPLES)) {
            *o = s;
        }
        Ok(true)
    }
}
