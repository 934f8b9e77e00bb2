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

use std::time::Instant;

use lanmeet_common::features::{
    Feature, FeatureSet, HandshakeAdditions, JoinReplyAdditions, JoinReplyKind, SERVER_FEATURES,
};
use lanmeet_common::limits::{
    MAX_ERROR_TEXT, MEETING_CODE_ALPHABET, MEETING_CODE_LEN, PROTOCOL_VERSION,
};
use lanmeet_common::message::{
    normalize_meeting_code, normalize_username, ClientMessage, ErrorCode, JoinReply, ServerMessage,
};
use lanmeet_common::sha256::to_hex;

use super::jitter::SourceBuffer;
use super::meeting::{ChatAllowance, Meeting, Participant};
use super::{clip, ConnId, ConnState, Core};

impl Core {
    pub(super) fn on_handshake(
        &mut self,
        conn: ConnId,
        message: ClientMessage,
        body: &[u8],
        now: Instant,
    ) {
        let result = match message {
            ClientMessage::CreateMeeting {
                version,
                username,
                password,
            } => HandshakeAdditions::parse(body)
                .map_err(|e| (ErrorCode::BadRequest, e.0))
                .and_then(|additions| self.create(conn, version, &username, password, additions)),
            ClientMessage::JoinMeeting {
                version,
                username,
                meeting_code,
                password,
            } => features_of(body).and_then(|features| {
                self.join(
                    conn,
                    version,
                    &username,
                    &meeting_code,
                    password.as_deref(),
                    features,
                )
            }),
            ClientMessage::ResumeMeeting {
                version,
                resume_token,
                features,
            } => self.resume(
                conn,
                version,
                &resume_token,
                features.map(|f| FeatureSet::from_names(&f)),
                now,
            ),
            _ => Err((
                ErrorCode::BadRequest,
                "the first message must be create_meeting, join_meeting or resume_meeting".into(),
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
        additions: HandshakeAdditions,
    ) -> Result<(), (ErrorCode, String)> {
        check_version(version)?;
        let username = normalize_username(username).map_err(|e| (ErrorCode::BadRequest, e.0))?;
        let features = additions.features.map(|f| FeatureSet::from_names(&f));
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
        self.next_meeting += 1;
        let mut meeting = Meeting::new(self.next_meeting, password);
        // Sections 16 and 18.
        meeting.started_at = self.unix_now(self.now);
        meeting.title = additions.title;
        meeting.listed = additions.listed;
        self.meetings.insert(code.clone(), meeting);
        let client_id = self.admit(conn, &code, username, true, features);
        self.send_join_reply(
            conn,
            JoinReplyKind::MeetingCreated,
            &code,
            &client_id,
            false,
        );
        Ok(())
    }

    fn join(
        &mut self,
        conn: ConnId,
        version: u32,
        username: &str,
        code: &str,
        password: Option<&str>,
        features: Option<FeatureSet>,
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
        let client_id = self.admit(conn, &code, username.clone(), false, features);
        self.send_join_reply(conn, JoinReplyKind::JoinSuccess, &code, &client_id, false);
        self.after_join(conn, &code, &client_id, username, false);
        Ok(())
    }

    /// What follows a join reply: `user_joined` to the others, the host
    /// role back to a returning host (`restore_host`, section 14), the
    /// rule of a `mute_all` in force, and the latest screen frame.
    pub(super) fn after_join(
        &mut self,
        conn: ConnId,
        code: &str,
        client_id: &str,
        username: String,
        restore_host: bool,
    ) {
        let meeting = self
            .meetings
            .get_mut(code)
            .expect("admit keeps the meeting");
        let joined = ServerMessage::UserJoined {
            client_id: client_id.to_string(),
            username,
        };
        self.out.broadcast(meeting, &joined, Some(client_id));
        if restore_host {
            let msg = ServerMessage::HostChanged {
                client_id: client_id.to_string(),
            };
            self.out.broadcast(meeting, &msg, None);
        } else if let Some(rule) = meeting.mute_all {
            let p = meeting.participant_mut(client_id).expect("just admitted");
            p.muted = true;
            p.muted_by_all = true;
            p.mic_locked = rule.lock;
            p.locked_by_all = rule.lock;
            self.out.send(conn, &ServerMessage::MutedByHost);
            if rule.lock {
                self.out.send(conn, &ServerMessage::MicLocked);
            }
            let msg = ServerMessage::ParticipantMuted {
                client_id: client_id.to_string(),
            };
            self.out.broadcast(meeting, &msg, None);
            if rule.lock {
                let msg = ServerMessage::ParticipantMicLocked {
                    client_id: client_id.to_string(),
                };
                self.out.broadcast(meeting, &msg, None);
            }
        }
        self.screen_to_joiner(conn, code, client_id);
    }

    /// Adds a participant to meeting `code` and returns its new id.
    fn admit(
        &mut self,
        conn: ConnId,
        code: &str,
        username: String,
        is_host: bool,
        features: Option<FeatureSet>,
    ) -> String {
        self.next_client += 1;
        let client_id = format!("c{}", self.next_client);
        self.admit_as(conn, code, client_id.clone(), username, is_host, features);
        client_id
    }

    /// Adds participant `client_id` to meeting `code` on `conn`, with new
    /// tokens (a resume token only for a client that named `"resume"`).
    pub(super) fn admit_as(
        &mut self,
        conn: ConnId,
        code: &str,
        client_id: String,
        username: String,
        is_host: bool,
        features: Option<FeatureSet>,
    ) {
        let token = self.new_token();
        let resume_token = features
            .filter(|f| f.contains(Feature::Resume))
            .map(|_| self.new_resume_token());
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
            audio_queue: SourceBuffer::default(),
            mix_seq: 0,
            mixing: None,
            chat_allowance: ChatAllowance::new(),
            features,
            resume_token: resume_token.clone(),
        });
        self.tokens.insert(token, client_id.clone());
        if let Some(t) = resume_token {
            self.resume_tokens.insert(t, client_id.clone());
        }
        self.clients.insert(client_id.clone(), code.to_string());
        self.joined(conn, code, &client_id);
        self.record_join(code, &client_id);
    }

    /// `conn` is now `client_id` in meeting `code`.
    pub(super) fn joined(&mut self, conn: ConnId, code: &str, client_id: &str) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Joined {
                client_id: client_id.to_string(),
                meeting: code.to_string(),
            };
            let peer = c.peer;
            self.handshake_done(peer);
        }
    }

    /// Sends `client_id` its join reply: the version 1 fields, and the
    /// additions' fields it asked for (none for a version 1 client).
    pub(super) fn send_join_reply(
        &mut self,
        conn: ConnId,
        kind: JoinReplyKind,
        code: &str,
        client_id: &str,
        resumed: bool,
    ) {
        let reply = self.join_reply(code, client_id);
        let me = self.meetings[code]
            .participant(client_id)
            .expect("the joiner was just admitted");
        let meeting = &self.meetings[code];
        let named = |f: Feature| me.features.is_some_and(|s| s.contains(f));
        let additions = JoinReplyAdditions {
            features: me.features.map(|_| SERVER_FEATURES.names()),
            resume_token: me.resume_token.clone(),
            resumed,
            title: named(Feature::Discovery).then(|| meeting.title.clone()),
            poll: named(Feature::Polls).then(|| meeting.poll.as_ref().map(|p| p.info.clone())),
            spotlight: named(Feature::Spotlight).then(|| meeting.spotlight.clone()),
        };
        self.out.send_join_reply(conn, kind, &reply, &additions);
        self.sync_media_additions(code);
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

    pub(super) fn new_resume_token(&mut self) -> String {
        loop {
            let token = to_hex(&self.random_bytes::<16>());
            if !self.resume_tokens.contains_key(&token) && !self.away.contains_key(&token) {
                return token;
            }
        }
    }

    pub(super) fn new_token(&mut self) -> String {
        loop {
            let token = to_hex(&self.random_bytes::<16>());
            if !self.tokens.contains_key(&token) {
                return token;
            }
        }
    }
}

/// The additions a create or join names: `None` when it sent no
/// `features` (a version 1 client).
fn features_of(body: &[u8]) -> Result<Option<FeatureSet>, (ErrorCode, String)> {
    let additions = HandshakeAdditions::parse(body).map_err(|e| (ErrorCode::BadRequest, e.0))?;
    Ok(additions.features.map(|f| FeatureSet::from_names(&f)))
}

pub(super) fn check_version(version: u32) -> Result<(), (ErrorCode, String)> {
    if version == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err((
            ErrorCode::VersionMismatch,
            format!("this server speaks protocol version {PROTOCOL_VERSION}, not {version}"),
        ))
    }
}
