//! Section 13 on the client: asking for lost video fragments again
//! ([`LossWatch`], the receiver) and re-sending what the server asks for
//! ([`SentVideo`], the sender).
//!
//! At 2% loss a frame of 18 fragments arrives whole only 70% of the time;
//! on a LAN a request and its answer take a millisecond or two, so asking
//! once or twice brings nearly every frame in well within 100 ms.
//!
//! The receiver's rules, per sender (the full layer; this client receives
//! no other):
//!
//! ```text
//!  a fragment of frame F arrives      --> watch F (fragments held, times)
//!  F completes (shown) / is given up  --> forget F and every older frame
//!  F incomplete and                   --> 'N' {F, the fragments F lacks}
//!    (a fragment of a newer frame arrived, or 20 ms passed since F's last fragment)
//!    and F was asked for fewer than 2 times, the last ask 20 ms ago or more,
//!    and F's first fragment came less than 200 ms ago
//! ```
//!
//! A frame whose every fragment was lost is never seen and so never asked
//! for: the next one replaces it. The 20 ms between a frame's two asks is
//! this client's reading of "at most twice per frame" (section 13 does not
//! space them); it gives the first answer time to arrive.
//!
//! The sender keeps every fragment it sent in the last 500 ms (at most
//! [`SENT_MAX_BYTES`]) and re-sends, as ordinary `'V'` datagrams, those
//! the server asks for.
//!
//! Both are plain state driven by the caller's time: no sockets, no clock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use lanmeet_common::nack::{FragmentSet, Layer, Nack};
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video::FragmentHeader;

/// How long after a frame's last fragment a receiver asks for the rest.
pub const ASK_AFTER: Duration = Duration::from_millis(20);
/// Asks per frame at most.
pub const MAX_ASKS: u8 = 2;
/// A frame whose first fragment came longer ago than this is not asked for.
pub const ASK_WITHIN: Duration = Duration::from_millis(200);
/// How long a sender keeps what it sent.
pub const SENT_KEEP_FOR: Duration = Duration::from_millis(500);
/// Bytes a sender keeps at most (500 ms of a 30 fps 640x480 camera is
/// well under a megabyte).
pub const SENT_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Incomplete frames watched per sender, as many as the assembler keeps.
const MAX_WATCHED: usize = 4;
/// A frame this far below the newest one done starts a new stream (the
/// camera restarted): the assembler's `RESTART_GAP`, repeated here so that
/// this file stands alone (the bench includes it).
pub const RESTART_GAP: u32 = 30;

/// One incomplete frame of a sender.
#[derive(Debug, Clone)]
struct Watched {
    frame_seq: u32,
    frag_count: u16,
    have: FragmentSet,
    first_at: Instant,
    last_at: Instant,
    /// A fragment of a newer frame arrived since.
    overtaken: bool,
    asks: u8,
    last_ask: Option<Instant>,
}

impl Watched {
    /// When this frame may next be asked for, if ever.
    fn due(&self) -> Option<Instant> {
        if self.asks >= MAX_ASKS {
            return None;
        }
        let quiet = if self.overtaken {
            self.last_at
        } else {
            self.last_at + ASK_AFTER
        };
        let spaced = self.last_ask.map_or(quiet, |t| t + ASK_AFTER);
        Some(quiet.max(spaced))
    }

    fn missing(&self) -> FragmentSet {
        let mut set = FragmentSet::EMPTY;
        for i in 0..self.frag_count {
            if !self.have.contains(i) {
                set.insert(i);
            }
        }
        set
    }
}

/// Whether `a` comes after `b` in wrapping sequence order.
fn seq_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

#[derive(Debug, Default)]
struct SenderWatch {
    /// The newest frame shown or given up: older ones are not watched.
    done: Option<u32>,
    frames: Vec<Watched>,
}

/// The receiver's side: which frames lack fragments, and when to ask.
#[derive(Debug, Default)]
pub struct LossWatch {
    senders: HashMap<String, SenderWatch>,
    /// Requests sent.
    pub asked: u64,
}

impl LossWatch {
    /// A fragment of `sender`'s frame arrived (before it goes to the
    /// assembler).
    pub fn fragment(&mut self, sender: &str, h: FragmentHeader, now: Instant) {
        let s = match self.senders.get_mut(sender) {
            Some(s) => s,
            None => self.senders.entry(sender.to_string()).or_default(),
        };
        if let Some(done) = s.done {
            if done.wrapping_sub(h.frame_seq) > RESTART_GAP {
                // Far below: the camera restarted (as the assembler reads it).
                *s = SenderWatch::default();
            } else if !seq_after(h.frame_seq, done) {
                return;
            }
        }
        for f in &mut s.frames {
            if seq_after(h.frame_seq, f.frame_seq) {
                f.overtaken = true;
            }
        }
        match s.frames.iter_mut().find(|f| f.frame_seq == h.frame_seq) {
            Some(f) if f.frag_count == h.frag_count => {
                f.have.insert(h.frag_index);
                f.last_at = now;
            }
            Some(_) => {} // a changed count: the assembler refuses it too
            None => {
                if s.frames.len() >= MAX_WATCHED {
                    s.frames.remove(0);
                }
                let mut have = FragmentSet::EMPTY;
                have.insert(h.frag_index);
                s.frames.push(Watched {
                    frame_seq: h.frame_seq,
                    frag_count: h.frag_count,
                    have,
                    first_at: now,
                    last_at: now,
                    overtaken: false,
                    asks: 0,
                    last_ask: None,
                });
            }
        }
    }

