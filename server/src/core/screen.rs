//! Screen sharing: who presents, keyframes (section 7's `screen_frame`)
//! and, for those who named `"screen_patches"`, the patches of what changed
//! in between (section 19).
//!
//! ```text
//!  presenter                      server (this file)                viewers
//!  screen_frame (keyframe) -->  keep it, forget kept patches,  --> everyone else
//!                               viewers waiting: synced again      (droppable Send)
//!  screen_patch            -->  check rects inside keyframe,   --> viewers that named the
//!                               keep it for late joiners           feature and are in sync
//!                               (<= 4 MiB, else ask keyframe)      (Output::ScreenPatch)
//!                               a version 1 viewer present?    --> keyframe request, <= 1/s
//!  <-- screen_keyframe_request  (at most one per 500 ms; one held back is sent when
//!                               the 500 ms are over, from on_timer)
//! ```
//!
//! A patch cannot be dropped like a keyframe, so a slow viewer is found
//! where only the shell can see it: in the viewer's outbound queue. The
//! core hands each patch over as [`super::Output::ScreenPatch`]; the queue
//! (`crate::outbound`) either takes it or, when it still holds screen data
//! that has not begun to go out, drops that data and the patch and says
//! so. The shell then tells the core with [`Core::on_screen_viewer_behind`]:
//! the core sends that viewer nothing more of the screen until the next
//! keyframe and asks the presenter for one. The core keeps its one output
//! path; the queue never decides anything about the meeting.
//!
//! A late joiner gets the last keyframe and every patch kept since
//! ([`super::Output::ScreenPatch`] with `catch_up`, queued as a run without
//! the slow-viewer check). When more than 4 MiB of patches came since the
//! keyframe the server stops keeping them and asks for a keyframe; a
//! viewer joining before it comes waits for it.

use std::collections::HashSet;
use std::rc::Rc;
use std::time::{Duration, Instant};

use lanmeet_common::features::Feature;
use lanmeet_common::framing;
use lanmeet_common::limits::MAX_KEPT_SCREEN_PATCH_BYTES;
use lanmeet_common::message::{ClientMessage, ErrorCode, ServerMessage};

use super::meeting::{Meeting, Participant};
use super::{ConnId, ConnState, Core, Outbox};

/// At most one keyframe request to the presenter per this long.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// While a viewer without the feature is present and patches arrive, a
/// keyframe is asked for this often, so it sees changes within a second.
const VERSION1_KEYFRAME_INTERVAL: Duration = Duration::from_secs(1);

/// One meeting's shared screen, beyond who presents.
#[derive(Default)]
pub struct ScreenState {
    /// The last keyframe, framed for sending, for late joiners.
    pub keyframe: Option<Rc<[u8]>>,
    /// Its width and height: patches must lie inside.
    keyframe_size: Option<(u32, u32)>,
    /// The patches since the keyframe, framed, in order.
    kept: Vec<Rc<[u8]>>,
    kept_bytes: usize,
    /// Patches came past the 4 MiB that are kept: the kept ones are
    /// incomplete until the next keyframe.
    kept_incomplete: bool,
    /// Viewers that get nothing of the screen until the next keyframe.
    waiting: HashSet<String>,
    /// When the presenter was last asked for a keyframe.
    last_request: Option<Instant>,
    /// A request held back by the 500 ms limit, sent when it is over.
    request_pending: bool,
    /// When a keyframe was last asked for on behalf of version 1 viewers.
    last_version1_request: Option<Instant>,
}

impl ScreenState {
    /// The share ended: forget everything about it.
    pub fn clear(&mut self) {
        *self = ScreenState::default();
    }

    /// A participant left.
    pub fn forget(&mut self, client_id: &str) {
        self.waiting.remove(client_id);
    }
}

fn named_patches(p: &Participant) -> bool {
    p.features
        .is_some_and(|f| f.contains(Feature::ScreenPatches))
}

