//! Joining, chat and presence through a real server on loopback.

mod support;

use std::time::Duration;

use lanmeet_client::{DisconnectReason, Event, Session, SessionError};
use lanmeet_common::message::LeaveReason;
use lanmeet_common::ErrorCode;
use support::*;

#[test]
fn chat_both_ways_and_private_between_three() {
    let server = server();
    let dir = TempDir::new("chat");
    let mut a = create(&server, "Alice", dir.path());
    let code = a.code();
    let mut b = join(&server, "Bob", &code, dir.path());
    let mut c = join(&server, "Carol", &code, dir.path());
    let (a_id, b_id, c_id) = (a.id(), b.id(), c.id());
    a.events.wait(
        |e| matches!(e, Event::ParticipantJoined { username, .. } if username == "Carol"),
        "Carol joining, seen by Alice",
    );

    a.session.chat("hello from Alice", None).unwrap();
    for client in [&mut b, &mut c] {
        let e = client.events.wait(
            |e| matches!(e, Event::Chat(l) if l.message == "hello from Alice"),
            "Alice's line",
        );
        let Event::Chat(line) = e else { unreachable!() };
        assert_eq!(line.client_id, a_id);
        assert_eq!(line.username, "Alice");
        assert!(!line.private);
    }
    b.session.chat("hi Alice, Bob here", None).unwrap();
    a.events.wait(
        |e| matches!(e, Event::Chat(l) if l.message == "hi Alice, Bob here" && l.client_id == b_id),
        "Bob's line at Alice",
    );

    a.session.chat("just for Carol", Some(&c_id)).unwrap();
    let e = c.events.wait(
        |e| matches!(e, Event::Chat(l) if l.message == "just for Carol"),
        "the private line at Carol",
    );
    let Event::Chat(line) = e else { unreachable!() };
    assert!(line.private);
    assert_eq!(line.client_id, a_id);
    // Bob must not get it: a public line sent after it arrives first.
    a.session.chat("public again", None).unwrap();
    b.events.wait(
        |e| matches!(e, Event::Chat(l) if l.message == "public again"),
        "the next public line at Bob",
    );
    assert!(!b
        .events
        .seen
        .iter()
        .any(|e| matches!(e, Event::Chat(l) if l.message == "just for Carol")));

    // Everyone's own copy is in its state; the others' lines too.
    let a_state = a.session.state();
    let lines: Vec<&str> = a_state.chat.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        lines,
        [
            "hello from Alice",
            "hi Alice, Bob here",
            "just for Carol",
            "public again"
        ]
    );

    // A late joiner gets the public history.
    let d = join(&server, "Dave", &code, dir.path());
    let history: Vec<String> = d
        .session
        .state()
        .chat
        .iter()
        .map(|l| l.message.clone())
        .collect();
    assert_eq!(
        history,
        ["hello from Alice", "hi Alice, Bob here", "public again"]
    );
    assert_eq!(d.session.state().participants.len(), 4);
    assert_eq!(d.session.state().host(), Some(a_id.as_str()));

    // Private to someone who is not there: a typed server error.
    b.session.chat("anyone?", Some("c999999")).unwrap();
    b.events.wait(
        |e| {
            matches!(
                e,
                Event::ServerError {
                    code: ErrorCode::NoSuchParticipant,
                    ..
                }
            )
        },
        "no_such_participant",
    );
    assert!(b.session.chat("", None).is_err());
}

#[test]
fn presence_hands_and_leaving() {
    let server = server();
    let dir = TempDir::new("presence");
    let mut a = create(&server, "Host", dir.path());
    let mut b = join(&server, "Bea", &a.code(), dir.path());
    let mut c = join(&server, "Cy", &a.code(), dir.path());
    let (b_id, c_id) = (b.id(), c.id());

    c.session.raise_hand(true).unwrap();
    a.events.wait(
        |e| matches!(e, Event::Hand { client_id, raised: true, .. } if *client_id == c_id),
        "Cy's hand",
    );
    std::thread::sleep(Duration::from_millis(20));
    b.session.raise_hand(true).unwrap();
    a.events.wait(
        |e| matches!(e, Event::Hand { client_id, raised: true, .. } if *client_id == b_id),
        "Bea's hand",
    );
    let state = a.session.state();
    let order: Vec<&str> = state.hands().iter().map(|p| p.client_id.as_str()).collect();
    assert_eq!(
        order,
        [c_id.as_str(), b_id.as_str()],
        "hands in raise order"
    );

    b.session.set_muted(true).unwrap();
    assert!(b.session.is_muted());
    a.events.wait(
        |e| matches!(e, Event::Muted { client_id, muted: true } if *client_id == b_id),
        "Bea muted",
    );
    assert!(a.session.state().participant(&b_id).unwrap().muted);

    c.session.react("👍").unwrap();
    b.events.wait(
        |e| matches!(e, Event::Reaction { emoji, .. } if emoji == "👍"),
        "the reaction",
    );

    // The host leaves: the earliest remaining joiner becomes host.
    a.session.leave();
    b.events.wait(
        |e| matches!(e, Event::ParticipantLeft { reason: LeaveReason::Left, username, .. } if username == "Host"),
        "the host leaving",
    );
    b.events.wait(
        |e| matches!(e, Event::HostChanged { client_id } if *client_id == b_id),
        "Bea becoming host",
    );
    assert!(b.session.state().am_host());
    assert_eq!(b.session.state().participants.len(), 2);

    c.session.leave();
    let e = c
        .events
        .wait(|e| matches!(e, Event::Disconnected { .. }), "Cy's end");
    assert_eq!(
        e,
        Event::Disconnected {
            reason: DisconnectReason::Left
        }
    );
    assert!(matches!(
        c.events.seen.last(),
        Some(Event::Disconnected { .. })
    ));
}

#[test]
fn refusals_are_typed_errors() {
    let server = server();
    let dir = TempDir::new("refusals");
    let a = connect({
        let mut c = config(&server, "Ann", None, dir.path());
        c.password = Some("secret".into());
        c
    });
    let code = a.code();

    let err = |cfg| match Session::connect(cfg) {
        Err(e) => e,
        Ok(_) => panic!("the join should fail"),
    };
    let e = err(config(&server, "Ben", Some("ZZZZZZ"), dir.path()));
    assert!(
        matches!(
            e,
            SessionError::Refused {
                code: ErrorCode::InvalidCode,
                ..
            }
        ),
        "{e}"
    );
    let e = err(config(&server, "Ben", Some(&code), dir.path()));
    assert!(
        matches!(
            e,
            SessionError::Refused {
                code: ErrorCode::WrongPassword,
                ..
            }
        ),
        "{e}"
    );
    let mut with_pw = config(&server, "ANN", Some(&code), dir.path());
    with_pw.password = Some("secret".into());
    let e = err(with_pw);
    assert!(
        matches!(
            e,
            SessionError::Refused {
                code: ErrorCode::NameTaken,
                ..
            }
        ),
        "{e}"
    );
    let e = err(config(&server, "  ", Some(&code), dir.path()));
    assert!(matches!(e, SessionError::InvalidInput(_)), "{e}");
    let e = err(config(&server, "Ben", Some("bad code!"), dir.path()));
    assert!(matches!(e, SessionError::InvalidInput(_)), "{e}");

    let mut ok = config(&server, "Ben", Some(&code.to_lowercase()), dir.path());
    ok.password = Some("secret".into());
    let b = connect(ok);
    assert_eq!(b.session.state().participants.len(), 2);
}
