//! The server's log: one file per run, `logs/server/<start time>.log`, one
//! line per event (joins, leaves, errors, and a counters line every 10 s).

use std::fs::{self, File};
use std::io::{self, LineWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lanmeet_common::time::{file_stamp, log_stamp};

/// Appends time-stamped lines to the run's log file, or nowhere.
pub struct Logger {
    file: Option<LineWriter<File>>,
    path: Option<PathBuf>,
    dir: Option<PathBuf>,
}

impl Logger {
    /// A log in `dir` (created if missing), named for the start time; with
    /// `None`, a logger that writes nothing (for tests).
    pub fn open(dir: Option<&Path>) -> io::Result<Logger> {
        let Some(dir) = dir else {
            return Ok(Logger {
                file: None,
                path: None,
                dir: None,
            });
        };
        fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}.log", file_stamp(SystemTime::now())));
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Logger {
            file: Some(LineWriter::new(file)),
            path: Some(path),
            dir: Some(dir.to_path_buf()),
        })
    }

    /// Where the lines go, if anywhere.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Writes `contents` to `<log dir>/<folder>/<name>` (the attendance
    /// CSV of a meeting that ended) and logs where, or why not. Without a
    /// log dir nothing is written.
    pub fn write_report(&mut self, folder: &str, name: &str, contents: &str) {
        let Some(dir) = self.dir.as_ref().map(|d| d.join(folder)) else {
            return;
        };
        let path = dir.join(name);
        match fs::create_dir_all(&dir).and_then(|()| fs::write(&path, contents)) {
            Ok(()) => self.line(&format!("wrote {}", path.display())),
            Err(e) => self.line(&format!("cannot write {}: {e}", path.display())),
        }
    }

    /// Writes one line. A failing disk must not stop the meeting, so write
    /// errors are dropped after the first is reported on stderr.
    pub fn line(&mut self, text: &str) {
        let Some(file) = &mut self.file else { return };
        if let Err(e) = writeln!(file, "{} {text}", log_stamp(SystemTime::now())) {
            eprintln!("lanmeet-server: cannot write the log any more: {e}");
            self.file = None;
        }
    }
}
