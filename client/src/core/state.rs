//! The meeting as this client sees it, kept in one place.
//!
//! [`MeetingState`] starts from the join reply and changes only through
//! [`MeetingState::apply`], one server message at a time, plus the few
//! local facts the server does not echo (our own chat lines, our offers,
//! transfer progress). It does no I/O, so it is tested here with plain
//! messages; the session keeps it behind a mutex and a UI reads a snapshot
//! with `session.state()`.

use lanmeet_common::message::{
    ChatLine, FileOfferInfo, JoinReply, ParticipantInfo, ServerMessage, VideoState,
};
use serde::Serialize;
use std::path::PathBuf;

use super::event::TransferDirection;

/// Chat lines kept for display; older ones are forgotten.
pub const CHAT_KEPT: usize = 1000;

/// One participant, us included.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Participant {
    /// Server-issued id.
    pub client_id: String,
    /// Display name.
    pub username: String,
    /// Whether this is us.
    pub is_me: bool,
    /// Whether it runs the meeting.
    pub is_host: bool,
    /// Camera on.
    pub video: bool,
    /// Left out of the mix (by itself or the host).
    pub muted: bool,
    /// The host locked its microphone.
    pub mic_locked: bool,
    /// Hand up.
    pub hand_raised: bool,
    /// Server unix time the hand went up.
    pub raised_at: Option<f64>,
}

impl Participant {
    fn from_info(p: &ParticipantInfo) -> Participant {
        Participant {
            client_id: p.client_id.clone(),
            username: p.username.clone(),
            is_me: false,
            is_host: p.is_host,
            video: p.video,
            muted: p.muted,
            mic_locked: p.mic_locked,
            hand_raised: p.hand_raised,
            raised_at: if p.hand_raised { p.raised_at } else { None },
        }
    }
}

/// How a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Bytes are moving.
    Active,
    /// Finished and (for downloads) verified.
    Done,
    /// Cancelled or failed.
    Failed,
}

/// One file transfer, either way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferInfo {
    /// The server's id for it.
    pub transfer_id: String,
    /// Which way.
    pub direction: TransferDirection,
    /// The other party.
    pub peer_id: String,
    /// The offer.
    pub file_id: String,
    /// The offered name.
    pub filename: String,
    /// Bytes in all.
    pub size: u64,
    /// Bytes moved so far.
    pub bytes: u64,
    /// How it stands.
    pub status: TransferStatus,
    /// Where a download is saved (once done).
    pub path: Option<PathBuf>,
}

/// The open poll, with what we know of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenPoll {
    /// As the server announced it.
    pub info: lanmeet_common::message::PollInfo,
    /// What we voted (empty: not yet).
    pub my_choices: Vec<u32>,
    /// The live counts (the host's; zeros until the first update).
    pub counts: Vec<u32>,
    /// How many voted (the host's).
    pub voters: u32,
}

impl OpenPoll {
    pub(crate) fn new(info: lanmeet_common::message::PollInfo) -> OpenPoll {
        OpenPoll {
            counts: vec![0; info.options.len()],
            my_choices: Vec::new(),
            voters: 0,
            info,
        }
    }
}

/// Everything a UI shows about the meeting.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MeetingState {
    /// The meeting's code.
    pub meeting_code: String,
    /// Our id.
    pub my_id: String,
    /// Whether the session is still up.
    pub connected: bool,
    /// The connection dropped and the session is trying to resume
    /// (`connected` stays true meanwhile).
    pub reconnecting: bool,
    /// Everyone, us included, in order of joining (as far as we saw it).
    pub participants: Vec<Participant>,
    /// Who presents, if anyone.
    pub presenter: Option<String>,
    /// Whether the meeting refuses new joins.
    pub locked: bool,
    /// Chat, oldest first (the server's history, then what we saw).
    pub chat: Vec<ChatLine>,
    /// Open offers, ours included.
    pub offers: Vec<FileOfferInfo>,
    /// Transfers, newest last.
    pub transfers: Vec<TransferInfo>,
    // Sections 15-18
    /// The meeting's title, if it has one.
    pub title: Option<String>,
    /// The open poll.
    pub poll: Option<OpenPoll>,
    /// The results of the last poll that closed.
    pub poll_results: Option<lanmeet_common::message::PollResults>,
    /// Who is on everyone's stage.
    pub spotlight: Option<String>,
    /// Section 12: who the server hears now, newest speaker first.
    pub speaking: Vec<String>,
}

