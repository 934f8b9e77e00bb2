//! What every session thread shares, the threads themselves, and the one
//! shutdown path.
//!
//! ```text
//!  [tcp reader]  FrameReader --body--> drive(Frame)     --+
//!  [udp reader]  recv        --bytes-> drive(Datagram)  --+--> Engine (one lock):
//!  [timer]       at core.next_deadline  drive(Tick)     --+    ClientCore::handle
//!  UI thread     session.chat(..)  --> drive(Command)   --+    then every output:
//!                                                               Send     -> outbox -> [writer] -> TCP
//!                                                               Datagram -> UDP socket
//!                                                               Event    -> events channel
//!                                                               Decode   -> DecodeQueue -> [decoder]
//!                                                               File     -> Disk (answer fed back)
//!                                                               End      -> close TCP: the reader ends
//!  [video sender]  VideoEncoder   paced, the layers the core says are wanted -> UDP
//!  [audio sender]  VoiceProcessor (echo, noise), AudioEncoder   every 10 ms, -> UDP
//!  [playout]       core.play_frame every 10 ms -> AudioSink, and the echo reference
//!  [screen sender] ScreenEncoder  -> outbox (keyframes, or patches when the
//!                  server named "screen_patches"; a keyframe when asked)
//!  [screen painter] Output::Screen jobs, in order -> the picture held (screen.rs)
//! ```
//!
//! The core and the disk it asks to read and write sit behind one mutex,
//! and every output is carried out before the lock is released, so the
//! front end sees events in the order the core made them, after the state
//! changed, and file chunks are written in the order they came. The TCP
//! reader thread (`reconnect.rs`) resumes on a new connection after a
//! drop; whatever ended the session (leave, removal, garbage, a resume
//! refused or given up), it runs the one shutdown path: stop every
//! thread, join them, then `Ended`, after which the core fails open transfers and sends
//! `Disconnected` (always the last event).

use std::io::ErrorKind;
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use lanmeet_common::framing::encode_json;
use lanmeet_common::udp::Kind;

use super::config::{Config, Identity};
use super::decode::{DecodeQueue, FrameSlots};
use super::files::Disk;
use super::log::Log;
use super::screen::ScreenJobs;
use super::stop::{lock, StopSignal};
use super::tcp::{FrameReader, Outgoing, ReadError};
use super::voice::VoicePath;
use crate::core::{ClientCore, DisconnectReason, Event, FrameKey, Input, Output};
use crate::devices::PushToTalk;
use crate::error::SessionError;
use crate::media::{
    fragment_pace, AudioEncoder, AudioSink, AudioSource, AudioStep, Layers, Pacer, ScreenEncoder,
    ScreenSource, ScreenUpdate, VideoEncoder, VideoSource, VoiceProcessor,
};

/// The core and the files it reads and writes, behind one lock.
pub(crate) struct Engine {
    pub(crate) core: ClientCore,
    pub(crate) disk: Disk,
}

/// Counters the media threads keep.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) video_sent: Arc<AtomicU64>,
    /// Section 11: thumbnail-layer frames sent.
    pub(crate) thumb_sent: Arc<AtomicU64>,
    pub(crate) decoded: Arc<AtomicU64>,
    pub(crate) audio_sent: Arc<AtomicU64>,
    pub(crate) screen_sent: Arc<AtomicU64>,
    pub(crate) screen_skipped: Arc<AtomicU64>,
}

/// A media thread that can be stopped on its own.
pub(crate) struct Worker {
    pub(crate) stop: StopSignal,
    pub(crate) handle: JoinHandle<()>,
}

impl Worker {
    pub(crate) fn end(self) {
        self.stop.stop();
        let _ = self.handle.join();
    }
}

/// The media threads that run now.
#[derive(Default)]
pub(crate) struct Media {
    pub(crate) video: Option<Worker>,
    pub(crate) audio: Option<Worker>,
    pub(crate) playout: Option<Worker>,
    pub(crate) screen: Option<Worker>,
}

