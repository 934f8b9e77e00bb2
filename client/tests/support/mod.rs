//! Helpers shared by the end-to-end tests: an in-process server on port 0,
//! sessions with short timeouts, an event recorder that waits for a
//! matching event (and for the media path to work), unique temporary
//! folders, the client binary's stdout read on a thread, and a Goertzel
//! tone detector.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lanmeet_client::{Config, Event, MediaPath, Session};
use lanmeet_server::{spawn, ServerHandle};

/// A server on loopback with ephemeral ports and no log.
pub fn server() -> ServerHandle {
    server_with(|_| {})
}

/// A server with a tweaked configuration.
pub fn server_with(tweak: impl FnOnce(&mut lanmeet_server::Config)) -> ServerHandle {
    let mut config = lanmeet_server::Config {
        bind: "127.0.0.1".parse().expect("a valid address literal"),
        port: 0,
        log_dir: None,
        ..Default::default()
    };
    tweak(&mut config);
    spawn(config).expect("the test server binds to port 0")
}

/// A folder under the system temp dir, unique per call, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "lanmeet-test-{label}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("temp dir is writable");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names of the files in the folder, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test configuration: short liveness timers, downloads into `dir`.
pub fn config(server: &ServerHandle, name: &str, code: Option<&str>, dir: &Path) -> Config {
    let addr = server.tcp_addr();
    let mut c = match code {
        None => Config::create(&addr.ip().to_string(), addr.port(), name),
        Some(code) => Config::join(&addr.ip().to_string(), addr.port(), name, code),
    };
    c.download_dir = dir.to_path_buf();
    c.hello_interval = Duration::from_millis(500);
    c.connect_timeout = Duration::from_secs(5);
    c
}

/// A session and a recorder of its events.
pub struct Client {
    pub session: Session,
    pub events: Events,
}

impl Client {
    pub fn id(&self) -> String {
        self.session.identity().client_id.clone()
    }

    pub fn code(&self) -> String {
        self.session.identity().meeting_code.clone()
    }
}

/// Connects with `config` and waits for the Joined event.
pub fn connect(config: Config) -> Client {
    let (session, rx) = Session::connect(config).expect("the session joins");
    let mut events = Events::new(rx);
    events.wait(|e| matches!(e, Event::Joined { .. }), "the joined event");
    Client { session, events }
}

/// Creates a meeting on `server` as `name`.
pub fn create(server: &ServerHandle, name: &str, dir: &Path) -> Client {
    connect(config(server, name, None, dir))
}

/// Joins `code` on `server` as `name`.
pub fn join(server: &ServerHandle, name: &str, code: &str, dir: &Path) -> Client {
    connect(config(server, name, Some(code), dir))
}

/// Waits until `c`'s media path works: the server has answered one of its
/// UDP hellos, so it has bound the client's UDP address. Media sent or
/// relayed before that is dropped (an unbound sender) or not sent at all
/// (an unbound receiver), so a test that counts frames or samples starts
/// its count only once every client concerned has passed this.
pub fn wait_media_ok(c: &mut Client) {
    c.events.wait(
        |e| {
            matches!(
                e,
                Event::MediaPath {
                    state: MediaPath::Ok
                }
            )
        },
        "the media path to work",
    );
}

/// Default time a test waits for one event.
pub const WAIT: Duration = Duration::from_secs(10);

/// Every event a session sent, with a way to wait for a particular one.
pub struct Events {
    rx: Receiver<Event>,
    pub seen: Vec<Event>,
    /// Which of `seen` a `wait` already returned.
    taken: Vec<bool>,
}

impl Events {
    pub fn new(rx: Receiver<Event>) -> Events {
        Events {
            rx,
            seen: Vec::new(),
            taken: Vec::new(),
        }
    }

    /// Takes whatever has arrived, without waiting.
    pub fn drain(&mut self) {
        while let Ok(e) = self.rx.try_recv() {
            self.seen.push(e);
        }
    }

