//! The client's meeting logic driven directly, with simulated time and no
//! sockets, threads or files: one section per part of the protocol.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use lanmeet_common::audio::{self, FRAME_SAMPLES};
use lanmeet_common::limits::{FILE_ACK_INTERVAL, FILE_WINDOW, MAX_FILE_CHUNK};
use lanmeet_common::message::{
    ChatLine, FileErrorReason, FileOfferInfo, JoinReply, LeaveReason, ParticipantInfo,
};
use lanmeet_common::sha256::Sha256;
use lanmeet_common::udp::{self, Kind, HELLO_OK};
use lanmeet_common::{base64, video, ErrorCode};

use super::*;

const ME: &str = "c7";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const RESUME: &str = "fedcba9876543210fedcba9876543210";

fn reply() -> JoinReply {
    JoinReply {
        meeting_code: "K7Q2XZ".into(),
        client_id: ME.into(),
        is_host: false,
        udp_port: 5002,
        udp_token: TOKEN.into(),
        max_datagram: 1400,
        participants: vec![ParticipantInfo {
            client_id: "c1".into(),
            username: "Alice".into(),
            is_host: true,
            video: false,
            muted: false,
            mic_locked: false,
            hand_raised: false,
            raised_at: None,
        }],
        presenter: None,
        locked: false,
        chat_history: vec![],
        files: vec![],
    }
}

fn timing() -> Timing {
    Timing {
        ping_interval: Duration::from_secs(10),
        hello_interval: Duration::from_secs(2),
        media_timeout: Duration::from_secs(5),
        server_timeout: Duration::from_secs(30),
    }
}

/// A core and everything it asked for, sorted by kind.
struct Harness {
    core: ClientCore,
    now: Instant,
    sent: Vec<ClientMessage>,
    datagrams: Vec<Vec<u8>>,
    events: Vec<Event>,
    decode: Vec<DecodeJob>,
    files: Vec<FileOp>,
    /// Every other output, in order.
    other: Vec<Output>,
}

impl Harness {
    fn new() -> Harness {
        let now = Instant::now();
        let config = CoreConfig {
            client_id: ME.into(),
            username: "Me".into(),
            udp_token: TOKEN.into(),
            resume_token: Some(RESUME.into()),
            jitter_ms: 30,
            timing: timing(),
        };
        let core = ClientCore::new(config, &reply(), false, now, SystemTime::UNIX_EPOCH);
        let mut h = Harness {
            core,
            now,
            sent: vec![],
            datagrams: vec![],
            events: vec![],
            decode: vec![],
            files: vec![],
            other: vec![],
        };
        h.collect();
        h
    }

    fn collect(&mut self) {
        while let Some(out) = self.core.poll_output() {
            match out {
                Output::Send(m) => self.sent.push(m),
                Output::Datagram(d) => self.datagrams.push(d),
                Output::Event(e) => self.events.push(e),
                Output::Decode(j) => self.decode.push(j),
                Output::File(op) => self.files.push(op),
                Output::Log(_) => {}
                other => self.other.push(other),
            }
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.core.handle(input, self.now);
        self.collect();
    }

    fn server(&mut self, msg: ServerMessage) {
        let body = serde_json::to_vec(&msg).unwrap();
        self.input(Input::Frame(&body));
    }

    fn command(&mut self, c: Command) {
        self.input(Input::Command(c));
    }

    fn file(&mut self, r: FileResult) {
        self.input(Input::File(r));
    }

    /// Moves the clock on, ticking the core at every deadline on the way.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = self.core.next_deadline().max(self.now);
            if next > end {
                self.now = end;
                self.input(Input::Tick);
                return;
            }
            self.now = next;
            self.input(Input::Tick);
            if self.core.next_deadline() <= self.now {
                // A core that ended has no timers left.
                self.now = end;
                return;
            }
        }
    }

    /// Takes the events so far.
    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn take_sent(&mut self) -> Vec<ClientMessage> {
        std::mem::take(&mut self.sent)
    }

    fn take_files(&mut self) -> Vec<FileOp> {
        std::mem::take(&mut self.files)
    }
}

// ---- joining and every event ----------------------------------------

#[test]
fn join_gives_the_state_then_joined_then_a_hello() {
    let h = Harness::new();
    assert_eq!(
        h.events,
        vec![Event::Joined {
            meeting_code: "K7Q2XZ".into(),
            client_id: ME.into(),
            is_host: false,
            created: false,
            others: 1,
        }]
    );
    let state = h.core.state();
    assert!(state.connected);
    assert_eq!(state.participants.len(), 2);
    assert!(state.me().is_some_and(|p| p.username == "Me"));
    assert_eq!(h.datagrams.len(), 1);
    let hello = udp::parse(&h.datagrams[0]).unwrap();
    assert_eq!((hello.kind, hello.client_id), (Kind::Hello, ME));
    assert_eq!(hello.body, TOKEN.as_bytes());
    assert_eq!(h.core.media_path(), MediaPath::Waiting);
}

