//! Polls, attendance, spotlight, titles and discovery (sections 15-18)
//! through the session library and a real server on loopback.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lanmeet_client::discovery;
use lanmeet_client::Event;
use support::*;

#[test]
fn a_poll_voted_counted_closed_and_shown_to_a_late_joiner() {
    let server = server();
    let dir = TempDir::new("classroom-poll");
    let mut host = create(&server, "Teacher", dir.path());
    let code = host.code();
    let mut ann = join(&server, "Ann", &code, dir.path());
    let options = ["Yes".to_string(), "No".to_string(), "Not sure".to_string()];
    assert!(host
        .session
        .create_poll(" ", &options, false, false)
        .is_err());
    host.session
        .create_poll("Done with step 1?", &options, false, false)
        .unwrap();
    let e = ann
        .events
        .wait(|e| matches!(e, Event::PollStarted(_)), "the poll at Ann");
    let Event::PollStarted(info) = e else {
        unreachable!()
    };
    assert_eq!(info.question, "Done with step 1?");
    assert!(
        ann.session.vote(&info.poll_id, &[5]).is_err(),
        "checked before sending"
    );
    assert!(
        ann.session.vote(&info.poll_id, &[0, 1]).is_err(),
        "one choice only"
    );
    ann.session.vote(&info.poll_id, &[2]).unwrap();
    assert_eq!(ann.session.state().poll.unwrap().my_choices, [2]);
    host.events.wait(
        |e| matches!(e, Event::PollUpdate { counts, voters: 1, .. } if counts == &[0, 0, 1]),
        "the live count at the host",
    );
    assert_eq!(host.session.state().poll.unwrap().counts, [0, 0, 1]);

    // A late joiner gets the open poll from the join reply and may vote.
    let mut bob = join(&server, "Bob", &code, dir.path());
    let state = bob.session.state();
    assert_eq!(state.poll.as_ref().unwrap().info.poll_id, info.poll_id);
    bob.session.vote(&info.poll_id, &[0]).unwrap();
    host.events.wait(
        |e| matches!(e, Event::PollUpdate { voters: 2, .. }),
        "Bob's vote counted",
    );
    host.session.close_poll(&info.poll_id).unwrap();
    for client in [&mut host, &mut ann, &mut bob] {
        let e = client
            .events
            .wait(|e| matches!(e, Event::PollResults(_)), "the results");
        let Event::PollResults(r) = e else {
            unreachable!()
        };
        assert_eq!((r.counts.as_slice(), r.voters), (&[1, 0, 1][..], 2));
        assert!(r.votes.is_some());
        let state = client.session.state();
        assert!(state.poll.is_none());
        assert_eq!(state.poll_results.unwrap().poll_id, info.poll_id);
    }
}

#[test]
fn attendance_and_spotlight_for_the_host() {
    let server = server();
    let dir = TempDir::new("classroom-spot");
    let mut host = create(&server, "Teacher", dir.path());
    let code = host.code();
    let mut ann = join(&server, "Ann", &code, dir.path());
    let ann_id = ann.id();
    host.session.set_spotlight(Some(&ann_id)).unwrap();
    ann.events.wait(
        |e| matches!(e, Event::SpotlightChanged { client_id: Some(id) } if *id == ann_id),
        "the spotlight at Ann",
    );
    let bob = join(&server, "Bob", &code, dir.path());
    assert_eq!(
        bob.session.state().spotlight,
        Some(ann_id.clone()),
        "from the join reply"
    );
    host.session.request_attendance().unwrap();
    let e = host
        .events
        .wait(|e| matches!(e, Event::Attendance { .. }), "the attendance");
    let Event::Attendance {
        rows, meeting_code, ..
    } = e
    else {
        unreachable!()
    };
    assert_eq!(meeting_code, code);
    let names: Vec<&str> = rows.iter().map(|r| r.username.as_str()).collect();
    assert_eq!(names, ["Teacher", "Ann", "Bob"]);
    ann.session.leave();
    host.events.wait(
        |e| matches!(e, Event::SpotlightChanged { client_id: None }),
        "the spotlight cleared when Ann left",
    );
    assert_eq!(host.session.state().spotlight, None);
}

#[test]
fn a_listed_meeting_is_discovered_with_its_title() {
    let server = server();
    let dir = TempDir::new("classroom-discover");
    let mut config = config(&server, "Teacher", None, dir.path());
    config.title = Some("CS101 lab".into());
    config.listed = true;
    let host = connect(config);
    assert_eq!(host.session.state().title.as_deref(), Some("CS101 lab"));
    let found = discovery::discover(
        server.udp_addr().port(),
        &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        Duration::from_millis(800),
    )
    .unwrap();
    let ours = found
        .iter()
        .find(|f| f.reply.tcp_port == server.tcp_addr().port())
        .expect("our server answered the probe to 127.0.0.1");
    assert_eq!(ours.address, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(ours.reply.meetings.len(), 1);
    assert_eq!(ours.reply.meetings[0].meeting_code, host.code());
    assert_eq!(ours.reply.meetings[0].title.as_deref(), Some("CS101 lab"));
}
