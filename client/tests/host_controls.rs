//! Host commands as the session sees them: mutes that stop the target's
//! audio, mic locks, meeting lock, removal.

mod support;

use std::time::Duration;

use lanmeet_client::{DisconnectReason, Event, Session, SessionError, ToneSource};
use lanmeet_common::message::LeaveReason;
use lanmeet_common::{ClientMessage, ErrorCode};
use support::*;

#[test]
fn host_mute_lock_and_removal() {
    let server = server();
    let dir = TempDir::new("host");
    let mut host = create(&server, "Host", dir.path());
    let mut b = join(&server, "Guest", &host.code(), dir.path());
    let (host_id, b_id) = (host.id(), b.id());
    b.session
        .start_audio(Box::new(ToneSource::new(440.0)))
        .unwrap();

    host.session
        .send(ClientMessage::MuteParticipant {
            target_client_id: b_id.clone(),
        })
        .unwrap();
    b.events.wait(
        |e| matches!(e, Event::MutedByHost { muted: true }),
        "the host's mute",
    );
    assert!(b.session.is_muted());
    // A frame already past the mute check when the flag flipped may still
    // go out; after that, nothing.
    std::thread::sleep(Duration::from_millis(50));
    let sent = b.session.stats().audio_frames_sent;
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        b.session.stats().audio_frames_sent,
        sent,
        "muted audio stops"
    );

    host.session
        .send(ClientMessage::LockMic {
            target_client_id: b_id.clone(),
        })
        .unwrap();
    b.events.wait(
        |e| matches!(e, Event::MicLock { locked: true, client_id } if *client_id == b_id),
        "the lock",
    );
    assert!(b.session.state().me().unwrap().mic_locked);
    b.session.set_muted(false).unwrap();
    b.events.wait(
        |e| {
            matches!(
                e,
                Event::ServerError {
                    code: ErrorCode::MicLocked,
                    ..
                }
            )
        },
        "the refusal to unmute",
    );
    assert!(b.session.is_muted());

    host.session
        .send(ClientMessage::UnlockMic {
            target_client_id: b_id.clone(),
        })
        .unwrap();
    host.session
        .send(ClientMessage::UnmuteParticipant {
            target_client_id: b_id.clone(),
        })
        .unwrap();
    b.events.wait(
        |e| matches!(e, Event::MutedByHost { muted: false }),
        "the host's unmute",
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        b.session.stats().audio_frames_sent > sent + 5,
        "audio resumes"
    );

    // Guests cannot give host commands.
    b.session
        .send(ClientMessage::LockMeeting { locked: true })
        .unwrap();
    b.events.wait(
        |e| {
            matches!(
                e,
                Event::ServerError {
                    code: ErrorCode::NotHost,
                    ..
                }
            )
        },
        "not_host",
    );
    host.session
        .send(ClientMessage::LockMeeting { locked: true })
        .unwrap();
    b.events.wait(
        |e| matches!(e, Event::MeetingLocked { locked: true }),
        "the meeting lock",
    );
    let refused = Session::connect(config(&server, "Late", Some(&host.code()), dir.path()));
    assert!(matches!(
        refused.err(),
        Some(SessionError::Refused {
            code: ErrorCode::MeetingLocked,
            ..
        })
    ));

    host.session
        .send(ClientMessage::RemoveParticipant {
            target_client_id: b_id.clone(),
        })
        .unwrap();
    let e = b
        .events
        .wait(|e| matches!(e, Event::Disconnected { .. }), "the removal");
    assert_eq!(
        e,
        Event::Disconnected {
            reason: DisconnectReason::Removed(host_id)
        }
    );
    host.events.wait(
        |e| matches!(e, Event::ParticipantLeft { reason: LeaveReason::Removed, client_id, .. } if *client_id == b_id),
        "the removal notice",
    );
    assert_eq!(host.session.state().participants.len(), 1);
}
