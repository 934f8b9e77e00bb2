//! The header every UDP datagram starts with, in both directions.
//!
//! ```text
//!  0      1           3                  3+id_len
//!  +------+-----------+------------------+------------------+
//!  | kind | id_len BE | client_id (UTF-8)| body             |
//!  +------+-----------+------------------+------------------+
//!  kind: 'I' hello, 'V' video fragment, 'A' audio,
//!        'N' a request for lost video fragments (section 13, crate::nack),
//!        'T' a thumbnail-layer video fragment (section 11)
//! ```
//!
//! The `client_id` is what the sender claims; the server never trusts it
//! alone but checks it against the address bound by a valid hello.
//! [`parse`] borrows from the datagram and never panics; [`emit_header`]
//! writes into a caller's buffer so a hot path allocates nothing.

use std::fmt;

/// Byte positions of the fixed part of the header.
pub mod field {
    use std::ops::Range;
    /// The kind byte.
    pub const KIND: usize = 0;
    /// The big-endian length of the id.
    pub const ID_LEN: Range<usize> = 1..3;
    /// Where the id starts.
    pub const ID: usize = 3;
}

/// Bytes of the header before the id.
pub const FIXED_HEADER_LEN: usize = field::ID;

/// What a datagram carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `'I'`: a client's token, or the server's `ok`.
    Hello,
    /// `'V'`: one fragment of a JPEG video frame.
    Video,
    /// `'A'`: 10 ms of audio.
    Audio,
    /// `'N'`: lost video fragments asked for again (section 13).
    Nack,
    /// `'T'`: one fragment of a thumbnail-layer frame (section 11); the
    /// same body as `'V'`.
    Thumb,
}

impl Kind {
    /// The ASCII byte on the wire.
    pub fn byte(self) -> u8 {
        match self {
            Kind::Hello => b'I',
            Kind::Video => b'V',
            Kind::Audio => b'A',
            Kind::Nack => b'N',
            Kind::Thumb => b'T',
        }
    }

    /// The kind for a wire byte.
    pub fn from_byte(b: u8) -> Option<Kind> {
        match b {
            b'I' => Some(Kind::Hello),
            b'V' => Some(Kind::Video),
            b'A' => Some(Kind::Audio),
            b'N' => Some(Kind::Nack),
            b'T' => Some(Kind::Thumb),
            _ => None,
        }
    }
}

/// Why a datagram could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpError {
    /// Shorter than its header says.
    Truncated,
    /// The first byte is not `I`, `V`, `A`, `N` or `T`.
    UnknownKind(u8),
    /// The id is not UTF-8.
    BadId,
    /// The body does not have the layout its kind requires.
    BadBody,
    /// The output buffer is too small.
    NoRoom,
}

impl fmt::Display for UdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UdpError::Truncated => f.write_str("datagram shorter than its header"),
            UdpError::UnknownKind(b) => write!(f, "unknown datagram kind 0x{b:02x}"),
            UdpError::BadId => f.write_str("client id is not UTF-8"),
            UdpError::BadBody => f.write_str("datagram body has the wrong layout"),
            UdpError::NoRoom => f.write_str("buffer too small for the datagram"),
        }
    }
}

impl std::error::Error for UdpError {}

/// A parsed datagram, borrowing from the bytes it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// What it carries.
    pub kind: Kind,
    /// The sender's id as written (empty from the server).
    pub client_id: &'a str,
    /// Everything after the header.
    pub body: &'a [u8],
}

/// Takes a datagram apart.
pub fn parse(buf: &[u8]) -> Result<Datagram<'_>, UdpError> {
    let (&kind, _) = buf.split_first().ok_or(UdpError::Truncated)?;
    let kind = Kind::from_byte(kind).ok_or(UdpError::UnknownKind(kind))?;
    let len_bytes = buf.get(field::ID_LEN).ok_or(UdpError::Truncated)?;
    let id_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    let id = buf
        .get(field::ID..field::ID + id_len)
        .ok_or(UdpError::Truncated)?;
    let client_id = std::str::from_utf8(id).map_err(|_| UdpError::BadId)?;
    Ok(Datagram {
        kind,
        client_id,
        body: &buf[field::ID + id_len..],
    })
}

