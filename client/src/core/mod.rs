//! The client's meeting logic: a state machine with no sockets, no
//! threads, no devices and no clock of its own, the same shape as the
//! server's core.
//!
//! The shell (`shell/`, behind [`crate::Session`]) turns socket reads,
//! timer wake-ups and the front end's calls into inputs, and carries out
//! the outputs:
//!
//! ```text
//!   the shell                        ClientCore                   outputs
//!  -----------                ------------------------       ------------------
//!  TCP frame        -------->  handle(Frame(body), now)  -->  Send(ClientMessage)
//!  UDP datagram     -------->  handle(Datagram(d), now)  -->  Datagram(hello)
//!  timer            -------->  handle(Tick, now)         -->  Event(..) for the UI
//!  user call        -------->  handle(Command(c), now)   -->  Decode(job) for the decoder
//!  file op answered -------->  handle(File(result), now) -->  File(read/write/save)
//!  connection over  -------->  handle(Ended(why), now)   -->  Microphone, ScreenSender,
//!                                                             Forget, Log, End
//!                              (drained with poll_output)
//! ```
//!
//! Every input carries the time, so `core/tests.rs` drives whole meetings
//! (joins, transfers both ways, camera restarts, a minute of heartbeats)
//! with simulated time and no sockets. The one question answered by a
//! return value is the playout's "the next 10 ms of sound"
//! ([`ClientCore::play_frame`]): it is asked 100 times a second and its
//! answer goes straight to the speaker.
//!
//! The parts: `state` (the meeting as a UI shows it), `event` (what the
//! front end hears), `parse` (what a server frame is), `assembler` (camera
//! frames from fragments, and restarts), `jitter` (the adaptive audio
//! jitter buffer) and `conceal` (what to play for a lost frame), `heartbeat` (ping, hello, media path, server silence),
//! `nack` (section 13: asking for lost video fragments, re-sending ours),
//! `transfers` (the file protocol) and `classroom` (polls, attendance,
//! spotlight: sections 15-17).

pub mod assembler;
pub mod classroom;
pub mod conceal;
pub mod event;
pub mod heartbeat;
pub mod jitter;
pub mod nack;
pub mod parse;
pub mod reconnect;
pub mod screen;
pub mod speaking;
pub mod state;
pub mod subscription;
mod transfers;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use lanmeet_common::audio::{decode_pcm, parse_body, Frame, FRAME_SAMPLES};
use lanmeet_common::message::{ChatLine, FileErrorReason, FileOfferInfo, JoinReply, VideoState};
use lanmeet_common::nack::Nack;
use lanmeet_common::udp::{self, Kind, HELLO_OK};
use lanmeet_common::video::FragmentHeader;
use lanmeet_common::{ClientMessage, ServerMessage};
use serde::Serialize;

use assembler::CameraAssembler;
pub use event::{DisconnectReason, Event, MediaPath, TransferDirection};
use heartbeat::{Heartbeat, Timing};
pub use jitter::{JitterBuffer, JitterStats, DEFAULT_JITTER_MS};
use parse::{parse_server_frame, Parsed};
use reconnect::{Reconnect, Step};
pub use screen::{PatchPiece, ScreenJob};
pub use state::{MeetingState, Participant, TransferInfo, TransferStatus};
use transfers::Transfers;
pub use transfers::{FileOp, FileResult, LocalOffer};

/// How often incomplete video frames are looked for.
const EXPIRE_EVERY: Duration = Duration::from_millis(100);

/// What the core needs to know about us and the session's timing.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Our server-issued id.
    pub client_id: String,
    /// Our name as sent.
    pub username: String,
    /// The token our hellos carry.
    pub udp_token: String,
    /// The token that takes our place back after a drop (section 14);
    /// `None` when the server gave none: a drop then ends the session.
    pub resume_token: Option<String>,
    /// Jitter buffer depth to start with, in ms (20..=100); the measured
    /// jitter takes over after half a second of audio.
    pub jitter_ms: u64,
    /// Ping, hello and timeouts.
    pub timing: Timing,
}

