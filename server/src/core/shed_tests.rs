//! Video shed whole frames at a time while the loop is overloaded, audio
//! untouched.

use super::*;

fn frame(sender: &str, seq: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    video::fragment(sender, seq, &[9u8; 4000], 1400, |d| out.push(d.to_vec())).unwrap();
    out
}

#[test]
fn overload_sheds_new_frames_whole_and_finishes_the_one_begun() {
    let mut h = Harness::new();
    let all = h.meeting(&["A", "B"]);
    let (a, b) = (&all[0], &all[1]);
    h.hello(a, addr(1));
    h.hello(b, addr(2));
    let first = frame(&a.id, 1);
    assert_eq!(h.datagram(addr(1), &first[0]).0, DatagramAction::Relay);
    h.core.set_video_shedding(true);
    // The frame begun goes out whole...
    for d in &first[1..] {
        assert_eq!(h.datagram(addr(1), d).0, DatagramAction::Relay);
    }
    // ...the next ones not at all, even after the overload ends mid-frame.
    let second = frame(&a.id, 2);
    assert_eq!(h.datagram(addr(1), &second[0]).0, DatagramAction::Nothing);
    h.core.set_video_shedding(false);
    for d in &second[1..] {
        assert_eq!(h.datagram(addr(1), d).0, DatagramAction::Nothing);
    }
    for d in &frame(&a.id, 3) {
        assert_eq!(h.datagram(addr(1), d).0, DatagramAction::Relay);
    }
    assert_eq!(h.core.media_stats.video_frames_shed, 1);
    // Audio is mixed whatever the load.
    h.core.set_video_shedding(true);
    h.audio(a, addr(1), 100);
    h.audio(a, addr(1), 100);
    assert_eq!(h.tick().get(&addr(2)).map(|v| v[0]), Some(100));
}
