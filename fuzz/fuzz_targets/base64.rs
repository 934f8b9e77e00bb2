//! Fuzz target: base64 (`decode`, `decoded_len`, `encode`), which the
//! server runs over every screen frame and file chunk.
//!
//! `decoded_len` (the server's allocation-free check) and `decode` (the
//! client's) must agree on every string: the same error, or the same
//! length. Whatever decodes must encode back to the same text (the codec
//! accepts only canonical strings), and any bytes must round-trip.

#![no_main]

use libfuzzer_sys::fuzz_target;

use lanmeet_common::base64;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let len = base64::decoded_len(text);
        match base64::decode(text) {
            Ok(bytes) => {
                assert_eq!(len, Ok(bytes.len()));
                assert_eq!(base64::encode(&bytes), text);
            }
            Err(e) => assert_eq!(len, Err(e)),
        }
    }

    let text = base64::encode(data);
    assert_eq!(text.len(), base64::encoded_len(data.len()));
    assert_eq!(base64::decoded_len(&text), Ok(data.len()));
    assert_eq!(base64::decode(&text).as_deref(), Ok(data));
});
