//! One meeting from join to leave: the handshake, the threads, and the
//! methods a front end calls.
//!
//! ```text
//!  Session::connect(config)
//!    TCP connect --> create_meeting | join_meeting --> meeting_created | join_success
//!                                                  (or error{code} --> Err(Refused))
//!    UDP socket "connected" to the server's UDP port, first 'I' hello
//!    ClientCore::new (state from the reply; Joined and the first hello)
//!    spawn: writer, tcp reader, timer, udp reader, decoder
//!    --> (Session, Receiver<Event>)        first event: Joined
//!
//!  session.leave() / drop
//!    leave --> writer closes its side --> server closes --> reader ends
//!  the reader thread, whatever ended the session (leave, server gone,
//!  garbage, silence), runs the one shutdown path: stop and join every
//!  thread, then the core fails open transfers (part files deleted), marks
//!  the state disconnected and sends Disconnected (always the last event).
//! ```
//!
//! Every method that changes the meeting is a [`Command`] to the core;
//! every server message is handled in arrival order: the core updates the
//! state first, then the event is sent, so a UI that reads
//! `session.state()` on an event sees the state the event describes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use lanmeet_common::features::{Feature, JoinReplyAdditions, SERVER_FEATURES};
use lanmeet_common::limits::{MAX_CHAT_CHARS, MAX_EMOJI_BYTES, PROTOCOL_VERSION};
use lanmeet_common::message::{normalize_meeting_code, normalize_username, VideoState};
use lanmeet_common::ClientMessage;
use serde::Serialize;

pub use super::config::{Config, Identity, JoinAction};
use super::decode::{self, DecodeQueue, FrameSlots};
use super::files::{self, Disk};
use super::handshake::{handshake, Handshake};
use super::reconnect;
use super::screen::{self, ScreenJobs};
use super::stop::{lock, StopSignal};
use super::tcp::Outgoing;
use super::threads::{self, spawn_named, Counters, Engine, Media, Shared, Worker};
use super::voice::VoicePath;
use crate::core::heartbeat::Timing;
use crate::core::Event;
use crate::core::{
    ClientCore, Command, CoreConfig, Input, JitterStats, LocalOffer, MediaPath, MeetingState,
};
use crate::devices::PushToTalk;
use crate::error::SessionError;
use crate::media::{
    AudioEncoder, AudioSink, AudioSource, Layers, ScreenSource, VideoEncoder, VideoFrame,
    VideoSource, VoiceSettings,
};

/// Counters a UI or a test can read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Video frames sent (all fragments handed to the socket); with
    /// section 11, frames of the full layer.
    pub video_frames_sent: u64,
    /// Video frames reassembled from fragments.
    pub video_frames_received: u64,
    /// Video and screen frames decoded.
    pub frames_decoded: u64,
    /// Incomplete video frames dropped.
    pub video_frames_dropped: u64,
    /// Audio frames sent.
    pub audio_frames_sent: u64,
    /// Mixed audio frames received.
    pub audio_frames_received: u64,
    /// Screen frames sent.
    pub screen_frames_sent: u64,
    /// Screen ticks skipped because the previous frame was still queued.
    pub screen_frames_skipped: u64,
    /// Datagrams that did not parse.
    pub malformed_datagrams: u64,
    /// File bytes sent (before acknowledgement).
    pub file_bytes_sent: u64,
    /// The jitter buffer.
    pub jitter: JitterStats,
    /// Section 13: requests for lost video fragments sent.
    pub video_nacks_sent: u64,
    /// Section 13: our video fragments re-sent on the server's request.
    pub video_fragments_resent: u64,
    /// Sections 11-12: frames and bytes of the full layer received.
    pub full_layer: crate::core::speaking::LayerCounts,
    /// Sections 11-12: frames and bytes of the thumbnail layer received.
    pub thumb_layer: crate::core::speaking::LayerCounts,
    /// Section 11: thumbnail-layer frames sent.
    pub thumb_frames_sent: u64,
}

/// A live connection to one meeting.
///
/// Dropping it leaves the meeting (as [`Session::leave`] does).
pub struct Session {
    pub(super) shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
}

/// Whether the server's join reply names `feature`, which we name too.
fn both_named(additions: &JoinReplyAdditions, feature: Feature) -> bool {
    SERVER_FEATURES.contains(feature)
        && additions
            .features
            .as_ref()
            .is_some_and(|names| names.iter().any(|n| n == feature.name()))
}

