//! Control messages: every JSON object that travels on the TCP connection.
//!
//! Two enums, one per direction, because several `type`s mean different
//! things each way (`chat`, `file_chunk`, `screen_frame`, ...): what a client
//! may say is [`ClientMessage`], what the server says is [`ServerMessage`].
//! Both are `#[serde(tag = "type", rename_all = "snake_case")]`, so the Rust
//! variant `FileOffer` is the wire object `{"type":"file_offer", ...}`.
//!
//! Parsing is two steps, both in [`ClientMessage::parse`]: serde checks the
//! shape (known type, fields present with the right JSON types; unknown
//! fields are ignored), then [`ClientMessage::validate`] checks the ranges the
//! protocol states (lengths, hex digests, base64). Either failing is a
//! `bad_request`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::base64;
use crate::limits::*;

/// A message from a client to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Opens a new meeting; the sender becomes its host.
    /// `{"type":"create_meeting","version":1,"username":"Alice","password":"optional"}`
    CreateMeeting {
        /// Must be [`PROTOCOL_VERSION`].
        version: u32,
        /// 1..32 characters after trimming, no control characters.
        username: String,
        /// When present and not empty, joiners must give it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    /// Joins an existing meeting.
    /// `{"type":"join_meeting","version":1,"username":"Bob","meeting_code":"K7Q2XZ"}`
    JoinMeeting {
        /// Must be [`PROTOCOL_VERSION`].
        version: u32,
        /// 1..32 characters after trimming, unique in the meeting ignoring case.
        username: String,
        /// Six characters, matched ignoring case.
        meeting_code: String,
        /// Required when the meeting has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    /// Section 14 (addition `"resume"`): takes a participant's place back
    /// on a new connection, as its first frame.
    /// `{"type":"resume_meeting","version":1,"resume_token":"5e0c..."}`
    ResumeMeeting {
        /// Must be [`PROTOCOL_VERSION`].
        version: u32,
        /// The `resume_token` of the last join reply: 32 hex digits.
        resume_token: String,
        /// The additions the client understands (see [`crate::features`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        features: Option<Vec<String>>,
    },
    /// Keep-alive, at least every 10 s: `{"type":"ping"}`
    Ping,
    /// Leaves the meeting; the server then closes: `{"type":"leave"}`
    Leave,
    /// A chat line, public or (with `to`) private.
    /// `{"type":"chat","message":"Hello","to":"c3"}`
    Chat {
        /// 1..4000 characters.
        message: String,
        /// The `client_id` of the one recipient of a private message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// The sender's camera went on or off: `{"type":"video_state","state":"started"}`
    VideoState {
        /// `started` or `stopped`.
        state: VideoState,
    },
    /// The sender muted or unmuted itself: `{"type":"audio_state","muted":true}`
    AudioState {
        /// The new state of the sender's `muted` flag.
        muted: bool,
    },
    /// Raises or lowers the sender's hand: `{"type":"raise_hand","state":true}`
    RaiseHand {
        /// `true` raises, `false` lowers.
        state: bool,
    },
    /// A short-lived reaction: `{"type":"emoji_reaction","emoji":"👍"}`
    EmojiReaction {
        /// 1..16 bytes of UTF-8.
        emoji: String,
    },
    /// Host: mute one participant: `{"type":"mute_participant","target_client_id":"c3"}`
    MuteParticipant {
        /// Who.
        target_client_id: String,
    },
    /// Host: lift a mute: `{"type":"unmute_participant","target_client_id":"c3"}`
    UnmuteParticipant {
        /// Who.
        target_client_id: String,
    },
    /// Host: forbid unmuting: `{"type":"lock_mic","target_client_id":"c3"}`
    LockMic {
        /// Who.
        target_client_id: String,
    },
    /// Host: allow unmuting again: `{"type":"unlock_mic","target_client_id":"c3"}`
    UnlockMic {
        /// Who.
        target_client_id: String,
    },
    /// Host: mute everyone else, now and on joining: `{"type":"mute_all","lock":true}`
    MuteAll {
        /// Also lock their microphones. Absent means `false`.
        #[serde(default)]
        lock: bool,
    },
    /// Host: end a `mute_all`: `{"type":"unmute_all"}`
    UnmuteAll,
    /// Host: ask one participant to start video: `{"type":"request_video","target_client_id":"c3"}`
    RequestVideo {
        /// Who.
        target_client_id: String,
    },
    /// Host: ask everyone to start video: `{"type":"request_all_video"}`
    RequestAllVideo,
    /// Host: ask one participant to unmute: `{"type":"request_unmute","target_client_id":"c3"}`
    RequestUnmute {
        /// Who.
        target_client_id: String,
    },
    /// Host: ask everyone to unmute: `{"type":"request_all_unmute"}`
    RequestAllUnmute,
    /// Host: lower someone's hand: `{"type":"lower_hand","target_client_id":"c3"}`
    LowerHand {
        /// Who.
        target_client_id: String,
    },
    /// Host: remove someone: `{"type":"remove_participant","target_client_id":"c3"}`
    RemoveParticipant {
        /// Who.
        target_client_id: String,
    },
    /// Host: stop or allow new joins: `{"type":"lock_meeting","locked":true}`
    LockMeeting {
        /// `true` refuses new joins.
        locked: bool,
    },
    /// Host: hand the host role over: `{"type":"make_host","target_client_id":"c3"}`
    MakeHost {
        /// The new host.
        target_client_id: String,
    },
    /// Presenter or host: end the screen share: `{"type":"stop_screen_share"}`
    StopScreenShare,
    /// Asks to become the presenter: `{"type":"request_screen_share"}`
    RequestScreenShare,
    /// Presenter: one screen image.
    /// `{"type":"screen_frame","frame_data":"/9j/4AAQ...","width":1280,"height":720}`
    ScreenFrame {
        /// Base64 of one JPEG.
        frame_data: String,
        /// Pixels, 1..=16384.
        width: u32,
        /// Pixels, 1..=16384.
        height: u32,
    },
    /// Offers a file to the meeting.
    /// `{"type":"file_offer","file_id":"f1","filename":"notes.pdf","filesize":1234,"sha256":"9f86..."}`
    FileOffer {
        /// The sender's own id for the offer, 1..64 characters, unique per sender.
        file_id: String,
        /// 1..255 characters; receivers never trust it as a path.
        filename: String,
        /// Size in bytes.
        filesize: u64,
        /// 64 hex digits of the whole file.
        sha256: String,
    },
    /// Downloader: asks for an offer: `{"type":"file_request","sender_id":"c1","file_id":"f1"}`
    FileRequest {
        /// The offer's sender.
        sender_id: String,
        /// The offer's `file_id`.
        file_id: String,
    },
    /// Sender: one piece of the file.
    /// `{"type":"file_chunk","transfer_id":"t4","offset":0,"data":"aGVsbG8="}`
    FileChunk {
        /// From `file_request`.
        transfer_id: String,
        /// Byte offset of this chunk in the file.
        offset: u64,
        /// Base64 of at most 64 KiB.
        data: String,
    },
    /// Downloader: bytes written so far: `{"type":"file_ack","transfer_id":"t4","offset":262144}`
    FileAck {
        /// The transfer.
        transfer_id: String,
        /// Bytes written so far.
        offset: u64,
    },
    /// Sender: the whole file went out: `{"type":"file_end","transfer_id":"t4","sha256":"9f86..."}`
    FileEnd {
        /// The transfer.
        transfer_id: String,
        /// 64 hex digits of the whole file.
        sha256: String,
    },
    /// Either party: abandon a transfer: `{"type":"file_cancel","transfer_id":"t4"}`
    FileCancel {
        /// The transfer.
        transfer_id: String,
    },
    /// Sender: withdraw an offer: `{"type":"file_unoffer","file_id":"f1"}`
    FileUnoffer {
        /// The sender's id of the offer.
        file_id: String,
    },

    // Sections 15-18: polls, attendance, spotlight.
    /// Section 15, host: open a poll.
    /// `{"type":"poll_create","question":"Done?","options":["Yes","No"],"anonymous":true,"multiple":false}`
    PollCreate {
        /// 1..500 characters.
        question: String,
        /// 2..10 options of 1..200 characters each.
        options: Vec<String>,
        /// Whether `poll_results` leaves out who chose what. Absent means `false`.
        #[serde(default)]
        anonymous: bool,
        /// Whether a voter may choose more than one option. Absent means `false`.
        #[serde(default)]
        multiple: bool,
    },
    /// Section 15, anyone: vote (again) in the open poll.
    /// `{"type":"poll_vote","poll_id":"p1","choices":[0]}`
    PollVote {
        /// The open poll.
        poll_id: String,
        /// Indices into its options, no repeats; exactly one unless `multiple`.
        choices: Vec<u32>,
    },
    /// Section 15, host: close the open poll: `{"type":"poll_close","poll_id":"p1"}`
    PollClose {
        /// The open poll.
        poll_id: String,
    },
    /// Section 16, host: ask for the attendance rows: `{"type":"attendance_request"}`
    AttendanceRequest,
    /// Section 17, host: put someone on everyone's stage, or clear it.
    /// `{"type":"spotlight","client_id":"c3"}` / `{"type":"spotlight","client_id":null}`
    Spotlight {
        /// Who, or null to clear (an absent field clears too).
        #[serde(default)]
        client_id: Option<String>,
    },

    // Section 19: screen patches.
    /// Presenter (addition `"screen_patches"`): the rectangles one capture
    /// changed, to paint over the last keyframe.
    /// `{"type":"screen_patch","patches":[{"x":64,"y":128,"width":64,"height":64,"frame_data":"/9j/..."}]}`
    ScreenPatch {
        /// 1..=256 rectangles, each inside the last keyframe.
        patches: Vec<ScreenPatchRect>,
    },

    // Sections 11-12: video layers and subscriptions (addition "layers").
    /// What the client wants of each sender's video; replaces the previous
    /// one: `{"type":"video_subscribe","default":"thumb","last_n":8,
    /// "overrides":{"c3":"full","c9":"none"}}`
    VideoSubscribe {
        /// The layer for every sender not in `overrides`.
        #[serde(rename = "default")]
        default_layer: LayerChoice,
        /// Of the senders `default` applies to, only the `last_n` who spoke
        /// most recently (0..=64); absent = no limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_n: Option<u32>,
        /// Per sender id, a layer other than `default` (at most 64).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        overrides: BTreeMap<String, LayerChoice>,
    },
}

/// Section 19: one rectangle of a `screen_patch`, a JPEG of the screen
/// there, in the coordinates of the last keyframe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenPatchRect {
    /// Left edge, pixels from the left of the keyframe.
    pub x: u32,
    /// Top edge, pixels from the top of the keyframe.
    pub y: u32,
    /// Pixels, 1..=16384.
    pub width: u32,
    /// Pixels, 1..=16384.
    pub height: u32,
    /// Base64 of one JPEG of `width` x `height` pixels.
    pub frame_data: String,
}

impl ScreenPatchRect {
    /// Whether the rectangle lies inside a `width` x `height` picture.
    pub fn fits_in(&self, width: u32, height: u32) -> bool {
        u64::from(self.x) + u64::from(self.width) <= u64::from(width)
            && u64::from(self.y) + u64::from(self.height) <= u64::from(height)
    }
}

/// Sections 11-12: a layer a receiver asks for in `video_subscribe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerChoice {
    /// The full layer (`'V'`).
    Full,
    /// The thumbnail layer (`'T'`).
    Thumb,
    /// Nothing.
    None,
}