#[test]
fn every_server_message_changes_the_state_then_becomes_its_event() {
    let mut h = Harness::new();
    h.take_events();
    let c2 = || "c2".to_string();
    let line = ChatLine {
        client_id: c2(),
        username: "Bob".into(),
        message: "hi".into(),
        timestamp: 5.0,
        private: false,
    };
    let offer = FileOfferInfo {
        sender_id: c2(),
        username: "Bob".into(),
        file_id: "f1".into(),
        filename: "a.txt".into(),
        filesize: 3,
        sha256: "0".repeat(64),
    };
    let cases: Vec<(ServerMessage, Option<Event>)> = vec![
        (ServerMessage::Pong, None),
        (
            ServerMessage::UserJoined {
                client_id: c2(),
                username: "Bob".into(),
            },
            Some(Event::ParticipantJoined {
                client_id: c2(),
                username: "Bob".into(),
            }),
        ),
        (ServerMessage::Chat(line.clone()), Some(Event::Chat(line))),
        (
            ServerMessage::HostChanged { client_id: c2() },
            Some(Event::HostChanged { client_id: c2() }),
        ),
        (
            ServerMessage::ParticipantVideoState {
                client_id: c2(),
                state: VideoState::Started,
            },
            Some(Event::VideoState {
                client_id: c2(),
                on: true,
            }),
        ),
        (
            ServerMessage::ParticipantMuted { client_id: c2() },
            Some(Event::Muted {
                client_id: c2(),
                muted: true,
            }),
        ),
        (
            ServerMessage::ParticipantMicLocked { client_id: c2() },
            Some(Event::MicLock {
                client_id: c2(),
                locked: true,
            }),
        ),
        (
            ServerMessage::ParticipantHandState {
                client_id: c2(),
                username: "Bob".into(),
                state: true,
                raised_at: Some(9.0),
            },
            Some(Event::Hand {
                client_id: c2(),
                username: "Bob".into(),
                raised: true,
            }),
        ),
        (
            ServerMessage::EmojiReaction {
                client_id: c2(),
                username: "Bob".into(),
                emoji: "👍".into(),
            },
            Some(Event::Reaction {
                client_id: c2(),
                username: "Bob".into(),
                emoji: "👍".into(),
            }),
        ),
        (
            ServerMessage::VideoRequested { by: c2() },
            Some(Event::VideoRequested { by: c2() }),
        ),
        (
            ServerMessage::UnmuteRequested { by: c2() },
            Some(Event::UnmuteRequested { by: c2() }),
        ),
        (
            ServerMessage::MeetingLocked { locked: true },
            Some(Event::MeetingLocked { locked: true }),
        ),
        (
            ServerMessage::ScreenShareStarted { presenter_id: c2() },
            Some(Event::ScreenShareStarted { presenter_id: c2() }),
        ),
        (
            ServerMessage::FileOffer(offer.clone()),
            Some(Event::FileOffered(offer)),
        ),
        (
            ServerMessage::FileUnavailable {
                sender_id: c2(),
                file_id: "f1".into(),
            },
            Some(Event::FileUnavailable {
                sender_id: c2(),
                file_id: "f1".into(),
            }),
        ),
        (
            ServerMessage::Error {
                code: ErrorCode::NotHost,
                message: "no".into(),
            },
            Some(Event::ServerError {
                code: ErrorCode::NotHost,
                message: "no".into(),
            }),
        ),
        (
            ServerMessage::UserLeft {
                client_id: c2(),
                username: "Bob".into(),
                reason: LeaveReason::Left,
            },
            Some(Event::ParticipantLeft {
                client_id: c2(),
                username: "Bob".into(),
                reason: LeaveReason::Left,
            }),
        ),
    ];
    for (msg, want) in cases {
        let what = format!("{msg:?}");
        h.server(msg);
        assert_eq!(
            h.take_events(),
            want.into_iter().collect::<Vec<_>>(),
            "{what}"
        );
    }
    // What the state saw on the way: Bob came, chatted, hosted, presented,
    // offered and withdrew, and left (taking his presentation with him).
    let s = h.core.state();
    assert_eq!(s.chat.len(), 1);
    assert!(s.locked);
    assert!(s.participant("c2").is_none());
    assert_eq!(s.presenter, None);
    assert!(s.offers.is_empty());
    assert!(h
        .other
        .contains(&Output::Forget(FrameKey::Camera("c2".into()))));
}

#[test]
fn messages_about_us_drive_the_microphone_and_the_screen_sender() {
    let mut h = Harness::new();
    h.server(ServerMessage::MutedByHost);
    h.server(ServerMessage::MicLocked);
    h.server(ServerMessage::UnmutedByHost);
    h.server(ServerMessage::ParticipantAudioState {
        client_id: ME.into(),
        muted: true,
    });
    h.server(ServerMessage::ScreenShareStarted {
        presenter_id: ME.into(),
    });
    h.server(ServerMessage::ScreenFrame {
        presenter_id: ME.into(),
        frame_data: base64::encode(b"jpeg"),
        width: 2,
        height: 2,
    });
    h.server(ServerMessage::ScreenShareStopped {
        presenter_id: ME.into(),
    });
    h.server(ServerMessage::ScreenShareDenied {
        current_presenter: "c1".into(),
    });
    assert_eq!(
        h.other,
        vec![
            Output::Microphone { muted: true },
            Output::Microphone { muted: false },
            Output::Microphone { muted: true },
            Output::StartScreenSender,
            Output::Screen(ScreenJob::Keyframe {
                presenter_id: ME.into(),
                jpeg: b"jpeg".to_vec(),
            }),
            Output::StopScreenSender,
            Output::Forget(FrameKey::Screen(ME.into())),
            Output::DropScreenSource,
        ]
    );
    assert!(h.core.is_muted());
    assert!(h.core.state().me().unwrap().mic_locked);
    assert!(
        h.decode.is_empty(),
        "screens do not go through the decode queue"
    );
    // Muting ourselves is at once; unmuting waits for the server.
    let mut h = Harness::new();
    h.command(Command::SetMuted(true));
    h.command(Command::SetMuted(false));
    assert_eq!(h.other, vec![Output::Microphone { muted: true }]);
    assert_eq!(
        h.take_sent(),
        vec![
            ClientMessage::AudioState { muted: true },
            ClientMessage::AudioState { muted: false }
        ]
    );
}