/// `create_meeting` or `join_meeting` with the additions we understand.
fn with_features(hello: &ClientMessage) -> serde_json::Value {
    let mut value = serde_json::to_value(hello).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.insert("features".into(), SERVER_FEATURES.names().into());
    }
    value
}

impl Session {
    /// Connects, runs the handshake, starts the session threads.
    ///
    /// Blocks for up to `config.connect_timeout`; a GUI calls it from a
    /// worker thread.
    ///
    /// Returns the session and the receiver of its events; the first event
    /// is [`Event::Joined`]. Fails with [`SessionError::Refused`] when the
    /// server says no (wrong code, name taken, ...).
    pub fn connect(config: Config) -> Result<(Session, Receiver<Event>), SessionError> {
        let username = normalize_username(&config.username)
            .map_err(|e| SessionError::InvalidInput(e.to_string()))?;
        let hello = match &config.action {
            JoinAction::Create => ClientMessage::CreateMeeting {
                version: PROTOCOL_VERSION,
                username: username.clone(),
                password: config.password.clone().filter(|p| !p.is_empty()),
            },
            JoinAction::Join(code) => ClientMessage::JoinMeeting {
                version: PROTOCOL_VERSION,
                username: username.clone(),
                meeting_code: normalize_meeting_code(code).ok_or_else(|| {
                    SessionError::InvalidInput(format!("{code:?} is not a meeting code"))
                })?,
                password: config.password.clone().filter(|p| !p.is_empty()),
            },
        };
        let created = config.action == JoinAction::Create;
        let log = config.log.clone();
        log.write(format_args!(
            "connecting to {}:{}",
            config.host, config.port
        ));

        let Handshake {
            stream,
            reader,
            reply,
            additions,
        } = handshake(
            &config,
            &config.with_listing(with_features(&hello)),
            created,
            config.connect_timeout,
        )
        .inspect_err(|e| {
            log.write(format_args!("handshake failed: {e}"));
        })?;

        let server_ip = stream.peer_addr()?.ip();
        let udp_addr = SocketAddr::new(server_ip, reply.udp_port);
        let any: IpAddr = match server_ip {
            IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
        socket.connect(udp_addr)?;
        socket.set_read_timeout(Some(Duration::from_millis(200)))?;

        let identity = Identity {
            meeting_code: reply.meeting_code.clone(),
            client_id: reply.client_id.clone(),
            username: username.clone(),
            udp_token: reply.udp_token.clone(),
            udp_addr,
            max_datagram: reply.max_datagram,
            created,
        };
        log.write(format_args!(
            "joined {} as {} ({}), udp {udp_addr}, max_datagram {}",
            identity.meeting_code, identity.client_id, username, identity.max_datagram
        ));
        let mut core = ClientCore::new(
            CoreConfig {
                client_id: identity.client_id.clone(),
                username: username.clone(),
                udp_token: identity.udp_token.clone(),
                resume_token: additions.resume_token.clone(),
                jitter_ms: config.jitter_ms,
                timing: Timing {
                    ping_interval: config.ping_interval,
                    hello_interval: config.hello_interval,
                    media_timeout: config.media_timeout,
                    server_timeout: config.server_timeout,
                },
            },
            &reply,
            created,
            Instant::now(),
            SystemTime::now(),
        );
        core.set_video_recovery(both_named(&additions, Feature::Nack));
        core.set_subscriptions(both_named(&additions, Feature::Layers));
        let (events, events_rx) = mpsc::channel();
        let (outbox, outbox_rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            udp: Arc::new(socket),
            identity,
            log,
            events,
            outbox,
            engine: Mutex::new(Engine {
                core,
                disk: Disk::new(config.download_dir.clone()),
            }),
            stop: StopSignal::new(),
            done: StopSignal::new(),
            leaving: AtomicBool::new(false),
            end_reason: Mutex::new(None),
            tcp: Mutex::new(Some(stream.try_clone()?)),
            tcp_generation: AtomicU64::new(0),
            muted: Arc::new(AtomicBool::new(false)),
            push_to_talk: PushToTalk::new(),
            media: Mutex::new(Media::default()),
            workers: Mutex::new(Vec::new()),
            decode: Arc::new(DecodeQueue::default()),
            slots: Arc::new(FrameSlots::default()),
            counters: Counters::default(),
            pending_screen: Mutex::new(None),
            voice: Arc::new(VoicePath::new(config.voice)),
            screen_jobs: Arc::new(ScreenJobs::default()),
            screen_keyframe_wanted: Arc::new(AtomicBool::new(false)),
            screen_patches: additions
                .features
                .as_ref()
                .is_some_and(|f| f.iter().any(|n| n == Feature::ScreenPatches.name())),
            config,
        });
        // Joined and the first hello, queued by the core.
        shared.drive(Input::Tick);
        shared.drive(Input::JoinAdditions(&additions));

        // The writer is joined by the shutdown path like the others. A
        // failed write ends the session: shutting the socket down wakes
        // the reader, which runs the shutdown path with this error.
        drop(stream);
        let s = shared.clone();
        let writer = spawn_named("writer", move || reconnect::run_writer(s, outbox_rx))?;
        lock(&shared.workers).push(writer);
        let s = shared.clone();
        shared.spawn_worker("timer", move || threads::run_timer(s));
        let s = shared.clone();
        shared.spawn_worker("udp-reader", move || threads::run_udp_reader(s));
        let (queue, slots, stop, events, decoded) = (
            shared.decode.clone(),
            shared.slots.clone(),
            shared.stop.clone(),
            shared.events.clone(),
            shared.counters.decoded.clone(),
        );
        shared.spawn_worker("decoder", move || {
            decode::run_decoder(queue, slots, stop, events, decoded)
        });
        let (jobs, slots, stop, events) = (
            shared.screen_jobs.clone(),
            shared.slots.clone(),
            shared.stop.clone(),
            shared.events.clone(),
        );
        shared.spawn_worker("screen-painter", move || {
            screen::run_painter(jobs, slots, stop, events)
        });
        let s = shared.clone();
        let reader = spawn_named("tcp-reader", move || reconnect::run_tcp_reader(s, reader))?;
        Ok((
            Session {
                shared,
                reader: Some(reader),
            },
            events_rx,
        ))
    }

