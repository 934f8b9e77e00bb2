//! Fuzz target: video reassembly (`video::FragmentAssembler`), which every
//! client runs over fragments relayed from other participants.
//!
//! A run is a list of steps: arbitrary `'V'` bodies from a few senders,
//! whole frames cut by `video::fragment` and pushed in any order, the clock
//! moving on, senders leaving. It must never panic, a completed frame must
//! be the one the last fragment belonged to, a frame's own fragments in any
//! order give it back byte for byte, and the frames in flight stay bounded
//! whatever arrives.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

use lanmeet_common::udp;
use lanmeet_common::video::{self, FragmentAssembler, FragmentHeader};

/// Frames in flight one sender may have (the assembler's own bound).
const MAX_PARTIALS_PER_SENDER: usize = 4;
/// Senders the steps choose from.
const SENDERS: [&str; 3] = ["c1", "c2", "c33"];

#[derive(Debug, Arbitrary)]
enum Step {
    /// Any bytes as a `'V'` body.
    Body { sender: u8, body: Vec<u8> },
    /// A whole frame, fragmented for `max_datagram`, pushed in the order
    /// `rotate` gives (reversed when `reverse`).
    Frame {
        sender: u8,
        frame_seq: u32,
        jpeg: Vec<u8>,
        max_datagram: u16,
        rotate: u8,
        reverse: bool,
    },
    /// Time passes.
    Wait { ms: u16 },
    /// Expire old partial frames.
    Expire,
    /// A sender leaves.
    Remove { sender: u8 },
}

fn sender(i: u8) -> &'static str {
    SENDERS[usize::from(i) % SENDERS.len()]
}

fuzz_target!(|steps: Vec<Step>| {
    let mut asm = FragmentAssembler::new();
    let mut now = Instant::now();
    for step in steps {
        match step {
            Step::Body { sender: s, body } => {
                let s = sender(s);
                if let Ok(Some(frame)) = asm.push(s, &body, now) {
                    let (h, _) = FragmentHeader::parse(&body).unwrap();
                    assert_eq!(frame.sender, s);
                    assert_eq!(frame.frame_seq, h.frame_seq);
                }
            }
            Step::Frame {
                sender: s,
                frame_seq,
                jpeg,
                max_datagram,
                rotate,
                reverse,
            } => {
                let s = sender(s);
                // At least room for a header and one byte of JPEG.
                let max = usize::from(max_datagram).clamp(udp::header_len(s) + 9, 2000);
                let mut parts = Vec::new();
                if video::fragment(s, frame_seq, &jpeg, max, |d| parts.push(d.to_vec())).is_err() {
                    continue; // empty, or more than 256 fragments
                }
                assert!(parts.iter().all(|d| d.len() <= max));
                let n = parts.len();
                parts.rotate_left(usize::from(rotate) % n);
                if reverse {
                    parts.reverse();
                }
                // Alone, in any order, the fragments give back the frame.
                let mut alone = FragmentAssembler::new();
                let mut whole = None;
                for d in &parts {
                    let body = udp::parse(d).unwrap().body;
                    assert!(whole.is_none(), "completed before the last fragment");
                    whole = alone.push(s, body, now).unwrap();
                }
                assert_eq!(whole.map(|f| f.jpeg), Some(jpeg));
                // Among earlier steps' fragments (same sender, same seq) the
                // frame may be spoiled or ignored, but what completes is
                // still a frame of this sender and seq.
                for d in &parts {
                    let body = udp::parse(d).unwrap().body;
                    if let Ok(Some(frame)) = asm.push(s, body, now) {
                        assert_eq!(frame.sender, s);
                        assert_eq!(frame.frame_seq, frame_seq);
                    }
                }
            }
            Step::Wait { ms } => now += Duration::from_millis(u64::from(ms)),
            Step::Expire => asm.expire(now),
            Step::Remove { sender: s } => asm.remove_sender(sender(s)),
        }
        assert!(asm.in_flight() <= SENDERS.len() * MAX_PARTIALS_PER_SENDER);
    }
});