/// One thing that happened, for the core to handle.
#[derive(Debug)]
pub enum Input<'a> {
    /// A whole TCP frame body from the server, in arrival order.
    Frame(&'a [u8]),
    /// A datagram from the server's UDP port.
    Datagram(&'a [u8]),
    /// Time passed; due timers fire.
    Tick,
    /// The front end asked for something.
    Command(Command),
    /// A file operation the core asked for finished.
    File(FileResult),
    /// The connection dropped (read or write failed, the server closed
    /// it or went silent). With a resume token the core starts retrying
    /// (see [`ClientCore::reconnect_step`]) and sends `Reconnecting`;
    /// without one the shell ends the session.
    Lost(DisconnectReason),
    /// A resume attempt failed for this reason (not `resume_expired`,
    /// which ends the session); the next waits longer.
    ResumeFailed(String),
    /// A resume succeeded: the server's reply and its new resume token.
    Resumed {
        /// The `join_success` of the resume.
        reply: JoinReply,
        /// The next resume token.
        resume_token: Option<String>,
    },
    /// The additions' fields of the join reply (sections 15-18: title,
    /// open poll, spotlight), right after a join or a resume.
    JoinAdditions(&'a lanmeet_common::features::JoinReplyAdditions),
    /// The connection is over (all session threads have stopped). The last
    /// input: the core fails open transfers, marks the state disconnected
    /// and sends `Disconnected`, then ignores everything.
    Ended(DisconnectReason),
}

/// What the front end can ask of the core (the shell checks arguments
/// first).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Send a message as it is (host commands, reactions, video state, ...).
    Send(ClientMessage),
    /// Send a chat line and keep our own copy (the server does not echo it).
    Chat {
        /// The text.
        message: String,
        /// A private line's recipient.
        to: Option<String>,
    },
    /// Mute (at once) or ask to unmute (when the server confirms).
    SetMuted(bool),
    /// Playback starts: fill a fresh jitter buffer from now on.
    StartPlayout,
    /// Playback stopped: stop filling the jitter buffer.
    StopPlayout,
    /// One of our files was hashed: offer it.
    Offer(LocalOffer),
    /// Withdraw one of our offers.
    Unoffer {
        /// Our id for it.
        file_id: String,
    },
    /// Cancel a transfer either way.
    Cancel {
        /// The transfer.
        transfer_id: String,
    },
    /// Section 15: vote in the open poll (and remember our choices).
    Vote {
        /// The poll.
        poll_id: String,
        /// Indices of the chosen options.
        choices: Vec<u32>,
    },
    // Section 11: what the window shows.
    /// The window shows these people at these sizes: subscribe to it.
    ShowLayout(subscription::ShownLayout),
}

/// Which slot a JPEG is decoded into.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FrameKey {
    /// A participant's camera.
    Camera(String),
    /// The presenter's screen.
    Screen(String),
    /// Section 11: a participant's camera, thumbnail layer. Its frames are
    /// numbered apart from the full layer's, so they wait for the decoder
    /// in their own slot; the decoded picture goes where the full layer's
    /// does (the person's latest picture, of either layer).
    Thumb(String),
}

/// A JPEG for the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeJob {
    /// Whose picture.
    pub key: FrameKey,
    /// The sender's frame number (screen frames count locally).
    pub frame_seq: u32,
    /// The picture.
    pub jpeg: Vec<u8>,
}

/// What the core asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this message to the server over TCP.
    Send(ClientMessage),
    /// Send this datagram to the server's UDP port.
    Datagram(Vec<u8>),
    /// Tell the front end.
    Event(Event),
    /// Write a line to the session log.
    Log(String),
    /// Decode this JPEG into its slot (newest per slot wins).
    Decode(DecodeJob),
    /// Drop the slot's picture and any JPEG still waiting for it (for a
    /// camera, of both layers).
    Forget(FrameKey),
    /// Our microphone is now muted (send no audio) or not.
    Microphone {
        /// Muted.
        muted: bool,
    },
    /// Start sending the screen source the front end handed over
    /// (the server made us the presenter).
    StartScreenSender,
    /// Stop sending the screen (the share ended).
    StopScreenSender,
    /// Drop the screen source waiting for an answer (we were refused).
    DropScreenSource,
    /// Carry out a file operation.
    File(FileOp),
    /// End the session for this reason (the server went silent or sent
    /// garbage): close the connection.
    End(DisconnectReason),
    /// Section 19: update the shared screen's picture (in order).
    Screen(ScreenJob),
    /// Section 19: the server asks our screen sender for a keyframe.
    ScreenKeyframeWanted,
}

/// The core's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CoreStats {
    /// Video frames reassembled from fragments.
    pub video_frames_received: u64,
    /// Incomplete video frames dropped.
    pub video_frames_dropped: u64,
    /// Mixed audio frames received.
    pub audio_frames_received: u64,
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
    /// Sections 11-12: what each video layer brought.
    pub full_layer: speaking::LayerCounts,
    /// The thumbnail layer (`'T'`).
    pub thumb_layer: speaking::LayerCounts,
}

/// The outputs waiting for the shell, with helpers for the parts.
#[derive(Default)]
struct Out {
    items: VecDeque<Output>,
}

impl Out {
    fn send(&mut self, msg: ClientMessage) {
        self.items.push_back(Output::Send(msg));
    }
    fn event(&mut self, e: Event) {
        self.items.push_back(Output::Event(e));
    }
    fn log(&mut self, line: String) {
        self.items.push_back(Output::Log(line));
    }
    fn file(&mut self, op: FileOp) {
        self.items.push_back(Output::File(op));
    }
}

