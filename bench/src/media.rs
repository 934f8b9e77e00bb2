//! Media load: M meetings of K participants sending synthetic video and
//! real-time audio through a server, measured at a sample of receivers.
//!
//! ```text
//!  video sender thread ──'V' fragments──┐                 ┌──> sampled receiver threads:
//!  (every participant, F fps, B bytes,  ├──> server ──────┤    reassemble, latency from the
//!   send stamp in the first 8 bytes)    │   (relay, mix)  │    stamp, count frames and mixes
//!  audio sender threads ─'A' 100/s ─────┘                 └──> other receivers: never read
//! ```
//!
//! Reading every receiver would cost the generator as much as the server,
//! so only a sample is read; the server cannot tell the difference (its
//! sends to an unread socket cost the same). Sender threads stagger the
//! participants across each frame interval, as independent clients would.
//!
//! Audio is what the mixer figures depend on, so its generator is held to
//! a schedule and checked: [`AUDIO_THREADS`] threads share the
//! microphones, each microphone has its own phase in the 10 ms period and
//! sends its frame `n` at `start + phase + n * 10 ms`, and every send's
//! lateness against that schedule is recorded and reported. (One thread
//! sending all 200 microphones in one burst per period was late by tens
//! of milliseconds whenever the busy machine descheduled it, and made the
//! frames of a whole meeting arrive, or go missing, together.) Mixed
//! frames are counted in the steady window from [`WARM_UP`] after the
//! first send to the last send, so the edges of the run (a source's first
//! frames, the queues draining after the end) do not count.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lanmeet_common::audio::{self, FRAME_SAMPLES};
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video::{self, FragmentAssembler};

use crate::peer::{since_stamp, stamp_now, Peer};
use crate::procstat;
use crate::server::ServerProcess;
use crate::stats::Latencies;

/// What to send.
#[derive(Clone, Debug)]
pub struct Load {
    /// Meetings.
    pub meetings: usize,
    /// Participants per meeting.
    pub per_meeting: usize,
    /// Video frames per second per participant (0: no video).
    pub fps: u32,
    /// Bytes per video frame.
    pub frame_bytes: usize,
    /// Whether everyone also sends audio at 100 frames a second.
    pub audio: bool,
    /// Measured seconds.
    pub seconds: f64,
    /// Receivers read per meeting.
    pub sampled_per_meeting: usize,
    /// Extra server arguments (e.g. `--max-datagram 65000`).
    pub server_args: Vec<String>,
    /// The load generator's threads run at a lower priority than the
    /// server (see [`Load::server_first`]).
    pub server_first: bool,
}

/// Receive buffer of a sampled receiver's socket.
const RECEIVER_BUFFER: usize = 4 * 1024 * 1024;

/// Bytes of a synthetic video frame, about a 640x480 camera JPEG.
pub const FRAME_BYTES: usize = 15_000;

impl Load {
    /// `meetings` of `per_meeting` participants sending 15 KB frames at
    /// `fps` (0: no video), one receiver read per meeting.
    pub fn new(meetings: usize, per_meeting: usize, fps: u32, seconds: f64) -> Load {
        Load {
            meetings,
            per_meeting,
            fps,
            frame_bytes: FRAME_BYTES,
            audio: false,
            seconds,
            sampled_per_meeting: 1,
            server_args: Vec::new(),
            server_first: false,
        }
    }

    /// Runs the load generator's threads (senders, receivers) at nice 5,
    /// so that where they share a small machine with the server, the
    /// server is served first, as it is on a machine of its own while 200
    /// other machines send. On 2 cores, at equal priority, a load that
    /// needs more than a core from each side leaves the server off its
    /// core for stretches in which its socket fills and the kernel drops
    /// audio and video alike.
    pub fn server_first(mut self) -> Load {
        self.server_first = true;
        self
    }

    /// Everyone also sends audio.
    pub fn with_audio(mut self) -> Load {
        self.audio = true;
        self
    }

    /// Reads `n` receivers per meeting.
    pub fn sampled(mut self, n: usize) -> Load {
        self.sampled_per_meeting = n;
        self
    }

    /// Starts the server with `--max-datagram bytes`.
    pub fn max_datagram(mut self, bytes: usize) -> Load {
        self.server_args = vec!["--max-datagram".into(), bytes.to_string()];
        self
    }
}

