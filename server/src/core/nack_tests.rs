//! Section 13 driven through the core: what a receiver's `'N'` brings back,
//! to whom, how often, and what the sender is asked for.

use lanmeet_common::nack::{FragmentSet, Layer, Nack};

use super::*;

/// A participant who named `features`, its UDP address bound to `port`.
fn enter(h: &mut Harness, name: &str, code: Option<&str>, features: &[&str], port: u16) -> Who {
    let mut v = match code {
        None => json!({"type":"create_meeting","version":1,"username":name}),
        Some(code) => {
            json!({"type":"join_meeting","version":1,"username":name,"meeting_code":code})
        }
    };
    if !features.is_empty() {
        v["features"] = json!(features);
    }
    let (conn, reply) = enter_with(h, v);
    let w = who(conn, &reply);
    assert_eq!(h.hello(&w, addr(port)), DatagramAction::ReplyHello);
    w
}

/// Sender `a` (port 1), receiver `b` (port 2), both naming "nack", and a
/// version 1 client `c` (port 3).
fn meeting(h: &mut Harness) -> (Who, Who, Who) {
    let a = enter(h, "A", None, &["nack"], 1);
    let b = enter(h, "B", Some(&a.code), &["nack"], 2);
    let c = enter(h, "C", Some(&a.code), &[], 3);
    h.inbox.clear();
    (a, b, c)
}

fn fragments(sender: &str, seq: u32) -> Vec<Vec<u8>> {
    let jpeg: Vec<u8> = (0..6000u32).map(|i| (i * 13 + seq) as u8).collect();
    let mut out = Vec::new();
    video::fragment(sender, seq, &jpeg, 1400, |d| out.push(d.to_vec())).unwrap();
    out
}

fn nack(from: &str, sender: &str, seq: u32, count: u16, missing: &[u16]) -> Vec<u8> {
    let mut set = FragmentSet::EMPTY;
    for &i in missing {
        set.insert(i);
    }
    Nack {
        layer: Layer::Full,
        sender,
        frame_seq: seq,
        frag_count: count,
        missing: set,
    }
    .datagram(from)
    .unwrap()
}

/// Hands the core a datagram; returns every datagram sent because of it.
fn exchange(h: &mut Harness, from: SocketAddr, data: &[u8]) -> Vec<(SocketAddr, Vec<u8>)> {
    h.sent.clear();
    h.handling = data.to_vec();
    h.core.on_datagram(from, data);
    h.collect();
    std::mem::take(&mut h.sent)
}

#[test]
fn held_fragments_go_back_to_the_asker_only_byte_for_byte_at_most_twice() {
    let mut h = Harness::new();
    let (a, b, _c) = meeting(&mut h);
    let frags = fragments(&a.id, 7);
    let count = frags.len() as u16;
    assert_eq!(count, 5);
    for d in &frags {
        assert_eq!(h.datagram(addr(1), d).0, DatagramAction::Relay);
    }
    let ask = nack(&b.id, &a.id, 7, count, &[1, 3]);
    for _ in 0..2 {
        let sent = exchange(&mut h, addr(2), &ask);
        assert_eq!(
            sent,
            vec![(addr(2), frags[1].clone()), (addr(2), frags[3].clone())]
        );
    }
    // A third request for the same fragments gets nothing; another one
    // still gets its two.
    assert!(exchange(&mut h, addr(2), &ask).is_empty());
    let sent = exchange(&mut h, addr(2), &nack(&b.id, &a.id, 7, count, &[1, 4]));
    assert_eq!(sent, vec![(addr(2), frags[4].clone())]);
    assert_eq!(h.core.media_stats.nack_resent, 5);
    assert_eq!(h.core.media_stats.nack_unknown, 0);
}

#[test]
fn fragments_never_received_are_asked_of_the_sender_once() {
    let mut h = Harness::new();
    let (a, b, _c) = meeting(&mut h);
    let frags = fragments(&a.id, 3);
    for (i, d) in frags.iter().enumerate() {
        if i != 2 {
            h.datagram(addr(1), d);
        }
    }
    let sent = exchange(&mut h, addr(2), &nack(&b.id, &a.id, 3, 5, &[0, 2]));
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0], (addr(2), frags[0].clone()));
    // The request to the sender: empty id, the sender itself, fragment 2.
    assert_eq!(sent[1], (addr(1), nack("", &a.id, 3, 5, &[2])));
    // Asked once per fragment, however many receivers ask.
    assert!(exchange(&mut h, addr(2), &nack(&b.id, &a.id, 3, 5, &[2])).is_empty());
    // The sender's re-send is relayed as usual and kept.
    let (action, to) = h.datagram(addr(1), &frags[2]);
    assert_eq!(action, DatagramAction::Relay);
    assert_eq!(to.len(), 2);
    let sent = exchange(&mut h, addr(2), &nack(&b.id, &a.id, 3, 5, &[2]));
    assert_eq!(sent, vec![(addr(2), frags[2].clone())]);
    assert_eq!(h.core.media_stats.nack_asked_sender, 1);
}