/// Changes our mute flag and tells the shell when it changed.
fn set_muted(flag: &mut bool, out: &mut Out, muted: bool) {
    if *flag != muted {
        *flag = muted;
        out.items.push_back(Output::Microphone { muted });
    }
}

/// Maps the monotonic `Instant`s the inputs carry to unix time for chat
/// stamps.
struct Clock {
    start: Instant,
    start_unix: f64,
}

impl Clock {
    fn unix(&self, now: Instant) -> f64 {
        self.start_unix + now.saturating_duration_since(self.start).as_secs_f64()
    }
}

/// Everything one session knows, and the queue of what it wants done.
pub struct ClientCore {
    config: CoreConfig,
    state: MeetingState,
    out: Out,
    clock: Clock,
    heartbeat: Heartbeat,
    assembler: CameraAssembler,
    /// Section 11: thumbnail-layer frames, assembled apart.
    thumbs: CameraAssembler,
    /// Section 11: the server's latest `video_layers_wanted`, if any.
    layers_wanted: Option<speaking::WantedLayers>,
    /// Section 11: the `video_subscribe` that follows what the window shows.
    subscriber: subscription::Subscriber,
    next_expire: Instant,
    jitter: JitterBuffer,
    playing: bool,
    muted: bool,
    removed_by: Option<String>,
    transfers: Transfers,
    stats: CoreStats,
    /// The server went silent or sent garbage: `End` was asked for.
    ending: bool,
    /// `Ended` was handled: nothing more happens.
    ended: bool,
    /// Section 13, when both we and the server named `"nack"`: the frames
    /// we lack fragments of, and the fragments we sent.
    video_recovery: Option<(nack::LossWatch, nack::SentVideo)>,
    /// The connection is down and we retry on this schedule.
    reconnect: Option<Reconnect>,
}

impl ClientCore {
    /// The core right after a successful join: the state from the reply,
    /// `Joined` and the first hello queued. `now` and `wall` are the same
    /// moment on the monotonic and the wall clock.
    pub fn new(
        config: CoreConfig,
        reply: &JoinReply,
        created: bool,
        now: Instant,
        wall: SystemTime,
    ) -> ClientCore {
        let mut core = ClientCore {
            state: MeetingState::from_join(reply, &config.username),
            out: Out::default(),
            clock: Clock {
                start: now,
                start_unix: lanmeet_common::time::unix_seconds(wall),
            },
            heartbeat: Heartbeat::new(config.timing, now),
            assembler: CameraAssembler::new(),
            thumbs: CameraAssembler::new(),
            layers_wanted: None,
            subscriber: subscription::Subscriber::default(),
            next_expire: now + EXPIRE_EVERY,
            jitter: JitterBuffer::new(config.jitter_ms),
            playing: false,
            muted: false,
            removed_by: None,
            transfers: Transfers::default(),
            stats: CoreStats::default(),
            ending: false,
            ended: false,
            video_recovery: None,
            reconnect: None,
            config,
        };
        core.out.event(Event::Joined {
            meeting_code: reply.meeting_code.clone(),
            client_id: reply.client_id.clone(),
            is_host: reply.is_host,
            created,
            others: reply.participants.len(),
        });
        core.tick(now);
        core
    }

    /// Handles one input; what it causes waits in [`ClientCore::poll_output`].
    pub fn handle(&mut self, input: Input<'_>, now: Instant) {
        if self.ended {
            return;
        }
        match input {
            Input::Frame(body) => self.on_frame(body, now),
            Input::Datagram(d) => self.on_datagram(d, now),
            Input::Tick => self.tick(now),
            Input::Command(c) => self.on_command(c, now),
            Input::File(result) => {
                let (state, out) = (&mut self.state, &mut self.out);
                self.transfers.on_file_result(state, out, result, now);
            }
            Input::Lost(reason) => self.on_lost(reason, now),
            Input::ResumeFailed(why) => {
                if let Some(r) = &mut self.reconnect {
                    r.failed(now);
                    self.out
                        .log(format!("resume attempt {} failed: {why}", r.attempts()));
                }
            }
            Input::Resumed {
                reply,
                resume_token,
            } => self.on_resumed(&reply, resume_token, now),
            Input::JoinAdditions(additions) => self.on_join_additions(additions),
            Input::Ended(reason) => self.on_ended(reason),
        }
    }

    /// While the connection is down: when to try to resume, or to give
    /// up. `None` when the connection is up (or the session ended).
    pub fn reconnect_step(&self, now: Instant) -> Option<Step> {
        if self.ended {
            return None;
        }
        self.reconnect.as_ref().map(|r| r.step(now))
    }

