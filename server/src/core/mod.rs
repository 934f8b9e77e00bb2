//! The meeting logic: a state machine with no sockets, no threads and no
//! clock of its own.
//!
//! The mio loop in [`crate::shell`] turns socket events into calls on
//! [`Core`] and carries out what the core asks for:
//!
//! ```text
//!   socket events                       Core                      outputs
//!  ---------------                ------------------         -----------------
//!  accepted conn 7   --------->   on_connect(7, ip, now)     Send{conn, frame}
//!  frame from conn 7 --------->   on_frame(7, body, now)     Close{conn}
//!  conn 7 closed     --------->   on_disconnect(7, why) ---> Datagram{to, bytes}
//!  datagram from addr -------->   on_datagram(addr, ..)      Relay{to}, Log(line)
//!  poll timeout      --------->   on_timer(now)              (all, in order, from
//!                                                             take_outputs)
//! ```
//!
//! The core hands everything to the shell one way: a queue of [`Output`]s
//! the shell takes after each input. The bytes of the datagrams it makes
//! (mixed audio, hello answers) go into one buffer the queue reuses; a
//! relayed video fragment is the input datagram itself, sent unchanged
//! (`Output::Relay`), so the per-datagram path neither copies nor
//! allocates once it has warmed up.
//!
//! Every input carries the time, so tests drive the core with simulated time
//! and no sockets, and the same inputs always give the same outputs.
//!
//! The work is split by area: `handshake` (create and join), `control`
//! (chat, presence, host commands), `screen` (screen sharing, keyframes and
//! patches), `files` (brokered transfers), `media` (UDP binding, the video
//! relay and the mixer), `nack` (section 13: relayed fragments kept for
//! re-sending), `layers` (section 11: subscriptions and the per-receiver
//! relay) and `speaking` (section 12: who is heard in the mix); `polls`,
//! `attendance`, `spotlight` and `discovery` hold sections 15-18.

mod attendance;
mod control;
mod discovery;
mod fasthash;
mod files;
mod handshake;
mod jitter;
mod layers;
mod media;
mod meeting;
mod nack;
mod polls;
mod rate;
mod resume;
mod screen;
mod speaking;
mod spotlight;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use lanmeet_common::features::{JoinReplyAdditions, JoinReplyKind, JoinReplyMessage};
use lanmeet_common::framing;
use lanmeet_common::limits;
use lanmeet_common::message::{ClientMessage, ErrorCode, JoinReply, LeaveReason, ServerMessage};

use crate::rng::RandomSource;
pub use media::{MediaStats, HELLO_REPLY};
use meeting::Meeting;

/// The shell's name for one TCP connection. Never reused while the server
/// runs.
pub type ConnId = u64;

/// What the core asks the shell to do, in the order it was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<'a> {
    /// Queue `frame` (already length-prefixed) on `conn`. A `droppable`
    /// frame (a screen frame) replaces an older one still queued.
    Send {
        /// Where.
        conn: ConnId,
        /// The whole frame, shared between recipients of a broadcast.
        frame: Rc<[u8]>,
        /// Whether a newer droppable frame may replace it.
        droppable: bool,
    },
    /// Finish sending what is queued on `conn`, then close it. The core has
    /// already forgotten it.
    Close {
        /// Which connection.
        conn: ConnId,
    },
    /// Send `bytes` as one UDP datagram to each address in `to`.
    Datagram {
        /// Where.
        to: &'a [SocketAddr],
        /// The datagram.
        bytes: &'a [u8],
    },
    /// Send the datagram just handed to [`Core::on_datagram`], unchanged,
    /// to each address in `to` (a relayed video fragment: one entry, not
    /// one per copy, and its bytes are not copied).
    Relay {
        /// Where.
        to: &'a [SocketAddr],
    },
    /// A line for the log.
    Log(String),
    /// Section 16: a meeting ended; write its attendance `csv` as
    /// `<log dir>/attendance/<file_name>`.
    Attendance {
        /// `<meeting code>-<start time>.csv`.
        file_name: String,
        /// The rows, with a header line.
        csv: String,
    },
    /// Section 19: queue the screen patch `frame` on `conn`. The queue
    /// takes it unless it still holds screen data not yet begun on the
    /// wire: then it drops that data and the patch, and the shell calls
    /// [`Core::on_screen_viewer_behind`]. A `catch_up` patch (one of those
    /// a late joiner gets after the keyframe) is queued without that check.
    ScreenPatch {
        /// Where.
        conn: ConnId,
        /// The whole frame, shared between recipients.
        frame: Rc<[u8]>,
        /// Part of a late joiner's catch-up run.
        catch_up: bool,
    },
}