#[test]
fn unknown_frames_senders_and_layers_are_dropped_and_counted() {
    let mut h = Harness::new();
    let (a, b, c) = meeting(&mut h);
    for d in &fragments(&a.id, 1) {
        h.datagram(addr(1), d);
    }
    let mut thumb = nack(&b.id, &a.id, 1, 5, &[0]);
    let at = udp::header_len(&b.id);
    thumb[at] = b'T';
    for unknown in [
        nack(&b.id, &a.id, 2, 5, &[0]), // a frame never seen
        nack(&b.id, &a.id, 1, 6, &[0]), // not that frame's count
        nack(&b.id, "c99", 1, 5, &[0]), // nobody
        nack(&b.id, &c.id, 1, 5, &[0]), // sent no video
        nack(&b.id, &b.id, 1, 5, &[0]), // itself
        thumb,                          // a layer not relayed
    ] {
        assert!(exchange(&mut h, addr(2), &unknown).is_empty());
    }
    assert_eq!(h.core.media_stats.nack_unknown, 6);
    // Garbage is malformed; a client that named no "nack", or the wrong
    // address, is dropped without an answer.
    let dropped = h.core.media_stats.dropped;
    let malformed = h.core.media_stats.malformed;
    assert!(exchange(&mut h, addr(2), &[b'N', 0, 2, b'c', b'2', b'V']).is_empty());
    assert!(exchange(&mut h, addr(3), &nack(&c.id, &a.id, 1, 5, &[0])).is_empty());
    assert!(exchange(&mut h, addr(9), &nack(&b.id, &a.id, 1, 5, &[0])).is_empty());
    assert_eq!(h.core.media_stats.malformed, malformed + 1);
    assert_eq!(h.core.media_stats.dropped, dropped + 2);
    assert_eq!(h.core.media_stats.nack_resent, 0);
}

#[test]
fn the_cache_holds_500_ms_then_frees_its_memory() {
    let mut h = Harness::new();
    let (a, b, _c) = meeting(&mut h);
    let frags = fragments(&a.id, 1);
    for d in &frags {
        h.datagram(addr(1), d);
    }
    assert_eq!(
        h.core.nack.bytes_held(),
        frags.iter().map(Vec::len).sum::<usize>()
    );
    h.advance(Duration::from_millis(490));
    assert_eq!(
        exchange(&mut h, addr(2), &nack(&b.id, &a.id, 1, 5, &[0])).len(),
        1
    );
    h.advance(Duration::from_millis(20));
    assert!(exchange(&mut h, addr(2), &nack(&b.id, &a.id, 1, 5, &[0])).is_empty());
    h.advance(Duration::from_millis(500));
    assert_eq!(h.core.nack.bytes_held(), 0);
}

#[test]
fn nothing_is_kept_or_asked_without_someone_who_named_nack() {
    let mut h = Harness::new();
    // A version 1 sender and receiver: no copy kept.
    let a = enter(&mut h, "A", None, &[], 1);
    let _c = enter(&mut h, "C", Some(&a.code), &["resume"], 3);
    for d in &fragments(&a.id, 1) {
        h.datagram(addr(1), d);
    }
    assert_eq!(h.core.nack.bytes_held(), 0);
    // A receiver naming "nack" joins: copies are kept, but the version 1
    // sender is never sent an 'N' for what the server lacks.
    let b = enter(&mut h, "B", Some(&a.code), &["nack"], 2);
    let frags = fragments(&a.id, 2);
    h.datagram(addr(1), &frags[0]);
    assert!(h.core.nack.bytes_held() > 0);
    let sent = exchange(&mut h, addr(2), &nack(&b.id, &a.id, 2, 5, &[0, 1]));
    assert_eq!(sent, vec![(addr(2), frags[0].clone())]);
    // Leaving drops the sender's copies.
    h.send(a.conn, json!({"type":"leave"}));
    assert_eq!(h.core.nack.bytes_held(), 0);
}
