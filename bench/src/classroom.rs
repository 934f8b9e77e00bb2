//! The `classroom` scenario: one meeting of 30, every camera on, audio on,
//! everyone in grid view with the current speaker at full size
//! (PROTOCOL.md sections 11 and 12), against the same meeting of version 1
//! clients, and the desktop window's CPU showing 25 others.
//!
//! ```text
//!  3 video threads, 10 people each: every 50 ms a 640x480 JPEG (~24 KB,
//!    'V', 18 fragments) and every 100 ms a 240x180 one ('T'), each layer
//!    only while video_layers_wanted says so, the fragments spread by the
//!    client's own media/fragment_pace.rs, people staggered over the period
//!  1 audio thread: 'A' every 10 ms from everyone; one speaker at -20 dBFS,
//!    the others at -70 dBFS (under section 12's -50); a new speaker every 2 s
//!            |                                        ^ video_layers_wanted
//!            v                                        | speaking
//!         server ---'T' of 28-29, 'V' of the speaker, mixed 'A'---> 30 receivers
//!  30 control threads: on `speaking`, video_subscribe{default:"thumb",
//!    overrides:{speaker:"full"}} at once (a window's grid view)
//!  3 receive threads (mio, 10 sockets each): bytes, whole frames per
//!    layer, latency, the first full frame of each new speaker
//!  the desktop window (Xvfb, LANMEET_AUTOJOIN) among 25 of these senders:
//!    its CPU from /proc
//! ```
//!
//! Every frame's JPEG carries its send stamp in a comment segment (bytes
//! 6..14), so it stays a JPEG a window can decode. Generator, server and
//! receivers share this machine's cores; the generator's CPU is reported
//! beside the server's.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lanmeet_common::audio::{self, FRAME_SAMPLES};
use lanmeet_common::message::{ClientMessage, LayerChoice, ServerMessage};
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video::{self, FragmentAssembler};

use crate::fragment_pace;
use crate::peer::{stamp_now, Peer};
use crate::process::{on_path, KillOnDrop, Xvfb};
use crate::procstat;
use crate::server::ServerProcess;
use crate::stats::Latencies;

/// People in the meeting.
const PEOPLE: usize = 30;
/// Senders the desktop window is shown.
const DESKTOP_SENDERS: usize = 25;
/// Full-layer frames a second.
const FPS: u32 = 20;
/// Thumbnails a second, twice over: 7.5 a second, as the client sends them
/// (`client/src/media/thumb.rs`).
const THUMB_FPS_X2: u32 = 15;

/// Whether frame `n` carries a thumbnail: when `n x 7.5 / FPS` passes a
/// whole number, as the client decides it.
fn thumbnail_due(n: u32) -> bool {
    let thumbs_by = |frames: u32| frames * THUMB_FPS_X2 / (2 * FPS);
    n == 0 || thumbs_by(n) > thumbs_by(n - 1)
}

/// Thumbnails a second.
const THUMB_FPS: f64 = THUMB_FPS_X2 as f64 / 2.0;
/// Bytes of a full-layer frame, as the issue measured a 640x480 camera.
const FULL_BYTES: usize = 24_000;
/// Threads that send video.
const VIDEO_THREADS: usize = 3;
/// A new speaker this often.
const SWITCH_EVERY: Duration = Duration::from_secs(2);
/// Seconds before measuring: joins, subscriptions and layers settle.
const WARM_UP: Duration = Duration::from_secs(3);
/// After a change of speaker, frames of the two people concerned count for
/// delivery only this long after it (the switch itself is measured apart).
const SETTLE: Duration = Duration::from_secs(1);
/// Where the send stamp sits in every JPEG (inside a COM segment).
const STAMP_AT: usize = 6;
/// Threads that read the receivers' sockets.
const RECEIVE_THREADS: usize = 3;
/// Receive buffer of a measuring receiver.
const RECEIVER_BUFFER: usize = 1 << 20;

/// Figures for the summary table.
pub struct ClassroomFigures {
    pub per_receiver_mbit: f64,
    pub egress_mbit: f64,
    pub delivery: f64,
    pub new_speaker_p95_ms: f64,
    pub new_speaker_max_ms: f64,
    /// The window's CPU (fraction of a core), or why it was not measured.
    pub desktop_cpu: Result<f64, String>,
}

/// The two pictures every camera sends: a synthetic 640x480 scene encoded
/// once, and its 240x180 thumbnail at quality 50 (section 11's suggestion).
#[derive(Clone)]
struct Pictures {
    full: Vec<u8>,
    full_quality: u8,
    thumb: Vec<u8>,
}

fn scene(width: usize, height: usize) -> Vec<u8> {
    let mut px = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            // A head and shoulders before a bookshelf, with sensor noise:
            // roughly what a webcam JPEG has to code.
            let (fx, fy) = (x as f64 / width as f64, y as f64 / height as f64);
            let head = ((fx - 0.5) / 0.14).powi(2) + ((fy - 0.42) / 0.24).powi(2) < 1.0;
            let body = ((fx - 0.5) / 0.32).powi(2) + ((fy - 1.0) / 0.3).powi(2) < 1.0;
            let hash = |a: u32, b: u32| {
                let h = a.wrapping_mul(374_761_393) ^ b.wrapping_mul(668_265_263);
                (h ^ (h >> 13)).wrapping_mul(1_274_126_177) >> 24
            };
            // Behind: a shelf of books, 24-54 pixels wide, in rows of 80.
            let shelf = (y / 80) as u32;
            let book = ((x + (shelf as usize * 7) % 23) / (24 + (shelf as usize * 11) % 31)) as u32;
            let tint = f64::from(hash(book, shelf + 1000));
            let mut rgb = if head {
                [205.0, 160.0, 130.0 + 10.0 * (fy * 40.0).sin()]
            } else if body {
                [60.0, 80.0, 150.0 + 40.0 * (fx * 30.0).sin()]
            } else if y % 80 < 6 {
                [120.0, 90.0, 60.0]
            } else {
                [70.0 + 0.4 * tint, 80.0 + 0.25 * tint, 130.0 - 0.25 * tint]
            };
            let noise = f64::from(hash(x as u32, y as u32)) / 255.0 * 12.0 - 6.0;
            for c in &mut rgb {
                *c = (*c + noise).clamp(0.0, 255.0);
            }
            px.extend(rgb.map(|c| c as u8));
        }
    }
    px
}