/// What was measured.
#[derive(Debug, Default)]
pub struct Report {
    pub participants: usize,
    pub max_datagram: usize,
    pub frames_sent: u64,
    pub fragments_per_frame: f64,
    pub expected_at_sample: u64,
    pub delivered_at_sample: u64,
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    pub latency_max: Duration,
    /// Mixed audio frames per listener per second: min, mean, max.
    pub mix_rate: (f64, f64, f64),
    /// Mixed frames per sampled listener per second the server sent, from
    /// their sequence numbers (mean): what `mix_rate` would be if none
    /// were lost on the way.
    pub mix_sent_rate: f64,
    /// How late the generator's audio sends were against their schedule:
    /// p50, p99, max.
    pub audio_send_late: (Duration, Duration, Duration),
    /// Datagrams the kernel dropped at the server's own socket (its
    /// receive buffer full), per second.
    pub server_socket_drops_per_s: f64,
    pub server_cpu: f64,
    pub server_rss: u64,
    pub generator_cpu: f64,
    /// Datagrams the generator sent to the server per second.
    pub datagrams_in_per_s: f64,
    /// Datagrams the server sent per second, from the machine's UDP
    /// counters less the generator's own sends.
    pub datagrams_out_per_s: f64,
    /// Datagrams the server would send per second if it kept up.
    pub datagrams_due_per_s: f64,
    /// Datagrams dropped at full receive buffers per second (mostly the
    /// receivers nobody reads, by design).
    pub rcvbuf_drops_per_s: f64,
    /// The server's resident memory, sampled every second: (seconds, bytes).
    pub rss_samples: Vec<(f64, u64)>,
}

impl Report {
    /// Fraction of expected frames that arrived complete at the sample.
    pub fn delivery(&self) -> f64 {
        if self.expected_at_sample == 0 {
            return 1.0;
        }
        self.delivered_at_sample as f64 / self.expected_at_sample as f64
    }

    /// Server CPU microseconds per datagram it sent.
    pub fn cpu_per_datagram_out_us(&self) -> f64 {
        self.server_cpu * 1e6 / self.datagrams_out_per_s.max(1e-9)
    }

    /// Server CPU microseconds per video frame it sent to a participant
    /// (every datagram out counted as video: use on video-only loads).
    pub fn cpu_per_delivered_frame_us(&self) -> f64 {
        let frames_out = self.datagrams_out_per_s / self.fragments_per_frame.max(1.0);
        self.server_cpu * 1e6 / frames_out.max(1e-9)
    }
}

/// What one sampled receiver saw.
#[derive(Default)]
struct Seen {
    frames: HashMap<String, u64>,
    latencies: Latencies,
    /// When each mixed frame arrived, and its sequence number.
    mixes: Vec<(Instant, u32)>,
}

/// Threads sending the audio of all participants.
pub const AUDIO_THREADS: usize = 4;

/// Mixed frames arriving this soon after the first audio send are not
/// counted (the server's jitter buffer is still priming).
pub const WARM_UP: Duration = Duration::from_millis(500);

