//! Polls (PROTOCOL.md section 15): the host asks, everyone may answer,
//! the host watches the counts, everyone sees the results.
//!
//! ```text
//!  host                      server                         everyone (named "polls")
//!  poll_create{question,..} -> at most one open per meeting -> poll_started{poll_id,..,by}
//!                             <- poll_vote{poll_id,choices}     (anyone, again and again)
//!  poll_update{counts,voters} <- after votes, at most 4 a second, to whoever is host now
//!  poll_close{poll_id}      -> closes it -------------------> poll_results{counts,voters,votes?}
//! ```
//!
//! A vote replaces the voter's earlier one. Votes stay counted when the
//! voter leaves (a resumed participant keeps its vote); the host leaving
//! leaves the poll open for the next host, who gets the counts at the next
//! update. Only participants that named `"polls"` are sent poll messages.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use lanmeet_common::features::Feature;
use lanmeet_common::limits::POLL_UPDATE_INTERVAL_MS;
use lanmeet_common::message::{
    ClientMessage, ErrorCode, PollInfo, PollResults, PollVoteInfo, ServerMessage,
};

use super::meeting::Meeting;
use super::{frame_of, ConnId, Core, Outbox};

/// The shortest time between two `poll_update`s to a host.
const UPDATE_INTERVAL: Duration = Duration::from_millis(POLL_UPDATE_INTERVAL_MS);

/// Voters one poll remembers (those who left included); a new voter past
/// it is refused, so a meeting's churn cannot grow a poll without bound.
pub const MAX_POLL_VOTERS: usize = 4096;

/// One open poll.
pub struct Poll {
    pub info: PollInfo,
    /// client_id -> its name and choices.
    votes: BTreeMap<String, PollVoteInfo>,
    /// The counts changed since the host last saw them.
    update_owed: bool,
    /// When the last `poll_update` went out.
    last_update: Option<Instant>,
    /// Who got it (a new host is owed the counts).
    updated_host: Option<String>,
}

impl Poll {
    fn counts(&self) -> (Vec<u32>, u32) {
        let mut counts = vec![0u32; self.info.options.len()];
        for vote in self.votes.values() {
            for &c in &vote.choices {
                if let Some(n) = counts.get_mut(c as usize) {
                    *n += 1;
                }
            }
        }
        (counts, self.votes.len() as u32)
    }

    fn results(&self) -> PollResults {
        let (counts, voters) = self.counts();
        PollResults {
            poll_id: self.info.poll_id.clone(),
            question: self.info.question.clone(),
            options: self.info.options.clone(),
            counts,
            voters,
            votes: (!self.info.anonymous).then(|| self.votes.clone()),
        }
    }
}

/// The server's poll ids and the meetings whose open poll may owe its
/// host an update.
#[derive(Default)]
pub(super) struct PollBook {
    next_id: u64,
    /// Codes of meetings with an open poll.
    open: BTreeSet<String>,
}

impl Outbox {
    /// Sends `message` to everyone in `meeting` who named `feature`.
    pub(super) fn broadcast_named(
        &mut self,
        meeting: &Meeting,
        feature: Feature,
        message: &ServerMessage,
    ) {
        let frame = frame_of(message);
        for p in &meeting.participants {
            if p.features.is_some_and(|f| f.contains(feature)) {
                self.send_frame(p.conn, frame.clone(), false);
            }
        }
    }
}

type Refusal = (ErrorCode, String);

fn bad(text: impl Into<String>) -> Refusal {
    (ErrorCode::BadRequest, text.into())
}

impl Core {
    /// `poll_create`, `poll_vote` or `poll_close` from `client_id`.
    pub(super) fn on_poll_message(
        &mut self,
        conn: ConnId,
        client_id: &str,
        code: &str,
        message: ClientMessage,
        now: Instant,
    ) {
        let result = match message {
            ClientMessage::PollCreate {
                question,
                options,
                anonymous,
                multiple,
            } => self.poll_create(client_id, code, question, options, anonymous, multiple),
            ClientMessage::PollVote { poll_id, choices } => {
                self.poll_vote(client_id, code, &poll_id, choices)
            }
            ClientMessage::PollClose { poll_id } => self.poll_close(client_id, code, &poll_id),
            _ => Ok(()),
        };
        match result {
            Ok(()) => self.flush_poll_update(code, now),
            Err((code, text)) => self.out.error(conn, code, text),
        }
    }

