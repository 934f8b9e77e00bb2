//! The floor: what one datagram costs to send over loopback and
//! drain, with nothing else going on. A relay cannot do better than about
//! one send per relayed datagram, so this is the yardstick for its cost.

use std::net::UdpSocket;
use std::time::Duration;

use crate::procstat;

/// CPU microseconds per `size`-byte datagram sent and received, over
/// `count` datagrams.
pub fn send_and_drain(size: usize, count: usize) -> Result<f64, String> {
    let a = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let b = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    b.set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(|e| e.to_string())?;
    let to = b.local_addr().map_err(|e| e.to_string())?;
    let payload = vec![0x5au8; size];
    let mut buf = vec![0u8; size + 1];
    let before = procstat::cpu_time("self").unwrap_or_default();
    for _ in 0..count {
        a.send_to(&payload, to).map_err(|e| e.to_string())?;
        b.recv_from(&mut buf).map_err(|e| e.to_string())?;
    }
    let after = procstat::cpu_time("self").unwrap_or_default();
    Ok(after.saturating_sub(before).as_secs_f64() * 1e6 / count as f64)
}