fn shrink(px: &[u8], (w, h): (usize, usize), (tw, th): (usize, usize)) -> Vec<u8> {
    let mut out = Vec::with_capacity(tw * th * 3);
    for ty in 0..th {
        for tx in 0..tw {
            let (x0, x1) = (tx * w / tw, ((tx + 1) * w / tw).max(tx * w / tw + 1));
            let (y0, y1) = (ty * h / th, ((ty + 1) * h / th).max(ty * h / th + 1));
            for c in 0..3 {
                let mut sum = 0u32;
                for y in y0..y1 {
                    for x in x0..x1 {
                        sum += u32::from(px[(y * w + x) * 3 + c]);
                    }
                }
                out.push((sum / ((x1 - x0) * (y1 - y0)) as u32) as u8);
            }
        }
    }
    out
}

fn encode(px: &[u8], w: usize, h: usize, quality: u8) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(px, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| e.to_string())?;
    // SOI, then a comment segment for the stamps, then the rest.
    let mut stamped = vec![0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x12];
    stamped.extend_from_slice(&[0; 16]);
    stamped.extend_from_slice(out.get(2..).ok_or("empty JPEG")?);
    Ok(stamped)
}

fn pictures() -> Result<Pictures, String> {
    let px = scene(640, 480);
    // The quality whose frame is nearest FULL_BYTES (size grows with it).
    let (mut lo, mut hi) = (10u8, 95u8);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if encode(&px, 640, 480, mid)?.len() < FULL_BYTES {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let full = encode(&px, 640, 480, lo)?;
    let thumb = encode(&shrink(&px, (640, 480), (240, 180)), 240, 180, 50)?;
    Ok(Pictures {
        full,
        full_quality: lo,
        thumb,
    })
}

fn read_stamp(jpeg: &[u8]) -> Option<u64> {
    let b = jpeg.get(STAMP_AT..STAMP_AT + 8)?;
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

/// Which layer a frame was: 0 full, 1 thumbnail.
const FULL: usize = 0;
const THUMB: usize = 1;

/// One person as the threads share them.
struct Person {
    id: String,
    /// `video_layers_wanted`: (full, thumb). Version 1: full only.
    wants_full: AtomicBool,
    wants_thumb: AtomicBool,
}

/// A frame a sender sent: who, layer, frame_seq, send stamp.
#[derive(Clone, Copy)]
struct Sent {
    person: usize,
    layer: usize,
    seq: u32,
    stamp: u64,
}

/// A whole frame at a receiver: sender, layer, frame_seq, send stamp,
/// arrival stamp.
#[derive(Clone, Copy)]
struct Whole {
    sender: usize,
    layer: usize,
    seq: u32,
    sent: u64,
    at: u64,
}

/// What one receiver saw.
#[derive(Default)]
struct Seen {
    frames: Vec<Whole>,
}

/// How the meeting runs.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Everyone names "layers" and "speaking" and subscribes: grid view.
    Grid,
    /// Version 1 clients: no features, every full layer to everyone.
    Version1,
}

/// What one run measured.
struct RunFigures {
    seconds: f64,
    receivers_read: usize,
    per_receiver_mbit: Vec<f64>,
    egress_mbit: f64,
    due_egress_mbit: f64,
    datagrams_out_per_s: f64,
    rcvbuf_drops_per_s: f64,
    server_cpu: f64,
    generator_cpu: f64,
    delivery: [(u64, u64); 2],
    latency: [Latencies; 2],
    new_speaker: Latencies,
    switches: usize,
}

/// The speaker at `t` since the start, and when they began.
fn speaker_at(t: Duration) -> (usize, u32) {
    let turn = (t.as_millis() / SWITCH_EVERY.as_millis()) as u32;
    // A different person each turn, not in join order.
    ((turn as usize * 7 + 3) % PEOPLE, turn)
}

/// Everything a run starts, kept until the run ends.
struct Meeting {
    server: ServerProcess,
    people: Arc<Vec<Person>>,
    sockets: Vec<UdpSocket>,
    server_udp: SocketAddr,
    max_datagram: usize,
    controls: Vec<thread::JoinHandle<()>>,
    /// `user_joined` messages seen (the window's arrival).
    joined: Arc<AtomicUsize>,
}

fn start_meeting(
    server_bin: &Path,
    senders: usize,
    mode: Mode,
    stop: &Arc<AtomicBool>,
) -> Result<(Meeting, String), String> {
    let server = ServerProcess::start(server_bin, &[])?;
    let features: &[&str] = match mode {
        Mode::Grid => &["layers", "speaking"],
        Mode::Version1 => &[],
    };
    let e = |e: std::io::Error| e.to_string();
    let mut peers = Vec::new();
    let mut code: Option<String> = None;
    for i in 0..senders {
        let name = format!("p{i}");
        let peer = if mode == Mode::Version1 {
            match &code {
                None => Peer::create(server.tcp, server.udp, &name),
                Some(c) => Peer::join(server.tcp, server.udp, &name, c),
            }
        } else {
            Peer::enter_with(server.tcp, server.udp, &name, code.as_deref(), features)
        }
        .map_err(e)?;
        code.get_or_insert_with(|| peer.code.clone());
        peers.push(peer);
    }
    let code = code.ok_or("nobody in the meeting")?;
    for p in &peers {
        p.bind_udp().map_err(|e| format!("{}: {e}", p.client_id))?;
    }
    let people: Arc<Vec<Person>> = Arc::new(
        peers
            .iter()
            .map(|p| Person {
                id: p.client_id.clone(),
                wants_full: AtomicBool::new(true),
                wants_thumb: AtomicBool::new(false),
            })
            .collect(),
    );
    let sockets = peers
        .iter()
        .map(|p| p.udp.try_clone())
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)?;
    let (server_udp, max_datagram) = (peers[0].server_udp, peers[0].max_datagram);
    let joined = Arc::new(AtomicUsize::new(0));
    let mut controls = Vec::new();
    for (i, mut peer) in peers.into_iter().enumerate() {
        peer.send(&ClientMessage::VideoState {
            state: lanmeet_common::message::VideoState::Started,
        })
        .map_err(e)?;
        if mode == Mode::Grid {
            peer.send(&subscription(None)).map_err(e)?;
        }
        let (people, stop, joined) = (people.clone(), stop.clone(), joined.clone());
        controls.push(thread::spawn(move || {
            control(&mut peer, i, &people, &stop, &joined)
        }));
    }
    let meeting = Meeting {
        server,
        people,
        sockets,
        server_udp,
        max_datagram,
        controls,
        joined,
    };
    Ok((meeting, code))
}