/// An [`Output`] as queued: a datagram's bytes are a range of the queue's
/// byte buffer.
#[derive(Debug)]
enum Queued {
    Send {
        conn: ConnId,
        frame: Rc<[u8]>,
        droppable: bool,
    },
    Close {
        conn: ConnId,
    },
    Datagram {
        to: Range<usize>,
        bytes: Range<usize>,
    },
    Relay {
        to: Range<usize>,
    },
    Log(String),
    Attendance {
        file_name: String,
        csv: String,
    },
    ScreenPatch {
        conn: ConnId,
        frame: Rc<[u8]>,
        catch_up: bool,
    },
}

/// A batch of outputs, taken with [`Core::take_outputs`]. The shell keeps
/// one and hands it back each time: the core and the shell swap two
/// batches, so their buffers are reused rather than allocated.
#[derive(Debug, Default)]
pub struct Outputs {
    queued: Vec<Queued>,
    /// The addresses datagrams go to, in runs.
    addrs: Vec<SocketAddr>,
    /// The datagrams' bytes.
    bytes: Vec<u8>,
}

impl Outputs {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    /// Takes the outputs, in order.
    pub fn drain(&mut self) -> impl Iterator<Item = Output<'_>> + '_ {
        let (bytes, addrs) = (&self.bytes, &self.addrs);
        self.queued.drain(..).map(move |q| match q {
            Queued::Send {
                conn,
                frame,
                droppable,
            } => Output::Send {
                conn,
                frame,
                droppable,
            },
            Queued::Close { conn } => Output::Close { conn },
            Queued::Datagram { to, bytes: range } => Output::Datagram {
                to: &addrs[to],
                bytes: &bytes[range],
            },
            Queued::Relay { to } => Output::Relay { to: &addrs[to] },
            Queued::Log(line) => Output::Log(line),
            Queued::Attendance { file_name, csv } => Output::Attendance { file_name, csv },
            Queued::ScreenPatch {
                conn,
                frame,
                catch_up,
            } => Output::ScreenPatch {
                conn,
                frame,
                catch_up,
            },
        })
    }

    fn clear(&mut self) {
        self.queued.clear();
        self.addrs.clear();
        self.bytes.clear();
    }
}

/// Settings the core needs (the shell's own live in [`crate::Config`]).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The UDP port announced in join replies.
    pub udp_port: u16,
    /// Largest datagram, announced in join replies and enforced.
    pub max_datagram: usize,
    /// Participants in one meeting.
    pub max_participants: usize,
    /// Connections on the server.
    pub max_connections: usize,
    /// Connections from one address still in the handshake.
    pub max_handshakes_per_address: usize,
    /// A connection silent this long is closed (30 s; tests shorten it).
    pub idle_timeout: Duration,
    /// The server's name in discovery answers (section 18).
    pub server_name: String,
    /// The TCP port announced in discovery answers.
    pub tcp_port: u16,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            udp_port: limits::DEFAULT_TCP_PORT + 1,
            max_datagram: limits::DEFAULT_MAX_DATAGRAM,
            max_participants: limits::MAX_PARTICIPANTS,
            max_connections: limits::MAX_CONNECTIONS,
            max_handshakes_per_address: limits::MAX_HANDSHAKES_PER_ADDRESS,
            idle_timeout: Duration::from_secs(limits::IDLE_TIMEOUT_SECS),
            server_name: "lanmeet".to_string(),
            tcp_port: limits::DEFAULT_TCP_PORT,
        }
    }
}

