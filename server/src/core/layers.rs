//! Section 11 on the server: video layers, subscriptions and last-N.
//!
//! A sender may send two layers, `'V'` (full) and `'T'` (thumbnail). Each
//! receiver that named `"layers"` may say with `video_subscribe` which
//! layer of whom it wants; the relay forwards only that.
//!
//! ```text
//!  on an event (subscribe, join, leave, a layer starting or going quiet
//!  for 2 s, the speaking order changing):
//!      for each receiver r and sender s:  target[r][s] = full | thumb | none
//!          (overrides, else default cut by last_n; then the fall-back to
//!           the other layer when s sent none of the wanted one in 2 s)
//!      each change moves r's per-layer forwarding state for s:
//!          wanted layer:   Off -> Start (waits for a fragment 0)
//!          unwanted layer: On  -> Finish(frame being sent), Start -> Off
//!      and sets r's bit in s's per-layer receiver mask (state != Off)
//!
//!  per relayed fragment of s, layer l:   for each bit r of mask[s][l]:
//!      On: send | Start: send from fragment 0 on (then On)
//!      Finish(g): send fragments of frame g only; a newer frame -> Off
//! ```
//!
//! So a receiver never gets a frame that began before it asked for that
//! layer, nor a new frame of a layer it no longer wants, and the old layer
//! still completes the frame it was in. The per-fragment work is one
//! lookup of the sender, then a walk over the bits of the receivers in
//! the steady `On` state (an address each, from one array) plus one state
//! step per receiver in a change: members have stable slots (0..64, a
//! meeting's limit) and masks are `u64`s, so it allocates nothing. A receiver that never subscribed (any version 1
//! client) has every sender's full layer `On` from the start, exactly the
//! relay of section 9, and is never sent `'T'`.
//!
//! `video_layers_wanted` goes to each sender that named `"layers"` on
//! join and on every change, at most 4 a second; a change inside the
//! interval is sent when it ends (the latest state, never dropped).

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lanmeet_common::features::{Feature, SERVER_FEATURES};
use lanmeet_common::message::{ErrorCode, LayerChoice, ServerMessage};
use lanmeet_common::nack::Layer;
use lanmeet_common::video::FragmentHeader;

use super::fasthash::IssuedMap;
use super::meeting::{Meeting, Participant};
use super::speaking::{Speaking, SpeakingOrder};
use super::{ConnId, Core, Outbox};

/// A layer not received for this long is taken as not sent (the
/// fall-back, and `last_n` ranks only senders with video this fresh).
pub const FRESH_FOR: Duration = Duration::from_secs(2);
/// At most 4 `video_layers_wanted` a second to one sender.
pub const WANTED_INTERVAL: Duration = Duration::from_millis(250);
/// Slots per meeting: the participant limit of section 10.
const SLOTS: usize = 64;

/// Whether `p` named `feature` and this server implements it.
pub(super) fn named(p: &Participant, feature: Feature) -> bool {
    SERVER_FEATURES.contains(feature) && p.features.is_some_and(|f| f.contains(feature))
}

fn index(layer: Layer) -> usize {
    match layer {
        Layer::Full => 0,
        Layer::Thumb => 1,
    }
}

const BOTH: [Layer; 2] = [Layer::Full, Layer::Thumb];

/// How one layer of one sender goes to one receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fwd {
    /// Not sent.
    Off,
    /// Wanted: sent from the next fragment 0 on; until then the rest of
    /// frame `Some(g)`, begun before, is still sent.
    Start(Option<u32>),
    /// Sent.
    On,
    /// No longer wanted: only the rest of frame `g` is sent.
    Finish(u32),
}

/// A receiver's `video_subscribe`.
#[derive(Debug, Clone)]
pub(super) struct Subscription {
    pub default: LayerChoice,
    pub last_n: Option<u32>,
    pub overrides: Vec<(String, LayerChoice)>,
}

/// A sender the default applies to, for `last_n`: its slot, whether it
/// sends video, and its rank key (larger = spoke more recently).
type Ranked = (usize, bool, (Option<Instant>, Reverse<u64>));

