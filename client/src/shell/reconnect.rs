//! The sockets side of resuming (section 14): the writer that outlives a
//! connection, and the attempts to take our place back on a new one.
//!
//! ```text
//!  [tcp reader] connection lost --> core: Lost(reason) --> Reconnecting
//!     loop, on the core's schedule (core/reconnect.rs):
//!       wait --> connect --> resume_meeting --> join_success{resumed}
//!                                           --> core: Resumed --> Resumed event,
//!                                               camera state sent again,
//!                                               new stream for the writer
//!                                           --> error{resume_expired}: the end
//!               (refused, timed out)        --> core: ResumeFailed, next attempt
//!     the core gives up after 60 s: the end, with the original reason
//!  [writer] one outbox for the whole session: waits while there is no
//!           connection, then writes on the newest one
//! ```
//!
//! Messages made while the connection is down (pings are not, chat is)
//! wait in the outbox and go out after the resume.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lanmeet_common::message::VideoState;
use lanmeet_common::{ClientMessage, ErrorCode};

use super::handshake::{handshake, Handshake};
use super::stop::lock;
use super::tcp::{FrameReader, Outgoing};
use super::threads::{self, Shared};
use crate::core::reconnect::Step;
use crate::core::{Command, DisconnectReason, Input};
use crate::error::SessionError;

/// The TCP reader thread: every server message, in order, until the end,
/// resuming on a new connection when one drops; then
/// the one shutdown path.
pub(crate) fn run_tcp_reader(shared: Arc<Shared>, mut reader: FrameReader) {
    let reason = loop {
        let lost = threads::read_connection(&shared, &mut reader);
        match resume(&shared, lost) {
            Ok(new_reader) => reader = new_reader,
            Err(reason) => break reason,
        }
    };
    threads::finish(&shared, reason);
}

/// The writer thread: every outgoing frame, in order, on the connection
/// of the moment, until `Close` or the end of the session.
pub(crate) fn run_writer(shared: Arc<Shared>, outbox: Receiver<Outgoing>) {
    let mut current: Option<(u64, TcpStream)> = None;
    while let Ok(item) = outbox.recv() {
        let Some(stream) = connection(&shared, &mut current) else {
            return; // the session ended while the connection was down
        };
        let result = match item {
            Outgoing::Frame(bytes) => stream.write_all(&bytes),
            Outgoing::Screen(bytes, in_flight) => {
                let r = stream.write_all(&bytes);
                in_flight.store(false, Ordering::Release);
                r
            }
            Outgoing::Close => {
                let _ = stream.flush();
                let _ = stream.shutdown(Shutdown::Write);
                return;
            }
        };
        if let Err(e) = result {
            // The reader notices the closed socket and resumes or ends.
            shared.log.write(format_args!("sending failed: {e}"));
            let _ = stream.shutdown(Shutdown::Both);
            current = None;
        }
    }
}

/// The newest connection, waiting while there is none; `None` once the
/// session stopped.
fn connection<'a>(
    shared: &Shared,
    current: &'a mut Option<(u64, TcpStream)>,
) -> Option<&'a mut TcpStream> {
    loop {
        let generation = shared.tcp_generation.load(Ordering::Acquire);
        if current.as_ref().map(|(g, _)| *g) != Some(generation) {
            *current = lock(&shared.tcp)
                .as_ref()
                .and_then(|s| s.try_clone().ok())
                .map(|s| (generation, s));
        }
        if current.is_some() {
            return current.as_mut().map(|(_, s)| s);
        }
        if shared.stop.wait_for(Duration::from_millis(20)) {
            return None;
        }
    }
}

/// After a connection ended for `lost`: resumes on a new one (the reader
/// for it) or says why the session ends.
pub(crate) fn resume(
    shared: &Arc<Shared>,
    lost: DisconnectReason,
) -> Result<FrameReader, DisconnectReason> {
    if shared.stop.is_stopped() || shared.leaving.load(Ordering::Acquire) {
        return Err(lost);
    }
    shared.drive(Input::Lost(lost.clone()));
    if lock(&shared.engine)
        .core
        .reconnect_step(Instant::now())
        .is_none()
    {
        return Err(lost); // no resume token, or a drop a resume cannot cure
    }
    if let Some(old) = lock(&shared.tcp).take() {
        let _ = old.shutdown(Shutdown::Both);
    }
    // The writer drops the old connection and waits for the next one.
    shared.tcp_generation.fetch_add(1, Ordering::AcqRel);
    loop {
        let (step, message) = {
            let engine = lock(&shared.engine);
            (
                engine.core.reconnect_step(Instant::now()),
                engine.core.resume_message(),
            )
        };
        let (Some(Step::Attempt { at, timeout }), Some(message)) = (step, message) else {
            shared.log.write(format_args!("resuming gave up"));
            return Err(lost);
        };
        // Wait in short slices, so leaving does not wait for the attempt.
        while Instant::now() < at {
            if shared.leaving.load(Ordering::Acquire)
                || shared.stop.wait_for(Duration::from_millis(50))
            {
                return Err(DisconnectReason::Left);
            }
        }
        if shared.leaving.load(Ordering::Acquire) {
            return Err(DisconnectReason::Left);
        }
        let hello = serde_json::to_value(&message).unwrap_or_default();
        match handshake(&shared.config, &hello, false, timeout) {
            Ok(Handshake {
                stream,
                reader,
                reply,
                additions,
            }) => {
                *lock(&shared.tcp) = Some(stream);
                shared.tcp_generation.fetch_add(1, Ordering::AcqRel);
                shared.drive(Input::Resumed {
                    reply,
                    resume_token: additions.resume_token.clone(),
                });
                shared.drive(Input::JoinAdditions(&additions));
                restore_media(shared);
                return Ok(reader);
            }
            Err(SessionError::Refused { code, message }) => {
                shared
                    .log
                    .write(format_args!("resume refused: {} {message}", code.as_str()));
                return Err(match code {
                    ErrorCode::ResumeExpired => DisconnectReason::ResumeExpired,
                    _ => DisconnectReason::Io(format!("resume refused: {message}")),
                });
            }
            Err(e) => shared.drive(Input::ResumeFailed(e.to_string())),
        }
    }
}

/// Tells the server again what only this end knows: the camera is on.
/// (The core sends our mute; a running screen sender goes on by itself,
/// and every screen frame is a whole picture.)
fn restore_media(shared: &Shared) {
    let camera_on = lock(&shared.media).video.is_some();
    if camera_on {
        let _ = shared.command(Command::Send(ClientMessage::VideoState {
            state: VideoState::Started,
        }));
    }
}