/// Where a connection is in its life.
enum ConnState {
    /// Connected; its first frame must be create or join.
    Handshake,
    /// In a meeting as `client_id`.
    Joined { client_id: String, meeting: String },
}

struct Conn {
    state: ConnState,
    last_heard: Instant,
    /// The address it came from.
    peer: IpAddr,
}

/// Everything the server knows, and the queue of what it wants done.
pub struct Core {
    config: CoreConfig,
    conns: HashMap<ConnId, Conn>,
    meetings: HashMap<String, Meeting>,
    /// client_id -> meeting code, for everyone in a meeting.
    clients: HashMap<String, String>,
    /// udp_token -> client_id.
    tokens: HashMap<String, String>,
    /// Connections still in the handshake, per address.
    handshakes: HashMap<IpAddr, usize>,
    /// resume_token -> client_id, for participants in a meeting.
    resume_tokens: HashMap<String, String>,
    /// resume_token -> who left by a dropped connection, for 60 s.
    away: HashMap<String, resume::Away>,
    next_meeting: u64,
    /// The latest time an input carried (for inputs that carry none).
    now: Instant,
    transfers: files::Transfers,
    out: Outbox,
    rng: Box<dyn RandomSource>,
    next_client: u64,
    clock: Clock,
    next_mix: Instant,
    next_idle_check: Instant,
    /// UDP counters, read by the shell for its periodic log line.
    pub media_stats: MediaStats,
    mixer: media::Mixer,
    /// Section 13: the relayed fragments kept for re-sending.
    nack: nack::NackCaches,
    /// Video frames shed while the loop is overloaded.
    shedding: media::Shedding,
    /// Poll ids and the open polls (section 15).
    polls: polls::PollBook,
    /// Discovery answers per source (section 18).
    discovery: discovery::DiscoveryLimit,
    /// Sections 11-12: thumbnail frames shed likewise, the layers each
    /// receiver gets, and who is speaking.
    thumb_shedding: media::Shedding,
    layers: layers::Layers,
    speaking: speaking::Speaking,
}

/// Maps the monotonic `Instant`s the inputs carry to unix time for stamps.
struct Clock {
    start: Instant,
    start_unix: f64,
}

impl Clock {
    fn unix(&self, now: Instant) -> f64 {
        self.start_unix + now.saturating_duration_since(self.start).as_secs_f64()
    }
}

/// The 10 ms mixer period.
pub const MIX_PERIOD: Duration = Duration::from_millis(lanmeet_common::audio::FRAME_MS);

/// How often idle connections are looked for.
const IDLE_CHECK_PERIOD: Duration = Duration::from_millis(500);

/// Ticks the mixer may run late in a row to catch up; beyond that it skips
/// ahead rather than burst.
const MAX_CATCH_UP_TICKS: u32 = 5;

impl Core {
    /// A core with no meetings. `now` and `wall` are the same moment on the
    /// monotonic and the wall clock.
    pub fn new(
        config: CoreConfig,
        rng: Box<dyn RandomSource>,
        now: Instant,
        wall: SystemTime,
    ) -> Core {
        Core {
            config,
            conns: HashMap::new(),
            meetings: HashMap::new(),
            clients: HashMap::new(),
            tokens: HashMap::new(),
            handshakes: HashMap::new(),
            resume_tokens: HashMap::new(),
            away: HashMap::new(),
            next_meeting: 0,
            now,
            transfers: files::Transfers::default(),
            out: Outbox::default(),
            rng,
            next_client: 0,
            clock: Clock {
                start: now,
                start_unix: lanmeet_common::time::unix_seconds(wall),
            },
            next_mix: now + MIX_PERIOD,
            next_idle_check: now + IDLE_CHECK_PERIOD,
            media_stats: MediaStats::default(),
            mixer: media::Mixer::new(),
            nack: nack::NackCaches::default(),
            shedding: media::Shedding::default(),
            polls: polls::PollBook::default(),
            discovery: discovery::DiscoveryLimit::default(),
            thumb_shedding: media::Shedding::default(),
            layers: layers::Layers::default(),
            speaking: speaking::Speaking::default(),
        }
    }