/// Camera state in `video_state` and `participant_video_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoState {
    /// The camera is sending.
    Started,
    /// The camera is off.
    Stopped,
}

/// Why a participant left, in `user_left`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// It said `leave` or closed its connection.
    Left,
    /// It was silent for 30 s.
    Timeout,
    /// The host removed it.
    Removed,
    /// Its connection failed or fell too far behind.
    Error,
}

/// Why a file transfer ended badly, in `file_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileErrorReason {
    /// The other party sent `file_cancel`.
    Cancelled,
    /// The other party left before `file_end`.
    PeerLeft,
}

/// The `code` of an `error` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The handshake's `version` is not 1.
    VersionMismatch,
    /// The message is malformed or out of range.
    BadRequest,
    /// No meeting has that code.
    InvalidCode,
    /// The host locked the meeting.
    MeetingLocked,
    /// The password is missing or wrong.
    WrongPassword,
    /// Someone in the meeting already has that name (ignoring case).
    NameTaken,
    /// The meeting or the server has no room.
    ServerFull,
    /// The frame's length is over 4 MiB.
    TooLarge,
    /// Only the host may do that.
    NotHost,
    /// The target is not in the sender's meeting.
    NoSuchParticipant,
    /// The host locked the sender's microphone.
    MicLocked,
    /// Only the presenter may send screen frames.
    NotPresenter,
    /// No such file offer.
    NoSuchFile,
    /// The sender is not the right party of an open transfer with that id.
    NoSuchTransfer,
    /// Section 14: the resume token is unknown, or its participant left
    /// too long ago (60 s), by `leave`, or was removed.
    ResumeExpired,
    /// The sender chats faster than the server allows (an addition to
    /// version 1: 50 messages or 256 KiB a second, bursts of 200 or 2 MiB).
    RateLimited,
    /// A code this version does not know (from a newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The wire spelling, as in `{"code":"bad_request"}`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::VersionMismatch => "version_mismatch",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::MeetingLocked => "meeting_locked",
            ErrorCode::WrongPassword => "wrong_password",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::ServerFull => "server_full",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::NotHost => "not_host",
            ErrorCode::NoSuchParticipant => "no_such_participant",
            ErrorCode::MicLocked => "mic_locked",
            ErrorCode::NotPresenter => "not_presenter",
            ErrorCode::NoSuchFile => "no_such_file",
            ErrorCode::NoSuchTransfer => "no_such_transfer",
            ErrorCode::ResumeExpired => "resume_expired",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unknown => "unknown",
        }
    }
}