/// Spawns a thread of the load generator, at nice 5 when `lower` (best
/// effort: a thread's priority is its own on Linux, set through its id in
/// `/proc/thread-self` with `renice`; where that fails it keeps its
/// priority).
fn spawn_load<T: Send + 'static>(
    lower: bool,
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    thread::spawn(move || {
        if lower {
            let tid = std::fs::read_link("/proc/thread-self")
                .ok()
                .and_then(|link| link.file_name()?.to_str().map(str::to_string));
            if let Some(tid) = tid {
                let _ = std::process::Command::new("renice")
                    .args(["5", "-p", &tid])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
        f()
    })
}

/// Runs `load` against a fresh server started from `server_bin`.
pub fn run(server_bin: &std::path::Path, load: &Load) -> Result<Report, String> {
    let server = ServerProcess::start(server_bin, &load.server_args)?;
    let mut meetings: Vec<Vec<Peer>> = Vec::new();
    for m in 0..load.meetings {
        let host =
            Peer::create(server.tcp, server.udp, &format!("m{m}p0")).map_err(|e| e.to_string())?;
        let code = host.code.clone();
        let mut peers = vec![host];
        for p in 1..load.per_meeting {
            let name = format!("m{m}p{p}");
            peers
                .push(Peer::join(server.tcp, server.udp, &name, &code).map_err(|e| e.to_string())?);
        }
        meetings.push(peers);
    }
    for peer in meetings.iter().flatten() {
        peer.bind_udp()
            .map_err(|e| format!("{}: {e}", peer.client_id))?;
    }
    let max_datagram = meetings[0][0].max_datagram;
    let stop = Arc::new(AtomicBool::new(false));
    // The server closes a connection silent for 30 s: keep every control
    // connection alive (and its inbox drained) for runs longer than that.
    let keepalive = {
        let streams: Vec<std::net::TcpStream> = meetings
            .iter()
            .flatten()
            .filter_map(|p| p.tcp.try_clone().ok())
            .collect();
        let stop = stop.clone();
        thread::spawn(move || keep_alive(streams, &stop))
    };

    // Sampled receivers: the last few of each meeting.
    let mut receivers = Vec::new();
    for peers in &meetings {
        for peer in peers.iter().rev().take(load.sampled_per_meeting) {
            let socket = peer.udp.try_clone().map_err(|e| e.to_string())?;
            // A measuring receiver must not lose what the server sent when
            // the busy machine delays its thread: a large buffer (best
            // effort; the kernel may cap it). Peers not read keep the
            // default, or they would pin megabytes each.
            let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(RECEIVER_BUFFER);
            let stop = stop.clone();
            let id = peer.client_id.clone();
            receivers.push((
                id,
                spawn_load(load.server_first, move || receive(socket, &stop)),
            ));
        }
    }

    let senders: Vec<(String, UdpSocket, std::net::SocketAddr)> = meetings
        .iter()
        .flatten()
        .map(|p| {
            (
                p.client_id.clone(),
                p.udp.try_clone().expect("clone a bound UDP socket"),
                p.server_udp,
            )
        })
        .collect();
    let duration = Duration::from_secs_f64(load.seconds);
    let sampler = {
        let (stop, pid) = (stop.clone(), server.pid());
        thread::spawn(move || {
            let started = Instant::now();
            let mut samples = Vec::new();
            while !stop.load(Ordering::Acquire) {
                samples.push((
                    started.elapsed().as_secs_f64(),
                    procstat::rss_bytes(&pid).unwrap_or(0),
                ));
                let next = Duration::from_secs(samples.len() as u64);
                while started.elapsed() < next && !stop.load(Ordering::Acquire) {
                    thread::sleep(Duration::from_millis(50));
                }
            }
            samples
        })
    };
    let cpu_before = (server.cpu(), procstat::cpu_time("self").unwrap_or_default());
    let udp_before = procstat::udp_counters().unwrap_or_default();
    let server_drops_before = udp_socket_drops(server.udp.port());
    let start = Instant::now();

    let video_thread = (load.fps > 0).then(|| {
        let senders: Vec<_> = senders
            .iter()
            .map(|(id, s, to)| (id.clone(), s.try_clone().expect("clone"), *to))
            .collect();
        let (fps, bytes) = (load.fps, load.frame_bytes);
        spawn_load(load.server_first, move || {
            send_video(&senders, fps, bytes, max_datagram, start, duration)
        })
    });
    let audio_threads: Vec<_> = if load.audio {
        (0..AUDIO_THREADS)
            .map(|t| {
                let n = senders.len();
                let mine: Vec<_> = senders
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % AUDIO_THREADS == t)
                    .map(|(i, (id, s, to))| {
                        let phase = Duration::from_millis(audio::FRAME_MS) * i as u32 / n as u32;
                        (id.clone(), s.try_clone().expect("clone"), *to, phase)
                    })
                    .collect();
                spawn_load(load.server_first, move || {
                    send_audio(&mine, start, duration)
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let (sent, frags) = video_thread
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();
    let mut audio_sent = 0;
    let mut audio_late = Latencies::default();
    for t in audio_threads {
        let (n, late) = t.join().unwrap_or_default();
        audio_sent += n;
        audio_late.merge(late);
    }
    // Let the last frames arrive.
    thread::sleep(Duration::from_millis(200));
    let wall = start.elapsed();
    let cpu_after = (server.cpu(), procstat::cpu_time("self").unwrap_or_default());
    let udp_after = procstat::udp_counters().unwrap_or_default();
    let server_drops_after = udp_socket_drops(server.udp.port());
    let server_rss = server.rss();
    stop.store(true, Ordering::Release);
    let _ = keepalive.join();

    let mut report = Report {
        participants: load.meetings * load.per_meeting,
        max_datagram,
        server_cpu: procstat::core_fraction(cpu_before.0, cpu_after.0, wall),
        generator_cpu: procstat::core_fraction(cpu_before.1, cpu_after.1, wall),
        server_rss,
        ..Report::default()
    };
    report.rss_samples = sampler.join().unwrap_or_default();
    report.frames_sent = sent.values().sum();
    report.fragments_per_frame = if report.frames_sent > 0 {
        frags as f64 / report.frames_sent as f64
    } else {
        0.0
    };
    let meeting_of: HashMap<&str, usize> = meetings
        .iter()
        .enumerate()
        .flat_map(|(m, peers)| peers.iter().map(move |p| (p.client_id.as_str(), m)))
        .collect();
    let mut all = Latencies::default();
    let mut rates = Vec::new();
    let mut sent_rates = Vec::new();
    for (id, handle) in receivers {
        let seen = handle.join().unwrap_or_default();
        let m = meeting_of[id.as_str()];
        let expected: u64 = meetings[m]
            .iter()
            .filter(|p| p.client_id != id)
            .map(|p| sent.get(&p.client_id).copied().unwrap_or(0))
            .sum();
        report.expected_at_sample += expected;
        report.delivered_at_sample += seen.frames.values().sum::<u64>();
        let window = (start + WARM_UP)..(start + duration);
        let counted: Vec<u32> = seen
            .mixes
            .iter()
            .filter(|(t, _)| window.contains(t))
            .map(|&(_, seq)| seq)
            .collect();
        let window_s = duration.saturating_sub(WARM_UP).as_secs_f64().max(1e-9);
        rates.push(counted.len() as f64 / window_s);
        // The server numbers each listener's mixes: the span of numbers
        // seen is what it sent in the window, whether or not all arrived.
        if let (Some(first), Some(last)) = (counted.iter().min(), counted.iter().max()) {
            sent_rates.push(f64::from(last - first + 1) / window_s);
        }
        all.merge(seen.latencies);
    }
    report.latency_p50 = all.percentile(50.0);
    report.latency_p99 = all.percentile(99.0);
    report.latency_max = all.max();
    if load.audio && !rates.is_empty() {
        let min = rates.iter().copied().fold(f64::MAX, f64::min);
        let max = rates.iter().copied().fold(0.0, f64::max);
        report.mix_rate = (min, rates.iter().sum::<f64>() / rates.len() as f64, max);
        report.mix_sent_rate = sent_rates.iter().sum::<f64>() / sent_rates.len().max(1) as f64;
    }
    report.audio_send_late = (
        audio_late.percentile(50.0),
        audio_late.percentile(99.0),
        audio_late.max(),
    );
    let secs = wall.as_secs_f64();
    if let (Some(before), Some(after)) = (server_drops_before, server_drops_after) {
        report.server_socket_drops_per_s = after.saturating_sub(before) as f64 / secs;
    }
    let k = load.per_meeting as f64;
    let generator_sent = frags + audio_sent;
    // Every listener of a meeting with someone else speaking gets one mix per tick.
    let audio_due = audio_sent as f64;
    report.datagrams_in_per_s = generator_sent as f64 / secs;
    let out = udp_after
        .out_datagrams
        .saturating_sub(udp_before.out_datagrams)
        .saturating_sub(generator_sent);
    report.datagrams_out_per_s = out as f64 / secs;
    report.datagrams_due_per_s = (frags as f64 * (k - 1.0) + audio_due) / secs;
    report.rcvbuf_drops_per_s = udp_after
        .rcvbuf_errors
        .saturating_sub(udp_before.rcvbuf_errors) as f64
        / secs;
    drop(meetings);
    Ok(report)
}

/// Sends one frame per participant per `1/fps`, staggered; returns frames
/// sent per participant and fragments sent in all.
fn send_video(
    senders: &[(String, UdpSocket, std::net::SocketAddr)],
    fps: u32,
    bytes: usize,
    max_datagram: usize,
    start: Instant,
    duration: Duration,
) -> (HashMap<String, u64>, u64) {
    let mut frame: Vec<u8> = (0..bytes.max(8)).map(|i| (i * 131 % 251) as u8).collect();
    let interval = Duration::from_secs_f64(1.0 / f64::from(fps));
    let slot = interval / senders.len().max(1) as u32;
    let mut sent: HashMap<String, u64> = HashMap::new();
    let mut fragments = 0u64;
    let mut seq = 0u32;
    'outer: loop {
        for (i, (id, socket, to)) in senders.iter().enumerate() {
            let due = start + interval * seq + slot * i as u32;
            if due >= start + duration {
                break 'outer;
            }
            sleep_until(due);
            frame[..8].copy_from_slice(&stamp_now().to_be_bytes());
            if let Ok(n) = video::fragment(id, seq, &frame, max_datagram, |d| {
                let _ = socket.send_to(d, to);
            }) {
                fragments += n as u64;
                *sent.entry(id.clone()).or_default() += 1;
            }
        }
        seq += 1;
    }
    (sent, fragments)
}

/// Sends one 10 ms audio frame every 10 ms for each of `senders`, each on
/// its own phase in the period; returns how many datagrams went out and
/// how late each send was against its schedule.
fn send_audio(
    senders: &[(String, UdpSocket, std::net::SocketAddr, Duration)],
    start: Instant,
    duration: Duration,
) -> (u64, Latencies) {
    let period = Duration::from_millis(audio::FRAME_MS);
    let mut late = Latencies::default();
    let mut sent = 0;
    // Senders in order of phase: within one period they fall due in turn.
    let mut order: Vec<usize> = (0..senders.len()).collect();
    order.sort_by_key(|&i| senders[i].3);
    let end = start + duration;
    'periods: for seq in 0u32.. {
        for &i in &order {
            let (id, socket, to, phase) = &senders[i];
            let due = start + *phase + period * seq;
            if due >= end {
                break 'periods;
            }
            sleep_until(due);
            let now = Instant::now();
            late.add(now.saturating_duration_since(due));
            // A real microphone numbers its frames.
            let datagram = audio::build_datagram(id, seq, &[(i as i16 % 64) * 10; FRAME_SAMPLES]);
            if socket.send_to(&datagram, to).is_ok() {
                sent += 1;
            }
        }
    }
    (sent, late)
}

/// The drops counter of the UDP socket bound to loopback `port`, from
/// `/proc/net/udp` (the last column): datagrams the kernel discarded
/// because that socket's receive buffer was full.
fn udp_socket_drops(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&local.as_str()))
            .then(|| fields.last()?.parse().ok())
            .flatten()
    })
}

