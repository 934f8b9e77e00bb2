//! Sections 11-12 driven through the core with simulated time: what each
//! receiver gets after `video_subscribe`, the fall-back, the switch at
//! frame boundaries, `last_n`, `video_layers_wanted` and `speaking`.

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

const ALL: &[&str] = &["layers", "speaking", "nack"];

/// The fragments of frame `seq` of `layer` from `sender` (4 of them).
fn frame(sender: &str, layer: Layer, seq: u32) -> Vec<Vec<u8>> {
    let jpeg: Vec<u8> = (0..5000u32).map(|i| (i * 7 + seq) as u8).collect();
    let mut out = Vec::new();
    video::fragment(sender, seq, &jpeg, 1400, |d| out.push(d.to_vec())).unwrap();
    for d in &mut out {
        d[0] = layer.byte();
    }
    assert_eq!(out.len(), 4);
    out
}

/// Ports a datagram went to.
fn ports(to: &[SocketAddr]) -> Vec<u16> {
    let mut p: Vec<u16> = to.iter().map(|a| a.port()).collect();
    p.sort();
    p
}

/// Sends every fragment of a frame; returns the ports each went to.
fn send_frame(h: &mut Harness, port: u16, frags: &[Vec<u8>]) -> Vec<Vec<u16>> {
    frags
        .iter()
        .map(|d| ports(&h.datagram(addr(port), d).1))
        .collect()
}

fn subscribe(h: &mut Harness, who: &Who, v: Value) {
    let mut v = v;
    v["type"] = json!("video_subscribe");
    h.send(who.conn, v);
}

fn messages_of(h: &mut Harness, who: &Who, kind: &str) -> Vec<Value> {
    h.take(who.conn)
        .into_iter()
        .filter(|m| m["type"] == kind)
        .collect()
}

#[test]
fn without_subscriptions_everyone_gets_every_full_layer_and_no_thumbnail() {
    let mut h = Harness::new();
    let a = enter(&mut h, "A", None, ALL, 1);
    let _b = enter(&mut h, "B", Some(&a.code), ALL, 2);
    let c = enter(&mut h, "C", Some(&a.code), &[], 3);
    let full = send_frame(&mut h, 1, &frame(&a.id, Layer::Full, 1));
    assert!(full.iter().all(|to| to == &[2, 3]), "{full:?}");
    let thumb = send_frame(&mut h, 1, &frame(&a.id, Layer::Thumb, 1));
    // B never subscribed: full layers only. C is version 1.
    assert!(thumb.iter().all(|to| to.is_empty()), "{thumb:?}");
    // Nor from a sender that sends only a thumbnail (no fall-back without
    // a subscription).
    let d = enter(&mut h, "D", Some(&a.code), ALL, 4);
    let only_thumb = send_frame(&mut h, 4, &frame(&d.id, Layer::Thumb, 1));
    assert!(only_thumb.iter().all(|to| to.is_empty()), "{only_thumb:?}");
    // A version 1 sender may not send 'T' at all.
    let before = h.core.media_stats.malformed;
    send_frame(&mut h, 3, &frame(&c.id, Layer::Thumb, 1));
    assert_eq!(h.core.media_stats.malformed, before + 4);
}

