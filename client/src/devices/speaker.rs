//! A real speaker (or headset) as an [`AudioSink`]: 10 ms frames of 48 kHz
//! mono in, the device's own rate, channels and sample format out.
//!
//! ```text
//!  playout thread, every 10 ms:
//!    write_frame --> Resampler (48 kHz -> device rate) --> upmix to N ch
//!      --> try_send(Vec) --+        (full: the device is behind, drop it)
//!                          |  sync_channel(5): at most 50 ms queued,
//!                          |  trimmed to 30 ms in quiet frames
//!  cpal callback (audio thread, asks for any number of frames)
//!    fill from the current buffer, try_recv the next one, or play silence
//!    played Vec --> try_send(spares) --> reused by write_frame
//! ```
//!
//! As with the microphone, the callback never waits: it takes buffers
//! with `Receiver::try_recv` and plays silence when none is there (an
//! underrun, counted). Played buffers go back to the playout thread for
//! reuse, so the callback does not free memory either. The bounded channel keeps the delay bounded: when
//! the playout thread runs a little faster than the device's clock, a
//! frame is dropped instead of queued. With the PulseAudio host the
//! stream asks for a fixed 20 ms buffer; its default would add about
//! two seconds of delay.
//!
//! The queue is also kept short: whatever fills it once (a device that
//! starts late, a stall, a playout clock a little fast) would otherwise
//! stay as delay for the rest of the meeting, since both sides then run
//! at the same pace. Buffers waiting are counted (up when queued, down
//! when the callback takes one); over `TRIM_TO` a quiet frame is not
//! queued, so the trim is never heard.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};

use cpal::traits::DeviceTrait;
use cpal::{Data, FromSample, SampleFormat, SizedSample};
use lanmeet_common::audio::{Frame, SAMPLE_RATE};

use super::resample::{from_i16, Resampler};
use super::sound::{self, StreamOwner};
use super::{DeviceError, DeviceKind};
use crate::media::{AudioSink, MediaError};

/// 10 ms buffers that may wait for the device: 50 ms.
const QUEUE: usize = 5;

/// Buffers waiting over which a quiet frame is dropped: 30 ms (the
/// device takes 20 ms at a time, and the playout may be a frame late).
const TRIM_TO: usize = 3;

/// A frame whose samples all stay under this (-40 dBFS) is quiet.
const QUIET: u16 = 328;

/// Counters shared with the callback.
#[derive(Default)]
struct PlayCounters {
    /// Frames (per channel) the device has taken, sound or silence.
    frames: AtomicU64,
    /// Callbacks that ran out of sound.
    underruns: AtomicU64,
    /// Our frames dropped because the queue was full.
    dropped: AtomicU64,
    /// Quiet frames left out to keep the queue short.
    trimmed: AtomicU64,
    /// Buffers waiting in the queue now.
    queued: AtomicUsize,
}

/// An open speaker.
pub struct Speaker {
    name: String,
    rate: u32,
    channels: usize,
    buffers: SyncSender<Vec<f32>>,
    spares: Receiver<Vec<f32>>,
    resampler: Resampler,
    scratch: Vec<f32>,
    failure: Arc<Mutex<Option<String>>>,
    counters: Arc<PlayCounters>,
    _stream: StreamOwner,
}