#[test]
fn our_chat_line_is_kept_with_the_time() {
    let mut h = Harness::new();
    h.advance(Duration::from_secs(3));
    h.command(Command::Chat {
        message: "hello".into(),
        to: Some("c1".into()),
    });
    let line = &h.core.state().chat[0];
    assert_eq!((line.client_id.as_str(), line.private), (ME, true));
    assert!((line.timestamp - 3.0).abs() < 1e-6, "{}", line.timestamp);
    assert!(h.sent.contains(&ClientMessage::Chat {
        message: "hello".into(),
        to: Some("c1".into()),
    }));
}

#[test]
fn bad_frames_warn_or_end_the_session() {
    let mut h = Harness::new();
    h.take_events();
    h.input(Input::Frame(br#"{"type":"from_the_future","x":1}"#));
    assert!(h.events.is_empty() && h.other.is_empty());
    h.input(Input::Frame(br#"{"type":"user_joined"}"#));
    assert!(matches!(&h.take_events()[..], [Event::Warning { .. }]));
    h.input(Input::Frame(b"\xff not json"));
    assert!(matches!(
        &h.other[..],
        [Output::End(DisconnectReason::Protocol(_))]
    ));
}

#[test]
fn removal_is_remembered_and_the_end_is_the_last_event() {
    let mut h = Harness::new();
    h.server(ServerMessage::Removed { by: "c1".into() });
    assert_eq!(h.core.removed_by(), Some("c1"));
    h.take_events();
    h.input(Input::Ended(DisconnectReason::Removed("c1".into())));
    assert_eq!(
        h.take_events(),
        vec![Event::Disconnected {
            reason: DisconnectReason::Removed("c1".into())
        }]
    );
    assert!(!h.core.state().connected);
    // Nothing happens after the end.
    h.server(ServerMessage::UserJoined {
        client_id: "c9".into(),
        username: "Late".into(),
    });
    h.advance(Duration::from_secs(60));
    assert!(h.events.is_empty());
}

// ---- heartbeat and the media path -----------------------------------

#[test]
fn the_media_path_waits_then_works_then_times_out() {
    let mut h = Harness::new();
    h.take_events();
    let answer = udp::build(Kind::Hello, "", HELLO_OK);
    // The server answers every hello for 20 s.
    for _ in 0..10 {
        h.advance(Duration::from_secs(2));
        h.input(Input::Datagram(&answer));
    }
    assert_eq!(
        h.take_events(),
        vec![Event::MediaPath {
            state: MediaPath::Ok
        }]
    );
    assert_eq!(h.datagrams.len(), 11, "a hello at 0 s and every 2 s after");
    let pings = |h: &Harness| h.sent.iter().filter(|m| **m == ClientMessage::Ping).count();
    assert_eq!(pings(&h), 2, "a ping every 10 s");
    // Then no more answers: NoAnswer 5 s after the last one.
    h.advance(Duration::from_millis(4900));
    assert!(h.events.is_empty());
    h.advance(Duration::from_millis(300));
    assert_eq!(
        h.take_events(),
        vec![Event::MediaPath {
            state: MediaPath::NoAnswer
        }]
    );
    assert_eq!(h.core.media_path(), MediaPath::NoAnswer);
}

#[test]
fn a_server_silent_for_30_s_ends_the_session() {
    let mut h = Harness::new();
    // Pongs keep it alive for a minute.
    for _ in 0..6 {
        h.advance(Duration::from_secs(10));
        h.server(ServerMessage::Pong);
    }
    assert!(!h.other.iter().any(|o| matches!(o, Output::End(_))));
    h.advance(Duration::from_secs(29));
    assert!(h.other.is_empty());
    h.advance(Duration::from_secs(2));
    assert_eq!(h.other, vec![Output::End(DisconnectReason::Timeout)]);
    // Asked for once.
    h.advance(Duration::from_secs(10));
    assert_eq!(h.other.len(), 1);
}

// ---- video: the assembler and camera restarts -----------------------

/// The `'V'` datagrams of one frame of `sender`.
fn video_datagrams(sender: &str, seq: u32) -> Vec<Vec<u8>> {
    let jpeg = vec![seq as u8; 5000];
    let mut out = Vec::new();
    video::fragment(sender, seq, &jpeg, 1200, |d| out.push(d.to_vec())).unwrap();
    out
}

fn send_frame(h: &mut Harness, sender: &str, seq: u32) {
    for d in video_datagrams(sender, seq) {
        h.input(Input::Datagram(&d));
    }
}

fn decoded_seqs(h: &mut Harness) -> Vec<u32> {
    std::mem::take(&mut h.decode)
        .into_iter()
        .map(|j| {
            assert_eq!(j.key, FrameKey::Camera("c1".into()));
            j.frame_seq
        })
        .collect()
}

#[test]
fn fragments_make_decode_jobs_and_late_fragments_are_dropped() {
    let mut h = Harness::new();
    let mut parts = video_datagrams("c1", 0);
    let last = parts.pop().unwrap();
    for d in &parts {
        h.input(Input::Datagram(d));
    }
    assert!(h.decode.is_empty());
    h.input(Input::Datagram(&last));
    assert_eq!(decoded_seqs(&mut h), vec![0]);
    assert_eq!(h.decode.len(), 0);
    // Half of frame 1, then frame 2 whole: 1 is dropped when it expires.
    let parts = video_datagrams("c1", 1);
    h.input(Input::Datagram(&parts[0]));
    send_frame(&mut h, "c1", 2);
    h.advance(Duration::from_millis(600));
    h.input(Input::Datagram(&parts[1]));
    assert_eq!(decoded_seqs(&mut h), vec![2]);
    let stats = h.core.stats();
    assert_eq!(stats.video_frames_received, 2);
    assert_eq!(stats.video_frames_dropped, 1);
    // Our own video (the server never relays it back) and garbage.
    send_frame(&mut h, ME, 3);
    h.input(Input::Datagram(b"V\x02"));
    assert!(h.decode.is_empty());
    assert_eq!(h.core.stats().malformed_datagrams, 1);
}

#[test]
fn a_restarted_camera_is_decoded_at_once() {
    let mut h = Harness::new();
    // Five seconds of camera at 20 fps.
    for seq in 0..100 {
        send_frame(&mut h, "c1", seq);
        h.advance(Duration::from_millis(50));
    }
    assert_eq!(decoded_seqs(&mut h).len(), 100);
    h.server(ServerMessage::ParticipantVideoState {
        client_id: "c1".into(),
        state: VideoState::Stopped,
    });
    assert!(h
        .other
        .contains(&Output::Forget(FrameKey::Camera("c1".into()))));
    h.advance(Duration::from_secs(2));
    h.server(ServerMessage::ParticipantVideoState {
        client_id: "c1".into(),
        state: VideoState::Started,
    });
    // The new stream's first frame is decoded the moment it is whole, and
    // every one after it.
    for seq in 0..60 {
        send_frame(&mut h, "c1", seq);
        assert_eq!(
            decoded_seqs(&mut h),
            vec![seq],
            "frame {seq} of the new run"
        );
        h.advance(Duration::from_millis(50));
    }
}

#[test]
fn a_restart_seen_before_its_video_state_is_decoded_too() {
    let mut h = Harness::new();
    for seq in 0..100 {
        send_frame(&mut h, "c1", seq);
        h.advance(Duration::from_millis(50));
    }
    decoded_seqs(&mut h);
    // The camera restarted (or its source was replaced) and its frames
    // come before any video_state: numbered far below the last one.
    send_frame(&mut h, "c1", 0);
    send_frame(&mut h, "c1", 1);
    assert_eq!(decoded_seqs(&mut h), vec![0, 1]);
    // A video_state that arrives after them changes nothing for the next.
    h.server(ServerMessage::ParticipantVideoState {
        client_id: "c1".into(),
        state: VideoState::Started,
    });
    send_frame(&mut h, "c1", 2);
    assert_eq!(decoded_seqs(&mut h), vec![2]);
}

// ---- audio: the jitter buffer ----------------------------------------

fn audio_datagram(seq: u32) -> Vec<u8> {
    // The sample value tells which frame was played: (seq + 1) * 100, so
    // that a concealment (faded) is told apart from a real frame.
    let frame = [((seq + 1) * 100) as i16; FRAME_SAMPLES];
    audio::build_datagram("", seq, &frame)
}

/// Plays one 10 ms frame and says which it was: its last sample (0 for
/// silence; the first ones may be a cross-fade from a concealment).
fn play(h: &mut Harness) -> i16 {
    h.now += Duration::from_millis(10);
    h.core.play_frame()[FRAME_SAMPLES - 1]
}

#[test]
fn mixed_audio_is_only_buffered_while_playing() {
    let mut h = Harness::new();
    h.input(Input::Datagram(&audio_datagram(0)));
    assert_eq!(h.core.stats().audio_frames_received, 1);
    assert_eq!(h.core.stats().jitter.received, 0);
    h.command(Command::StartPlayout);
    h.input(Input::Datagram(&audio_datagram(1)));
    assert_eq!(h.core.stats().jitter.received, 1);
    h.command(Command::StopPlayout);
    h.input(Input::Datagram(&audio_datagram(2)));
    assert_eq!(h.core.stats().jitter.received, 1);
}

#[test]
fn jitter_buffer_under_reordering_loss_and_a_late_burst() {
    let mut h = Harness::new();
    h.command(Command::StartPlayout);
    let mut played = Vec::new();
    // Frames 0..=29 arrive one per 10 ms, but swapped in pairs (1 before
    // 0, 3 before 2, ...), and frame 17 is lost.
    for pair in 0..15u32 {
        for seq in [2 * pair + 1, 2 * pair] {
            if seq != 17 {
                h.input(Input::Datagram(&audio_datagram(seq)));
            }
        }
        played.push(play(&mut h));
        played.push(play(&mut h));
    }
    // Silence while the buffer fills to 30 ms, then every frame in order;
    // in place of the lost one, sound (the concealment), not silence.
    assert!(played[..2].iter().all(|&s| s == 0), "{played:?}");
    let start = played.iter().position(|&s| s != 0).expect("sound");
    let mut real: Vec<i16> = played[start..]
        .iter()
        .copied()
        .filter(|s| s % 100 == 0)
        .collect();
    real.dedup();
    let expected: Vec<i16> = (0..30)
        .filter(|&s| s != 17)
        .map(|s| (s + 1) * 100)
        .collect();
    assert_eq!(real[..], expected[..real.len()], "{played:?}");
    assert!(played[start..].iter().all(|&s| s != 0), "{played:?}");
    let stats = h.core.stats().jitter;
    assert_eq!(stats.late_drops, 0);
    assert!(stats.concealed >= 1, "{stats:?}");
    // Then nothing for 150 ms: the concealment fades out and the buffer
    // stops to refill.
    for _ in 0..15 {
        played.push(play(&mut h));
    }
    assert!(played[played.len() - 5..].iter().all(|&s| s == 0));
    assert!(h.core.stats().jitter.underruns >= 1);
    // A late burst of 15 frames at once (30..=44), then one frame per
    // 10 ms: the delay goes back down once the stall has left the 2 s
    // jitter measurement.
    for seq in 30..45 {
        h.input(Input::Datagram(&audio_datagram(seq)));
    }
    assert_eq!(h.core.stats().jitter.depth_ms, 150);
    for seq in 45..345 {
        h.input(Input::Datagram(&audio_datagram(seq)));
        play(&mut h);
    }
    let stats = h.core.stats().jitter;
    assert!(stats.shrink_drops >= 5, "{stats:?}");
    assert!(stats.depth_ms <= 40, "{stats:?}");
    // A frame from before what was played is dropped as late.
    h.input(Input::Datagram(&audio_datagram(20)));
    assert_eq!(h.core.stats().jitter.late_drops, 1);
}

// ---- files: a transfer from both sides ------------------------------

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn sha(data: &[u8]) -> String {
    let mut s = Sha256::new();
    s.update(data);
    s.finish_hex()
}

#[test]
fn a_download_is_checked_written_acked_and_saved() {
    let mut h = Harness::new();
    let data = content(300 * 1024);
    let offer = FileOfferInfo {
        sender_id: "c1".into(),
        username: "Alice".into(),
        file_id: "f1".into(),
        filename: "../report.pdf".into(),
        filesize: data.len() as u64,
        sha256: sha(&data),
    };
    h.server(ServerMessage::FileOffer(offer));
    h.take_events();
    h.server(ServerMessage::FileTransferStarted {
        transfer_id: "t1".into(),
        sender_id: "c1".into(),
        file_id: "f1".into(),
    });
    assert!(matches!(
        &h.take_events()[..],
        [Event::TransferStarted { direction: TransferDirection::Download, size, .. }]
            if *size == data.len() as u64
    ));
    assert_eq!(
        h.take_files(),
        vec![FileOp::OpenDownload {
            transfer_id: "t1".into(),
            filename: "../report.pdf".into(),
        }]
    );
    h.file(FileResult::Opened {
        transfer_id: "t1".into(),
        result: Ok(PathBuf::from("/dl/report.pdf")),
    });
    let mut written = Vec::new();
    for (i, chunk) in data.chunks(MAX_FILE_CHUNK).enumerate() {
        h.advance(Duration::from_millis(100));
        h.server(ServerMessage::FileChunk {
            transfer_id: "t1".into(),
            file_id: "f1".into(),
            offset: (i * MAX_FILE_CHUNK) as u64,
            data: base64::encode(chunk),
        });
        for op in h.take_files() {
            match op {
                FileOp::Write { data, .. } => written.extend(data),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(written, data);
    // One ack after 256 KiB (plus the pings of the simulated time).
    let acks: Vec<u64> = h
        .take_sent()
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::FileAck { offset, .. } => Some(offset),
            _ => None,
        })
        .collect();
    assert_eq!(acks, vec![FILE_ACK_INTERVAL]);
    assert!(h
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::TransferProgress { .. })));
    h.server(ServerMessage::FileEnd {
        transfer_id: "t1".into(),
        file_id: "f1".into(),
        sha256: sha(&data),
    });
    assert_eq!(
        h.take_sent(),
        vec![ClientMessage::FileAck {
            transfer_id: "t1".into(),
            offset: data.len() as u64,
        }]
    );
    assert_eq!(
        h.take_files(),
        vec![FileOp::Save {
            transfer_id: "t1".into()
        }]
    );
    let path = PathBuf::from("/dl/report.pdf");
    h.file(FileResult::Saved {
        transfer_id: "t1".into(),
        result: Ok((path.clone(), data.len() as u64)),
    });
    assert_eq!(
        h.take_events(),
        vec![Event::TransferDone {
            transfer_id: "t1".into(),
            direction: TransferDirection::Download,
            path: Some(path.clone()),
            size: data.len() as u64,
        }]
    );
    let t = h.core.state().transfer("t1").unwrap();
    assert_eq!(
        (t.status, t.path.as_ref()),
        (TransferStatus::Done, Some(&path))
    );
}

#[test]
fn a_damaged_or_overlong_download_is_discarded() {
    for (chunk, sha256, why) in [
        (content(10), sha(&content(10)).replace('a', "b"), "SHA-256"),
        (content(20), sha(&content(10)), "more than the offered size"),
    ] {
        let mut h = Harness::new();
        let offer = FileOfferInfo {
            sender_id: "c1".into(),
            username: "Alice".into(),
            file_id: "f1".into(),
            filename: "a.bin".into(),
            filesize: 10,
            sha256: sha(&content(10)),
        };
        h.server(ServerMessage::FileOffer(offer));
        h.server(ServerMessage::FileTransferStarted {
            transfer_id: "t1".into(),
            sender_id: "c1".into(),
            file_id: "f1".into(),
        });
        h.server(ServerMessage::FileChunk {
            transfer_id: "t1".into(),
            file_id: "f1".into(),
            offset: 0,
            data: base64::encode(&chunk),
        });
        h.server(ServerMessage::FileEnd {
            transfer_id: "t1".into(),
            file_id: "f1".into(),
            sha256,
        });
        assert!(
            h.files.contains(&FileOp::Discard {
                transfer_id: "t1".into()
            }),
            "{why}: {:?}",
            h.files
        );
        assert!(
            h.events
                .iter()
                .any(|e| matches!(e, Event::TransferFailed { reason, .. } if reason.contains(why))),
            "{why}: {:?}",
            h.events
        );
        assert!(!h.files.iter().any(|f| matches!(f, FileOp::Save { .. })));
    }
}

#[test]
fn an_upload_reads_within_the_window_and_ends_after_the_last_ack() {
    let mut h = Harness::new();
    let data = content(3 * 1024 * 1024 + 100);
    let size = data.len() as u64;
    h.take_events();
    h.command(Command::Offer(LocalOffer {
        file_id: "f1".into(),
        path: PathBuf::from("/home/me/big.bin"),
        filename: "big.bin".into(),
        size,
        sha256: sha(&data),
    }));
    assert!(matches!(&h.take_events()[..], [Event::FileOffered(o)] if o.sender_id == ME));
    assert!(matches!(
        &h.take_sent()[..],
        [ClientMessage::FileOffer { .. }]
    ));
    h.server(ServerMessage::FileRequest {
        downloader_id: "c1".into(),
        username: "Alice".into(),
        file_id: "f1".into(),
        transfer_id: "t9".into(),
    });
    assert!(matches!(
        &h.take_events()[..],
        [Event::TransferStarted {
            direction: TransferDirection::Upload,
            ..
        }]
    ));
    // Answer every read at once until the core stops asking: that is the
    // window.
    let mut received = Vec::new();
    let mut acked = 0u64;
    loop {
        let reads = h.take_files();
        if reads.is_empty() {
            // Window full: the downloader acks what it has.
            let have = received.len() as u64;
            assert!(have - acked <= FILE_WINDOW, "{have} sent, {acked} acked");
            if h.sent
                .iter()
                .any(|m| matches!(m, ClientMessage::FileEnd { .. }))
            {
                break;
            }
            assert!(have - acked > FILE_WINDOW - MAX_FILE_CHUNK as u64);
            acked = have;
            h.server(ServerMessage::FileAck {
                transfer_id: "t9".into(),
                offset: acked,
            });
            continue;
        }
        for op in reads {
            let FileOp::Read {
                offset, len, path, ..
            } = op
            else {
                panic!("unexpected {op:?}")
            };
            assert_eq!(path, PathBuf::from("/home/me/big.bin"));
            assert_eq!(offset, received.len() as u64);
            let bytes = data[offset as usize..offset as usize + len].to_vec();
            h.file(FileResult::Read {
                transfer_id: "t9".into(),
                result: Ok(bytes),
            });
            for m in h.take_sent() {
                if let ClientMessage::FileChunk { offset, data, .. } = m {
                    assert_eq!(offset, received.len() as u64);
                    received.extend(base64::decode(&data).unwrap());
                } else {
                    h.sent.push(m);
                }
            }
        }
    }
    assert_eq!(received, data);
    assert!(h.sent.contains(&ClientMessage::FileEnd {
        transfer_id: "t9".into(),
        sha256: sha(&data),
    }));
    assert!(!h
        .events
        .iter()
        .any(|e| matches!(e, Event::TransferDone { .. })));
    h.server(ServerMessage::FileAck {
        transfer_id: "t9".into(),
        offset: size,
    });
    assert!(h.events.contains(&Event::TransferDone {
        transfer_id: "t9".into(),
        direction: TransferDirection::Upload,
        path: None,
        size,
    }));
    assert!(h.files.contains(&FileOp::Close {
        transfer_id: "t9".into()
    }));
    assert_eq!(h.core.stats().file_bytes_sent, size);
}

#[test]
fn a_file_changed_since_its_offer_fails_the_upload() {
    let mut h = Harness::new();
    let data = content(1000);
    h.command(Command::Offer(LocalOffer {
        file_id: "f1".into(),
        path: PathBuf::from("x"),
        filename: "x".into(),
        size: 1000,
        sha256: sha(&data),
    }));
    h.server(ServerMessage::FileRequest {
        downloader_id: "c1".into(),
        username: "Alice".into(),
        file_id: "f1".into(),
        transfer_id: "t1".into(),
    });
    h.take_sent();
    h.file(FileResult::Read {
        transfer_id: "t1".into(),
        result: Ok(vec![0; 1000]),
    });
    let sent = h.take_sent();
    assert!(sent.contains(&ClientMessage::FileCancel {
        transfer_id: "t1".into()
    }));
    assert!(!sent
        .iter()
        .any(|m| matches!(m, ClientMessage::FileEnd { .. })));
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, Event::TransferFailed { reason, .. } if reason.contains("changed"))));
}

