//! Video fragmentation: one JPEG frame as 1..=256 `'V'` datagrams.
//!
//! A 640x480 JPEG is tens of kilobytes and a datagram that crosses a LAN
//! without IP fragmentation holds about 1400 bytes, so the sender cuts each
//! frame and the receiver glues it back:
//!
//! ```text
//!  'V' body:
//!  0            4             6             8
//!  +------------+-------------+-------------+-------------------+
//!  | frame_seq  | frag_index  | frag_count  | JPEG bytes        |
//!  | u32 BE     | u16 BE      | u16 BE      | (this fragment's) |
//!  +------------+-------------+-------------+-------------------+
//! ```
//!
//! The server relays fragments unchanged. [`FragmentAssembler`] on the
//! receiving side shows a frame only once every fragment is in, and drops an
//! incomplete frame when a newer frame of the same sender completes or after
//! 500 ms: late video is worse than missing video.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::limits::{FRAGMENT_TIMEOUT_MS, MAX_FRAGMENTS};
use crate::udp::{self, Kind, UdpError};

/// Bytes of the fragment header at the start of a `'V'` body.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// The fragment header of a `'V'` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentHeader {
    /// Which frame of this sender.
    pub frame_seq: u32,
    /// Which piece, from 0.
    pub frag_index: u16,
    /// How many pieces, 1..=256.
    pub frag_count: u16,
}

impl FragmentHeader {
    /// Reads and checks the header; returns it and the JPEG bytes after it.
    pub fn parse(body: &[u8]) -> Result<(FragmentHeader, &[u8]), UdpError> {
        let head = body.get(..FRAGMENT_HEADER_LEN).ok_or(UdpError::Truncated)?;
        let h = FragmentHeader {
            frame_seq: u32::from_be_bytes([head[0], head[1], head[2], head[3]]),
            frag_index: u16::from_be_bytes([head[4], head[5]]),
            frag_count: u16::from_be_bytes([head[6], head[7]]),
        };
        let count = usize::from(h.frag_count);
        if count == 0 || count > MAX_FRAGMENTS || h.frag_index >= h.frag_count {
            return Err(UdpError::BadBody);
        }
        Ok((h, &body[FRAGMENT_HEADER_LEN..]))
    }

    /// Writes the header into the front of `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, UdpError> {
        let out = out.get_mut(..FRAGMENT_HEADER_LEN).ok_or(UdpError::NoRoom)?;
        out[0..4].copy_from_slice(&self.frame_seq.to_be_bytes());
        out[4..6].copy_from_slice(&self.frag_index.to_be_bytes());
        out[6..8].copy_from_slice(&self.frag_count.to_be_bytes());
        Ok(FRAGMENT_HEADER_LEN)
    }
}

/// JPEG bytes that fit in one fragment for this sender and datagram size.
pub fn fragment_payload(client_id: &str, max_datagram: usize) -> usize {
    max_datagram.saturating_sub(udp::header_len(client_id) + FRAGMENT_HEADER_LEN)
}

/// Cuts `jpeg` into datagrams of at most `max_datagram` bytes and hands each
/// to `send`, reusing one buffer. Fails when the frame needs more than 256
/// fragments (or the datagram cannot hold any payload).
pub fn fragment(
    client_id: &str,
    frame_seq: u32,
    jpeg: &[u8],
    max_datagram: usize,
    send: impl FnMut(&[u8]),
) -> Result<usize, UdpError> {
    fragment_as(Kind::Video, client_id, frame_seq, jpeg, max_datagram, send)
}

/// [`fragment`] for datagrams of `kind`: `'V'` (the full layer) or, with
/// section 11, `'T'` (the thumbnail layer), which has the same body.
pub fn fragment_as(
    kind: Kind,
    client_id: &str,
    frame_seq: u32,
    jpeg: &[u8],
    max_datagram: usize,
    mut send: impl FnMut(&[u8]),
) -> Result<usize, UdpError> {
    let payload = fragment_payload(client_id, max_datagram);
    if payload == 0 || jpeg.is_empty() {
        return Err(UdpError::NoRoom);
    }
    let count = jpeg.len().div_ceil(payload);
    let frag_count = u16::try_from(count)
        .ok()
        .filter(|&c| usize::from(c) <= MAX_FRAGMENTS)
        .ok_or(UdpError::NoRoom)?;
    let mut buf = vec![0u8; max_datagram];
    let head = udp::emit_header(kind, client_id, &mut buf)?;
    for (index, piece) in jpeg.chunks(payload).enumerate() {
        let header = FragmentHeader {
            frame_seq,
            // index < count <= 256, so it fits in u16.
            frag_index: index as u16,
            frag_count,
        };
        let at = head + header.emit(&mut buf[head..])?;
        buf[at..at + piece.len()].copy_from_slice(piece);
        send(&buf[..at + piece.len()]);
    }
    Ok(count)
}

