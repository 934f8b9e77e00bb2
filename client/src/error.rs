//! What can go wrong, as two enums: [`SessionError`] for the network
//! session and [`MediaError`] for sources, sinks and codecs.
//!
//! Both have a hand-written `Display` meant for a person (the GUI shows it,
//! the headless client prints it), so a front end never formats a `Debug`.

use std::fmt;
use std::io;

use lanmeet_common::ErrorCode;

/// Why a session could not start, or why an action on it failed.
#[derive(Debug)]
pub enum SessionError {
    /// The server could not be reached (name lookup or TCP connect).
    Connect(io::Error),
    /// A socket or file operation failed.
    Io(io::Error),
    /// The server refused the handshake (`error{code, message}`).
    Refused {
        /// The server's reason.
        code: ErrorCode,
        /// The server's words.
        message: String,
    },
    /// The server sent something that is not the protocol.
    Protocol(String),
    /// The server closed the connection.
    Closed,
    /// The server sent nothing for too long.
    Timeout,
    /// The caller asked for something impossible (an empty chat message,
    /// a file that does not exist, ...).
    InvalidInput(String),
    /// The session has ended; nothing more can be sent.
    NotConnected,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Connect(e) => write!(f, "cannot reach the server: {e}"),
            SessionError::Io(e) => write!(f, "input/output error: {e}"),
            SessionError::Refused { code, message } => {
                write!(f, "the server refused: {message} ({})", code.as_str())
            }
            SessionError::Protocol(why) => write!(f, "the server broke the protocol: {why}"),
            SessionError::Closed => f.write_str("the server closed the connection"),
            SessionError::Timeout => f.write_str("the server stopped answering"),
            SessionError::InvalidInput(why) => f.write_str(why),
            SessionError::NotConnected => f.write_str("not connected to a meeting"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Connect(e) | SessionError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for SessionError {
    fn from(e: io::Error) -> SessionError {
        SessionError::Io(e)
    }
}

/// Why a media source, sink or codec failed.
#[derive(Debug)]
pub enum MediaError {
    /// Reading or writing a file failed.
    Io(io::Error),
    /// JPEG encoding or decoding failed.
    Jpeg(String),
    /// A file or buffer is not in a format this crate reads.
    Format(String),
    /// A camera, microphone, speaker or screen is missing, busy or failed
    /// (the text names the device and says what happened).
    Device(String),
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaError::Io(e) => write!(f, "media input/output error: {e}"),
            MediaError::Jpeg(why) => write!(f, "JPEG error: {why}"),
            MediaError::Format(why) => write!(f, "unsupported media: {why}"),
            MediaError::Device(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for MediaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MediaError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for MediaError {
    fn from(e: io::Error) -> MediaError {
        MediaError::Io(e)
    }
}

impl From<MediaError> for SessionError {
    fn from(e: MediaError) -> SessionError {
        SessionError::InvalidInput(e.to_string())
    }
}