#[test]
fn cancels_and_the_end_of_the_session_fail_transfers_once() {
    let mut h = Harness::new();
    // An upload the other side cancels: no cancel goes back.
    h.command(Command::Offer(LocalOffer {
        file_id: "f1".into(),
        path: PathBuf::from("x"),
        filename: "x".into(),
        size: 10,
        sha256: sha(&content(10)),
    }));
    h.server(ServerMessage::FileRequest {
        downloader_id: "c1".into(),
        username: "Alice".into(),
        file_id: "f1".into(),
        transfer_id: "t1".into(),
    });
    assert!(h.core.transfer_running("t1"));
    h.take_sent();
    h.server(ServerMessage::FileError {
        transfer_id: "t1".into(),
        reason: FileErrorReason::Cancelled,
    });
    assert!(!h.core.transfer_running("t1"));
    assert!(h.take_sent().is_empty());
    // A download we cancel: the server hears of it, the part file goes.
    h.server(ServerMessage::FileOffer(FileOfferInfo {
        sender_id: "c1".into(),
        username: "Alice".into(),
        file_id: "f2".into(),
        filename: "b".into(),
        filesize: 10,
        sha256: sha(&content(10)),
    }));
    h.server(ServerMessage::FileTransferStarted {
        transfer_id: "t2".into(),
        sender_id: "c1".into(),
        file_id: "f2".into(),
    });
    h.command(Command::Cancel {
        transfer_id: "t2".into(),
    });
    assert_eq!(
        h.take_sent(),
        vec![ClientMessage::FileCancel {
            transfer_id: "t2".into()
        }]
    );
    assert!(h.files.contains(&FileOp::Discard {
        transfer_id: "t2".into()
    }));
    // A request for an offer that is not ours is refused.
    h.server(ServerMessage::FileRequest {
        downloader_id: "c1".into(),
        username: "Alice".into(),
        file_id: "nope".into(),
        transfer_id: "t3".into(),
    });
    assert_eq!(
        h.take_sent(),
        vec![ClientMessage::FileCancel {
            transfer_id: "t3".into()
        }]
    );
    // A download still open when the session ends fails, then
    // Disconnected comes last.
    h.server(ServerMessage::FileTransferStarted {
        transfer_id: "t4".into(),
        sender_id: "c1".into(),
        file_id: "f2".into(),
    });
    h.take_events();
    h.take_files();
    h.input(Input::Ended(DisconnectReason::ServerClosed));
    assert_eq!(
        h.take_files(),
        vec![FileOp::Discard {
            transfer_id: "t4".into()
        }]
    );
    let events = h.take_events();
    assert!(matches!(&events[0], Event::TransferFailed { transfer_id, .. } if transfer_id == "t4"));
    assert!(matches!(events.last(), Some(Event::Disconnected { .. })));
    let failed = |id: &str| h.core.state().transfer(id).unwrap().status;
    assert_eq!(failed("t1"), TransferStatus::Failed);
    assert_eq!(failed("t2"), TransferStatus::Failed);
    assert_eq!(failed("t4"), TransferStatus::Failed);
}