/// What every session thread shares.
pub(crate) struct Shared {
    pub(crate) identity: Identity,
    pub(crate) config: Config,
    pub(crate) log: Log,
    pub(crate) events: Sender<Event>,
    pub(crate) outbox: Sender<Outgoing>,
    pub(crate) engine: Mutex<Engine>,
    /// Raised once, when the session ends.
    pub(crate) stop: StopSignal,
    /// Raised by the reader thread after the last event.
    pub(crate) done: StopSignal,
    pub(crate) leaving: AtomicBool,
    /// Why the session must end, when the core or the writer decided it;
    /// the TCP reader, woken by the closed socket, reads it.
    pub(crate) end_reason: Mutex<Option<DisconnectReason>>,
    /// The connection now; `None` while reconnecting.
    pub(crate) tcp: Mutex<Option<TcpStream>>,
    /// Counts connections, so the writer notices a new one.
    pub(crate) tcp_generation: AtomicU64,
    /// Connected to the server's UDP address: `send` goes there and `recv`
    /// hears only from there.
    pub(crate) udp: Arc<UdpSocket>,
    /// The core's mute flag, for the audio sender.
    pub(crate) muted: Arc<AtomicBool>,
    pub(crate) push_to_talk: PushToTalk,
    pub(crate) media: Mutex<Media>,
    pub(crate) workers: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) decode: Arc<DecodeQueue>,
    pub(crate) slots: Arc<FrameSlots>,
    pub(crate) counters: Counters,
    pub(crate) pending_screen: Mutex<Option<Box<dyn ScreenSource>>>,
    /// What the playout played, for the audio sender's echo canceller,
    /// and the voice processing switches.
    pub(crate) voice: Arc<VoicePath>,
    /// Section 19: the shared screen's keyframes and patches, for the painter.
    pub(crate) screen_jobs: Arc<ScreenJobs>,
    /// Section 19: the server asked for a keyframe; the screen sender takes it.
    pub(crate) screen_keyframe_wanted: Arc<AtomicBool>,
    /// Section 19: the server named `"screen_patches"`: send patches.
    pub(crate) screen_patches: bool,
}

