//! Screen sharing through a real server: request, frames, denial, late
//! joiner, stop.

mod support;

use std::time::Duration;

use lanmeet_client::image::{encode_jpeg, encode_ppm, resize};
use lanmeet_client::{Event, ImageScreen, RgbImage};
use support::*;

/// A 1920x1080 "desktop": coloured quadrants and a gradient.
fn desktop() -> RgbImage {
    let mut img = RgbImage::new(1920, 1080);
    for y in 0..1080 {
        for x in 0..1920 {
            let quadrant = match (x < 960, y < 540) {
                (true, true) => [200, 40, 40],
                (false, true) => [40, 200, 40],
                (true, false) => [40, 40, 200],
                (false, false) => [(x / 8 % 256) as u8, 220, (y / 5 % 256) as u8],
            };
            img.put(x, y, quadrant);
        }
    }
    img
}

#[test]
fn a_shared_image_arrives_and_decodes() {
    let server = server();
    let dir = TempDir::new("screen");
    let mut a = create(&server, "Presenter", dir.path());
    let mut b = join(&server, "Viewer", &a.code(), dir.path());
    let mut c = join(&server, "Other", &a.code(), dir.path());
    let a_id = a.id();

    // From a JPEG file, the way the headless client does it.
    let source = desktop();
    let file = dir.join("desktop.jpg");
    std::fs::write(&file, encode_jpeg(&source, 90).unwrap()).unwrap();
    a.session
        .start_screen_share(Box::new(ImageScreen::open(&file).unwrap()))
        .unwrap();
    for client in [&mut a, &mut b] {
        client.events.wait(
            |e| matches!(e, Event::ScreenShareStarted { presenter_id } if *presenter_id == a_id),
            "the share to start",
        );
    }
    assert_eq!(b.session.state().presenter.as_deref(), Some(a_id.as_str()));
    let e = b
        .events
        .wait(|e| matches!(e, Event::ScreenFrame { .. }), "a screen frame");
    assert!(
        matches!(
            e,
            Event::ScreenFrame { width: 1920, height: 1080, ref presenter_id, .. } if *presenter_id == a_id
        ),
        "the screen at its own size: {e:?}"
    );
    let frame = b
        .session
        .latest_screen_frame()
        .expect("a frame in the screen slot");
    let expected = source.clone();
    for (x, y) in [
        (100, 100),
        (1100, 100),
        (100, 600),
        (1200, 700),
        (1900, 1060),
    ] {
        let (got, want) = (frame.image.get(x, y), expected.get(x, y));
        for ch in 0..3 {
            assert!(
                got[ch].abs_diff(want[ch]) < 24,
                "pixel ({x},{y}): got {got:?}, want {want:?}"
            );
        }
    }

    // A still screen sends nothing more.
    let before = b.events.seen.len();
    b.events.collect_for(Duration::from_secs(1));
    let n = b.events.seen[before..]
        .iter()
        .filter(|e| matches!(e, Event::ScreenFrame { .. }))
        .count();
    assert_eq!(n, 0, "screen frames for a screen that did not change");

    // Only one presenter at a time.
    c.session
        .start_screen_share(Box::new(ImageScreen::from_image(RgbImage::new(64, 64))))
        .unwrap();
    c.events.wait(
        |e| matches!(e, Event::ScreenShareDenied { current_presenter } if *current_presenter == a_id),
        "the denial",
    );

    // A late joiner learns who presents and gets the latest frame.
    let mut d = join(&server, "Late", &a.code(), dir.path());
    assert_eq!(d.session.state().presenter.as_deref(), Some(a_id.as_str()));
    d.events.wait(
        |e| matches!(e, Event::ScreenFrame { .. }),
        "the late joiner's frame",
    );

    a.session.stop_screen_share().unwrap();
    b.events.wait(
        |e| matches!(e, Event::ScreenShareStopped { presenter_id } if *presenter_id == a_id),
        "the share to stop",
    );
    assert_eq!(b.session.state().presenter, None);
    assert!(b.session.latest_screen_frame().is_none());
    assert_eq!(a.session.stats().screen_frames_sent, 1, "one keyframe");
}

#[test]
fn ppm_and_png_images_can_be_shared_and_garbage_is_refused_clearly() {
    let dir = TempDir::new("screen-files");
    let img = resize(&desktop(), 320, 180);
    let ppm = dir.join("small.ppm");
    std::fs::write(&ppm, encode_ppm(&img)).unwrap();
    assert!(ImageScreen::open(&ppm).is_ok());
    let png = dir.join("x.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n rest").unwrap();
    let err = ImageScreen::open(&png)
        .err()
        .expect("a broken PNG is refused");
    assert!(err.to_string().contains("PNG"), "{err}");
    let good = dir.join("small.png");
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, img.width, img.height);
    enc.set_color(png::ColorType::Rgb);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&img.pixels).unwrap();
    writer.finish().unwrap();
    std::fs::write(&good, &bytes).unwrap();
    let mut shown = ImageScreen::open(&good).unwrap();
    let captured = lanmeet_client::ScreenSource::capture(&mut shown).unwrap();
    assert_eq!(captured.pixels, img.pixels, "a PNG is shown exactly");

    let server = server();
    let mut a = create(&server, "P", dir.path());
    let mut b = join(&server, "V", &a.code(), dir.path());
    a.session
        .start_screen_share(Box::new(ImageScreen::open(&ppm).unwrap()))
        .unwrap();
    a.events.wait(
        |e| matches!(e, Event::ScreenShareStarted { .. }),
        "the share",
    );
    let e = b
        .events
        .wait(|e| matches!(e, Event::ScreenFrame { .. }), "a frame");
    // Small images are not enlarged.
    assert!(matches!(
        e,
        Event::ScreenFrame {
            width: 320,
            height: 180,
            ..
        }
    ));
    // The presenter leaving ends the share for everyone.
    a.session.leave();
    b.events.wait(
        |e| matches!(e, Event::ScreenShareStopped { .. }),
        "the share to end",
    );
}