    /// Hands over what the core wants done since the last call: `into`
    /// gets the outputs, and the core keeps `into`'s buffers (emptied) for
    /// the next ones.
    pub fn take_outputs(&mut self, into: &mut Outputs) {
        into.clear();
        std::mem::swap(&mut self.out.queue, into);
    }

    /// Open connections, in a meeting or not.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Meetings open now.
    pub fn meeting_count(&self) -> usize {
        self.meetings.len()
    }

    /// Participants in all meetings.
    pub fn participant_count(&self) -> usize {
        self.clients.len()
    }

    /// File transfers open now.
    pub fn transfer_count(&self) -> usize {
        self.transfers.len()
    }

    /// Bytes of relayed video kept for re-sending (section 13).
    pub fn nack_cache_bytes(&self) -> usize {
        self.nack.bytes_held()
    }

    /// A connection from `peer` was accepted. Beyond the connection limit,
    /// or beyond the limit of connections from one address still in the
    /// handshake, it is refused with `server_full`.
    pub fn on_connect(&mut self, conn: ConnId, peer: IpAddr, now: Instant) {
        self.now = self.now.max(now);
        let refusal = if self.conns.len() >= self.config.max_connections {
            Some("the server has no room for more connections")
        } else if self.handshakes.get(&peer).copied().unwrap_or(0)
            >= self.config.max_handshakes_per_address
        {
            Some("too many connections from your address are still joining; try again")
        } else {
            None
        };
        if let Some(why) = refusal {
            self.out.log(format!("conn {conn}: refused: {why}"));
            self.out.error(conn, ErrorCode::ServerFull, why);
            self.out.close(conn);
            return;
        }
        *self.handshakes.entry(peer).or_default() += 1;
        self.conns.insert(
            conn,
            Conn {
                state: ConnState::Handshake,
                last_heard: now,
                peer,
            },
        );
    }

    /// Forgets `conn`, keeping the count of handshakes per address.
    fn forget_conn(&mut self, conn: ConnId) -> Option<Conn> {
        let c = self.conns.remove(&conn)?;
        if matches!(c.state, ConnState::Handshake) {
            self.handshake_done(c.peer);
        }
        Some(c)
    }

    /// A connection from `peer` left the handshake (joined or closed).
    fn handshake_done(&mut self, peer: IpAddr) {
        if let Some(n) = self.handshakes.get_mut(&peer) {
            *n -= 1;
            if *n == 0 {
                self.handshakes.remove(&peer);
            }
        }
    }

    /// One frame body arrived on `conn`.
    pub fn on_frame(&mut self, conn: ConnId, body: &[u8], now: Instant) {
        self.now = self.now.max(now);
        let Some(c) = self.conns.get_mut(&conn) else {
            return; // closing: the shell no longer feeds its frames, but be safe
        };
        c.last_heard = now;
        let message = match ClientMessage::parse(body) {
            Ok(m) => m,
            Err(why) => {
                self.out.error(conn, ErrorCode::BadRequest, why.0);
                if matches!(c.state, ConnState::Handshake) {
                    self.drop_conn(conn);
                }
                return;
            }
        };
        match &c.state {
            ConnState::Handshake => self.on_handshake(conn, message, body, now),
            ConnState::Joined { client_id, meeting } => {
                let (client_id, meeting) = (client_id.clone(), meeting.clone());
                self.on_message(conn, &client_id, &meeting, message, now);
            }
        }
    }