/// One other participant as listed in a join reply.
///
/// `{"client_id":"c1","username":"Alice","is_host":true,"video":false,"muted":false,
///   "mic_locked":false,"hand_raised":false,"raised_at":null}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    /// Server-issued id.
    pub client_id: String,
    /// Display name.
    pub username: String,
    /// Whether it runs the meeting.
    pub is_host: bool,
    /// Whether its camera is on.
    pub video: bool,
    /// Whether its audio is left out of the mix.
    pub muted: bool,
    /// Whether the host locked its microphone.
    pub mic_locked: bool,
    /// Whether its hand is up.
    pub hand_raised: bool,
    /// Server unix time the hand went up, or null.
    pub raised_at: Option<f64>,
}

/// The body of `meeting_created` and `join_success`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinReply {
    /// The meeting's code.
    pub meeting_code: String,
    /// The joiner's server-issued id.
    pub client_id: String,
    /// Whether the joiner is host (true after create).
    pub is_host: bool,
    /// The server's UDP port for media.
    pub udp_port: u16,
    /// 32 hex digits; the body of the joiner's `'I'` hello.
    pub udp_token: String,
    /// Largest datagram the server accepts and sends.
    pub max_datagram: usize,
    /// Everyone else in the meeting.
    pub participants: Vec<ParticipantInfo>,
    /// The presenter's id, or null.
    pub presenter: Option<String>,
    /// Whether the meeting refuses new joins.
    pub locked: bool,
    /// The last 100 public chat messages, oldest first.
    pub chat_history: Vec<ChatLine>,
    /// The file offers open now.
    pub files: Vec<FileOfferInfo>,
}

