//! Socket setup that std and mio leave at OS defaults: large UDP buffers,
//! and enough file descriptors for every connection the server allows.
//!
//! A video frame arrives as a burst of up to 256 datagrams and the relay
//! fans each out to every other participant; with the default buffers
//! (about 200 KB on Linux) a burst from a few senders overflows before the
//! loop's next turn. Several megabytes absorb it. The kernel may cap the
//! size (`net.core.rmem_max`); the sizes obtained are logged.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use socket2::SockRef;

use crate::log::Logger;

/// Bytes asked for each UDP socket buffer.
pub const UDP_BUFFER_BYTES: usize = 8 * 1024 * 1024;

/// Binds the media socket, non-blocking, with large buffers.
pub fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(addr)?;
    let sock = SockRef::from(&socket);
    // Best effort: a capped buffer still works, only with less headroom.
    let _ = sock.set_recv_buffer_size(UDP_BUFFER_BYTES);
    let _ = sock.set_send_buffer_size(UDP_BUFFER_BYTES);
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Logs the buffer sizes the kernel granted.
pub fn log_udp_buffers(socket: &mio::net::UdpSocket, logger: &mut Logger) {
    let sock = SockRef::from(socket);
    let recv = sock.recv_buffer_size().unwrap_or(0);
    let send = sock.send_buffer_size().unwrap_or(0);
    logger.line(&format!(
        "udp buffers: receive {recv} bytes, send {send} bytes"
    ));
}

/// Descriptors the server needs besides its connections: the listener,
/// the UDP socket, the poller, its waker, the log file, and a margin.
pub const RESERVED_FDS: u64 = 32;

/// Raises the soft limit on open files to the hard limit (the default soft
/// limit, often 1024, is below the 1024 connections the server allows plus
/// its own descriptors: `accept` would fail before `server_full` could be
/// sent). Returns the soft limit now in force.
#[cfg(unix)]
pub fn raise_open_files_limit() -> io::Result<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let wanted = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    if limit.current != limit.maximum {
        setrlimit(Resource::Nofile, wanted).map_err(io::Error::from)?;
    }
    let now = getrlimit(Resource::Nofile);
    Ok(now.current.unwrap_or(u64::MAX))
}

/// Elsewhere the limit is left as it is.
#[cfg(not(unix))]
pub fn raise_open_files_limit() -> io::Result<u64> {
    Ok(u64::MAX)
}