/// Length of a header carrying `client_id`.
pub fn header_len(client_id: &str) -> usize {
    FIXED_HEADER_LEN + client_id.len()
}

/// Writes a header into the front of `out` and returns its length.
pub fn emit_header(kind: Kind, client_id: &str, out: &mut [u8]) -> Result<usize, UdpError> {
    let id_len = u16::try_from(client_id.len()).map_err(|_| UdpError::BadId)?;
    let len = header_len(client_id);
    let out = out.get_mut(..len).ok_or(UdpError::NoRoom)?;
    out[field::KIND] = kind.byte();
    out[field::ID_LEN].copy_from_slice(&id_len.to_be_bytes());
    out[field::ID..].copy_from_slice(client_id.as_bytes());
    Ok(len)
}

/// Builds a whole datagram (header then body) in a new buffer.
pub fn build(kind: Kind, client_id: &str, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; header_len(client_id) + body.len()];
    // The buffer was sized for exactly this header; ids over 64 KiB are
    // the only failure and no caller makes them.
    let at = emit_header(kind, client_id, &mut out).unwrap_or(0);
    out[at..].copy_from_slice(body);
    out
}

/// The body of the server's answer to a valid hello.
pub const HELLO_OK: &[u8] = b"ok";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_fixed_bytes() {
        let bytes = [b'V', 0, 2, b'c', b'7', 1, 2, 3];
        let d = parse(&bytes).unwrap();
        assert_eq!(
            d,
            Datagram {
                kind: Kind::Video,
                client_id: "c7",
                body: &[1, 2, 3]
            }
        );
    }

    #[test]
    fn parse_empty_id_and_body() {
        let d = parse(&[b'I', 0, 0]).unwrap();
        assert_eq!(
            d,
            Datagram {
                kind: Kind::Hello,
                client_id: "",
                body: &[]
            }
        );
    }

    #[test]
    fn too_short() {
        assert_eq!(parse(&[]), Err(UdpError::Truncated));
        assert_eq!(parse(b"A"), Err(UdpError::Truncated));
        assert_eq!(parse(&[b'A', 0]), Err(UdpError::Truncated));
        assert_eq!(parse(&[b'A', 0, 3, b'c']), Err(UdpError::Truncated));
        assert_eq!(parse(&[b'A', 0xff, 0xff]), Err(UdpError::Truncated));
    }

    #[test]
    fn wrong_kind_and_id() {
        assert_eq!(parse(&[b'X', 0, 0]), Err(UdpError::UnknownKind(b'X')));
        assert_eq!(parse(&[b'A', 0, 1, 0xff]), Err(UdpError::BadId));
    }

    #[test]
    fn thumbnail_kind_is_t() {
        let d = build(Kind::Thumb, "c3", &[0, 0, 0, 1, 0, 0, 0, 1, 0xff]);
        assert_eq!(d[0], b'T');
        let parsed = parse(&d).unwrap();
        assert_eq!(parsed.kind, Kind::Thumb);
        assert_eq!(parsed.client_id, "c3");
        assert_eq!(Kind::from_byte(b'T'), Some(Kind::Thumb));
    }

    #[test]
    fn emit_then_parse() {
        let mut buf = [0u8; 16];
        let n = emit_header(Kind::Audio, "c12", &mut buf).unwrap();
        assert_eq!(&buf[..n], &[b'A', 0, 3, b'c', b'1', b'2']);
        assert_eq!(
            emit_header(Kind::Audio, "c12", &mut buf[..5]),
            Err(UdpError::NoRoom)
        );
        let whole = build(Kind::Hello, "", HELLO_OK);
        assert_eq!(whole, [b'I', 0, 0, b'o', b'k']);
        assert_eq!(parse(&whole).unwrap().body, HELLO_OK);
    }
}