    /// Waits (up to `WAIT`) for the first event that satisfies `pred` and
    /// that no earlier `wait` returned; panics with the events seen on
    /// timeout.
    pub fn wait(&mut self, pred: impl Fn(&Event) -> bool, what: &str) -> Event {
        self.wait_for(WAIT, pred, what)
            .unwrap_or_else(|| panic!("timed out waiting for {what}; saw {:#?}", self.tail()))
    }

    /// Like `wait` but returns `None` on timeout.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Event) -> bool,
        _what: &str,
    ) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        loop {
            self.taken.resize(self.seen.len(), false);
            if let Some(i) = (0..self.seen.len()).find(|&i| !self.taken[i] && pred(&self.seen[i])) {
                self.taken[i] = true;
                return Some(self.seen[i].clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left) {
                Ok(e) => self.seen.push(e),
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(left.min(Duration::from_millis(50)));
                    if Instant::now() >= deadline {
                        return None;
                    }
                }
            }
        }
    }

    /// Collects events for `d`.
    pub fn collect_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(e) => self.seen.push(e),
                Err(_) => break,
            }
        }
    }

    /// The last few events, for failure messages (video frames left out).
    fn tail(&self) -> Vec<&Event> {
        let interesting: Vec<&Event> = self
            .seen
            .iter()
            .filter(|e| !matches!(e, Event::VideoFrame { .. } | Event::TransferProgress { .. }))
            .collect();
        interesting[interesting.len().saturating_sub(30)..].to_vec()
    }
}

/// Reads the piped stdout of `child` (the client binary) to its end on a
/// thread of its own, so that the binary never blocks on a full pipe while
/// the test waits for other things; the thread returns the lines.
pub fn read_stdout_lines(child: &mut Child) -> JoinHandle<Vec<String>> {
    let stdout = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect()
    })
}

/// Whether a window test must skip for want of a display, and if so says
/// why on stderr. `make test` runs the tests under Xvfb
/// (`scripts/with-test-services.sh`); a plain `cargo test` on a machine
/// without one passes such a test without running it.
pub fn skipped_without_display(test: &str) -> bool {
    if std::env::var_os("DISPLAY").is_some() {
        return false;
    }
    eprintln!(
        "{test} skipped: DISPLAY is not set (run it under \
         scripts/with-test-services.sh, as `make test` does)"
    );
    true
}

/// Power of `freq` in `samples` (Goertzel).
pub fn tone_power(samples: &[i16], rate: f64, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len().max(1) as f64).powi(2)
}

/// The strongest frequency between `lo` and `hi` Hz, in 1 Hz steps.
pub fn dominant_frequency(samples: &[i16], rate: f64, lo: f64, hi: f64) -> f64 {
    let mut best = (lo, 0.0);
    let mut f = lo;
    while f <= hi {
        let p = tone_power(samples, rate, f);
        if p > best.1 {
            best = (f, p);
        }
        f += 1.0;
    }
    best.0
}

/// Root mean square of `samples`.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Writes `size` bytes of a deterministic pseudo-random stream to `path`
/// (streamed, never all in memory) and returns their SHA-256 in hex.
pub fn write_test_file(path: &Path, size: u64, seed: u64) -> String {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create test file"));
    let mut hasher = lanmeet_common::sha256::Sha256::new();
    let mut x = seed | 1;
    let mut left = size;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bytes = x.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        file.write_all(&buf[..n]).expect("write test file");
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    file.flush().expect("flush test file");
    hasher.finish_hex()
}

/// SHA-256 of a file in hex.
pub fn file_sha256(path: &Path) -> String {
    use std::io::Read;
    let mut file = std::fs::File::open(path).expect("open file");
    let mut hasher = lanmeet_common::sha256::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).expect("read file");
        if n == 0 {
            return hasher.finish_hex();
        }
        hasher.update(&buf[..n]);
    }
}
