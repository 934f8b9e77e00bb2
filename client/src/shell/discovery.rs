//! Finding lanmeet servers on the LAN (PROTOCOL.md section 18), with no
//! session: a UDP socket sends the `'D'` probe to the broadcast address of
//! each network this machine is on, to 255.255.255.255 and to any address
//! given, on the servers' UDP port, and collects the answers.
//!
//! ```text
//!  Discovery::open()  UDP socket, SO_BROADCAST
//!  .probe(5002, &[])  'D' probe -> 192.168.1.255:5002, 10.0.0.255:5002, 255.255.255.255:5002
//!  .receive(until)    'D' {"name":..,"meetings":[..]} from 192.168.1.20 -> Found
//! ```
//!
//! Broadcast is unreliable on Wi-Fi (RFC 9119): callers probe again every
//! few seconds and keep manual entry. The networks come from
//! `/proc/net/route` on Linux; elsewhere only 255.255.255.255 is probed.

use std::collections::BTreeMap;
use std::io::{self, ErrorKind};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use lanmeet_common::discovery::{self, DiscoveryReply};
use serde::Serialize;

/// One server that answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    /// Where the answer came from: the address to connect to.
    pub address: IpAddr,
    /// What the server said about itself and its listed meetings.
    #[serde(flatten)]
    pub reply: DiscoveryReply,
}

/// A socket that probes and collects answers.
pub struct Discovery {
    socket: UdpSocket,
}

impl Discovery {
    /// A socket on a free port, allowed to broadcast.
    pub fn open() -> io::Result<Discovery> {
        let socket = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))?;
        socket.set_broadcast(true)?;
        Ok(Discovery { socket })
    }

    /// Sends one probe to each broadcast address and each of `extra`, on
    /// `udp_port`. Returns how many went out (a network without a route
    /// refuses some; that is not an error).
    pub fn probe(&self, udp_port: u16, extra: &[IpAddr]) -> usize {
        let probe = discovery::probe();
        let mut targets: Vec<IpAddr> = broadcast_addresses().into_iter().map(IpAddr::V4).collect();
        targets.extend(extra.iter().copied());
        targets.dedup();
        targets
            .into_iter()
            .filter(|ip| self.socket.send_to(&probe, (*ip, udp_port)).is_ok())
            .count()
    }

    /// Collects answers until `until`; one entry per server (address and
    /// TCP port), the latest answer kept.
    pub fn receive(&self, until: Instant) -> io::Result<Vec<Found>> {
        let mut found: BTreeMap<(IpAddr, u16), Found> = BTreeMap::new();
        let mut buf = vec![0u8; 65_536];
        loop {
            let now = Instant::now();
            let Some(left) = until.checked_duration_since(now).filter(|d| !d.is_zero()) else {
                break;
            };
            self.socket.set_read_timeout(Some(left))?;
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if let Some(reply) = discovery::parse_reply(&buf[..n]) {
                        found.insert(
                            (from.ip(), reply.tcp_port),
                            Found {
                                address: from.ip(),
                                reply,
                            },
                        );
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                // An ICMP "port unreachable" from a probe to one address
                // must not end the search for the others.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found.into_values().collect())
    }
}

/// Probes once and collects answers for `wait`.
pub fn discover(udp_port: u16, extra: &[IpAddr], wait: Duration) -> io::Result<Vec<Found>> {
    let d = Discovery::open()?;
    d.probe(udp_port, extra);
    d.receive(Instant::now() + wait)
}

/// The broadcast address of each IPv4 network this machine is directly
/// on, then 255.255.255.255.
pub fn broadcast_addresses() -> Vec<Ipv4Addr> {
    let mut all = std::fs::read_to_string("/proc/net/route")
        .map(|table| parse_route_table(&table))
        .unwrap_or_default();
    all.push(Ipv4Addr::BROADCAST);
    all.dedup();
    all
}

/// Broadcast addresses from the text of `/proc/net/route`: each route
/// without a gateway (a network this machine is on) gives
/// `destination | !mask`. Addresses there are hex in host byte order.
fn parse_route_table(table: &str) -> Vec<Ipv4Addr> {
    let hex = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::to_ne_bytes);
    let mut out = Vec::new();
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 {
            continue;
        }
        let (Some(dest), Some(gateway), Some(mask)) =
            (hex(fields[1]), hex(fields[2]), hex(fields[7]))
        else {
            continue;
        };
        let (dest, mask) = (u32::from_be_bytes(dest), u32::from_be_bytes(mask));
        if gateway != [0; 4] || mask == 0 || mask == u32::MAX {
            continue; // via a router, the default route, or one host
        }
        let broadcast = Ipv4Addr::from(dest | !mask);
        if !broadcast.is_loopback() && !out.contains(&broadcast) {
            out.push(broadcast);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table_gives_broadcast_addresses() {
        // 192.168.1.0/24 and 10.8.0.0/16 on a little-endian machine.
        let le =
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n\
                  eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                  eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                  wg0\t0000080A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
                  bad line\n";
        if cfg!(target_endian = "little") {
            assert_eq!(
                parse_route_table(le),
                [
                    Ipv4Addr::new(192, 168, 1, 255),
                    Ipv4Addr::new(10, 8, 255, 255)
                ]
            );
        }
        assert!(broadcast_addresses().ends_with(&[Ipv4Addr::BROADCAST]));
    }
}