pub(crate) fn spawn_named(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, SessionError> {
    thread::Builder::new()
        .name(format!("lanmeet-{name}"))
        .spawn(f)
        .map_err(SessionError::Io)
}

impl Shared {
    /// Sends an event to the front end (ignored if it stopped listening).
    pub(crate) fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Hands one input to the core and carries out what it asks.
    pub(crate) fn drive(&self, input: Input<'_>) {
        let mut engine = lock(&self.engine);
        self.drive_locked(&mut engine, input);
    }

    /// [`Shared::drive`] with the lock already held.
    pub(crate) fn drive_locked(&self, engine: &mut Engine, input: Input<'_>) {
        engine.core.handle(input, Instant::now());
        while let Some(output) = engine.core.poll_output() {
            match output {
                Output::Send(msg) => {
                    let _ = self.outbox.send(Outgoing::Frame(encode_json(&msg)));
                }
                // A lost hello is fine: the next one goes out in 2 s.
                Output::Datagram(d) => {
                    let _ = self.udp.send(&d);
                }
                Output::Event(e) => self.emit(e),
                Output::Log(line) => self.log.write(line),
                Output::Decode(job) => self.decode.submit(job),
                Output::Forget(key) => {
                    if matches!(key, FrameKey::Screen(_)) {
                        self.screen_jobs.clear();
                    }
                    self.decode.forget(&key);
                    self.slots.clear(&key);
                    // A camera's thumbnail layer goes with it.
                    if let FrameKey::Camera(id) = key {
                        self.decode.forget(&FrameKey::Thumb(id));
                    }
                }
                Output::Screen(job) => self.screen_jobs.submit(job),
                Output::ScreenKeyframeWanted => {
                    self.screen_keyframe_wanted.store(true, Ordering::Release);
                }
                Output::Microphone { muted } => self.muted.store(muted, Ordering::Release),
                Output::StartScreenSender => self.start_screen_sender(),
                Output::StopScreenSender => {
                    let old = lock(&self.media).screen.take();
                    if let Some(w) = old {
                        w.end();
                    }
                }
                Output::DropScreenSource => {
                    lock(&self.pending_screen).take();
                }
                Output::File(op) => {
                    if let Some(result) = engine.disk.perform(op) {
                        engine.core.handle(Input::File(result), Instant::now());
                    }
                }
                Output::End(reason) => self.end(reason),
            }
        }
    }

    /// Hands a command to the core, unless the session is over.
    pub(crate) fn command(&self, c: crate::core::Command) -> Result<(), SessionError> {
        if self.stop.is_stopped() {
            return Err(SessionError::NotConnected);
        }
        self.drive(Input::Command(c));
        Ok(())
    }

    /// Ends the session for `reason`: closing the socket wakes the TCP
    /// reader, which runs the shutdown path.
    pub(crate) fn end(&self, reason: DisconnectReason) {
        lock(&self.end_reason).get_or_insert(reason);
        self.close_tcp();
    }

    /// Shuts the current connection down (the reader wakes up).
    pub(crate) fn close_tcp(&self) {
        if let Some(s) = lock(&self.tcp).as_ref() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Runs `f` on a new thread that the shutdown path joins.
    pub(crate) fn spawn_worker(&self, name: &str, f: impl FnOnce() + Send + 'static) {
        match spawn_named(name, f) {
            Ok(h) => lock(&self.workers).push(h),
            Err(e) => self.emit(Event::Warning {
                message: format!("cannot start a {name} thread: {e}"),
            }),
        }
    }

    pub(crate) fn warn_fn(&self) -> impl Fn(String) + Send + 'static {
        let events = self.events.clone();
        let log = self.log.clone();
        move |message: String| {
            log.write(&message);
            let _ = events.send(Event::Warning { message });
        }
    }

    fn start_screen_sender(&self) {
        let Some(source) = lock(&self.pending_screen).take() else {
            return; // presenting was asked for and then withdrawn
        };
        let old = lock(&self.media).screen.take();
        if let Some(w) = old {
            w.end();
        }
        let stop = StopSignal::new();
        let (cfg, outbox, st, sent, skipped, warn) = (
            self.config.screen,
            self.outbox.clone(),
            stop.clone(),
            self.counters.screen_sent.clone(),
            self.counters.screen_skipped.clone(),
            self.warn_fn(),
        );
        let mut encoder = ScreenEncoder::new(cfg);
        encoder.use_patches(self.screen_patches);
        let wanted = self.screen_keyframe_wanted.clone();
        wanted.store(false, Ordering::Release);
        match spawn_named("screen-sender", move || {
            run_screen_sender(source, encoder, wanted, outbox, st, (sent, skipped), warn)
        }) {
            Ok(handle) => lock(&self.media).screen = Some(Worker { stop, handle }),
            Err(e) => self.emit(Event::Warning {
                message: format!("cannot start screen sharing: {e}"),
            }),
        }
    }
}

/// Why the connection closed, from what we know.
fn ending(shared: &Shared) -> Option<DisconnectReason> {
    if let Some(r) = lock(&shared.end_reason).take() {
        return Some(r);
    }
    if let Some(by) = lock(&shared.engine).core.removed_by() {
        return Some(DisconnectReason::Removed(by.to_string()));
    }
    if shared.leaving.load(Ordering::Acquire) {
        return Some(DisconnectReason::Left);
    }
    None
}

/// Every server message of one connection, in order, until it ends.
pub(crate) fn read_connection(shared: &Arc<Shared>, reader: &mut FrameReader) -> DisconnectReason {
    loop {
        if shared.stop.is_stopped() {
            break DisconnectReason::Left;
        }
        match reader.next_frame() {
            Ok(body) => shared.drive(Input::Frame(&body)),
            Err(ReadError::Idle) => {}
            Err(ReadError::Closed) => {
                break ending(shared).unwrap_or(DisconnectReason::ServerClosed)
            }
            Err(ReadError::Protocol(why)) => break DisconnectReason::Protocol(why),
            Err(ReadError::Io(e)) => {
                break ending(shared).unwrap_or(DisconnectReason::Io(e.to_string()))
            }
        }
        // The core asked to end (garbage, silence) or a write failed.
        if let Some(r) = lock(&shared.end_reason).take() {
            break r;
        }
    }
}

/// The one shutdown path, on the reader thread.
pub(crate) fn finish(shared: &Arc<Shared>, reason: DisconnectReason) {
    shared.stop.stop();
    shared.decode.wake();
    shared.screen_jobs.wake();
    let media = std::mem::take(&mut *lock(&shared.media));
    for w in [media.video, media.audio, media.playout, media.screen]
        .into_iter()
        .flatten()
    {
        w.end();
    }
    let _ = shared.outbox.send(Outgoing::Close);
    shared.close_tcp();
    let workers = std::mem::take(&mut *lock(&shared.workers));
    for w in workers {
        let _ = w.join();
    }
    // Fails open transfers (part files deleted), marks the state
    // disconnected, sends Disconnected: the last event.
    shared.drive(Input::Ended(reason));
    shared.done.stop();
}

/// How long the UDP reader waits for a datagram before it looks at the
/// stop flag (and the session's socket is set up with it).
const UDP_READ_TIMEOUT: Duration = Duration::from_millis(200);

/// The UDP reader thread: hello answers, video fragments, mixed audio, all
/// into the core. The socket is connected to the server's UDP address, so
/// datagrams from anyone else never reach it.
///
/// Requests for lost video fragments (section 13) fall due 20 ms after a
/// frame's last fragment: the reader wakes for them itself (the timer
/// thread sleeps on the deadline it saw before the fragment came).
pub(crate) fn run_udp_reader(shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65_536];
    let mut timeout = UDP_READ_TIMEOUT;
    while !shared.stop.is_stopped() {
        let due = lock(&shared.engine).core.video_recovery_deadline();
        let wait = match due {
            Some(due) => {
                let now = Instant::now();
                if due <= now {
                    shared.drive(Input::Tick);
                    continue;
                }
                (due - now).clamp(Duration::from_millis(1), UDP_READ_TIMEOUT)
            }
            None => UDP_READ_TIMEOUT,
        };
        if wait != timeout && shared.udp.set_read_timeout(Some(wait)).is_ok() {
            timeout = wait;
        }
        match shared.udp.recv(&mut buf) {
            Ok(n) => shared.drive(Input::Datagram(&buf[..n])),
            // Timeouts let us check the stop flag.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // "Connection refused" is an ICMP answer to an earlier send
            // while the server's UDP port was closed. Not fatal; the short
            // pause keeps a socket that keeps failing from spinning a core.
            Err(_) => {
                shared.stop.wait_for(Duration::from_millis(20));
            }
        }
    }
}