/// One participant, as sender and as receiver.
struct Member {
    client_id: String,
    conn: ConnId,
    addr: Option<SocketAddr>,
    /// Named `"layers"`: may subscribe, may be sent `'T'` and
    /// `video_layers_wanted`.
    layers: bool,
    /// Named `"nack"`: may ask for fragments again (section 13).
    nack: bool,
    /// Position in join order (never-spoken senders rank by it).
    joined: u64,
    subscription: Option<Subscription>,
    // As a sender:
    /// When each layer was last received from it.
    last_received: [Option<Instant>; 2],
    /// Whether each layer counts as sent (received in the last 2 s).
    fresh: [bool; 2],
    /// The `(full, thumb)` last sent to it, and when.
    wanted_sent: Option<(bool, bool)>,
    wanted_sent_at: Option<Instant>,
    /// The `(full, thumb)` it should have now.
    wanted_now: (bool, bool),
    // As a receiver, per sender slot:
    target: [LayerChoice; SLOTS],
    fwd: [[Fwd; 2]; SLOTS],
}

/// One meeting's members by slot.
struct Room {
    slots: Vec<Option<Member>>,
    /// `[sender slot][layer]`: the receiver slots whose state is not `Off`.
    masks: [[u64; 2]; SLOTS],
    /// `[sender slot][layer]`: the receiver slots whose state is `On`, the
    /// steady state: they get every fragment, with no state to step.
    on: [[u64; 2]; SLOTS],
    /// Each slot's bound address (its member's `addr`), next to the masks
    /// so that relaying a fragment reads no `Member`.
    addrs: [Option<SocketAddr>; SLOTS],
    next_joined: u64,
    /// `[sender slot][layer]`: the newest frame relayed.
    latest: [[Option<u32>; 2]; SLOTS],
    /// client_id -> slot.
    ids: IssuedMap<String, usize>,
    /// The slots of members with a bound address that named `"nack"`:
    /// whether a relayed fragment is worth keeping, without a look at
    /// every member per fragment.
    nack_askers: u64,
}

impl Room {
    fn new() -> Room {
        Room {
            slots: (0..SLOTS).map(|_| None).collect(),
            masks: [[0; 2]; SLOTS],
            on: [[0; 2]; SLOTS],
            addrs: [None; SLOTS],
            next_joined: 0,
            latest: [[None; 2]; SLOTS],
            ids: IssuedMap::default(),
            nack_askers: 0,
        }
    }

    fn slot_of(&self, client_id: &str) -> Option<usize> {
        self.ids.get(client_id).copied()
    }

    fn set_fwd(&mut self, r: usize, s: usize, l: usize, state: Fwd) {
        if let Some(m) = self.slots[r].as_mut() {
            m.fwd[s][l] = state;
        }
        let bit = 1u64 << r;
        if state == Fwd::Off {
            self.masks[s][l] &= !bit;
        } else {
            self.masks[s][l] |= bit;
        }
        if state == Fwd::On {
            self.on[s][l] |= bit;
        } else {
            self.on[s][l] &= !bit;
        }
    }

    /// Receiver `r` now wants `target` of sender `s`.
    fn retarget(&mut self, r: usize, s: usize, target: LayerChoice) {
        let Some(m) = self.slots[r].as_ref() else {
            return;
        };
        if m.target[s] == target {
            return;
        }
        // A receiver `On` got the sender's latest frame of that layer.
        let (fwd, last) = (m.fwd[s], self.latest[s]);
        if let Some(m) = self.slots[r].as_mut() {
            m.target[s] = target;
        }
        for layer in BOTH {
            let l = index(layer);
            let wanted = matches!(
                (layer, target),
                (Layer::Full, LayerChoice::Full) | (Layer::Thumb, LayerChoice::Thumb)
            );
            let next = match (wanted, fwd[l]) {
                (true, Fwd::Off) => Fwd::Start(None),
                (true, Fwd::Finish(g)) => Fwd::Start(Some(g)),
                (true, other) => other,
                (false, Fwd::On) => last[l].map_or(Fwd::Off, Fwd::Finish),
                (false, Fwd::Start(Some(g))) => Fwd::Finish(g),
                (false, Fwd::Start(None)) => Fwd::Off,
                (false, other) => other,
            };
            self.set_fwd(r, s, l, next);
        }
    }

