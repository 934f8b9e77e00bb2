//! The `video-burst` scenario: one camera's frames as a receiver's socket
//! sees them, to show what spreading a frame's datagrams
//! (`client/src/media/fragment_pace.rs`) buys.
//!
//! ```text
//!  lanmeet-client --headless --video test (640x480, 20 fps, the real sender thread)
//!      --> server --> receiver 0: reads at once; times every datagram
//!                 --> receivers 1..: a small receive buffer, read every 5 ms
//!                     (a receiver whose thread a busy machine wakes late)
//! ```
//!
//! Run it with the client built before and after a change to compare: the
//! client is the `lanmeet-client` next to the server binary.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video::{FragmentAssembler, FragmentHeader};

use crate::peer::Peer;
use crate::server::ServerProcess;
use crate::stats::Latencies;

/// Receive buffers asked for (Linux doubles them for its bookkeeping).
const SMALL_BUFFERS: [usize; 3] = [8 * 1024, 16 * 1024, 32 * 1024];
/// How often a slow receiver reads its socket.
const SLOW_READ: Duration = Duration::from_millis(2);
/// JPEG quality of the camera: its test pattern is then ~24 KB, as a
/// 640x480 webcam frame.
const QUALITY: &str = "90";
/// Seconds of video.
const SECONDS: u64 = 10;

#[derive(Default)]
struct Timed {
    /// Per frame: first and last datagram's arrival, datagrams in its
    /// first millisecond, fragments.
    frames: HashMap<u32, (Instant, Instant, u32, u16)>,
}

fn timed(socket: std::net::UdpSocket, stop: &AtomicBool) -> Timed {
    let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
    let mut t = Timed::default();
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Acquire) {
        let Ok((n, _)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let now = Instant::now();
        let Ok(d) = udp::parse(&buf[..n]) else {
            continue;
        };
        if d.kind != Kind::Video {
            continue;
        }
        if let Ok((h, _)) = FragmentHeader::parse(d.body) {
            let e = t
                .frames
                .entry(h.frame_seq)
                .or_insert((now, now, 0, h.frag_count));
            e.1 = now;
            if now - e.0 <= Duration::from_millis(1) {
                e.2 += 1;
            }
        }
    }
    t
}

/// Reads everything waiting every [`SLOW_READ`]; returns whole frames.
fn slow(socket: std::net::UdpSocket, stop: &AtomicBool) -> u64 {
    let _ = socket.set_nonblocking(true);
    let mut assembler = FragmentAssembler::new();
    let mut buf = vec![0u8; 65_536];
    let mut whole = 0;
    while !stop.load(Ordering::Acquire) {
        thread::sleep(SLOW_READ);
        while let Ok((n, _)) = socket.recv_from(&mut buf) {
            if let Ok(d) = udp::parse(&buf[..n]) {
                if d.kind == Kind::Video {
                    if let Ok(Some(_)) = assembler.push(d.client_id, d.body, Instant::now()) {
                        whole += 1;
                    }
                }
            }
        }
    }
    whole
}

/// Runs the scenario with the client next to `server_bin`.
pub fn section(server_bin: &Path) -> Result<String, String> {
    let client_bin = server_bin.with_file_name("lanmeet-client");
    if !client_bin.exists() {
        return Err(format!("no client at {}", client_bin.display()));
    }
    let server = ServerProcess::start(server_bin, &[])?;
    let e = |e: std::io::Error| e.to_string();
    let first = Peer::create(server.tcp, server.udp, "r0").map_err(e)?;
    let code = first.code.clone();
    let mut peers = vec![first];
    for i in 1..=SMALL_BUFFERS.len() {
        peers.push(Peer::join(server.tcp, server.udp, &format!("r{i}"), &code).map_err(e)?);
    }
    for p in &peers {
        p.bind_udp().map_err(e)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let socket = peers[0].udp.try_clone().map_err(e)?;
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(4 << 20);
    let st = stop.clone();
    let timer = thread::spawn(move || timed(socket, &st));
    let mut slows = Vec::new();
    for (p, size) in peers[1..].iter().zip(SMALL_BUFFERS) {
        let socket = p.udp.try_clone().map_err(e)?;
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(size);
        let st = stop.clone();
        slows.push(thread::spawn(move || slow(socket, &st)));
    }
    let logs = std::env::temp_dir().join(format!("lanmeet-bench-burst-{}", std::process::id()));
    let started = Instant::now();
    let status = Command::new(&client_bin)
        .args(["--headless", "--host", "127.0.0.1", "--port"])
        .arg(server.tcp.port().to_string())
        .args([
            "--name",
            "Camera",
            "--join",
            &code,
            "--video",
            "test",
            "--quality",
            QUALITY,
        ])
        .args(["--seconds", &SECONDS.to_string(), "--log-dir"])
        .arg(&logs)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("the client: {e}"))?;
    // Keep every control connection read while the camera ran.
    for p in &mut peers {
        let _ = p.drain();
    }
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Release);
    let t = timer.join().map_err(|_| "receiver panicked")?;
    let slow_whole: Vec<u64> = slows.into_iter().map(|h| h.join().unwrap_or(0)).collect();
    let _ = std::fs::remove_dir_all(&logs);
    if !status.success() || t.frames.is_empty() {
        return Err(format!("the client sent no video ({status})"));
    }
    let frames = t.frames.len() as u64;
    let frags: f64 = t.frames.values().map(|f| f64::from(f.3)).sum::<f64>() / t.frames.len() as f64;
    let mut spread = Latencies::default();
    let mut first_ms: Vec<u32> = Vec::new();
    for (a, b, n, _) in t.frames.values() {
        spread.add(*b - *a);
        first_ms.push(*n);
    }
    first_ms.sort_unstable();
    let burst_p50 = first_ms[first_ms.len() / 2];
    let burst_max = first_ms.last().copied().unwrap_or(0);
    let mut s = String::from("\n## One camera's frames at a receiver (video-burst)\n\n");
    let _ = writeln!(
        s,
        "`{} --headless --video test --quality {QUALITY}` (640x480, 20 fps, the client's own \
         video sender thread) for {SECONDS} s ({:.1} s with joining); one receiver reads at once and \
         times every datagram, {} others ask for a small receive buffer and read what \
         waits every {} ms, as a receiver on a busy machine would.\n",
        client_bin.display(),
        started.elapsed().as_secs_f64(),
        SMALL_BUFFERS.len(),
        SLOW_READ.as_millis(),
    );
    let _ = writeln!(
        s,
        "| frames | datagrams per frame | a frame's first to last datagram at the receiver, p50 / max (ms) | datagrams in a frame's first millisecond, p50 / max |\n|---|---|---|---|\n\
         | {frames} | {frags:.1} | {:.2} / {:.2} | {burst_p50} / {burst_max} |\n",
        spread.percentile(50.0).as_secs_f64() * 1000.0,
        spread.max().as_secs_f64() * 1000.0,
    );
    let _ = writeln!(
        s,
        "| receive buffer asked for | frames whole, read every {} ms |\n|---|---|",
        SLOW_READ.as_millis()
    );
    for (size, whole) in SMALL_BUFFERS.iter().zip(slow_whole) {
        let _ = writeln!(
            s,
            "| {} KiB | {whole} / {frames} ({:.1}%) |",
            size / 1024,
            whole as f64 * 100.0 / frames as f64
        );
    }
    s.push('\n');
    Ok(s)
}
