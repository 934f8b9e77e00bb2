//! The mio loop: a thin shell that moves bytes between sockets and the
//! [`Core`].
//!
//! One thread, one `Poll`, three kinds of event source:
//!
//! ```text
//!            +--------------------------- Poll ----------------------------+
//!  LISTENER  | accept -> register conn (READABLE) -> core.on_connect       |
//!  conn N    | read -> framing::decode -> core.on_frame                    |
//!            | write <- OutboundQueue <- core outputs (WRITABLE only while |
//!            |          the queue is not empty)                            |
//!  UDP       | recv_from -> core.on_datagram -> send_to each Datagram out  |
//!            |   (a budgeted turn that runs due timers in between: turn.rs)|
//!  timeout   | core.on_timer: the 10 ms mixer tick and idle checks         |
//!  (all)     | core.take_outputs -> Send / Close / Datagram / Log, in order|
//!            +-------------------------------------------------------------+
//! ```
//!
//! Nothing here blocks: every socket is non-blocking, each connection has
//! its own outbound queue, and a source that always has more to read gets a
//! bounded turn and is revisited after the others (its events are
//! edge-triggered, so the shell remembers to come back).

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};

use lanmeet_common::framing::{self, FrameError};
use lanmeet_common::limits::{
    FRAME_HEADER_LEN, MAX_CLIENT_FRAME, MAX_HANDSHAKE_FRAME, MAX_OUTBOUND_QUEUE,
};
use lanmeet_common::message::LeaveReason;

use crate::core::{ConnId, Core, Output, Outputs};
use crate::log::Logger;
use crate::outbound::{OutboundQueue, Overflow, PatchPush};
use crate::rng::OsRandom;
use crate::turn::{self, TurnEnd, TurnIo};

/// The listening socket.
pub const LISTENER: Token = Token(0);
/// The UDP media socket.
pub const UDP: Token = Token(1);
/// The waker that asks the loop to stop.
pub const WAKER: Token = Token(2);
/// Connection `n` has token `FIRST_CONN + n`.
const FIRST_CONN: usize = 3;

/// Bytes read from a connection per `read` call.
const READ_CHUNK: usize = 64 * 1024;
/// A connection keeps a buffer this large between frames; a larger one
/// (left by a large frame) is given back.
const KEEP_BUFFER: usize = 64 * 1024;
/// Bytes one connection may read in one turn before the others get theirs.
const READ_BUDGET: usize = 1024 * 1024;
/// How long a closing connection may take to drain and say goodbye.
const CLOSE_LINGER: Duration = Duration::from_secs(5);
/// How often the counters line goes to the log.
const STATS_PERIOD: Duration = Duration::from_secs(10);
/// The largest datagram the socket can hand over, so an oversized one is
/// seen whole and counted rather than silently truncated.
const UDP_BUFFER: usize = 65_536;

enum Phase {
    /// Frames go to the core.
    Open,
    /// The core is done with it: send what is queued, shut down the write
    /// side, read and discard until the peer closes or the linger runs out.
    Closing { deadline: Instant, shut: bool },
}

struct Connection {
    stream: TcpStream,
    /// The start of a frame not yet whole (its header, then as much of its
    /// body as has come); empty between frames. Its capacity counts toward
    /// the server-wide cap on incomplete frames.
    partial: Vec<u8>,
    /// Whether its first frame (the handshake, limited to 64 KiB) was taken.
    past_handshake: bool,
    queue: OutboundQueue,
    phase: Phase,
    /// Whether WRITABLE interest is registered.
    wants_write: bool,
}

/// Sockets bound, loop not yet running.
pub struct Shell {
    poll: Poll,
    listener: TcpListener,
    udp: UdpSocket,
    core_config: crate::core::CoreConfig,
    log_dir: Option<std::path::PathBuf>,
    /// Most bytes all connections together may hold of incomplete frames.
    max_incomplete: usize,
    stop: Arc<AtomicBool>,
}

