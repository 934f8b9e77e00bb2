//! The UDP reader thread: the server's answers to our hellos, other
//! participants' video fragments, and the mixed audio meant for us.
//!
//! ```text
//!  recv (200 ms timeout, so the stop flag is seen)
//!    'I' "ok"     --> last_hello_ok = now        (heartbeat shows MediaPath)
//!    'V' from c7  --> FragmentAssembler --whole frame--> DecodeQueue
//!    'A' (mix)    --> JitterBuffer (only while something plays it)
//!    anything else, or malformed --> counted, dropped
//! ```
//!
//! The socket is connected to the server's UDP address, so datagrams from
//! anyone else never reach this loop. Nothing here decodes a JPEG: that is
//! the decoder thread's job, so a burst of video never delays the audio.

use std::io::ErrorKind;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lanmeet_common::audio::{decode_pcm, parse_body, FRAME_SAMPLES};
use lanmeet_common::udp::{self, Kind, HELLO_OK};

use crate::session::Shared;
use crate::stop::lock;
use crate::video::FrameKey;

/// The UDP reader thread: hello answers, video fragments, mixed audio.
pub(crate) fn run_udp_reader(shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65_536];
    let mut pcm = [0i16; FRAME_SAMPLES];
    let mut last_expire = Instant::now();
    let me = shared.identity.client_id.clone();
    while !shared.stop.is_stopped() {
        let now = Instant::now();
        if now.duration_since(last_expire) >= Duration::from_millis(100) {
            lock(&shared.assembler).expire(now);
            last_expire = now;
        }
        let n = match shared.link.socket.recv(&mut buf) {
            Ok(n) => n,
            // Timeouts let us check the stop flag.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            // "Connection refused" is an ICMP answer to an earlier send
            // while the server's UDP port was closed. Not fatal; the short
            // pause keeps a socket that keeps failing from spinning a core.
            Err(_) => {
                shared.stop.wait_for(Duration::from_millis(20));
                continue;
            }
        };
        let Ok(d) = udp::parse(&buf[..n]) else {
            shared.counters.malformed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        match d.kind {
            Kind::Hello => {
                if d.body == HELLO_OK {
                    *lock(&shared.last_hello_ok) = Some(Instant::now());
                }
            }
            Kind::Video => {
                if d.client_id.is_empty() || d.client_id == me {
                    continue;
                }
                let pushed = lock(&shared.assembler).push(d.client_id, d.body, Instant::now());
                match pushed {
                    Ok(Some(frame)) => {
                        shared
                            .counters
                            .video_received
                            .fetch_add(1, Ordering::Relaxed);
                        shared.decode.submit(
                            FrameKey::Camera(frame.sender),
                            frame.frame_seq,
                            frame.jpeg,
                        );
                    }
                    Ok(None) => {}
                    Err(_) => {
                        shared.counters.malformed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Kind::Audio => {
                let Ok((seq, bytes)) = parse_body(d.body) else {
                    shared.counters.malformed.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                shared
                    .counters
                    .audio_received
                    .fetch_add(1, Ordering::Relaxed);
                if shared.playing.load(Ordering::Acquire) {
                    decode_pcm(bytes, &mut pcm);
                    lock(&shared.jitter).push(seq, pcm);
                }
            }
        }
    }
}