// ---- resuming after a drop (section 14) ----

#[test]
fn a_drop_retries_with_backoff_then_resumes_keeping_our_flags() {
    let mut h = Harness::new();
    h.command(Command::SetMuted(true));
    h.server(ServerMessage::ParticipantHandState {
        client_id: ME.into(),
        username: "Me".into(),
        state: true,
        raised_at: Some(1.0),
    });
    h.events.clear();
    h.sent.clear();
    assert_eq!(
        h.core.reconnect_step(h.now),
        None,
        "connected: nothing to do"
    );

    h.input(Input::Lost(DisconnectReason::ServerClosed));
    assert!(matches!(
        h.events[..],
        [Event::Reconnecting {
            reason: DisconnectReason::ServerClosed
        }]
    ));
    assert!(h.core.state().reconnecting && h.core.state().connected);
    match h.core.resume_message() {
        Some(ClientMessage::ResumeMeeting {
            resume_token,
            features,
            ..
        }) => {
            assert_eq!(resume_token, RESUME);
            assert!(features.unwrap().contains(&"resume".to_string()));
        }
        other => panic!("expected resume_meeting, got {other:?}"),
    }
    let first = h.core.reconnect_step(h.now);
    assert!(matches!(first, Some(Step::Attempt { at, .. }) if at == h.now));
    // A minute of silence while down: no pings queued, no timeout ending.
    h.input(Input::ResumeFailed("refused".into()));
    h.advance(Duration::from_secs(40));
    assert!(h.sent.is_empty(), "{:?}", h.sent);
    assert!(!h.other.iter().any(|o| matches!(o, Output::End(_))));

    let mut again = reply();
    again.udp_token = "a".repeat(32);
    h.input(Input::Resumed {
        reply: again,
        resume_token: Some("b".repeat(32)),
    });
    assert!(matches!(h.events.last(), Some(Event::Resumed { client_id, .. }) if client_id == ME));
    assert_eq!(h.core.reconnect_step(h.now), None);
    let me = h.core.state().me().unwrap();
    assert!(
        me.hand_raised && h.core.is_muted(),
        "our own flags survive the resume"
    );
    assert!(!h.core.state().reconnecting);
    assert!(
        h.sent.contains(&ClientMessage::AudioState { muted: true }),
        "mute sent again"
    );
    assert!(
        h.sent.contains(&ClientMessage::RaiseHand { state: true }),
        "hand raised again"
    );
    // The new UDP token is in the next hello, the next resume uses the new token.
    h.datagrams.clear();
    h.advance(Duration::from_secs(3));
    let hello = udp::parse(h.datagrams.last().unwrap()).unwrap();
    assert_eq!(hello.body, "a".repeat(32).as_bytes());
    h.input(Input::Lost(DisconnectReason::Timeout));
    assert!(
        matches!(h.core.resume_message(), Some(ClientMessage::ResumeMeeting { resume_token, .. }) if resume_token == "b".repeat(32))
    );
}