/// The timer thread: ticks the core whenever it has something due (ping,
/// hello, media path, stale fragments, server silence).
pub(crate) fn run_timer(shared: Arc<Shared>) {
    loop {
        let next = {
            let mut engine = lock(&shared.engine);
            shared.drive_locked(&mut engine, Input::Tick);
            engine.core.next_deadline()
        };
        if shared.stop.wait_until(next) {
            return;
        }
    }
}

/// Keeps the last warning so a failing device does not flood the front end.
fn warn_once(warn: &impl Fn(String), last: &mut String, text: String) {
    if text != *last {
        warn(text.clone());
        *last = text;
    }
}

/// The video sender thread: frames from `source` at the configured rate
/// until `stop`, of the layers `wanted` says each frame (the core's
/// reading of `video_layers_wanted`, section 11), each frame's datagrams
/// spread over a few milliseconds, thumbnail first (`fragment_pace`);
/// each full-layer datagram sent is also handed to `keep` (the core keeps
/// them for re-sending, section 13).
pub(crate) fn run_video_sender(
    mut source: Box<dyn VideoSource>,
    mut encoder: VideoEncoder,
    udp: Arc<UdpSocket>,
    stop: StopSignal,
    (full_sent, thumb_sent): (Arc<AtomicU64>, Arc<AtomicU64>),
    (keep, wanted): (impl Fn(&[u8]), impl Fn() -> Layers),
    warn: impl Fn(String),
) {
    let period = encoder.period();
    // More than a frame behind (a slow encode, a busy machine): skip the
    // missed frames rather than send a burst of them.
    let mut pacer = Pacer::new(period, period, Instant::now());
    let mut last_warning = String::new();
    let mut burst: Vec<(Kind, Vec<u8>)> = Vec::new();
    loop {
        if stop.wait_until(pacer.due()) {
            return;
        }
        pacer.advance(Instant::now());
        burst.clear();
        let encoded = encoder.send_layers(source.as_mut(), wanted(), |kind, d| {
            burst.push((kind, d.to_vec()));
        });
        // The thumbnail (what most receivers show) first, then the full
        // layer, spread out until at most half-way to the next frame.
        burst.sort_by_key(|(kind, _)| *kind != Kind::Thumb);
        let (start, count) = (Instant::now(), burst.len());
        let budget = pacer.due().saturating_duration_since(start);
        for ((kind, d), at) in burst.iter().zip(fragment_pace::offsets(count, budget)) {
            if stop.wait_until(start + at) {
                return;
            }
            // A full socket buffer or a transient error loses a fragment,
            // and the receiver drops the frame: acceptable.
            let _ = udp.send(d);
            if *kind == Kind::Video {
                keep(d);
            }
        }
        match encoded {
            Ok(layers) => {
                full_sent.fetch_add(u64::from(layers.full), Ordering::Relaxed);
                thumb_sent.fetch_add(u64::from(layers.thumb), Ordering::Relaxed);
            }
            Err(e) => warn_once(
                &warn,
                &mut last_warning,
                format!("camera frame skipped: {e}"),
            ),
        }
    }
}

