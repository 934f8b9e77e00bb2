//! Chat, presence and host commands: the messages that change what
//! everyone in a meeting sees (screen sharing is in `screen`).
//!
//! Each handler checks who may do it (host-only commands answer `not_host`,
//! unknown targets `no_such_participant`), updates the meeting, and tells
//! the people the protocol names. The server stamps every id, name and time
//! itself; a client never chooses them.

use std::time::Instant;

use lanmeet_common::message::{ChatLine, ClientMessage, ErrorCode, LeaveReason, ServerMessage};

use super::meeting::{Meeting, MuteAll};
use super::{ConnId, Core, Outbox};

impl Core {
    pub(super) fn on_control(
        &mut self,
        conn: ConnId,
        client_id: &str,
        code: &str,
        message: ClientMessage,
        now: Instant,
    ) {
        use ClientMessage as M;
        let unix_now = self.unix_now(now);
        let Some(meeting) = self.meetings.get_mut(code) else {
            return;
        };
        let out = &mut self.out;
        let Some(me) = meeting.participant(client_id) else {
            return;
        };
        let username = me.username.clone();
        let is_host = me.is_host;

        // Host-only commands are refused in one place.
        let host_only = matches!(
            message,
            M::MuteParticipant { .. }
                | M::UnmuteParticipant { .. }
                | M::LockMic { .. }
                | M::UnlockMic { .. }
                | M::MuteAll { .. }
                | M::UnmuteAll
                | M::RequestVideo { .. }
                | M::RequestAllVideo
                | M::RequestUnmute { .. }
                | M::RequestAllUnmute
                | M::LowerHand { .. }
                | M::RemoveParticipant { .. }
                | M::LockMeeting { .. }
                | M::MakeHost { .. }
        );
        if host_only && !is_host {
            out.error(conn, ErrorCode::NotHost, "only the host may do that");
            return;
        }
        // Every command with a target needs one in this meeting.
        if let Some(target) = target_of(&message) {
            if meeting.participant(target).is_none() {
                out.error(
                    conn,
                    ErrorCode::NoSuchParticipant,
                    format!("{target} is not in this meeting"),
                );
                return;
            }
        }

        match message {
            M::Chat { message, to } => {
                let Some(me) = meeting.participant_mut(client_id) else {
                    return;
                };
                if !me.chat_allowance.try_send(now, message.len()) {
                    out.error(
                        conn,
                        ErrorCode::RateLimited,
                        "too much chat: at most 50 messages or 256 KiB a second (bursts of 200 or 2 MiB); this one was not sent",
                    );
                    return;
                }
                let line = ChatLine {
                    client_id: client_id.to_string(),
                    username,
                    message,
                    timestamp: unix_now,
                    private: to.is_some(),
                };
                match to {
                    Some(to) => match meeting.participant(&to) {
                        Some(target) => out.send(target.conn, &ServerMessage::Chat(line)),
                        None => out.error(
                            conn,
                            ErrorCode::NoSuchParticipant,
                            format!("{to} is not in this meeting"),
                        ),
                    },
                    None => {
                        out.broadcast(meeting, &ServerMessage::Chat(line.clone()), Some(client_id));
                        meeting.remember_chat(line);
                    }
                }
            }
            M::VideoState { state } => {
                if let Some(me) = meeting.participant_mut(client_id) {
                    me.video = state == lanmeet_common::message::VideoState::Started;
                }
                let msg = ServerMessage::ParticipantVideoState {
                    client_id: client_id.to_string(),
                    state,
                };
                out.broadcast(meeting, &msg, Some(client_id));
            }
            M::AudioState { muted } => {
                let Some(me) = meeting.participant_mut(client_id) else {
                    return;
                };
                if !muted && me.mic_locked {
                    out.error(
                        conn,
                        ErrorCode::MicLocked,
                        "the host has locked your microphone",
                    );
                    return;
                }
                me.muted = muted;
                if muted {
                    me.audio_queue.clear();
                } else {
                    me.muted_by_all = false;
                }
                let msg = ServerMessage::ParticipantAudioState {
                    client_id: client_id.to_string(),
                    muted,
                };
                out.broadcast(meeting, &msg, None);
            }
            M::RaiseHand { state } => set_hand(meeting, out, client_id, state, unix_now),
            M::EmojiReaction { emoji } => {
                let msg = ServerMessage::EmojiReaction {
                    client_id: client_id.to_string(),
                    username,
                    emoji,
                };
                out.broadcast(meeting, &msg, None);
            }
            M::MuteParticipant { target_client_id } => {
                host_mute(meeting, out, &target_client_id);
            }
            M::UnmuteParticipant { target_client_id } => {
                host_unmute(meeting, out, &target_client_id);
            }
            M::LockMic { target_client_id } => set_mic_lock(meeting, out, &target_client_id, true),
            M::UnlockMic { target_client_id } => {
                set_mic_lock(meeting, out, &target_client_id, false)
            }
            M::MuteAll { lock } => {
                meeting.mute_all = Some(MuteAll { lock });
                let targets: Vec<String> = others(meeting, client_id);
                for target in &targets {
                    // Mark only what mute_all itself changes, so that
                    // unmute_all lifts exactly that: someone already muted
                    // (by itself or by a host mute) stays muted after it.
                    let was_muted = meeting.participant(target).is_some_and(|p| p.muted);
                    host_mute(meeting, out, target);
                    if let Some(p) = meeting.participant_mut(target) {
                        p.muted_by_all |= !was_muted;
                    }
                    if lock {
                        let already = meeting.participant(target).is_some_and(|p| p.mic_locked);
                        if !already {
                            set_mic_lock(meeting, out, target, true);
                            if let Some(p) = meeting.participant_mut(target) {
                                p.locked_by_all = true;
                            }
                        }
                    }
                }
            }
            M::UnmuteAll => {
                meeting.mute_all = None;
                let targets: Vec<String> = meeting
                    .participants
                    .iter()
                    .filter(|p| p.muted_by_all || p.locked_by_all)
                    .map(|p| p.client_id.clone())
                    .collect();
                for target in &targets {
                    let Some(p) = meeting.participant_mut(target) else {
                        continue;
                    };
                    let (unlock, unmute) =
                        (p.locked_by_all && p.mic_locked, p.muted_by_all && p.muted);
                    p.locked_by_all = false;
                    p.muted_by_all = false;
                    if unlock {
                        set_mic_lock(meeting, out, target, false);
                    }
                    if unmute {
                        host_unmute(meeting, out, target);
                    }
                }
            }
            M::RequestVideo { target_client_id } => {
                if let Some(t) = meeting.participant(&target_client_id) {
                    out.send(
                        t.conn,
                        &ServerMessage::VideoRequested {
                            by: client_id.to_string(),
                        },
                    );
                }
            }
            M::RequestAllVideo => {
                let msg = ServerMessage::VideoRequested {
                    by: client_id.to_string(),
                };
                out.broadcast(meeting, &msg, Some(client_id));
            }
            M::RequestUnmute { target_client_id } => {
                if let Some(t) = meeting.participant(&target_client_id) {
                    out.send(
                        t.conn,
                        &ServerMessage::UnmuteRequested {
                            by: client_id.to_string(),
                        },
                    );
                }
            }
            M::RequestAllUnmute => {
                let msg = ServerMessage::UnmuteRequested {
                    by: client_id.to_string(),
                };
                out.broadcast(meeting, &msg, Some(client_id));
            }
            M::LowerHand { target_client_id } => {
                set_hand(meeting, out, &target_client_id, false, unix_now);
            }
            M::RemoveParticipant { target_client_id } => {
                if target_client_id == client_id {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        "the host cannot remove itself; use leave",
                    );
                    return;
                }
                let Some(target) = meeting.participant(&target_client_id) else {
                    return;
                };
                let target_conn = target.conn;
                out.send(
                    target_conn,
                    &ServerMessage::Removed {
                        by: client_id.to_string(),
                    },
                );
                out.log(format!(
                    "meeting {code}: {client_id} removed {target_client_id}"
                ));
                self.leave(target_conn, LeaveReason::Removed, false);
                self.out.close(target_conn);
            }
            M::LockMeeting { locked } => {
                meeting.locked = locked;
                out.broadcast(meeting, &ServerMessage::MeetingLocked { locked }, None);
            }
            M::MakeHost { target_client_id } => {
                meeting.host_handovers += 1;
                for p in &mut meeting.participants {
                    p.is_host = p.client_id == target_client_id;
                }
                let msg = ServerMessage::HostChanged {
                    client_id: target_client_id,
                };
                out.broadcast(meeting, &msg, None);
            }
            // Handled by the caller before dispatch.
            M::CreateMeeting { .. }
            | M::JoinMeeting { .. }
            | M::ResumeMeeting { .. }
            | M::Ping
            | M::Leave
            | M::FileOffer { .. }
            | M::FileRequest { .. }
            | M::FileChunk { .. }
            | M::FileAck { .. }
            | M::FileEnd { .. }
            | M::FileCancel { .. }
            | M::FileUnoffer { .. }
            | M::PollCreate { .. }
            | M::PollVote { .. }
            | M::PollClose { .. }
            | M::AttendanceRequest
            | M::Spotlight { .. }
            | M::RequestScreenShare
            | M::StopScreenShare
            | M::ScreenFrame { .. }
            | M::ScreenPatch { .. } => {}
            // Section 11: handled by the caller before dispatch.
            M::VideoSubscribe { .. } => {}
        }
    }
}

