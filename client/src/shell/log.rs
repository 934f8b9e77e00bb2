//! A plain-text log file: one timestamped line per noteworthy thing.
//!
//! The client writes `logs/client/<start time>.log` so that a failed call
//! can be explained after the fact. The handle is cheap to clone and shared
//! by every session thread; a disabled log (the tests use one) does nothing.

use std::fmt::Display;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use lanmeet_common::time::unix_seconds;

use super::stop::lock;

/// A shared log file, or nothing.
#[derive(Clone, Default)]
pub struct Log {
    file: Option<Arc<Mutex<File>>>,
}

impl Log {
    /// A log that discards everything.
    pub fn disabled() -> Log {
        Log::default()
    }

    /// Creates (or appends to) the file at `path`, creating its folder.
    pub fn to_file(path: &Path) -> io::Result<Log> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Log {
            file: Some(Arc::new(Mutex::new(file))),
        })
    }

    /// Appends one line, prefixed with the unix time. Write errors are
    /// ignored: losing a log line must never end a meeting.
    pub fn write(&self, line: impl Display) {
        if let Some(file) = &self.file {
            let t = unix_seconds(SystemTime::now());
            let _ = writeln!(lock(file), "{t:.3} {line}");
        }
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.file.is_some() {
            "Log(file)"
        } else {
            "Log(disabled)"
        })
    }
}
