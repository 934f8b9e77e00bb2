//! What a session tells its front end: one [`Event`] per thing that
//! happened, delivered on a `std::sync::mpsc` channel.
//!
//! Every server message becomes a typed event, already applied to the
//! [`MeetingState`](crate::MeetingState) when the event is received, so a
//! UI can either react to the event itself or just redraw from
//! `session.state()`. Events are also `Serialize`: the headless client
//! prints each one as a JSON line, tagged `"event"`.
//!
//! Video and screen events only say "a new frame is in the slot": the
//! pixels wait in a latest-frame slot (`Session::latest_video_frame`), so a
//! slow UI skips frames instead of queueing stale ones.

use std::path::PathBuf;

use lanmeet_common::message::{
    AttendanceRow, ChatLine, FileOfferInfo, LeaveReason, PollInfo, PollResults,
};
use lanmeet_common::ErrorCode;
use serde::Serialize;

/// Whether UDP media reaches the server, from the answers to `'I'` hellos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaPath {
    /// Hellos sent, no answer yet (the first few seconds).
    Waiting,
    /// The server answered a hello recently.
    Ok,
    /// No answer for 5 s: audio and video are not getting through
    /// (a firewall, a NAT, a wrong UDP port).
    NoAnswer,
}

/// Which way a file goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferDirection {
    /// We send one of our offers.
    Upload,
    /// We receive someone's offer.
    Download,
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum DisconnectReason {
    /// We left.
    Left,
    /// The host removed us (`removed{by}`).
    Removed(String),
    /// The server closed the connection.
    ServerClosed,
    /// The server stopped answering.
    Timeout,
    /// The server broke the protocol.
    Protocol(String),
    /// A socket error.
    Io(String),
    /// The connection dropped and the server refused to give our place
    /// back (`error{code:"resume_expired"}`): join again.
    ResumeExpired,
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DisconnectReason::Left => f.write_str("left the meeting"),
            DisconnectReason::Removed(by) => write!(f, "removed from the meeting by {by}"),
            DisconnectReason::ServerClosed => f.write_str("the server closed the connection"),
            DisconnectReason::Timeout => f.write_str("the server stopped answering"),
            DisconnectReason::Protocol(why) => write!(f, "the server broke the protocol: {why}"),
            DisconnectReason::Io(why) => write!(f, "connection error: {why}"),
            DisconnectReason::ResumeExpired => {
                f.write_str("the connection dropped and the meeting no longer holds our place")
            }
        }
    }
}

