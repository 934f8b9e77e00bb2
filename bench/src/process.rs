//! The programs a scenario starts besides the server (the client binary,
//! Xvfb, an editor to share): a guard that ends each one, the check that a
//! tool is installed, and the virtual display the window scenarios
//! (`screen`, `classroom`) run on.
//!
//! Every child is held in a [`KillOnDrop`], so a scenario that returns an
//! error half-way (`?`) leaves no process behind to load the machine during
//! the next scenario's measurement.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child process, killed and reaped when this is dropped.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether `tool` is an executable file in a folder of `PATH`, so that a
/// scenario can say it was skipped rather than fail to start it.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// A private Xvfb server, ended when dropped.
///
/// Xvfb picks a free display number itself and writes it to stdout
/// (`-displayfd 1`), so several of these (and the test services' own
/// display) never collide. `-noreset` keeps it from resetting whenever
/// its last client leaves (without it, screen captures slow down and
/// fail); `-nolisten tcp` keeps it off the network.
pub struct Xvfb {
    _process: KillOnDrop,
    display: String,
}

impl Xvfb {
    /// Starts a display of `size` (`"WIDTHxHEIGHTxDEPTH"`, e.g.
    /// `"1280x800x24"`) and waits until it names its number.
    pub fn start(size: &str) -> Result<Xvfb, String> {
        let mut x = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", size])
            .args(["-noreset", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("Xvfb: {e}"))?;
        let out = x.stdout.take();
        let process = KillOnDrop(x);
        let mut number = String::new();
        if let Some(out) = out {
            BufReader::new(out)
                .read_line(&mut number)
                .map_err(|e| e.to_string())?;
        }
        Ok(Xvfb {
            _process: process,
            display: format!(":{}", number.trim()),
        })
    }

    /// The display's name for `DISPLAY` or `-display` (`":N"`).
    pub fn display(&self) -> &str {
        &self.display
    }
}
