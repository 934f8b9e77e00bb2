//! Polls, attendance, spotlight and the meeting's title as this client
//! sees them (PROTOCOL.md sections 15-18).
//!
//! ```text
//!  join reply additions -> title, the open poll, the spotlight      (Input::JoinAdditions)
//!  poll_started         -> state.poll (our vote empty)              -> Event::PollStarted
//!  Command::Vote        -> poll_vote, our choices remembered
//!  poll_update (host)   -> state.poll counts                        -> Event::PollUpdate
//!  poll_results         -> state.poll cleared, state.poll_results   -> Event::PollResults
//!  attendance (host)    ->                                          -> Event::Attendance
//!  spotlight_changed    -> state.spotlight                          -> Event::SpotlightChanged
//! ```
//!
//! The server sends these only because the session names the additions
//! in its handshake; a server that does not know them sends none, and
//! the state keeps its empty defaults.

use lanmeet_common::features::JoinReplyAdditions;
use lanmeet_common::message::ServerMessage;
use lanmeet_common::ClientMessage;

use super::state::MeetingState;
pub use super::state::OpenPoll;
use super::{ClientCore, Event};

impl MeetingState {
    /// Applies a message of sections 15-17.
    pub(super) fn apply_classroom(&mut self, msg: &ServerMessage) {
        match msg {
            ServerMessage::PollStarted(info) => self.poll = Some(OpenPoll::new(info.clone())),
            ServerMessage::PollUpdate {
                poll_id,
                counts,
                voters,
            } => {
                if let Some(p) = self.poll.as_mut().filter(|p| p.info.poll_id == *poll_id) {
                    p.counts = counts.clone();
                    p.voters = *voters;
                }
            }
            ServerMessage::PollResults(results) => {
                if self.poll.as_ref().map(|p| &p.info.poll_id) == Some(&results.poll_id) {
                    self.poll = None;
                }
                self.poll_results = Some(results.clone());
            }
            ServerMessage::SpotlightChanged { client_id } => self.spotlight = client_id.clone(),
            ServerMessage::UserLeft { client_id, .. }
                if self.spotlight.as_deref() == Some(client_id) =>
            {
                self.spotlight = None;
            }
            _ => {}
        }
    }
}

impl ClientCore {
    /// The additions' fields of a join reply (after a join or a resume).
    pub(super) fn on_join_additions(&mut self, additions: &JoinReplyAdditions) {
        let state = &mut self.state;
        state.title = additions.title.clone().flatten();
        let poll = additions.poll.clone().flatten();
        let same = state.poll.as_ref().map(|p| &p.info) == poll.as_ref();
        if !same {
            state.poll = poll.clone().map(OpenPoll::new);
            if let Some(info) = poll {
                self.out.event(Event::PollStarted(info));
            }
        }
        let spotlight = additions.spotlight.clone().flatten();
        if state.spotlight != spotlight {
            state.spotlight = spotlight.clone();
            self.out.event(Event::SpotlightChanged {
                client_id: spotlight,
            });
        }
    }

    /// The event for a message of sections 15-17.
    pub(super) fn classroom_event(msg: ServerMessage) -> Option<Event> {
        match msg {
            ServerMessage::PollStarted(info) => Some(Event::PollStarted(info)),
            ServerMessage::PollUpdate {
                poll_id,
                counts,
                voters,
            } => Some(Event::PollUpdate {
                poll_id,
                counts,
                voters,
            }),
            ServerMessage::PollResults(results) => Some(Event::PollResults(results)),
            ServerMessage::Attendance {
                meeting_code,
                started_at,
                rows,
            } => Some(Event::Attendance {
                meeting_code,
                started_at,
                rows,
            }),
            ServerMessage::SpotlightChanged { client_id } => {
                Some(Event::SpotlightChanged { client_id })
            }
            _ => None,
        }
    }

    /// Votes in the open poll and remembers our choices.
    pub(super) fn vote(&mut self, poll_id: String, choices: Vec<u32>) {
        if let Some(p) = self
            .state
            .poll
            .as_mut()
            .filter(|p| p.info.poll_id == poll_id)
        {
            p.my_choices = choices.clone();
        }
        self.out.send(ClientMessage::PollVote { poll_id, choices });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanmeet_common::message::{LeaveReason, PollInfo, PollResults};

    fn info() -> PollInfo {
        PollInfo {
            poll_id: "p1".into(),
            question: "Done?".into(),
            options: vec!["Yes".into(), "No".into()],
            anonymous: true,
            multiple: false,
            by: "c1".into(),
        }
    }

    #[test]
    fn a_poll_opens_counts_and_closes_in_the_state() {
        let mut s = MeetingState::default();
        s.apply(&ServerMessage::PollStarted(info()));
        assert_eq!(s.poll.as_ref().unwrap().counts, [0, 0]);
        s.apply(&ServerMessage::PollUpdate {
            poll_id: "p1".into(),
            counts: vec![2, 1],
            voters: 3,
        });
        s.apply(&ServerMessage::PollUpdate {
            poll_id: "p0".into(),
            counts: vec![9, 9],
            voters: 18,
        });
        let poll = s.poll.clone().unwrap();
        assert_eq!(
            (poll.counts, poll.voters),
            (vec![2, 1], 3),
            "another poll's update is ignored"
        );
        s.apply(&ServerMessage::PollResults(PollResults {
            poll_id: "p1".into(),
            question: "Done?".into(),
            options: vec!["Yes".into(), "No".into()],
            counts: vec![2, 1],
            voters: 3,
            votes: None,
        }));
        assert!(s.poll.is_none());
        assert_eq!(s.poll_results.unwrap().voters, 3);
    }

    #[test]
    fn the_spotlight_follows_messages_and_leaves() {
        let mut s = MeetingState::default();
        s.apply(&ServerMessage::SpotlightChanged {
            client_id: Some("c3".into()),
        });
        assert_eq!(s.spotlight.as_deref(), Some("c3"));
        s.apply(&ServerMessage::UserLeft {
            client_id: "c3".into(),
            username: "Bob".into(),
            reason: LeaveReason::Timeout,
        });
        assert_eq!(s.spotlight, None);
    }
}