/// One thing that happened in the session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The handshake succeeded. Always the first event.
    Joined {
        /// The meeting's code, to give to others.
        meeting_code: String,
        /// Our server-issued id.
        client_id: String,
        /// Whether we run the meeting.
        is_host: bool,
        /// Whether we created it.
        created: bool,
        /// How many others were already there.
        others: usize,
    },
    /// Someone joined.
    ParticipantJoined {
        /// Its id.
        client_id: String,
        /// Its name.
        username: String,
    },
    /// Someone left.
    ParticipantLeft {
        /// Its id.
        client_id: String,
        /// Its name.
        username: String,
        /// Why.
        reason: LeaveReason,
    },
    /// The host role moved.
    HostChanged {
        /// The new host.
        client_id: String,
    },
    /// A chat line from someone else. The server does not echo our own
    /// lines: `Session::chat` adds them to the state without an event.
    Chat(ChatLine),
    /// A participant's camera went on or off.
    VideoState {
        /// Who.
        client_id: String,
        /// On or off.
        on: bool,
    },
    /// A participant's `muted` flag changed (by itself or the host).
    Muted {
        /// Who.
        client_id: String,
        /// The new flag.
        muted: bool,
    },
    /// A participant's microphone was locked or unlocked by the host.
    MicLock {
        /// Who.
        client_id: String,
        /// The new lock.
        locked: bool,
    },
    /// A hand went up or down.
    Hand {
        /// Who.
        client_id: String,
        /// Its name.
        username: String,
        /// Up or down.
        raised: bool,
    },
    /// Someone reacted.
    Reaction {
        /// Who.
        client_id: String,
        /// Its name.
        username: String,
        /// The emoji.
        emoji: String,
    },
    /// The host asks us to turn the camera on.
    VideoRequested {
        /// The host.
        by: String,
    },
    /// The host asks us to unmute.
    UnmuteRequested {
        /// The host.
        by: String,
    },
    /// The meeting was locked or unlocked.
    MeetingLocked {
        /// The new state.
        locked: bool,
    },
    /// Someone started presenting (maybe us).
    ScreenShareStarted {
        /// The presenter.
        presenter_id: String,
    },
    /// Our request to present was refused.
    ScreenShareDenied {
        /// Who presents now.
        current_presenter: String,
    },
    /// The share ended.
    ScreenShareStopped {
        /// Who presented.
        presenter_id: String,
    },
    /// A screen frame was decoded into the screen slot.
    ScreenFrame {
        /// The presenter.
        presenter_id: String,
        /// Pixels.
        width: u32,
        /// Pixels.
        height: u32,
        /// Size of the JPEG it came from.
        jpeg_bytes: usize,
    },
    /// A video frame was decoded into this participant's slot.
    VideoFrame {
        /// The sender.
        client_id: String,
        /// The sender's frame number.
        frame_seq: u32,
        /// Pixels.
        width: u32,
        /// Pixels.
        height: u32,
        /// Size of the JPEG it came from.
        jpeg_bytes: usize,
    },
    /// Whether UDP media gets through changed.
    MediaPath {
        /// The new state.
        state: MediaPath,
    },
    /// A file was offered (by anyone, us included).
    FileOffered(FileOfferInfo),
    /// An offer was withdrawn.
    FileUnavailable {
        /// The offer's sender.
        sender_id: String,
        /// The offer.
        file_id: String,
    },
    /// A transfer opened.
    TransferStarted {
        /// The server's id for it.
        transfer_id: String,
        /// Which way.
        direction: TransferDirection,
        /// The other party.
        peer_id: String,
        /// The offer.
        file_id: String,
        /// The file name (as offered).
        filename: String,
        /// Bytes in all.
        size: u64,
    },
    /// Bytes moved (acknowledged bytes for an upload, written bytes for a
    /// download). Sent at most a few times a second per transfer.
    TransferProgress {
        /// The transfer.
        transfer_id: String,
        /// Bytes so far.
        bytes: u64,
        /// Bytes in all.
        size: u64,
        /// Average rate since the start, bytes per second.
        rate: f64,
    },
    /// A transfer finished: uploaded, or downloaded and verified.
    TransferDone {
        /// The transfer.
        transfer_id: String,
        /// Which way.
        direction: TransferDirection,
        /// Where the download was saved (none for uploads).
        path: Option<PathBuf>,
        /// Bytes in all.
        size: u64,
    },
    /// A transfer ended badly; any part file is already deleted.
    TransferFailed {
        /// The transfer.
        transfer_id: String,
        /// Which way.
        direction: TransferDirection,
        /// What happened, for a person.
        reason: String,
    },
    /// The server refused one of our requests (`error{code, message}`).
    ServerError {
        /// The server's reason.
        code: ErrorCode,
        /// The server's words.
        message: String,
    },
    /// Something local went wrong without ending the session (a camera
    /// frame failed to encode, a file could not be read, ...).
    Warning {
        /// What, for a person.
        message: String,
    },
    /// We are muted or unmuted by the host (the target's own notice).
    MutedByHost {
        /// Muted (`muted_by_host`) or unmuted (`unmuted_by_host`).
        muted: bool,
    },
    /// The connection dropped; the session tries to take its place back
    /// in the background for up to 60 s. The state stays as it was.
    Reconnecting {
        /// Why the connection dropped.
        reason: DisconnectReason,
    },
    /// The place was taken back on a new connection: same id, the state
    /// as the server has it now.
    Resumed {
        /// Our id (unchanged).
        client_id: String,
        /// Whether we are the host.
        is_host: bool,
        /// How many others are there.
        others: usize,
    },
    // Sections 15-17
    /// A poll opened (the open poll is also in the state).
    PollStarted(PollInfo),
    /// Live counts of the open poll (the host only).
    PollUpdate {
        /// The poll.
        poll_id: String,
        /// Voters per option.
        counts: Vec<u32>,
        /// How many voted.
        voters: u32,
    },
    /// A poll closed with these results.
    PollResults(PollResults),
    /// The attendance the host asked for.
    Attendance {
        /// The meeting.
        meeting_code: String,
        /// Server unix time it started.
        started_at: f64,
        /// One row per stay.
        rows: Vec<AttendanceRow>,
    },
    /// The host put someone on everyone's stage, or cleared it.
    SpotlightChanged {
        /// Who, or none.
        client_id: Option<String>,
    },
    /// The session is over. Always the last event.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },

    // Sections 11-12: layers and who is speaking.
    /// Who the server hears, newest speaker first; empty when quiet.
    Speaking {
        /// Participant ids.
        client_ids: Vec<String>,
    },
    /// Which of our video layers someone receives.
    LayersWanted {
        /// The full layer.
        full: bool,
        /// The thumbnail layer.
        thumb: bool,
    },
}
