//! A lossy network on loopback: a relay between clients and a server that
//! drops, delays, jitters and reorders UDP datagrams, in both directions,
//! from a seeded random generator so that a run can be repeated.
//!
//! ```text
//!  client --TCP--> 127.0.0.2:T  ==== copied untouched ====>  server TCP
//!  client --UDP--> 127.0.0.2:U  -- up: Impairment -------->  server UDP (127.0.0.1:U)
//!  client <--UDP-- 127.0.0.2:U  <-- down: Impairment ------  one socket per client
//! ```
//!
//! A client learns the UDP port from the join reply and sends to that
//! port at the address it reached over TCP. So the relay listens on a
//! second loopback address (Linux routes all of 127/8 to `lo`), forwards
//! TCP as it is, and binds its UDP socket to the server's port number on
//! that address: the client, pointed at the relay, needs no option and
//! the server sees each client as one relay socket. This kernel has no
//! netem; this is the user-space stand-in.
//!
//! Loss follows the Gilbert-Elliott model: a good state that delivers and
//! a bad state that drops, with `p` the chance of going bad and `r` the
//! chance of recovering per datagram. The mean burst is `1/r` datagrams
//! and the loss rate `p/(p+r)`; with `r = 1 - p` the state has no memory
//! and losses are independent. The file is plain std so that both the
//! bench and the client's tests (`#[path]`) use it.

#![allow(dead_code)] // the bench and the tests use different parts

use std::io::{self, ErrorKind};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The loopback address the relay listens on (the server is on 127.0.0.1).
pub const RELAY_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// What happens to the datagrams of one direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// Chance that a delivered datagram is followed by a loss (good to bad).
    pub p: f64,
    /// Chance that a lost datagram is followed by a delivery (bad to good).
    pub r: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay, uniform between zero and this. Datagrams keep their
    /// order unless `reorder` says otherwise.
    pub jitter: Duration,
    /// Chance that a datagram is held back by `reorder_by` and overtaken.
    pub reorder: f64,
    /// How long a reordered datagram is held back.
    pub reorder_by: Duration,
}

impl Impairment {
    /// A perfect link.
    pub const NONE: Impairment = Impairment {
        p: 0.0,
        r: 1.0,
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        reorder: 0.0,
        reorder_by: Duration::ZERO,
    };

    /// Independent losses at `rate` (0..1).
    pub fn random_loss(rate: f64) -> Impairment {
        Impairment {
            p: rate,
            r: 1.0 - rate,
            ..Impairment::NONE
        }
    }

    /// Losses at `rate` in bursts of `mean_burst` datagrams on average.
    pub fn bursty_loss(rate: f64, mean_burst: f64) -> Impairment {
        let r = 1.0 / mean_burst.max(1.0);
        Impairment {
            p: rate * r / (1.0 - rate),
            r,
            ..Impairment::NONE
        }
    }

    /// The same with a uniform extra delay of up to `jitter`.
    pub fn with_jitter(self, jitter: Duration) -> Impairment {
        Impairment { jitter, ..self }
    }

    /// The same with a fixed delay.
    pub fn with_delay(self, delay: Duration) -> Impairment {
        Impairment { delay, ..self }
    }

    /// The same with a share of datagrams held back by `by`.
    pub fn with_reorder(self, chance: f64, by: Duration) -> Impairment {
        Impairment {
            reorder: chance,
            reorder_by: by,
            ..self
        }
    }
}

/// A small seeded generator (xorshift64*), good enough for loss rolls.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One direction's state: the loss chain, the generator, the last
/// delivery time (to keep order under jitter) and counters.
pub struct Channel {
    pub impairment: Impairment,
    rng: Rng,
    bad: bool,
    last_due: Option<Instant>,
    pub passed: u64,
    pub dropped: u64,
}

impl Channel {
    pub fn new(impairment: Impairment, seed: u64) -> Channel {
        Channel {
            impairment,
            rng: Rng::new(seed),
            bad: false,
            last_due: None,
            passed: 0,
            dropped: 0,
        }
    }

    /// When a datagram that arrives at `now` is to be delivered, or
    /// `None` if it is lost.
    pub fn schedule(&mut self, now: Instant) -> Option<Instant> {
        let i = self.impairment;
        let roll = self.rng.next_f64();
        self.bad = if self.bad { roll >= i.r } else { roll < i.p };
        if self.bad {
            self.dropped += 1;
            return None;
        }
        self.passed += 1;
        let mut due = now + i.delay + i.jitter.mul_f64(self.rng.next_f64());
        if self.rng.next_f64() < i.reorder {
            return Some(due + i.reorder_by);
        }
        if let Some(last) = self.last_due {
            due = due.max(last);
        }
        self.last_due = Some(due);
        Some(due)
    }
}

