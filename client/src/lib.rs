//! The lanmeet client as a library: one [`Session`] per meeting, with no
//! window at all.
//!
//! The GUI, the headless front end (`lanmeet-client --headless`), the tests
//! and a load generator all drive exactly this code. A front end calls
//! methods on [`Session`] and reads typed [`Event`]s from a
//! `std::sync::mpsc::Receiver`; it never sees a socket or a JSON object.
//!
//! ```text
//!                    +--------------------- Session ----------------------+
//!  UI thread         |                                                    |
//!  session.chat() ---+--> outbox (mpsc) --> [writer] ------ TCP --------> server
//!                    |                                                    |
//!  events.recv() <---+-- [tcp reader] <--------------------- TCP -------- server
//!                    |     updates MeetingState, files, screen frames     |
//!                    |   [heartbeat]  ping every 10 s, 'I' hello every 2 s |
//!                    |   [udp reader] <----------------------- UDP ------ server
//!                    |     'V' fragments -> assembler -> [decoder] -> latest frame slots
//!                    |     'A' mix -> jitter buffer -> [playout] -> AudioSink
//!                    |   [video sender]  VideoSource -> JPEG -> 'V' fragments -> UDP
//!                    |   [audio sender]  AudioSource -> 'A' every 10 ms -> UDP
//!                    |   [screen sender] ScreenSource -> JPEG -> screen_frame -> outbox
//!                    |   [upload] one per outgoing file transfer -> outbox
//!                    +----------------------------------------------------+
//! ```
//!
//! Every thread is a plain `std::thread` with blocking sockets and
//! timeouts; none of them touches a widget. Media comes from and goes to
//! small traits ([`VideoSource`], [`AudioSource`], [`AudioSink`],
//! [`ScreenSource`]); this crate ships synthetic ones that need no hardware
//! (a test pattern, a tone, WAV files, an image file), and real devices
//! (cameras, microphones, speakers, monitors: the [`devices`] module)
//! plug in through the same traits.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audio;
mod core;
pub mod devices;
mod dispatch;
pub mod error;
pub mod event;
pub mod files;
mod font;
mod heartbeat;
pub mod image;
pub mod log;
pub mod screen;
pub mod session;
pub mod state;
mod stop;
mod udp_reader;
pub mod video;
pub mod wav;
mod wire;

pub use audio::{AudioSink, AudioSource, JitterStats, ToneSource};
pub use error::{MediaError, SessionError};
pub use event::{DisconnectReason, Event, MediaPath, TransferDirection};
pub use image::RgbImage;
pub use screen::{ImageScreen, ScreenSource};
pub use session::{Config, Identity, JoinAction, Session, Stats};
pub use state::{MeetingState, Participant, TransferInfo, TransferStatus};
pub use video::{TestPattern, VideoFrame, VideoSource};
