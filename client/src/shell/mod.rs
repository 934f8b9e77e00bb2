//! The shell: sockets, threads and the session a front end holds. The
//! only part of the session with `Arc`, `Mutex` and `thread::spawn`.
//!
//! ```text
//!  session.rs   Session: connect and the handshake, the methods
//!  config.rs    Config, Identity
//!  threads.rs   Shared and drive(): inputs into the core, outputs carried
//!               out; the reader, timer, sender and playout threads;
//!               the one shutdown path
//!  tcp.rs       FrameReader and the one writer
//!  decode.rs    the decode queue, its thread, the latest-frame slots
//!  files.rs     the disk side of transfers (part files, reads, hashing)
//!  stop.rs      the stop signal paced threads sleep on
//!  log.rs       the session log
//! ```
//!
//! The shell makes no decision about the meeting: it moves bytes between
//! sockets, devices, files and the core, and the core
//! ([`crate::core::ClientCore`]) decides.

mod config;
mod decode;
pub(crate) mod files;
mod handshake;
pub mod log;
mod reconnect;
pub(crate) mod session;
mod stop;
mod tcp;
mod threads;
