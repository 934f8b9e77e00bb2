//! Video through a lossy link, without and with section 13 (NACK): the
//! share of camera frames whole at the receiver within 100 ms of being
//! sent. Part of the `impaired` scenario (and `video-loss` on its own).
//!
//! ```text
//!  sender peer --'V' x18 per frame, 30 fps--> [relay: up]  --> server
//!       ^  'N' from the server: re-send from SentVideo          |
//!       +-------------------------------------------------------+
//!  receiver peer <--[relay: down, 2% loss]-- server relays, re-sends from its cache
//!       |  LossWatch: 'N' when a newer frame starts or 20 ms pass --> server
//! ```
//!
//! The peers are raw protocol clients (like the other scenarios), and they
//! run the client's own NACK logic: `client/src/core/nack.rs` is compiled
//! into the bench. Without NACK they name no `"nack"`: then the server
//! keeps no copies and the run is the version 1 behaviour.

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lanmeet_common::nack::Nack;
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video::{self, FragmentAssembler, FragmentHeader};

use crate::client_nack::{LossWatch, SentVideo};
use crate::peer::{since_stamp, stamp_now, Peer};
use crate::relay::{Impairment, Relay, RELAY_IP};
use crate::server::ServerProcess;

/// Frames a second.
const FPS: u32 = 30;
/// Bytes per frame: 18 fragments at the default 1400-byte datagram, the
/// size of a 640x480 camera JPEG the issue measured.
const FRAME_BYTES: usize = 24_000;
/// Seconds of video per run.
const SECONDS: f64 = 10.0;
/// A frame counts when whole this soon after it was sent.
const IN_TIME: Duration = Duration::from_millis(100);

/// What one run measured.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outcome {
    pub frames_sent: u64,
    pub fragments_per_frame: f64,
    pub whole: u64,
    pub in_time: u64,
    pub nacks_sent: u64,
    pub sender_resent: u64,
    /// Share of datagrams the relay dropped (both directions).
    pub lost: f64,
}

impl Outcome {
    /// Share of frames sent that were whole within 100 ms.
    pub fn in_time_share(&self) -> f64 {
        self.in_time as f64 / self.frames_sent.max(1) as f64
    }
}

