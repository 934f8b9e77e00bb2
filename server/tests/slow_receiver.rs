//! End-to-end: a participant that stops reading is disconnected once its
//! queue passes 8 MiB, while everyone else's chat keeps flowing in order
//! and on time (PROTOCOL.md sections 7 and 10).
//!
//! ```text
//!  Flood0..11 -- 120 private 16 kB lines each ----> Slow (never reads)
//!  Flood0 ------ screen frames every 50 ms -------> Probe, Watch (read all)
//!  Probe ------- private "probe n" every 20 ms ---> Watch (times each one)
//! ```
//!
//! Each flooder stays within the chat rate limit (a burst of 2 MiB), so it
//! takes a dozen of them to pass Slow's 8 MiB.
//!
//! Nothing here asserts a tight time: the machine running the suite may be
//! small and busy. The latencies are printed; the asserts are generous
//! bounds (Slow is cut off within 30 s and 64 MiB, no probe takes 1 s).

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use lanmeet_common::base64;
use support::*;

/// A frame this small is a control message, a probe or a notice; the flood
/// is all larger, so readers skip parsing it.
const SMALL: usize = 1024;

/// What a reader saw of the flood.
#[derive(Default)]
struct Seen {
    /// Bytes read.
    bytes: usize,
    /// The reason in `user_left` for the slow participant.
    slow_left: Option<String>,
    /// When that `user_left` came, since the epoch.
    slow_left_at: Option<Duration>,
    /// Latency of each probe, in order of arrival, with its number.
    probes: Vec<(u64, Duration)>,
}

/// Reads everything `client` gets until `done` says so; times probes
/// against `epoch`.
fn read_all(
    client: &mut Client,
    slow_id: &str,
    epoch: Instant,
    done: impl Fn(&Seen) -> bool,
) -> Seen {
    let mut seen = Seen::default();
    while !done(&seen) {
        let body = match client.next_frame(TIMEOUT) {
            Next::Frame(body) => body,
            other => panic!("reader stopped: {other:?}"),
        };
        seen.bytes += body.len();
        if body.len() >= SMALL {
            continue;
        }
        let v: Value = serde_json::from_slice(&body).unwrap();
        match v["type"].as_str().unwrap() {
            "user_left" if v["client_id"] == slow_id => {
                seen.slow_left = Some(v["reason"].as_str().unwrap().to_string());
                seen.slow_left_at = Some(epoch.elapsed());
            }
            "chat" if v["private"] == true => {
                // "probe <n> <micros since epoch when sent>" or "probe end"
                let text = v["message"].as_str().unwrap();
                let words: Vec<&str> = text.split(' ').collect();
                if let [_, n, sent] = words[..] {
                    let sent = Duration::from_micros(sent.parse().unwrap());
                    seen.probes
                        .push((n.parse().unwrap(), epoch.elapsed() - sent));
                } else {
                    seen.probes.push((u64::MAX, Duration::ZERO));
                }
            }
            _ => {}
        }
    }
    seen
}

/// Flooders: each sends a burst within the chat rate limit (2 MiB), and
/// together they queue far more than 8 MiB for Slow.
const FLOODERS: usize = 12;

/// Private lines each flooder sends to Slow: 120 of 16 000 bytes.
const LINES_EACH: usize = 120;

