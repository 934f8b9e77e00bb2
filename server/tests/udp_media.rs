//! End-to-end: UDP media (hello and binding by token, the video relay with
//! its anti-spoofing and size checks, and the 10 ms N-1 audio mixer) over
//! real loopback sockets (PROTOCOL.md section 9).

mod support;

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use lanmeet_common::audio::{self, FRAME_SAMPLES};
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video;
use lanmeet_server::Config;
use support::*;

/// The datagrams of one JPEG-like frame of `len` bytes from `member`.
fn video_frame(member: &Member, seq: u32, len: usize, max_datagram: usize) -> Vec<Vec<u8>> {
    let jpeg: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    let mut out = Vec::new();
    video::fragment(&member.id, seq, &jpeg, max_datagram, |d| {
        out.push(d.to_vec())
    })
    .unwrap();
    out
}

/// Receives `n` datagrams and returns them sorted (loopback keeps order in
/// practice, but the protocol does not promise it).
fn recv_sorted(media: &Media, n: usize) -> Vec<Vec<u8>> {
    let mut got: Vec<Vec<u8>> = (0..n).map(|_| media.recv()).collect();
    got.sort();
    got
}

fn sorted(mut datagrams: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    datagrams.sort();
    datagrams
}

#[test]
fn a_valid_hello_is_answered_and_an_invalid_one_is_not() {
    let server = start_server();
    let m = meeting(&server, &["Alice", "Bob"]);
    // The id may be left empty or be the token owner's own.
    let media = Media::new(&server);
    media.send(&udp::build(Kind::Hello, "", m[0].token.as_bytes()));
    assert_eq!(media.recv(), [b'I', 0, 0, b'o', b'k']);
    Media::bound(&server, &m[1]);

    let stranger = Media::new(&server);
    stranger.send(&udp::build(
        Kind::Hello,
        &m[0].id,
        b"0123456789abcdef0123456789abcdef",
    ));
    stranger.send(&udp::build(Kind::Hello, "", b"not a token"));
    stranger.send(&udp::build(Kind::Hello, "", b""));
    // Bob's token does not speak for Alice.
    stranger.send(&udp::build(Kind::Hello, &m[0].id, m[1].token.as_bytes()));
    stranger.expect_nothing();
}

#[test]
fn video_fragments_reach_the_other_bound_participants_byte_for_byte() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol", "Dave"]);
    let a = Media::bound(&server, &m[0]);
    let b = Media::bound(&server, &m[1]);
    let c = Media::bound(&server, &m[2]);
    // Dave never says hello: he has no address to relay to.

    let frame = video_frame(&m[0], 1, 10_000, 1400);
    assert_eq!(frame.len(), 8);
    for d in &frame {
        a.send(d);
    }
    assert_eq!(recv_sorted(&b, frame.len()), sorted(frame.clone()));
    assert_eq!(recv_sorted(&c, frame.len()), sorted(frame));
    a.expect_nothing();
    b.expect_nothing();

    // Bob's video goes to Alice and Carol.
    let frame = video_frame(&m[1], 1, 100, 1400);
    b.send(&frame[0]);
    assert_eq!(a.recv(), frame[0]);
    assert_eq!(c.recv(), frame[0]);
    b.expect_nothing();
    for member in &mut m {
        member.expect_nothing();
    }
}

#[test]
fn media_from_an_address_not_bound_to_the_id_is_dropped() {
    let server = start_server();
    let m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let a = Media::bound(&server, &m[0]);
    let b = Media::bound(&server, &m[1]);
    let c = Media::bound(&server, &m[2]);
    let stranger = Media::new(&server);

    // Bob and a stranger speak for Alice: nobody hears them.
    let spoofed = video_frame(&m[0], 1, 100, 1400);
    b.send(&spoofed[0]);
    stranger.send(&spoofed[0]);
    let spoofed_audio = audio::build_datagram(&m[0].id, 0, &[1000; FRAME_SAMPLES]);
    b.send(&spoofed_audio);
    stranger.send(&spoofed_audio);
    // An id nobody has.
    let body = udp::parse(&spoofed[0]).unwrap().body;
    stranger.send(&udp::build(Kind::Video, "c999", body));
    a.expect_nothing();
    b.expect_nothing();
    c.expect_nothing();

    // A new hello moves Alice to a new socket; the old one is then a stranger.
    let a2 = Media::bound(&server, &m[0]);
    a.send(&spoofed[0]);
    c.expect_nothing();
    a2.send(&spoofed[0]);
    assert_eq!(c.recv(), spoofed[0]);
    // And relayed video for Alice goes to her new socket.
    let from_bob = video_frame(&m[1], 1, 100, 1400);
    b.send(&from_bob[0]);
    assert_eq!(a2.recv(), from_bob[0]);
    assert_eq!(c.recv(), from_bob[0]);
    a.expect_nothing();
}