/// A chat line as the server sends it (stamped by the server).
///
/// `{"type":"chat","client_id":"c7","username":"Bob","message":"Hello",
///   "timestamp":1763700000.25,"private":false}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatLine {
    /// Sender's id.
    pub client_id: String,
    /// Sender's name.
    pub username: String,
    /// The text.
    pub message: String,
    /// Server unix time, seconds.
    pub timestamp: f64,
    /// Whether it went to one recipient only.
    pub private: bool,
}

/// A file offer as the server announces it.
///
/// `{"type":"file_offer","sender_id":"c1","username":"Alice","file_id":"f1",
///   "filename":"notes.pdf","filesize":1234,"sha256":"9f86..."}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileOfferInfo {
    /// Who offers it.
    pub sender_id: String,
    /// The sender's name.
    pub username: String,
    /// The sender's id for the offer.
    pub file_id: String,
    /// The name the sender gave; never a path to trust.
    pub filename: String,
    /// Bytes.
    pub filesize: u64,
    /// 64 hex digits.
    pub sha256: String,
}

/// A message from the server to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Reply to `create_meeting`; see [`JoinReply`].
    MeetingCreated(JoinReply),
    /// Reply to `join_meeting`; see [`JoinReply`].
    JoinSuccess(JoinReply),
    /// Something was refused: `{"type":"error","code":"bad_request","message":"..."}`
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
    },
    /// Answer to `ping`: `{"type":"pong"}`
    Pong,
    /// Someone joined: `{"type":"user_joined","client_id":"c7","username":"Bob"}`
    UserJoined {
        /// Its id.
        client_id: String,
        /// Its name.
        username: String,
    },
    /// Someone left: `{"type":"user_left","client_id":"c7","username":"Bob","reason":"left"}`
    UserLeft {
        /// Its id.
        client_id: String,
        /// Its name.
        username: String,
        /// `left`, `timeout`, `removed` or `error`.
        reason: LeaveReason,
    },
    /// The host role moved: `{"type":"host_changed","client_id":"c2"}`
    HostChanged {
        /// The new host.
        client_id: String,
    },
    /// A chat line; see [`ChatLine`].
    Chat(ChatLine),
    /// `{"type":"participant_video_state","client_id":"c7","state":"started"}`
    ParticipantVideoState {
        /// Whose camera.
        client_id: String,
        /// `started` or `stopped`.
        state: VideoState,
    },
    /// `{"type":"participant_audio_state","client_id":"c7","muted":true}`
    ParticipantAudioState {
        /// Who.
        client_id: String,
        /// The new flag.
        muted: bool,
    },
    /// `{"type":"participant_hand_state","client_id":"c7","username":"Bob","state":true,"raised_at":1763700000.5}`
    ParticipantHandState {
        /// Who.
        client_id: String,
        /// Its name.
        username: String,
        /// Up or down.
        state: bool,
        /// Server unix time of raising, or null when lowered.
        raised_at: Option<f64>,
    },
    /// `{"type":"emoji_reaction","client_id":"c7","username":"Bob","emoji":"👍"}`
    EmojiReaction {
        /// Who reacted.
        client_id: String,
        /// Its name.
        username: String,
        /// The emoji.
        emoji: String,
    },
    /// To the target of a host mute: `{"type":"muted_by_host"}`
    MutedByHost,
    /// To the target of a host unmute: `{"type":"unmuted_by_host"}`
    UnmutedByHost,
    /// `{"type":"participant_muted","client_id":"c7"}`
    ParticipantMuted {
        /// Who.
        client_id: String,
    },
    /// `{"type":"participant_unmuted","client_id":"c7"}`
    ParticipantUnmuted {
        /// Who.
        client_id: String,
    },
    /// To the target: its microphone is locked: `{"type":"mic_locked"}`
    MicLocked,
    /// To the target: its microphone is unlocked: `{"type":"mic_unlocked"}`
    MicUnlocked,
    /// `{"type":"participant_mic_locked","client_id":"c7"}`
    ParticipantMicLocked {
        /// Who.
        client_id: String,
    },
    /// `{"type":"participant_mic_unlocked","client_id":"c7"}`
    ParticipantMicUnlocked {
        /// Who.
        client_id: String,
    },
    /// The host asks for video: `{"type":"video_requested","by":"c1"}`
    VideoRequested {
        /// The host's id.
        by: String,
    },
    /// The host asks to unmute: `{"type":"unmute_requested","by":"c1"}`
    UnmuteRequested {
        /// The host's id.
        by: String,
    },
    /// To the removed participant, before it is disconnected: `{"type":"removed","by":"c1"}`
    Removed {
        /// The host's id.
        by: String,
    },
    /// `{"type":"meeting_locked","locked":true}`
    MeetingLocked {
        /// Whether joins are refused now.
        locked: bool,
    },
    /// `{"type":"screen_share_started","presenter_id":"c7"}`
    ScreenShareStarted {
        /// The presenter.
        presenter_id: String,
    },
    /// `{"type":"screen_share_denied","current_presenter":"c2"}`
    ScreenShareDenied {
        /// Who presents now.
        current_presenter: String,
    },
    /// `{"type":"screen_share_stopped","presenter_id":"c7"}`
    ScreenShareStopped {
        /// Who presented.
        presenter_id: String,
    },
    /// `{"type":"screen_frame","presenter_id":"c7","frame_data":"/9j/...","width":1280,"height":720}`
    ScreenFrame {
        /// The presenter.
        presenter_id: String,
        /// Base64 of one JPEG.
        frame_data: String,
        /// Pixels.
        width: u32,
        /// Pixels.
        height: u32,
    },
    /// A new offer; see [`FileOfferInfo`].
    FileOffer(FileOfferInfo),
    /// To the sender: someone wants the file.
    /// `{"type":"file_request","downloader_id":"c7","username":"Bob","file_id":"f1","transfer_id":"t4"}`
    FileRequest {
        /// Who asked.
        downloader_id: String,
        /// Its name.
        username: String,
        /// Which offer.
        file_id: String,
        /// The new transfer.
        transfer_id: String,
    },
    /// To the downloader: the transfer is open.
    /// `{"type":"file_transfer_started","transfer_id":"t4","sender_id":"c1","file_id":"f1"}`
    FileTransferStarted {
        /// The new transfer.
        transfer_id: String,
        /// The offer's sender.
        sender_id: String,
        /// Which offer.
        file_id: String,
    },
    /// To the downloader: `{"type":"file_chunk","transfer_id":"t4","file_id":"f1","offset":0,"data":"aGVsbG8="}`
    FileChunk {
        /// The transfer.
        transfer_id: String,
        /// Which offer.
        file_id: String,
        /// Byte offset in the file.
        offset: u64,
        /// Base64 of at most 64 KiB.
        data: String,
    },
    /// To the sender: `{"type":"file_ack","transfer_id":"t4","offset":262144}`
    FileAck {
        /// The transfer.
        transfer_id: String,
        /// Bytes the downloader wrote so far.
        offset: u64,
    },
    /// To the downloader: `{"type":"file_end","transfer_id":"t4","file_id":"f1","sha256":"9f86..."}`
    FileEnd {
        /// The transfer.
        transfer_id: String,
        /// Which offer.
        file_id: String,
        /// 64 hex digits of the whole file.
        sha256: String,
    },
    /// `{"type":"file_error","transfer_id":"t4","reason":"cancelled"}`
    FileError {
        /// The transfer.
        transfer_id: String,
        /// `cancelled` or `peer_left`.
        reason: FileErrorReason,
    },
    /// An offer is gone: `{"type":"file_unavailable","sender_id":"c1","file_id":"f1"}`
    FileUnavailable {
        /// The offer's sender.
        sender_id: String,
        /// The sender's id of the offer.
        file_id: String,
    },

    // Sections 11-12: video layers (addition "layers") and who is speaking
    // (addition "speaking").
    /// To a sender: which of its layers someone receives:
    /// `{"type":"video_layers_wanted","full":true,"thumb":false}`
    VideoLayersWanted {
        /// Whether any receiver wants its full layer (or its thumbnail
        /// while it sends none).
        full: bool,
        /// Whether any receiver wants its thumbnail layer.
        thumb: bool,
    },
    /// Who was heard in the last 300 ms, most recent first; empty when the
    /// room is quiet: `{"type":"speaking","client_ids":["c3","c7"]}`
    Speaking {
        /// Participant ids, most recent first.
        client_ids: Vec<String>,
    },
    // Section 19: screen patches.
    /// To viewers that named `"screen_patches"`: the rectangles one capture
    /// changed, to paint over the picture they hold, in order.
    /// `{"type":"screen_patch","presenter_id":"c7","patches":[{"x":64,...}]}`
    ScreenPatch {
        /// The presenter.
        presenter_id: String,
        /// 1..=256 rectangles.
        patches: Vec<ScreenPatchRect>,
    },
    /// To the presenter: send a keyframe (a whole `screen_frame`) at the
    /// next capture: `{"type":"screen_keyframe_request"}`
    ScreenKeyframeRequest,

    // Sections 15-18: polls, attendance, spotlight.
    /// Section 15: a poll opened (to all, the host included); see [`PollInfo`].
    PollStarted(PollInfo),
    /// Section 15, to the host: live counts, at most 4 a second.
    /// `{"type":"poll_update","poll_id":"p1","counts":[3,1],"voters":4}`
    PollUpdate {
        /// The poll.
        poll_id: String,
        /// `counts[i]`: voters choosing option `i`.
        counts: Vec<u32>,
        /// Participants who voted.
        voters: u32,
    },
    /// Section 15: a poll closed (to all); see [`PollResults`].
    PollResults(PollResults),
    /// Section 16, to the host: the meeting's attendance.
    /// `{"type":"attendance","meeting_code":"K7Q2XZ","started_at":1763700000.0,"rows":[...]}`
    Attendance {
        /// The meeting.
        meeting_code: String,
        /// Server unix time the meeting was created.
        started_at: f64,
        /// One row per stay, in order of joining.
        rows: Vec<AttendanceRow>,
    },
    /// Section 17: `{"type":"spotlight_changed","client_id":"c3"}` (null: cleared)
    SpotlightChanged {
        /// Who is on everyone's stage, or null.
        client_id: Option<String>,
    },
}