/// The `target_client_id` of a host command, if it has one.
fn target_of(message: &ClientMessage) -> Option<&str> {
    use ClientMessage as M;
    match message {
        M::MuteParticipant { target_client_id }
        | M::UnmuteParticipant { target_client_id }
        | M::LockMic { target_client_id }
        | M::UnlockMic { target_client_id }
        | M::RequestVideo { target_client_id }
        | M::RequestUnmute { target_client_id }
        | M::LowerHand { target_client_id }
        | M::RemoveParticipant { target_client_id }
        | M::MakeHost { target_client_id } => Some(target_client_id),
        _ => None,
    }
}

fn others(meeting: &Meeting, client_id: &str) -> Vec<String> {
    meeting
        .participants
        .iter()
        .filter(|p| p.client_id != client_id)
        .map(|p| p.client_id.clone())
        .collect()
}

fn set_hand(meeting: &mut Meeting, out: &mut Outbox, client_id: &str, state: bool, unix_now: f64) {
    let stamp = if state {
        Some(meeting.raise_stamp(unix_now))
    } else {
        None
    };
    let Some(p) = meeting.participant_mut(client_id) else {
        return;
    };
    // Raising a raised hand keeps its place in the queue.
    p.raised_at = if state { p.raised_at.or(stamp) } else { None };
    let msg = ServerMessage::ParticipantHandState {
        client_id: client_id.to_string(),
        username: p.username.clone(),
        state,
        raised_at: p.raised_at,
    };
    out.broadcast(meeting, &msg, None);
}