/// Grid view: thumbnails of everyone, the speaker (if any) full size.
fn subscription(speaker: Option<&str>) -> ClientMessage {
    ClientMessage::VideoSubscribe {
        default_layer: LayerChoice::Thumb,
        last_n: None,
        overrides: speaker
            .map(|s| (s.to_string(), LayerChoice::Full))
            .into_iter()
            .collect(),
    }
}

/// One person's control connection: the layers the server wants of them,
/// and, on `speaking`, a new subscription with the new speaker full size.
fn control(peer: &mut Peer, me: usize, people: &[Person], stop: &AtomicBool, joined: &AtomicUsize) {
    let ping = ClientMessage::Ping;
    let mut last_ping = Instant::now();
    let mut speaker: Option<String> = None;
    while !stop.load(Ordering::Acquire) {
        if last_ping.elapsed() > Duration::from_secs(5) {
            let _ = peer.send(&ping);
            last_ping = Instant::now();
        }
        let msg = match peer.recv(Duration::from_millis(100)) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            // A message this bench does not know (kind Other): read on.
            Err(e) if e.kind() == std::io::ErrorKind::Other => continue,
            Err(_) => return,
        };
        match msg {
            ServerMessage::VideoLayersWanted { full, thumb } => {
                people[me].wants_full.store(full, Ordering::Release);
                people[me].wants_thumb.store(thumb, Ordering::Release);
            }
            ServerMessage::Speaking { client_ids } => {
                // The window keeps the last speaker on stage when the room
                // falls quiet; a new first name moves the stage at once.
                if let Some(first) = client_ids.first() {
                    if speaker.as_deref() != Some(first) {
                        speaker = Some(first.clone());
                        let _ = peer.send(&subscription(speaker.as_deref()));
                    }
                }
            }
            ServerMessage::UserJoined { .. } => {
                joined.fetch_add(1, Ordering::AcqRel);
            }
            _ => {}
        }
    }
}

/// A datagram waiting for its time.
type Due = Reverse<(Instant, u64, usize, Vec<u8>)>;

/// Sends the video of `mine` (indexes into `people`) from `start` for
/// `duration`: frames on a schedule, each layer while wanted, fragments
/// spread as the client spreads them. Returns the frames sent.
#[allow(clippy::too_many_arguments)] // one thread's whole job, named at the call
fn send_video(
    people: &[Person],
    mine: &[usize],
    sockets: &[UdpSocket],
    (server, max_datagram): (SocketAddr, usize),
    pics: &Pictures,
    thumbs: bool,
    start: Instant,
    duration: Duration,
) -> Vec<Sent> {
    let period = Duration::from_secs(1) / FPS;
    let end = start + duration;
    let mut sent = Vec::new();
    // Per person: the next frame number and the layer sequence numbers.
    let mut next = vec![0u32; mine.len()];
    let mut seqs = vec![[0u32; 2]; mine.len()];
    let mut queue: BinaryHeap<Due> = BinaryHeap::new();
    let mut order = 0u64;
    let (mut full, mut thumb) = (pics.full.clone(), pics.thumb.clone());
    let offset_of = |k: usize| period * mine[k] as u32 / PEOPLE as u32;
    loop {
        let (k, frame_due) = (0..mine.len())
            .map(|k| (k, start + period * next[k] + offset_of(k)))
            .min_by_key(|(_, t)| *t)
            .unwrap_or((0, end));
        let datagram_due = queue.peek().map(|Reverse((t, ..))| *t);
        if frame_due >= end && datagram_due.is_none() {
            return sent;
        }
        if datagram_due.is_some_and(|t| t <= frame_due) || frame_due >= end {
            let Some(Reverse((t, _, who, d))) = queue.pop() else {
                continue;
            };
            sleep_until(t);
            let _ = sockets[who].send_to(&d, server);
            continue;
        }
        sleep_until(frame_due);
        let p = mine[k];
        let n = next[k];
        next[k] += 1;
        let stamp = stamp_now();
        let mut frame = FrameBurst {
            person: p,
            id: &people[p].id,
            stamp,
            max_datagram,
            datagrams: Vec::new(),
        };
        if thumbs && thumbnail_due(n) && people[p].wants_thumb.load(Ordering::Acquire) {
            sent.extend(frame.add_layer(THUMB, &mut thumb, &mut seqs[k][THUMB]));
        }
        if people[p].wants_full.load(Ordering::Acquire) {
            sent.extend(frame.add_layer(FULL, &mut full, &mut seqs[k][FULL]));
        }
        let now = Instant::now();
        let burst = frame.datagrams;
        let count = burst.len();
        for (d, at) in burst.into_iter().zip(fragment_pace::offsets(count, period)) {
            queue.push(Reverse((now + at, order, p, d)));
            order += 1;
        }
    }
}