/// Section 15: an open poll, as in `poll_started` and a join reply's `poll`.
///
/// `{"type":"poll_started","poll_id":"p1","question":"Done?","options":["Yes","No"],
///   "anonymous":true,"multiple":false,"by":"c1"}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollInfo {
    /// Unique on the server.
    pub poll_id: String,
    /// The question.
    pub question: String,
    /// The options, 2..10.
    pub options: Vec<String>,
    /// Whether the results leave out who chose what.
    pub anonymous: bool,
    /// Whether a voter may choose more than one option.
    pub multiple: bool,
    /// The host who opened it.
    pub by: String,
}

/// Section 15: a closed poll's results.
///
/// `{"type":"poll_results","poll_id":"p1","question":"Done?","options":["Yes","No"],
///   "counts":[3,1],"voters":4,"votes":{"c3":{"username":"Bob","choices":[1]}}}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollResults {
    /// The poll.
    pub poll_id: String,
    /// The question.
    pub question: String,
    /// The options.
    pub options: Vec<String>,
    /// `counts[i]`: voters choosing option `i`.
    pub counts: Vec<u32>,
    /// Participants who voted.
    pub voters: u32,
    /// Who chose what, by client id; only when the poll was not anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<std::collections::BTreeMap<String, PollVoteInfo>>,
}