impl MeetingState {
    /// The state right after a successful join.
    pub fn from_join(reply: &JoinReply, my_name: &str) -> MeetingState {
        let mut participants: Vec<Participant> = reply
            .participants
            .iter()
            .map(Participant::from_info)
            .collect();
        participants.push(Participant {
            client_id: reply.client_id.clone(),
            username: my_name.trim().to_string(),
            is_me: true,
            is_host: reply.is_host,
            video: false,
            muted: false,
            mic_locked: false,
            hand_raised: false,
            raised_at: None,
        });
        MeetingState {
            meeting_code: reply.meeting_code.clone(),
            my_id: reply.client_id.clone(),
            connected: true,
            reconnecting: false,
            participants,
            presenter: reply.presenter.clone(),
            locked: reply.locked,
            chat: reply.chat_history.clone(),
            offers: reply.files.clone(),
            transfers: Vec::new(),
            ..MeetingState::default()
        }
    }

    /// The participant with this id.
    pub fn participant(&self, client_id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.client_id == client_id)
    }

    fn participant_mut(&mut self, client_id: &str) -> Option<&mut Participant> {
        self.participants
            .iter_mut()
            .find(|p| p.client_id == client_id)
    }

    /// Us.
    pub fn me(&self) -> Option<&Participant> {
        self.participant(&self.my_id.clone())
    }

    /// The host's id.
    pub fn host(&self) -> Option<&str> {
        self.participants
            .iter()
            .find(|p| p.is_host)
            .map(|p| p.client_id.as_str())
    }

    /// Whether we are the host.
    pub fn am_host(&self) -> bool {
        self.me().is_some_and(|p| p.is_host)
    }

    /// Raised hands in the order they went up.
    pub fn hands(&self) -> Vec<&Participant> {
        let mut up: Vec<&Participant> =
            self.participants.iter().filter(|p| p.hand_raised).collect();
        up.sort_by(|a, b| {
            a.raised_at
                .unwrap_or(f64::MAX)
                .total_cmp(&b.raised_at.unwrap_or(f64::MAX))
        });
        up
    }

    /// The offer `file_id` of `sender_id`.
    pub fn offer(&self, sender_id: &str, file_id: &str) -> Option<&FileOfferInfo> {
        self.offers
            .iter()
            .find(|o| o.sender_id == sender_id && o.file_id == file_id)
    }

    /// The transfer with this id.
    pub fn transfer(&self, transfer_id: &str) -> Option<&TransferInfo> {
        self.transfers.iter().find(|t| t.transfer_id == transfer_id)
    }

    pub(crate) fn transfer_mut(&mut self, transfer_id: &str) -> Option<&mut TransferInfo> {
        self.transfers
            .iter_mut()
            .find(|t| t.transfer_id == transfer_id)
    }

    /// Adds a chat line, forgetting the oldest past [`CHAT_KEPT`].
    pub fn push_chat(&mut self, line: ChatLine) {
        self.chat.push(line);
        if self.chat.len() > CHAT_KEPT {
            let extra = self.chat.len() - CHAT_KEPT;
            self.chat.drain(..extra);
        }
    }

    /// Adds an offer unless it is already listed.
    pub fn add_offer(&mut self, offer: FileOfferInfo) {
        if self.offer(&offer.sender_id, &offer.file_id).is_none() {
            self.offers.push(offer);
        }
    }

    /// Applies one server message. Messages that do not change the
    /// meeting (pong, errors, file data) leave it as it is.
    pub fn apply(&mut self, msg: &ServerMessage) {
        self.apply_classroom(msg);
        match msg {
            ServerMessage::UserJoined {
                client_id,
                username,
            } if self.participant(client_id).is_none() => {
                self.participants.push(Participant {
                    client_id: client_id.clone(),
                    username: username.clone(),
                    is_me: false,
                    is_host: false,
                    video: false,
                    muted: false,
                    mic_locked: false,
                    hand_raised: false,
                    raised_at: None,
                });
            }
            ServerMessage::UserLeft { client_id, .. } => {
                self.participants.retain(|p| p.client_id != *client_id);
                self.offers.retain(|o| o.sender_id != *client_id);
                if self.presenter.as_deref() == Some(client_id) {
                    self.presenter = None;
                }
            }
            ServerMessage::Speaking { client_ids } => self.speaking = client_ids.clone(),
            ServerMessage::HostChanged { client_id } => {
                for p in &mut self.participants {
                    p.is_host = p.client_id == *client_id;
                }
            }
            ServerMessage::Chat(line) => self.push_chat(line.clone()),
            ServerMessage::ParticipantVideoState { client_id, state } => {
                if let Some(p) = self.participant_mut(client_id) {
                    p.video = *state == VideoState::Started;
                }
            }
            ServerMessage::ParticipantAudioState { client_id, muted } => {
                if let Some(p) = self.participant_mut(client_id) {
                    p.muted = *muted;
                }
            }
            ServerMessage::ParticipantMuted { client_id } => {
                if let Some(p) = self.participant_mut(client_id) {
                    p.muted = true;
                }
            }
            ServerMessage::ParticipantUnmuted { client_id } => {
                if let Some(p) = self.participant_mut(client_id) {
                    p.muted = false;
                }
            }
            ServerMessage::MutedByHost | ServerMessage::UnmutedByHost => {
                let muted = matches!(msg, ServerMessage::MutedByHost);
                let me = self.my_id.clone();
                if let Some(p) = self.participant_mut(&me) {
                    p.muted = muted;
                }
            }
            ServerMessage::MicLocked | ServerMessage::MicUnlocked => {
                let locked = matches!(msg, ServerMessage::MicLocked);
                let me = self.my_id.clone();
                if let Some(p) = self.participant_mut(&me) {
                    p.mic_locked = locked;
                }
            }
            ServerMessage::ParticipantMicLocked { client_id } => {
                if let Some(p) = self.participant_mut(client_id) {
                    p.mic_locked = true;
                }
            }
            ServerMessage::ParticipantMicUnlocked { client_id } => {
                if let Some(p) = self.participant_mut(client_id) {
                    p.mic_locked = false;
                }
            }
            ServerMessage::ParticipantHandState {
                client_id,
                state,
                raised_at,
                ..
            } => {
                if let Some(p) = self.participant_mut(client_id) {
                    p.hand_raised = *state;
                    p.raised_at = if *state { *raised_at } else { None };
                }
            }
            ServerMessage::MeetingLocked { locked } => self.locked = *locked,
            ServerMessage::ScreenShareStarted { presenter_id } => {
                self.presenter = Some(presenter_id.clone());
            }
            ServerMessage::ScreenShareStopped { presenter_id }
                if self.presenter.as_deref() == Some(presenter_id) =>
            {
                self.presenter = None;
            }
            ServerMessage::FileOffer(offer) => self.add_offer(offer.clone()),
            ServerMessage::FileUnavailable { sender_id, file_id } => {
                self.offers
                    .retain(|o| !(o.sender_id == *sender_id && o.file_id == *file_id));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanmeet_common::message::LeaveReason;

    fn reply() -> JoinReply {
        JoinReply {
            meeting_code: "K7Q2XZ".into(),
            client_id: "c7".into(),
            is_host: false,
            udp_port: 5002,
            udp_token: "0".repeat(32),
            max_datagram: 1400,
            participants: vec![ParticipantInfo {
                client_id: "c1".into(),
                username: "Alice".into(),
                is_host: true,
                video: true,
                muted: false,
                mic_locked: false,
                hand_raised: true,
                raised_at: Some(100.0),
            }],
            presenter: Some("c1".into()),
            locked: false,
            chat_history: vec![],
            files: vec![],
        }
    }

    #[test]
    fn join_reply_lists_everyone_and_us() {
        let s = MeetingState::from_join(&reply(), " Bob ");
        assert_eq!(s.participants.len(), 2);
        assert_eq!(s.me().unwrap().username, "Bob");
        assert_eq!(s.host(), Some("c1"));
        assert!(!s.am_host());
        assert_eq!(s.presenter.as_deref(), Some("c1"));
        assert_eq!(s.hands()[0].client_id, "c1");
    }

    #[test]
    fn presence_and_host_changes() {
        let mut s = MeetingState::from_join(&reply(), "Bob");
        s.apply(&ServerMessage::UserJoined {
            client_id: "c9".into(),
            username: "Carol".into(),
        });
        s.apply(&ServerMessage::ParticipantHandState {
            client_id: "c9".into(),
            username: "Carol".into(),
            state: true,
            raised_at: Some(50.0),
        });
        let order: Vec<&str> = s.hands().iter().map(|p| p.client_id.as_str()).collect();
        assert_eq!(order, ["c9", "c1"]);
        s.apply(&ServerMessage::MutedByHost);
        s.apply(&ServerMessage::MicLocked);
        let me = s.me().unwrap();
        assert!(me.muted && me.mic_locked);
        s.apply(&ServerMessage::UserLeft {
            client_id: "c1".into(),
            username: "Alice".into(),
            reason: LeaveReason::Left,
        });
        assert_eq!(s.presenter, None);
        s.apply(&ServerMessage::HostChanged {
            client_id: "c7".into(),
        });
        assert!(s.am_host());
        assert_eq!(s.participants.len(), 2);
    }

    #[test]
    fn offers_come_and_go() {
        let mut s = MeetingState::from_join(&reply(), "Bob");
        let offer = FileOfferInfo {
            sender_id: "c1".into(),
            username: "Alice".into(),
            file_id: "f1".into(),
            filename: "a.txt".into(),
            filesize: 3,
            sha256: "0".repeat(64),
        };
        s.apply(&ServerMessage::FileOffer(offer.clone()));
        s.apply(&ServerMessage::FileOffer(offer));
        assert_eq!(s.offers.len(), 1);
        s.apply(&ServerMessage::FileUnavailable {
            sender_id: "c1".into(),
            file_id: "f1".into(),
        });
        assert!(s.offers.is_empty());
    }
}