    /// Who we are.
    pub fn identity(&self) -> &Identity {
        &self.shared.identity
    }

    /// A snapshot of the meeting.
    pub fn state(&self) -> MeetingState {
        lock(&self.shared.engine).core.state().clone()
    }

    /// Whether the session is still up.
    pub fn is_connected(&self) -> bool {
        !self.shared.stop.is_stopped()
    }

    /// Whether UDP media reaches the server.
    pub fn media_path(&self) -> MediaPath {
        lock(&self.shared.engine).core.media_path()
    }

    /// Sends any client message (host commands, reactions, ...). The
    /// helpers below cover the common ones and keep the local state right.
    pub fn send(&self, msg: ClientMessage) -> Result<(), SessionError> {
        self.shared.command(Command::Send(msg))
    }

    /// Sends a chat line, public (`to: None`) or private, and adds our own
    /// copy to the state (the server does not echo it).
    pub fn chat(&self, message: &str, to: Option<&str>) -> Result<(), SessionError> {
        let count = message.chars().count();
        if count == 0 || count > MAX_CHAT_CHARS {
            return Err(SessionError::InvalidInput(format!(
                "a chat message has 1..={MAX_CHAT_CHARS} characters"
            )));
        }
        self.shared.command(Command::Chat {
            message: message.to_string(),
            to: to.map(String::from),
        })
    }

    /// Mutes or unmutes ourselves. Muting stops sending at once; unmuting
    /// resumes when the server confirms (it refuses while the host has
    /// locked our microphone, with an `error{code:"mic_locked"}` event).
    pub fn set_muted(&self, muted: bool) -> Result<(), SessionError> {
        self.shared.command(Command::SetMuted(muted))
    }

    /// Whether our microphone is muted (by us or the host).
    pub fn is_muted(&self) -> bool {
        self.shared.muted.load(Ordering::Acquire)
    }

    /// Turns push-to-talk on or off (it starts off). While it is on, audio
    /// is sent only while [`Session::talk`] holds the key down: for people
    /// who share a room or use loudspeakers (see the `devices` module on
    /// echo). Turning it on releases the key.
    pub fn set_push_to_talk(&self, enabled: bool) {
        self.shared.push_to_talk.set_enabled(enabled);
    }