/// Section 15: one voter's choices in non-anonymous results:
/// `{"username":"Bob","choices":[1]}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollVoteInfo {
    /// The voter's name.
    pub username: String,
    /// The options it chose.
    pub choices: Vec<u32>,
}

/// Section 16: one stay of one participant.
///
/// `{"username":"Bob","client_id":"c7","joined_at":1763700000.5,"left_at":null,"reason":null}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttendanceRow {
    /// Its name.
    pub username: String,
    /// Its id.
    pub client_id: String,
    /// Server unix time of joining.
    pub joined_at: f64,
    /// Server unix time of leaving; null while present.
    pub left_at: Option<f64>,
    /// Why it left (as in `user_left`); null while present.
    pub reason: Option<LeaveReason>,
}

/// Why a client frame was refused as `bad_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadRequest {}

fn bad(why: impl Into<String>) -> BadRequest {
    BadRequest(why.into())
}

impl ClientMessage {
    /// Parses and validates one frame body.
    pub fn parse(body: &[u8]) -> Result<ClientMessage, BadRequest> {
        let message: ClientMessage = serde_json::from_slice(body).map_err(|e| {
            // serde lists every known type after an unknown one; the first
            // clause says what is wrong.
            let text = e.to_string();
            let short = text.split(", expected").next().unwrap_or(&text);
            bad(format!("malformed message: {short}"))
        })?;
        message.validate()?;
        Ok(message)
    }

