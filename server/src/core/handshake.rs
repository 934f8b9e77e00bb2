//! Create and join: the only two messages a new connection may send.
//!
//! ```text
//!  client                                   server
//!    | create_meeting{version,username,pw}    |
//!    |--------------------------------------->|  new code, client id, UDP token
//!    |        meeting_created{...}            |
//!    |<---------------------------------------|
//!
//!    | join_meeting{version,username,code,pw} |
//!    |--------------------------------------->|  checks, in this order: version,
//!    |   join_success{...}  or  error{code}   |  code, lock, password, name, room
//!    |<---------------------------------------|  (an error closes the connection)
//!    |   [muted_by_host, mic_locked]          |  when mute_all is in force
//!    |   [screen_frame]                       |  the latest, when someone presents
//! ```

use std::collections::VecDeque;

use lanmeet_common::limits::{
    MAX_ERROR_TEXT, MEETING_CODE_ALPHABET, MEETING_CODE_LEN, PROTOCOL_VERSION,
};
use lanmeet_common::message::{
    normalize_meeting_code, normalize_username, ClientMessage, ErrorCode, JoinReply, ServerMessage,
};
use lanmeet_common::sha256::to_hex;

use super::meeting::{ChatAllowance, Meeting, Participant};
use super::{clip, ConnId, ConnState, Core};

impl Core {
    pub(super) fn on_handshake(&mut self, conn: ConnId, message: ClientMessage) {
        let result = match message {
            ClientMessage::CreateMeeting {
                version,
                username,
                password,
            } => self.create(conn, version, &username, password),
            ClientMessage::JoinMeeting {
                version,
                username,
                meeting_code,
                password,
            } => self.join(conn, version, &username, &meeting_code, password.as_deref()),
            _ => Err((
                ErrorCode::BadRequest,
                "the first message must be create_meeting or join_meeting".into(),
            )),
        };
        if let Err((code, text)) = result {
            self.out.log(format!(
                "conn {conn}: handshake refused: {}: {}",
                code.as_str(),
                clip(text.clone(), MAX_ERROR_TEXT)
            ));
            self.out.error(conn, code, text);
            self.drop_conn(conn);
        }
    }

    fn create(
        &mut self,
        conn: ConnId,
        version: u32,
        username: &str,
        password: Option<String>,
    ) -> Result<(), (ErrorCode, String)> {
        check_version(version)?;
        let username = normalize_username(username).map_err(|e| (ErrorCode::BadRequest, e.0))?;
        let code = self.new_meeting_code();
        let password = password.filter(|p| !p.is_empty());
        self.out.log(format!(
            "meeting {code}: created by {username}{}",
            if password.is_some() {
                " (with password)"
            } else {
                ""
            }
        ));
        self.meetings.insert(code.clone(), Meeting::new(password));
        let client_id = self.admit(conn, &code, username, true);
        let reply = self.join_reply(&code, &client_id);
        self.out.send(conn, &ServerMessage::MeetingCreated(reply));
        Ok(())
    }

