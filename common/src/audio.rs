//! The audio format: 10 ms of 48 kHz mono signed 16-bit little-endian PCM.
//!
//! An `'A'` datagram's body is a sequence number and one such frame:
//!
//! ```text
//!  0         4                                    964
//!  +---------+------------------------------------+
//!  | seq BE  | 480 samples, i16 little-endian     |
//!  +---------+------------------------------------+
//! ```
//!
//! Fixed-size frames make the server's mixer simple: one frame from each
//! source per 10 ms tick, summed sample by sample.

use crate::udp::UdpError;

/// Samples per second.
pub const SAMPLE_RATE: u32 = 48_000;
/// Channels (mono).
pub const CHANNELS: u16 = 1;
/// Milliseconds of sound in one frame.
pub const FRAME_MS: u64 = 10;
/// Samples in one frame.
pub const FRAME_SAMPLES: usize = 480;
/// PCM bytes in one frame.
pub const FRAME_BYTES: usize = FRAME_SAMPLES * 2;
/// Bytes of the sequence number before the PCM.
pub const SEQ_LEN: usize = 4;
/// Bytes of an `'A'` body.
pub const BODY_LEN: usize = SEQ_LEN + FRAME_BYTES;

/// One frame of samples.
pub type Frame = [i16; FRAME_SAMPLES];

/// Splits an `'A'` body into its sequence number and PCM bytes.
pub fn parse_body(body: &[u8]) -> Result<(u32, &[u8]), UdpError> {
    if body.len() != BODY_LEN {
        return Err(UdpError::BadBody);
    }
    let seq = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    Ok((seq, &body[SEQ_LEN..]))
}

/// Reads little-endian PCM bytes into samples (as many as both hold).
pub fn decode_pcm(pcm: &[u8], out: &mut [i16]) {
    for (sample, bytes) in out.iter_mut().zip(pcm.chunks_exact(2)) {
        *sample = i16::from_le_bytes([bytes[0], bytes[1]]);
    }
}

/// Writes samples as little-endian PCM bytes (as many as both hold).
pub fn encode_pcm(samples: &[i16], out: &mut [u8]) {
    for (bytes, sample) in out.chunks_exact_mut(2).zip(samples) {
        bytes.copy_from_slice(&sample.to_le_bytes());
    }
}

/// Writes an `'A'` body (sequence number and samples) into `out`.
pub fn emit_body(seq: u32, samples: &Frame, out: &mut [u8]) -> Result<usize, UdpError> {
    let out = out.get_mut(..BODY_LEN).ok_or(UdpError::NoRoom)?;
    out[..SEQ_LEN].copy_from_slice(&seq.to_be_bytes());
    encode_pcm(samples, &mut out[SEQ_LEN..]);
    Ok(BODY_LEN)
}

/// A whole `'A'` datagram for `client_id`.
pub fn build_datagram(client_id: &str, seq: u32, samples: &Frame) -> Vec<u8> {
    let mut body = [0u8; BODY_LEN];
    // `body` is exactly BODY_LEN long.
    let _ = emit_body(seq, samples, &mut body);
    crate::udp::build(crate::udp::Kind::Audio, client_id, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trip() {
        let mut frame = [0i16; FRAME_SAMPLES];
        frame[0] = -2;
        frame[479] = 0x1234;
        let mut body = [0u8; BODY_LEN];
        emit_body(7, &frame, &mut body).unwrap();
        assert_eq!(&body[..6], &[0, 0, 0, 7, 0xfe, 0xff]);
        assert_eq!(&body[BODY_LEN - 2..], &[0x34, 0x12]);
        let (seq, pcm) = parse_body(&body).unwrap();
        assert_eq!(seq, 7);
        let mut back = [0i16; FRAME_SAMPLES];
        decode_pcm(pcm, &mut back);
        assert_eq!(back, frame);
    }

    #[test]
    fn wrong_lengths() {
        assert_eq!(parse_body(&[0; BODY_LEN - 1]), Err(UdpError::BadBody));
        assert_eq!(parse_body(&[0; BODY_LEN + 1]), Err(UdpError::BadBody));
        assert_eq!(parse_body(&[]), Err(UdpError::BadBody));
        assert_eq!(
            emit_body(0, &[0; FRAME_SAMPLES], &mut [0u8; 10]),
            Err(UdpError::NoRoom)
        );
    }
}