/// The datagrams of one camera's frame, both layers, before they are
/// spread over the frame period.
struct FrameBurst<'a> {
    person: usize,
    id: &'a str,
    /// The send time (`stamp_now`), written into each layer's picture.
    stamp: u64,
    max_datagram: usize,
    datagrams: Vec<Vec<u8>>,
}

impl FrameBurst<'_> {
    /// Cuts one layer (`FULL` or `THUMB`) of the frame into datagrams:
    /// `picture` is stamped with the send time, which the receivers read
    /// back to time it, and goes out as the next frame of that layer's own
    /// sequence (`seq`, counted on). Both layers go out this way, so they
    /// are stamped, numbered and recorded alike. Returns the frame the
    /// receivers should see, `None` if it could not be cut (then it is not
    /// expected either).
    fn add_layer(&mut self, layer: usize, picture: &mut [u8], seq: &mut u32) -> Option<Sent> {
        let kind = if layer == THUMB {
            Kind::Thumb
        } else {
            Kind::Video
        };
        picture[STAMP_AT..STAMP_AT + 8].copy_from_slice(&self.stamp.to_be_bytes());
        let frame_seq = *seq;
        *seq += 1;
        let datagrams = &mut self.datagrams;
        video::fragment_as(kind, self.id, frame_seq, picture, self.max_datagram, |d| {
            datagrams.push(d.to_vec())
        })
        .ok()?;
        Some(Sent {
            person: self.person,
            layer,
            seq: frame_seq,
            stamp: self.stamp,
        })
    }
}

/// Audio from everyone every 10 ms: the speaker of the moment loud, the
/// others quiet. Returns each turn's first loud datagram: (speaker, stamp).
fn send_audio(
    people: &[Person],
    sockets: &[UdpSocket],
    server: SocketAddr,
    start: Instant,
    duration: Duration,
) -> Vec<(usize, u64)> {
    let period = Duration::from_millis(audio::FRAME_MS);
    // -20 dBFS and -70 dBFS sines (RMS 3277 and 10 of full scale 32768).
    let tone = |rms: f64| -> [i16; FRAME_SAMPLES] {
        let mut f = [0i16; FRAME_SAMPLES];
        for (i, s) in f.iter_mut().enumerate() {
            let phase = i as f64 * 2.0 * std::f64::consts::PI * 300.0 / 48_000.0;
            *s = (rms * std::f64::consts::SQRT_2 * phase.sin()) as i16;
        }
        f
    };
    let (loud, quiet) = (tone(3277.0), tone(10.0));
    let mut turns: Vec<(usize, u64)> = Vec::new();
    let mut tick = 0u32;
    while period * tick < duration {
        sleep_until(start + period * tick);
        let (speaker, turn) = speaker_at(period * tick);
        if turns.len() <= turn as usize {
            turns.push((speaker, stamp_now()));
        }
        for (i, (person, socket)) in people.iter().zip(sockets).enumerate() {
            let samples = if i == speaker { &loud } else { &quiet };
            let d = audio::build_datagram(&person.id, tick, samples);
            let _ = socket.send_to(&d, server);
        }
        tick += 1;
    }
    turns
}

/// Reads several receivers' sockets until `stop` (one thread, woken by
/// mio for whichever has datagrams: far fewer wake-ups than a thread per
/// socket): bytes, and every whole frame, per receiver.
fn receive(
    sockets: Vec<UdpSocket>,
    senders: HashMap<String, usize>,
    bytes: Vec<Arc<AtomicU64>>,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Seen>, String> {
    use mio::{Events, Interest, Poll, Token};
    let e = |e: std::io::Error| e.to_string();
    let mut poll = Poll::new().map_err(e)?;
    let mut sockets: Vec<mio::net::UdpSocket> = sockets
        .into_iter()
        .map(|s| {
            s.set_nonblocking(true)
                .map(|()| mio::net::UdpSocket::from_std(s))
        })
        .collect::<Result<_, _>>()
        .map_err(e)?;
    for (i, s) in sockets.iter_mut().enumerate() {
        poll.registry()
            .register(s, Token(i), Interest::READABLE)
            .map_err(e)?;
    }
    let mut seen: Vec<Seen> = sockets.iter().map(|_| Seen::default()).collect();
    let mut layers: Vec<[FragmentAssembler; 2]> = sockets
        .iter()
        .map(|_| [FragmentAssembler::new(), FragmentAssembler::new()])
        .collect();
    let mut events = Events::with_capacity(64);
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Acquire) {
        let _ = poll.poll(&mut events, Some(Duration::from_millis(50)));
        for event in &events {
            let i = event.token().0;
            // Edge-triggered: read until the socket is empty.
            while let Ok((n, _)) = sockets[i].recv_from(&mut buf) {
                bytes[i].fetch_add(n as u64, Ordering::Relaxed);
                let Ok(d) = udp::parse(&buf[..n]) else {
                    continue;
                };
                let layer = match d.kind {
                    Kind::Video => FULL,
                    Kind::Thumb => THUMB,
                    _ => continue,
                };
                let pushed = layers[i][layer].push(d.client_id, d.body, Instant::now());
                if let Ok(Some(frame)) = pushed {
                    if let (Some(&sender), Some(sent)) =
                        (senders.get(&frame.sender), read_stamp(&frame.jpeg))
                    {
                        seen[i].frames.push(Whole {
                            sender,
                            layer,
                            seq: frame.frame_seq,
                            sent,
                            at: stamp_now(),
                        });
                    }
                }
            }
        }
    }
    Ok(seen)
}

fn sleep_until(due: Instant) {
    let now = Instant::now();
    if due > now {
        thread::sleep(due - now);
    }
}