    /// `sender`'s frame `frame_seq` was shown: it and older frames are
    /// done (the assembler drops the older ones).
    pub fn shown(&mut self, sender: &str, frame_seq: u32) {
        if let Some(s) = self.senders.get_mut(sender) {
            s.frames.retain(|f| seq_after(f.frame_seq, frame_seq));
            s.done = Some(frame_seq);
        }
    }

    /// `sender` restarted its camera or left: start afresh.
    pub fn forget(&mut self, sender: &str) {
        self.senders.remove(sender);
    }

    /// Builds the requests due at `now` (datagrams from `me`, for the
    /// server) and hands each to `send`; forgets frames too old to ask for.
    pub fn poll(&mut self, me: &str, now: Instant, mut send: impl FnMut(Vec<u8>)) {
        for (sender, s) in &mut self.senders {
            s.frames
                .retain(|f| now.saturating_duration_since(f.first_at) < ASK_WITHIN);
            for f in &mut s.frames {
                if f.due().is_none_or(|due| due > now) {
                    continue;
                }
                let nack = Nack {
                    layer: Layer::Full,
                    sender,
                    frame_seq: f.frame_seq,
                    frag_count: f.frag_count,
                    missing: f.missing(),
                };
                if let Ok(d) = nack.datagram(me) {
                    send(d);
                    self.asked += 1;
                }
                f.asks += 1;
                f.last_ask = Some(now);
            }
        }
        self.senders
            .retain(|_, s| !s.frames.is_empty() || s.done.is_some());
    }

    /// When [`LossWatch::poll`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.senders
            .values()
            .flat_map(|s| s.frames.iter())
            .filter_map(|f| {
                let due = f.due()?;
                (due < f.first_at + ASK_WITHIN).then_some(due)
            })
            .min()
    }
}

/// One fragment the sender sent.
struct SentFragment {
    at: Instant,
    frame_seq: u32,
    frag_index: u16,
    datagram: Vec<u8>,
}

/// The sender's side: what it sent in the last 500 ms.
#[derive(Default)]
pub struct SentVideo {
    sent: VecDeque<SentFragment>,
    bytes: usize,
    /// Buffers of forgotten fragments, reused for new ones.
    spare: Vec<Vec<u8>>,
    /// Fragments re-sent on request.
    pub resent: u64,
}

impl SentVideo {
    /// Keeps a copy of a `'V'` datagram just sent.
    pub fn remember(&mut self, datagram: &[u8], now: Instant) {
        let Ok(d) = udp::parse(datagram) else { return };
        let Ok((h, _)) = FragmentHeader::parse(d.body) else {
            return;
        };
        if d.kind != Kind::Video || datagram.len() > SENT_MAX_BYTES {
            return;
        }
        self.expire(now);
        while self.bytes + datagram.len() > SENT_MAX_BYTES {
            self.pop();
        }
        let mut copy = self.spare.pop().unwrap_or_default();
        copy.clear();
        copy.extend_from_slice(datagram);
        self.bytes += copy.len();
        self.sent.push_back(SentFragment {
            at: now,
            frame_seq: h.frame_seq,
            frag_index: h.frag_index,
            datagram: copy,
        });
    }