/// A whole frame, put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteFrame {
    /// The sender's id.
    pub sender: String,
    /// The sender's frame number.
    pub frame_seq: u32,
    /// The JPEG.
    pub jpeg: Vec<u8>,
}

/// Frames of one sender still missing fragments.
struct Partial {
    frame_seq: u32,
    parts: Vec<Option<Vec<u8>>>,
    received: usize,
    started: Instant,
}

#[derive(Default)]
struct SenderFrames {
    partials: Vec<Partial>,
    last_complete: Option<u32>,
}

/// Frames in flight per sender; beyond this the oldest is dropped, which
/// bounds memory whatever a peer sends.
const MAX_PARTIALS_PER_SENDER: usize = 4;

/// Whether `a` comes after `b` in sequence-number order (wrapping).
fn seq_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

/// Reassembles video frames from fragments of many senders.
#[derive(Default)]
pub struct FragmentAssembler {
    senders: HashMap<String, SenderFrames>,
    /// Incomplete frames dropped so far (superseded or timed out).
    pub dropped: u64,
}

impl FragmentAssembler {
    /// An assembler with nothing in flight.
    pub fn new() -> FragmentAssembler {
        FragmentAssembler::default()
    }

    /// Adds the fragment in `body` (a `'V'` body) from `sender`; returns the
    /// frame it completes, if any.
    pub fn push(
        &mut self,
        sender: &str,
        body: &[u8],
        now: Instant,
    ) -> Result<Option<CompleteFrame>, UdpError> {
        let (h, piece) = FragmentHeader::parse(body)?;
        self.expire(now);
        let frames = match self.senders.get_mut(sender) {
            Some(f) => f,
            None => self.senders.entry(sender.to_string()).or_default(),
        };
        if let Some(last) = frames.last_complete {
            if !seq_after(h.frame_seq, last) {
                return Ok(None); // a late fragment of a frame already shown or dropped
            }
        }
        let count = usize::from(h.frag_count);
        let slot = match frames
            .partials
            .iter()
            .position(|p| p.frame_seq == h.frame_seq)
        {
            Some(i) if frames.partials[i].parts.len() == count => i,
            Some(_) => return Err(UdpError::BadBody), // frag_count changed mid-frame
            None => {
                if frames.partials.len() >= MAX_PARTIALS_PER_SENDER {
                    frames.partials.remove(0);
                    self.dropped += 1;
                }
                frames.partials.push(Partial {
                    frame_seq: h.frame_seq,
                    parts: vec![None; count],
                    received: 0,
                    started: now,
                });
                frames.partials.len() - 1
            }
        };
        let partial = &mut frames.partials[slot];
        let part = &mut partial.parts[usize::from(h.frag_index)];
        if part.is_none() {
            *part = Some(piece.to_vec());
            partial.received += 1;
        }
        if partial.received < count {
            return Ok(None);
        }
        let done = frames.partials.remove(slot);
        let before = frames.partials.len();
        frames
            .partials
            .retain(|p| seq_after(p.frame_seq, done.frame_seq));
        self.dropped += (before - frames.partials.len()) as u64;
        frames.last_complete = Some(done.frame_seq);
        let jpeg = done.parts.into_iter().flatten().flatten().collect();
        Ok(Some(CompleteFrame {
            sender: sender.to_string(),
            frame_seq: done.frame_seq,
            jpeg,
        }))
    }

    /// Drops incomplete frames older than 500 ms.
    pub fn expire(&mut self, now: Instant) {
        let limit = Duration::from_millis(FRAGMENT_TIMEOUT_MS);
        for frames in self.senders.values_mut() {
            let before = frames.partials.len();
            frames
                .partials
                .retain(|p| now.saturating_duration_since(p.started) < limit);
            self.dropped += (before - frames.partials.len()) as u64;
        }
    }

    /// Forgets a sender (it left the meeting).
    pub fn remove_sender(&mut self, sender: &str) {
        self.senders.remove(sender);
    }