#[test]
fn a_reader_that_falls_behind_is_cut_off_and_the_others_keep_flowing() {
    let server = start_server();
    let names: Vec<String> = (0..FLOODERS)
        .map(|k| format!("Flood{k}"))
        .chain(["Probe".to_string(), "Watch".to_string()])
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut m = meeting(&server, &names);
    let mut slow = Client::connect_with_receive_buffer(&server, 4096);
    slow.send(&join_request("Slow", &m[0].code.clone()));
    let slow_id = slow.expect_type("join_success")["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    for member in &mut m {
        member.expect_type("user_joined");
    }
    // Flood0 presents, so Probe and Watch read a flood of screen frames.
    m[0].send(&json!({"type":"request_screen_share"}));
    for member in &mut m {
        member.expect_type("screen_share_started");
    }
    let mut watch = m.pop().unwrap();
    let mut probe = m.pop().unwrap();
    let mut flooders = m;
    let watch_id = watch.id.clone();

    let epoch = Instant::now();
    let stop = AtomicBool::new(false);
    // 4000 four-byte characters: 16 000 bytes, the longest line there is.
    let line = json!({"type":"chat","message":"\u{1F600}".repeat(4000),"to":slow_id});
    let screen = json!({"type":"screen_frame","frame_data":base64::encode(&[7u8; 150_000]),
                        "width":1920,"height":1080});

    let mut probe_out = probe.client.try_clone();
    let (watch_seen, probe_seen, flood_bytes) = thread::scope(|s| {
        // Watch times the probes; Probe drains the screen frames it gets too.
        let slow_id = slow_id.as_str();
        let watcher = s.spawn(|| {
            read_all(&mut watch.client, slow_id, epoch, |seen| {
                seen.slow_left.is_some() && seen.probes.last().is_some_and(|p| p.0 == u64::MAX)
            })
        });
        let drainer = s.spawn(|| {
            read_all(&mut probe.client, slow_id, epoch, |seen| {
                seen.slow_left.is_some()
            })
        });
        let (stop, watch_id) = (&stop, watch_id.as_str());
        s.spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Acquire) {
                let text = format!("probe {n} {}", epoch.elapsed().as_micros());
                probe_out.send(&json!({"type":"chat","message":text,"to":watch_id}));
                n += 1;
                thread::sleep(Duration::from_millis(20));
            }
            probe_out.send(&json!({"type":"chat","message":"probe end","to":watch_id}));
        });
        let (presenter, others) = flooders.split_first_mut().unwrap();
        let mut out = presenter.client.try_clone();
        let (line, screen) = (&line, &screen);
        s.spawn(move || {
            while !stop.load(Ordering::Acquire) {
                out.send(screen);
                thread::sleep(Duration::from_millis(50));
            }
        });
        let senders: Vec<_> = others
            .iter()
            .chain([&*presenter])
            .map(|f| {
                let mut out = f.client.try_clone();
                s.spawn(move || {
                    for _ in 0..LINES_EACH {
                        out.send(line);
                    }
                    LINES_EACH * 16_000
                })
            })
            .collect();
        let bytes: usize = senders.into_iter().map(|t| t.join().unwrap()).sum();
        // Probe's reader ends when Slow is gone; then the probes stop, and
        // Watch's reader ends at the last one.
        let probe_seen = drainer.join().unwrap();
        stop.store(true, Ordering::Release);
        (watcher.join().unwrap(), probe_seen, bytes)
    });

    println!(
        "Slow cut off after {:?} and {} MiB sent to it; Watch read {} MiB, Probe {} MiB",
        watch_seen.slow_left_at,
        flood_bytes >> 20,
        watch_seen.bytes >> 20,
        probe_seen.bytes >> 20
    );
    assert_eq!(watch_seen.slow_left.as_deref(), Some("error"));
    assert_eq!(probe_seen.slow_left.as_deref(), Some("error"));

    // Every probe arrived, in order, none late by a second.
    let probes = &watch_seen.probes[..watch_seen.probes.len() - 1];
    let numbers: Vec<u64> = probes.iter().map(|p| p.0).collect();
    assert_eq!(numbers, (0..probes.len() as u64).collect::<Vec<_>>());
    let mut latencies: Vec<Duration> = probes.iter().map(|p| p.1).collect();
    latencies.sort();
    if !latencies.is_empty() {
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        println!(
            "{} probes: p50 {:?}, p99 {:?}, max {:?}",
            latencies.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
        assert!(
            at(1.0) < Duration::from_secs(1),
            "a probe took {:?}",
            at(1.0)
        );
    }

    // The server closed Slow's connection (what it holds may end mid-frame).
    let held = slow.drain_until_closed(TIMEOUT);
    println!("Slow still had {} KiB to read", held >> 10);
    // And everyone else is still in the meeting; no flooder went over the
    // chat rate limit (each sent one burst within it).
    for f in &mut flooders {
        f.send(&json!({"type":"ping"}));
        loop {
            match f.next_frame(TIMEOUT) {
                Next::Frame(body) if body.len() >= SMALL => {}
                Next::Frame(body) => {
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    assert_ne!(v["code"], "rate_limited", "{v}");
                    if v["type"] == "pong" {
                        break;
                    }
                }
                other => panic!("no pong: {other:?}"),
            }
        }
    }
    pong_after_the_flood(&mut probe);
    pong_after_the_flood(&mut watch);
}

/// Sends a ping and reads up to its pong, skipping the tail of the flood;
/// nothing small may come before the pong.
fn pong_after_the_flood(client: &mut Client) {
    client.send(&json!({"type":"ping"}));
    loop {
        match client.next_frame(TIMEOUT) {
            Next::Frame(body) if body.len() >= SMALL => {}
            Next::Frame(body) => {
                let v: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(v["type"], "pong", "{v}");
                return;
            }
            other => panic!("no pong: {other:?}"),
        }
    }
}
