//! A connection's queue of frames waiting to be written.
//!
//! The loop never blocks on a slow reader: frames wait here until the socket
//! takes them. Two rules keep one slow reader from hurting anyone else:
//!
//! - screen frames (keyframes) are droppable: a new one replaces every
//!   piece of screen data still waiting (moved to the back, so it never
//!   overtakes messages queued before it);
//! - screen patches (section 19) cannot be dropped one by one, since each
//!   paints over the last: a patch that finds screen data still waiting
//!   (not begun on the wire) drops that data and itself, and
//!   [`OutboundQueue::push_screen_patch`] answers [`PatchPush::Behind`];
//!   the shell tells the core, which sends this reader nothing more of the
//!   screen until the next keyframe. A frame partly written is always
//!   finished. Patches never wait behind more than one keyframe's worth of
//!   screen data, so they do not count towards the limit below;
//! - everything else must arrive in order, so when it passes 8 MiB the
//!   reader is too far behind and the connection is closed instead.
//!
//! ```text
//!  front                                               back
//!  [chat][screen(partly written)][pong][user_left][screen]
//!         ^ head_written bytes gone        ^ replaced by a newer frame
//! ```

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::rc::Rc;

/// Frames gathered into one vectored write.
const MAX_IOVECS: usize = 64;

struct Queued {
    frame: Rc<[u8]>,
    kind: Kind,
}

/// What a queued frame is, for the rules above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Delivered in order; counts towards the limit.
    Reliable,
    /// A screen keyframe.
    Keyframe,
    /// A screen patch.
    Patch,
}

impl Kind {
    fn is_screen(self) -> bool {
        self != Kind::Reliable
    }
}

/// What became of a screen patch handed to [`OutboundQueue::push_screen_patch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchPush {
    /// Queued.
    Queued,
    /// The queue still held screen data not yet begun on the wire: that
    /// data and the patch were dropped. The reader needs a keyframe.
    Behind,
}

/// The queue is over its limit of non-droppable bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// Frames waiting to be written to one connection.
pub struct OutboundQueue {
    frames: VecDeque<Queued>,
    /// Bytes of the front frame already written.
    head_written: usize,
    /// Bytes of non-droppable frames waiting (the limit applies to these).
    reliable_bytes: usize,
    limit: usize,
}