#[test]
fn a_subscriber_gets_what_it_asked_for_from_the_next_frame_start() {
    let mut h = Harness::new();
    let a = enter(&mut h, "A", None, ALL, 1);
    let b = enter(&mut h, "B", Some(&a.code), ALL, 2);
    let c = enter(&mut h, "C", Some(&a.code), ALL, 3);
    let _v1 = enter(&mut h, "D", Some(&a.code), &[], 4);
    // A sends both layers; C sends only full.
    send_frame(&mut h, 1, &frame(&a.id, Layer::Full, 1));
    send_frame(&mut h, 1, &frame(&a.id, Layer::Thumb, 1));
    send_frame(&mut h, 3, &frame(&c.id, Layer::Full, 1));
    // B: thumbnails by default, nothing of C. Mid-frame of A's full layer.
    let full2 = frame(&a.id, Layer::Full, 2);
    let thumb2 = frame(&a.id, Layer::Thumb, 2);
    assert_eq!(ports(&h.datagram(addr(1), &full2[0]).1), [2, 3, 4]);
    assert_eq!(ports(&h.datagram(addr(1), &thumb2[0]).1), Vec::<u16>::new());
    subscribe(
        &mut h,
        &b,
        json!({"default":"thumb","overrides":{(c.id.as_str()):"none"}}),
    );
    assert!(h.take(b.conn).iter().all(|m| m["type"] != "error"));
    // The full frame begun before still completes for B...
    assert_eq!(ports(&h.datagram(addr(1), &full2[1]).1), [2, 3, 4]);
    // ...but the thumbnail frame begun before is not started midway.
    assert_eq!(ports(&h.datagram(addr(1), &thumb2[1]).1), Vec::<u16>::new());
    send_frame(&mut h, 1, &full2[2..]);
    send_frame(&mut h, 1, &thumb2[2..]);
    // Next frames: B gets the thumbnail only, from fragment 0.
    let full3 = send_frame(&mut h, 1, &frame(&a.id, Layer::Full, 3));
    let thumb3 = send_frame(&mut h, 1, &frame(&a.id, Layer::Thumb, 3));
    assert!(full3.iter().all(|to| to == &[3, 4]), "{full3:?}");
    assert!(thumb3.iter().all(|to| to == &[2]), "{thumb3:?}");
    // Nothing of C for B.
    let c2 = send_frame(&mut h, 3, &frame(&c.id, Layer::Full, 2));
    assert!(c2.iter().all(|to| to == &[1, 4]), "{c2:?}");
}

#[test]
fn a_missing_layer_falls_back_to_the_other_and_back_after_2_s() {
    let mut h = Harness::new();
    let a = enter(&mut h, "A", None, ALL, 1);
    let b = enter(&mut h, "B", Some(&a.code), ALL, 2);
    subscribe(&mut h, &b, json!({"default":"thumb"}));
    // A sends only full: B gets full (the fall-back).
    let f1 = send_frame(&mut h, 1, &frame(&a.id, Layer::Full, 1));
    assert!(f1.iter().all(|to| to == &[2]), "{f1:?}");
    // A starts a thumbnail in the middle of a full frame.
    let full2 = frame(&a.id, Layer::Full, 2);
    assert_eq!(ports(&h.datagram(addr(1), &full2[0]).1), [2]);
    let t1 = send_frame(&mut h, 1, &frame(&a.id, Layer::Thumb, 1));
    assert!(t1.iter().all(|to| to == &[2]), "{t1:?}");
    // The full frame begun finishes; the next is not sent.
    assert!(send_frame(&mut h, 1, &full2[1..])
        .iter()
        .all(|to| to == &[2]));
    assert!(send_frame(&mut h, 1, &frame(&a.id, Layer::Full, 3))
        .iter()
        .all(|to| to.is_empty()));
    // The thumbnail stops for 2 s while full goes on: back to full.
    for seq in 4..30 {
        h.advance(Duration::from_millis(100));
        send_frame(&mut h, 1, &frame(&a.id, Layer::Full, seq));
    }
    let back = send_frame(&mut h, 1, &frame(&a.id, Layer::Full, 30));
    assert!(back.iter().all(|to| to == &[2]), "{back:?}");
}