    /// Checks the ranges PROTOCOL.md states for each field.
    pub fn validate(&self) -> Result<(), BadRequest> {
        match self {
            ClientMessage::CreateMeeting {
                username, password, ..
            } => {
                normalize_username(username)?;
                check_password(password.as_deref())
            }
            ClientMessage::JoinMeeting {
                username,
                password,
                meeting_code,
                ..
            } => {
                normalize_username(username)?;
                check_chars("meeting_code", meeting_code, 1, 64)?;
                check_password(password.as_deref())
            }
            ClientMessage::ResumeMeeting { resume_token, .. } => {
                if resume_token.len() == UDP_TOKEN_LEN
                    && resume_token.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    Ok(())
                } else {
                    Err(bad("resume_token must be 32 hex digits"))
                }
            }
            ClientMessage::Chat { message, to } => {
                check_chars("message", message, 1, MAX_CHAT_CHARS)?;
                if let Some(to) = to {
                    check_chars("to", to, 1, 64)?;
                }
                Ok(())
            }
            ClientMessage::EmojiReaction { emoji } => {
                if emoji.is_empty() || emoji.len() > MAX_EMOJI_BYTES {
                    return Err(bad(format!("emoji must be 1..={MAX_EMOJI_BYTES} bytes")));
                }
                if emoji.chars().any(char::is_control) {
                    return Err(bad("emoji must not hold control characters"));
                }
                Ok(())
            }
            ClientMessage::ScreenFrame {
                frame_data,
                width,
                height,
            } => {
                check_dimension("width", *width)?;
                check_dimension("height", *height)?;
                let len =
                    base64::decoded_len(frame_data).map_err(|e| bad(format!("frame_data: {e}")))?;
                if len == 0 {
                    return Err(bad("frame_data is empty"));
                }
                Ok(())
            }
            ClientMessage::FileOffer {
                file_id,
                filename,
                sha256,
                ..
            } => {
                check_chars("file_id", file_id, 1, MAX_FILE_ID_CHARS)?;
                check_chars("filename", filename, 1, MAX_FILENAME_CHARS)?;
                check_sha256(sha256)
            }
            ClientMessage::FileRequest { sender_id, file_id } => {
                check_chars("sender_id", sender_id, 1, 64)?;
                check_chars("file_id", file_id, 1, MAX_FILE_ID_CHARS)
            }
            ClientMessage::FileChunk { data, .. } => {
                let len = base64::decoded_len(data).map_err(|e| bad(format!("data: {e}")))?;
                if len > MAX_FILE_CHUNK {
                    return Err(bad(format!("data is {len} bytes, over {MAX_FILE_CHUNK}")));
                }
                Ok(())
            }
            ClientMessage::FileEnd { sha256, .. } => check_sha256(sha256),
            ClientMessage::FileUnoffer { file_id } => {
                check_chars("file_id", file_id, 1, MAX_FILE_ID_CHARS)
            }
            // Sections 15-18
            ClientMessage::PollCreate {
                question, options, ..
            } => {
                check_chars("question", question, 1, MAX_POLL_QUESTION_CHARS)?;
                if options.len() < MIN_POLL_OPTIONS || options.len() > MAX_POLL_OPTIONS {
                    return Err(bad(format!(
                        "options must hold {MIN_POLL_OPTIONS}..={MAX_POLL_OPTIONS} strings"
                    )));
                }
                for option in options {
                    check_chars("each option", option, 1, MAX_POLL_OPTION_CHARS)?;
                }
                Ok(())
            }
            ClientMessage::PollVote { poll_id, choices } => {
                check_chars("poll_id", poll_id, 1, 64)?;
                if choices.is_empty() {
                    return Err(bad("choices is empty"));
                }
                if choices.len() > MAX_POLL_OPTIONS {
                    return Err(bad(format!(
                        "choices holds over {MAX_POLL_OPTIONS} entries"
                    )));
                }
                for (i, c) in choices.iter().enumerate() {
                    if choices[..i].contains(c) {
                        return Err(bad(format!("choice {c} is repeated")));
                    }
                }
                Ok(())
            }
            ClientMessage::ScreenPatch { patches } => {
                if patches.is_empty() || patches.len() > MAX_SCREEN_PATCHES {
                    return Err(bad(format!(
                        "patches must hold 1..={MAX_SCREEN_PATCHES} rectangles"
                    )));
                }
                for p in patches {
                    check_dimension("width", p.width)?;
                    check_dimension("height", p.height)?;
                    if p.x >= MAX_SCREEN_DIMENSION || p.y >= MAX_SCREEN_DIMENSION {
                        return Err(bad(format!("x and y must be below {MAX_SCREEN_DIMENSION}")));
                    }
                    let len = base64::decoded_len(&p.frame_data)
                        .map_err(|e| bad(format!("frame_data: {e}")))?;
                    if len == 0 {
                        return Err(bad("frame_data is empty"));
                    }
                }
                Ok(())
            }
            ClientMessage::PollClose { poll_id } => check_chars("poll_id", poll_id, 1, 64),
            ClientMessage::Spotlight {
                client_id: Some(id),
            } => check_chars("client_id", id, 1, 64),
            ClientMessage::VideoSubscribe {
                last_n, overrides, ..
            } => check_subscription(*last_n, overrides),
            _ => Ok(()),
        }
    }
}