    /// Sets every receiver's target for every sender from subscriptions,
    /// freshness and the speaking order, and each sender's wanted layers.
    fn recompute(&mut self, order: &SpeakingOrder, scratch: &mut Vec<Ranked>) {
        let mut wanted = [(false, false); SLOTS];
        for r in 0..SLOTS {
            let Some(receiver) = self.slots[r].as_ref() else {
                continue;
            };
            let receiver_layers = receiver.layers;
            let subscribed = receiver.subscription.is_some();
            let mut targets = [LayerChoice::None; SLOTS];
            match &receiver.subscription {
                None => {
                    for (s, t) in targets.iter_mut().enumerate() {
                        if s != r && self.slots[s].is_some() {
                            *t = LayerChoice::Full;
                        }
                    }
                }
                Some(sub) => {
                    // Senders the default applies to, ranked for last_n:
                    // (slot, sends video, rank key).
                    scratch.clear();
                    for (s, sender) in self.slots.iter().enumerate() {
                        let Some(sender) = sender else { continue };
                        if s == r {
                            continue;
                        }
                        match sub.overrides.iter().find(|(id, _)| *id == sender.client_id) {
                            Some((_, choice)) => targets[s] = *choice,
                            None => {
                                targets[s] = sub.default;
                                let sends = sender.fresh[0] || sender.fresh[1];
                                scratch.push((
                                    s,
                                    sends,
                                    order.rank(&sender.client_id, sender.joined),
                                ));
                            }
                        }
                    }
                    if let (Some(n), false) = (sub.last_n, sub.default == LayerChoice::None) {
                        // Most recent speakers first (a larger key is more recent).
                        scratch.sort_by_key(|&(_, _, key)| Reverse(key));
                        let mut kept = 0u32;
                        for &(s, sends, _) in scratch.iter() {
                            // A sender with no video is not ranked; it keeps
                            // the default so that its layers stay wanted.
                            if !sends {
                                continue;
                            }
                            if kept < n {
                                kept += 1;
                            } else {
                                targets[s] = LayerChoice::None;
                            }
                        }
                    }
                }
            }
            for (s, choice) in targets.iter_mut().enumerate() {
                let Some(sender) = self.slots[s].as_ref() else {
                    continue;
                };
                let w = &mut wanted[s];
                match *choice {
                    LayerChoice::Full => w.0 = true,
                    LayerChoice::Thumb => {
                        w.1 = true;
                        w.0 |= !sender.fresh[1]; // it sends no thumbnail
                    }
                    LayerChoice::None => {}
                }
                if !subscribed {
                    continue; // section 9: every full layer, nothing else
                }
                // Fall back to the other layer when only it is being sent.
                *choice = match *choice {
                    LayerChoice::Full if !sender.fresh[0] && sender.fresh[1] => LayerChoice::Thumb,
                    LayerChoice::Thumb if !sender.fresh[1] && sender.fresh[0] => LayerChoice::Full,
                    c => c,
                };
                if *choice == LayerChoice::Thumb && !receiver_layers {
                    *choice = LayerChoice::None; // never 'T' to a version 1 client
                }
            }
            for (s, &t) in targets.iter().enumerate() {
                if self.slots[s].is_some() && s != r {
                    self.retarget(r, s, t);
                }
            }
        }
        for (s, w) in wanted.into_iter().enumerate() {
            if let Some(m) = self.slots[s].as_mut() {
                m.wanted_now = w;
            }
        }
    }

    /// Sends `video_layers_wanted` to senders whose wanted layers changed,
    /// at most one per [`WANTED_INTERVAL`] each.
    fn send_wanted(&mut self, now: Instant, out: &mut Outbox) {
        for m in self.slots.iter_mut().flatten() {
            if !m.layers || m.wanted_sent == Some(m.wanted_now) {
                continue;
            }
            if m.wanted_sent_at
                .is_some_and(|at| now.saturating_duration_since(at) < WANTED_INTERVAL)
            {
                continue; // sent when the interval ends
            }
            let (full, thumb) = m.wanted_now;
            out.send(m.conn, &ServerMessage::VideoLayersWanted { full, thumb });
            m.wanted_sent = Some(m.wanted_now);
            m.wanted_sent_at = Some(now);
        }
    }
}