    fn pop(&mut self) {
        if let Some(f) = self.sent.pop_front() {
            self.bytes -= f.datagram.len();
            if self.spare.len() < 64 {
                self.spare.push(f.datagram);
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|f| now.saturating_duration_since(f.at) >= SENT_KEEP_FOR)
        {
            self.pop();
        }
    }

    /// The server asks (for fragments it never received) with `nack`:
    /// hands each one still kept to `send`, unchanged.
    pub fn resend(&mut self, nack: &Nack<'_>, now: Instant, mut send: impl FnMut(&[u8])) {
        if nack.layer != Layer::Full {
            return;
        }
        self.expire(now);
        for f in &self.sent {
            if f.frame_seq == nack.frame_seq && nack.missing.contains(f.frag_index) {
                send(&f.datagram);
                self.resent += 1;
            }
        }
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanmeet_common::video;

    fn header(seq: u32, index: u16, count: u16) -> FragmentHeader {
        FragmentHeader {
            frame_seq: seq,
            frag_index: index,
            frag_count: count,
        }
    }

    /// The requests due at `now`, parsed: (sender, frame, missing).
    fn poll(w: &mut LossWatch, now: Instant) -> Vec<(String, u32, Vec<u16>)> {
        let mut out = Vec::new();
        w.poll("me", now, |d| {
            let dg = udp::parse(&d).unwrap();
            assert_eq!((dg.kind, dg.client_id), (Kind::Nack, "me"));
            let n = Nack::parse(dg.body).unwrap();
            out.push((n.sender.to_string(), n.frame_seq, n.missing().collect()));
        });
        out
    }

    #[test]
    fn asks_20_ms_after_the_last_fragment_then_once_more() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = LossWatch::default();
        for i in [0, 1, 3] {
            w.fragment("c1", header(5, i, 5), t0);
        }
        assert_eq!(w.next_deadline(), Some(t0 + ms(20)));
        assert!(poll(&mut w, t0 + ms(19)).is_empty());
        assert_eq!(poll(&mut w, t0 + ms(20)), [("c1".into(), 5, vec![2, 4])]);
        // Fragment 2 comes back; 4 does not: asked again 20 ms later.
        w.fragment("c1", header(5, 2, 5), t0 + ms(22));
        assert!(poll(&mut w, t0 + ms(41)).is_empty());
        assert_eq!(poll(&mut w, t0 + ms(42)), [("c1".into(), 5, vec![4])]);
        // Never a third time.
        assert_eq!(w.next_deadline(), None);
        assert!(poll(&mut w, t0 + ms(100)).is_empty());
        assert_eq!(w.asked, 2);
    }

    #[test]
    fn a_newer_frame_makes_the_incomplete_one_due_at_once() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = LossWatch::default();
        w.fragment("c1", header(1, 0, 3), t0);
        w.fragment("c1", header(1, 2, 3), t0);
        w.fragment("c1", header(2, 0, 3), t0 + ms(1));
        assert_eq!(poll(&mut w, t0 + ms(1)), [("c1".into(), 1, vec![1])]);
        // Another sender is not affected.
        w.fragment("c2", header(9, 0, 2), t0 + ms(1));
        assert!(poll(&mut w, t0 + ms(2)).is_empty());
    }

    #[test]
    fn shown_given_up_and_old_frames_are_not_asked_for() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = LossWatch::default();
        w.fragment("c1", header(1, 0, 3), t0);
        w.fragment("c1", header(2, 0, 3), t0);
        // Frame 3 completes: 1 and 2 are given up by the assembler.
        w.shown("c1", 3);
        assert!(poll(&mut w, t0 + ms(50)).is_empty());
        // A late fragment of frame 2 does not bring it back.
        w.fragment("c1", header(2, 1, 3), t0 + ms(50));
        assert!(poll(&mut w, t0 + ms(80)).is_empty());
        // A frame first seen 200 ms ago is too old, even unasked.
        w.fragment("c1", header(4, 0, 3), t0 + ms(100));
        w.fragment("c1", header(4, 1, 3), t0 + ms(290));
        assert!(poll(&mut w, t0 + ms(300)).is_empty());
        assert_eq!(w.next_deadline(), None);
        // A restart forgets what was shown.
        w.forget("c1");
        w.fragment("c1", header(0, 0, 2), t0 + ms(300));
        assert_eq!(poll(&mut w, t0 + ms(320)), [("c1".into(), 0, vec![1])]);
    }

    #[test]
    fn the_sender_resends_what_it_kept_for_500_ms() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = SentVideo::default();
        let mut frags = Vec::new();
        video::fragment("c1", 4, &[7u8; 5000], 1400, |d| frags.push(d.to_vec())).unwrap();
        for d in &frags {
            s.remember(d, t0);
        }
        let mut missing = FragmentSet::EMPTY;
        missing.insert(1);
        missing.insert(3);
        let nack = Nack {
            layer: Layer::Full,
            sender: "c1",
            frame_seq: 4,
            frag_count: frags.len() as u16,
            missing,
        };
        let mut out = Vec::new();
        s.resend(&nack, t0 + ms(499), |d| out.push(d.to_vec()));
        assert_eq!(out, [frags[1].clone(), frags[3].clone()]);
        out.clear();
        s.resend(&nack, t0 + ms(500), |d| out.push(d.to_vec()));
        assert!(out.is_empty());
        assert_eq!(s.bytes(), 0);
    }

    #[test]
    fn the_sender_keeps_at_most_its_byte_limit() {
        let t0 = Instant::now();
        let mut s = SentVideo::default();
        let mut frags = Vec::new();
        video::fragment("c1", 0, &vec![1u8; 250 * 60_000], 65_000, |d| {
            frags.push(d.to_vec())
        })
        .unwrap();
        for d in &frags {
            s.remember(d, t0);
            assert!(s.bytes() <= SENT_MAX_BYTES);
        }
    }
}