/// Pings every connection every 5 s and throws away what they received,
/// until `stop`.
fn keep_alive(mut streams: Vec<std::net::TcpStream>, stop: &AtomicBool) {
    use std::io::{Read, Write};
    let ping = lanmeet_common::framing::encode_json(&lanmeet_common::ClientMessage::Ping);
    let mut buf = vec![0u8; 65536];
    let mut next = Instant::now();
    while !stop.load(Ordering::Acquire) {
        if Instant::now() >= next {
            next += Duration::from_secs(5);
            for s in &mut streams {
                let _ = s.set_nonblocking(false);
                let _ = s.write_all(&ping);
                let _ = s.set_nonblocking(true);
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn sleep_until(due: Instant) {
    let now = Instant::now();
    if due > now {
        thread::sleep(due - now);
    }
}

/// Reads one receiver's socket until `stop`.
fn receive(socket: UdpSocket, stop: &AtomicBool) -> Seen {
    let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
    let mut seen = Seen::default();
    let mut assembler = FragmentAssembler::new();
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Acquire) {
        let Ok((n, _)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Ok(d) = udp::parse(&buf[..n]) else {
            continue;
        };
        match d.kind {
            Kind::Video => {
                if let Ok(Some(frame)) = assembler.push(d.client_id, d.body, Instant::now()) {
                    if let Some(stamp) = frame.jpeg.get(..8) {
                        let stamp = u64::from_be_bytes(stamp.try_into().unwrap_or([0; 8]));
                        seen.latencies.add(since_stamp(stamp));
                    }
                    *seen.frames.entry(frame.sender).or_default() += 1;
                }
            }
            Kind::Audio if d.client_id.is_empty() => {
                if let Ok((seq, _)) = audio::parse_body(d.body) {
                    seen.mixes.push((Instant::now(), seq));
                }
            }
            _ => {}
        }
    }
    seen
}