    /// Frames of all senders still missing fragments.
    pub fn in_flight(&self) -> usize {
        self.senders.values().map(|f| f.partials.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagrams(id: &str, seq: u32, jpeg: &[u8], max: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        fragment(id, seq, jpeg, max, |d| out.push(d.to_vec())).unwrap();
        out
    }

    fn body(d: &[u8]) -> &[u8] {
        udp::parse(d).unwrap().body
    }

    #[test]
    fn header_fixed_bytes() {
        let bytes = [0, 0, 1, 0, 0, 2, 0, 3, 0xaa];
        let (h, rest) = FragmentHeader::parse(&bytes).unwrap();
        assert_eq!(
            h,
            FragmentHeader {
                frame_seq: 256,
                frag_index: 2,
                frag_count: 3
            }
        );
        assert_eq!(rest, &[0xaa]);
        let mut out = [0u8; 8];
        h.emit(&mut out).unwrap();
        assert_eq!(out, bytes[..8]);
    }

    #[test]
    fn header_rejects_impossible_counts() {
        assert_eq!(FragmentHeader::parse(&[0; 7]), Err(UdpError::Truncated));
        assert_eq!(
            FragmentHeader::parse(&[0, 0, 0, 0, 0, 0, 0, 0]),
            Err(UdpError::BadBody)
        );
        assert_eq!(
            FragmentHeader::parse(&[0, 0, 0, 0, 0, 0, 0xff, 0xff]),
            Err(UdpError::BadBody)
        );
        assert_eq!(
            FragmentHeader::parse(&[0, 0, 0, 0, 0, 1, 0, 1]),
            Err(UdpError::BadBody)
        );
        assert!(FragmentHeader::parse(&[0, 0, 0, 0, 0, 255, 1, 0]).is_ok());
        assert_eq!(
            FragmentHeader::parse(&[0, 0, 0, 0, 0, 0, 1, 1]),
            Err(UdpError::BadBody)
        );
    }

    #[test]
    fn fragments_fit_and_reassemble() {
        let jpeg: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let parts = datagrams("c1", 9, &jpeg, 1400);
        assert_eq!(parts.len(), jpeg.len().div_ceil(1400 - 5 - 8));
        assert!(parts.iter().all(|d| d.len() <= 1400));
        let mut asm = FragmentAssembler::new();
        let now = Instant::now();
        let mut done = None;
        // Out of order is fine.
        for d in parts.iter().rev() {
            done = asm.push("c1", body(d), now).unwrap();
        }
        assert_eq!(
            done,
            Some(CompleteFrame {
                sender: "c1".into(),
                frame_seq: 9,
                jpeg
            })
        );
        assert_eq!(asm.in_flight(), 0);
    }

    #[test]
    fn too_many_fragments_is_an_error() {
        let jpeg = vec![0u8; 257 * 100];
        assert_eq!(
            fragment("c1", 0, &jpeg, 100 + 5 + 8, |_| {}),
            Err(UdpError::NoRoom)
        );
        assert_eq!(fragment("c1", 0, &[1], 10, |_| {}), Err(UdpError::NoRoom));
    }

    #[test]
    fn newer_complete_frame_drops_older_partial() {
        let mut asm = FragmentAssembler::new();
        let now = Instant::now();
        let old = datagrams("c1", 1, &[1; 3000], 1400);
        let new = datagrams("c1", 2, &[2; 100], 1400);
        assert_eq!(asm.push("c1", body(&old[0]), now).unwrap(), None);
        let got = asm.push("c1", body(&new[0]), now).unwrap().unwrap();
        assert_eq!(got.frame_seq, 2);
        assert_eq!(asm.dropped, 1);
        // The rest of frame 1 arrives late: ignored.
        for d in &old[1..] {
            assert_eq!(asm.push("c1", body(d), now).unwrap(), None);
        }
        assert_eq!(asm.in_flight(), 0);
    }

    #[test]
    fn incomplete_frame_times_out() {
        let mut asm = FragmentAssembler::new();
        let t0 = Instant::now();
        let parts = datagrams("c1", 5, &[1; 3000], 1400);
        asm.push("c1", body(&parts[0]), t0).unwrap();
        asm.expire(t0 + Duration::from_millis(499));
        assert_eq!(asm.in_flight(), 1);
        asm.expire(t0 + Duration::from_millis(500));
        assert_eq!(asm.in_flight(), 0);
        assert_eq!(asm.dropped, 1);
    }

    #[test]
    fn senders_are_independent_and_bounded() {
        let mut asm = FragmentAssembler::new();
        let now = Instant::now();
        for seq in 0..10 {
            let parts = datagrams("c1", seq, &[1; 3000], 1400);
            asm.push("c1", body(&parts[0]), now).unwrap();
        }
        assert_eq!(asm.in_flight(), MAX_PARTIALS_PER_SENDER);
        let one = datagrams("c2", 0, &[7; 10], 1400);
        assert!(asm.push("c2", body(&one[0]), now).unwrap().is_some());
    }

    #[test]
    fn sequence_wraps() {
        assert!(seq_after(0, u32::MAX));
        assert!(!seq_after(u32::MAX, 0));
        assert!(!seq_after(3, 3));
    }
}
