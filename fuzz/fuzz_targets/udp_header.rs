//! Fuzz target: the UDP media header (`udp::parse`) and the bodies behind
//! it (`video::FragmentHeader::parse`, `audio::parse_body`,
//! `nack::Nack::parse`), as the server reads every datagram.
//!
//! None may panic. What parses must be rebuilt byte for byte by the
//! matching emit functions, and carry only what the protocol allows
//! (1..=256 fragments, an index below the count, 964-byte audio bodies).

#![no_main]

use libfuzzer_sys::fuzz_target;

use lanmeet_common::audio;
use lanmeet_common::limits::MAX_FRAGMENTS;
use lanmeet_common::nack::Nack;
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video::{FragmentHeader, FRAGMENT_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(d) = udp::parse(data) else {
        return;
    };
    assert_eq!(udp::build(d.kind, d.client_id, d.body), data);

    match d.kind {
        Kind::Video => {
            if let Ok((h, jpeg)) = FragmentHeader::parse(d.body) {
                assert!(h.frag_count >= 1 && usize::from(h.frag_count) <= MAX_FRAGMENTS);
                assert!(h.frag_index < h.frag_count);
                assert_eq!(jpeg.len() + FRAGMENT_HEADER_LEN, d.body.len());
                let mut head = [0u8; FRAGMENT_HEADER_LEN];
                h.emit(&mut head).unwrap();
                assert_eq!(head, d.body[..FRAGMENT_HEADER_LEN]);
            }
        }
        Kind::Audio => {
            if let Ok((seq, pcm)) = audio::parse_body(d.body) {
                assert_eq!(d.body.len(), audio::BODY_LEN);
                let mut frame = [0i16; audio::FRAME_SAMPLES];
                audio::decode_pcm(pcm, &mut frame);
                let mut body = [0u8; audio::BODY_LEN];
                audio::emit_body(seq, &frame, &mut body).unwrap();
                assert_eq!(&body[..], d.body);
            }
        }
        Kind::Nack => {
            if let Ok(n) = Nack::parse(d.body) {
                assert!(n.frag_count >= 1 && usize::from(n.frag_count) <= MAX_FRAGMENTS);
                assert!(n.missing().all(|i| i < n.frag_count));
                // Rebuilt from its fields it reads back the same (bits past
                // the count and extra bytes, ignored, are not rebuilt).
                let again = n.datagram(d.client_id).unwrap();
                let d2 = udp::parse(&again).unwrap();
                assert_eq!(Nack::parse(d2.body).unwrap(), n);
            }
        }
        Kind::Hello => {}
    }
});
