//! Resuming after a dropped connection (PROTOCOL.md section 14): a Wi-Fi
//! drop must not cost a participant its place, its host role or its name.
//!
//! ```text
//!  resume_meeting{resume_token} as the first frame of a new connection
//!    token of someone still in a meeting   -> takes its place on the new
//!      (old connection not seen closed)       connection; the old one is
//!                                             closed, nobody is told
//!    token of someone who dropped or went  -> re-enters with the same id
//!      silent less than 60 s ago, meeting     and name (host role back
//!      still there                            unless make_host moved it)
//!    anything else                         -> resume_expired, close
//! ```
//!
//! Only a participant that named `"resume"` has a token. Leaving by
//! `leave`, or being removed, forgets it at once.

use std::time::{Duration, Instant};

use lanmeet_common::features::{Feature, FeatureSet, JoinReplyKind};
use lanmeet_common::message::ErrorCode;

use super::handshake::check_version;
use super::meeting::Participant;
use super::{ConnId, Core};

/// How long after a drop a participant may come back.
pub const RESUME_WINDOW: Duration = Duration::from_secs(60);

/// Participants remembered after a drop, at most: each is a few hundred
/// bytes, and past this the oldest is forgotten first.
const MAX_AWAY: usize = 4096;

/// Someone who left by a dropped connection or a timeout.
pub(super) struct Away {
    client_id: String,
    username: String,
    meeting: String,
    serial: u64,
    was_host: bool,
    host_handovers: u64,
    features: Option<FeatureSet>,
    left_at: Instant,
}

type Refusal = (ErrorCode, String);

fn expired() -> Refusal {
    (
        ErrorCode::ResumeExpired,
        "nothing to resume with that token (left over 60 s ago, said leave, or was removed); join again".into(),
    )
}

impl Core {
    /// Remembers `p`, who just left meeting `code` by a drop, under its
    /// resume token.
    pub(super) fn remember_away(&mut self, token: String, p: &Participant, code: &str) {
        let Some(meeting) = self.meetings.get(code) else {
            return;
        };
        if self.away.len() >= MAX_AWAY {
            let oldest = self
                .away
                .iter()
                .min_by_key(|(_, a)| a.left_at)
                .map(|(t, _)| t.clone());
            if let Some(t) = oldest {
                self.away.remove(&t);
            }
        }
        self.away.insert(
            token,
            Away {
                client_id: p.client_id.clone(),
                username: p.username.clone(),
                meeting: code.to_string(),
                serial: meeting.serial,
                was_host: p.is_host,
                host_handovers: meeting.host_handovers,
                features: p.features,
                left_at: self.now,
            },
        );
    }

    /// Forgets who dropped more than [`RESUME_WINDOW`] ago.
    pub(super) fn expire_away(&mut self, now: Instant) {
        self.away
            .retain(|_, a| now.saturating_duration_since(a.left_at) < RESUME_WINDOW);
    }

    /// `resume_meeting` as the first frame of `conn`.
    pub(super) fn resume(
        &mut self,
        conn: ConnId,
        version: u32,
        token: &str,
        features: Option<FeatureSet>,
        now: Instant,
    ) -> Result<(), Refusal> {
        check_version(version)?;
        // Whoever resumes speaks "resume", whatever else it names.
        let features = features.map(|f| f.with(Feature::Resume));
        if let Some(client_id) = self.resume_tokens.get(token).cloned() {
            self.take_place(conn, &client_id, features);
            return Ok(());
        }
        let away = self.away.remove(token).ok_or_else(expired)?;
        let meeting = self
            .meetings
            .get(&away.meeting)
            .filter(|m| m.serial == away.serial);
        let Some(meeting) = meeting else {
            return Err(expired());
        };
        if now.saturating_duration_since(away.left_at) >= RESUME_WINDOW {
            return Err(expired());
        }
        let refusal = if meeting.name_taken(&away.username) {
            Some((
                ErrorCode::NameTaken,
                format!("someone here took the name {} meanwhile", away.username),
            ))
        } else if meeting.participants.len() >= self.config.max_participants {
            Some((ErrorCode::ServerFull, "the meeting is full".to_string()))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            // It may try again while the window lasts.
            self.away.insert(token.to_string(), away);
            return Err(refusal);
        }
        let restore_host = away.was_host && meeting.host_handovers == away.host_handovers;
        let code = away.meeting.clone();
        self.out.log(format!(
            "meeting {code}: {} ({}) came back",
            away.username, away.client_id
        ));
        self.admit_as(
            conn,
            &code,
            away.client_id.clone(),
            away.username.clone(),
            false,
            features.or(away.features),
        );
        if restore_host {
            if let Some(m) = self.meetings.get_mut(&code) {
                for p in &mut m.participants {
                    p.is_host = p.client_id == away.client_id;
                }
            }
        }
        self.send_join_reply(
            conn,
            JoinReplyKind::JoinSuccess,
            &code,
            &away.client_id,
            true,
        );
        self.after_join(conn, &code, &away.client_id, away.username, restore_host);
        Ok(())
    }

    /// `client_id`, still in its meeting, continues on `conn`: its old
    /// connection is closed without a word to anyone, its transfers fail
    /// as for a leave, and it gets new tokens and the meeting as it is.
    fn take_place(&mut self, conn: ConnId, client_id: &str, features: Option<FeatureSet>) {
        let Some(code) = self.clients.get(client_id).cloned() else {
            return;
        };
        let udp_token = self.new_token();
        let resume_token = self.new_resume_token();
        let Some(meeting) = self.meetings.get_mut(&code) else {
            return;
        };
        let Some(p) = meeting.participant_mut(client_id) else {
            return;
        };
        let old_conn = std::mem::replace(&mut p.conn, conn);
        let old_udp = std::mem::replace(&mut p.udp_token, udp_token.clone());
        let old_resume = p.resume_token.replace(resume_token.clone());
        p.udp_addr = None;
        p.audio_queue.clear();
        if features.is_some() {
            p.features = features;
        }
        self.tokens.remove(&old_udp);
        self.tokens.insert(udp_token, client_id.to_string());
        if let Some(old) = old_resume {
            self.resume_tokens.remove(&old);
        }
        self.resume_tokens
            .insert(resume_token, client_id.to_string());
        self.out.log(format!(
            "meeting {code}: {client_id} resumed on conn {conn} (conn {old_conn} closed)"
        ));
        self.forget_conn(old_conn);
        self.out.close(old_conn);
        let meeting = &self.meetings[&code];
        self.transfers.party_left(client_id, &mut self.out, |id| {
            meeting.participant(id).map(|p| p.conn)
        });
        self.joined(conn, &code, client_id);
        self.send_join_reply(conn, JoinReplyKind::JoinSuccess, &code, client_id, true);
        self.screen_to_joiner(conn, &code, client_id);
    }
}
