//! The session's methods for polls, attendance and spotlight (PROTOCOL.md
//! sections 15-17). (The title and listing a create sends, section 18,
//! are `Config::with_listing`.)
//! Each checks its arguments, then hands the core a command; answers come
//! back as events (`PollStarted`, `PollUpdate`, `PollResults`,
//! `Attendance`, `SpotlightChanged`).

use lanmeet_common::limits::{
    MAX_POLL_OPTIONS, MAX_POLL_OPTION_CHARS, MAX_POLL_QUESTION_CHARS, MIN_POLL_OPTIONS,
};
use lanmeet_common::ClientMessage;

use super::session::Session;
use crate::core::Command;
use crate::error::SessionError;

fn invalid(text: String) -> SessionError {
    SessionError::InvalidInput(text)
}

impl Session {
    /// Host: opens a poll with `question` and 2..10 `options`.
    pub fn create_poll(
        &self,
        question: &str,
        options: &[String],
        anonymous: bool,
        multiple: bool,
    ) -> Result<(), SessionError> {
        let question = question.trim();
        let count = question.chars().count();
        if count == 0 || count > MAX_POLL_QUESTION_CHARS {
            return Err(invalid(format!(
                "a question has 1..={MAX_POLL_QUESTION_CHARS} characters"
            )));
        }
        let options: Vec<String> = options
            .iter()
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if options.len() < MIN_POLL_OPTIONS || options.len() > MAX_POLL_OPTIONS {
            return Err(invalid(format!(
                "a poll has {MIN_POLL_OPTIONS}..={MAX_POLL_OPTIONS} options"
            )));
        }
        if let Some(long) = options
            .iter()
            .find(|o| o.chars().count() > MAX_POLL_OPTION_CHARS)
        {
            return Err(invalid(format!(
                "an option has at most {MAX_POLL_OPTION_CHARS} characters: {long:.20}..."
            )));
        }
        self.send(ClientMessage::PollCreate {
            question: question.to_string(),
            options,
            anonymous,
            multiple,
        })
    }

    /// Votes in the open poll `poll_id` (again, to change the vote).
    pub fn vote(&self, poll_id: &str, choices: &[u32]) -> Result<(), SessionError> {
        let state = self.state();
        let Some(poll) = state.poll.filter(|p| p.info.poll_id == poll_id) else {
            return Err(invalid(format!("poll {poll_id} is not open")));
        };
        let n = poll.info.options.len() as u32;
        let mut seen = Vec::new();
        for &c in choices {
            if c >= n || seen.contains(&c) {
                return Err(invalid(format!("choose options 0..{n}, each once")));
            }
            seen.push(c);
        }
        if choices.is_empty() || (!poll.info.multiple && choices.len() != 1) {
            return Err(invalid(if poll.info.multiple {
                "choose at least one option".to_string()
            } else {
                "choose exactly one option".to_string()
            }));
        }
        self.shared.command(Command::Vote {
            poll_id: poll_id.to_string(),
            choices: choices.to_vec(),
        })
    }

    /// Host: closes the open poll; everyone gets the results.
    pub fn close_poll(&self, poll_id: &str) -> Result<(), SessionError> {
        self.send(ClientMessage::PollClose {
            poll_id: poll_id.to_string(),
        })
    }

    /// Host: asks for the attendance rows (an `Attendance` event).
    pub fn request_attendance(&self) -> Result<(), SessionError> {
        self.send(ClientMessage::AttendanceRequest)
    }

    /// Host: puts `client_id` on everyone's stage, or clears it.
    pub fn set_spotlight(&self, client_id: Option<&str>) -> Result<(), SessionError> {
        self.send(ClientMessage::Spotlight {
            client_id: client_id.map(String::from),
        })
    }
}