impl OutboundQueue {
    /// An empty queue that overflows past `limit` non-droppable bytes.
    pub fn new(limit: usize) -> OutboundQueue {
        OutboundQueue {
            frames: VecDeque::new(),
            head_written: 0,
            reliable_bytes: 0,
            limit,
        }
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Bytes waiting, droppable ones included.
    pub fn len_bytes(&self) -> usize {
        self.frames.iter().map(|q| q.frame.len()).sum::<usize>() - self.head_written
    }

    /// Queues a frame. A droppable frame (a screen keyframe) replaces the
    /// screen data that has not started going out.
    pub fn push(&mut self, frame: Rc<[u8]>, droppable: bool) -> Result<(), Overflow> {
        let kind = if droppable {
            self.drop_unstarted_screen();
            Kind::Keyframe
        } else {
            if self.reliable_bytes + frame.len() > self.limit {
                return Err(Overflow);
            }
            self.reliable_bytes += frame.len();
            Kind::Reliable
        };
        self.frames.push_back(Queued { frame, kind });
        Ok(())
    }

    /// Queues a screen patch, unless screen data still waits unstarted
    /// (see the module docs). A `catch_up` patch, one of the run a late
    /// joiner gets right after its keyframe, is queued without that check.
    pub fn push_screen_patch(&mut self, frame: Rc<[u8]>, catch_up: bool) -> PatchPush {
        if !catch_up && self.drop_unstarted_screen() {
            return PatchPush::Behind;
        }
        self.frames.push_back(Queued {
            frame,
            kind: Kind::Patch,
        });
        PatchPush::Queued
    }

    /// Whether screen data waits that has not begun to go out (the shell
    /// then tries to write it before it queues a patch: data the socket
    /// takes is on the wire).
    pub fn holds_unstarted_screen(&self) -> bool {
        self.frames
            .iter()
            .enumerate()
            .any(|(i, q)| q.kind.is_screen() && !(i == 0 && self.head_written > 0))
    }

    /// Drops every screen frame not begun on the wire; returns whether
    /// there was one.
    fn drop_unstarted_screen(&mut self) -> bool {
        let before = self.frames.len();
        let mut index = 0;
        let started = self.head_written > 0;
        self.frames.retain(|q| {
            let keep = !q.kind.is_screen() || (index == 0 && started);
            index += 1;
            keep
        });
        self.frames.len() != before
    }

    /// Writes as much as `w` takes without blocking. Returns `Ok(true)` when
    /// the queue is empty afterwards; `WouldBlock` is not an error.
    pub fn write_to(&mut self, w: &mut impl Write) -> io::Result<bool> {
        while !self.frames.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut n = 0;
            for (i, q) in self.frames.iter().take(MAX_IOVECS).enumerate() {
                let start = if i == 0 { self.head_written } else { 0 };
                slices[i] = IoSlice::new(&q.frame[start..]);
                n += 1;
            }
            match w.write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => self.consume(written),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Drops `written` bytes from the front.
    fn consume(&mut self, mut written: usize) {
        while written > 0 {
            let Some(front) = self.frames.front() else {
                return;
            };
            let left = front.frame.len() - self.head_written;
            if written < left {
                self.head_written += written;
                return;
            }
            written -= left;
            self.head_written = 0;
            if let Some(done) = self.frames.pop_front() {
                if done.kind == Kind::Reliable {
                    self.reliable_bytes -= done.frame.len();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(bytes: &[u8]) -> Rc<[u8]> {
        bytes.into()
    }

    /// A writer that takes at most `budget` bytes, then would block.
    struct Trickle {
        got: Vec<u8>,
        budget: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.budget == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.budget);
            self.budget -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_in_order_across_partial_writes() {
        let mut q = OutboundQueue::new(100);
        q.push(f(b"abc"), false).unwrap();
        q.push(f(b"defg"), false).unwrap();
        let mut w = Trickle {
            got: vec![],
            budget: 2,
        };
        assert!(!q.write_to(&mut w).unwrap());
        w.budget = 3;
        assert!(!q.write_to(&mut w).unwrap());
        w.budget = 100;
        assert!(q.write_to(&mut w).unwrap());
        assert_eq!(w.got, b"abcdefg");
        assert!(q.is_empty());
    }

    #[test]
    fn newer_screen_frame_replaces_waiting_one() {
        let mut q = OutboundQueue::new(100);
        q.push(f(b"S1"), true).unwrap();
        q.push(f(b"m"), false).unwrap();
        q.push(f(b"S2"), true).unwrap();
        q.push(f(b"S3"), true).unwrap();
        let mut w = Trickle {
            got: vec![],
            budget: 100,
        };
        q.write_to(&mut w).unwrap();
        assert_eq!(w.got, b"mS3");
    }

    #[test]
    fn started_screen_frame_is_finished_not_replaced() {
        let mut q = OutboundQueue::new(100);
        q.push(f(b"S1xx"), true).unwrap();
        let mut w = Trickle {
            got: vec![],
            budget: 2,
        };
        q.write_to(&mut w).unwrap();
        q.push(f(b"S2yy"), true).unwrap();
        q.push(f(b"S3zz"), true).unwrap();
        w.budget = 100;
        q.write_to(&mut w).unwrap();
        assert_eq!(w.got, b"S1xxS3zz");
    }

    #[test]
    fn a_patch_behind_waiting_screen_data_drops_it() {
        let mut q = OutboundQueue::new(100);
        q.push(f(b"K1"), true).unwrap();
        q.push(f(b"m"), false).unwrap();
        assert_eq!(q.push_screen_patch(f(b"P1"), false), PatchPush::Behind);
        q.push(f(b"n"), false).unwrap();
        let mut w = Trickle {
            got: vec![],
            budget: 100,
        };
        q.write_to(&mut w).unwrap();
        assert_eq!(w.got, b"mn", "the keyframe and the patch are gone");
        // Nothing waits now: the next patch is queued.
        assert_eq!(q.push_screen_patch(f(b"P2"), false), PatchPush::Queued);
    }

    #[test]
    fn a_patch_waits_behind_a_frame_already_begun() {
        let mut q = OutboundQueue::new(100);
        q.push(f(b"K1xx"), true).unwrap();
        let mut w = Trickle {
            got: vec![],
            budget: 1,
        };
        q.write_to(&mut w).unwrap();
        assert_eq!(q.push_screen_patch(f(b"P1"), false), PatchPush::Queued);
        assert_eq!(q.push_screen_patch(f(b"P2"), false), PatchPush::Behind);
        w.budget = 100;
        q.write_to(&mut w).unwrap();
        assert_eq!(w.got, b"K1xx", "the begun keyframe is finished, P1 dropped");
    }

    #[test]
    fn a_keyframe_replaces_waiting_patches_and_catch_up_runs_queue() {
        let mut q = OutboundQueue::new(100);
        q.push(f(b"K1"), true).unwrap();
        assert_eq!(q.push_screen_patch(f(b"P1"), true), PatchPush::Queued);
        assert_eq!(q.push_screen_patch(f(b"P2"), true), PatchPush::Queued);
        q.push(f(b"K2"), true).unwrap();
        let mut w = Trickle {
            got: vec![],
            budget: 100,
        };
        q.write_to(&mut w).unwrap();
        assert_eq!(w.got, b"K2");
    }

    #[test]
    fn reliable_bytes_overflow() {
        let mut q = OutboundQueue::new(10);
        q.push(f(&[0; 6]), false).unwrap();
        q.push(f(&[0; 100]), true).unwrap(); // droppable frames do not count
        assert_eq!(q.push(f(&[0; 5]), false), Err(Overflow));
    }

    #[test]
    fn limit_frees_as_bytes_go_out() {
        let mut q = OutboundQueue::new(10);
        q.push(f(&[1; 8]), false).unwrap();
        let mut w = Trickle {
            got: vec![],
            budget: 100,
        };
        q.write_to(&mut w).unwrap();
        q.push(f(&[2; 8]), false).unwrap();
        assert_eq!(q.len_bytes(), 8);
    }
}