    /// Switches echo cancellation and noise suppression of the
    /// microphone, from its next frame on.
    pub fn set_voice_processing(&self, settings: VoiceSettings) {
        self.shared.voice.set(settings);
    }

    /// Which voice processing is on.
    pub fn voice_processing(&self) -> VoiceSettings {
        self.shared.voice.settings()
    }

    /// Whether push-to-talk is on.
    pub fn push_to_talk(&self) -> bool {
        self.shared.push_to_talk.is_enabled()
    }

    /// The talk key went down (`true`) or up (`false`); only matters while
    /// push-to-talk is on. Muting still wins over a held key.
    pub fn talk(&self, pressed: bool) {
        self.shared.push_to_talk.talk(pressed);
    }

    /// Raises or lowers our hand.
    pub fn raise_hand(&self, up: bool) -> Result<(), SessionError> {
        self.send(ClientMessage::RaiseHand { state: up })
    }

    /// Sends a reaction (1..16 bytes).
    pub fn react(&self, emoji: &str) -> Result<(), SessionError> {
        if emoji.is_empty() || emoji.len() > MAX_EMOJI_BYTES {
            return Err(SessionError::InvalidInput(format!(
                "a reaction has 1..={MAX_EMOJI_BYTES} bytes"
            )));
        }
        self.send(ClientMessage::EmojiReaction {
            emoji: emoji.to_string(),
        })
    }

    fn ensure_connected(&self) -> Result<(), SessionError> {
        if self.shared.stop.is_stopped() {
            Err(SessionError::NotConnected)
        } else {
            Ok(())
        }
    }

    /// Starts sending video from `source` (replacing any running source)
    /// and tells the others the camera is on.
    pub fn start_video(&self, source: Box<dyn VideoSource>) -> Result<(), SessionError> {
        self.ensure_connected()?;
        let old = lock(&self.shared.media).video.take();
        if let Some(w) = old {
            w.end();
        }
        let stop = StopSignal::new();
        let id = &self.shared.identity;
        let encoder = VideoEncoder::new(self.shared.config.video, &id.client_id, id.max_datagram);
        let (udp, st, warn) = (self.shared.udp.clone(), stop.clone(), self.shared.warn_fn());
        let c = &self.shared.counters;
        let sent = (c.video_sent.clone(), c.thumb_sent.clone());
        // What went out is kept for re-sending on request (section 13).
        let shared = self.shared.clone();
        let keep = move |d: &[u8]| lock(&shared.engine).core.video_sent(d, Instant::now());
        // Which layers to encode: the core's reading of the server (section 11).
        let shared = self.shared.clone();
        let wanted = move || {
            let w = lock(&shared.engine).core.layers_to_send();
            Layers {
                full: w.full,
                thumb: w.thumb,
            }
        };
        let handle = spawn_named("video-sender", move || {
            threads::run_video_sender(source, encoder, udp, st, sent, (keep, wanted), warn)
        })?;
        lock(&self.shared.media).video = Some(Worker { stop, handle });
        self.send(ClientMessage::VideoState {
            state: VideoState::Started,
        })
    }

    /// Stops sending video and tells the others.
    pub fn stop_video(&self) -> Result<(), SessionError> {
        let old = lock(&self.shared.media).video.take();
        if let Some(w) = old {
            w.end();
            self.send(ClientMessage::VideoState {
                state: VideoState::Stopped,
            })?;
        }
        Ok(())
    }

    /// Starts sending audio from `source` (replacing any running source).
    pub fn start_audio(&self, source: Box<dyn AudioSource>) -> Result<(), SessionError> {
        self.ensure_connected()?;
        let source = self.shared.push_to_talk.gate(source);
        let old = lock(&self.shared.media).audio.take();
        if let Some(w) = old {
            w.end();
        }
        let stop = StopSignal::new();
        let encoder = AudioEncoder::new(&self.shared.identity.client_id);
        let (udp, muted, st, sent, warn) = (
            (
                self.shared.udp.clone(),
                self.shared.voice.clone(),
                self.shared.config.audio_period,
            ),
            self.shared.muted.clone(),
            stop.clone(),
            self.shared.counters.audio_sent.clone(),
            self.shared.warn_fn(),
        );
        let handle = spawn_named("audio-sender", move || {
            threads::run_audio_sender(source, encoder, udp, muted, st, sent, warn)
        })?;
        lock(&self.shared.media).audio = Some(Worker { stop, handle });
        Ok(())
    }