impl Core {
    /// `request_screen_share`, `stop_screen_share`, `screen_frame` and
    /// `screen_patch` from a participant of meeting `code`.
    pub(super) fn on_screen_message(
        &mut self,
        conn: ConnId,
        client_id: &str,
        code: &str,
        message: ClientMessage,
        now: Instant,
    ) {
        let Some(meeting) = self.meetings.get_mut(code) else {
            return;
        };
        let out = &mut self.out;
        let is_host = meeting.participant(client_id).is_some_and(|p| p.is_host);
        match message {
            ClientMessage::RequestScreenShare => match &meeting.presenter {
                Some(current) => {
                    let msg = ServerMessage::ScreenShareDenied {
                        current_presenter: current.clone(),
                    };
                    out.send(conn, &msg);
                }
                None => {
                    meeting.presenter = Some(client_id.to_string());
                    meeting.screen.clear();
                    out.log(format!("meeting {code}: {client_id} presents"));
                    let msg = ServerMessage::ScreenShareStarted {
                        presenter_id: client_id.to_string(),
                    };
                    out.broadcast(meeting, &msg, None);
                }
            },
            ClientMessage::StopScreenShare => {
                let Some(presenter) = meeting.presenter.clone() else {
                    return;
                };
                if presenter != client_id && !is_host {
                    out.error(
                        conn,
                        ErrorCode::NotHost,
                        "only the presenter or the host may stop the share",
                    );
                    return;
                }
                end_share(meeting, out, presenter);
            }
            ClientMessage::ScreenFrame {
                frame_data,
                width,
                height,
            } => {
                if meeting.presenter.as_deref() != Some(client_id) {
                    out.error(
                        conn,
                        ErrorCode::NotPresenter,
                        "only the presenter sends screen frames",
                    );
                    return;
                }
                let msg = ServerMessage::ScreenFrame {
                    presenter_id: client_id.to_string(),
                    frame_data,
                    width,
                    height,
                };
                let frame: Rc<[u8]> = framing::encode_json(&msg).into();
                out.broadcast_frame(meeting, frame.clone(), Some(client_id), true);
                let screen = &mut meeting.screen;
                screen.keyframe = Some(frame);
                screen.keyframe_size = Some((width, height));
                screen.kept.clear();
                screen.kept_bytes = 0;
                screen.kept_incomplete = false;
                screen.waiting.clear();
                screen.request_pending = false;
            }
            ClientMessage::ScreenPatch { patches } => {
                if meeting.presenter.as_deref() != Some(client_id) {
                    out.error(
                        conn,
                        ErrorCode::NotPresenter,
                        "only the presenter sends screen patches",
                    );
                    return;
                }
                if !meeting.participant(client_id).is_some_and(named_patches) {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        "screen_patch needs the \"screen_patches\" feature named at join",
                    );
                    return;
                }
                let Some((width, height)) = meeting.screen.keyframe_size else {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        "screen_patch before the first screen_frame",
                    );
                    return;
                };
                if let Some(p) = patches.iter().find(|p| !p.fits_in(width, height)) {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        format!(
                            "patch {}x{} at ({}, {}) is outside the {width}x{height} keyframe",
                            p.width, p.height, p.x, p.y
                        ),
                    );
                    return;
                }
                let msg = ServerMessage::ScreenPatch {
                    presenter_id: client_id.to_string(),
                    patches,
                };
                let frame: Rc<[u8]> = framing::encode_json(&msg).into();
                let screen = &meeting.screen;
                let mut version1_viewer = false;
                for p in &meeting.participants {
                    if p.client_id == client_id {
                        continue;
                    }
                    if !named_patches(p) {
                        version1_viewer = true;
                    } else if !screen.waiting.contains(&p.client_id) {
                        out.screen_patch(p.conn, frame.clone(), false);
                    }
                }
                let presenter_conn = conn;
                let screen = &mut meeting.screen;
                if !screen.kept_incomplete {
                    screen.kept_bytes += frame.len();
                    screen.kept.push(frame);
                    if screen.kept_bytes > MAX_KEPT_SCREEN_PATCH_BYTES {
                        screen.kept.clear();
                        screen.kept_bytes = 0;
                        screen.kept_incomplete = true;
                        out.log(format!(
                            "meeting {code}: over 4 MiB of patches since the keyframe, asking for one"
                        ));
                        request_keyframe(screen, out, presenter_conn, now);
                    }
                }
                let due = screen
                    .last_version1_request
                    .is_none_or(|t| now.saturating_duration_since(t) >= VERSION1_KEYFRAME_INTERVAL);
                if version1_viewer && due {
                    screen.last_version1_request = Some(now);
                    request_keyframe(screen, out, presenter_conn, now);
                }
            }
            _ => {}
        }
    }

    /// The shell found `conn`'s queue still holding screen data that had
    /// not begun to go out when a patch came, and dropped both: send it
    /// nothing more of the screen until the next keyframe, and ask the
    /// presenter for one.
    pub fn on_screen_viewer_behind(&mut self, conn: ConnId, now: Instant) {
        self.now = self.now.max(now);
        let Some(ConnState::Joined { client_id, meeting }) =
            self.conns.get(&conn).map(|c| &c.state)
        else {
            return;
        };
        let Some(m) = self.meetings.get_mut(meeting) else {
            return;
        };
        let Some(presenter_conn) = m
            .presenter
            .as_deref()
            .and_then(|id| m.participant(id))
            .map(|p| p.conn)
        else {
            return;
        };
        self.out.log(format!(
            "meeting {meeting}: {client_id} fell behind on the screen; waiting for a keyframe"
        ));
        m.screen.waiting.insert(client_id.clone());
        request_keyframe(&mut m.screen, &mut self.out, presenter_conn, now);
    }

    /// Sends a keyframe request held back by the 500 ms limit once the
    /// limit allows it (called from `on_timer`).
    pub(super) fn screen_timer(&mut self, now: Instant) {
        for meeting in self.meetings.values_mut() {
            if !meeting.screen.request_pending {
                continue;
            }
            let Some(conn) = meeting
                .presenter
                .as_deref()
                .and_then(|id| meeting.participant(id))
                .map(|p| p.conn)
            else {
                meeting.screen.request_pending = false;
                continue;
            };
            request_keyframe(&mut meeting.screen, &mut self.out, conn, now);
        }
    }

    /// What a participant that just joined (or resumed) on `conn` gets of
    /// the screen: the last keyframe and, when it named the feature, the
    /// patches since; a version 1 viewer joining after patches gets a
    /// fresh keyframe soon. A presenter that resumed is asked for a
    /// keyframe, since patches may have been lost with its connection.
    pub(super) fn screen_to_joiner(&mut self, conn: ConnId, code: &str, client_id: &str) {
        let now = self.now;
        let Some(meeting) = self.meetings.get_mut(code) else {
            return;
        };
        let Some(presenter_conn) = meeting
            .presenter
            .as_deref()
            .and_then(|id| meeting.participant(id))
            .filter(|p| named_patches(p))
            .map(|p| p.conn)
        else {
            // No presenter, or one without patches: version 1 rules.
            if meeting.presenter.as_deref() != Some(client_id) {
                if let Some(frame) = &meeting.screen.keyframe {
                    self.out.send_frame(conn, frame.clone(), true);
                }
            }
            return;
        };
        if presenter_conn == conn {
            request_keyframe(&mut meeting.screen, &mut self.out, conn, now);
            return;
        }
        let screen = &mut meeting.screen;
        let Some(keyframe) = &screen.keyframe else {
            return;
        };
        self.out.send_frame(conn, keyframe.clone(), true);
        let joiner_named = meeting.participant(client_id).is_some_and(named_patches);
        let screen = &mut meeting.screen;
        if joiner_named && !screen.kept_incomplete {
            for patch in &screen.kept {
                self.out.screen_patch(conn, patch.clone(), true);
            }
        } else if joiner_named {
            screen.waiting.insert(client_id.to_string());
            request_keyframe(screen, &mut self.out, presenter_conn, now);
        } else if screen.kept_bytes > 0 || screen.kept_incomplete {
            // The keyframe is out of date for a viewer that takes no patches.
            request_keyframe(screen, &mut self.out, presenter_conn, now);
        }
    }
}

/// Ends the share of `presenter`: everyone is told.
pub(super) fn end_share(meeting: &mut Meeting, out: &mut Outbox, presenter: String) {
    meeting.presenter = None;
    meeting.screen.clear();
    let msg = ServerMessage::ScreenShareStopped {
        presenter_id: presenter,
    };
    out.broadcast(meeting, &msg, None);
}

/// Asks the presenter on `conn` for a keyframe, at most once per 500 ms;
/// a request inside the interval is held and sent when it ends.
fn request_keyframe(screen: &mut ScreenState, out: &mut Outbox, conn: ConnId, now: Instant) {
    let allowed = screen
        .last_request
        .is_none_or(|t| now.saturating_duration_since(t) >= KEYFRAME_REQUEST_INTERVAL);
    if allowed {
        screen.last_request = Some(now);
        screen.request_pending = false;
        out.send(conn, &ServerMessage::ScreenKeyframeRequest);
    } else {
        screen.request_pending = true;
    }
}