#[test]
fn a_datagram_over_max_datagram_is_dropped() {
    let server = start_server();
    let m = meeting(&server, &["Alice", "Bob"]);
    let a = Media::bound(&server, &m[0]);
    let b = Media::bound(&server, &m[1]);
    let fits = video_frame(&m[0], 1, 1400 - 5 - 8, 1400);
    assert_eq!(fits.len(), 1);
    assert_eq!(fits[0].len(), 1400);
    let mut over = fits[0].clone();
    over.push(0);
    a.send(&over);
    b.expect_nothing();
    a.send(&fits[0]);
    assert_eq!(b.recv(), fits[0]);
}

#[test]
fn a_larger_max_datagram_is_announced_and_honoured() {
    let server = start_server_with(Config {
        max_datagram: 9000,
        ..config()
    });
    let m = meeting(&server, &["Alice", "Bob"]);
    assert_eq!(m[1].reply["max_datagram"], 9000);
    let a = Media::bound(&server, &m[0]);
    let b = Media::bound(&server, &m[1]);
    let frame = video_frame(&m[0], 1, 8000, 9000);
    assert_eq!(frame.len(), 1, "one datagram carries the whole frame");
    a.send(&frame[0]);
    assert_eq!(b.recv(), frame[0]);
    let mut over = vec![0u8; 9001];
    over[..frame[0].len()].copy_from_slice(&frame[0]);
    a.send(&over);
    b.expect_nothing();
}

#[test]
fn a_participant_that_left_gets_no_media_and_its_token_is_dead() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let a = Media::bound(&server, &m[0]);
    let b = Media::bound(&server, &m[1]);
    let c = Media::bound(&server, &m[2]);
    let carol = m.pop().unwrap();
    carol.client.shutdown_write();
    for member in &mut m {
        member.expect_type("user_left");
    }
    // Alice's video now reaches Bob only.
    let frame = video_frame(&m[0], 1, 100, 1400);
    a.send(&frame[0]);
    assert_eq!(b.recv(), frame[0]);
    c.expect_nothing();
    // Carol's media and hellos are strangers' now.
    c.send(&video_frame(&carol, 1, 100, 1400)[0]);
    c.send(&udp::build(Kind::Hello, &carol.id, carol.token.as_bytes()));
    a.expect_nothing();
    b.expect_nothing();
    c.expect_nothing();
}

#[test]
fn a_burst_of_audio_is_cut_to_five_frames() {
    let server = start_server();
    let m = meeting(&server, &["Alice", "Bob"]);
    let a = Media::bound(&server, &m[0]);
    let b = Media::bound(&server, &m[1]);
    // 50 frames at once (half a second of sound): the queue keeps five, so
    // the burst adds at most 50 ms of delay rather than half a second.
    for seq in 0..50 {
        a.send(&audio::build_datagram(&m[0].id, seq, &[500; FRAME_SAMPLES]));
    }
    let heard = listen(&b);
    println!("Bob heard {} frames of the burst", heard.len());
    assert!(!heard.is_empty());
    // One more tick may run while the burst is still being read.
    assert!(heard.len() <= 10, "{} frames", heard.len());
}

/// Sends `frames` audio frames of constant `value` as `member`, one per
/// 10 ms on an absolute schedule, so a late wake-up is caught up rather
/// than stretching the run.
fn speak(media: &Media, member_id: &str, value: i16, frames: u32) {
    let start = Instant::now();
    for seq in 0..frames {
        let due = start + Duration::from_millis(10) * seq;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        media.send(&audio::build_datagram(
            member_id,
            seq,
            &[value; FRAME_SAMPLES],
        ));
    }
}

/// One mixed frame as a listener got it.
struct Heard {
    at: Instant,
    seq: u32,
    value: i16,
}

/// Collects mixed frames until none has come for 300 ms.
fn listen(media: &Media) -> Vec<Heard> {
    let mut heard = Vec::new();
    let first_wait = Duration::from_secs(5);
    while let Some(d) = media.recv_within(if heard.is_empty() { first_wait } else { QUIET }) {
        let at = Instant::now();
        let dg = udp::parse(&d).unwrap();
        assert_eq!(dg.kind, Kind::Audio, "only mixed audio is expected");
        assert_eq!(dg.client_id, "", "mixed audio has an empty id");
        let (seq, pcm) = audio::parse_body(dg.body).unwrap();
        let mut frame = [0i16; FRAME_SAMPLES];
        audio::decode_pcm(pcm, &mut frame);
        assert!(
            frame.iter().all(|&s| s == frame[0]),
            "constant inputs mix to a constant frame"
        );
        heard.push(Heard {
            at,
            seq,
            value: frame[0],
        });
    }
    heard
}

