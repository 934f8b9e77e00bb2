//! Every message shape of PROTOCOL.md, parsed from the JSON the contract
//! shows and written back out.

use super::*;
use serde_json::{json, Value};

fn client(v: Value) -> Result<ClientMessage, BadRequest> {
    ClientMessage::parse(v.to_string().as_bytes())
}

fn roundtrip_client(m: ClientMessage) {
    let text = serde_json::to_string(&m).unwrap();
    assert_eq!(ClientMessage::parse(text.as_bytes()), Ok(m), "{text}");
}

fn roundtrip_server(m: ServerMessage) {
    let text = serde_json::to_string(&m).unwrap();
    assert_eq!(ServerMessage::parse(text.as_bytes()).unwrap(), m, "{text}");
}

const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[test]
fn handshake_examples_from_the_contract() {
    assert_eq!(
        client(
            json!({"type":"create_meeting","version":1,"username":"Alice","password":"optional"})
        ),
        Ok(ClientMessage::CreateMeeting {
            version: 1,
            username: "Alice".into(),
            password: Some("optional".into())
        })
    );
    assert_eq!(
        client(json!({"type":"join_meeting","version":1,"username":"Bob","meeting_code":"K7Q2XZ"})),
        Ok(ClientMessage::JoinMeeting {
            version: 1,
            username: "Bob".into(),
            meeting_code: "K7Q2XZ".into(),
            password: None
        })
    );
}

#[test]
fn every_client_message_round_trips() {
    let t = || "c3".to_string();
    for m in [
        ClientMessage::CreateMeeting {
            version: 1,
            username: "A".into(),
            password: None,
        },
        ClientMessage::JoinMeeting {
            version: 1,
            username: "B".into(),
            meeting_code: "ABCDEF".into(),
            password: Some("pw".into()),
        },
        ClientMessage::Ping,
        ClientMessage::Leave,
        ClientMessage::Chat {
            message: "hi".into(),
            to: None,
        },
        ClientMessage::Chat {
            message: "psst".into(),
            to: Some(t()),
        },
        ClientMessage::VideoState {
            state: VideoState::Started,
        },
        ClientMessage::VideoState {
            state: VideoState::Stopped,
        },
        ClientMessage::AudioState { muted: true },
        ClientMessage::RaiseHand { state: true },
        ClientMessage::EmojiReaction {
            emoji: "👍".into()
        },
        ClientMessage::MuteParticipant {
            target_client_id: t(),
        },
        ClientMessage::UnmuteParticipant {
            target_client_id: t(),
        },
        ClientMessage::LockMic {
            target_client_id: t(),
        },
        ClientMessage::UnlockMic {
            target_client_id: t(),
        },
        ClientMessage::MuteAll { lock: true },
        ClientMessage::UnmuteAll,
        ClientMessage::RequestVideo {
            target_client_id: t(),
        },
        ClientMessage::RequestAllVideo,
        ClientMessage::RequestUnmute {
            target_client_id: t(),
        },
        ClientMessage::RequestAllUnmute,
        ClientMessage::LowerHand {
            target_client_id: t(),
        },
        ClientMessage::RemoveParticipant {
            target_client_id: t(),
        },
        ClientMessage::LockMeeting { locked: true },
        ClientMessage::MakeHost {
            target_client_id: t(),
        },
        ClientMessage::StopScreenShare,
        ClientMessage::RequestScreenShare,
        ClientMessage::ScreenFrame {
            frame_data: "/9j/4A==".into(),
            width: 2,
            height: 2,
        },
        ClientMessage::FileOffer {
            file_id: "f1".into(),
            filename: "a.txt".into(),
            filesize: 5,
            sha256: HASH.into(),
        },
        ClientMessage::FileRequest {
            sender_id: "c1".into(),
            file_id: "f1".into(),
        },
        ClientMessage::FileChunk {
            transfer_id: "t1".into(),
            offset: 0,
            data: "aGVsbG8=".into(),
        },
        ClientMessage::FileAck {
            transfer_id: "t1".into(),
            offset: 5,
        },
        ClientMessage::FileEnd {
            transfer_id: "t1".into(),
            sha256: HASH.into(),
        },
        ClientMessage::FileCancel {
            transfer_id: "t1".into(),
        },
        ClientMessage::FileUnoffer {
            file_id: "f1".into(),
        },
    ] {
        roundtrip_client(m);
    }
}

