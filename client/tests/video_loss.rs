//! Camera video through a lossy network, recovered by section 13 (NACK):
//! a real server, and both clients behind the impairment relay
//! (bench/src/relay.rs) losing 5% of the datagrams each way.
//!
//! A 640x480 test-pattern frame is a dozen fragments or more; with 5% lost
//! on the way up and 5% on the way down, a frame would arrive whole well
//! under half the time without recovery. The viewer asks the server for
//! what it lacks, the server re-sends from its cache or asks the camera,
//! and the camera re-sends what it kept. The bounds are loose (a busy
//! 2-core machine delays threads); the figures to quote come from
//! `lanmeet-bench video-loss`.

#[path = "../../bench/src/relay.rs"]
mod relay;
mod support;

use std::time::Duration;

use lanmeet_client::media::video::VideoConfig;
use lanmeet_client::{Event, TestPattern};
use relay::{Impairment, Relay, RELAY_IP};
use support::*;

#[test]
fn lost_fragments_are_asked_for_and_frames_arrive_whole() {
    let server = server();
    let lossy = Impairment::random_loss(0.05);
    let relay = Relay::start(server.tcp_addr(), server.udp_addr(), lossy, lossy, 13)
        .expect("the relay binds on 127.0.0.2");
    let dir = TempDir::new("video-loss");
    let through_relay = |name: &str, code: Option<&str>| {
        let mut c = config(&server, name, code, dir.path());
        c.host = RELAY_IP.to_string();
        c.port = relay.tcp_addr().port();
        c.video = VideoConfig {
            width: 640,
            height: 480,
            fps: 10,
            quality: 60,
        };
        connect(c)
    };
    let mut camera = through_relay("Camera", None);
    let mut viewer = through_relay("Viewer", Some(&camera.code()));
    wait_media_ok(&mut camera);
    wait_media_ok(&mut viewer);
    let camera_id = camera.id();

    camera
        .session
        .start_video(Box::new(TestPattern::new(640, 480)))
        .unwrap();
    viewer.events.wait(
        |e| matches!(e, Event::VideoFrame { client_id, .. } if *client_id == camera_id),
        "the first frame",
    );
    let (sent0, got0) = (
        camera.session.stats().video_frames_sent,
        viewer.session.stats().video_frames_received,
    );
    std::thread::sleep(Duration::from_secs(4));
    let (camera_stats, viewer_stats) = (camera.session.stats(), viewer.session.stats());
    let sent = camera_stats.video_frames_sent - sent0;
    let got = viewer_stats.video_frames_received - got0;
    let link = relay.stats();
    let report = format!(
        "frames sent {sent}, whole at the viewer {got}; viewer asked {} times, camera re-sent {} \
         fragments; relay {link:?}",
        viewer_stats.video_nacks_sent, camera_stats.video_fragments_resent
    );
    eprintln!("{report}");
    assert!(sent >= 20, "{report}");
    assert!(link.up_dropped > 5 && link.down_dropped > 5, "{report}");
    // Both ways of recovering were used: from the server's cache (losses
    // on the way down) and from the camera (losses on the way up).
    assert!(viewer_stats.video_nacks_sent > 0, "{report}");
    assert!(camera_stats.video_fragments_resent > 0, "{report}");
    // Nearly every frame whole (one or two may still be in flight when
    // counted).
    assert!(got * 100 >= sent * 85, "{report}");
}
