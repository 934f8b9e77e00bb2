//! Fuzz target: TCP framing (`lanmeet_common::framing::decode`).
//!
//! Takes frames from arbitrary bytes the way the server's read loop does,
//! under a small limit (so the too-large path is common) and under the real
//! 4 MiB one, and checks what each call claims: a frame's `used` covers its
//! header and body and no more than the buffer, "need more" only when the
//! buffer is short, "too large" only over the limit. Then `encode` must
//! round-trip the input.

#![no_main]

use libfuzzer_sys::fuzz_target;

use lanmeet_common::framing::{self, FrameError};
use lanmeet_common::limits::{FRAME_HEADER_LEN, MAX_CLIENT_FRAME};

fn take_all(mut buf: &[u8], max_len: usize) {
    loop {
        match framing::decode(buf, max_len) {
            Ok(Some((body, used))) => {
                assert_eq!(used, FRAME_HEADER_LEN + body.len());
                assert!(used <= buf.len());
                assert!(body.len() <= max_len);
                assert_eq!(&buf[FRAME_HEADER_LEN..used], body);
                buf = &buf[used..];
            }
            Ok(None) => {
                if buf.len() >= FRAME_HEADER_LEN {
                    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                    assert!(len <= max_len && buf.len() < FRAME_HEADER_LEN + len);
                }
                return;
            }
            Err(FrameError::TooLarge { len, max }) => {
                assert_eq!(max, max_len);
                assert!(len > max);
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    take_all(data, 64);
    take_all(data, MAX_CLIENT_FRAME);
    let framed = framing::encode(data);
    assert_eq!(
        framing::decode(&framed, usize::MAX),
        Ok(Some((data, framed.len())))
    );
});