/// Where a held datagram goes.
enum Dest {
    Server(Arc<UdpSocket>),
    Client(SocketAddr),
}

struct Held {
    due: Instant,
    dest: Dest,
    bytes: Vec<u8>,
}

/// Datagrams waiting for their delivery time.
struct Queue {
    held: Mutex<Vec<Held>>,
    wake: Condvar,
}

/// Counters of one relay, for reports.
#[derive(Debug, Default, Clone, Copy)]
pub struct RelayStats {
    pub up_passed: u64,
    pub up_dropped: u64,
    pub down_passed: u64,
    pub down_dropped: u64,
}

/// A running relay; stops its threads on drop.
pub struct Relay {
    tcp_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    queue: Arc<Queue>,
    up: Arc<Mutex<Channel>>,
    down: Arc<Mutex<Channel>>,
    tcp_connections: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Starts a relay in front of a server at `server_tcp` and
    /// `server_udp` (both on loopback). Clients connect to
    /// [`Relay::tcp_addr`]. `up` applies to client-to-server datagrams,
    /// `down` to server-to-client ones.
    pub fn start(
        server_tcp: SocketAddr,
        server_udp: SocketAddr,
        up: Impairment,
        down: Impairment,
        seed: u64,
    ) -> io::Result<Relay> {
        let ip = IpAddr::V4(RELAY_IP);
        let listener = TcpListener::bind(SocketAddr::new(ip, 0))?;
        listener.set_nonblocking(true)?;
        let front = Arc::new(UdpSocket::bind(SocketAddr::new(ip, server_udp.port()))?);
        front.set_read_timeout(Some(Duration::from_millis(20)))?;
        let relay = Relay {
            tcp_addr: listener.local_addr()?,
            stop: Arc::new(AtomicBool::new(false)),
            queue: Arc::new(Queue {
                held: Mutex::new(Vec::new()),
                wake: Condvar::new(),
            }),
            up: Arc::new(Mutex::new(Channel::new(up, seed))),
            down: Arc::new(Mutex::new(Channel::new(down, seed ^ 0x5DEE_CE66))),
            tcp_connections: Arc::new(AtomicU64::new(0)),
            threads: Vec::new(),
        };
        let mut relay = relay;
        let stop = relay.stop.clone();
        let count = relay.tcp_connections.clone();
        relay.threads.push(thread::spawn(move || {
            accept_loop(listener, server_tcp, stop, count)
        }));
        let (stop, queue, up, down) = (
            relay.stop.clone(),
            relay.queue.clone(),
            relay.up.clone(),
            relay.down.clone(),
        );
        let f = front.clone();
        relay.threads.push(thread::spawn(move || {
            udp_front(f, server_udp, stop, queue, up, down)
        }));
        let (stop, queue) = (relay.stop.clone(), relay.queue.clone());
        relay
            .threads
            .push(thread::spawn(move || deliver(front, stop, queue)));
        Ok(relay)
    }

