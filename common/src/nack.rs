//! Section 13: the `'N'` datagram that asks for lost video fragments again.
//!
//! ```text
//!  0     1          3          3+id_len
//!  +-----+----------+----------+-------+------------+--------+-----------+------------+----------+
//!  | 'N' | id_len BE| client_id| layer | sender_len | sender | frame_seq | frag_count | missing  |
//!  |     |          |          | 'V'/'T'| u8        | UTF-8  | u32 BE    | u16 BE     | bitmap   |
//!  +-----+----------+----------+-------+------------+--------+-----------+------------+----------+
//!  missing: ceil(frag_count / 8) bytes; fragment i is missing when
//!           byte i/8 has bit (1 << (i % 8)) set
//! ```
//!
//! A receiver sends one to the server (its own id in the header) naming a
//! sender's frame and the fragments it lacks; the server re-sends what it
//! still holds and asks the sender (id_len 0, `sender` = the sender
//! itself) for what it never got.
//!
//! [`Nack::parse`] borrows from the body and never panics: it is fed
//! whatever arrives on the server's UDP port. A bitmap longer than
//! `frag_count` needs is accepted and its extra bytes ignored, as are bits
//! past `frag_count` in its last byte (the reading docs/PROTOCOL.md
//! writes down).

use crate::limits::MAX_FRAGMENTS;
use crate::udp::{self, Kind, UdpError};

/// Bytes of the bitmap for up to 256 fragments.
pub const MAX_BITMAP: usize = MAX_FRAGMENTS / 8;

/// The video layer a NACK is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// `'V'`: the full layer.
    Full,
    /// `'T'`: the thumbnail layer (section 11).
    Thumb,
}

impl Layer {
    /// The byte on the wire.
    pub fn byte(self) -> u8 {
        match self {
            Layer::Full => b'V',
            Layer::Thumb => b'T',
        }
    }

    /// The layer for a wire byte.
    pub fn from_byte(b: u8) -> Option<Layer> {
        match b {
            b'V' => Some(Layer::Full),
            b'T' => Some(Layer::Thumb),
            _ => None,
        }
    }
}

/// Which fragments of a frame are missing: a 256-bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragmentSet([u8; MAX_BITMAP]);

impl FragmentSet {
    /// No fragment.
    pub const EMPTY: FragmentSet = FragmentSet([0; MAX_BITMAP]);

    /// Adds fragment `i` (ignored past 255).
    pub fn insert(&mut self, i: u16) {
        if let Some(b) = self.0.get_mut(usize::from(i / 8)) {
            *b |= 1 << (i % 8);
        }
    }

    /// Whether fragment `i` is in the set.
    pub fn contains(&self, i: u16) -> bool {
        self.0
            .get(usize::from(i / 8))
            .is_some_and(|b| b & (1 << (i % 8)) != 0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// The fragments in the set below `count`, in order.
    pub fn iter(&self, count: u16) -> impl Iterator<Item = u16> + '_ {
        (0..count.min(MAX_FRAGMENTS as u16)).filter(|&i| self.contains(i))
    }

    /// How many fragments below `count` are in the set.
    pub fn len(&self, count: u16) -> usize {
        self.iter(count).count()
    }
}

/// Bytes of the bitmap for `frag_count` fragments.
pub fn bitmap_len(frag_count: u16) -> usize {
    usize::from(frag_count).div_ceil(8)
}

/// The body of an `'N'` datagram, borrowing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nack<'a> {
    /// Which layer.
    pub layer: Layer,
    /// Whose frame.
    pub sender: &'a str,
    /// Which frame of that sender (and layer).
    pub frame_seq: u32,
    /// How many fragments the frame has (1..=256).
    pub frag_count: u16,
    /// The fragments asked for.
    pub missing: FragmentSet,
}

