//! What can go wrong, as two enums: [`SessionError`] for the network
//! session and [`MediaError`] for sources, sinks and codecs.
//!
//! Both have a hand-written `Display` meant for a person (the GUI shows it,
//! the headless client prints it), so a front end never formats a `Debug`.

use std::fmt;
use std::io;

use lanmeet_common::ErrorCode;

use crate::devices::DeviceError;
pub use crate::media::MediaError;

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

impl From<MediaError> for SessionError {
    fn from(e: MediaError) -> SessionError {
        SessionError::InvalidInput(e.to_string())
    }
}

impl From<DeviceError> for SessionError {
    fn from(e: DeviceError) -> SessionError {
        SessionError::InvalidInput(e.to_string())
    }
}