/// Every meeting's layer state, by meeting code.
#[derive(Default)]
pub(super) struct Layers {
    rooms: IssuedMap<String, Room>,
    /// Scratch for ranking.
    scratch: Vec<Ranked>,
}

impl Layers {
    /// Brings meeting `code`'s members in line with its participants
    /// (joins, leaves, addresses, features), then recomputes.
    pub(super) fn sync(
        &mut self,
        code: &str,
        meeting: Option<&Meeting>,
        order: &SpeakingOrder,
        now: Instant,
        out: &mut Outbox,
    ) {
        let Some(meeting) = meeting else {
            self.rooms.remove(code);
            return;
        };
        let room = match self.rooms.get_mut(code) {
            Some(r) => r,
            None => self.rooms.entry(code.to_string()).or_insert_with(Room::new),
        };
        // Leaves.
        for s in 0..SLOTS {
            let gone = room.slots[s]
                .as_ref()
                .is_some_and(|m| meeting.participant(&m.client_id).is_none());
            if gone {
                if let Some(m) = room.slots[s].take() {
                    room.ids.remove(&m.client_id);
                }
                room.masks[s] = [0; 2];
                room.on[s] = [0; 2];
                room.latest[s] = [None; 2];
                room.addrs[s] = None;
                // Nor is it a receiver any more (a newcomer may take its slot).
                for sender in 0..SLOTS {
                    for l in 0..2 {
                        room.masks[sender][l] &= !(1u64 << s);
                        room.on[sender][l] &= !(1u64 << s);
                    }
                }
                for r in 0..SLOTS {
                    room.set_fwd(r, s, 0, Fwd::Off);
                    room.set_fwd(r, s, 1, Fwd::Off);
                    if let Some(m) = room.slots[r].as_mut() {
                        m.target[s] = LayerChoice::None;
                    }
                }
            }
        }
        // Joins and updates.
        for p in &meeting.participants {
            let layers = named(p, Feature::Layers);
            let nack = named(p, Feature::Nack);
            if let Some(s) = room.slot_of(&p.client_id) {
                let m = room.slots[s].as_mut().expect("slot_of found it");
                m.addr = p.udp_addr;
                m.conn = p.conn;
                m.layers = layers;
                m.nack = nack;
                room.addrs[s] = p.udp_addr;
                continue;
            }
            let Some(s) = room.slots.iter().position(Option::is_none) else {
                continue; // never: a meeting holds at most 64
            };
            room.ids.insert(p.client_id.clone(), s);
            room.addrs[s] = p.udp_addr;
            room.slots[s] = Some(Member {
                client_id: p.client_id.clone(),
                conn: p.conn,
                addr: p.udp_addr,
                layers,
                nack,
                joined: room.next_joined,
                subscription: None,
                last_received: [None; 2],
                fresh: [false; 2],
                wanted_sent: None,
                wanted_sent_at: None,
                wanted_now: (false, false),
                target: [LayerChoice::None; SLOTS],
                fwd: [[Fwd::Off; 2]; SLOTS],
            });
            room.next_joined += 1;
            // Section 9: everyone unsubscribed gets every full layer, the
            // newcomer's included, from its very next fragment on.
            for other in 0..SLOTS {
                if other == s {
                    continue;
                }
                let Some(m) = room.slots[other].as_ref() else {
                    continue;
                };
                let other_subscribed = m.subscription.is_some();
                room.set_fwd(s, other, 0, Fwd::On);
                room.slots[s].as_mut().expect("just set").target[other] = LayerChoice::Full;
                if !other_subscribed {
                    room.set_fwd(other, s, 0, Fwd::On);
                    room.slots[other].as_mut().expect("checked").target[s] = LayerChoice::Full;
                }
            }
        }
        room.nack_askers = room
            .slots
            .iter()
            .enumerate()
            .filter(|(_, m)| m.as_ref().is_some_and(|m| m.nack && m.addr.is_some()))
            .fold(0, |bits, (s, _)| bits | 1u64 << s);
        room.recompute(order, &mut self.scratch);
        room.send_wanted(now, out);
    }

