//! The mixer alone: the server's core driven in-process with 64 speakers,
//! so a tick's cost is measured without the system calls around it (those
//! are in the audio scenario's whole-server figure).

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use lanmeet_common::audio::{self, FRAME_SAMPLES};
use lanmeet_common::framing;
use lanmeet_common::message::{ClientMessage, ServerMessage};
use lanmeet_common::udp::{self, Kind};
use lanmeet_server::core::{Core, CoreConfig, Output};
use lanmeet_server::rng::SeededRandom;

/// Microseconds of CPU per 10 ms tick mixing `speakers` participants, all
/// speaking, over `ticks` ticks.
pub fn cost_per_tick(speakers: usize, ticks: u32) -> f64 {
    let start = Instant::now();
    let config = CoreConfig {
        max_connections: speakers + 1,
        ..CoreConfig::default()
    };
    let mut core = Core::new(config, Box::new(SeededRandom(7)), start, SystemTime::now());
    let mut code = String::new();
    let mut members = Vec::new();
    for conn in 0..speakers as u64 {
        core.on_connect(conn, start);
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
                    members.push((r.client_id, r.udp_token));
                }
            }
        }
    }
    let addr = |i: usize| SocketAddr::from(([127, 0, 0, 1], 20_000 + i as u16));
    let mut relay = Vec::new();
    for (i, (id, token)) in members.iter().enumerate() {
        core.on_datagram(
            addr(i),
            &udp::build(Kind::Hello, id, token.as_bytes()),
            &mut relay,
        );
    }
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
