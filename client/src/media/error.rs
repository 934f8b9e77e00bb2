//! Why a media source, sink or codec failed.
//!
//! The `Display` is meant for a person (the GUI shows it, the headless
//! client prints it), so a front end never formats a `Debug`.

use std::fmt;
use std::io;

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