    /// Stops sending audio.
    pub fn stop_audio(&self) {
        let old = lock(&self.shared.media).audio.take();
        if let Some(w) = old {
            w.end();
        }
    }

    /// Plays the meeting's sound into `sink` (replacing any running sink).
    pub fn start_playback(&self, sink: Box<dyn AudioSink>) -> Result<(), SessionError> {
        self.ensure_connected()?;
        self.stop_playback();
        // Fill a fresh jitter buffer from now on.
        self.shared.command(Command::StartPlayout)?;
        let stop = StopSignal::new();
        let (shared, st, warn) = (self.shared.clone(), stop.clone(), self.shared.warn_fn());
        let handle = spawn_named("playout", move || {
            threads::run_playout(sink, shared, st, warn)
        })?;
        lock(&self.shared.media).playout = Some(Worker { stop, handle });
        Ok(())
    }

    /// Stops playback (and finishes the sink: a WAV file is complete once
    /// this returns).
    pub fn stop_playback(&self) {
        let _ = self.shared.command(Command::StopPlayout);
        let old = lock(&self.shared.media).playout.take();
        if let Some(w) = old {
            w.end();
        }
    }

    /// Asks to present `source`. Frames start after the server's
    /// `screen_share_started` (an [`Event::ScreenShareStarted`] with our
    /// id); a refusal is an [`Event::ScreenShareDenied`].
    pub fn start_screen_share(&self, source: Box<dyn ScreenSource>) -> Result<(), SessionError> {
        self.ensure_connected()?;
        *lock(&self.shared.pending_screen) = Some(source);
        self.send(ClientMessage::RequestScreenShare)
    }

    /// Stops presenting.
    pub fn stop_screen_share(&self) -> Result<(), SessionError> {
        let old = lock(&self.shared.media).screen.take();
        lock(&self.shared.pending_screen).take();
        if let Some(w) = old {
            w.end();
        }
        let presenting = lock(&self.shared.engine).core.state().presenter.as_deref()
            == Some(self.shared.identity.client_id.as_str());
        if presenting {
            self.send(ClientMessage::StopScreenShare)?;
        }
        Ok(())
    }

    /// The newest decoded frame of a participant's camera.
    pub fn latest_video_frame(&self, client_id: &str) -> Option<Arc<VideoFrame>> {
        lock(&self.shared.slots.camera).get(client_id).cloned()
    }

    /// Section 11: the window shows these people's cameras at these sizes
    /// (and the others in `hidden` not at all). From now on only their
    /// pictures are decoded, each to fit its tile, and a server that does
    /// layers is asked for the layer each tile needs (see
    /// [`crate::core::subscription`]: a new tile at once, other changes
    /// after 100 ms). Call it whenever the layout may have changed; the
    /// same layout again costs a comparison.
    pub fn show_layout(&self, layout: crate::core::subscription::ShownLayout) {
        let sizes: std::collections::HashMap<String, (u32, u32)> = layout
            .shown
            .iter()
            .map(|t| (t.client_id.clone(), (t.width, t.height)))
            .collect();
        // A picture of someone no longer shown would come back stale.
        lock(&self.shared.slots.camera).retain(|id, _| sizes.contains_key(id));
        self.shared.decode.set_shown(sizes);
        let _ = self.shared.command(Command::ShowLayout(layout));
    }

    /// The newest decoded screen frame.
    pub fn latest_screen_frame(&self) -> Option<Arc<VideoFrame>> {
        lock(&self.shared.slots.screen).clone()
    }

    /// Offers a file: checks it, returns its `file_id` at once, and sends
    /// the offer once its SHA-256 is computed on a worker thread (the file
    /// is read once, 64 KiB at a time). Our own offer then appears as an
    /// [`Event::FileOffered`].
    pub fn offer_file(&self, path: &Path) -> Result<String, SessionError> {
        let filename: String = path
            .file_name()
            .map(|n| n.to_string_lossy().chars().take(255).collect())
            .unwrap_or_else(|| files::FALLBACK_NAME.to_string());
        self.offer_file_named(path, &filename)
    }