    fn poll_create(
        &mut self,
        client_id: &str,
        code: &str,
        question: String,
        options: Vec<String>,
        anonymous: bool,
        multiple: bool,
    ) -> Result<(), Refusal> {
        let meeting = self
            .meetings
            .get_mut(code)
            .ok_or_else(|| bad("no meeting"))?;
        check_host(meeting, client_id)?;
        if let Some(open) = &meeting.poll {
            return Err(bad(format!(
                "poll {} is still open; close it first",
                open.info.poll_id
            )));
        }
        self.polls.next_id += 1;
        let info = PollInfo {
            poll_id: format!("p{}", self.polls.next_id),
            question,
            options,
            anonymous,
            multiple,
            by: client_id.to_string(),
        };
        self.out.log(format!(
            "meeting {code}: poll {} opened by {client_id}",
            info.poll_id
        ));
        self.out.broadcast_named(
            meeting,
            Feature::Polls,
            &ServerMessage::PollStarted(info.clone()),
        );
        meeting.poll = Some(Poll {
            info,
            votes: BTreeMap::new(),
            update_owed: false,
            last_update: None,
            // The host knows the counts of a poll it just opened: zero.
            updated_host: Some(client_id.to_string()),
        });
        self.polls.open.insert(code.to_string());
        Ok(())
    }

    fn poll_vote(
        &mut self,
        client_id: &str,
        code: &str,
        poll_id: &str,
        choices: Vec<u32>,
    ) -> Result<(), Refusal> {
        let meeting = self
            .meetings
            .get_mut(code)
            .ok_or_else(|| bad("no meeting"))?;
        let username = meeting
            .participant(client_id)
            .map(|p| p.username.clone())
            .unwrap_or_default();
        let poll = open_poll(meeting, poll_id)?;
        let options = poll.info.options.len();
        if let Some(&c) = choices.iter().find(|&&c| c as usize >= options) {
            return Err(bad(format!("choice {c} is not an option (0..{options})")));
        }
        if !poll.info.multiple && choices.len() != 1 {
            return Err(bad("this poll takes exactly one choice"));
        }
        if !poll.votes.contains_key(client_id) && poll.votes.len() >= MAX_POLL_VOTERS {
            return Err(bad("this poll has as many voters as it can count"));
        }
        poll.votes
            .insert(client_id.to_string(), PollVoteInfo { username, choices });
        poll.update_owed = true;
        Ok(())
    }

    fn poll_close(&mut self, client_id: &str, code: &str, poll_id: &str) -> Result<(), Refusal> {
        let meeting = self
            .meetings
            .get_mut(code)
            .ok_or_else(|| bad("no meeting"))?;
        check_host(meeting, client_id)?;
        open_poll(meeting, poll_id)?;
        let Some(poll) = meeting.poll.take() else {
            return Ok(());
        };
        self.polls.open.remove(code);
        let results = poll.results();
        self.out.log(format!(
            "meeting {code}: poll {poll_id} closed with {} voters",
            results.voters
        ));
        self.out.broadcast_named(
            meeting,
            Feature::Polls,
            &ServerMessage::PollResults(results),
        );
        Ok(())
    }

    /// Sends the owed `poll_update`s whose interval has passed (called on
    /// every timer tick).
    pub(super) fn flush_poll_updates(&mut self, now: Instant) {
        if self.polls.open.is_empty() {
            return;
        }
        let codes: Vec<String> = self.polls.open.iter().cloned().collect();
        for code in codes {
            self.flush_poll_update(&code, now);
        }
    }

    /// Sends meeting `code`'s host the counts, if they changed (or the
    /// host did) and the last update is at least 250 ms old.
    fn flush_poll_update(&mut self, code: &str, now: Instant) {
        let Some(meeting) = self.meetings.get_mut(code) else {
            self.polls.open.remove(code);
            return;
        };
        let host = meeting
            .participants
            .iter()
            .find(|p| p.is_host)
            .map(|p| (p.client_id.clone(), p.conn, p.features));
        let Some(poll) = &mut meeting.poll else {
            self.polls.open.remove(code);
            return;
        };
        let host_changed = host.as_ref().map(|h| &h.0) != poll.updated_host.as_ref();
        if !(poll.update_owed || host_changed) {
            return;
        }
        if poll
            .last_update
            .is_some_and(|t| now.saturating_duration_since(t) < UPDATE_INTERVAL)
        {
            return; // the next tick past the interval sends the latest
        }
        poll.update_owed = false;
        poll.last_update = Some(now);
        poll.updated_host = host.as_ref().map(|h| h.0.clone());
        let Some((_, conn, features)) = host else {
            return;
        };
        if features.is_some_and(|f| f.contains(Feature::Polls)) {
            let (counts, voters) = poll.counts();
            let msg = ServerMessage::PollUpdate {
                poll_id: poll.info.poll_id.clone(),
                counts,
                voters,
            };
            self.out.send(conn, &msg);
        }
    }
}

fn check_host(meeting: &Meeting, client_id: &str) -> Result<(), Refusal> {
    if meeting.participant(client_id).is_some_and(|p| p.is_host) {
        Ok(())
    } else {
        Err((ErrorCode::NotHost, "only the host may do that".into()))
    }
}

fn open_poll<'m>(meeting: &'m mut Meeting, poll_id: &str) -> Result<&'m mut Poll, Refusal> {
    match &mut meeting.poll {
        Some(p) if p.info.poll_id == poll_id => Ok(p),
        _ => Err(bad(format!("poll {poll_id} is not open"))),
    }
}