    /// A `video_subscribe` from `client_id`. Returns false when the client
    /// may not subscribe (it did not name `"layers"`).
    pub(super) fn subscribe(
        &mut self,
        code: &str,
        client_id: &str,
        subscription: Subscription,
        order: &SpeakingOrder,
        now: Instant,
        out: &mut Outbox,
    ) -> bool {
        let Some(room) = self.rooms.get_mut(code) else {
            return false;
        };
        let Some(m) = room
            .slot_of(client_id)
            .and_then(|r| room.slots[r].as_mut())
            .filter(|m| m.layers)
        else {
            return false;
        };
        m.subscription = Some(subscription);
        room.recompute(order, &mut self.scratch);
        room.send_wanted(now, out);
        true
    }

    /// The speaking order of meeting `code` changed: `last_n` may pick
    /// other senders.
    pub(super) fn reorder(
        &mut self,
        code: &str,
        order: &SpeakingOrder,
        now: Instant,
        out: &mut Outbox,
    ) {
        if let Some(room) = self.rooms.get_mut(code) {
            let uses_last_n = room
                .slots
                .iter()
                .flatten()
                .any(|m| m.subscription.as_ref().is_some_and(|s| s.last_n.is_some()));
            if uses_last_n {
                room.recompute(order, &mut self.scratch);
                room.send_wanted(now, out);
            }
        }
    }

    /// Notices layers gone quiet for 2 s (the fall-back) and sends the
    /// `video_layers_wanted` held back by the rate limit.
    pub(super) fn tick(&mut self, speaking: &Speaking, now: Instant, out: &mut Outbox) {
        for (code, room) in self.rooms.iter_mut() {
            let mut changed = false;
            for m in room.slots.iter_mut().flatten() {
                for l in 0..2 {
                    let stale = m.last_received[l]
                        .is_none_or(|at| now.saturating_duration_since(at) > FRESH_FOR);
                    if m.fresh[l] && stale {
                        m.fresh[l] = false;
                        changed = true;
                    }
                }
            }
            if changed {
                room.recompute(&speaking.order(code), &mut self.scratch);
            }
            room.send_wanted(now, out);
        }
    }

    /// Relays the fragment being handled (`layer` of `sender`, described by
    /// `h`) to the receivers that get it now. Returns the copies sent, and
    /// whether a copy is worth keeping for a NACK (section 13): someone may
    /// get this layer of this sender, and someone else than the sender
    /// with a bound address named `"nack"`.
    #[allow(clippy::too_many_arguments)] // the fragment, its sender and the core's parts
    pub(super) fn relay(
        &mut self,
        code: &str,
        sender: &str,
        layer: Layer,
        h: FragmentHeader,
        speaking: &Speaking,
        now: Instant,
        out: &mut Outbox,
    ) -> (u64, bool) {
        let Some(room) = self.rooms.get_mut(code) else {
            return (0, false);
        };
        let Some(s) = room.slot_of(sender) else {
            return (0, false);
        };
        let l = index(layer);
        let m = room.slots[s].as_mut().expect("slot_of found it");
        m.last_received[l] = Some(now);
        if !m.fresh[l] {
            // A layer starts (or starts again): targets may move to it.
            m.fresh[l] = true;
            room.recompute(&speaking.order(code), &mut self.scratch);
            room.send_wanted(now, out);
        }
        let latest = &mut room.latest[s][l];
        if latest.is_none_or(|g| newer(h.frame_seq, g)) {
            *latest = Some(h.frame_seq);
        }
        let mask = room.masks[s][l];
        let keep = mask != 0 && room.nack_askers & !(1u64 << s) != 0;
        // Receivers `On` get it; those in a change (`Start`, `Finish`) step
        // their state to know.
        let mut to = room.on[s][l];
        let mut changing = mask & !to;
        while changing != 0 {
            let r = changing.trailing_zeros() as usize;
            changing &= changing - 1;
            let Some(state) = room.slots[r].as_ref().map(|m| m.fwd[s][l]) else {
                continue;
            };
            let (send, next) = step(state, h);
            if next != state {
                room.set_fwd(r, s, l, next);
            }
            if send {
                to |= 1u64 << r;
            }
        }
        let addrs = &room.addrs;
        let receivers = std::iter::from_fn(move || {
            while to != 0 {
                let r = to.trailing_zeros() as usize;
                to &= to - 1;
                if let Some(addr) = addrs[r] {
                    return Some(addr);
                }
            }
            None
        });
        (out.relay(receivers), keep)
    }
}

