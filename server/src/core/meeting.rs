//! One meeting and the people in it.
//!
//! Participants are kept in join order, which is what host succession needs
//! ("the earliest remaining joiner becomes host") and what a join reply
//! lists. A meeting holds at most 64, so lookups are a short linear scan.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use lanmeet_common::audio;
use lanmeet_common::features::FeatureSet;
use lanmeet_common::limits::{
    CHAT_BURST_BYTES, CHAT_BURST_MESSAGES, CHAT_BYTES_PER_SEC, CHAT_HISTORY_LEN,
    CHAT_MESSAGES_PER_SEC,
};
use lanmeet_common::message::{ChatLine, FileOfferInfo, ParticipantInfo};

use super::jitter::SourceBuffer;
use super::rate::RateLimit;
use super::screen::ScreenState;
use super::ConnId;

/// One person in a meeting.
pub struct Participant {
    pub client_id: String,
    pub username: String,
    pub conn: ConnId,
    pub is_host: bool,
    pub video: bool,
    pub muted: bool,
    pub mic_locked: bool,
    /// Server unix time the hand went up, while it is up.
    pub raised_at: Option<f64>,
    /// Muted by `mute_all`, to be lifted by `unmute_all`.
    pub muted_by_all: bool,
    /// Locked by `mute_all{lock:true}`, to be lifted by `unmute_all`.
    pub locked_by_all: bool,
    pub udp_token: String,
    /// Where its media comes from and mixed audio goes, once a hello bound it.
    pub udp_addr: Option<SocketAddr>,
    /// Its audio frames waiting for the mixer's ticks (`jitter.rs`).
    pub audio_queue: SourceBuffer,
    /// Sequence number of the next mixed frame sent to it.
    pub mix_seq: u32,
    /// The frame it contributes to the tick being mixed.
    pub mixing: Option<audio::Frame>,
    /// How much more chat it may send now.
    pub chat_allowance: ChatAllowance,
    /// The additions it named; `None` for a version 1 client (it sent no
    /// `features`).
    pub features: Option<FeatureSet>,
    /// Its token for taking its place back (section 14), when it named
    /// `"resume"`.
    pub resume_token: Option<String>,
}

/// The chat one participant may send: [`CHAT_MESSAGES_PER_SEC`] messages
/// and [`CHAT_BYTES_PER_SEC`] bytes a second, with bursts of
/// [`CHAT_BURST_MESSAGES`] and [`CHAT_BURST_BYTES`]. Without it one
/// participant could flood everyone's window (a client keeps and shows
/// every line) and the history every joiner gets.
pub struct ChatAllowance {
    messages: RateLimit,
    bytes: RateLimit,
}

impl ChatAllowance {
    pub fn new() -> ChatAllowance {
        ChatAllowance {
            messages: RateLimit::new(CHAT_MESSAGES_PER_SEC, CHAT_BURST_MESSAGES),
            bytes: RateLimit::new(CHAT_BYTES_PER_SEC, CHAT_BURST_BYTES),
        }
    }

    /// Spends one message of `bytes` at `now` if both limits allow it.
    pub fn try_send(&mut self, now: Instant, bytes: usize) -> bool {
        let bytes = bytes as u64;
        if !(self.messages.allows(now, 1) && self.bytes.allows(now, bytes)) {
            return false;
        }
        self.messages.try_spend(now, 1) && self.bytes.try_spend(now, bytes)
    }
}

impl Participant {
    pub fn info(&self) -> ParticipantInfo {
        ParticipantInfo {
            client_id: self.client_id.clone(),
            username: self.username.clone(),
            is_host: self.is_host,
            video: self.video,
            muted: self.muted,
            mic_locked: self.mic_locked,
            hand_raised: self.raised_at.is_some(),
            raised_at: self.raised_at,
        }
    }
}

/// `mute_all` in force for later joiners.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MuteAll {
    pub lock: bool,
}

pub struct Meeting {
    /// Unique on the server: a resume finds its meeting by code and this,
    /// so a new meeting that happens to get the same code is not it.
    pub serial: u64,
    /// How many times the host role was handed on by `make_host`: a
    /// returning host gets the role back only if this did not change.
    pub host_handovers: u64,
    pub password: Option<String>,
    pub participants: Vec<Participant>,
    pub locked: bool,
    pub presenter: Option<String>,
    /// The shared screen's keyframe and patches (section 19).
    pub screen: ScreenState,
    pub chat_history: VecDeque<ChatLine>,
    /// Open file offers, oldest first.
    pub offers: Vec<FileOfferInfo>,
    pub mute_all: Option<MuteAll>,
    /// The last hand-raise stamp, so stamps strictly increase.
    pub last_raise: f64,
    // Sections 15-18
    /// Server unix time the meeting was created.
    pub started_at: f64,
    /// Its title (section 18), if the creator gave one.
    pub title: Option<String>,
    /// Whether discovery answers list it (section 18).
    pub listed: bool,
    /// The open poll (section 15).
    pub poll: Option<super::polls::Poll>,
    /// One row per stay (section 16).
    pub attendance: super::attendance::Attendance,
    /// Who is on everyone's stage (section 17).
    pub spotlight: Option<String>,
}

impl Meeting {
    pub fn new(serial: u64, password: Option<String>) -> Meeting {
        Meeting {
            serial,
            host_handovers: 0,
            password,
            participants: Vec::new(),
            locked: false,
            presenter: None,
            screen: ScreenState::default(),
            chat_history: VecDeque::with_capacity(CHAT_HISTORY_LEN),
            offers: Vec::new(),
            mute_all: None,
            last_raise: 0.0,
            started_at: 0.0,
            title: None,
            listed: false,
            poll: None,
            attendance: Default::default(),
            spotlight: None,
        }
    }

    pub fn participant(&self, client_id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.client_id == client_id)
    }

    pub fn participant_mut(&mut self, client_id: &str) -> Option<&mut Participant> {
        self.participants
            .iter_mut()
            .find(|p| p.client_id == client_id)
    }

    pub fn name_taken(&self, username: &str) -> bool {
        let wanted = username.to_lowercase();
        self.participants
            .iter()
            .any(|p| p.username.to_lowercase() == wanted)
    }

    pub fn remove(&mut self, client_id: &str) -> Option<Participant> {
        let at = self
            .participants
            .iter()
            .position(|p| p.client_id == client_id)?;
        Some(self.participants.remove(at))
    }

    pub fn remember_chat(&mut self, line: ChatLine) {
        if self.chat_history.len() == CHAT_HISTORY_LEN {
            self.chat_history.pop_front();
        }
        self.chat_history.push_back(line);
    }

    /// Removes and returns every offer of `sender_id`.
    pub fn take_offers_of(&mut self, sender_id: &str) -> Vec<FileOfferInfo> {
        let (theirs, rest) = std::mem::take(&mut self.offers)
            .into_iter()
            .partition(|o| o.sender_id == sender_id);
        self.offers = rest;
        theirs
    }

    /// A hand-raise stamp for `now` that is later than every earlier one,
    /// so two hands raised in the same microsecond still have an order.
    pub fn raise_stamp(&mut self, now: f64) -> f64 {
        let stamp = if now > self.last_raise {
            now
        } else {
            self.last_raise + 1e-6
        };
        self.last_raise = stamp;
        stamp
    }
}
