//! The shell: sockets, threads and the session a front end holds. The
//! only part of the session with `Arc`, `Mutex` and `thread::spawn`.
//!
//! ```text
//!  session.rs   Session: connect, the threads, the methods
//!  handshake.rs the first frame and the join reply (join and resume)
//!  config.rs    Config, Identity
//!  threads.rs   Shared and drive(): inputs into the core, outputs carried
//!               out; timer, sender and playout threads; reading one
//!               connection; the one shutdown path
//!  reconnect.rs the TCP reader loop that resumes after a drop, and the
//!               one writer, which outlives a connection
//!  tcp.rs       FrameReader, the writer's Outgoing
//!  decode.rs    the decode queue, its thread, the latest-frame slots
//!  files.rs     the disk side of transfers (part files, reads, hashing)
//!  stop.rs      the stop signal paced threads sleep on
//!  log.rs       the session log
//!  classroom.rs polls, attendance, spotlight: the Session's methods
//!  discovery.rs finding servers on the LAN (UDP probes, no session)
//!  voice.rs     the echo reference and switches the playout and sender share
//! ```
//!
//! The shell makes no decision about the meeting: it moves bytes between
//! sockets, devices, files and the core, and the core
//! ([`crate::core::ClientCore`]) decides.

mod classroom;
mod config;
mod decode;
pub mod discovery;
pub(crate) mod files;
mod handshake;
pub mod log;
mod reconnect;
mod screen;
pub(crate) mod session;
mod stop;
mod tcp;
mod threads;
mod voice;