    fn join(
        &mut self,
        conn: ConnId,
        version: u32,
        username: &str,
        code: &str,
        password: Option<&str>,
    ) -> Result<(), (ErrorCode, String)> {
        check_version(version)?;
        let username = normalize_username(username).map_err(|e| (ErrorCode::BadRequest, e.0))?;
        let code = normalize_meeting_code(code)
            .filter(|c| self.meetings.contains_key(c))
            .ok_or((
                ErrorCode::InvalidCode,
                "no meeting has that code".to_string(),
            ))?;
        let meeting = &self.meetings[&code];
        if meeting.locked {
            return Err((
                ErrorCode::MeetingLocked,
                "the host has locked this meeting".into(),
            ));
        }
        if let Some(expected) = &meeting.password {
            if password != Some(expected.as_str()) {
                return Err((ErrorCode::WrongPassword, "wrong or missing password".into()));
            }
        }
        if meeting.name_taken(&username) {
            return Err((
                ErrorCode::NameTaken,
                format!("someone here is already called {username}"),
            ));
        }
        if meeting.participants.len() >= self.config.max_participants {
            return Err((ErrorCode::ServerFull, "the meeting is full".into()));
        }
        self.out.log(format!("meeting {code}: {username} joined"));
        let client_id = self.admit(conn, &code, username.clone(), false);
        let reply = self.join_reply(&code, &client_id);
        self.out.send(conn, &ServerMessage::JoinSuccess(reply));

        let meeting = self
            .meetings
            .get_mut(&code)
            .expect("admit keeps the meeting");
        let joined = ServerMessage::UserJoined {
            client_id: client_id.clone(),
            username,
        };
        self.out.broadcast(meeting, &joined, Some(&client_id));
        if let Some(rule) = meeting.mute_all {
            let p = meeting.participant_mut(&client_id).expect("just admitted");
            p.muted = true;
            p.muted_by_all = true;
            p.mic_locked = rule.lock;
            p.locked_by_all = rule.lock;
            self.out.send(conn, &ServerMessage::MutedByHost);
            if rule.lock {
                self.out.send(conn, &ServerMessage::MicLocked);
            }
            let msg = ServerMessage::ParticipantMuted {
                client_id: client_id.clone(),
            };
            self.out.broadcast(meeting, &msg, None);
            if rule.lock {
                let msg = ServerMessage::ParticipantMicLocked {
                    client_id: client_id.clone(),
                };
                self.out.broadcast(meeting, &msg, None);
            }
        }
        if let Some(frame) = &meeting.latest_screen_frame {
            self.out.send_frame(conn, frame.clone(), true);
        }
        Ok(())
    }

    /// Adds a participant to meeting `code` and returns its new id.
    fn admit(&mut self, conn: ConnId, code: &str, username: String, is_host: bool) -> String {
        self.next_client += 1;
        let client_id = format!("c{}", self.next_client);
        let token = self.new_token();
        let meeting = self
            .meetings
            .get_mut(code)
            .expect("callers checked the meeting exists");
        meeting.participants.push(Participant {
            client_id: client_id.clone(),
            username,
            conn,
            is_host,
            video: false,
            muted: false,
            mic_locked: false,
            raised_at: None,
            muted_by_all: false,
            locked_by_all: false,
            udp_token: token.clone(),
            udp_addr: None,
            audio_queue: VecDeque::new(),
            mix_seq: 0,
            mixing: None,
            chat_allowance: ChatAllowance::new(),
        });
        self.tokens.insert(token, client_id.clone());
        self.clients.insert(client_id.clone(), code.to_string());
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Joined {
                client_id: client_id.clone(),
                meeting: code.to_string(),
            };
            let peer = c.peer;
            self.handshake_done(peer);
        }
        client_id
    }

    fn join_reply(&self, code: &str, client_id: &str) -> JoinReply {
        let meeting = &self.meetings[code];
        let me = meeting
            .participant(client_id)
            .expect("the joiner was just admitted");
        JoinReply {
            meeting_code: code.to_string(),
            client_id: client_id.to_string(),
            is_host: me.is_host,
            udp_port: self.config.udp_port,
            udp_token: me.udp_token.clone(),
            max_datagram: self.config.max_datagram,
            participants: meeting
                .participants
                .iter()
                .filter(|p| p.client_id != client_id)
                .map(|p| p.info())
                .collect(),
            presenter: meeting.presenter.clone(),
            locked: meeting.locked,
            chat_history: meeting.chat_history.iter().cloned().collect(),
            files: meeting.offers.clone(),
        }
    }

    fn new_meeting_code(&mut self) -> String {
        let alphabet = MEETING_CODE_ALPHABET.as_bytes();
        loop {
            let bytes: [u8; MEETING_CODE_LEN] = self.random_bytes();
            // 32 symbols: the low five bits of a random byte pick one evenly.
            let code: String = bytes
                .iter()
                .map(|b| alphabet[usize::from(b % 32)] as char)
                .collect();
            if !self.meetings.contains_key(&code) {
                return code;
            }
        }
    }

    fn new_token(&mut self) -> String {
        loop {
            let token = to_hex(&self.random_bytes::<16>());
            if !self.tokens.contains_key(&token) {
                return token;
            }
        }
    }
}

fn check_version(version: u32) -> Result<(), (ErrorCode, String)> {
    if version == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err((
            ErrorCode::VersionMismatch,
            format!("this server speaks protocol version {PROTOCOL_VERSION}, not {version}"),
        ))
    }
}
