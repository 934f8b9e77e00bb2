//! The lanmeet client as a library: one [`Session`] per meeting, with no
//! window at all.
//!
//! The GUI, the headless front end (`lanmeet-client --headless`), the tests
//! and a load generator all drive exactly this code. A front end calls
//! methods on [`Session`] and reads typed [`Event`]s from a
//! `std::sync::mpsc::Receiver`; it never sees a socket or a JSON object.
//!
//! The crate is layered like the server, dependencies pointing down only:
//!
//! ```text
//!  shell/    Session: sockets, threads, the decode queue, the disk
//!    |  \      (the only place with Arc, Mutex and thread::spawn)
//!    |   \
//!    |  devices/  cameras, microphones, speakers, monitors (implement
//!    |   |        the media traits; import nothing else of the client)
//!    v   v
//!  core/      media/
//!  ClientCore  pipelines: encoders, decoder, pacing, the traits,
//!  (no I/O)    synthetic sources (test pattern, tone, WAV, image)
//!    \          /
//!     lanmeet-common (the protocol)
//! ```
//!
//! - [`core`]: the meeting logic without sockets, threads or clocks:
//!   the state, the events, the transfers, the camera assembler, the
//!   jitter buffer, the heartbeat. Its tests run with simulated time.
//! - [`media`]: capture, encode, send; receive, decode; the
//!   [`VideoSource`], [`AudioSource`], [`AudioSink`] and
//!   [`ScreenSource`] traits.
//! - [`devices`]: real hardware behind those traits.
//! - the shell ([`Session`]): one thread per socket and per media
//!   stream, feeding the core and carrying out what it asks. No thread
//!   touches a widget.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod core;
pub mod devices;
pub mod error;
pub mod media;
mod shell;

pub use media::{image, screen, tiles, wav};
pub use shell::{discovery, log};

pub use crate::core::{
    DisconnectReason, Event, JitterStats, MediaPath, MeetingState, Participant, TransferDirection,
    TransferInfo, TransferStatus,
};
pub use error::{MediaError, SessionError};
pub use media::{
    AudioSink, AudioSource, ImageScreen, RgbImage, ScreenSource, TestPattern, ToneSource,
    VideoFrame, VideoSource,
};
pub use shell::session::{Config, Identity, JoinAction, Session, Stats};