impl Shell {
    pub(crate) fn new(
        poll: Poll,
        listener: TcpListener,
        udp: UdpSocket,
        core_config: crate::core::CoreConfig,
        log_dir: Option<std::path::PathBuf>,
        max_incomplete: usize,
        stop: Arc<AtomicBool>,
    ) -> Shell {
        Shell {
            poll,
            listener,
            udp,
            core_config,
            log_dir,
            max_incomplete,
            stop,
        }
    }

    /// Runs until the stop flag is set (and the waker woken), then ends
    /// the meetings in progress, writing their attendance.
    pub fn run(self) -> io::Result<()> {
        let Shell {
            poll,
            mut listener,
            mut udp,
            core_config,
            log_dir,
            max_incomplete,
            stop,
        } = self;
        let mut logger = Logger::open(log_dir.as_deref())?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        poll.registry()
            .register(&mut udp, UDP, Interest::READABLE)?;
        logger.line(&format!(
            "listening tcp={} udp={} max_datagram={} max_participants={} max_connections={} max_incomplete_bytes={max_incomplete}",
            listener.local_addr()?,
            udp.local_addr()?,
            core_config.max_datagram,
            core_config.max_participants,
            core_config.max_connections,
        ));
        crate::socket::log_udp_buffers(&udp, &mut logger);
        let now = Instant::now();
        let core = Core::new(
            core_config,
            Box::new(OsRandom::new()),
            now,
            SystemTime::now(),
        );
        let mut state = LoopState {
            poll,
            listener,
            udp,
            core,
            conns: HashMap::new(),
            next_conn: 0,
            logger,
            udp_buf: vec![0u8; UDP_BUFFER],
            read_buf: vec![0u8; READ_CHUNK],
            incomplete_bytes: 0,
            max_incomplete,
            holders: BTreeSet::new(),
            dirty: Vec::new(),
            read_again: Vec::new(),
            udp_again: false,
            backlog: turn::Backlog::default(),
            closing: Vec::new(),
            outputs: Outputs::default(),
            next_stats: now + STATS_PERIOD,
        };
        state.run(&stop)
    }
}

struct LoopState {
    poll: Poll,
    listener: TcpListener,
    udp: UdpSocket,
    core: Core,
    conns: HashMap<ConnId, Connection>,
    next_conn: ConnId,
    logger: Logger,
    udp_buf: Vec<u8>,
    /// Where each TCP read lands before its frames are taken out.
    read_buf: Vec<u8>,
    /// Bytes all connections hold of incomplete frames (their `partial`
    /// capacities), and the cap on it.
    incomplete_bytes: usize,
    max_incomplete: usize,
    /// Connections holding an incomplete frame, oldest first.
    holders: BTreeSet<ConnId>,
    /// Connections with new frames queued, to be written this turn.
    dirty: Vec<ConnId>,
    /// Connections that used up their read budget and may hold more.
    read_again: Vec<ConnId>,
    /// The UDP socket used up its budget and may hold more.
    udp_again: bool,
    /// How long the UDP socket has gone undrained.
    backlog: turn::Backlog,
    /// Connections in the Closing phase, checked for their deadline.
    closing: Vec<ConnId>,
    /// The core's outputs, swapped with the core's each time.
    outputs: Outputs,
    next_stats: Instant,
}

/// The real sockets and clock behind a UDP turn.
impl TurnIo for LoopState {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn deadline(&self) -> Instant {
        self.core.next_deadline()
    }

    fn run_timers(&mut self, now: Instant) {
        self.core.on_timer(now);
        self.apply_outputs();
    }

