//! Chat latency while one receiver has stopped reading.
//!
//! Sixteen flooders each send long chat lines as fast as the server's chat
//! rate limit lets one participant (50 lines a second of 4000 characters,
//! 200 KB/s; together 3.2 MB/s, more than any room types, less than a
//! reader keeps up with); one participant never reads, so its queue on the
//! server grows until the server disconnects it (8 MiB limit). Meanwhile a
//! speaker sends a short, stamped line every 25 ms and a listener measures
//! how long each took.

use std::thread;
use std::time::{Duration, Instant};

use lanmeet_common::message::{ClientMessage, LeaveReason, ServerMessage};

use crate::peer::{since_stamp, stamp_now, Peer};
use crate::server::ServerProcess;
use crate::stats::Latencies;

/// What the scenario measured.
pub struct Report {
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    pub latency_max: Duration,
    pub samples: usize,
    /// Time from the start of the flood to the stuck reader's removal.
    pub stuck_removed_after: Option<Duration>,
    pub flood_bytes: u64,
}

/// Participants flooding at once.
const FLOODERS: usize = 16;

/// Runs the scenario for `seconds`.
pub fn run(server_bin: &std::path::Path, seconds: f64) -> Result<Report, String> {
    let server = ServerProcess::start(server_bin, &[])?;
    let err = |e: std::io::Error| e.to_string();
    let first = Peer::create(server.tcp, server.udp, "flooder0").map_err(err)?;
    let code = first.code.clone();
    let mut flooders = vec![first];
    for k in 1..FLOODERS {
        flooders
            .push(Peer::join(server.tcp, server.udp, &format!("flooder{k}"), &code).map_err(err)?);
    }
    let stuck = Peer::join(server.tcp, server.udp, "stuck", &code).map_err(err)?;
    let mut speaker = Peer::join(server.tcp, server.udp, "speaker", &code).map_err(err)?;
    let mut listener = Peer::join(server.tcp, server.udp, "listener", &code).map_err(err)?;
    let stuck_id = stuck.client_id.clone();
    let start = Instant::now();
    let duration = Duration::from_secs_f64(seconds);

    let floods: Vec<_> = flooders
        .into_iter()
        .map(|mut flooder| {
            thread::spawn(move || {
                let line = ClientMessage::Chat {
                    message: "x".repeat(4000),
                    to: None,
                };
                let mut bytes = 0u64;
                let mut n = 0u32;
                // 50 lines a second: the most one participant may send.
                while start.elapsed() < duration {
                    let due = start + Duration::from_millis(20) * n;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        thread::sleep(wait);
                    }
                    n += 1;
                    if flooder.send(&line).is_err() {
                        break;
                    }
                    bytes += 4000;
                    let _ = flooder.drain();
                }
                bytes
            })
        })
        .collect();
    let speak = thread::spawn(move || {
        let mut n = 0u32;
        while start.elapsed() < duration {
            let due = start + Duration::from_millis(25) * n;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
            let msg = ClientMessage::Chat {
                message: format!("t{}", stamp_now()),
                to: None,
            };
            if speaker.send(&msg).is_err() {
                break;
            }
            let _ = speaker.drain();
            n += 1;
        }
    });
    let mut latencies = Latencies::default();
    let mut removed = None;
    while start.elapsed() < duration + Duration::from_millis(500) {
        match listener.recv(Duration::from_millis(100)) {
            Ok(Some(ServerMessage::Chat(line))) => {
                if let Some(stamp) = line
                    .message
                    .strip_prefix('t')
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    latencies.add(since_stamp(stamp));
                }
            }
            Ok(Some(ServerMessage::UserLeft {
                client_id,
                reason: LeaveReason::Error,
                ..
            })) if client_id == stuck_id => {
                removed.get_or_insert(start.elapsed());
            }
            Ok(_) => {}
            Err(e) => return Err(format!("listener: {e}")),
        }
    }
    let flood_bytes = floods.into_iter().map(|f| f.join().unwrap_or(0)).sum();
    let _ = speak.join();
    drop(stuck);
    Ok(Report {
        latency_p50: latencies.percentile(50.0),
        latency_p99: latencies.percentile(99.0),
        latency_max: latencies.max(),
        samples: latencies.len(),
        stuck_removed_after: removed,
        flood_bytes,
    })
}
