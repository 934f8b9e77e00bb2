//! Section 13 on the server: the fragments relayed in the last 500 ms,
//! re-sent when a receiver asks for them with an `'N'` datagram.
//!
//! ```text
//!  sender --'V' frag--> relay to everyone (media.rs) ---> and keep a copy here,
//!                       only while someone in the meeting named "nack"
//!
//!  receiver --'N' {sender, frame_seq, missing}--> for each missing fragment i:
//!      held, and sent to this receiver fewer than 2 times  --> re-send, byte for byte,
//!                                                              to that receiver only
//!      never received (the frame is known, i is not) and   --> gather i into one 'N'
//!      not asked before                                         (id_len 0) to the sender
//!  'N' for a sender, layer or frame not held  --> dropped, counted (`nack_unknown`)
//! ```
//!
//! Memory: per sender a byte ring of at most 2 MiB holding whole
//! datagrams, oldest first, and at most [`MAX_FRAMES`] frame records. Both
//! grow to their working size and are then reused, so relaying a fragment
//! allocates nothing once warm; a frame record's lists are recycled with
//! it. A sender's cache is emptied 500 ms after its last fragment and
//! dropped when it leaves. A fragment evicted to make room for newer ones
//! is no longer held (and is not asked for again: the server did get it).
//!
//! Time: `on_datagram` carries no time, so the cache uses the core's latest
//! time (`Core::now`), which the loop's timers move on at least every
//! 10 ms (the mixer tick): fine for a 500 ms window.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::ops::Range;
use std::time::{Duration, Instant};

use lanmeet_common::features::{Feature, SERVER_FEATURES};
use lanmeet_common::nack::{FragmentSet, Layer, Nack};
use lanmeet_common::video::FragmentHeader;

use super::meeting::Participant;
use super::{ConnId, Outbox};

/// How long a relayed fragment is kept for a re-send.
pub const KEEP_FOR: Duration = Duration::from_millis(500);
/// Bytes of datagrams kept per sender at most.
pub const MAX_BYTES_PER_SENDER: usize = 2 * 1024 * 1024;
/// Frames kept per sender at most (500 ms at 30 fps is 15; a sender of
/// many tiny frames loses its oldest first).
pub const MAX_FRAMES: usize = 64;
/// Times one fragment is re-sent to one receiver at most.
pub const MAX_RESENDS: u8 = 2;

/// Whether `p` named `"nack"` (and this server implements it): only such
/// a client may send `'N'` or be sent one.
pub(super) fn named_nack(p: &Participant) -> bool {
    SERVER_FEATURES.contains(Feature::Nack) && p.features.is_some_and(|f| f.contains(Feature::Nack))
}

/// One kept fragment: where its datagram lies in the ring.
#[derive(Debug, Clone, Copy)]
struct Kept {
    index: u16,
    /// Absolute position in the ring (see [`SenderCache::front`]).
    start: u64,
    len: u32,
}

/// Re-sends of one fragment to one receiver.
#[derive(Debug, Clone, Copy)]
struct Resent {
    receiver: ConnId,
    index: u16,
    times: u8,
}

/// What is known of one frame of a sender.
#[derive(Debug, Default)]
struct FrameRecord {
    frame_seq: u32,
    frag_count: u16,
    /// When its newest fragment was kept.
    last_at: Option<Instant>,
    /// Fragments received (kept, or kept and evicted for room).
    have: FragmentSet,
    /// Fragments already asked of the sender.
    asked: FragmentSet,
    kept: Vec<Kept>,
    resent: Vec<Resent>,
}

/// The last 500 ms of one sender's full layer.
#[derive(Debug, Default)]
struct SenderCache {
    /// Datagrams back to back, oldest first.
    ring: VecDeque<u8>,
    /// The absolute position of `ring[0]`: positions only grow, so a
    /// fragment whose start is below it has been evicted.
    front: u64,
    frames: VecDeque<FrameRecord>,
    /// Frame records to reuse (their lists keep their capacity).
    spare: Vec<FrameRecord>,
}

impl SenderCache {
    /// Forgets frames whose newest fragment is 500 ms old, and the bytes
    /// only they used.
    fn expire(&mut self, now: Instant) {
        let mut popped = false;
        while let Some(f) = self.frames.front() {
            let old = f
                .last_at
                .is_none_or(|t| now.saturating_duration_since(t) >= KEEP_FOR);
            if !old {
                break;
            }
            if let Some(f) = self.frames.pop_front() {
                self.recycle(f);
            }
            popped = true;
        }
        if !popped {
            return;
        }
        let end = self.front + self.ring.len() as u64;
        let keep_from = self
            .frames
            .iter()
            .filter_map(|f| f.kept.first().map(|k| k.start))
            .min()
            .unwrap_or(end)
            .max(self.front);
        self.evict_to(keep_from);
        if self.frames.is_empty() {
            // Quiet sender: give the memory back; a new burst grows it again.
            self.ring = VecDeque::new();
        }
    }

