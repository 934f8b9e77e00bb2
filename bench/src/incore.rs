//! The server's core driven in-process, without sockets: what the meeting
//! logic itself costs, apart from the system calls around it (those are in
//! the whole-server scenarios).
//!
//! - [`cost_per_tick`]: one 10 ms mixer tick with everyone speaking;
//! - [`cost_per_relayed_datagram`]: one video fragment in, relayed to every
//!   other participant (the per-datagram path the relay scenario loads).
//!
//! `lanmeet-bench core` prints both; it needs no server binary and takes a
//! few seconds, so it is the quick check for a change to the core.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use lanmeet_common::audio::{self, FRAME_SAMPLES};
use lanmeet_common::framing;
use lanmeet_common::message::{ClientMessage, ServerMessage};
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video;
use lanmeet_server::core::{Core, CoreConfig, DatagramAction, Output};
use lanmeet_server::rng::SeededRandom;

/// A core holding one meeting of `size`, every participant's UDP address
/// bound by a hello.
struct Meeting {
    core: Core,
    start: Instant,
    /// (client_id, its bound address) of each participant.
    members: Vec<(String, SocketAddr)>,
}

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 20_000 + i as u16))
}

impl Meeting {
    fn new(size: usize) -> Meeting {
        let start = Instant::now();
        let config = CoreConfig {
            max_connections: size + 1,
            max_handshakes_per_address: size + 1,
            ..CoreConfig::default()
        };
        let mut core = Core::new(config, Box::new(SeededRandom(7)), start, SystemTime::now());
        let mut code = String::new();
        let mut joined = Vec::new();
        for conn in 0..size as u64 {
            core.on_connect(conn, [127, 0, 0, 1].into(), start);
            let msg = if conn == 0 {
                ClientMessage::CreateMeeting {
                    version: 1,
                    username: format!("p{conn}"),
                    password: None,
                }
            } else {
                ClientMessage::JoinMeeting {
                    version: 1,
                    username: format!("p{conn}"),
                    meeting_code: code.clone(),
                    password: None,
                }
            };
            let body = serde_json::to_vec(&msg).unwrap_or_default();
            core.on_frame(conn, &body, start);
            for out in core.take_outputs().collect::<Vec<_>>() {
                let Output::Send {
                    conn: to, frame, ..
                } = out
                else {
                    continue;
                };
                let Ok(Some((body, _))) = framing::decode(&frame, usize::MAX) else {
                    continue;
                };
                if let Ok(ServerMessage::MeetingCreated(r) | ServerMessage::JoinSuccess(r)) =
                    ServerMessage::parse(body)
                {
                    if to == conn {
                        code = r.meeting_code.clone();
                        joined.push((r.client_id, r.udp_token));
                    }
                }
            }
        }
        let mut relay = Vec::new();
        let mut members = Vec::new();
        for (i, (id, token)) in joined.into_iter().enumerate() {
            core.on_datagram(
                addr(i),
                &udp::build(Kind::Hello, &id, token.as_bytes()),
                &mut relay,
            );
            members.push((id, addr(i)));
        }
        core.take_outputs().for_each(drop);
        Meeting {
            core,
            start,
            members,
        }
    }
}

/// Microseconds of CPU per 10 ms tick mixing `speakers` participants, all
/// speaking, over `ticks` ticks.
pub fn cost_per_tick(speakers: usize, ticks: u32) -> f64 {
    let Meeting {
        mut core,
        start,
        members,
    } = Meeting::new(speakers);
    let mut relay = Vec::new();
    let frames: Vec<Vec<u8>> = members
        .iter()
        .enumerate()
        .map(|(i, (id, _))| audio::build_datagram(id, 0, &[(i as i16) * 100; FRAME_SAMPLES]))
        .collect();
    let mut now = start;
    let mut sent = 0u64;
    let mut spent = Duration::ZERO;
    for _ in 0..ticks {
        for (i, d) in frames.iter().enumerate() {
            core.on_datagram(addr(i), d, &mut relay);
        }
        now += Duration::from_millis(10);
        let t0 = Instant::now();
        core.on_timer(now, &mut |_, _| sent += 1);
        spent += t0.elapsed();
    }
    assert!(sent >= u64::from(ticks), "the mixer sent nothing");
    spent.as_secs_f64() * 1e6 / f64::from(ticks)
}

/// Nanoseconds of CPU per video fragment of `max_datagram` bytes that one
/// participant of a meeting of `size` sends and the core relays to the
/// others, handing each copy to a stand-in for `send_to`. The best of
/// `rounds` rounds of `datagrams` each, so a busy machine's interruptions
/// count as little as possible.
pub fn cost_per_relayed_datagram(size: usize, datagrams: u32, rounds: u32) -> f64 {
    let Meeting {
        mut core, members, ..
    } = Meeting::new(size);
    let (sender, from) = members[0].clone();
    // One frame of 16 full fragments.
    let max = lanmeet_common::limits::DEFAULT_MAX_DATAGRAM;
    let jpeg = vec![0x5a; video::fragment_payload(&sender, max) * 16];
    let mut fragments: Vec<Vec<u8>> = Vec::new();
    video::fragment(&sender, 1, &jpeg, max, |d| fragments.push(d.to_vec()))
        .expect("16 fragments fit");
    let mut relay = Vec::new();
    let mut best = f64::MAX;
    let mut copies = 0u64;
    for _ in 0..rounds {
        let t0 = Instant::now();
        for k in 0..datagrams {
            let data = &fragments[k as usize % fragments.len()];
            if core.on_datagram(from, data, &mut relay) == DatagramAction::Relay {
                for to in &relay {
                    black_box((to, data));
                    copies += 1;
                }
            }
        }
        best = best.min(t0.elapsed().as_secs_f64() * 1e9 / f64::from(datagrams));
    }
    let expected = u64::from(datagrams) * u64::from(rounds) * (size as u64 - 1);
    assert_eq!(
        copies, expected,
        "every fragment reaches every other member"
    );
    best
}
