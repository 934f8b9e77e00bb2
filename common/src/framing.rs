//! TCP framing: a 4-byte big-endian length, then that many bytes of JSON.
//!
//! ```text
//!  0        4                      4+N
//!  +--------+----------------------+--------+---
//!  |   N    |  N bytes UTF-8 JSON  |   N'   | ...
//!  +--------+----------------------+--------+---
//! ```
//!
//! [`decode`] is a pure function over whatever bytes have arrived so far: it
//! says "here is one frame and how many bytes it used", "need more bytes", or
//! "this length is over the limit". It checks the length before the body is
//! read, so a hostile 4 GiB length costs nothing.

use std::fmt;

use crate::limits::FRAME_HEADER_LEN;

/// Why a frame could not be taken from the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix announces more than the receiver's limit.
    TooLarge {
        /// The announced body length.
        len: usize,
        /// The receiver's limit.
        max: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { len, max } => {
                write!(f, "frame of {len} bytes is over the limit of {max}")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// Takes one frame from the front of `buf`.
///
/// Returns `Ok(Some((body, used)))` with the frame body and the number of
/// bytes consumed (header included), `Ok(None)` when `buf` does not yet hold
/// a whole frame, or `Err` when the announced length exceeds `max_len`.
pub fn decode(buf: &[u8], max_len: usize) -> Result<Option<(&[u8], usize)>, FrameError> {
    let Some(header) = buf.get(..FRAME_HEADER_LEN) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > max_len {
        return Err(FrameError::TooLarge { len, max: max_len });
    }
    let end = FRAME_HEADER_LEN + len;
    match buf.get(FRAME_HEADER_LEN..end) {
        Some(body) => Ok(Some((body, end))),
        None => Ok(None),
    }
}

/// Frames `body`: its length as 4 bytes big-endian, then the body.
///
/// Panics if `body` is longer than `u32::MAX`, which no caller can reach:
/// every frame is bounded by [`crate::limits::MAX_SERVER_FRAME`].
pub fn encode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + body.len());
    let len = u32::try_from(body.len()).expect("frame bodies are far below 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Serializes `value` as JSON and frames it.
pub fn encode_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own message types cannot fail: they hold only strings,
    // numbers, booleans and maps with string keys.
    let mut out = vec![0u8; FRAME_HEADER_LEN];
    serde_json::to_writer(&mut out, value).expect("protocol types always serialize");
    let len =
        u32::try_from(out.len() - FRAME_HEADER_LEN).expect("frame bodies are far below 4 GiB");
    out[..FRAME_HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_whole_frame() {
        let buf = [0, 0, 0, 2, b'{', b'}', 0xff];
        assert_eq!(decode(&buf, 10), Ok(Some((&b"{}"[..], 6))));
    }

    #[test]
    fn decode_needs_more() {
        assert_eq!(decode(&[], 10), Ok(None));
        assert_eq!(decode(&[0, 0, 0], 10), Ok(None));
        assert_eq!(decode(&[0, 0, 0, 3, b'{', b'}'], 10), Ok(None));
    }

    #[test]
    fn decode_empty_body() {
        assert_eq!(decode(&[0, 0, 0, 0], 10), Ok(Some((&b""[..], 4))));
    }

    #[test]
    fn decode_rejects_long_length_before_body() {
        let buf = [0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            decode(&buf, 4 << 20),
            Err(FrameError::TooLarge {
                len: 0xffff_ffff,
                max: 4 << 20
            })
        );
        // Exactly at the limit is fine.
        let buf = [0, 0, 0, 10];
        assert_eq!(decode(&buf, 10), Ok(None));
        assert!(decode(&[0, 0, 0, 11], 10).is_err());
    }

    #[test]
    fn encode_round_trips() {
        let framed = encode(b"hello");
        assert_eq!(framed, [0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(decode(&framed, 100), Ok(Some((&b"hello"[..], 9))));
    }

    #[test]
    fn encode_json_sets_length() {
        let framed = encode_json(&serde_json::json!({"type": "ping"}));
        let (body, used) = decode(&framed, 100).unwrap().unwrap();
        assert_eq!(used, framed.len());
        assert_eq!(body, br#"{"type":"ping"}"#);
    }
}
