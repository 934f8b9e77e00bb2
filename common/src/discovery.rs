//! Finding servers on a LAN without typing an address (PROTOCOL.md
//! section 18): a probe a client broadcasts to the UDP media port, and the
//! server's answer listing its listed meetings.
//!
//! ```text
//!  client (UDP, to 255.255.255.255:5002,          server (its UDP media port)
//!          each interface's broadcast, ...)
//!    'D' 0x0000 "lanmeet?" + 248 zero bytes  ---->  shorter than 256: no answer;
//!                                                   over 5 a second from this
//!                                                   address: no answer
//!    'D' 0x0000 {"name":..,"meetings":[..]}  <----  answered to the source
//! ```
//!
//! The probe is as long as a typical answer, so a forged source address
//! gets no more bytes than the forger sends: discovery cannot amplify.
//! Nothing here touches a socket: [`probe`] builds the bytes, [`is_probe`]
//! and [`parse_reply`] read them, and [`build_reply`] fits an answer into
//! one datagram.

use serde::{Deserialize, Serialize};

use crate::limits::DISCOVERY_PROBE_LEN;

/// The kind byte of both directions.
pub const KIND: u8 = b'D';

/// What a probe's body starts with.
pub const PROBE_MAGIC: &[u8] = b"lanmeet?";

/// Header of a discovery datagram: kind and a zero `id_len`.
const HEADER: [u8; 3] = [KIND, 0, 0];

/// The probe a client sends: `'D'`, `id_len` 0, `lanmeet?` padded with
/// zero bytes to 256 bytes of body.
pub fn probe() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER.len() + DISCOVERY_PROBE_LEN);
    bytes.extend_from_slice(&HEADER);
    bytes.extend_from_slice(PROBE_MAGIC);
    bytes.resize(HEADER.len() + DISCOVERY_PROBE_LEN, 0);
    bytes
}

/// Whether `datagram` is a probe the server answers: kind `'D'`, `id_len`
/// 0, a body of at least 256 bytes starting with `lanmeet?`.
pub fn is_probe(datagram: &[u8]) -> bool {
    datagram.len() >= HEADER.len() + DISCOVERY_PROBE_LEN
        && datagram[..HEADER.len()] == HEADER
        && datagram[HEADER.len()..].starts_with(PROBE_MAGIC)
}

/// One listed meeting in an answer.
///
/// `{"meeting_code":"K7Q2XZ","title":"CS101 lab","participants":12,"password":true,"locked":false}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedMeeting {
    /// The code to join with.
    pub meeting_code: String,
    /// Its title, if it has one.
    pub title: Option<String>,
    /// People in it now.
    pub participants: u32,
    /// Whether joining needs a password.
    pub password: bool,
    /// Whether the host refuses new joins.
    pub locked: bool,
}

/// The JSON body of an answer.
///
/// `{"name":"Lab 3 server","version":1,"tcp_port":5001,"udp_port":5002,"meetings":[...]}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryReply {
    /// The server's `--name` (default: its host name).
    pub name: String,
    /// The protocol version it speaks.
    pub version: u32,
    /// Where to connect.
    pub tcp_port: u16,
    /// Its UDP media port (the one that answered).
    pub udp_port: u16,
    /// Meetings created with `listed: true`.
    pub meetings: Vec<ListedMeeting>,
}

/// The answer datagram for `reply`, with as many of its meetings (from the
/// front) as fit in `max_datagram` bytes. `None` only when not even the
/// answer without meetings fits.
pub fn build_reply(reply: &DiscoveryReply, max_datagram: usize) -> Option<Vec<u8>> {
    let mut fitted = DiscoveryReply {
        meetings: Vec::new(),
        ..reply.clone()
    };
    let encode = |r: &DiscoveryReply| {
        let mut bytes = HEADER.to_vec();
        // Serializing plain strings and numbers cannot fail.
        bytes.extend(serde_json::to_vec(r).unwrap_or_default());
        bytes
    };
    let mut best = encode(&fitted);
    if best.len() > max_datagram {
        return None;
    }
    for meeting in &reply.meetings {
        fitted.meetings.push(meeting.clone());
        let bytes = encode(&fitted);
        if bytes.len() > max_datagram {
            break;
        }
        best = bytes;
    }
    Some(best)
}

/// Reads an answer; `None` for anything else (a probe, another kind,
/// broken JSON).
pub fn parse_reply(datagram: &[u8]) -> Option<DiscoveryReply> {
    if datagram.len() < HEADER.len() || datagram[..HEADER.len()] != HEADER {
        return None;
    }
    serde_json::from_slice(&datagram[HEADER.len()..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meeting(i: usize) -> ListedMeeting {
        ListedMeeting {
            meeting_code: format!("ABCDE{i}"),
            title: Some(format!("Lab {i} with a long title to fill the datagram up")),
            participants: 3,
            password: false,
            locked: false,
        }
    }

    #[test]
    fn probe_is_256_bytes_of_body_and_recognised() {
        let p = probe();
        assert_eq!(p.len(), 3 + 256);
        assert_eq!(&p[..11], b"D\0\0lanmeet?");
        assert!(p[11..].iter().all(|&b| b == 0));
        assert!(is_probe(&p));
        assert!(
            !is_probe(&p[..p.len() - 1]),
            "a short probe is not answered"
        );
        let mut with_id = p.clone();
        with_id[2] = 1;
        assert!(!is_probe(&with_id));
        let mut other = p;
        other[3] = b'L';
        assert!(!is_probe(&other));
        assert!(!is_probe(b""));
    }

    #[test]
    fn reply_fits_one_datagram_dropping_meetings_from_the_end() {
        let reply = DiscoveryReply {
            name: "Lab 3 server".into(),
            version: 1,
            tcp_port: 5001,
            udp_port: 5002,
            meetings: (0..100).map(meeting).collect(),
        };
        let bytes = build_reply(&reply, 1400).unwrap();
        assert!(bytes.len() <= 1400);
        let back = parse_reply(&bytes).unwrap();
        assert!(!back.meetings.is_empty() && back.meetings.len() < 100);
        assert_eq!(back.meetings[..], reply.meetings[..back.meetings.len()]);
        assert_eq!(back.name, "Lab 3 server");
        assert!(build_reply(&reply, 20).is_none());
        assert!(parse_reply(&probe()).is_none());
        assert!(parse_reply(b"D\0\0{").is_none());
    }
}