/// The links measured: a name, the sender's uplink, the receiver's downlink.
fn links() -> [(&'static str, Impairment, Impairment); 3] {
    [
        (
            "2% random loss, server to receiver",
            Impairment::NONE,
            Impairment::random_loss(0.02),
        ),
        (
            "2% random loss both ways (sender to server too)",
            Impairment::random_loss(0.02),
            Impairment::random_loss(0.02),
        ),
        (
            "2% loss in bursts (mean 3), server to receiver, + 20 ms jitter",
            Impairment::NONE,
            Impairment::bursty_loss(0.02, 3.0).with_jitter(Duration::from_millis(20)),
        ),
    ]
}

/// The Markdown section; the first link's figure with NACK goes to the
/// targets table.
pub fn section(server_bin: &Path) -> Result<(String, f64), String> {
    let mut s = String::from("\n## Video through a lossy link (impaired)\n\n");
    let _ = writeln!(
        s,
        "A sender peer sends {FPS} fps of {FRAME_BYTES}-byte frames (18 fragments of 1400 \
         bytes) for {SECONDS} s to a receiver peer through the server and `bench/src/relay.rs` \
         (seed 7). A frame counts when all its fragments are at the receiver within 100 ms of \
         its send stamp. Without NACK the peers name no `\"nack\"` (version 1); with it they \
         run the client's `core/nack.rs` (section 13). Target: >= 97% at 2% loss.\n"
    );
    let _ = writeln!(
        s,
        "| link | NACK | datagrams lost (both ways) | fragments/frame | frames whole within 100 ms | whole at all | NACKs sent | sender re-sent |\n\
         |---|---|---|---|---|---|---|---|"
    );
    let mut headline = 0.0;
    for (i, (name, up, down)) in links().into_iter().enumerate() {
        for nack in [false, true] {
            let o = run(server_bin, up, down, nack)?;
            if i == 0 && nack {
                headline = o.in_time_share();
            }
            let _ = writeln!(
                s,
                "| {name} | {} | {:.1}% | {:.1} | {} / {} (**{:.1}%**) | {:.1}% | {} | {} |",
                if nack { "on" } else { "off" },
                o.lost * 100.0,
                o.fragments_per_frame,
                o.in_time,
                o.frames_sent,
                o.in_time_share() * 100.0,
                o.whole as f64 * 100.0 / o.frames_sent.max(1) as f64,
                o.nacks_sent,
                o.sender_resent,
            );
        }
    }
    s.push('\n');
    Ok((s, headline))
}

/// One run: a sender on `up`, a receiver on `down`, NACK on or off.
fn run(server_bin: &Path, up: Impairment, down: Impairment, nack: bool) -> Result<Outcome, String> {
    let server = ServerProcess::start(server_bin, &[])?;
    let relay =
        Relay::start(server.tcp, server.udp, up, down, 7).map_err(|e| format!("relay: {e}"))?;
    let relay_udp = SocketAddr::new(RELAY_IP.into(), server.udp.port());
    let features: &[&str] = if nack { &["nack"] } else { &[] };
    let e = |e: std::io::Error| e.to_string();
    let sender =
        Peer::enter_with(relay.tcp_addr(), relay_udp, "Camera", None, features).map_err(e)?;
    let receiver = Peer::enter_with(
        relay.tcp_addr(),
        relay_udp,
        "Viewer",
        Some(&sender.code),
        features,
    )
    .map_err(e)?;
    sender.bind_udp().map_err(e)?;
    receiver.bind_udp().map_err(e)?;

    let stop = Arc::new(AtomicBool::new(false));
    let rx = {
        let socket = receiver.udp.try_clone().map_err(e)?;
        let (id, stop) = (receiver.client_id.clone(), stop.clone());
        thread::spawn(move || receive(socket, relay_udp, &id, nack, &stop))
    };
    let socket = sender.udp.try_clone().map_err(e)?;
    let (frames_sent, fragments, sender_resent) = send(
        &socket,
        relay_udp,
        &sender.client_id,
        sender.max_datagram,
        nack,
    );
    stop.store(true, Ordering::Release);
    let seen = rx.join().map_err(|_| "the receiver panicked")?;
    let stats = relay.stats();
    let dropped = stats.up_dropped + stats.down_dropped;
    let passed = stats.up_passed + stats.down_passed;
    Ok(Outcome {
        frames_sent,
        fragments_per_frame: fragments as f64 / frames_sent.max(1) as f64,
        whole: seen.whole,
        in_time: seen.in_time,
        nacks_sent: seen.nacks,
        sender_resent,
        lost: dropped as f64 / (dropped + passed).max(1) as f64,
    })
}

/// Sends the frames on time, answering the server's requests in between
/// (and for 300 ms after the last frame). Returns frames and fragments
/// sent, and fragments re-sent.
fn send(
    socket: &UdpSocket,
    server: SocketAddr,
    id: &str,
    max_datagram: usize,
    nack: bool,
) -> (u64, u64, u64) {
    let mut frame: Vec<u8> = (0..FRAME_BYTES).map(|i| (i * 131 % 251) as u8).collect();
    let mut kept = SentVideo::default();
    let mut buf = vec![0u8; 65_536];
    let interval = Duration::from_secs_f64(1.0 / f64::from(FPS));
    let frames = (SECONDS * f64::from(FPS)) as u32;
    let start = Instant::now();
    let mut fragments = 0u64;
    for seq in 0..=frames {
        let due = start
            + interval * seq
            + if seq == frames {
                Duration::from_millis(300)
            } else {
                Duration::ZERO
            };
        // Until the frame is due: answer the server's requests.
        loop {
            let now = Instant::now();
            if now >= due {
                break;
            }
            let _ = socket.set_read_timeout(Some(due - now));
            let Ok((n, _)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let Ok(d) = udp::parse(&buf[..n]) else {
                continue;
            };
            if d.kind != Kind::Nack || !d.client_id.is_empty() {
                continue;
            }
            if let Ok(n) = Nack::parse(d.body) {
                if n.sender == id {
                    kept.resend(&n, Instant::now(), |d| {
                        let _ = socket.send_to(d, server);
                    });
                }
            }
        }
        if seq == frames {
            break;
        }
        frame[..8].copy_from_slice(&stamp_now().to_be_bytes());
        let now = Instant::now();
        if let Ok(n) = video::fragment(id, seq, &frame, max_datagram, |d| {
            let _ = socket.send_to(d, server);
            if nack {
                kept.remember(d, now);
            }
        }) {
            fragments += n as u64;
        }
    }
    (u64::from(frames), fragments, kept.resent)
}

#[derive(Default)]
struct Seen {
    whole: u64,
    in_time: u64,
    nacks: u64,
}

/// Reassembles frames until `stop`, asking for lost fragments when `nack`.
fn receive(socket: UdpSocket, server: SocketAddr, id: &str, nack: bool, stop: &AtomicBool) -> Seen {
    let mut seen = Seen::default();
    let mut assembler = FragmentAssembler::new();
    let mut watch = LossWatch::default();
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        let wait = watch
            .next_deadline()
            .map_or(Duration::from_millis(20), |d| {
                d.saturating_duration_since(now)
            })
            .clamp(Duration::from_micros(500), Duration::from_millis(20));
        let _ = socket.set_read_timeout(Some(wait));
        if let Ok((n, _)) = socket.recv_from(&mut buf) {
            let now = Instant::now();
            if let Ok(d) = udp::parse(&buf[..n]) {
                if d.kind == Kind::Video {
                    if let (true, Ok((h, _))) = (nack, FragmentHeader::parse(d.body)) {
                        watch.fragment(d.client_id, h, now);
                    }
                    if let Ok(Some(frame)) = assembler.push(d.client_id, d.body, now) {
                        seen.whole += 1;
                        let stamp = frame.jpeg.get(..8).and_then(|b| b.try_into().ok());
                        if stamp.is_some_and(|b| since_stamp(u64::from_be_bytes(b)) <= IN_TIME) {
                            seen.in_time += 1;
                        }
                        watch.shown(&frame.sender, frame.frame_seq);
                    }
                }
            }
        }
        if nack {
            watch.poll(id, Instant::now(), |d| {
                let _ = socket.send_to(&d, server);
            });
        }
    }
    seen.nacks = watch.asked;
    seen
}