/// The counters read at the start and at the end of the measured window:
/// a run's figures are their differences over the window.
struct Counts {
    server_cpu: Duration,
    /// This process, the load generator.
    generator_cpu: Duration,
    udp: procstat::UdpCounters,
    /// Bytes read so far by each measuring receiver.
    bytes_read: Vec<u64>,
}

impl Counts {
    fn now(server: &ServerProcess, bytes_read: &[Arc<AtomicU64>]) -> Counts {
        Counts {
            server_cpu: server.cpu(),
            generator_cpu: procstat::cpu_time("self").unwrap_or_default(),
            udp: procstat::udp_counters().unwrap_or_default(),
            bytes_read: bytes_read
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
        }
    }
}

/// One run of the meeting of 30, measured over `seconds` after the warm-up.
fn run(server_bin: &Path, mode: Mode, seconds: f64, pics: &Pictures) -> Result<RunFigures, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let (meeting, _code) = start_meeting(server_bin, PEOPLE, mode, &stop)?;
    let people = meeting.people.clone();
    let ids: HashMap<String, usize> = people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i))
        .collect();
    // Grid view: every receiver is read (the server's egress is what they
    // all get). Version 1 asks for more than this machine can send and
    // read at once: three receivers are read, the others left unread.
    let read: Vec<usize> = match mode {
        Mode::Grid => (0..PEOPLE).collect(),
        Mode::Version1 => vec![1, PEOPLE / 2, PEOPLE - 1],
    };
    let counters: Vec<Arc<AtomicU64>> = read.iter().map(|_| Arc::default()).collect();
    let mut receivers = Vec::new();
    let per_thread = read.len().div_ceil(RECEIVE_THREADS);
    for (chunk, bytes) in read.chunks(per_thread).zip(counters.chunks(per_thread)) {
        let mut sockets = Vec::new();
        for &r in chunk {
            let socket = meeting.sockets[r].try_clone().map_err(|e| e.to_string())?;
            let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(RECEIVER_BUFFER);
            sockets.push(socket);
        }
        let bytes = bytes.to_vec();
        let (ids, stop) = (ids.clone(), stop.clone());
        receivers.push(thread::spawn(move || receive(sockets, ids, bytes, stop)));
    }

    let total = WARM_UP + Duration::from_secs_f64(seconds);
    let start = Instant::now() + Duration::from_millis(100);
    let to = (meeting.server_udp, meeting.max_datagram);
    let pics = Arc::new(pics.clone());
    let mut video = Vec::new();
    for t in 0..VIDEO_THREADS {
        let mine: Vec<usize> = (t..PEOPLE).step_by(VIDEO_THREADS).collect();
        let sockets = clone_all(&meeting.sockets)?;
        let (people, pics) = (people.clone(), pics.clone());
        let thumbs = mode == Mode::Grid;
        video.push(thread::spawn(move || {
            send_video(&people, &mine, &sockets, to, &pics, thumbs, start, total)
        }));
    }
    let audio = {
        let sockets = clone_all(&meeting.sockets)?;
        let people = people.clone();
        let server = meeting.server_udp;
        thread::spawn(move || send_audio(&people, &sockets, server, start, total))
    };

    // The measured window: after the warm-up.
    sleep_until(start + WARM_UP);
    let window_start = stamp_now();
    let before = Counts::now(&meeting.server, &counters);
    let measuring_since = Instant::now();
    let sent: Vec<Sent> = video
        .into_iter()
        .flat_map(|t| t.join().unwrap_or_default())
        .collect();
    let turns = audio.join().map_err(|_| "the audio thread panicked")?;
    let wall = measuring_since.elapsed();
    let window_end = stamp_now();
    let after = Counts::now(&meeting.server, &counters);
    // Let the last frames arrive, then stop everyone.
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Release);
    let mut seen: Vec<Seen> = Vec::new();
    for h in receivers {
        seen.extend(h.join().map_err(|_| "a receiver panicked")??);
    }
    for c in meeting.controls {
        let _ = c.join();
    }

    let secs = wall.as_secs_f64();
    let mbit = |b: u64| b as f64 * 8.0 / secs / 1e6;
    let per_receiver_mbit: Vec<f64> = before
        .bytes_read
        .iter()
        .zip(&after.bytes_read)
        .map(|(b, a)| mbit(a - b))
        .collect();
    let datagrams_sent_by_generator = {
        // Frames sent in the window, in datagrams, plus audio.
        let payload = video::fragment_payload(&people[0].id, meeting.max_datagram);
        let in_window = |s: &&Sent| s.stamp >= window_start && s.stamp < window_end;
        let frags: u64 = sent
            .iter()
            .filter(in_window)
            .map(|s| {
                let bytes = if s.layer == FULL {
                    pics.full.len()
                } else {
                    pics.thumb.len()
                };
                bytes.div_ceil(payload) as u64
            })
            .sum();
        frags + (secs * 100.0) as u64 * PEOPLE as u64
    };
    let datagrams_out = after
        .udp
        .out_datagrams
        .saturating_sub(before.udp.out_datagrams)
        .saturating_sub(datagrams_sent_by_generator);
    let bytes_read: u64 = before
        .bytes_read
        .iter()
        .zip(&after.bytes_read)
        .map(|(b, a)| a - b)
        .sum();
    let egress_mbit = match mode {
        Mode::Grid => mbit(bytes_read),
        // Three read of thirty: their mean times thirty.
        Mode::Version1 => stats(&per_receiver_mbit).1 * PEOPLE as f64,
    };
    // What version 1 asks for: every frame sent, to 29 others.
    let sent_bytes: u64 = sent
        .iter()
        .filter(|s| s.stamp >= window_start && s.stamp < window_end)
        .map(|s| match s.layer {
            FULL => pics.full.len() as u64,
            _ => pics.thumb.len() as u64,
        })
        .sum();
    let due_egress_mbit = mbit(sent_bytes * (PEOPLE as u64 - 1));

    // Delivery and latency per layer, at every receiver read.
    let switch_times: Vec<(usize, u64)> = turns.clone();
    let settle = SETTLE.as_nanos() as u64;
    let speaker_of = |stamp: u64| -> Option<(usize, u64)> {
        switch_times
            .iter()
            .rev()
            .find(|(_, t)| *t <= stamp)
            .copied()
    };
    // Near a switch, for the old and the new speaker: not steady.
    let steady = |person: usize, stamp: u64| -> bool {
        switch_times.iter().enumerate().all(|(j, (who, t))| {
            let old = j.checked_sub(1).map(|k| switch_times[k].0);
            let concerned = *who == person || old == Some(person);
            !concerned || stamp < t.saturating_sub(100_000_000) || stamp > t + settle
        })
    };
    let last_counted = window_end.saturating_sub(300_000_000);
    let mut delivery = [(0u64, 0u64); 2];
    let mut latency = [Latencies::default(), Latencies::default()];
    let mut new_speaker = Latencies::default();
    for (&r, seen) in read.iter().zip(&seen) {
        let got: HashSet<(usize, usize, u32)> = seen
            .frames
            .iter()
            .map(|w| (w.sender, w.layer, w.seq))
            .collect();
        for s in &sent {
            if s.person == r || s.stamp < window_start || s.stamp > last_counted {
                continue;
            }
            let wanted = match mode {
                Mode::Version1 => s.layer == FULL,
                Mode::Grid => {
                    let Some((speaker, _)) = speaker_of(s.stamp) else {
                        continue;
                    };
                    let is_speaker = speaker == s.person;
                    steady(s.person, s.stamp) && (is_speaker == (s.layer == FULL))
                }
            };
            if wanted {
                delivery[s.layer].1 += 1;
                if got.contains(&(s.person, s.layer, s.seq)) {
                    delivery[s.layer].0 += 1;
                }
            }
        }
        for w in &seen.frames {
            if w.sent >= window_start && w.sent <= last_counted {
                latency[w.layer].add(Duration::from_nanos(w.at.saturating_sub(w.sent)));
            }
        }
        if mode == Mode::Grid {
            // Each new speaker: their first loud datagram to their first
            // whole full frame here.
            for (who, t) in switch_times.iter().skip(1) {
                if *who == r || *t < window_start || *t > last_counted {
                    continue;
                }
                if let Some(w) = seen
                    .frames
                    .iter()
                    .find(|w| w.sender == *who && w.layer == FULL && w.sent >= *t)
                {
                    new_speaker.add(Duration::from_nanos(w.at - t));
                } else {
                    // Never shown: counts as the whole turn.
                    new_speaker.add(SWITCH_EVERY);
                }
            }
        }
    }
    let switches = switch_times
        .iter()
        .skip(1)
        .filter(|(_, t)| *t >= window_start && *t <= last_counted)
        .count();
    drop(meeting.server);
    Ok(RunFigures {
        seconds: secs,
        receivers_read: read.len(),
        per_receiver_mbit,
        egress_mbit,
        due_egress_mbit,
        datagrams_out_per_s: datagrams_out as f64 / secs,
        rcvbuf_drops_per_s: after
            .udp
            .rcvbuf_errors
            .saturating_sub(before.udp.rcvbuf_errors) as f64
            / secs,
        server_cpu: procstat::core_fraction(before.server_cpu, after.server_cpu, wall),
        generator_cpu: procstat::core_fraction(before.generator_cpu, after.generator_cpu, wall),
        delivery,
        latency,
        new_speaker,
        switches,
    })
}

