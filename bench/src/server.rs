//! Starts a release `lanmeet-server` as a child process, so its CPU and
//! memory can be measured apart from the load generator's. Each has a log
//! folder of its own in the temporary folder, removed when it stops.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::procstat;

/// A running server process.
pub struct ServerProcess {
    child: Child,
    /// The server's stdout, kept open for as long as it runs.
    _stdout: BufReader<std::process::ChildStdout>,
    /// Its TCP address.
    pub tcp: SocketAddr,
    /// Its UDP address.
    pub udp: SocketAddr,
    /// Its log folder.
    log_dir: PathBuf,
}

/// Servers started by this process so far (each gets its own folder).
static STARTED: AtomicUsize = AtomicUsize::new(0);

impl ServerProcess {
    /// Starts `binary` on loopback with free ports and `extra` arguments.
    pub fn start(binary: &Path, extra: &[String]) -> Result<ServerProcess, String> {
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let log_dir =
            std::env::temp_dir().join(format!("lanmeet-bench-{}-{n}", std::process::id()));
        let mut child = Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", "0", "--log-dir"])
            .arg(&log_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let Some(stdout) = child.stdout.take() else {
            stop(&mut child, &log_dir);
            return Err("no stdout".into());
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        // "listening tcp=127.0.0.1:PORT udp=127.0.0.1:PORT"
        let field = |line: &str, name: &str| -> Result<SocketAddr, String> {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .and_then(|a| a.parse().ok())
                .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))
        };
        let addresses = stdout
            .read_line(&mut line)
            .map_err(|e| e.to_string())
            .and_then(|_| Ok((field(&line, "tcp=")?, field(&line, "udp=")?)));
        match addresses {
            Ok((tcp, udp)) => Ok(ServerProcess {
                child,
                _stdout: stdout,
                tcp,
                udp,
                log_dir,
            }),
            Err(e) => {
                stop(&mut child, &log_dir);
                Err(e)
            }
        }
    }

    /// The process id, as `/proc` names it.
    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// CPU time used so far.
    pub fn cpu(&self) -> Duration {
        procstat::cpu_time(&self.pid()).unwrap_or_default()
    }

    /// Resident memory now, in bytes.
    pub fn rss(&self) -> u64 {
        procstat::rss_bytes(&self.pid()).unwrap_or(0)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        stop(&mut self.child, &self.log_dir);
    }
}

/// Ends the server and removes its log folder.
fn stop(child: &mut Child, log_dir: &Path) {
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(log_dir);
}