/// The audio sender thread: one frame per `period` (10 ms) from `source` until `stop`
/// or its end, cleaned by the voice processing (`voice`: echo against what
/// the playout played, noise); frames are read but not sent while `muted`.
pub(crate) fn run_audio_sender(
    mut source: Box<dyn AudioSource>,
    mut encoder: AudioEncoder,
    (udp, voice, period): (Arc<UdpSocket>, Arc<VoicePath>, Duration),
    muted: Arc<AtomicBool>,
    stop: StopSignal,
    sent: Arc<AtomicU64>,
    warn: impl Fn(String),
) {
    let mut pacer = Pacer::new(period, period * 10, Instant::now());
    // Built here: the echo canceller is not Send.
    voice.clear();
    let mut processor = match VoiceProcessor::new(voice.settings()) {
        Ok(p) => Some(p),
        Err(e) => {
            warn(format!("voice processing is off: {e}"));
            None
        }
    };
    loop {
        if stop.wait_until(pacer.due()) {
            return;
        }
        pacer.advance(Instant::now());
        if let Some(p) = processor.as_mut() {
            if let Err(e) = voice.feed(p) {
                warn(format!("voice processing is off: {e}"));
                processor = None;
            }
        }
        match encoder.step_with(
            source.as_mut(),
            muted.load(Ordering::Acquire),
            processor.as_mut(),
        ) {
            // Muted while the frame was being cleaned: it is not sent.
            Ok(AudioStep::Send(_)) if muted.load(Ordering::Acquire) => {}
            Ok(AudioStep::Send(datagram)) => {
                if udp.send(&datagram).is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(AudioStep::Quiet) => {}
            Ok(AudioStep::Ended) => return,
            Err(e) => {
                warn(format!("microphone stopped: {e}"));
                return;
            }
        }
    }
}

/// The playout thread: the core's jitter buffer into `sink` every 10 ms
/// until `stop`. Finishes the sink before returning.
pub(crate) fn run_playout(
    mut sink: Box<dyn AudioSink>,
    shared: Arc<Shared>,
    stop: StopSignal,
    warn: impl Fn(String),
) {
    let period = Duration::from_millis(lanmeet_common::audio::FRAME_MS);
    let mut pacer = Pacer::new(period, period * 10, Instant::now());
    loop {
        if stop.wait_until(pacer.due()) {
            break;
        }
        pacer.advance(Instant::now());
        let frame = lock(&shared.engine).core.play_frame();
        shared.voice.push_played(&frame);
        if let Err(e) = sink.write_frame(&frame) {
            warn(format!("audio output stopped: {e}"));
            break;
        }
    }
    if let Err(e) = sink.finish() {
        warn(format!("audio output did not close cleanly: {e}"));
    }
}

/// The screen sender thread: captures and sends until `stop`, skipping a
/// tick while the previous message is still waiting in the outbox, and
/// sending nothing for a capture that changed nothing.
fn run_screen_sender(
    mut source: Box<dyn ScreenSource>,
    mut encoder: ScreenEncoder,
    keyframe_wanted: Arc<AtomicBool>,
    outbox: Sender<Outgoing>,
    stop: StopSignal,
    (sent, skipped): (Arc<AtomicU64>, Arc<AtomicU64>),
    warn: impl Fn(String),
) {
    let period = encoder.period();
    let mut pacer = Pacer::new(period, period * 10, Instant::now());
    let in_flight = Arc::new(AtomicBool::new(false));
    let mut last_warning = String::new();
    loop {
        if stop.wait_until(pacer.due()) {
            return;
        }
        pacer.advance(Instant::now());
        if in_flight.load(Ordering::Acquire) {
            skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if keyframe_wanted.swap(false, Ordering::AcqRel) {
            encoder.request_keyframe();
        }
        let bytes = match encoder.next_update(source.as_mut()) {
            Ok(ScreenUpdate::Unchanged) => continue,
            Ok(ScreenUpdate::Keyframe(b) | ScreenUpdate::Patch(b)) => b,
            Err(e) => {
                warn_once(
                    &warn,
                    &mut last_warning,
                    format!("screen frame skipped: {e}"),
                );
                continue;
            }
        };
        in_flight.store(true, Ordering::Release);
        if outbox
            .send(Outgoing::Screen(bytes, in_flight.clone()))
            .is_err()
        {
            return;
        }
        sent.fetch_add(1, Ordering::Relaxed);
    }
}