#[test]
fn a_drop_gives_up_after_the_window_and_some_drops_are_final() {
    let mut h = Harness::new();
    h.input(Input::Lost(DisconnectReason::Io("reset".into())));
    let start = h.now;
    while let Some(Step::Attempt { at, .. }) = h.core.reconnect_step(h.now) {
        h.now = at + Duration::from_millis(50);
        h.input(Input::ResumeFailed("connection refused".into()));
    }
    assert_eq!(h.core.reconnect_step(h.now), Some(Step::GiveUp));
    assert!(
        h.now - start >= Duration::from_secs(54),
        "{:?}",
        h.now - start
    );
    h.input(Input::Ended(DisconnectReason::Io("reset".into())));
    assert!(matches!(h.events.last(), Some(Event::Disconnected { .. })));

    // Removed by the host, or the server broke the protocol: no retry.
    let mut h = Harness::new();
    h.server(ServerMessage::Removed { by: "c1".into() });
    h.input(Input::Lost(DisconnectReason::ServerClosed));
    assert_eq!(h.core.reconnect_step(h.now), None);
    let mut h = Harness::new();
    h.input(Input::Lost(DisconnectReason::Protocol("garbage".into())));
    assert_eq!(h.core.reconnect_step(h.now), None);
}

#[test]
fn screen_patches_and_keyframe_requests_go_to_the_shell_in_order() {
    use lanmeet_common::message::ScreenPatchRect;
    let mut h = Harness::new();
    let rect = |x: u32, data: &[u8]| ScreenPatchRect {
        x,
        y: 8,
        width: 4,
        height: 4,
        frame_data: base64::encode(data),
    };
    h.server(ServerMessage::ScreenFrame {
        presenter_id: "c2".into(),
        frame_data: base64::encode(b"key"),
        width: 64,
        height: 64,
    });
    h.server(ServerMessage::ScreenPatch {
        presenter_id: "c2".into(),
        patches: vec![rect(0, b"p1"), rect(4, b"p2")],
    });
    // A patch whose data is not base64 is dropped whole.
    let mut broken = rect(0, b"x");
    broken.frame_data = "!!".into();
    h.server(ServerMessage::ScreenPatch {
        presenter_id: "c2".into(),
        patches: vec![rect(0, b"ok"), broken],
    });
    h.server(ServerMessage::ScreenKeyframeRequest);
    let piece = |x: u32, jpeg: &[u8]| PatchPiece {
        x,
        y: 8,
        jpeg: jpeg.to_vec(),
    };
    assert_eq!(
        h.other,
        vec![
            Output::Screen(ScreenJob::Keyframe {
                presenter_id: "c2".into(),
                jpeg: b"key".to_vec(),
            }),
            Output::Screen(ScreenJob::Patch {
                presenter_id: "c2".into(),
                pieces: vec![piece(0, b"p1"), piece(4, b"p2")],
            }),
            Output::ScreenKeyframeWanted,
        ]
    );
}