fn host_mute(meeting: &mut Meeting, out: &mut Outbox, target: &str) {
    let Some(p) = meeting.participant_mut(target) else {
        return;
    };
    p.muted = true;
    p.audio_queue.clear();
    out.send(p.conn, &ServerMessage::MutedByHost);
    let msg = ServerMessage::ParticipantMuted {
        client_id: target.to_string(),
    };
    out.broadcast(meeting, &msg, None);
}

fn host_unmute(meeting: &mut Meeting, out: &mut Outbox, target: &str) {
    let Some(p) = meeting.participant_mut(target) else {
        return;
    };
    p.muted = false;
    p.muted_by_all = false;
    out.send(p.conn, &ServerMessage::UnmutedByHost);
    let msg = ServerMessage::ParticipantUnmuted {
        client_id: target.to_string(),
    };
    out.broadcast(meeting, &msg, None);
}

fn set_mic_lock(meeting: &mut Meeting, out: &mut Outbox, target: &str, locked: bool) {
    let Some(p) = meeting.participant_mut(target) else {
        return;
    };
    p.mic_locked = locked;
    if !locked {
        p.locked_by_all = false;
    }
    let (to_target, to_all) = if locked {
        (
            ServerMessage::MicLocked,
            ServerMessage::ParticipantMicLocked {
                client_id: target.to_string(),
            },
        )
    } else {
        (
            ServerMessage::MicUnlocked,
            ServerMessage::ParticipantMicUnlocked {
                client_id: target.to_string(),
            },
        )
    };
    out.send(p.conn, &to_target);
    out.broadcast(meeting, &to_all, None);
}