    fn evict_to(&mut self, position: u64) {
        let n = (position - self.front) as usize;
        self.ring.drain(..n.min(self.ring.len()));
        self.front = position;
    }

    fn recycle(&mut self, mut f: FrameRecord) {
        f.kept.clear();
        f.resent.clear();
        f.have = FragmentSet::EMPTY;
        f.asked = FragmentSet::EMPTY;
        f.last_at = None;
        self.spare.push(f);
    }

    /// Keeps `datagram`, a relayed fragment with header `h`.
    fn keep(&mut self, h: FragmentHeader, datagram: &[u8], now: Instant) {
        self.expire(now);
        let len = datagram.len();
        if len > MAX_BYTES_PER_SENDER {
            return;
        }
        let at = match self.frames.iter().rposition(|f| f.frame_seq == h.frame_seq) {
            Some(at) => at,
            None => {
                if self.frames.len() >= MAX_FRAMES {
                    if let Some(f) = self.frames.pop_front() {
                        self.recycle(f);
                    }
                }
                let mut f = self.spare.pop().unwrap_or_default();
                f.frame_seq = h.frame_seq;
                f.frag_count = h.frag_count;
                self.frames.push_back(f);
                self.frames.len() - 1
            }
        };
        let f = &self.frames[at];
        if f.frag_count != h.frag_count || f.have.contains(h.frag_index) {
            return; // a copy already kept, or not this frame after all
        }
        let over = (self.ring.len() + len).saturating_sub(MAX_BYTES_PER_SENDER);
        if over > 0 {
            let to = self.front + over as u64;
            self.evict_to(to);
        }
        let start = self.front + self.ring.len() as u64;
        self.ring.extend(datagram);
        let f = &mut self.frames[at];
        f.kept.push(Kept {
            index: h.frag_index,
            start,
            len: len as u32,
        });
        f.have.insert(h.frag_index);
        f.last_at = Some(now);
    }

    /// The ring positions of fragment `index` of `frame`, if still held.
    fn held(&self, frame: &FrameRecord, index: u16) -> Option<Range<u64>> {
        let k = frame.kept.iter().find(|k| k.index == index)?;
        (k.start >= self.front).then(|| k.start..k.start + u64::from(k.len))
    }

    /// Copies the bytes at `range` (absolute positions) into `out`.
    fn copy(&self, range: Range<u64>, out: &mut Vec<u8>) {
        out.clear();
        let from = (range.start - self.front) as usize;
        let to = (range.end - self.front) as usize;
        let (a, b) = self.ring.as_slices();
        if to <= a.len() {
            out.extend_from_slice(&a[from..to]);
        } else if from >= a.len() {
            out.extend_from_slice(&b[from - a.len()..to - a.len()]);
        } else {
            out.extend_from_slice(&a[from..]);
            out.extend_from_slice(&b[..to - a.len()]);
        }
    }
}

/// What a NACK led to, for the counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Answer {
    /// Fragments re-sent to the receiver.
    pub resent: u64,
    /// Whether the sender was asked for fragments the server never got.
    pub asked_sender: bool,
}

/// Every sender's cache.
#[derive(Default)]
pub(super) struct NackCaches {
    senders: HashMap<String, SenderCache>,
    /// Section 11: the same for thumbnail layers (`'T'`).
    thumbs: HashMap<String, SenderCache>,
    /// Scratch for one datagram being re-sent or built.
    scratch: Vec<u8>,
}

impl NackCaches {
    fn caches(&mut self, layer: Layer) -> &mut HashMap<String, SenderCache> {
        match layer {
            Layer::Full => &mut self.senders,
            Layer::Thumb => &mut self.thumbs,
        }
    }

    /// Keeps a copy of a relayed fragment of `sender`'s `layer`.
    pub(super) fn keep(
        &mut self,
        sender: &str,
        layer: Layer,
        h: FragmentHeader,
        datagram: &[u8],
        now: Instant,
    ) {
        let caches = self.caches(layer);
        let cache = match caches.get_mut(sender) {
            Some(c) => c,
            None => caches.entry(sender.to_string()).or_default(),
        };
        cache.keep(h, datagram, now);
    }