// ---- section 11: our layers, and the two layers we receive ----------

#[test]
fn the_layers_we_send_follow_the_servers_latest_wish() {
    use super::speaking::WantedLayers;
    let mut h = Harness::new();
    // Before the server says anything: the full layer alone, as section 9.
    assert_eq!(h.core.layers_to_send(), WantedLayers::FULL);
    h.server(ServerMessage::VideoLayersWanted {
        full: true,
        thumb: true,
    });
    let both = WantedLayers {
        full: true,
        thumb: true,
    };
    assert_eq!(h.core.layers_to_send(), both);
    h.server(ServerMessage::VideoLayersWanted {
        full: false,
        thumb: true,
    });
    let thumb_only = WantedLayers {
        full: false,
        thumb: true,
    };
    assert_eq!(h.core.layers_to_send(), thumb_only);
    assert!(h.take_events().contains(&Event::LayersWanted {
        full: false,
        thumb: true
    }));
}

#[test]
fn thumbnail_frames_wait_in_their_own_decode_slot() {
    let mut h = Harness::new();
    // Both layers of c1 start at frame 0: neither may replace the other.
    let mut thumb = Vec::new();
    video::fragment_as(Kind::Thumb, "c1", 0, &[7u8; 3000], 1200, |d| {
        thumb.push(d.to_vec())
    })
    .unwrap();
    for d in &thumb {
        h.input(Input::Datagram(d));
    }
    send_frame(&mut h, "c1", 0);
    let keys: Vec<(FrameKey, u32)> = std::mem::take(&mut h.decode)
        .into_iter()
        .map(|j| (j.key, j.frame_seq))
        .collect();
    assert_eq!(
        keys,
        vec![
            (FrameKey::Thumb("c1".into()), 0),
            (FrameKey::Camera("c1".into()), 0)
        ]
    );
    let stats = h.core.stats();
    assert_eq!((stats.thumb_layer.frames, stats.full_layer.frames), (1, 1));
}