impl Speaker {
    /// Opens the speaker `id` (from [`super::list`]), or the default one
    /// for `None`, in its own format.
    pub fn open(id: Option<&str>) -> Result<Speaker, DeviceError> {
        let kind = DeviceKind::Speaker;
        let device = sound::find(kind, id)?;
        let name = sound::display_name(&device);
        let (mut config, format) = sound::choose_format(kind, &device)?;
        config.buffer_size = sound::buffer_for(&device, config.sample_rate, 20);
        let rate = config.sample_rate;
        let channels = usize::from(config.channels).max(1);
        let (tx, rx) = mpsc::sync_channel::<Vec<f32>>(QUEUE);
        let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<f32>>(QUEUE * 2);
        let failure = Arc::new(Mutex::new(None));
        let counters = Arc::new(PlayCounters::default());
        let (fail, count, label) = (failure.clone(), counters.clone(), name.clone());
        let stream = StreamOwner::start(kind, &name, move || {
            let mut feed = Feed {
                rx,
                spares: spare_tx,
                counters: count.clone(),
                current: Vec::new(),
                at: 0,
            };
            let on_data = move |data: &mut Data, _: &cpal::OutputCallbackInfo| {
                let frames = (data.len() / channels) as u64;
                if !feed.fill(data) {
                    count.underruns.fetch_add(1, Ordering::Relaxed);
                }
                count.frames.fetch_add(frames, Ordering::Relaxed);
            };
            let on_error = move |e: cpal::Error| {
                if let Ok(mut f) = fail.lock() {
                    f.get_or_insert_with(|| e.to_string());
                }
            };
            device
                .build_output_stream_raw(config, format, on_data, on_error, sound::open_timeout())
                .map_err(|e| sound::classify(kind, &label, &e))
        })?;
        Ok(Speaker {
            name,
            rate,
            channels,
            buffers: tx,
            spares: spare_rx,
            resampler: Resampler::new(SAMPLE_RATE, rate),
            scratch: Vec::new(),
            failure,
            counters,
            _stream: stream,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device's own sample rate.
    pub fn device_rate(&self) -> u32 {
        self.rate
    }

    /// Frames the device has consumed (sound and silence), at its rate.
    pub fn frames_consumed(&self) -> u64 {
        self.counters.frames.load(Ordering::Relaxed)
    }

    /// Callbacks that found no sound waiting.
    pub fn underruns(&self) -> u64 {
        self.counters.underruns.load(Ordering::Relaxed)
    }

    /// Frames dropped because the device was behind.
    pub fn dropped_frames(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Quiet frames left out to keep the queue at most 30 ms deep.
    pub fn trimmed_frames(&self) -> u64 {
        self.counters.trimmed.load(Ordering::Relaxed)
    }
}

/// The callback's side of the handoff: the buffer being played.
struct Feed {
    rx: Receiver<Vec<f32>>,
    spares: SyncSender<Vec<f32>>,
    counters: Arc<PlayCounters>,
    current: Vec<f32>,
    at: usize,
}

impl Feed {
    /// Fills the device buffer; `false` if it ran out (the rest is silence,
    /// which cpal put there before calling us).
    fn fill(&mut self, data: &mut Data) -> bool {
        fn fill_as<T: SizedSample + FromSample<f32>>(feed: &mut Feed, data: &mut Data) -> bool {
            let Some(out) = data.as_slice_mut::<T>() else {
                return true;
            };
            let mut i = 0;
            while i < out.len() {
                if feed.at == feed.current.len() {
                    match feed.rx.try_recv() {
                        Ok(next) => {
                            feed.counters.queued.fetch_sub(1, Ordering::Relaxed);
                            let played = std::mem::replace(&mut feed.current, next);
                            // Full (never, in practice): freed here instead.
                            let _ = feed.spares.try_send(played);
                            feed.at = 0;
                            continue;
                        }
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                            for s in &mut out[i..] {
                                *s = T::EQUILIBRIUM;
                            }
                            return false;
                        }
                    }
                }
                let n = (out.len() - i).min(feed.current.len() - feed.at);
                for (o, s) in out[i..i + n]
                    .iter_mut()
                    .zip(&feed.current[feed.at..feed.at + n])
                {
                    *o = T::from_sample_(*s);
                }
                i += n;
                feed.at += n;
            }
            true
        }
        match data.sample_format() {
            SampleFormat::I8 => fill_as::<i8>(self, data),
            SampleFormat::I16 => fill_as::<i16>(self, data),
            SampleFormat::I32 => fill_as::<i32>(self, data),
            SampleFormat::U8 => fill_as::<u8>(self, data),
            SampleFormat::U16 => fill_as::<u16>(self, data),
            SampleFormat::U32 => fill_as::<u32>(self, data),
            SampleFormat::F32 => fill_as::<f32>(self, data),
            SampleFormat::F64 => fill_as::<f64>(self, data),
            // choose_format never opens a stream in another format.
            _ => true,
        }
    }
}

impl AudioSink for Speaker {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        if let Some(why) = self.failure.lock().ok().and_then(|f| f.clone()) {
            return Err(MediaError::Device(format!("{}: {why}", self.name)));
        }
        let quiet = frame.iter().all(|s| s.unsigned_abs() < QUIET);
        if quiet && self.counters.queued.load(Ordering::Relaxed) > TRIM_TO {
            self.counters.trimmed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let mono: Vec<f32> = frame.iter().map(|s| from_i16(*s)).collect();
        self.scratch.clear();
        self.resampler.process(&mono, &mut self.scratch);
        let mut out = self
            .spares
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(self.scratch.len() * self.channels));
        out.clear();
        for s in &self.scratch {
            out.extend(std::iter::repeat_n(*s, self.channels));
        }
        // Counted before it is sent, so the callback never takes one
        // that was not counted.
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        match self.buffers.try_send(out) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(TrySendError::Disconnected(_)) => Err(MediaError::Device(format!(
                "{}: the stream closed",
                self.name
            ))),
        }
    }
}