    /// A client announced a frame over `limit` (4 MiB, or 64 KiB for the
    /// handshake): `too_large`, then close.
    pub fn on_frame_too_large(&mut self, conn: ConnId, len: usize, limit: usize) {
        self.out.error(
            conn,
            ErrorCode::TooLarge,
            format!("frame of {len} bytes is over the limit of {limit}"),
        );
        self.leave(conn, LeaveReason::Error, false);
        self.out.close(conn);
    }

    /// The shell has no room for `conn`'s incomplete frame (the cap on all
    /// incomplete frames is reached and `conn` is the newest holding one):
    /// `server_full`, then close.
    pub fn on_no_room(&mut self, conn: ConnId) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        self.out.error(
            conn,
            ErrorCode::ServerFull,
            "the server holds too much unfinished input; try again later",
        );
        self.leave(conn, LeaveReason::Error, true);
        self.out.close(conn);
    }

    /// The connection closed or failed (the shell has dropped it).
    pub fn on_disconnect(&mut self, conn: ConnId, reason: LeaveReason) {
        self.leave(conn, reason, true);
    }

    /// When the core next needs [`Core::on_timer`].
    pub fn next_deadline(&self) -> Instant {
        self.next_mix.min(self.next_idle_check)
    }

    /// Runs what is due: mixer ticks (mixed audio as datagram outputs) and
    /// the idle timeout.
    pub fn on_timer(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let mut ticks = 0;
        while now >= self.next_mix {
            if ticks == MAX_CATCH_UP_TICKS {
                self.next_mix = now + MIX_PERIOD;
                break;
            }
            self.mix_tick();
            self.next_mix += MIX_PERIOD;
            ticks += 1;
        }
        self.flush_poll_updates(now);
        if ticks > 0 {
            self.media_additions_tick(now);
        }
        if now >= self.next_idle_check {
            self.next_idle_check = now + IDLE_CHECK_PERIOD;
            self.close_idle(now);
            self.nack.sweep(now);
        }
        self.screen_timer(now);
    }

    fn close_idle(&mut self, now: Instant) {
        let limit = self.config.idle_timeout;
        let idle: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| now.saturating_duration_since(c.last_heard) >= limit)
            .map(|(&id, _)| id)
            .collect();
        for conn in idle {
            self.out
                .log(format!("conn {conn}: silent for {:?}, closing", limit));
            self.leave(conn, LeaveReason::Timeout, true);
            self.out.close(conn);
        }
        self.expire_away(now);
    }

    /// Forgets `conn` without a leave (it never joined) and closes it.
    fn drop_conn(&mut self, conn: ConnId) {
        self.forget_conn(conn);
        self.out.close(conn);
    }

    /// Takes `conn` out of its meeting (if any) and tells the others why.
    /// The caller decides whether to close the connection. A participant
    /// that is `resumable` (its connection dropped or went silent; not one
    /// that said `leave` or was removed) may come back for 60 s.
    fn leave(&mut self, conn: ConnId, reason: LeaveReason, resumable: bool) {
        let Some(c) = self.forget_conn(conn) else {
            return;
        };
        let ConnState::Joined {
            client_id,
            meeting: code,
        } = c.state
        else {
            return;
        };
        self.clients.remove(&client_id);
        self.nack.forget(&client_id);
        self.shedding.forget(&client_id);
        self.thumb_shedding.forget(&client_id);
        let Some(meeting) = self.meetings.get_mut(&code) else {
            return;
        };
        let Some(p) = meeting.remove(&client_id) else {
            return;
        };
        self.tokens.remove(&p.udp_token);
        meeting.screen.forget(&client_id);
        if let Some(token) = &p.resume_token {
            self.resume_tokens.remove(token);
            if resumable {
                self.remember_away(token.clone(), &p, &code);
            }
        }
        let meeting = self
            .meetings
            .get_mut(&code)
            .expect("the meeting held the leaver");
        self.out.log(format!(
            "meeting {code}: {} ({client_id}) left: {}",
            p.username,
            leave_reason_str(reason)
        ));
        self.out.broadcast(
            meeting,
            &ServerMessage::UserLeft {
                client_id: client_id.clone(),
                username: p.username.clone(),
                reason,
            },
            None,
        );
        if p.is_host {
            if let Some(next) = meeting.participants.first_mut() {
                next.is_host = true;
                let msg = ServerMessage::HostChanged {
                    client_id: next.client_id.clone(),
                };
                self.out.broadcast(meeting, &msg, None);
            }
        }
        if meeting.presenter.as_deref() == Some(client_id.as_str()) {
            screen::end_share(meeting, &mut self.out, client_id.clone());
        }
        self.transfers.party_left(&client_id, &mut self.out, |id| {
            meeting.participant(id).map(|p| p.conn)
        });
        for offer in meeting.take_offers_of(&client_id) {
            let msg = ServerMessage::FileUnavailable {
                sender_id: offer.sender_id,
                file_id: offer.file_id,
            };
            self.out.broadcast(meeting, &msg, None);
        }
        let ended = meeting.participants.is_empty();
        self.record_leave(&code, &client_id, reason);
        self.clear_spotlight_of(&code, &client_id);
        if ended {
            self.save_attendance(&code);
            self.meetings.remove(&code);
            self.out.log(format!("meeting {code}: closed"));
        }
        self.sync_media_additions(&code);
    }

    /// A frame from a joined client.
    fn on_message(
        &mut self,
        conn: ConnId,
        client_id: &str,
        code: &str,
        message: ClientMessage,
        now: Instant,
    ) {
        use ClientMessage as M;
        match message {
            M::CreateMeeting { .. } | M::JoinMeeting { .. } | M::ResumeMeeting { .. } => {
                self.out
                    .error(conn, ErrorCode::BadRequest, "already in a meeting");
            }
            M::Ping => self.out.send(conn, &ServerMessage::Pong),
            M::Leave => {
                self.leave(conn, LeaveReason::Left, false);
                self.out.close(conn);
            }
            M::FileOffer { .. }
            | M::FileRequest { .. }
            | M::FileChunk { .. }
            | M::FileAck { .. }
            | M::FileEnd { .. }
            | M::FileCancel { .. }
            | M::FileUnoffer { .. } => self.on_file_message(conn, client_id, code, message),
            M::PollCreate { .. } | M::PollVote { .. } | M::PollClose { .. } => {
                self.on_poll_message(conn, client_id, code, message, now)
            }
            M::AttendanceRequest => self.on_attendance_request(conn, client_id, code),
            M::Spotlight { client_id: target } => self.on_spotlight(conn, client_id, code, target),
            M::RequestScreenShare
            | M::StopScreenShare
            | M::ScreenFrame { .. }
            | M::ScreenPatch { .. } => self.on_screen_message(conn, client_id, code, message, now),
            // Section 11.
            M::VideoSubscribe {
                default_layer,
                last_n,
                overrides,
            } => self.on_video_subscribe(conn, client_id, code, default_layer, last_n, overrides),
            other => self.on_control(conn, client_id, code, other, now),
        }
    }

    fn unix_now(&self, now: Instant) -> f64 {
        self.clock.unix(now)
    }

    fn random_bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut buf = [0u8; N];
        self.rng.fill(&mut buf);
        buf
    }
}