    fn take_datagram(&mut self) -> Option<usize> {
        loop {
            match self.udp.recv_from(&mut self.udp_buf) {
                Ok((len, from)) => {
                    self.core.on_datagram(from, &self.udp_buf[..len]);
                    return Some(self.apply_outputs_relaying(len));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // An ICMP error from an earlier send (a client went away)
                // surfaces here on some systems: not this socket's fault.
                Err(_) => return Some(0),
            }
        }
    }
}

fn token_of(conn: ConnId) -> Token {
    Token(FIRST_CONN + conn as usize)
}

impl LoopState {
    fn run(&mut self, stop: &AtomicBool) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        while !stop.load(Ordering::Acquire) {
            let now = Instant::now();
            let mut deadline = self.core.next_deadline().min(self.next_stats);
            if let Some(d) = self.closing_deadline() {
                deadline = deadline.min(d);
            }
            let timeout = if self.udp_again || !self.read_again.is_empty() {
                Duration::ZERO
            } else {
                deadline.saturating_duration_since(now)
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    UDP => self.udp_again = true,
                    WAKER => {}
                    Token(t) => {
                        let conn = (t - FIRST_CONN) as ConnId;
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.read_conn(conn);
                        }
                        if event.is_writable() {
                            self.dirty.push(conn);
                        }
                    }
                }
                self.apply_outputs();
            }
            if self.udp_again {
                self.read_udp();
            }
            for conn in std::mem::take(&mut self.read_again) {
                self.read_conn(conn);
                self.apply_outputs();
                turn::run_due_timers(self);
            }
            let now = Instant::now();
            self.core.on_timer(now);
            self.apply_outputs();
            self.flush_dirty();
            self.reap_closing(now);
            if now >= self.next_stats {
                self.next_stats = now + STATS_PERIOD;
                self.log_stats();
            }
        }
        self.logger.line("stopping");
        // The meetings end with the server: each writes its attendance.
        self.core.stop(Instant::now());
        self.apply_outputs();
        Ok(())
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    let conn = self.next_conn;
                    self.next_conn += 1;
                    // Chat and control are small messages: send them now.
                    let _ = stream.set_nodelay(true);
                    if let Err(e) = self.poll.registry().register(
                        &mut stream,
                        token_of(conn),
                        Interest::READABLE,
                    ) {
                        self.logger
                            .line(&format!("conn {conn}: cannot register {peer}: {e}"));
                        continue;
                    }
                    self.conns.insert(
                        conn,
                        Connection {
                            stream,
                            partial: Vec::new(),
                            past_handshake: false,
                            queue: OutboundQueue::new(MAX_OUTBOUND_QUEUE),
                            phase: Phase::Open,
                            wants_write: false,
                        },
                    );
                    self.logger
                        .line(&format!("conn {conn}: accepted from {peer}"));
                    self.core.on_connect(conn, peer.ip(), Instant::now());
                    self.apply_outputs();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors, most likely: log it and wait for
                    // the next readiness rather than spin.
                    self.logger.line(&format!("accept failed: {e}"));
                    return;
                }
            }
        }
    }

    /// Reads what `conn` has (up to its budget) and feeds whole frames to
    /// the core.
    fn read_conn(&mut self, conn: ConnId) {
        let mut budget = READ_BUDGET;
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if budget == 0 {
                self.read_again.push(conn);
                return;
            }
            match c.stream.read(&mut self.read_buf) {
                Ok(0) => return self.closed_by_peer(conn, LeaveReason::Left),
                Ok(n) => {
                    budget = budget.saturating_sub(n);
                    if matches!(c.phase, Phase::Closing { .. }) {
                        continue;
                    }
                    let read = std::mem::take(&mut self.read_buf);
                    self.take_frames(conn, &read[..n]);
                    self.read_buf = read;
                    // Forward what these bytes produced now rather than after
                    // the whole read turn: a relayed file chunk then reaches
                    // its downloader while the next is still arriving, and
                    // the pipeline of sender, server and downloader overlaps.
                    self.flush_dirty();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.closed_by_peer(conn, LeaveReason::Error),
            }
        }
    }

    /// Hands every whole frame in `bytes` (after what `conn` held) to the
    /// core, and keeps the start of an incomplete one.
    ///
    /// ```text
    ///  partial: [len|body...]   bytes: [...body][len|body][len|bo]
    ///            \__ completed first ___/\_ direct _/\_ kept _/
    /// ```
    ///
    /// Whole frames in `bytes` go to the core without a copy; only an
    /// incomplete frame is copied into the connection's own buffer, sized
    /// from its header. After a large frame the buffer is given back.
    fn take_frames(&mut self, conn: ConnId, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if !matches!(c.phase, Phase::Open) {
                return; // closed by the core: the rest is discarded
            }
            let limit = if c.past_handshake {
                MAX_CLIENT_FRAME
            } else {
                MAX_HANDSHAKE_FRAME
            };
            if c.partial.is_empty() {
                match framing::decode(bytes, limit) {
                    Ok(Some((body, used))) => {
                        c.past_handshake = true;
                        self.core.on_frame(conn, body, Instant::now());
                        self.apply_outputs();
                        bytes = &bytes[used..];
                    }
                    Ok(None) => return self.keep_partial(conn, bytes, limit),
                    Err(FrameError::TooLarge { len, .. }) => {
                        return self.frame_too_large(conn, len, limit)
                    }
                }
                continue;
            }
            // Complete the frame begun earlier: its header first.
            let have = c.partial.len();
            if have < FRAME_HEADER_LEN {
                let take = (FRAME_HEADER_LEN - have).min(bytes.len());
                c.partial.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if c.partial.len() < FRAME_HEADER_LEN {
                    return;
                }
                match framing::decode(&c.partial, limit) {
                    Err(FrameError::TooLarge { len, .. }) => {
                        return self.frame_too_large(conn, len, limit)
                    }
                    Ok(_) => {
                        let total = frame_len(&c.partial);
                        if !self.reserve_partial(conn, total) {
                            return;
                        }
                        continue;
                    }
                }
            }
            let total = frame_len(&c.partial);
            let take = (total - have).min(bytes.len());
            c.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if c.partial.len() < total {
                return;
            }
            let frame = std::mem::take(&mut c.partial);
            c.past_handshake = true;
            self.core
                .on_frame(conn, &frame[FRAME_HEADER_LEN..], Instant::now());
            self.give_back(conn, frame);
            self.apply_outputs();
        }
    }

    /// Keeps `bytes`, the start of a frame, in `conn`'s buffer, reserving
    /// room for the whole frame once its header is known. Over the cap on
    /// incomplete frames, the newest connection holding one is refused.
    fn keep_partial(&mut self, conn: ConnId, bytes: &[u8], limit: usize) {
        let want = if bytes.len() >= FRAME_HEADER_LEN {
            frame_len(bytes).min(FRAME_HEADER_LEN + limit)
        } else {
            FRAME_HEADER_LEN
        };
        if !self.reserve_partial(conn, want) {
            return;
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.partial.extend_from_slice(bytes);
        }
    }

    /// Makes `conn`'s buffer hold at least `want` bytes, within the
    /// server-wide cap; false when `conn` itself was refused for it.
    fn reserve_partial(&mut self, conn: ConnId, want: usize) -> bool {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return false;
            };
            let have = c.partial.capacity();
            if want <= have {
                return true;
            }
            if self.incomplete_bytes - have + want <= self.max_incomplete {
                c.partial.reserve_exact(want - c.partial.len());
                self.incomplete_bytes += c.partial.capacity() - have;
                self.holders.insert(conn);
                return true;
            }
            // Over the cap: refuse the newest connection holding an
            // incomplete frame, which may be this one.
            let newest = self
                .holders
                .last()
                .copied()
                .filter(|&h| h > conn)
                .unwrap_or(conn);
            self.logger.line(&format!(
                "conn {newest}: refused, {} MiB of incomplete frames held in all (the cap)",
                self.max_incomplete >> 20
            ));
            self.release_partial(newest);
            self.core.on_no_room(newest);
            self.apply_outputs();
            if newest == conn {
                return false;
            }
        }
    }

    /// After a whole frame: keeps a small buffer for the next one, gives a
    /// large one back.
    fn give_back(&mut self, conn: ConnId, mut frame: Vec<u8>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            self.incomplete_bytes -= frame.capacity();
            self.holders.remove(&conn);
            return;
        };
        if frame.capacity() <= KEEP_BUFFER {
            frame.clear();
            c.partial = frame;
        } else {
            self.incomplete_bytes -= frame.capacity();
            self.holders.remove(&conn);
        }
    }

    /// Drops what `conn` holds of an incomplete frame.
    fn release_partial(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            self.incomplete_bytes -= c.partial.capacity();
            c.partial = Vec::new();
        }
        self.holders.remove(&conn);
    }

    fn frame_too_large(&mut self, conn: ConnId, len: usize, limit: usize) {
        self.logger.line(&format!(
            "conn {conn}: frame of {len} bytes refused (limit {limit})"
        ));
        self.release_partial(conn);
        self.core.on_frame_too_large(conn, len, limit);
        self.apply_outputs();
    }

    /// Forgets a connection, and what it held of an incomplete frame.
    fn remove_conn(&mut self, conn: ConnId) -> Option<Connection> {
        self.release_partial(conn);
        let mut c = self.conns.remove(&conn)?;
        let _ = self.poll.registry().deregister(&mut c.stream);
        Some(c)
    }

    /// The peer closed or the socket failed.
    fn closed_by_peer(&mut self, conn: ConnId, reason: LeaveReason) {
        let Some(c) = self.remove_conn(conn) else {
            return;
        };
        if matches!(c.phase, Phase::Open) {
            self.core.on_disconnect(conn, reason);
            self.apply_outputs();
        }
    }

    /// One UDP turn (see [`crate::turn`]): datagrams until the socket is
    /// empty or the turn's budget is spent, the timers run whenever due.
    fn read_udp(&mut self) {
        let end = turn::udp_turn(self);
        self.udp_again = end == TurnEnd::Budget;
        let overloaded = self.backlog.after_turn(end, Instant::now());
        self.core.set_video_shedding(overloaded);
    }

    /// Carries out what the core asked for, including what a disconnect
    /// caused by an overflowing queue asks for in turn.
    fn apply_outputs(&mut self) {
        self.apply_outputs_relaying(0);
    }

    /// [`LoopState::apply_outputs`] right after `core.on_datagram`: the
    /// datagram it relays is the first `relayed` bytes of the UDP buffer.
    /// Returns how many datagrams it sent.
    fn apply_outputs_relaying(&mut self, relayed: usize) -> usize {
        let mut sent = 0;
        loop {
            let mut outputs = std::mem::take(&mut self.outputs);
            self.core.take_outputs(&mut outputs);
            if outputs.is_empty() {
                self.outputs = outputs;
                return sent;
            }
            for output in outputs.drain() {
                match output {
                    Output::Send {
                        conn,
                        frame,
                        droppable,
                    } => {
                        let Some(c) = self.conns.get_mut(&conn) else {
                            continue;
                        };
                        match c.queue.push(frame, droppable) {
                            Ok(()) => self.dirty.push(conn),
                            Err(Overflow) => {
                                self.logger.line(&format!(
                                    "conn {conn}: over {} MiB queued, disconnecting a reader that fell behind",
                                    MAX_OUTBOUND_QUEUE >> 20
                                ));
                                self.remove_conn(conn);
                                self.core.on_disconnect(conn, LeaveReason::Error);
                            }
                        }
                    }
                    Output::Close { conn } => {
                        if let Some(c) = self.conns.get_mut(&conn) {
                            if matches!(c.phase, Phase::Open) {
                                c.phase = Phase::Closing {
                                    deadline: Instant::now() + CLOSE_LINGER,
                                    shut: false,
                                };
                                self.closing.push(conn);
                                self.dirty.push(conn);
                            }
                        }
                        self.release_partial(conn);
                    }
                    Output::Datagram { to, bytes } => {
                        sent += to.len();
                        for &addr in to {
                            if self.udp.send_to(bytes, addr).is_err() {
                                self.core.count_send_failure();
                            }
                        }
                    }
                    Output::Relay { to } => {
                        let datagram = &self.udp_buf[..relayed];
                        sent += to.len();
                        for &addr in to {
                            if self.udp.send_to(datagram, addr).is_err() {
                                self.core.count_send_failure();
                            }
                        }
                    }
                    Output::Log(line) => self.logger.line(&line),
                    Output::Attendance { file_name, csv } => {
                        self.logger.write_report("attendance", &file_name, &csv)
                    }
                    Output::ScreenPatch {
                        conn,
                        frame,
                        catch_up,
                    } => {
                        let Some(c) = self.conns.get_mut(&conn) else {
                            continue;
                        };
                        // Screen data the socket takes now is on the wire,
                        // not waiting: only what it refuses counts as behind.
                        // A failed write is reported by the next flush.
                        if !catch_up && c.queue.holds_unstarted_screen() {
                            let _ = c.queue.write_to(&mut c.stream);
                        }
                        match c.queue.push_screen_patch(frame, catch_up) {
                            PatchPush::Queued => self.dirty.push(conn),
                            PatchPush::Behind => {
                                self.core.on_screen_viewer_behind(conn, Instant::now())
                            }
                        }
                    }
                }
            }
            self.outputs = outputs;
        }
    }

    /// Writes queued frames; switches WRITABLE interest on or off.
    fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for conn in dirty.drain(..) {
            let Some(c) = self.conns.get_mut(&conn) else {
                continue;
            };
            match c.queue.write_to(&mut c.stream) {
                Ok(true) => {
                    if let Phase::Closing {
                        shut: shut @ false, ..
                    } = &mut c.phase
                    {
                        let _ = c.stream.shutdown(Shutdown::Write);
                        *shut = true;
                    }
                    if c.wants_write {
                        c.wants_write = false;
                        let _ = self.poll.registry().reregister(
                            &mut c.stream,
                            token_of(conn),
                            Interest::READABLE,
                        );
                    }
                }
                Ok(false) => {
                    if !c.wants_write {
                        c.wants_write = true;
                        let _ = self.poll.registry().reregister(
                            &mut c.stream,
                            token_of(conn),
                            Interest::READABLE | Interest::WRITABLE,
                        );
                    }
                }
                Err(_) => {
                    let open = matches!(c.phase, Phase::Open);
                    self.remove_conn(conn);
                    if open {
                        self.core.on_disconnect(conn, LeaveReason::Error);
                        self.apply_outputs();
                    }
                }
            }
        }
        self.dirty = dirty;
        if !self.dirty.is_empty() {
            // A disconnect above queued more for others.
            self.flush_dirty();
        }
    }

    fn closing_deadline(&self) -> Option<Instant> {
        self.closing
            .iter()
            .filter_map(|id| match self.conns.get(id).map(|c| &c.phase) {
                Some(Phase::Closing { deadline, .. }) => Some(*deadline),
                _ => None,
            })
            .min()
    }

    /// Drops closing connections past their linger time.
    fn reap_closing(&mut self, now: Instant) {
        if self.closing.is_empty() {
            return;
        }
        let mut keep = Vec::new();
        for conn in std::mem::take(&mut self.closing) {
            match self.conns.get(&conn).map(|c| &c.phase) {
                Some(Phase::Closing { deadline, .. }) if *deadline <= now => {
                    self.remove_conn(conn);
                }
                Some(Phase::Closing { .. }) => keep.push(conn),
                _ => {}
            }
        }
        self.closing = keep;
    }

    fn log_stats(&mut self) {
        let s = self.core.media_stats;
        self.logger.line(&format!(
            "stats: connections={} incomplete_bytes={} meetings={} participants={} transfers={} udp_in={} udp_out={} dropped={} malformed={} send_failed={} mix_ticks={} mixes_sent={} video_frames_shed={} nack_resent={} nack_asked_sender={} nack_unknown={} nack_cache_bytes={} audio_in={} audio_underruns={} audio_dropped={}",
            self.conns.len(),
            self.incomplete_bytes,
            self.core.meeting_count(),
            self.core.participant_count(),
            self.core.transfer_count(),
            s.datagrams_in,
            s.datagrams_out,
            s.dropped,
            s.malformed,
            s.send_failed,
            s.mix_ticks,
            s.mixes_sent,
            s.video_frames_shed,
            s.nack_resent,
            s.nack_asked_sender,
            s.nack_unknown,
            self.core.nack_cache_bytes(),
            s.audio_frames_in,
            s.audio_underruns,
            s.audio_dropped,
        ));
    }
}

/// Header plus body length of the frame whose header starts `bytes`
/// (which holds at least the header).
fn frame_len(bytes: &[u8]) -> usize {
    let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    FRAME_HEADER_LEN + len
}