/// Trims a username and checks it: 1..32 characters, no control characters.
pub fn normalize_username(raw: &str) -> Result<String, BadRequest> {
    let name = raw.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_USERNAME_CHARS {
        return Err(bad(format!(
            "username must be 1..={MAX_USERNAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("username must not hold control characters"));
    }
    Ok(name.to_string())
}

/// Canonical form of a meeting code (upper case), or `None` when it cannot
/// be a code at all.
pub fn normalize_meeting_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    let valid = code.chars().count() == MEETING_CODE_LEN
        && code.chars().all(|c| MEETING_CODE_ALPHABET.contains(c));
    valid.then_some(code)
}

fn check_password(password: Option<&str>) -> Result<(), BadRequest> {
    match password {
        Some(p) if p.chars().count() > MAX_PASSWORD_CHARS => Err(bad(format!(
            "password must be at most {MAX_PASSWORD_CHARS} characters"
        ))),
        _ => Ok(()),
    }
}

fn check_chars(field: &str, value: &str, min: usize, max: usize) -> Result<(), BadRequest> {
    // Count at most max+1 characters: a 4 MiB string need not be walked whole.
    let count = value.chars().take(max + 1).count();
    if count < min || count > max {
        return Err(bad(format!("{field} must be {min}..={max} characters")));
    }
    Ok(())
}

/// Sections 11-12: `last_n` 0..=64, at most 64 overrides of 1..=64
/// characters each (the layer values are checked by serde).
fn check_subscription(
    last_n: Option<u32>,
    overrides: &BTreeMap<String, LayerChoice>,
) -> Result<(), BadRequest> {
    if last_n.is_some_and(|n| n > MAX_LAST_N) {
        return Err(bad(format!("last_n must be 0..={MAX_LAST_N}")));
    }
    if overrides.len() > MAX_SUBSCRIBE_OVERRIDES {
        return Err(bad(format!(
            "overrides must hold at most {MAX_SUBSCRIBE_OVERRIDES} entries"
        )));
    }
    for id in overrides.keys() {
        check_chars("an overrides key", id, 1, 64)?;
    }
    Ok(())
}

fn check_dimension(field: &str, value: u32) -> Result<(), BadRequest> {
    if value == 0 || value > MAX_SCREEN_DIMENSION {
        return Err(bad(format!("{field} must be 1..={MAX_SCREEN_DIMENSION}")));
    }
    Ok(())
}

/// Whether `s` is 64 hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_sha256(s: &str) -> Result<(), BadRequest> {
    if is_sha256_hex(s) {
        Ok(())
    } else {
        Err(bad("sha256 must be 64 hex digits"))
    }
}

impl ServerMessage {
    /// Shorthand for an `error` message.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }

    /// Parses one server frame body (client side).
    pub fn parse(body: &[u8]) -> Result<ServerMessage, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

#[cfg(test)]
mod tests;