#[test]
fn last_n_keeps_the_most_recent_speakers_with_video() {
    let mut h = Harness::new();
    let r = enter(&mut h, "R", None, ALL, 10);
    let s: Vec<Who> = (1..=4)
        .map(|i| enter(&mut h, &format!("S{i}"), Some(&r.code), ALL, i))
        .collect();
    // All four send video; S4 does not (it only joins the ranking later).
    for (i, w) in s.iter().take(3).enumerate() {
        send_frame(&mut h, i as u16 + 1, &frame(&w.id, Layer::Full, 1));
    }
    subscribe(&mut h, &r, json!({"default":"full","last_n":2}));
    let gets = |h: &mut Harness, seq: u32| -> Vec<bool> {
        (0..3)
            .map(|i| {
                let f = send_frame(h, i as u16 + 1, &frame(&s[i].id, Layer::Full, seq));
                f.iter().all(|to| to.contains(&10))
            })
            .collect()
    };
    // Nobody spoke: join order.
    assert_eq!(gets(&mut h, 2), [true, true, false]);
    // S3 speaks: S3 and S1.
    h.audio(&s[2], addr(3), 3000);
    h.advance(Duration::from_millis(20)); // a lone first frame waits a tick
    assert_eq!(gets(&mut h, 3), [true, false, true]);
    // Then S2: S2 and S3.
    h.advance(Duration::from_millis(500));
    h.audio(&s[1], addr(2), 3000);
    h.advance(Duration::from_millis(20));
    assert_eq!(gets(&mut h, 4), [false, true, true]);
    // An override is not counted against last_n.
    subscribe(
        &mut h,
        &r,
        json!({"default":"full","last_n":1,"overrides":{(s[0].id.as_str()):"full"}}),
    );
    assert_eq!(gets(&mut h, 5), [true, true, false]);
    // last_n 0: only overrides.
    subscribe(
        &mut h,
        &r,
        json!({"default":"full","last_n":0,"overrides":{(s[2].id.as_str()):"thumb"}}),
    );
    assert_eq!(
        gets(&mut h, 6),
        [false, false, true],
        "thumb falls back to full"
    );
}

#[test]
fn layers_wanted_on_join_and_on_change_at_most_4_a_second() {
    let mut h = Harness::new();
    let a = enter(&mut h, "A", None, ALL, 1);
    let wanted = messages_of(&mut h, &a, "video_layers_wanted");
    assert_eq!(
        wanted,
        [json!({"type":"video_layers_wanted","full":false,"thumb":false})]
    );
    let b = enter(&mut h, "B", Some(&a.code), ALL, 2);
    let v1 = enter(&mut h, "C", Some(&a.code), &[], 3);
    h.advance(Duration::from_millis(300));
    let wanted = messages_of(&mut h, &a, "video_layers_wanted");
    assert_eq!(wanted.last().unwrap()["full"], true);
    assert!(h
        .take(v1.conn)
        .iter()
        .all(|m| m["type"] != "video_layers_wanted"));
    // B alone wants thumbnails, C (version 1) still full.
    h.advance(Duration::from_millis(300));
    subscribe(&mut h, &b, json!({"default":"thumb"}));
    let wanted = messages_of(&mut h, &a, "video_layers_wanted");
    assert_eq!(
        wanted,
        [json!({"type":"video_layers_wanted","full":true,"thumb":true})]
    );
    // Three changes within 250 ms: one now-ish, the latest at the end.
    subscribe(&mut h, &b, json!({"default":"none"}));
    subscribe(&mut h, &b, json!({"default":"thumb"}));
    subscribe(&mut h, &b, json!({"default":"none"}));
    assert!(messages_of(&mut h, &a, "video_layers_wanted").is_empty());
    h.advance(Duration::from_millis(260));
    let wanted = messages_of(&mut h, &a, "video_layers_wanted");
    assert_eq!(
        wanted,
        [json!({"type":"video_layers_wanted","full":true,"thumb":false})]
    );
}

