//! CPU time and memory of a process, read from Linux's `/proc`.
//!
//! A benchmark that reports "percent of a core" needs the CPU time the
//! process actually used over the measured window, not wall time:
//! `/proc/PID/stat` fields 14 and 15 are user and system time in clock
//! ticks; `/proc/PID/status` has the resident set size (`VmRSS`).

use std::fs;
use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time of process `pid` (`"self"` for this one).
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields after the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

/// Resident memory of process `pid`, in bytes.
pub fn rss_bytes(pid: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU used between two readings, as a fraction of one core over `wall`.
pub fn core_fraction(before: Duration, after: Duration, wall: Duration) -> f64 {
    after.saturating_sub(before).as_secs_f64() / wall.as_secs_f64().max(1e-9)
}

/// The machine's UDP counters from `/proc/net/snmp`.
#[derive(Debug, Default, Clone, Copy)]
pub struct UdpCounters {
    /// Datagrams sent.
    pub out_datagrams: u64,
    /// Datagrams dropped because a socket's receive buffer was full.
    pub rcvbuf_errors: u64,
}

/// Reads the UDP counters. On a machine doing nothing else, the server's
/// sends are the difference in `out_datagrams` minus the load generator's.
pub fn udp_counters() -> Option<UdpCounters> {
    let snmp = fs::read_to_string("/proc/net/snmp").ok()?;
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let names: Vec<&str> = lines.next()?.split_whitespace().collect();
    let values: Vec<&str> = lines.next()?.split_whitespace().collect();
    let get = |name: &str| -> Option<u64> {
        let at = names.iter().position(|n| *n == name)?;
        values.get(at)?.parse().ok()
    };
    Some(UdpCounters {
        out_datagrams: get("OutDatagrams")?,
        rcvbuf_errors: get("RcvbufErrors").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        assert!(cpu_time("self").is_some());
        assert!(rss_bytes("self").unwrap() > 0);
        assert!(udp_counters().is_some());
    }
}