    /// Offers a file under another name (1..=255 characters) than its
    /// own, as [`Session::offer_file`] does.
    pub fn offer_file_named(&self, path: &Path, filename: &str) -> Result<String, SessionError> {
        self.ensure_connected()?;
        let count = filename.chars().count();
        if count == 0 || count > 255 {
            return Err(SessionError::InvalidInput(
                "a file name has 1..=255 characters".into(),
            ));
        }
        let filename = filename.to_string();
        let meta = std::fs::metadata(path)
            .map_err(|e| SessionError::InvalidInput(format!("{}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(SessionError::InvalidInput(format!(
                "{} is not a file",
                path.display()
            )));
        }
        let file_id = lock(&self.shared.engine).core.new_file_id();
        let (shared, path, id) = (self.shared.clone(), path.to_path_buf(), file_id.clone());
        self.shared.spawn_worker("hash", move || {
            let (size, sha256) = match files::hash_file(&path, &shared.stop) {
                Ok(r) => r,
                Err(e) => {
                    shared.emit(Event::Warning {
                        message: format!("cannot offer {}: {e}", path.display()),
                    });
                    return;
                }
            };
            let _ = shared.command(Command::Offer(LocalOffer {
                file_id: id,
                path,
                filename,
                size,
                sha256,
            }));
        });
        Ok(file_id)
    }

    /// Withdraws one of our offers (running uploads go on).
    pub fn unoffer_file(&self, file_id: &str) -> Result<(), SessionError> {
        self.shared.command(Command::Unoffer {
            file_id: file_id.to_string(),
        })
    }

    /// Asks for someone's offer; the download starts with an
    /// [`Event::TransferStarted`] and is saved in the download folder.
    pub fn request_file(&self, sender_id: &str, file_id: &str) -> Result<(), SessionError> {
        if lock(&self.shared.engine)
            .core
            .state()
            .offer(sender_id, file_id)
            .is_none()
        {
            return Err(SessionError::InvalidInput(format!(
                "no offer {file_id} from {sender_id}"
            )));
        }
        self.send(ClientMessage::FileRequest {
            sender_id: sender_id.to_string(),
            file_id: file_id.to_string(),
        })
    }

    /// Cancels a transfer either way; a download's part file is deleted.
    pub fn cancel_transfer(&self, transfer_id: &str) -> Result<(), SessionError> {
        let mut engine = lock(&self.shared.engine);
        if !engine.core.transfer_running(transfer_id) {
            return Err(SessionError::InvalidInput(format!(
                "no running transfer {transfer_id}"
            )));
        }
        let cancel = Command::Cancel {
            transfer_id: transfer_id.to_string(),
        };
        self.shared
            .drive_locked(&mut engine, Input::Command(cancel));
        Ok(())
    }

    /// Counters for a status line.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let core = lock(&self.shared.engine).core.stats();
        Stats {
            video_frames_sent: c.video_sent.load(Ordering::Relaxed),
            video_frames_received: core.video_frames_received,
            frames_decoded: c.decoded.load(Ordering::Relaxed),
            video_frames_dropped: core.video_frames_dropped,
            audio_frames_sent: c.audio_sent.load(Ordering::Relaxed),
            audio_frames_received: core.audio_frames_received,
            screen_frames_sent: c.screen_sent.load(Ordering::Relaxed),
            screen_frames_skipped: c.screen_skipped.load(Ordering::Relaxed),
            malformed_datagrams: core.malformed_datagrams,
            file_bytes_sent: core.file_bytes_sent,
            jitter: core.jitter,
            video_nacks_sent: core.video_nacks_sent,
            video_fragments_resent: core.video_fragments_resent,
            full_layer: core.full_layer,
            thumb_layer: core.thumb_layer,
            thumb_frames_sent: c.thumb_sent.load(Ordering::Relaxed),
        }
    }

    /// Leaves the meeting and waits (at most about 2 s) for every thread
    /// to end. The last event is `Disconnected{reason: left}` unless the
    /// session had already ended for another reason.
    pub fn leave(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        let shared = &self.shared;
        if !shared.stop.is_stopped() {
            shared.leaving.store(true, Ordering::Release);
            let _ = shared.command(Command::Send(ClientMessage::Leave));
            let _ = shared.outbox.send(Outgoing::Close);
            // The server closes after `leave`; if it does not, stop anyway.
            if !shared.done.wait_for(Duration::from_secs(2)) {
                shared.stop.stop();
                shared.close_tcp();
            }
        }
        let _ = reader.join();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_can_be_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Session>();
        send_sync::<Event>();
        send_sync::<MeetingState>();
    }
}