fn leave_reason_str(reason: LeaveReason) -> &'static str {
    match reason {
        LeaveReason::Left => "left",
        LeaveReason::Timeout => "timeout",
        LeaveReason::Removed => "removed",
        LeaveReason::Error => "error",
    }
}

/// What the core has decided to send, close and log, in order.
#[derive(Default)]
struct Outbox {
    queue: Outputs,
}

/// `text` cut to at most `max` bytes at a character boundary, marked with
/// an ellipsis when cut.
fn clip(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub('…'.len_utf8());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Serializes and frames a message once, to be shared by every recipient.
fn frame_of(message: &ServerMessage) -> Rc<[u8]> {
    framing::encode_json(message).into()
}

impl Outbox {
    fn send(&mut self, conn: ConnId, message: &ServerMessage) {
        self.queue.queued.push(Queued::Send {
            conn,
            frame: frame_of(message),
            droppable: false,
        });
    }

    /// A join reply with the additions' fields for this client.
    fn send_join_reply(
        &mut self,
        conn: ConnId,
        kind: JoinReplyKind,
        reply: &JoinReply,
        additions: &JoinReplyAdditions,
    ) {
        let message = JoinReplyMessage {
            kind,
            reply,
            additions,
        };
        self.queue.queued.push(Queued::Send {
            conn,
            frame: framing::encode_json(&message).into(),
            droppable: false,
        });
    }

    fn send_frame(&mut self, conn: ConnId, frame: Rc<[u8]>, droppable: bool) {
        self.queue.queued.push(Queued::Send {
            conn,
            frame,
            droppable,
        });
    }

    /// An `error`; its text is cut to [`limits::MAX_ERROR_TEXT`] bytes, so
    /// a message quoting what a client sent never echoes megabytes back.
    fn error(&mut self, conn: ConnId, code: ErrorCode, message: impl Into<String>) {
        let message = clip(message.into(), limits::MAX_ERROR_TEXT);
        self.send(conn, &ServerMessage::error(code, message));
    }

    fn close(&mut self, conn: ConnId) {
        self.queue.queued.push(Queued::Close { conn });
    }

    /// Sends `message` to everyone in `meeting` but `except`.
    fn broadcast(&mut self, meeting: &Meeting, message: &ServerMessage, except: Option<&str>) {
        let frame = frame_of(message);
        self.broadcast_frame(meeting, frame, except, false);
    }

    fn broadcast_frame(
        &mut self,
        meeting: &Meeting,
        frame: Rc<[u8]>,
        except: Option<&str>,
        droppable: bool,
    ) {
        for p in &meeting.participants {
            if Some(p.client_id.as_str()) != except {
                self.queue.queued.push(Queued::Send {
                    conn: p.conn,
                    frame: frame.clone(),
                    droppable,
                });
            }
        }
    }

    fn log(&mut self, line: String) {
        self.queue.queued.push(Queued::Log(line));
    }

    /// A screen patch for `conn` (see [`Output::ScreenPatch`]).
    fn screen_patch(&mut self, conn: ConnId, frame: Rc<[u8]>, catch_up: bool) {
        self.queue.queued.push(Queued::ScreenPatch {
            conn,
            frame,
            catch_up,
        });
    }

    /// Sends `bytes` as one datagram to each of `to`; nothing when `to`
    /// is empty. Returns how many copies go out.
    fn datagram_to_all(&mut self, to: impl IntoIterator<Item = SocketAddr>, bytes: &[u8]) -> u64 {
        let q = &mut self.queue;
        let first = q.addrs.len();
        q.addrs.extend(to);
        let copies = q.addrs.len() - first;
        if copies > 0 {
            let start = q.bytes.len();
            q.bytes.extend_from_slice(bytes);
            q.queued.push(Queued::Datagram {
                to: first..q.addrs.len(),
                bytes: start..q.bytes.len(),
            });
        }
        copies as u64
    }

    /// Relays the datagram being handled to each of `to`. Returns how many
    /// copies go out.
    fn relay(&mut self, to: impl IntoIterator<Item = SocketAddr>) -> u64 {
        let q = &mut self.queue;
        let first = q.addrs.len();
        q.addrs.extend(to);
        let copies = q.addrs.len() - first;
        if copies > 0 {
            q.queued.push(Queued::Relay {
                to: first..q.addrs.len(),
            });
        }
        copies as u64
    }

    /// Sends `bytes` as a datagram to `to`.
    fn datagram(&mut self, to: SocketAddr, bytes: &[u8]) {
        self.datagram_to_all([to], bytes);
    }
}