fn clone_all(sockets: &[UdpSocket]) -> Result<Vec<UdpSocket>, String> {
    sockets
        .iter()
        .map(UdpSocket::try_clone)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// The desktop window in a meeting with 25 senders (grid protocol peers,
/// one of them speaking), its CPU over 10 s once settled.
fn desktop_cpu(server_bin: &Path, pics: &Pictures) -> Result<(f64, String), String> {
    // Absolute: the window runs in a folder of its own.
    let client_bin = std::path::absolute(server_bin.with_file_name("lanmeet-client"))
        .map_err(|e| e.to_string())?;
    if !on_path("Xvfb") {
        return Err("skipped: no Xvfb".into());
    }
    if !client_bin.exists() {
        return Err(format!(
            "skipped: no client at {} (`cargo build --release -p lanmeet-client`)",
            client_bin.display()
        ));
    }
    let dir = std::env::temp_dir().join(format!("lanmeet-bench-class-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let xvfb = Xvfb::start("1280x800x24")?;

    let stop = Arc::new(AtomicBool::new(false));
    let (meeting, code) = start_meeting(server_bin, DESKTOP_SENDERS, Mode::Grid, &stop)?;
    let port = meeting.server.tcp.port();
    let window = Command::new(&client_bin)
        .current_dir(&dir)
        .env("DISPLAY", xvfb.display())
        .env(
            "LANMEET_AUTOJOIN",
            format!("127.0.0.1:{port}:Viewer:{code}"),
        )
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("the window: {e}"))?;
    let window = KillOnDrop(window);
    let pid = window.0.id().to_string();

    let people = meeting.people.clone();
    let (settle, measure) = (Duration::from_secs(6), Duration::from_secs(10));
    let total = settle + measure + Duration::from_secs(1);
    let start = Instant::now();
    let to = (meeting.server_udp, meeting.max_datagram);
    let pics = Arc::new(pics.clone());
    let mut threads = Vec::new();
    for t in 0..VIDEO_THREADS {
        let mine: Vec<usize> = (t..DESKTOP_SENDERS).step_by(VIDEO_THREADS).collect();
        let sockets = clone_all(&meeting.sockets)?;
        let (people, pics) = (people.clone(), pics.clone());
        threads.push(thread::spawn(move || {
            let _ = send_video(&people, &mine, &sockets, to, &pics, true, start, total);
        }));
    }
    {
        let sockets = clone_all(&meeting.sockets)?;
        let (people, server) = (people.clone(), meeting.server_udp);
        threads.push(thread::spawn(move || {
            let _ = send_audio(&people, &sockets, server, start, total);
        }));
    }
    sleep_until(start + settle);
    let joined = meeting.joined.load(Ordering::Acquire) > 0;
    let cpu0 = procstat::cpu_time(&pid);
    let server0 = meeting.server.cpu();
    let t0 = Instant::now();
    thread::sleep(measure);
    let cpu1 = procstat::cpu_time(&pid);
    let server_cpu = procstat::core_fraction(server0, meeting.server.cpu(), t0.elapsed());
    let rss = procstat::rss_bytes(&pid).unwrap_or(0);
    let wall = t0.elapsed();
    for t in threads {
        let _ = t.join();
    }
    stop.store(true, Ordering::Release);
    drop(window);
    for c in meeting.controls {
        let _ = c.join();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (Some(a), Some(b)) = (cpu0, cpu1) else {
        return Err("the window exited before it was measured".into());
    };
    if !joined {
        return Err("the window did not join the meeting".into());
    }
    let cpu = procstat::core_fraction(a, b, wall);
    Ok((
        cpu,
        format!(
            "server CPU {:.1}%, window RSS {:.0} MB",
            server_cpu * 100.0,
            rss as f64 / 1e6
        ),
    ))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let min = v.iter().copied().fold(f64::MAX, f64::min);
    let max = v.iter().copied().fold(0.0, f64::max);
    (min, v.iter().sum::<f64>() / v.len().max(1) as f64, max)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn share((got, due): (u64, u64)) -> f64 {
    got as f64 / due.max(1) as f64
}

/// Runs the scenario: grid view for at least 15 s, version 1 for
/// `seconds`, the window for 10 s.
pub fn section(server_bin: &Path, seconds: f64) -> Result<(String, ClassroomFigures), String> {
    let pics = pictures()?;
    let payload = video::fragment_payload("c30", 1400);
    let mut s = String::from("\n## A classroom of 30 (classroom)\n\n");
    let _ = writeln!(
        s,
        "One meeting of {PEOPLE}, every camera on: {FPS} fps of a 640x480 JPEG of {} bytes \
         (a synthetic head-and-shoulders scene with sensor noise, jpeg-encoder quality {}, \
         {} fragments) and, in grid view, {} fps of its 240x180 thumbnail at quality 50 \
         ({} bytes, {} fragments), each layer only while `video_layers_wanted` asks for it; \
         audio from everyone every 10 ms, one speaker at -20 dBFS and the others at -70 \
         dBFS, a new speaker every {} s. Receivers name `layers` and `speaking`, subscribe \
         `default: thumb` and, on each `speaking`, at once override the first-named speaker \
         to `full` (grid view with the speaker large). {VIDEO_THREADS} video threads pace \
         frames on a schedule, people staggered over the frame period, and spread each \
         frame's datagrams with the client's `media/fragment_pace.rs`. Server, load \
         generator and receivers share this machine's 2 cores over loopback; megabits are \
         UDP payload (IP and UDP headers not counted).\n",
        pics.full.len(),
        pics.full_quality,
        pics.full.len().div_ceil(payload),
        THUMB_FPS,
        pics.thumb.len(),
        pics.thumb.len().div_ceil(payload),
        SWITCH_EVERY.as_secs()
    );
    let grid_seconds = seconds.max(15.0);
    let grid = run(server_bin, Mode::Grid, grid_seconds, &pics)?;
    let load_grid = loadavg();
    let v1 = run(server_bin, Mode::Version1, seconds, &pics)?;
    let load_v1 = loadavg();

    let _ = writeln!(
        s,
        "| meeting | measured | receivers read | per receiver, Mbit/s (min / mean / max) | server egress | datagrams out / s | server CPU | generator CPU | full layer delivered | thumbnails delivered | latency full p50 / p95 / max (ms) | latency thumb p50 / p95 / max (ms) | load average |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let mut row = |name: &str, r: &mut RunFigures, egress: String, load: &str| {
        let (min, mean, max) = stats(&r.per_receiver_mbit);
        let lat = |l: &mut Latencies| {
            if l.len() == 0 {
                "–".to_string()
            } else {
                format!(
                    "{:.1} / {:.1} / {:.1}",
                    ms(l.percentile(50.0)),
                    ms(l.percentile(95.0)),
                    ms(l.max())
                )
            }
        };
        let deliv = |d: (u64, u64)| {
            if d.1 == 0 {
                "–".to_string()
            } else {
                format!("{} / {} ({:.2}%)", d.0, d.1, share(d) * 100.0)
            }
        };
        let (full_lat, thumb_lat) = {
            let [a, b] = &mut r.latency;
            (lat(a), lat(b))
        };
        let _ = writeln!(
            s,
            "| {name} | {:.1} s | {} | {min:.1} / **{mean:.1}** / {max:.1} | {egress} | {:.0} | {:.0}% | {:.0}% | {} | {} | {full_lat} | {thumb_lat} | {load} |",
            r.seconds,
            r.receivers_read,
            r.datagrams_out_per_s,
            r.server_cpu * 100.0,
            r.generator_cpu * 100.0,
            deliv(r.delivery[FULL]),
            deliv(r.delivery[THUMB]),
        );
    };
    let mut grid = grid;
    let mut v1 = v1;
    let grid_egress = format!("**{:.0} Mbit/s** (all 30 read)", grid.egress_mbit);
    row("grid view, subscribed", &mut grid, grid_egress, &load_grid);
    let v1_egress = format!(
        "{:.0} Mbit/s (3 read x 30); due {:.0} Mbit/s",
        v1.egress_mbit, v1.due_egress_mbit
    );
    row("version 1, no subscriptions", &mut v1, v1_egress, &load_v1);
    let grid_mean = stats(&grid.per_receiver_mbit).1;
    let v1_due_per_receiver = v1.due_egress_mbit / PEOPLE as f64;
    let p95 = ms(grid.new_speaker.percentile(95.0));
    let max = ms(grid.new_speaker.max());
    let p50 = ms(grid.new_speaker.percentile(50.0));
    let _ = writeln!(
        s,
        "\nVersion 1 asks the server for {v1_due_per_receiver:.1} Mbit/s to every receiver \
         ({:.0} Mbit/s in all: every frame sent, to 29 others); grid view gets \
         {grid_mean:.1} Mbit/s per receiver, **{:.1}x less**. Version 1 is more than one core \
         of this machine can relay (see *datagrams out* against the 85,000 a second of the \
         ramp), so its measured figures are what the server managed, not what it was asked \
         for. Datagrams dropped at full receive buffers: {:.0}/s in grid view (all receivers \
         read), {:.0}/s in version 1 (27 receivers unread, by design).\n",
        v1.due_egress_mbit,
        v1_due_per_receiver / grid_mean.max(1e-9),
        grid.rcvbuf_drops_per_s,
        v1.rcvbuf_drops_per_s,
    );
    // What one thumbnail byte costs each receiver: 28 senders at 7.5 fps.
    let per_thumb_kb = (PEOPLE - 2) as f64 * THUMB_FPS * 8.0 * 1000.0 / 1e6;
    let _ = writeln!(
        s,
        "Each receiver's traffic is mostly thumbnails: every KB of a thumbnail adds \
         {per_thumb_kb:.2} Mbit/s to each receiver (28 senders at {THUMB_FPS} fps) and {:.0} Mbit/s \
         to the server's egress; the full speaker adds {:.1} Mbit/s, the mixed audio 0.8. \
         So the size of the thumbnail of a real camera picture decides the 12 Mbit/s \
         target more than anything the server does.\n",
        per_thumb_kb * PEOPLE as f64,
        pics.full.len() as f64 * f64::from(FPS) * 8.0 / 1e6,
    );
    let _ = writeln!(
        s,
        "Delivery counts, at every receiver read, the frames sent in the window that it was \
         subscribed to: thumbnails of everyone but the speaker, the speaker's full layer, \
         leaving out the old and the new speaker from 0.1 s before to {} s after each change. \
         Latency is from the frame's send stamp (its first datagram) to its last datagram at \
         the receiver, so it includes the {:.1} ms over which a full frame's datagrams are \
         spread.\n",
        SETTLE.as_secs(),
        ms(fragment_pace::spread(
            pics.full.len().div_ceil(payload),
            Duration::from_secs(1) / FPS
        )),
    );
    let _ = writeln!(
        s,
        "A new speaker shown full size ({} changes x {} receivers, from the new speaker's \
         first datagram over -50 dBFS to their first whole full-layer frame at a receiver): \
         p50 {p50:.0} ms, **p95 {p95:.0} ms**, max {max:.0} ms. It adds up the server's \
         `speaking` (at most 5 a second), the receiver's new `video_subscribe`, the \
         server's `video_layers_wanted` to the new speaker (at most 4 a second), whose full \
         layer starts at its next frame (every 50 ms), and the frame's transfer. The \
         receivers here resubscribe at once; a window that debounces layout changes by \
         100 ms adds that.\n",
        grid.switches,
        PEOPLE - 1,
    );
    let desktop = desktop_cpu(server_bin, &pics);
    match &desktop {
        Ok((cpu, detail)) => {
            let _ = writeln!(
                s,
                "The desktop window (`lanmeet-client`, release, Xvfb 1280x800, \
                 `LANMEET_AUTOJOIN`) in a meeting with {DESKTOP_SENDERS} of these senders, \
                 one speaking: **{:.0}% of a core** over 10 s after 6 s to settle ({detail}; \
                 load average {}).\n",
                cpu * 100.0,
                loadavg()
            );
        }
        Err(why) => {
            let _ = writeln!(s, "The desktop window's CPU: {why}.\n");
        }
    }
    let delivery = share((
        grid.delivery[FULL].0 + grid.delivery[THUMB].0,
        grid.delivery[FULL].1 + grid.delivery[THUMB].1,
    ));
    Ok((
        s,
        ClassroomFigures {
            per_receiver_mbit: stats(&grid.per_receiver_mbit).2,
            egress_mbit: grid.egress_mbit,
            delivery,
            new_speaker_p95_ms: p95,
            new_speaker_max_ms: max,
            desktop_cpu: desktop.map(|(cpu, _)| cpu),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_pictures_are_jpegs_of_the_sizes_asked_for() {
        let p = pictures().unwrap();
        assert!(p.full.len().abs_diff(FULL_BYTES) < 3000, "{}", p.full.len());
        assert!(p.thumb.len() < p.full.len() / 2);
        for jpeg in [&p.full, &p.thumb] {
            assert_eq!(jpeg[..4], [0xFF, 0xD8, 0xFF, 0xFE]);
            let mut stamped = jpeg.clone();
            stamped[STAMP_AT..STAMP_AT + 8].copy_from_slice(&77u64.to_be_bytes());
            assert_eq!(read_stamp(&stamped), Some(77));
        }
    }

    #[test]
    fn the_speaker_changes_every_turn() {
        let (a, t0) = speaker_at(Duration::ZERO);
        let (b, t1) = speaker_at(SWITCH_EVERY);
        assert_eq!((t0, t1), (0, 1));
        assert_ne!(a, b);
        assert_eq!(speaker_at(SWITCH_EVERY - Duration::from_millis(1)).0, a);
    }

    #[test]
    fn thumbnails_go_out_as_the_client_sends_them() {
        let sent: Vec<u32> = (0..16).filter(|&n| thumbnail_due(n)).collect();
        assert_eq!(sent, [0, 3, 6, 8, 11, 14]);
        assert_eq!((0..FPS * 2).filter(|&n| thumbnail_due(n)).count(), 15);
    }
}
