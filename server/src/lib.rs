//! The lanmeet server: meetings on one mio loop.
//!
//! - [`core`]: the meeting logic as a state machine without I/O;
//! - [`shell`]: the mio loop that feeds it socket events and time;
//! - [`turn`]: one UDP turn of that loop, budgeted so the mixer is on time;
//! - [`outbound`]: each connection's queue, so no write blocks the loop;
//! - [`socket`], [`log`], [`rng`]: setup, the log file, randomness;
//! - [`cli`]: command-line options.
//!
//! [`spawn`] runs a server on a thread (tests and benchmarks use it with
//! port 0); the `lanmeet-server` binary runs one in the foreground, and its
//! Ctrl-C goes through a [`Stopper`]. Either way a stop ends the meetings
//! in progress, writing their attendance, before the loop returns.

#![forbid(unsafe_code)]

pub mod cli;
pub mod core;
pub mod log;
pub mod outbound;
pub mod rng;
pub mod shell;
pub mod socket;
pub mod turn;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use lanmeet_common::limits;

/// How a server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (all interfaces by default).
    pub bind: IpAddr,
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// UDP port; `None` means `port + 1` (or a free one when `port` is 0).
    pub udp_port: Option<u16>,
    /// Largest datagram, announced to clients.
    pub max_datagram: usize,
    /// Where log files go; `None` writes no log.
    pub log_dir: Option<PathBuf>,
    /// Participants in one meeting.
    pub max_participants: usize,
    /// Connections on the server.
    pub max_connections: usize,
    /// Bytes all connections together may hold of frames not yet whole;
    /// past it the newest connection holding one is refused.
    pub max_incomplete_bytes: usize,
    /// Connections from one address still in the handshake.
    pub max_handshakes_per_address: usize,
    /// A connection silent this long is closed (30 s in the protocol;
    /// tests shorten it).
    pub idle_timeout: std::time::Duration,
    /// The name discovery answers give (section 18); `None`: the host name.
    pub name: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: limits::DEFAULT_TCP_PORT,
            udp_port: None,
            max_datagram: limits::DEFAULT_MAX_DATAGRAM,
            log_dir: Some(PathBuf::from("logs/server")),
            max_participants: limits::MAX_PARTICIPANTS,
            max_connections: limits::MAX_CONNECTIONS,
            max_incomplete_bytes: limits::DEFAULT_MAX_INCOMPLETE_BYTES,
            max_handshakes_per_address: limits::MAX_HANDSHAKES_PER_ADDRESS,
            idle_timeout: std::time::Duration::from_secs(limits::IDLE_TIMEOUT_SECS),
            name: None,
        }
    }
}

/// This machine's host name, the default `--name` (section 18): read
/// from the kernel, or "lanmeet" where that is not possible.
pub fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().chars().take(64).collect::<String>())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "lanmeet".to_string())
}

/// A server whose sockets are bound, ready to run.
pub struct Server {
    shell: shell::Shell,
    tcp_addr: SocketAddr,
    udp_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
}

impl Server {
    /// Binds the TCP listener and the UDP socket.
    pub fn bind(config: Config) -> io::Result<Server> {
        let listener = mio::net::TcpListener::bind(SocketAddr::new(config.bind, config.port))?;
        let tcp_addr = listener.local_addr()?;
        let udp_port = match config.udp_port {
            Some(p) => p,
            None if tcp_addr.port() == 0 || config.port == 0 => 0,
            None => tcp_addr.port().checked_add(1).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "no UDP port after 65535; give --udp-port",
                )
            })?,
        };
        let udp = socket::bind_udp(SocketAddr::new(config.bind, udp_port))?;
        let udp_addr = udp.local_addr()?;
        let poll = mio::Poll::new()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), shell::WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let core_config = core::CoreConfig {
            udp_port: udp_addr.port(),
            max_datagram: config.max_datagram,
            max_participants: config.max_participants,
            max_connections: config.max_connections,
            max_handshakes_per_address: config.max_handshakes_per_address,
            idle_timeout: config.idle_timeout,
            server_name: config.name.clone().unwrap_or_else(host_name),
            tcp_port: tcp_addr.port(),
        };
        let shell = shell::Shell::new(
            poll,
            listener,
            mio::net::UdpSocket::from_std(udp),
            core_config,
            config.log_dir,
            config.max_incomplete_bytes,
            stop.clone(),
        );
        Ok(Server {
            shell,
            tcp_addr,
            udp_addr,
            stop,
            waker,
        })
    }

    /// The TCP address clients connect to.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// The UDP address media goes to.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// What stops this server from another thread (a signal handler's).
    pub fn stopper(&self) -> Stopper {
        Stopper {
            stop: self.stop.clone(),
            waker: self.waker.clone(),
        }
    }

    /// Runs the loop on this thread until stopped.
    pub fn run(self) -> io::Result<()> {
        self.shell.run()
    }
}

/// Stops a running server: its loop ends the meetings in progress (each
/// writes its attendance) and returns.
#[derive(Clone)]
pub struct Stopper {
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
}

impl Stopper {
    /// Asks the loop to stop; it does so within one turn.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

/// A server running on its own thread; stopping or dropping it ends it.
pub struct ServerHandle {
    tcp_addr: SocketAddr,
    udp_addr: SocketAddr,
    stopper: Stopper,
    thread: Option<JoinHandle<io::Result<()>>>,
}

/// Binds and runs a server on a new thread.
pub fn spawn(config: Config) -> io::Result<ServerHandle> {
    let server = Server::bind(config)?;
    let (tcp_addr, udp_addr) = (server.tcp_addr, server.udp_addr);
    let stopper = server.stopper();
    let thread = std::thread::Builder::new()
        .name("lanmeet-server".into())
        .spawn(move || server.run())?;
    Ok(ServerHandle {
        tcp_addr,
        udp_addr,
        stopper,
        thread: Some(thread),
    })
}

impl ServerHandle {
    /// The TCP address clients connect to.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// The UDP address media goes to.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// Stops the loop and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopper.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