#[test]
fn wire_names_are_snake_case() {
    let text = serde_json::to_string(&ClientMessage::RequestAllUnmute).unwrap();
    assert_eq!(text, r#"{"type":"request_all_unmute"}"#);
    let text = serde_json::to_string(&ServerMessage::ScreenShareDenied {
        current_presenter: "c2".into(),
    })
    .unwrap();
    assert_eq!(
        text,
        r#"{"type":"screen_share_denied","current_presenter":"c2"}"#
    );
}

#[test]
fn unknown_fields_are_ignored() {
    assert_eq!(
        client(json!({"type":"ping","extra":[1,2]})),
        Ok(ClientMessage::Ping)
    );
    assert_eq!(
        client(json!({"type":"request_screen_share","x":{}})),
        Ok(ClientMessage::RequestScreenShare)
    );
    assert_eq!(
        client(json!({"type":"audio_state","muted":false,"why":"x"})),
        Ok(ClientMessage::AudioState { muted: false })
    );
}

#[test]
fn mute_all_lock_defaults_to_false() {
    assert_eq!(
        client(json!({"type":"mute_all"})),
        Ok(ClientMessage::MuteAll { lock: false })
    );
}

#[test]
fn malformed_messages_are_bad_requests() {
    let cases = [
        json!({"type":"no_such_type"}),
        json!({"type":"chat"}),
        json!({"type":"chat","message":5}),
        json!({"type":"chat","message":""}),
        json!({"type":"chat","message":"x".repeat(4001)}),
        json!({"type":"video_state","state":"paused"}),
        json!({"type":"audio_state","muted":"yes"}),
        json!({"type":"emoji_reaction","emoji":""}),
        json!({"type":"emoji_reaction","emoji":"x".repeat(17)}),
        json!({"type":"create_meeting","version":1,"username":"   "}),
        json!({"type":"create_meeting","version":1,"username":"x".repeat(33)}),
        json!({"type":"create_meeting","version":1,"username":"a\u{7}b"}),
        json!({"type":"create_meeting","username":"Al"}),
        json!({"type":"create_meeting","version":"1","username":"Al"}),
        json!({"type":"screen_frame","frame_data":"!!!!","width":1,"height":1}),
        json!({"type":"screen_frame","frame_data":"AAAA","width":0,"height":1}),
        json!({"type":"screen_frame","frame_data":"","width":1,"height":1}),
        json!({"type":"file_offer","file_id":"f","filename":"a","filesize":1,"sha256":"abc"}),
        json!({"type":"file_offer","file_id":"","filename":"a","filesize":1,"sha256":HASH}),
        json!({"type":"file_offer","file_id":"f","filename":"a","filesize":-1,"sha256":HASH}),
        json!({"type":"file_chunk","transfer_id":"t","offset":0,"data":"a"}),
        json!({"type":"file_end","transfer_id":"t","sha256":"zz"}),
        json!({"no_type":1}),
        json!([1, 2]),
        json!("ping"),
    ];
    for case in cases {
        assert!(client(case.clone()).is_err(), "accepted {case}");
    }
    assert!(ClientMessage::parse(b"not json").is_err());
    assert!(ClientMessage::parse(b"{\"type\":\"chat\",\"message\":\"\xff\"}").is_err());
    assert!(ClientMessage::parse(b"").is_err());
}

#[test]
fn file_chunk_limit_is_64_kib_decoded() {
    let ok = crate::base64::encode(&vec![7u8; MAX_FILE_CHUNK]);
    assert!(client(json!({"type":"file_chunk","transfer_id":"t","offset":0,"data":ok})).is_ok());
    let over = crate::base64::encode(&vec![7u8; MAX_FILE_CHUNK + 1]);
    assert!(client(json!({"type":"file_chunk","transfer_id":"t","offset":0,"data":over})).is_err());
}

#[test]
fn usernames_are_trimmed() {
    assert_eq!(normalize_username("  Alice "), Ok("Alice".to_string()));
    assert_eq!(normalize_username(&"é".repeat(32)), Ok("é".repeat(32)));
}

#[test]
fn meeting_codes_match_ignoring_case() {
    assert_eq!(normalize_meeting_code("k7q2xz"), Some("K7Q2XZ".into()));
    assert_eq!(normalize_meeting_code("K7Q2X"), None);
    assert_eq!(
        normalize_meeting_code("K7Q2X0"),
        None,
        "0 is not in the alphabet"
    );
}

#[test]
fn join_success_example_from_the_contract() {
    let text = json!({"type":"join_success","meeting_code":"K7Q2XZ","client_id":"c7","is_host":false,
     "udp_port":5002,"udp_token":"9f1c0000000000000000000000000000","max_datagram":1400,
     "participants":[{"client_id":"c1","username":"Alice","is_host":true,"video":false,
                      "muted":false,"mic_locked":false,"hand_raised":false,"raised_at":null}],
     "presenter":null,"locked":false,"chat_history":[],"files":[]});
    let ServerMessage::JoinSuccess(reply) =
        ServerMessage::parse(text.to_string().as_bytes()).unwrap()
    else {
        panic!("not a join_success");
    };
    assert_eq!(reply.client_id, "c7");
    assert_eq!(reply.participants[0].username, "Alice");
    assert_eq!(reply.presenter, None);
}

#[test]
fn every_server_message_round_trips() {
    let id = || "c1".to_string();
    let reply = JoinReply {
        meeting_code: "ABCDEF".into(),
        client_id: id(),
        is_host: true,
        udp_port: 5002,
        udp_token: "0".repeat(32),
        max_datagram: 1400,
        participants: vec![ParticipantInfo {
            client_id: "c2".into(),
            username: "B".into(),
            is_host: false,
            video: true,
            muted: false,
            mic_locked: false,
            hand_raised: true,
            raised_at: Some(1.5),
        }],
        presenter: Some("c2".into()),
        locked: false,
        chat_history: vec![ChatLine {
            client_id: "c2".into(),
            username: "B".into(),
            message: "hi".into(),
            timestamp: 2.25,
            private: false,
        }],
        files: vec![FileOfferInfo {
            sender_id: "c2".into(),
            username: "B".into(),
            file_id: "f".into(),
            filename: "x".into(),
            filesize: 3,
            sha256: HASH.into(),
        }],
    };
    for m in [
        ServerMessage::MeetingCreated(reply.clone()),
        ServerMessage::JoinSuccess(reply.clone()),
        ServerMessage::error(ErrorCode::NotHost, "only the host"),
        ServerMessage::Pong,
        ServerMessage::UserJoined {
            client_id: id(),
            username: "A".into(),
        },
        ServerMessage::UserLeft {
            client_id: id(),
            username: "A".into(),
            reason: LeaveReason::Timeout,
        },
        ServerMessage::HostChanged { client_id: id() },
        ServerMessage::Chat(reply.chat_history[0].clone()),
        ServerMessage::ParticipantVideoState {
            client_id: id(),
            state: VideoState::Started,
        },
        ServerMessage::ParticipantAudioState {
            client_id: id(),
            muted: true,
        },
        ServerMessage::ParticipantHandState {
            client_id: id(),
            username: "A".into(),
            state: false,
            raised_at: None,
        },
        ServerMessage::EmojiReaction {
            client_id: id(),
            username: "A".into(),
            emoji: "🎉".into(),
        },
        ServerMessage::MutedByHost,
        ServerMessage::UnmutedByHost,
        ServerMessage::ParticipantMuted { client_id: id() },
        ServerMessage::ParticipantUnmuted { client_id: id() },
        ServerMessage::MicLocked,
        ServerMessage::MicUnlocked,
        ServerMessage::ParticipantMicLocked { client_id: id() },
        ServerMessage::ParticipantMicUnlocked { client_id: id() },
        ServerMessage::VideoRequested { by: id() },
        ServerMessage::UnmuteRequested { by: id() },
        ServerMessage::Removed { by: id() },
        ServerMessage::MeetingLocked { locked: true },
        ServerMessage::ScreenShareStarted { presenter_id: id() },
        ServerMessage::ScreenShareDenied {
            current_presenter: id(),
        },
        ServerMessage::ScreenShareStopped { presenter_id: id() },
        ServerMessage::ScreenFrame {
            presenter_id: id(),
            frame_data: "AA==".into(),
            width: 1,
            height: 1,
        },
        ServerMessage::FileOffer(reply.files[0].clone()),
        ServerMessage::FileRequest {
            downloader_id: id(),
            username: "A".into(),
            file_id: "f".into(),
            transfer_id: "t1".into(),
        },
        ServerMessage::FileTransferStarted {
            transfer_id: "t1".into(),
            sender_id: id(),
            file_id: "f".into(),
        },
        ServerMessage::FileChunk {
            transfer_id: "t1".into(),
            file_id: "f".into(),
            offset: 9,
            data: "AA==".into(),
        },
        ServerMessage::FileAck {
            transfer_id: "t1".into(),
            offset: 9,
        },
        ServerMessage::FileEnd {
            transfer_id: "t1".into(),
            file_id: "f".into(),
            sha256: HASH.into(),
        },
        ServerMessage::FileError {
            transfer_id: "t1".into(),
            reason: FileErrorReason::PeerLeft,
        },
        ServerMessage::FileUnavailable {
            sender_id: id(),
            file_id: "f".into(),
        },
    ] {
        roundtrip_server(m);
    }
}

#[test]
fn server_field_names_match_the_contract() {
    let v: Value = serde_json::to_value(ServerMessage::UserLeft {
        client_id: "c7".into(),
        username: "Bob".into(),
        reason: LeaveReason::Removed,
    })
    .unwrap();
    assert_eq!(
        v,
        json!({"type":"user_left","client_id":"c7","username":"Bob","reason":"removed"})
    );
    let v = serde_json::to_value(ServerMessage::Chat(ChatLine {
        client_id: "c7".into(),
        username: "Bob".into(),
        message: "Hello".into(),
        timestamp: 1763700000.25,
        private: false,
    }))
    .unwrap();
    assert_eq!(
        v,
        json!({"type":"chat","client_id":"c7","username":"Bob","message":"Hello",
               "timestamp":1763700000.25,"private":false})
    );
    let v = serde_json::to_value(ServerMessage::error(ErrorCode::TooLarge, "x")).unwrap();
    assert_eq!(v["code"], "too_large");
}

#[test]
fn unknown_error_codes_parse() {
    let m = ServerMessage::parse(br#"{"type":"error","code":"brand_new","message":"?"}"#).unwrap();
    assert_eq!(
        m,
        ServerMessage::Error {
            code: ErrorCode::Unknown,
            message: "?".into()
        }
    );
}

#[test]
fn rate_limited_is_spelled_as_on_the_wire() {
    let v =
        serde_json::to_value(ServerMessage::error(ErrorCode::RateLimited, "slow down")).unwrap();
    assert_eq!(v["code"], "rate_limited");
    assert_eq!(ErrorCode::RateLimited.as_str(), "rate_limited");
    let m =
        ServerMessage::parse(br#"{"type":"error","code":"rate_limited","message":"?"}"#).unwrap();
    assert!(matches!(
        m,
        ServerMessage::Error {
            code: ErrorCode::RateLimited,
            ..
        }
    ));
}

// Section 19: screen patches.
#[test]
fn screen_patches_have_their_wire_shape_and_are_checked() {
    let rect = json!({"x":64,"y":0,"width":64,"height":32,"frame_data":"/9j/4A=="});
    let parsed = ClientMessage::parse(
        json!({"type":"screen_patch","patches":[rect]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let ClientMessage::ScreenPatch { patches } = &parsed else {
        panic!("{parsed:?}");
    };
    assert_eq!(
        (patches[0].x, patches[0].width, patches[0].height),
        (64, 64, 32)
    );
    assert!(patches[0].fits_in(128, 32) && !patches[0].fits_in(127, 32));
    let out = ServerMessage::ScreenPatch {
        presenter_id: "c7".into(),
        patches: patches.clone(),
    };
    assert_eq!(
        serde_json::to_value(&out).unwrap(),
        json!({"type":"screen_patch","presenter_id":"c7","patches":[rect]})
    );
    assert_eq!(
        serde_json::to_string(&ServerMessage::ScreenKeyframeRequest).unwrap(),
        r#"{"type":"screen_keyframe_request"}"#
    );
    let ok = |r: Value| json!({"type":"screen_patch","patches":[r]});
    let many: Vec<Value> = (0..257).map(|_| rect.clone()).collect();
    for bad in [
        json!({"type":"screen_patch","patches":[]}),
        json!({"type":"screen_patch","patches":many}),
        json!({"type":"screen_patch"}),
        ok(json!({"x":0,"y":0,"width":0,"height":1,"frame_data":"AAAA"})),
        ok(json!({"x":0,"y":0,"width":1,"height":16385,"frame_data":"AAAA"})),
        ok(json!({"x":16384,"y":0,"width":1,"height":1,"frame_data":"AAAA"})),
        ok(json!({"x":-1,"y":0,"width":1,"height":1,"frame_data":"AAAA"})),
        ok(json!({"x":0,"y":0,"width":1,"height":1,"frame_data":""})),
        ok(json!({"x":0,"y":0,"width":1,"height":1,"frame_data":"!!!!"})),
    ] {
        assert!(
            ClientMessage::parse(bad.to_string().as_bytes()).is_err(),
            "{bad} was accepted"
        );
    }
}

// Sections 11-12.

#[test]
fn video_subscribe_example_from_the_contract() {
    let m = client(
        json!({"type":"video_subscribe","default":"thumb","last_n":8,
                          "overrides":{"c3":"full","c9":"none"}}),
    )
    .unwrap();
    let ClientMessage::VideoSubscribe {
        default_layer,
        last_n,
        overrides,
    } = &m
    else {
        panic!("not a video_subscribe: {m:?}");
    };
    assert_eq!(*default_layer, LayerChoice::Thumb);
    assert_eq!(*last_n, Some(8));
    assert_eq!(overrides.get("c3"), Some(&LayerChoice::Full));
    assert_eq!(overrides.get("c9"), Some(&LayerChoice::None));
    roundtrip_client(m);
    // last_n and overrides are optional.
    let bare = client(json!({"type":"video_subscribe","default":"none"})).unwrap();
    assert!(matches!(
        bare,
        ClientMessage::VideoSubscribe { last_n: None, ref overrides, .. } if overrides.is_empty()
    ));
}

#[test]
fn video_subscribe_bad_values_are_bad_requests() {
    let too_many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("c{i}"), json!("full"))).collect();
    let just_enough: serde_json::Map<String, Value> =
        (0..64).map(|i| (format!("c{i}"), json!("thumb"))).collect();
    for bad in [
        json!({"type":"video_subscribe","default":"large"}),
        json!({"type":"video_subscribe","default":"FULL"}),
        json!({"type":"video_subscribe"}),
        json!({"type":"video_subscribe","default":"full","last_n":65}),
        json!({"type":"video_subscribe","default":"full","last_n":-1}),
        json!({"type":"video_subscribe","default":"full","last_n":"8"}),
        json!({"type":"video_subscribe","default":"full","overrides":{"c3":"big"}}),
        json!({"type":"video_subscribe","default":"full","overrides":{"":"full"}}),
        json!({"type":"video_subscribe","default":"full","overrides":["c3"]}),
        json!({"type":"video_subscribe","default":"full","overrides":too_many}),
    ] {
        assert!(client(bad.clone()).is_err(), "accepted {bad}");
    }
    for good in [
        json!({"type":"video_subscribe","default":"full","last_n":0}),
        json!({"type":"video_subscribe","default":"full","last_n":64}),
        json!({"type":"video_subscribe","default":"none","overrides":just_enough}),
    ] {
        assert!(client(good.clone()).is_ok(), "refused {good}");
    }
}

#[test]
fn layers_wanted_and_speaking_round_trip() {
    let wanted = ServerMessage::VideoLayersWanted {
        full: true,
        thumb: false,
    };
    assert_eq!(
        serde_json::to_value(&wanted).unwrap(),
        json!({"type":"video_layers_wanted","full":true,"thumb":false})
    );
    roundtrip_server(wanted);
    let speaking = ServerMessage::Speaking {
        client_ids: vec!["c3".into(), "c7".into()],
    };
    assert_eq!(
        serde_json::to_value(&speaking).unwrap(),
        json!({"type":"speaking","client_ids":["c3","c7"]})
    );
    roundtrip_server(speaking);
    roundtrip_server(ServerMessage::Speaking { client_ids: vec![] });
}
