//! Spotlight (PROTOCOL.md section 17): the host puts one participant on
//! everyone's stage.
//!
//! ```text
//!  host: spotlight{client_id}      -> spotlight_changed{client_id} to all (named "spotlight")
//!  host: spotlight{client_id:null} -> spotlight_changed{client_id:null}
//!  the spotlighted one leaves      -> spotlight_changed{client_id:null}
//!  a joiner                        -> "spotlight" in its join reply
//! ```

use lanmeet_common::features::Feature;
use lanmeet_common::message::{ErrorCode, ServerMessage};

use super::meeting::Meeting;
use super::{ConnId, Core, Outbox};

impl Core {
    /// `spotlight{client_id}` from `client_id`.
    pub(super) fn on_spotlight(
        &mut self,
        conn: ConnId,
        client_id: &str,
        code: &str,
        target: Option<String>,
    ) {
        let Some(meeting) = self.meetings.get_mut(code) else {
            return;
        };
        if !meeting.participant(client_id).is_some_and(|p| p.is_host) {
            self.out
                .error(conn, ErrorCode::NotHost, "only the host may do that");
            return;
        }
        if let Some(t) = &target {
            if meeting.participant(t).is_none() {
                self.out.error(
                    conn,
                    ErrorCode::NoSuchParticipant,
                    format!("{t} is not in this meeting"),
                );
                return;
            }
        }
        self.out.log(format!(
            "meeting {code}: spotlight on {}",
            target.as_deref().unwrap_or("nobody")
        ));
        set_spotlight(meeting, &mut self.out, target);
    }
}

impl Core {
    /// `client_id` left meeting `code`: a spotlight on it is cleared.
    pub(super) fn clear_spotlight_of(&mut self, code: &str, client_id: &str) {
        if let Some(meeting) = self.meetings.get_mut(code) {
            if meeting.spotlight.as_deref() == Some(client_id) {
                set_spotlight(meeting, &mut self.out, None);
            }
        }
    }
}

/// Sets the meeting's spotlight and tells everyone who named the feature.
pub(super) fn set_spotlight(meeting: &mut Meeting, out: &mut Outbox, target: Option<String>) {
    meeting.spotlight = target.clone();
    let msg = ServerMessage::SpotlightChanged { client_id: target };
    out.broadcast_named(meeting, Feature::Spotlight, &msg);
}
