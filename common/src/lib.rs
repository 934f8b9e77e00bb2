//! The lanmeet wire protocol, version 1, and nothing else.
//!
//! In scope: the bytes that cross the network and the rules on them.
//! - [`framing`]: the 4-byte length prefix of every TCP frame;
//! - [`message`]: every JSON control message, one enum per direction;
//! - [`udp`]: the header of every UDP datagram;
//! - [`video`]: cutting a JPEG frame into datagrams and gluing it back;
//! - [`audio`]: the 10 ms, 48 kHz mono s16le audio frame;
//! - [`nack`]: the `'N'` datagram that asks for lost video fragments (section 13);
//! - [`limits`]: every number the protocol fixes;
//! - [`base64`], [`sha256`]: the encodings the messages carry;
//! - [`filename`]: the receiver's rule for the names in file offers;
//! - [`time`]: protocol timestamps and log file names;
//! - [`discovery`]: the LAN probe and its answer (section 18);
//! - [`csv`]: the attendance and poll results files (sections 15-16).
//!
//! Out of scope: sockets, threads, clocks you cannot pass in. The server and
//! the client do the I/O and depend on this crate; it depends on neither.
//! `PROTOCOL.md` in `docs/` describes the same contract in prose.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audio;
pub mod base64;
pub mod csv;
pub mod discovery;
pub mod features;
pub mod filename;
pub mod framing;
pub mod limits;
pub mod message;
pub mod nack;
pub mod sha256;
pub mod time;
pub mod udp;
pub mod video;

pub use message::{ClientMessage, ErrorCode, ServerMessage};