// Section 11: the window's layout becomes `video_subscribe`.

fn subscriptions(h: &Harness) -> Vec<&ClientMessage> {
    h.sent
        .iter()
        .filter(|m| matches!(m, ClientMessage::VideoSubscribe { .. }))
        .collect()
}

fn shown(tiles: &[(&str, u32)], hidden: &[&str]) -> subscription::ShownLayout {
    subscription::ShownLayout {
        shown: tiles
            .iter()
            .map(|(id, w)| subscription::ShownTile {
                client_id: id.to_string(),
                width: *w,
                height: w * 3 / 4,
            })
            .collect(),
        hidden: hidden.iter().map(|id| id.to_string()).collect(),
    }
}

#[test]
fn a_layout_is_not_sent_to_a_server_without_layers() {
    let mut h = Harness::new();
    h.command(Command::ShowLayout(shown(&[("c2", 145)], &[])));
    h.advance(Duration::from_secs(1));
    assert!(subscriptions(&h).is_empty());
}

#[test]
fn a_layout_is_subscribed_at_once_and_its_changes_on_a_tick() {
    let mut h = Harness::new();
    h.core.set_subscriptions(true);
    h.command(Command::ShowLayout(shown(&[("c2", 145)], &["c3"])));
    let first = subscriptions(&h);
    assert_eq!(first.len(), 1, "the first layout goes at once");
    let ClientMessage::VideoSubscribe { default_layer, .. } = first[0] else {
        unreachable!()
    };
    assert!(matches!(
        default_layer,
        lanmeet_common::message::LayerChoice::Thumb | lanmeet_common::message::LayerChoice::None
    ));
    // c2 on the stage: sent by the timer after the debounce.
    h.command(Command::ShowLayout(shown(&[("c2", 800)], &["c3"])));
    assert_eq!(subscriptions(&h).len(), 1);
    assert!(h.core.next_deadline() <= h.now + subscription::DEBOUNCE);
    h.advance(subscription::DEBOUNCE);
    assert_eq!(subscriptions(&h).len(), 2);
    let ClientMessage::VideoSubscribe { overrides, .. } = subscriptions(&h)[1] else {
        unreachable!()
    };
    assert!(overrides
        .values()
        .any(|l| *l == lanmeet_common::message::LayerChoice::Full));
}