    /// The address clients connect to (TCP; UDP follows on the same IP).
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// Datagrams passed and dropped so far.
    pub fn stats(&self) -> RelayStats {
        let up = lock(&self.up);
        let down = lock(&self.down);
        RelayStats {
            up_passed: up.passed,
            up_dropped: up.dropped,
            down_passed: down.passed,
            down_dropped: down.dropped,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.queue.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Accepts TCP connections and copies each both ways to the server.
fn accept_loop(
    listener: TcpListener,
    server: SocketAddr,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                let Ok(upstream) = TcpStream::connect(server) else {
                    continue;
                };
                count.fetch_add(1, Ordering::Relaxed);
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                if let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) {
                    // Detached: each copy ends when either side closes.
                    thread::spawn(move || copy_then_close(client, upstream));
                    thread::spawn(move || copy_then_close(u2, c2));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(10)),
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn copy_then_close(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// Reads datagrams from clients, gives each client its own socket towards
/// the server (with a thread reading the server's answers), and queues
/// both directions through their impairment.
fn udp_front(
    front: Arc<UdpSocket>,
    server: SocketAddr,
    stop: Arc<AtomicBool>,
    queue: Arc<Queue>,
    up: Arc<Mutex<Channel>>,
    down: Arc<Mutex<Channel>>,
) {
    let mut clients: Vec<(SocketAddr, Arc<UdpSocket>)> = Vec::new();
    let mut readers = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        let (n, from) = match front.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => continue, // timeout: check the stop flag
        };
        let socket = match clients.iter().find(|(a, _)| *a == from) {
            Some((_, s)) => s.clone(),
            None => {
                let Ok(s) = UdpSocket::bind(SocketAddr::new(server.ip(), 0)) else {
                    continue;
                };
                if s.connect(server).is_err()
                    || s.set_read_timeout(Some(Duration::from_millis(20))).is_err()
                {
                    continue;
                }
                let s = Arc::new(s);
                clients.push((from, s.clone()));
                let (s2, stop2, queue2, down2) =
                    (s.clone(), stop.clone(), queue.clone(), down.clone());
                readers.push(thread::spawn(move || {
                    udp_back(s2, from, stop2, queue2, down2)
                }));
                s
            }
        };
        let due = lock(&up).schedule(Instant::now());
        if let Some(due) = due {
            hold(&queue, due, Dest::Server(socket), buf[..n].to_vec());
        }
    }
    for r in readers {
        let _ = r.join();
    }
}

/// Reads the server's datagrams for one client.
fn udp_back(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    stop: Arc<AtomicBool>,
    queue: Arc<Queue>,
    down: Arc<Mutex<Channel>>,
) {
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        let Ok(n) = socket.recv(&mut buf) else {
            continue;
        };
        let due = lock(&down).schedule(Instant::now());
        if let Some(due) = due {
            hold(&queue, due, Dest::Client(client), buf[..n].to_vec());
        }
    }
}

fn hold(queue: &Queue, due: Instant, dest: Dest, bytes: Vec<u8>) {
    lock(&queue.held).push(Held { due, dest, bytes });
    queue.wake.notify_one();
}

/// Sends each held datagram when its time comes.
fn deliver(front: Arc<UdpSocket>, stop: Arc<AtomicBool>, queue: Arc<Queue>) {
    let mut held = lock(&queue.held);
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        // Send everything due, earliest first.
        while let Some(i) = (0..held.len())
            .filter(|&i| held[i].due <= now)
            .min_by_key(|&i| held[i].due)
        {
            let h = held.swap_remove(i);
            let _ = match &h.dest {
                Dest::Server(s) => s.send(&h.bytes),
                Dest::Client(addr) => front.send_to(&h.bytes, addr),
            };
        }
        let wait = held
            .iter()
            .map(|h| h.due.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::from_millis(50));
        held = queue
            .wake
            .wait_timeout(held, wait)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss_pattern(imp: Impairment, n: usize) -> Vec<bool> {
        let mut c = Channel::new(imp, 7);
        let now = Instant::now();
        (0..n).map(|_| c.schedule(now).is_none()).collect()
    }

    #[test]
    fn random_loss_has_the_rate_and_short_bursts() {
        let lost = loss_pattern(Impairment::random_loss(0.02), 200_000);
        let rate = lost.iter().filter(|&&l| l).count() as f64 / lost.len() as f64;
        assert!((rate - 0.02).abs() < 0.003, "{rate}");
        assert!((mean_burst(&lost) - 1.0 / 0.98).abs() < 0.05);
    }

    #[test]
    fn bursty_loss_has_the_rate_and_the_mean_burst() {
        let lost = loss_pattern(Impairment::bursty_loss(0.02, 3.0), 400_000);
        let rate = lost.iter().filter(|&&l| l).count() as f64 / lost.len() as f64;
        assert!((rate - 0.02).abs() < 0.004, "{rate}");
        assert!(
            (mean_burst(&lost) - 3.0).abs() < 0.3,
            "{}",
            mean_burst(&lost)
        );
    }

    #[test]
    fn same_seed_same_run_and_order_kept_under_jitter() {
        let imp = Impairment::random_loss(0.1).with_jitter(Duration::from_millis(20));
        assert_eq!(loss_pattern(imp, 1000), loss_pattern(imp, 1000));
        let mut c = Channel::new(imp, 3);
        let t0 = Instant::now();
        let dues: Vec<Instant> = (0..1000)
            .filter_map(|i| c.schedule(t0 + Duration::from_millis(i * 10)))
            .collect();
        assert!(dues.windows(2).all(|w| w[0] <= w[1]));
        assert!(dues.iter().any(|d| *d > t0 + Duration::from_millis(5)));
    }

    fn mean_burst(lost: &[bool]) -> f64 {
        let (mut bursts, mut in_burst) = (0, false);
        for &l in lost {
            if l && !in_burst {
                bursts += 1;
            }
            in_burst = l;
        }
        lost.iter().filter(|&&l| l).count() as f64 / bursts.max(1) as f64
    }
}
