//! Camera frames put back together, one stream per sender, and the rule
//! that says when a sender's stream starts anew.
//!
//! [`FragmentAssembler`] (in `common`, shared with the fuzzers and the
//! benchmarks) glues fragments into frames and, to keep a late fragment
//! from showing an old picture, refuses any frame numbered at or below the
//! newest frame it completed for that sender. A sender numbers its frames
//! from 0 each time its camera starts, so after a stop and a start that
//! rule alone would refuse the new stream until it counted past the old
//! one: the picture froze for as long as the camera had been on before.
//!
//! [`CameraAssembler`] adds what the receiver knows about streams:
//!
//! ```text
//!  video_state started | stopped   --> restart(sender): forget its frames
//!  frame_seq far below the newest  --> restart(sender), then push
//!     (more than RESTART_GAP frames: older than anything the assembler
//!      would still complete, so it can only be a new stream)
//!  anything else                   --> FragmentAssembler::push
//! ```
//!
//! The second rule covers a camera restarted while the `video_state`
//! message is still on its way (it travels over TCP, the frames over UDP)
//! and a source replaced without a stop.

use std::collections::HashMap;
use std::time::Instant;

use lanmeet_common::udp::UdpError;
use lanmeet_common::video::{CompleteFrame, FragmentAssembler, FragmentHeader};

/// How many frames below the newest one a frame may be numbered and still
/// belong to the same stream. At the highest rate (30 fps) that is a
/// second, twice the 500 ms after which an incomplete frame is dropped
/// anyway; a frame further back can only start a new stream.
pub const RESTART_GAP: u32 = 30;

/// Reassembles camera frames of every sender and notices restarts.
#[derive(Default)]
pub struct CameraAssembler {
    fragments: FragmentAssembler,
    /// The highest frame number seen from each sender in its current
    /// stream.
    newest: HashMap<String, u32>,
}

/// Whether `a` comes after `b` in wrapping sequence order.
fn seq_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

impl CameraAssembler {
    /// An assembler with nothing in flight.
    pub fn new() -> CameraAssembler {
        CameraAssembler::default()
    }

    /// Adds the fragment in `body` (a `'V'` body) from `sender`; returns
    /// the frame it completes, if any.
    pub fn push(
        &mut self,
        sender: &str,
        body: &[u8],
        now: Instant,
    ) -> Result<Option<CompleteFrame>, UdpError> {
        let (header, _) = FragmentHeader::parse(body)?;
        let seq = header.frame_seq;
        match self.newest.get_mut(sender) {
            Some(newest) if seq_after(seq, *newest) => *newest = seq,
            Some(newest) if newest.wrapping_sub(seq) > RESTART_GAP => {
                self.fragments.remove_sender(sender);
                *newest = seq;
            }
            Some(_) => {}
            None => {
                self.newest.insert(sender.to_string(), seq);
            }
        }
        self.fragments.push(sender, body, now)
    }

    /// The sender's camera stopped or started: its next frame begins a new
    /// stream, whatever its number.
    pub fn restart(&mut self, sender: &str) {
        self.fragments.remove_sender(sender);
        self.newest.remove(sender);
    }

    /// Drops incomplete frames older than 500 ms.
    pub fn expire(&mut self, now: Instant) {
        self.fragments.expire(now);
    }

    /// Incomplete frames dropped so far.
    pub fn dropped(&self) -> u64 {
        self.fragments.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanmeet_common::udp;
    use lanmeet_common::video;
    use std::time::Duration;

    /// The `'V'` bodies of one frame.
    fn bodies(sender: &str, seq: u32, jpeg: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        video::fragment(sender, seq, jpeg, 1200, |d| {
            out.push(udp::parse(d).unwrap().body.to_vec())
        })
        .unwrap();
        out
    }

    fn push_frame(a: &mut CameraAssembler, sender: &str, seq: u32, now: Instant) -> bool {
        let mut done = None;
        for b in bodies(sender, seq, &[seq as u8; 3000]) {
            if let Some(f) = a.push(sender, &b, now).unwrap() {
                done = Some(f);
            }
        }
        done.is_some_and(|f| f.frame_seq == seq && f.sender == sender)
    }

    #[test]
    fn reassembles_in_order_and_refuses_late_frames() {
        let t0 = Instant::now();
        let mut a = CameraAssembler::new();
        assert!(push_frame(&mut a, "c1", 0, t0));
        assert!(push_frame(&mut a, "c1", 2, t0));
        // Frame 1 came late, after 2 was shown: not shown.
        assert!(!push_frame(&mut a, "c1", 1, t0));
        // Another sender's numbers are its own.
        assert!(push_frame(&mut a, "c2", 0, t0));
    }

    #[test]
    fn a_stream_far_below_the_newest_is_a_restart() {
        let t0 = Instant::now();
        let mut a = CameraAssembler::new();
        for seq in 0..100 {
            assert!(push_frame(&mut a, "c1", seq, t0));
        }
        // The camera restarted at 0 with no video_state seen yet.
        assert!(push_frame(&mut a, "c1", 0, t0));
        assert!(push_frame(&mut a, "c1", 1, t0));
        // Within the gap it is still a late frame of the same stream.
        assert!(!push_frame(&mut a, "c1", 0, t0));
    }

    #[test]
    fn restart_accepts_any_next_number() {
        let t0 = Instant::now();
        let mut a = CameraAssembler::new();
        for seq in 0..10 {
            assert!(push_frame(&mut a, "c1", seq, t0));
        }
        // Only 10 frames: a restart at 0 is not far below...
        assert!(!push_frame(&mut a, "c1", 3, t0));
        // ...but the video_state message says so.
        a.restart("c1");
        assert!(push_frame(&mut a, "c1", 3, t0));
    }

    #[test]
    fn the_loss_watch_reads_restarts_as_the_assembler_does() {
        assert_eq!(crate::core::nack::RESTART_GAP, RESTART_GAP);
    }

    #[test]
    fn incomplete_frames_expire_and_are_counted() {
        let t0 = Instant::now();
        let mut a = CameraAssembler::new();
        let parts = bodies("c1", 0, &[1; 3000]);
        assert!(parts.len() > 1);
        assert_eq!(a.push("c1", &parts[0], t0).unwrap(), None);
        a.expire(t0 + Duration::from_millis(600));
        assert_eq!(a.dropped(), 1);
        assert_eq!(
            a.push("c1", &[0, 0, 0, 1, 0, 0, 0, 0], t0),
            Err(UdpError::BadBody)
        );
    }
}