    /// The `resume_meeting` to send as the first frame of a new
    /// connection, while reconnecting.
    pub fn resume_message(&self) -> Option<ClientMessage> {
        let token = self.config.resume_token.as_ref()?;
        self.reconnect.as_ref()?;
        Some(ClientMessage::ResumeMeeting {
            version: lanmeet_common::limits::PROTOCOL_VERSION,
            resume_token: token.clone(),
            features: Some(lanmeet_common::features::SERVER_FEATURES.names()),
        })
    }

    /// The next thing to do, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.items.pop_front()
    }

    /// When [`Input::Tick`] is next due.
    pub fn next_deadline(&self) -> Instant {
        let next = self.heartbeat.next_deadline().min(self.next_expire);
        let next = self
            .subscriber
            .next_deadline()
            .map_or(next, |s| next.min(s));
        self.video_recovery_deadline().map_or(next, |r| next.min(r))
    }

    /// When a request for lost video fragments is next due, if one is
    /// waiting: a fragment just handled can make it sooner than
    /// [`ClientCore::next_deadline`] said before, so the thread reading
    /// datagrams asks after each one.
    pub fn video_recovery_deadline(&self) -> Option<Instant> {
        if self.reconnect.is_some() || self.ended {
            return None; // ticks do nothing now
        }
        self.video_recovery
            .as_ref()
            .and_then(|(watch, _)| watch.next_deadline())
    }

    /// Section 13: asks for lost video fragments and answers the server's
    /// requests for ours (both ends named `"nack"`), or not.
    pub fn set_video_recovery(&mut self, on: bool) {
        if on != self.video_recovery.is_some() {
            self.video_recovery = on.then(Default::default);
        }
    }

    /// Section 11: send `video_subscribe` as the window's layout changes
    /// (only to a server that named `"layers"`), or not.
    pub fn set_subscriptions(&mut self, on: bool) {
        self.subscriber.set_enabled(on);
    }

    /// Section 11: which of our camera's layers to encode now: what the
    /// server last said in `video_layers_wanted`, or the full layer alone
    /// before it said anything (or when it does not do layers).
    pub fn layers_to_send(&self) -> speaking::WantedLayers {
        self.layers_wanted.unwrap_or(speaking::WantedLayers::FULL)
    }

    /// A `'V'` datagram of ours just went out: kept 500 ms for re-sending
    /// when video recovery is on.
    pub fn video_sent(&mut self, datagram: &[u8], now: Instant) {
        if let Some((_, sent)) = &mut self.video_recovery {
            sent.remember(datagram, now);
        }
    }

    /// The next 10 ms of the meeting's sound: silence while the jitter
    /// buffer fills or when it ran dry.
    pub fn play_frame(&mut self) -> Frame {
        self.jitter.pop()
    }

    /// The meeting as we see it.
    pub fn state(&self) -> &MeetingState {
        &self.state
    }

    /// Whether UDP media reaches the server.
    pub fn media_path(&self) -> MediaPath {
        self.heartbeat.path()
    }

    /// Who removed us, once the server said so.
    pub fn removed_by(&self) -> Option<&str> {
        self.removed_by.as_deref()
    }

    /// Whether our microphone is muted (by us or the host).
    pub fn is_muted(&self) -> bool {
        self.muted
    }

    /// The counters.
    pub fn stats(&self) -> CoreStats {
        CoreStats {
            video_frames_dropped: self.assembler.dropped(),
            file_bytes_sent: self.transfers.bytes_sent,
            jitter: self.jitter.stats(),
            video_nacks_sent: self.video_recovery.as_ref().map_or(0, |(w, _)| w.asked),
            video_fragments_resent: self.video_recovery.as_ref().map_or(0, |(_, s)| s.resent),
            ..self.stats
        }
    }

    /// A new id for a file we are about to offer.
    pub fn new_file_id(&mut self) -> String {
        self.transfers.new_file_id()
    }

    /// Whether a transfer runs (and so can be cancelled).
    pub fn transfer_running(&self, transfer_id: &str) -> bool {
        self.transfers.is_running(transfer_id)
    }

    fn tick(&mut self, now: Instant) {
        if self.reconnect.is_some() {
            return; // no pings into a dead connection, no silence to notice
        }
        if now >= self.next_expire {
            self.assembler.expire(now);
            self.thumbs.expire(now);
            self.next_expire = now + EXPIRE_EVERY;
        }
        self.ask_for_lost_video(now);
        if let Some(subscribe) = self.subscriber.due(now) {
            self.out.send(subscribe);
        }
        let due = self.heartbeat.tick(now);
        if due.ping {
            self.out.send(ClientMessage::Ping);
        }
        if due.hello {
            let id = &self.config.client_id;
            let hello = udp::build(Kind::Hello, id, self.config.udp_token.as_bytes());
            self.out.items.push_back(Output::Datagram(hello));
        }
        if let Some(path) = due.path {
            self.out.log(format!("media path: {path:?}"));
            self.out.event(Event::MediaPath { state: path });
        }
        if due.server_silent {
            self.end(DisconnectReason::Timeout);
        }
    }

    /// Section 13: sends the requests for lost video fragments now due.
    fn ask_for_lost_video(&mut self, now: Instant) {
        if let Some((watch, _)) = &mut self.video_recovery {
            let out = &mut self.out.items;
            watch.poll(&self.config.client_id, now, |d| {
                out.push_back(Output::Datagram(d))
            });
        }
    }

    fn end(&mut self, reason: DisconnectReason) {
        if !self.ending {
            self.ending = true;
            self.out.items.push_back(Output::End(reason));
        }
    }

    fn on_frame(&mut self, body: &[u8], now: Instant) {
        self.heartbeat.heard_from_server(now);
        match parse_server_frame(body) {
            Parsed::Message(msg) => self.on_message(msg, now),
            Parsed::Unknown(kind) => self
                .out
                .log(format!("ignored unknown message type {kind:?}")),
            Parsed::Broken(why) => {
                self.out.log(format!("broken message: {why}"));
                if why.starts_with("frame is not") {
                    self.end(DisconnectReason::Protocol(why));
                } else {
                    self.out.event(Event::Warning {
                        message: format!("the server sent a broken message: {why}"),
                    });
                }
            }
        }
    }

    fn on_datagram(&mut self, bytes: &[u8], now: Instant) {
        let Ok(d) = udp::parse(bytes) else {
            self.stats.malformed_datagrams += 1;
            return;
        };
        match d.kind {
            Kind::Hello => {
                if d.body == HELLO_OK {
                    self.heartbeat.hello_answered(now);
                }
            }
            Kind::Video => {
                if d.client_id.is_empty() || d.client_id == self.config.client_id {
                    return;
                }
                self.stats.full_layer.bytes += bytes.len() as u64;
                if let (Some((watch, _)), Ok((h, _))) =
                    (&mut self.video_recovery, FragmentHeader::parse(d.body))
                {
                    watch.fragment(d.client_id, h, now);
                }
                let pushed = self.assembler.push(d.client_id, d.body, now);
                if let (Some((watch, _)), Ok(Some(frame))) = (&mut self.video_recovery, &pushed) {
                    watch.shown(&frame.sender, frame.frame_seq);
                }
                self.ask_for_lost_video(now);
                match pushed {
                    Ok(Some(frame)) => {
                        self.stats.video_frames_received += 1;
                        self.stats.full_layer.frames += 1;
                        self.out.items.push_back(Output::Decode(DecodeJob {
                            key: FrameKey::Camera(frame.sender),
                            frame_seq: frame.frame_seq,
                            jpeg: frame.jpeg,
                        }));
                    }
                    Ok(None) => {}
                    Err(_) => self.stats.malformed_datagrams += 1,
                }
            }
            Kind::Nack => {
                // The server asks us (empty id) for fragments it never got.
                let Some((_, sent)) = &mut self.video_recovery else {
                    return;
                };
                match Nack::parse(d.body) {
                    Ok(n) if d.client_id.is_empty() && n.sender == self.config.client_id => {
                        let out = &mut self.out.items;
                        sent.resend(&n, now, |d| out.push_back(Output::Datagram(d.to_vec())));
                    }
                    _ => self.stats.malformed_datagrams += 1,
                }
            }
            // Section 11: a thumbnail layer we subscribed to.
            Kind::Thumb => {
                if d.client_id.is_empty() || d.client_id == self.config.client_id {
                    return;
                }
                self.stats.thumb_layer.bytes += bytes.len() as u64;
                match self.thumbs.push(d.client_id, d.body, now) {
                    Ok(Some(frame)) => {
                        self.stats.thumb_layer.frames += 1;
                        self.out.items.push_back(Output::Decode(DecodeJob {
                            key: FrameKey::Thumb(frame.sender),
                            frame_seq: frame.frame_seq,
                            jpeg: frame.jpeg,
                        }));
                    }
                    Ok(None) => {}
                    Err(_) => self.stats.malformed_datagrams += 1,
                }
            }
            Kind::Audio => {
                let Ok((seq, bytes)) = parse_body(d.body) else {
                    self.stats.malformed_datagrams += 1;
                    return;
                };
                self.stats.audio_frames_received += 1;
                if self.playing {
                    let mut pcm = [0i16; FRAME_SAMPLES];
                    decode_pcm(bytes, &mut pcm);
                    self.jitter.push(seq, pcm, now);
                }
            }
        }
    }

    fn on_command(&mut self, command: Command, now: Instant) {
        let (state, out) = (&mut self.state, &mut self.out);
        match command {
            Command::Send(msg) => out.send(msg),
            Command::Chat { message, to } => {
                out.send(ClientMessage::Chat {
                    message: message.clone(),
                    to: to.clone(),
                });
                state.push_chat(ChatLine {
                    client_id: self.config.client_id.clone(),
                    username: self.config.username.clone(),
                    message,
                    timestamp: self.clock.unix(now),
                    private: to.is_some(),
                });
            }
            Command::SetMuted(muted) => {
                out.send(ClientMessage::AudioState { muted });
                if muted {
                    set_muted(&mut self.muted, out, true);
                }
            }
            Command::StartPlayout => {
                // Start from an empty buffer, not with sound from the last
                // playback.
                self.jitter = JitterBuffer::new(self.config.jitter_ms);
                self.playing = true;
            }
            Command::StopPlayout => self.playing = false,
            Command::Offer(offer) => {
                let info = FileOfferInfo {
                    sender_id: self.config.client_id.clone(),
                    username: self.config.username.clone(),
                    file_id: offer.file_id.clone(),
                    filename: offer.filename.clone(),
                    filesize: offer.size,
                    sha256: offer.sha256.clone(),
                };
                out.send(ClientMessage::FileOffer {
                    file_id: offer.file_id.clone(),
                    filename: offer.filename.clone(),
                    filesize: offer.size,
                    sha256: offer.sha256.clone(),
                });
                self.transfers.add_offer(offer);
                state.add_offer(info.clone());
                out.event(Event::FileOffered(info));
            }
            Command::Unoffer { file_id } => {
                self.transfers.remove_offer(&file_id);
                let me = &self.config.client_id;
                state
                    .offers
                    .retain(|o| !(o.sender_id == *me && o.file_id == file_id));
                out.send(ClientMessage::FileUnoffer { file_id });
            }
            Command::Cancel { transfer_id } => {
                self.transfers.cancel(state, out, &transfer_id);
            }
            Command::Vote { poll_id, choices } => self.vote(poll_id, choices),
            Command::ShowLayout(layout) => {
                self.subscriber.set_layout(&layout, now);
                // Due at once (someone appeared) goes now, the rest on a
                // tick; nothing into a connection being resumed.
                if self.reconnect.is_none() {
                    if let Some(subscribe) = self.subscriber.due(now) {
                        self.out.send(subscribe);
                    }
                }
            }
        }
    }

    /// The connection dropped: retry when the server gave us a resume
    /// token and the reason is one a new connection can cure.
    fn on_lost(&mut self, reason: DisconnectReason, now: Instant) {
        let curable = matches!(
            reason,
            DisconnectReason::ServerClosed | DisconnectReason::Timeout | DisconnectReason::Io(_)
        );
        if self.reconnect.is_some()
            || !curable
            || self.config.resume_token.is_none()
            || self.removed_by.is_some()
        {
            return;
        }
        self.out
            .log(format!("connection lost ({reason}), resuming"));
        self.reconnect = Some(Reconnect::start(now));
        // The server fails every open transfer of a dropped participant
        // (peer_left to the other party): so do we, and delete part files.
        let (state, out) = (&mut self.state, &mut self.out);
        self.transfers
            .end_all(state, out, "the connection to the server dropped");
        state.reconnecting = true;
        out.event(Event::Reconnecting { reason });
    }

    /// Back on a new connection: the state from the reply, our own
    /// flags kept, fresh timers, and what the server may have forgotten
    /// sent again.
    fn on_resumed(&mut self, reply: &JoinReply, resume_token: Option<String>, now: Instant) {
        if self.reconnect.take().is_none() {
            return;
        }
        let old_me = self.state.me().cloned();
        let was_presenting = self.state.presenter.as_deref() == Some(&self.config.client_id);
        let mut state = MeetingState::from_join(reply, &self.config.username);
        if let (Some(old), Some(me)) = (old_me, state.participants.iter_mut().find(|p| p.is_me)) {
            me.video = old.video;
            me.muted = old.muted;
            me.mic_locked = old.mic_locked;
            me.hand_raised = old.hand_raised;
            me.raised_at = old.raised_at;
        }
        // Private lines are not in the server's history: keep ours.
        state.chat = self.state.chat.clone();
        // Our vote, until the reply's additions say the poll is gone.
        state.poll = self.state.poll.clone();
        self.state = state;
        self.config.client_id = reply.client_id.clone();
        self.config.udp_token = reply.udp_token.clone();
        self.config.resume_token = resume_token;
        self.heartbeat = Heartbeat::new(self.config.timing, now);
        self.ending = false;
        // A server that saw us go forgot these; one that did not keeps
        // them, and saying them again changes nothing (a raised hand
        // keeps its place in the queue).
        if self.muted {
            self.out.send(ClientMessage::AudioState { muted: true });
        }
        if self.state.me().is_some_and(|me| me.hand_raised) {
            self.out.send(ClientMessage::RaiseHand { state: true });
        }
        self.subscriber.resend(now);
        if was_presenting && reply.presenter.as_deref() != Some(&self.config.client_id) {
            // The server saw us leave, which ended the share: say so.
            self.out.items.push_back(Output::StopScreenSender);
            let me = self.config.client_id.clone();
            self.out
                .items
                .push_back(Output::Forget(FrameKey::Screen(me.clone())));
            self.out
                .event(Event::ScreenShareStopped { presenter_id: me });
        }
        self.out.log(format!(
            "resumed as {} in {}",
            reply.client_id, reply.meeting_code
        ));
        self.out.event(Event::Resumed {
            client_id: reply.client_id.clone(),
            is_host: reply.is_host,
            others: reply.participants.len(),
        });
        self.tick(now);
    }

    fn on_ended(&mut self, reason: DisconnectReason) {
        let (state, out) = (&mut self.state, &mut self.out);
        out.log(format!("session ended: {reason}"));
        let why = format!("the session ended: {reason}");
        self.transfers.end_all(state, out, &why);
        state.connected = false;
        state.reconnecting = false;
        self.reconnect = None;
        out.event(Event::Disconnected { reason });
        self.ended = true;
    }

    /// Applies one server message: state first, then what follows from
    /// it, then the event that describes it.
    fn on_message(&mut self, msg: ServerMessage, now: Instant) {
        self.state.apply(&msg);
        let me = self.config.client_id.as_str();
        let (state, out) = (&mut self.state, &mut self.out);
        let event = match msg {
            ServerMessage::Pong => None,
            ServerMessage::MeetingCreated(_) | ServerMessage::JoinSuccess(_) => {
                Some(Event::Warning {
                    message: "the server sent a second join reply".into(),
                })
            }
            ServerMessage::Error { code, message } => {
                out.log(format!("server error {}: {message}", code.as_str()));
                Some(Event::ServerError { code, message })
            }
            ServerMessage::UserJoined {
                client_id,
                username,
            } => Some(Event::ParticipantJoined {
                client_id,
                username,
            }),
            ServerMessage::UserLeft {
                client_id,
                username,
                reason,
            } => {
                self.assembler.restart(&client_id);
                self.thumbs.restart(&client_id);
                if let Some((watch, _)) = &mut self.video_recovery {
                    watch.forget(&client_id);
                }
                out.items
                    .push_back(Output::Forget(FrameKey::Camera(client_id.clone())));
                Some(Event::ParticipantLeft {
                    client_id,
                    username,
                    reason,
                })
            }
            ServerMessage::HostChanged { client_id } => Some(Event::HostChanged { client_id }),
            ServerMessage::Chat(line) => Some(Event::Chat(line)),
            ServerMessage::ParticipantVideoState { client_id, state } => {
                // Either way the sender's next frame starts a new stream,
                // numbered from 0 again.
                self.assembler.restart(&client_id);
                self.thumbs.restart(&client_id);
                if let Some((watch, _)) = &mut self.video_recovery {
                    watch.forget(&client_id);
                }
                if state == VideoState::Stopped {
                    out.items
                        .push_back(Output::Forget(FrameKey::Camera(client_id.clone())));
                }
                Some(Event::VideoState {
                    client_id,
                    on: state == VideoState::Started,
                })
            }
            ServerMessage::ParticipantAudioState { client_id, muted } => {
                if client_id == me {
                    set_muted(&mut self.muted, out, muted);
                }
                Some(Event::Muted { client_id, muted })
            }
            ServerMessage::ParticipantMuted { client_id } => {
                if client_id == me {
                    set_muted(&mut self.muted, out, true);
                }
                Some(Event::Muted {
                    client_id,
                    muted: true,
                })
            }
            ServerMessage::ParticipantUnmuted { client_id } => {
                if client_id == me {
                    set_muted(&mut self.muted, out, false);
                }
                Some(Event::Muted {
                    client_id,
                    muted: false,
                })
            }
            ServerMessage::MutedByHost => {
                set_muted(&mut self.muted, out, true);
                Some(Event::MutedByHost { muted: true })
            }
            ServerMessage::UnmutedByHost => {
                set_muted(&mut self.muted, out, false);
                Some(Event::MutedByHost { muted: false })
            }
            ServerMessage::MicLocked => Some(Event::MicLock {
                client_id: me.to_string(),
                locked: true,
            }),
            ServerMessage::MicUnlocked => Some(Event::MicLock {
                client_id: me.to_string(),
                locked: false,
            }),
            ServerMessage::ParticipantMicLocked { client_id } => Some(Event::MicLock {
                client_id,
                locked: true,
            }),
            ServerMessage::ParticipantMicUnlocked { client_id } => Some(Event::MicLock {
                client_id,
                locked: false,
            }),
            ServerMessage::ParticipantHandState {
                client_id,
                username,
                state,
                ..
            } => Some(Event::Hand {
                client_id,
                username,
                raised: state,
            }),
            ServerMessage::EmojiReaction {
                client_id,
                username,
                emoji,
            } => Some(Event::Reaction {
                client_id,
                username,
                emoji,
            }),
            ServerMessage::VideoRequested { by } => Some(Event::VideoRequested { by }),
            ServerMessage::UnmuteRequested { by } => Some(Event::UnmuteRequested { by }),
            ServerMessage::Removed { by } => {
                out.log(format!("removed by {by}"));
                self.removed_by = Some(by);
                None
            }
            ServerMessage::MeetingLocked { locked } => Some(Event::MeetingLocked { locked }),
            ServerMessage::ScreenShareStarted { presenter_id } => {
                if presenter_id == me {
                    out.items.push_back(Output::StartScreenSender);
                }
                Some(Event::ScreenShareStarted { presenter_id })
            }
            ServerMessage::ScreenShareDenied { current_presenter } => {
                out.items.push_back(Output::DropScreenSource);
                Some(Event::ScreenShareDenied { current_presenter })
            }
            ServerMessage::ScreenShareStopped { presenter_id } => {
                if presenter_id == me {
                    out.items.push_back(Output::StopScreenSender);
                }
                out.items
                    .push_back(Output::Forget(FrameKey::Screen(presenter_id.clone())));
                Some(Event::ScreenShareStopped { presenter_id })
            }
            ServerMessage::ScreenFrame {
                presenter_id,
                frame_data,
                ..
            } => {
                screen::on_keyframe(out, presenter_id, &frame_data);
                None // the screen painter sends Event::ScreenFrame
            }
            ServerMessage::FileOffer(offer) => {
                if offer.sender_id == me {
                    None // our own offer, already announced when made
                } else {
                    Some(Event::FileOffered(offer))
                }
            }
            ServerMessage::FileUnavailable { sender_id, file_id } => {
                Some(Event::FileUnavailable { sender_id, file_id })
            }
            ServerMessage::FileRequest {
                downloader_id,
                file_id,
                transfer_id,
                ..
            } => {
                self.transfers.on_file_request(
                    state,
                    out,
                    &downloader_id,
                    &file_id,
                    &transfer_id,
                    now,
                );
                None
            }
            ServerMessage::FileTransferStarted {
                transfer_id,
                sender_id,
                file_id,
            } => {
                self.transfers.on_transfer_started(
                    state,
                    out,
                    &transfer_id,
                    &sender_id,
                    &file_id,
                    now,
                );
                None
            }
            ServerMessage::FileChunk {
                transfer_id,
                offset,
                data,
                ..
            } => {
                self.transfers
                    .on_chunk(state, out, &transfer_id, offset, &data, now);
                None
            }
            ServerMessage::FileAck {
                transfer_id,
                offset,
            } => {
                self.transfers.on_ack(state, out, &transfer_id, offset, now);
                None
            }
            ServerMessage::FileEnd {
                transfer_id,
                sha256,
                ..
            } => {
                self.transfers.on_end(state, out, &transfer_id, &sha256);
                None
            }
            ServerMessage::FileError {
                transfer_id,
                reason,
            } => {
                let why = match reason {
                    FileErrorReason::Cancelled => "cancelled by the other party",
                    FileErrorReason::PeerLeft => {
                        "the other party left before the transfer finished"
                    }
                };
                self.transfers.on_error(state, out, &transfer_id, why);
                None
            }
            // Sections 15-17
            msg @ (ServerMessage::PollStarted(_)
            | ServerMessage::PollUpdate { .. }
            | ServerMessage::PollResults(_)
            | ServerMessage::Attendance { .. }
            | ServerMessage::SpotlightChanged { .. }) => Self::classroom_event(msg),
            // Section 19: screen patches.
            ServerMessage::ScreenPatch {
                presenter_id,
                patches,
            } => {
                screen::on_patch(out, presenter_id, patches);
                None
            }
            ServerMessage::ScreenKeyframeRequest => {
                out.items.push_back(Output::ScreenKeyframeWanted);
                None
            }
            // Sections 11-12 (the state keeps the speaking list).
            ServerMessage::VideoLayersWanted { full, thumb } => {
                self.layers_wanted = Some(speaking::WantedLayers { full, thumb });
                Some(Event::LayersWanted { full, thumb })
            }
            ServerMessage::Speaking { client_ids } => Some(Event::Speaking { client_ids }),
        };
        if let Some(e) = event {
            self.out.event(e);
        }
    }
}