#[test]
fn subscribe_needs_layers_and_bad_values_are_bad_requests() {
    let mut h = Harness::new();
    let a = enter(&mut h, "A", None, ALL, 1);
    let v1 = enter(&mut h, "B", Some(&a.code), &["speaking"], 2);
    h.inbox.clear();
    subscribe(&mut h, &v1, json!({"default":"thumb"}));
    assert_eq!(h.error_code(v1.conn), "bad_request");
    subscribe(&mut h, &a, json!({"default":"medium"}));
    assert_eq!(h.error_code(a.conn), "bad_request");
    subscribe(&mut h, &a, json!({"default":"full","last_n":65}));
    assert_eq!(h.error_code(a.conn), "bad_request");
    // Still in the meeting.
    h.send(a.conn, json!({"type":"ping"}));
    assert_eq!(h.one(a.conn)["type"], "pong");
}

#[test]
fn speaking_lists_the_newest_speaker_first_then_empties() {
    let mut h = Harness::new();
    let a = enter(&mut h, "A", None, ALL, 1);
    let b = enter(&mut h, "B", Some(&a.code), ALL, 2);
    let c = enter(&mut h, "C", Some(&a.code), &[], 3);
    h.inbox.clear();
    // Quiet audio (below -50 dBFS) is not speaking.
    h.audio(&a, addr(1), 50);
    h.advance(Duration::from_millis(20)); // a lone first frame waits a tick
    assert!(messages_of(&mut h, &b, "speaking").is_empty());
    h.audio(&a, addr(1), 3000);
    h.advance(Duration::from_millis(10));
    let got = messages_of(&mut h, &b, "speaking");
    assert_eq!(got, [json!({"type":"speaking","client_ids":[&a.id]})]);
    assert_eq!(
        messages_of(&mut h, &a, "speaking").len(),
        1,
        "to the speaker too"
    );
    // B starts within 200 ms: held back, then sent newest first.
    h.advance(Duration::from_millis(50));
    h.audio(&b, addr(2), 3000);
    h.audio(&a, addr(1), 3000);
    h.advance(Duration::from_millis(10));
    assert!(messages_of(&mut h, &a, "speaking").is_empty());
    h.advance(Duration::from_millis(150));
    let got = messages_of(&mut h, &a, "speaking");
    assert_eq!(
        got,
        [json!({"type":"speaking","client_ids":[&b.id, &a.id]})]
    );
    assert_eq!(messages_of(&mut h, &b, "speaking"), got);
    // A newcomer hears who is speaking now, without waiting for a change.
    let d = enter(&mut h, "D", Some(&a.code), ALL, 4);
    let got = messages_of(&mut h, &d, "speaking");
    assert_eq!(
        got,
        [json!({"type":"speaking","client_ids":[&b.id, &a.id]})]
    );
    // Quiet for 300 ms: an empty list.
    h.advance(Duration::from_millis(400));
    let got = messages_of(&mut h, &b, "speaking");
    assert_eq!(got, [json!({"type":"speaking","client_ids":[]})]);
    // The version 1 client never heard any of it.
    assert!(h.take(c.conn).iter().all(|m| m["type"] != "speaking"));
}

#[test]
fn thumbnail_fragments_are_kept_and_resent_on_a_nack() {
    let mut h = Harness::new();
    let a = enter(&mut h, "A", None, ALL, 1);
    let b = enter(&mut h, "B", Some(&a.code), ALL, 2);
    subscribe(&mut h, &b, json!({"default":"thumb"}));
    let frags = frame(&a.id, Layer::Thumb, 9);
    send_frame(&mut h, 1, &frags);
    let mut missing = FragmentSet::EMPTY;
    missing.insert(2);
    let ask = Nack {
        layer: Layer::Thumb,
        sender: &a.id,
        frame_seq: 9,
        frag_count: 4,
        missing,
    }
    .datagram(&b.id)
    .unwrap();
    h.sent.clear();
    h.handling = ask.clone();
    h.core.on_datagram(addr(2), &ask);
    h.collect();
    assert_eq!(h.sent, [(addr(2), frags[2].clone())]);
}
