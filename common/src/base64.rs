//! Standard base64 with padding (RFC 4648 section 4), for binary inside JSON.
//!
//! Screen frames and file chunks travel as base64 strings. The server only
//! needs to know a string is valid and how many bytes it holds
//! ([`decoded_len`], no allocation); clients encode and decode.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks a byte that is not in the alphabet.
const INVALID: u8 = 0xff;

/// Maps an ASCII byte to its 6-bit value, or [`INVALID`].
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Why a string is not valid padded base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Error {
    /// The length is not a multiple of 4.
    Length,
    /// A byte outside the alphabet, or padding in the wrong place.
    Symbol {
        /// Its position in the string.
        at: usize,
    },
    /// Padding bits that are not zero (the string has a non-canonical twin).
    TrailingBits,
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::Length => f.write_str("base64 length is not a multiple of 4"),
            Base64Error::Symbol { at } => write!(f, "invalid base64 symbol at {at}"),
            Base64Error::TrailingBits => f.write_str("base64 has non-zero padding bits"),
        }
    }
}

impl std::error::Error for Base64Error {}

/// Length of the encoding of `n` bytes.
pub fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Encodes `data`.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(data.len()));
    encode_into(data, &mut out);
    out
}

/// Appends the encoding of `data` to `out`.
pub fn encode_into(data: &[u8], out: &mut String) {
    out.reserve(encoded_len(data.len()));
    let sym = |v: u32| ALPHABET[(v & 63) as usize] as char;
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        let v = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.push(sym(v >> 18));
        out.push(sym(v >> 12));
        out.push(sym(v >> 6));
        out.push(sym(v));
    }
    match *chunks.remainder() {
        [a] => {
            let v = u32::from(a) << 16;
            out.push(sym(v >> 18));
            out.push(sym(v >> 12));
            out.push_str("==");
        }
        [a, b] => {
            let v = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.push(sym(v >> 18));
            out.push(sym(v >> 12));
            out.push(sym(v >> 6));
            out.push('=');
        }
        _ => {}
    }
}

/// Checks `text` and returns how many bytes it decodes to, without
/// allocating. This runs on every screen frame and file chunk the server
/// relays, so the body is checked with one table lookup per byte; only the
/// last quad, which may hold padding, takes the careful path.
pub fn decoded_len(text: &str) -> Result<usize, Base64Error> {
    let bytes = text.as_bytes();
    let (body, last) = split_last_quad(bytes)?;
    if let Some(at) = body.iter().position(|&b| DECODE[b as usize] == INVALID) {
        return Err(Base64Error::Symbol { at });
    }
    let tail = decode_last_quad(last, body.len(), |_| {})?;
    Ok(body.len() / 4 * 3 + tail)
}

/// Decodes `text`.
pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    let bytes = text.as_bytes();
    let (body, last) = split_last_quad(bytes)?;
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (q, quad) in body.chunks_exact(4).enumerate() {
        let d = [
            DECODE[quad[0] as usize],
            DECODE[quad[1] as usize],
            DECODE[quad[2] as usize],
            DECODE[quad[3] as usize],
        ];
        // INVALID is 0xff and valid values are below 64: one test for all four.
        if (d[0] | d[1] | d[2] | d[3]) & 0xc0 != 0 {
            let i = d.iter().position(|&v| v == INVALID).unwrap_or(0);
            return Err(Base64Error::Symbol { at: q * 4 + i });
        }
        let v = (u32::from(d[0]) << 18)
            | (u32::from(d[1]) << 12)
            | (u32::from(d[2]) << 6)
            | u32::from(d[3]);
        out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
    }
    decode_last_quad(last, body.len(), |b| out.push(b))?;
    Ok(out)
}

/// Splits a padded base64 string into the quads before the last one and the
/// last one (empty for an empty string).
fn split_last_quad(bytes: &[u8]) -> Result<(&[u8], &[u8]), Base64Error> {
    if !bytes.len().is_multiple_of(4) {
        return Err(Base64Error::Length);
    }
    Ok(bytes.split_at(bytes.len().saturating_sub(4)))
}

/// Decodes the last quad, which may end in one or two `=`; `at` is its
/// position in the string, for error reports.
fn decode_last_quad(
    quad: &[u8],
    at: usize,
    mut emit: impl FnMut(u8),
) -> Result<usize, Base64Error> {
    if quad.is_empty() {
        return Ok(0);
    }
    let pad = quad.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return Err(Base64Error::Symbol { at: at + 1 });
    }
    let mut v: u32 = 0;
    for (i, &b) in quad[..4 - pad].iter().enumerate() {
        let d = DECODE[b as usize];
        if d == INVALID {
            return Err(Base64Error::Symbol { at: at + i });
        }
        v |= u32::from(d) << (18 - 6 * i);
    }
    let bytes_here = 3 - pad;
    if (v << (8 * bytes_here)) & 0x00ff_ffff != 0 {
        return Err(Base64Error::TrailingBits);
    }
    for i in 0..bytes_here {
        emit((v >> (16 - 8 * i)) as u8);
    }
    Ok(bytes_here)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 section 10 test vectors.
    const VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc_vectors() {
        for (plain, coded) in VECTORS {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
            assert_eq!(decoded_len(coded), Ok(plain.len()));
        }
    }

    #[test]
    fn all_bytes_round_trip() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&data)).unwrap(), data);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode("Zg="), Err(Base64Error::Length));
        assert_eq!(decode("Z!=="), Err(Base64Error::Symbol { at: 1 }));
        assert_eq!(decode("Zg==Zg=="), Err(Base64Error::Symbol { at: 2 }));
        assert_eq!(decode("Z==="), Err(Base64Error::Symbol { at: 1 }));
        assert_eq!(decode("===="), Err(Base64Error::Symbol { at: 1 }));
        assert_eq!(decode("Zh=="), Err(Base64Error::TrailingBits));
        assert_eq!(decode("Zm9vYmFy\n"), Err(Base64Error::Length));
        assert!(decode("Zm9\u{e9}").is_err());
        assert_eq!(decoded_len("Zm9v!m9v"), Err(Base64Error::Symbol { at: 4 }));
        assert_eq!(decode("Zm9vZ!9v"), Err(Base64Error::Symbol { at: 5 }));
        assert_eq!(decoded_len("Zm9vZg=="), Ok(4));
        assert_eq!(decoded_len("Zg==Zm9v"), Err(Base64Error::Symbol { at: 2 }));
    }
}
