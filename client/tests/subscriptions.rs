//! Section 11 from the window's side, through a real server: a session
//! that hands over its layout (`Session::show_layout`) receives the
//! thumbnail layer of a small tile, the full layer of the stage and
//! nothing of a hidden person, and decodes each picture at its tile's
//! size.

mod support;

use std::time::{Duration, Instant};

use lanmeet_client::core::subscription::{ShownLayout, ShownTile};
use lanmeet_client::{Event, Stats, TestPattern};
use support::*;

fn tile(id: &str, width: u32, height: u32) -> ShownTile {
    ShownTile {
        client_id: id.into(),
        width,
        height,
    }
}

/// The frames of each layer received during `d`, and the decoded frames
/// per sender in that time.
fn received_during(viewer: &mut Client, d: Duration) -> (u64, u64, Vec<(String, u32, u32)>) {
    viewer.events.drain();
    let skip = viewer.events.seen.len();
    let before: Stats = viewer.session.stats();
    viewer.events.collect_for(d);
    let after = viewer.session.stats();
    let decoded = viewer.events.seen[skip..]
        .iter()
        .filter_map(|e| match e {
            Event::VideoFrame {
                client_id,
                width,
                height,
                ..
            } => Some((client_id.clone(), *width, *height)),
            _ => None,
        })
        .collect();
    (
        after.full_layer.frames - before.full_layer.frames,
        after.thumb_layer.frames - before.thumb_layer.frames,
        decoded,
    )
}

/// Waits until a decoded frame of `id` at `width` arrives.
fn wait_for_picture(viewer: &mut Client, id: &str, width: u32) {
    viewer
        .events
        .wait_for(
            Duration::from_secs(30),
            |e| matches!(e, Event::VideoFrame { client_id, width: w, .. } if client_id == id && *w == width),
            "a picture",
        )
        .unwrap_or_else(|| panic!("no {width}-pixel picture of {id}"));
}

#[test]
fn a_window_gets_the_layers_of_what_it_shows() {
    let server = server();
    let dir = TempDir::new("subscriptions");
    let mut viewer = create(&server, "Viewer", dir.path());
    let code = viewer.code();
    let senders: Vec<Client> = ["Small", "Stage", "Hidden"]
        .into_iter()
        .map(|name| {
            let c = join(&server, name, &code, dir.path());
            c.session
                .start_video(Box::new(TestPattern::new(640, 480)))
                .unwrap();
            c
        })
        .collect();
    let ids: Vec<String> = senders.iter().map(Client::id).collect();
    let (small, stage, hidden) = (&ids[0], &ids[1], &ids[2]);

    // Only one small tile: thumbnails of it, nothing else.
    viewer.session.show_layout(ShownLayout {
        shown: vec![tile(small, 145, 109)],
        hidden: vec![stage.clone(), hidden.clone()],
    });
    // 240x180 thumbnails decoded to fit 145x109 (the full layer, until
    // the thumbnail flows, would give the same size: wait for the layer).
    let deadline = Instant::now() + Duration::from_secs(30);
    while viewer.session.stats().thumb_layer.frames < 3 {
        assert!(Instant::now() < deadline, "no thumbnails came");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_for_picture(&mut viewer, small, 145);
    std::thread::sleep(Duration::from_millis(500)); // the fall-back's last full frame
    let (full, thumbs, decoded) = received_during(&mut viewer, Duration::from_secs(2));
    assert!(thumbs >= 2, "{thumbs} thumbnails in 2 s");
    assert_eq!(full, 0, "no full frames while only a small tile shows");
    assert!(!decoded.is_empty());
    assert!(
        decoded
            .iter()
            .all(|(id, w, h)| id == small && (*w, *h) == (145, 108)),
        "{decoded:?}"
    );

    // The stage large, the small tile beside it, the third hidden: full
    // frames of the stage, thumbnails of the small tile, nothing of the
    // hidden one.
    viewer.session.show_layout(ShownLayout {
        shown: vec![tile(small, 145, 109), tile(stage, 800, 600)],
        hidden: vec![hidden.clone()],
    });
    wait_for_picture(&mut viewer, stage, 800);
    std::thread::sleep(Duration::from_millis(300));
    let (full, thumbs, decoded) = received_during(&mut viewer, Duration::from_secs(2));
    // 20 and 10 a second; a busy machine sends fewer.
    assert!(full >= 4, "{full} full frames of the stage in 2 s");
    assert!(thumbs >= 2, "{thumbs} thumbnails in 2 s");
    // One sender's full layer at 20 fps: far fewer than two senders'.
    assert!(
        full <= 50,
        "{full} full frames in 2 s: more than the stage's"
    );
    let of = |who: &str| decoded.iter().filter(|(id, ..)| id == who).count();
    assert!(of(stage) >= 2 && of(small) >= 1, "{decoded:?}");
    assert_eq!(of(hidden), 0, "the hidden person's frames were decoded");
    assert!(decoded
        .iter()
        .all(|(id, w, _)| (id == stage && *w == 800) || (id == small && *w == 145)));

    // Nobody shown: nothing comes.
    viewer.session.show_layout(ShownLayout {
        shown: vec![],
        hidden: ids.clone(),
    });
    // The change to less waits ~100 ms, and a frame begun still ends.
    std::thread::sleep(Duration::from_millis(600));
    let (full, thumbs, decoded) = received_during(&mut viewer, Duration::from_secs(1));
    assert_eq!((full, thumbs), (0, 0), "frames came with nothing shown");
    assert!(decoded.is_empty(), "{decoded:?}");
    drop(senders);
}
