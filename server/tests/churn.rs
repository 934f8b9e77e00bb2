//! Churn: thousands of connect/create/join/leave cycles leave no trace — no
//! file descriptors, no memory, no meetings behind them.
//!
//! This file holds one test so that its process is alone in counting its
//! own descriptors (the server runs in-process, on its own thread).

mod support;

use std::time::{Duration, Instant};

use support::*;

const CYCLES: usize = 10_000;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// One meeting's whole life: the host creates it, a guest joins, both leave.
fn cycle(server: &lanmeet_server::ServerHandle, i: usize) {
    let mut host = create(server, &format!("host{i}"));
    let code = host.code.clone();
    let mut guest = join(server, &format!("guest{i}"), &code);
    host.expect_type("user_joined");
    guest.send(&serde_json::json!({"type": "leave"}));
    guest.expect_closed();
    host.expect_type("user_left");
    host.send(&serde_json::json!({"type": "leave"}));
    host.expect_closed();
}

#[test]
fn ten_thousand_cycles_leave_no_descriptors_or_memory_behind() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        eprintln!("skipped: needs /proc to count descriptors");
        return;
    }
    let server = start_server();
    // Warm up allocator pools and thread-local buffers before measuring.
    for i in 0..500 {
        cycle(&server, i);
    }
    let (fds_before, rss_before) = (open_fds(), rss_kb());
    let started = Instant::now();
    for i in 500..CYCLES {
        cycle(&server, i);
    }
    let elapsed = started.elapsed();
    // The server drops a closed connection when it reads the peer's EOF;
    // give its loop a moment to catch up with the last few.
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds() > fds_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (fds_after, rss_after) = (open_fds(), rss_kb());
    println!(
        "{} cycles in {:.2} s; descriptors {fds_before} -> {fds_after}; RSS {rss_before} kB -> {rss_after} kB",
        CYCLES - 500,
        elapsed.as_secs_f64()
    );
    assert!(
        fds_after <= fds_before,
        "descriptors grew: {fds_before} -> {fds_after}"
    );
    assert!(
        rss_after < rss_before + 8 * 1024,
        "memory grew by more than 8 MB: {rss_before} kB -> {rss_after} kB"
    );
}