/// One fragment meets a forwarding state: whether it is sent, and the
/// state after it.
fn step(state: Fwd, h: FragmentHeader) -> (bool, Fwd) {
    match state {
        Fwd::Off => (false, Fwd::Off),
        Fwd::On => (true, Fwd::On),
        Fwd::Start(_) if h.frag_index == 0 => (true, Fwd::On),
        Fwd::Start(Some(g)) => (h.frame_seq == g, state),
        Fwd::Start(None) => (false, state),
        Fwd::Finish(g) if h.frame_seq == g => (true, state),
        Fwd::Finish(g) if newer(h.frame_seq, g) => (false, Fwd::Off),
        Fwd::Finish(_) => (false, state),
    }
}

/// Whether frame `a` comes after frame `b` (sequence numbers wrap).
fn newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

impl Core {
    /// After mixer ticks: `speaking` where the set changed, `last_n`
    /// following the speaking order, layers gone quiet, and held-back
    /// `video_layers_wanted`.
    pub(super) fn media_additions_tick(&mut self, now: Instant) {
        self.speaking.tick(&self.meetings, now, &mut self.out);
        for code in self.speaking.reordered() {
            let order = self.speaking.order(code);
            self.layers.reorder(code, &order, now, &mut self.out);
        }
        self.layers.tick(&self.speaking, now, &mut self.out);
    }

    /// Brings the layer and speaking state of meeting `code` up to date
    /// after a join, a leave, a resume or a new UDP address.
    pub(super) fn sync_media_additions(&mut self, code: &str) {
        let meeting = self.meetings.get(code);
        self.speaking.sync(code, meeting, &mut self.out);
        let order = self.speaking.order(code);
        self.layers
            .sync(code, meeting, &order, self.now, &mut self.out);
    }

    /// A `video_subscribe` from a joined client (already validated).
    pub(super) fn on_video_subscribe(
        &mut self,
        conn: ConnId,
        client_id: &str,
        code: &str,
        default: LayerChoice,
        last_n: Option<u32>,
        overrides: BTreeMap<String, LayerChoice>,
    ) {
        let subscription = Subscription {
            default,
            last_n,
            overrides: overrides.into_iter().collect(),
        };
        let order = self.speaking.order(code);
        let now = self.now;
        if !self
            .layers
            .subscribe(code, client_id, subscription, &order, now, &mut self.out)
        {
            self.out.error(
                conn,
                ErrorCode::BadRequest,
                "video_subscribe needs the \"layers\" feature named at join",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(frame_seq: u32, frag_index: u16) -> FragmentHeader {
        FragmentHeader {
            frame_seq,
            frag_index,
            frag_count: 4,
        }
    }

    #[test]
    fn a_new_layer_starts_at_fragment_zero() {
        assert_eq!(step(Fwd::Start(None), h(7, 2)), (false, Fwd::Start(None)));
        assert_eq!(step(Fwd::Start(None), h(8, 0)), (true, Fwd::On));
        // The rest of a frame begun before the change still goes.
        assert_eq!(
            step(Fwd::Start(Some(6)), h(6, 3)),
            (true, Fwd::Start(Some(6)))
        );
        assert_eq!(
            step(Fwd::Start(Some(6)), h(7, 1)),
            (false, Fwd::Start(Some(6)))
        );
    }

    #[test]
    fn an_old_layer_finishes_its_frame_then_stops() {
        assert_eq!(step(Fwd::Finish(5), h(5, 3)), (true, Fwd::Finish(5)));
        assert_eq!(step(Fwd::Finish(5), h(4, 3)), (false, Fwd::Finish(5)));
        assert_eq!(step(Fwd::Finish(5), h(6, 0)), (false, Fwd::Off));
        assert_eq!(step(Fwd::Finish(u32::MAX), h(0, 0)), (false, Fwd::Off));
        assert_eq!(step(Fwd::On, h(9, 1)), (true, Fwd::On));
        assert_eq!(step(Fwd::Off, h(9, 0)), (false, Fwd::Off));
    }
}