impl<'a> Nack<'a> {
    /// Reads an `'N'` body. Errors: `Truncated` when shorter than its
    /// fields say, `BadBody` for an unknown layer, a frag_count outside
    /// 1..=256 or a sender that is empty or not UTF-8.
    pub fn parse(body: &'a [u8]) -> Result<Nack<'a>, UdpError> {
        let (&layer, rest) = body.split_first().ok_or(UdpError::Truncated)?;
        let layer = Layer::from_byte(layer).ok_or(UdpError::BadBody)?;
        let (&sender_len, rest) = rest.split_first().ok_or(UdpError::Truncated)?;
        let sender_len = usize::from(sender_len);
        let sender = rest.get(..sender_len).ok_or(UdpError::Truncated)?;
        let sender = std::str::from_utf8(sender).map_err(|_| UdpError::BadBody)?;
        if sender.is_empty() {
            return Err(UdpError::BadBody);
        }
        let rest = &rest[sender_len..];
        let fixed = rest.get(..6).ok_or(UdpError::Truncated)?;
        let frame_seq = u32::from_be_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]);
        let frag_count = u16::from_be_bytes([fixed[4], fixed[5]]);
        if frag_count == 0 || usize::from(frag_count) > MAX_FRAGMENTS {
            return Err(UdpError::BadBody);
        }
        let bitmap = rest
            .get(6..6 + bitmap_len(frag_count))
            .ok_or(UdpError::Truncated)?;
        let mut missing = FragmentSet::EMPTY;
        missing.0[..bitmap.len()].copy_from_slice(bitmap);
        // Bits past frag_count mean nothing: clear them.
        for i in frag_count..(bitmap.len() * 8) as u16 {
            missing.0[usize::from(i / 8)] &= !(1 << (i % 8));
        }
        Ok(Nack {
            layer,
            sender,
            frame_seq,
            frag_count,
            missing,
        })
    }

    /// The fragments asked for, in order.
    pub fn missing(&self) -> impl Iterator<Item = u16> + '_ {
        self.missing.iter(self.frag_count)
    }

    /// Writes the whole datagram (`client_id` in the header: the receiver's
    /// own id, or empty from the server) into `out`, replacing what it held.
    pub fn write_datagram(&self, client_id: &str, out: &mut Vec<u8>) -> Result<(), UdpError> {
        let sender_len = u8::try_from(self.sender.len()).map_err(|_| UdpError::BadBody)?;
        if self.frag_count == 0 || usize::from(self.frag_count) > MAX_FRAGMENTS {
            return Err(UdpError::BadBody);
        }
        out.clear();
        out.resize(udp::header_len(client_id), 0);
        udp::emit_header(Kind::Nack, client_id, out)?;
        out.push(self.layer.byte());
        out.push(sender_len);
        out.extend_from_slice(self.sender.as_bytes());
        out.extend_from_slice(&self.frame_seq.to_be_bytes());
        out.extend_from_slice(&self.frag_count.to_be_bytes());
        out.extend_from_slice(&self.missing.0[..bitmap_len(self.frag_count)]);
        Ok(())
    }

    /// The whole datagram in a new buffer.
    pub fn datagram(&self, client_id: &str) -> Result<Vec<u8>, UdpError> {
        let mut out = Vec::new();
        self.write_datagram(client_id, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(indices: &[u16]) -> FragmentSet {
        let mut s = FragmentSet::EMPTY;
        for &i in indices {
            s.insert(i);
        }
        s
    }

    #[test]
    fn fixed_bytes_both_ways() {
        // c4 asks about c7's frame 258 of 10 fragments, missing 0, 3 and 9.
        let bytes = [
            b'N',
            0,
            2,
            b'c',
            b'4', // header
            b'V',
            2,
            b'c',
            b'7', // layer, sender
            0,
            0,
            1,
            2, // frame_seq 258
            0,
            10, // frag_count
            0b0000_1001,
            0b0000_0010, // bitmap
        ];
        let d = udp::parse(&bytes).unwrap();
        assert_eq!((d.kind, d.client_id), (Kind::Nack, "c4"));
        let n = Nack::parse(d.body).unwrap();
        assert_eq!(
            n,
            Nack {
                layer: Layer::Full,
                sender: "c7",
                frame_seq: 258,
                frag_count: 10,
                missing: set(&[0, 3, 9]),
            }
        );
        assert_eq!(n.missing().collect::<Vec<_>>(), [0, 3, 9]);
        assert_eq!(n.datagram("c4").unwrap(), bytes);
    }

    #[test]
    fn the_servers_request_has_an_empty_id_and_a_thumbnail_layer_reads() {
        let n = Nack {
            layer: Layer::Thumb,
            sender: "c12",
            frame_seq: u32::MAX,
            frag_count: 256,
            missing: set(&[255]),
        };
        let bytes = n.datagram("").unwrap();
        assert_eq!(&bytes[..6], &[b'N', 0, 0, b'T', 3, b'c']);
        assert_eq!(bytes.len(), 3 + 2 + 3 + 4 + 2 + 32);
        let d = udp::parse(&bytes).unwrap();
        assert_eq!(d.client_id, "");
        assert_eq!(Nack::parse(d.body).unwrap(), n);
    }

    #[test]
    fn bits_past_the_count_and_extra_bytes_are_ignored() {
        let body = [b'V', 1, b'a', 0, 0, 0, 1, 0, 3, 0xff, 0xee];
        let n = Nack::parse(&body).unwrap();
        assert_eq!(n.missing().collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(n.missing, set(&[0, 1, 2]));
    }

    #[test]
    fn bad_bodies_are_errors() {
        let ok = [b'V', 1, b'a', 0, 0, 0, 1, 0, 9, 0, 1];
        assert!(Nack::parse(&ok).is_ok());
        // Every cut short of the whole is truncated.
        for n in 0..ok.len() {
            assert_eq!(Nack::parse(&ok[..n]), Err(UdpError::Truncated), "{n}");
        }
        let mut bad_layer = ok;
        bad_layer[0] = b'A';
        assert_eq!(Nack::parse(&bad_layer), Err(UdpError::BadBody));
        let zero = [b'V', 1, b'a', 0, 0, 0, 1, 0, 0];
        assert_eq!(Nack::parse(&zero), Err(UdpError::BadBody));
        let too_many = [b'V', 1, b'a', 0, 0, 0, 1, 1, 1];
        assert_eq!(Nack::parse(&too_many), Err(UdpError::BadBody));
        let no_sender = [b'V', 0, 0, 0, 0, 1, 0, 1, 1];
        assert_eq!(Nack::parse(&no_sender), Err(UdpError::BadBody));
        let not_utf8 = [b'V', 1, 0xff, 0, 0, 0, 1, 0, 1, 1];
        assert_eq!(Nack::parse(&not_utf8), Err(UdpError::BadBody));
    }

    #[test]
    fn any_bytes_parse_or_fail_without_panic() {
        // A cheap sweep in the spirit of the fuzzers: every length up to 48
        // of a few fillers, and every single-byte change of a valid body.
        for fill in [0u8, 1, 7, 0x56, 0xff] {
            for len in 0..48 {
                let _ = Nack::parse(&vec![fill; len]);
            }
        }
        let ok = [b'V', 1, b'a', 0, 0, 0, 1, 0, 9, 0, 1];
        for at in 0..ok.len() {
            for v in 0..=255u8 {
                let mut b = ok;
                b[at] = v;
                if let Ok(n) = Nack::parse(&b) {
                    assert!(n.missing().all(|i| i < n.frag_count));
                }
            }
        }
    }

    #[test]
    fn a_sender_id_over_255_bytes_cannot_be_written() {
        let long = "c".repeat(256);
        let n = Nack {
            layer: Layer::Full,
            sender: &long,
            frame_seq: 0,
            frag_count: 1,
            missing: set(&[0]),
        };
        assert_eq!(n.datagram("c1"), Err(UdpError::BadBody));
    }
}