    /// Answers `nack` from `receiver` (bound at `receiver_addr`, connection
    /// `receiver_conn`) about a frame of `sender`. `None` when the sender,
    /// layer or frame is not known: the NACK is dropped.
    pub(super) fn answer(
        &mut self,
        nack: &Nack<'_>,
        receiver_conn: ConnId,
        receiver_addr: SocketAddr,
        sender_addr: Option<SocketAddr>,
        now: Instant,
        out: &mut Outbox,
    ) -> Option<Answer> {
        let cache = match nack.layer {
            Layer::Full => self.senders.get_mut(nack.sender)?,
            Layer::Thumb => self.thumbs.get_mut(nack.sender)?,
        };
        cache.expire(now);
        let at = cache
            .frames
            .iter()
            .rposition(|f| f.frame_seq == nack.frame_seq && f.frag_count == nack.frag_count)?;
        let mut answer = Answer::default();
        let mut ask = FragmentSet::EMPTY;
        for index in nack.missing() {
            let frame = &cache.frames[at];
            if !frame.have.contains(index) {
                if !frame.asked.contains(index) {
                    ask.insert(index);
                }
                continue;
            }
            let Some(range) = cache.held(frame, index) else {
                continue; // evicted for room
            };
            let frame = &mut cache.frames[at];
            let times = match frame
                .resent
                .iter_mut()
                .find(|r| r.receiver == receiver_conn && r.index == index)
            {
                Some(r) if r.times >= MAX_RESENDS => continue,
                Some(r) => {
                    r.times += 1;
                    r.times
                }
                None => {
                    frame.resent.push(Resent {
                        receiver: receiver_conn,
                        index,
                        times: 1,
                    });
                    1
                }
            };
            debug_assert!(times <= MAX_RESENDS);
            cache.copy(range, &mut self.scratch);
            out.datagram(receiver_addr, &self.scratch);
            answer.resent += 1;
        }
        if let (false, Some(to)) = (ask.is_empty(), sender_addr) {
            let frame = &mut cache.frames[at];
            for index in ask.iter(frame.frag_count) {
                frame.asked.insert(index);
            }
            let request = Nack {
                layer: nack.layer,
                sender: nack.sender,
                frame_seq: nack.frame_seq,
                frag_count: nack.frag_count,
                missing: ask,
            };
            if request.write_datagram("", &mut self.scratch).is_ok() {
                out.datagram(to, &self.scratch);
                answer.asked_sender = true;
            }
        }
        Some(answer)
    }

    /// Empties caches of senders quiet for 500 ms.
    pub(super) fn sweep(&mut self, now: Instant) {
        for caches in [&mut self.senders, &mut self.thumbs] {
            caches.retain(|_, c| {
                c.expire(now);
                !c.frames.is_empty()
            });
        }
    }

    /// Drops a sender's cache (it left).
    pub(super) fn forget(&mut self, sender: &str) {
        self.senders.remove(sender);
        self.thumbs.remove(sender);
    }

    /// Bytes held in all caches' rings (for tests and the log).
    pub(super) fn bytes_held(&self) -> usize {
        let held =
            |m: &HashMap<String, SenderCache>| m.values().map(|c| c.ring.len()).sum::<usize>();
        held(&self.senders) + held(&self.thumbs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanmeet_common::video;

    fn frame(sender: &str, seq: u32, bytes: usize) -> Vec<Vec<u8>> {
        let jpeg: Vec<u8> = (0..bytes).map(|i| (i * 7 + seq as usize) as u8).collect();
        let mut out = Vec::new();
        video::fragment(sender, seq, &jpeg, 1400, |d| out.push(d.to_vec())).unwrap();
        out
    }

    fn header(d: &[u8]) -> FragmentHeader {
        let body = lanmeet_common::udp::parse(d).unwrap().body;
        FragmentHeader::parse(body).unwrap().0
    }

    #[test]
    fn the_ring_keeps_whole_datagrams_across_its_wrap_and_within_2_mib() {
        let t0 = Instant::now();
        let mut cache = SenderCache::default();
        // 40 frames of 100 KB (72 datagrams each): 4 MB through a 2 MiB ring.
        let mut last = Vec::new();
        for seq in 0..40u32 {
            last = frame("c1", seq, 100_000);
            for d in &last {
                cache.keep(header(d), d, t0);
            }
            assert!(cache.ring.len() <= MAX_BYTES_PER_SENDER);
        }
        // Every fragment of the newest frame reads back byte for byte.
        let f = cache.frames.back().unwrap();
        let mut out = Vec::new();
        for (i, d) in last.iter().enumerate() {
            let range = cache.held(f, i as u16).unwrap();
            cache.copy(range, &mut out);
            assert_eq!(&out, d);
        }
        // The oldest frames were evicted for room.
        let first = cache.frames.front().unwrap();
        assert!(cache.held(first, 0).is_none() || first.frame_seq > 0);
        // 500 ms after the last fragment everything goes, memory too.
        cache.expire(t0 + KEEP_FOR);
        assert!(cache.frames.is_empty());
        assert_eq!(cache.ring.capacity(), 0);
    }

    #[test]
    fn frame_records_are_bounded_and_reused() {
        let t0 = Instant::now();
        let mut cache = SenderCache::default();
        for seq in 0..1000u32 {
            for d in frame("c1", seq, 100) {
                cache.keep(header(&d), &d, t0);
            }
        }
        assert_eq!(cache.frames.len(), MAX_FRAMES);
        assert!(cache.spare.len() <= 1);
    }
}