/// How many frames of each value.
fn histogram(heard: &[Heard]) -> BTreeMap<i16, usize> {
    let mut h = BTreeMap::new();
    for x in heard {
        *h.entry(x.value).or_default() += 1;
    }
    h
}

#[test]
fn the_mixer_sends_everyone_the_others_at_100_frames_a_second() {
    let server = start_server();
    let m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let a = Media::bound(&server, &m[0]);
    let b = Media::bound(&server, &m[1]);
    let c = Media::bound(&server, &m[2]);
    const FRAMES: u32 = 120; // 1.2 s, so a whole second sits inside the run

    let (heard_a, heard_b, heard_c) = thread::scope(|s| {
        let la = s.spawn(|| listen(&a));
        let lb = s.spawn(|| listen(&b));
        let lc = s.spawn(|| listen(&c));
        let (a_out, b_out) = (a.try_clone(), b.try_clone());
        let (a_id, b_id) = (m[0].id.clone(), m[1].id.clone());
        s.spawn(move || speak(&a_out, &a_id, 1000, FRAMES));
        s.spawn(move || speak(&b_out, &b_id, 2000, FRAMES));
        (la.join().unwrap(), lb.join().unwrap(), lc.join().unwrap())
    });

    let (ha, hb, hc) = (
        histogram(&heard_a),
        histogram(&heard_b),
        histogram(&heard_c),
    );
    println!("Alice heard {ha:?}, Bob heard {hb:?}, Carol heard {hc:?}");
    // Nobody hears themselves: Alice only ever hears Bob and vice versa.
    assert_eq!(ha.keys().collect::<Vec<_>>(), [&2000]);
    assert_eq!(hb.keys().collect::<Vec<_>>(), [&1000]);
    // Carol hears both summed, except in a tick where one frame was late.
    assert!(hc.keys().all(|v| [1000, 2000, 3000].contains(v)), "{hc:?}");
    let both = hc.get(&3000).copied().unwrap_or(0);
    assert!(both * 2 > heard_c.len(), "mostly 3000: {hc:?}");

    // Each listener's sequence counts up from 0 with no gap.
    for heard in [&heard_a, &heard_b, &heard_c] {
        let seqs: Vec<u32> = heard.iter().map(|h| h.seq).collect();
        assert_eq!(seqs, (0..seqs.len() as u32).collect::<Vec<_>>());
    }

    // About 100 mixed frames in one second, measured from 100 ms after the
    // first (so start-up does not count).
    let start = heard_c[0].at + Duration::from_millis(100);
    let end = start + Duration::from_secs(1);
    let in_one_second = heard_c
        .iter()
        .filter(|h| h.at >= start && h.at < end)
        .count();
    println!(
        "Carol got {} mixed frames in all, {in_one_second} in one second",
        heard_c.len()
    );
    assert!(
        (90..=110).contains(&in_one_second),
        "{in_one_second} frames in one second"
    );
}

#[test]
fn a_host_mute_takes_the_source_out_of_the_mix() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let a = Media::bound(&server, &m[0]);
    let b = Media::bound(&server, &m[1]);
    let c = Media::bound(&server, &m[2]);
    let bob = m[1].id.clone();
    m[0].send(&json!({"type":"mute_participant","target_client_id":bob}));
    m[0].expect_type("participant_muted");

    let (a_id, b_id) = (m[0].id.clone(), m[1].id.clone());
    let heard_c = thread::scope(|s| {
        let lc = s.spawn(|| listen(&c));
        s.spawn(|| speak(&a, &a_id, 1000, 30));
        s.spawn(|| speak(&b, &b_id, 2000, 30));
        lc.join().unwrap()
    });
    // Carol hears Alice only; Alice, the one speaker, hears nothing, and
    // Bob hears Alice.
    assert!(!heard_c.is_empty());
    assert_eq!(histogram(&heard_c).keys().collect::<Vec<_>>(), [&1000]);
    a.expect_nothing();
    let d = b.recv();
    let (_, pcm) = audio::parse_body(udp::parse(&d).unwrap().body).unwrap();
    assert_eq!(i16::from_le_bytes([pcm[0], pcm[1]]), 1000);
}
