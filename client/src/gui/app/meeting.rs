//! The meeting's life in the window: joining (off the UI thread),
//! starting the media the user chose, every session event, and leaving.
//!
//! ```text
//!  JoinSubmit --> join thread: Session::connect --> Connected --> start_media
//!  Session(event) --> session_event: notices, prompts, refreshes
//!  Leave / Disconnected --> the session is dropped on a thread --> join form
//! ```

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use fltk::prelude::*;
use lanmeet_client::log::Log;
use lanmeet_client::{Config, Event, JoinAction, Session, TransferDirection};
use lanmeet_common::message::LeaveReason;
use lanmeet_common::ErrorCode;

use super::{default_download_dir, log_dir, move_file, App, REACTION_TIME};
use crate::gui::capture;
use crate::gui::dialogs::{self, Prompt};
use crate::gui::grid::frame_identity;
use crate::gui::join::{join_error_text, LastJoin};
use crate::gui::layout;
use crate::gui::message::Message;

impl App {
    pub(super) fn submit_join(&mut self) {
        if self.session.is_some() {
            return;
        }
        if self.leaving {
            self.join
                .show_error("Still leaving the last meeting: try again in a moment.");
            return;
        }
        let req = match self.join.request() {
            Ok(r) => r,
            Err(text) => {
                self.join.show_error(&text);
                return;
            }
        };
        self.join
            .set_busy(true, &format!("Connecting to {}:{}...", req.host, req.port));
        let mut config = Config::create(&req.host, req.port, &req.name);
        config.action = req.action.clone();
        config.password = req.password.clone();
        config.title = req.title.clone();
        config.listed = req.listed;
        config.video.width = self.settings.video_size.0;
        config.video.height = self.settings.video_size.1;
        config.video.fps = self.settings.fps;
        config.video.quality = self.settings.quality;
        config.voice = self.settings.voice;
        config.download_dir = self
            .options
            .download_dir
            .clone()
            .unwrap_or_else(default_download_dir);
        if let Some(dir) = log_dir() {
            let stamp = lanmeet_common::time::file_stamp(SystemTime::now());
            if let Ok(log) = Log::to_file(&dir.join(format!("{stamp}.log"))) {
                config.log = log;
            }
        }
        self.request = Some(req.clone());
        self.join_number += 1;
        let join_number = self.join_number;
        let sender = self.sender;
        let spawned = std::thread::Builder::new()
            .name("lanmeet-join".into())
            .spawn(move || match Session::connect(config) {
                Ok((session, events)) => {
                    sender.send(Message::Connected(join_number, Arc::new(session)));
                    // The event forwarder: every event but the per-frame
                    // ones (the stage pulls frames on its timer). Ends after
                    // Disconnected, the last event.
                    for event in events {
                        if !matches!(event, Event::VideoFrame { .. } | Event::ScreenFrame { .. }) {
                            sender.send(Message::Session(join_number, event));
                        }
                    }
                }
                Err(e) => sender.send(Message::JoinFailed(join_error_text(&e, &req))),
            });
        if let Err(e) = spawned {
            self.join
                .show_error(&format!("Cannot start the connection: {e}"));
        }
    }

    pub(super) fn connected(&mut self, session: Arc<Session>) {
        self.state = session.state();
        let req = self.request.clone();
        self.session = Some(session);
        self.join.set_busy(false, "");
        self.join.window.hide();
        self.camera_on = false;
        self.mic_running = false;
        self.share_pending = false;
        self.reactions.clear();
        self.stale_frames.clear();
        self.shown_layout = None;
        self.unread = 0;
        self.main.sidebar.set_unread(0);
        {
            let mut model = self.main.stage.model.borrow_mut();
            model.images.clear();
            model.screen = None;
        }
        if let (Some(req), Some(path)) = (&req, LastJoin::path()) {
            let last = LastJoin {
                host: req.host.clone(),
                port: req.port,
                name: req.name.clone(),
            };
            let _ = last.save(&path);
        }
        let code = self.state.meeting_code.clone();
        self.main
            .window
            .set_label(&format!("lanmeet - meeting {code}"));
        self.main.window.show();
        self.talk.set_enabled(self.settings.talk_key.is_some());

        let (camera, microphone) = req.map_or((true, true), |r| (r.camera, r.microphone));
        self.start_media(camera, microphone);
        self.refresh_all();
        self.classroom_joined();
        match self.options.tab.as_deref() {
            Some("people") => self.main.sidebar.show_people(),
            Some("files") => self.main.sidebar.show_files(),
            _ => self.main.sidebar.show_chat(),
        }
        let created = self
            .request
            .as_ref()
            .is_some_and(|r| r.action == JoinAction::Create);
        if created {
            self.notice(&format!(
                "Meeting {code} is ready. Give the code to the others (Copy, below)."
            ));
        }
        if let Some(text) = self.autochat.take() {
            // The same path as typing and pressing Send.
            self.main.sidebar.chat_input.set_value(&text);
            self.sender.send(Message::SendChat);
        }
    }

    pub(super) fn start_media(&mut self, camera: bool, microphone: bool) {
        let Some(session) = self.session.clone() else {
            return;
        };
        let mut problems = Vec::new();
        if camera && self.settings.camera != capture::Choice::Off {
            match capture::open_camera(
                &self.settings.camera,
                self.settings.video_size,
                self.settings.fps,
                &self.self_view,
            ) {
                Ok(src) => match session.start_video(src) {
                    Ok(()) => self.camera_on = true,
                    Err(e) => problems.push(format!("camera: {e}")),
                },
                Err(e) => problems.push(format!("camera: {e}")),
            }
        }
        // The microphone runs even while muted (as a real one would), so
        // unmuting is instant; without one we show as muted.
        if self.settings.microphone != capture::Choice::Off {
            match capture::open_microphone(
                &self.settings.microphone,
                &self
                    .state
                    .me()
                    .map(|p| p.username.clone())
                    .unwrap_or_default(),
                &self.mic_level,
                &self.talk,
            ) {
                Ok(src) => match session.start_audio(src) {
                    Ok(()) => self.mic_running = true,
                    Err(e) => problems.push(format!("microphone: {e}")),
                },
                Err(e) => problems.push(format!("microphone: {e}")),
            }
        }
        if !microphone || !self.mic_running {
            let _ = session.set_muted(true);
        }
        if self.settings.speaker != capture::Choice::Off {
            match capture::open_speaker(&self.settings.speaker, &self.mix_level) {
                Ok(sink) => {
                    if let Err(e) = session.start_playback(sink) {
                        problems.push(format!("speaker: {e}"));
                    }
                }
                Err(e) => problems.push(format!("speaker: {e}")),
            }
        }
        if !problems.is_empty() {
            self.notice(&problems.join("; "));
        }
    }

    pub(super) fn leave(&mut self) {
        if !self.join.window.shown() && !self.main.window.shown() {
            self.quit_after_leave = true;
        }
        let Some(session) = self.session.take() else {
            if self.quit_after_leave {
                self.app.quit();
            }
            return;
        };
        self.leaving = true;
        if let Some(mut p) = self.prompt.take() {
            p.close();
        }
        self.classroom_left();
        let sender = self.sender;
        // Leaving waits for the session's threads (up to about 2 s): not on
        // the UI thread. Dropping the last handle leaves the meeting.
        std::thread::spawn(move || {
            drop(session);
            sender.send(Message::LeaveFinished);
        });
        self.camera_on = false;
        self.self_view.clear();
        self.main.window.hide();
        self.join.set_busy(false, "You left the meeting.");
        if !self.quit_after_leave {
            self.join.window.show();
        }
    }

    // ----- session events -----

    pub(super) fn name_of(&self, client_id: &str) -> String {
        if client_id == self.state.my_id {
            return "You".into();
        }
        self.state
            .participant(client_id)
            .map_or_else(|| "Someone".into(), |p| p.username.clone())
    }

    pub(super) fn refresh_state(&mut self) {
        if let Some(s) = &self.session {
            self.state = s.state();
        }
    }

    pub(super) fn session_event(&mut self, event: Event) {
        // The session applied the event to its state before sending it.
        let before = self.state.clone();
        self.refresh_state();
        let me = self.state.my_id.clone();
        match event {
            Event::Joined { .. } | Event::Hand { .. } | Event::Muted { .. } => {
                self.refresh_people();
                self.refresh_bars();
            }
            Event::ParticipantJoined { username, .. } => {
                self.notice(&format!("{username} joined"));
                self.refresh_people();
                self.refresh_bars();
            }
            Event::ParticipantLeft {
                client_id,
                username,
                reason,
            } => {
                let how = match reason {
                    LeaveReason::Removed => "was removed",
                    LeaveReason::Left => "left",
                    _ => "dropped out",
                };
                self.notice(&format!("{username} {how}"));
                self.main.stage.model.borrow_mut().images.remove(&client_id);
                self.refresh_people();
                self.refresh_files();
                self.refresh_bars();
            }
            Event::HostChanged { client_id } => {
                if client_id == me {
                    self.notice("You are now the host: the People tab has host controls.");
                } else {
                    let name = self.name_of(&client_id);
                    self.notice(&format!("{name} is now the host"));
                }
                self.refresh_people();
            }
            Event::Chat(line) => {
                self.refresh_chat();
                if !self.main.sidebar.chat_showing() {
                    self.unread += 1;
                    self.main.sidebar.set_unread(self.unread);
                }
                if !self.sidebar_shown {
                    self.notice(&format!("{}: {}", line.username, line.message));
                }
            }
            Event::VideoState { client_id, on } => {
                if !on {
                    self.main.stage.model.borrow_mut().images.remove(&client_id);
                    if let Some(frame) = self
                        .session
                        .as_ref()
                        .and_then(|s| s.latest_video_frame(&client_id))
                    {
                        self.stale_frames.insert(client_id, frame_identity(&frame));
                    }
                }
                self.refresh_people();
            }
            Event::MicLock { client_id, locked } => {
                if client_id == me {
                    self.notice(if locked {
                        "The host locked your microphone"
                    } else {
                        "The host unlocked your microphone"
                    });
                }
                self.refresh_people();
                self.refresh_bars();
            }
            Event::MutedByHost { muted } => {
                self.notice(if muted {
                    "The host muted you"
                } else {
                    "The host unmuted you"
                });
                self.refresh_people();
                self.refresh_bars();
            }
            Event::Reaction {
                client_id, emoji, ..
            } => {
                self.reactions
                    .insert(client_id, (emoji, Instant::now() + REACTION_TIME));
            }
            Event::VideoRequested { by } => {
                let who = self.name_of(&by);
                if self.catalog.cameras.missing.is_some() {
                    self.notice(&format!(
                        "{who} asks you to start video, but there is no camera"
                    ));
                } else if !self.camera_on {
                    let prompt = Prompt::ask(
                        "Start your video?",
                        &format!("{who} (host) asks you to turn on your camera."),
                        ("Start video", Some(Message::StartVideoAsAsked)),
                        "Not now",
                        dialogs::area_of(&self.main.window),
                        self.sender,
                    );
                    self.replace_prompt(prompt);
                }
            }
            Event::UnmuteRequested { by } => {
                let who = self.name_of(&by);
                if !self.mic_running {
                    self.notice(&format!(
                        "{who} asks you to unmute, but there is no microphone"
                    ));
                } else if self.session.as_ref().is_some_and(|s| s.is_muted()) {
                    let prompt = Prompt::ask(
                        "Unmute?",
                        &format!("{who} (host) asks you to unmute your microphone."),
                        ("Unmute", Some(Message::UnmuteAsAsked)),
                        "Stay muted",
                        dialogs::area_of(&self.main.window),
                        self.sender,
                    );
                    self.replace_prompt(prompt);
                }
            }
            Event::MeetingLocked { locked } => {
                self.notice(if locked {
                    "The meeting is locked: nobody new can join"
                } else {
                    "The meeting is unlocked"
                });
                self.refresh_people();
                self.refresh_bars();
            }
            Event::ScreenShareStarted { presenter_id } => {
                if presenter_id == me {
                    self.share_pending = false;
                    self.notice("You are presenting your screen");
                } else {
                    let name = self.name_of(&presenter_id);
                    self.notice(&format!("{name} is presenting"));
                }
                self.main.stage.model.borrow_mut().screen = None;
                self.refresh_bars();
            }
            Event::ScreenShareDenied { current_presenter } => {
                self.share_pending = false;
                let name = self.name_of(&current_presenter);
                self.notice(&format!(
                    "{name} is presenting already: one screen at a time"
                ));
                if let Some(s) = &self.session {
                    let _ = s.stop_screen_share();
                }
                self.refresh_bars();
            }
            Event::ScreenShareStopped { presenter_id } => {
                if before.presenter.as_deref() == Some(presenter_id.as_str()) && presenter_id != me
                {
                    let name = self.name_of(&presenter_id);
                    self.notice(&format!("{name} stopped presenting"));
                }
                self.main.stage.model.borrow_mut().screen = None;
                self.refresh_bars();
            }
            Event::MediaPath { .. } => self.refresh_bars(),
            Event::FileOffered(offer) => {
                if offer.sender_id != me {
                    self.notice(&format!(
                        "{} offers {} ({})",
                        offer.username,
                        offer.filename,
                        layout::format_size(offer.filesize)
                    ));
                }
                self.refresh_files();
            }
            Event::FileUnavailable { .. } => self.refresh_files(),
            Event::TransferStarted {
                transfer_id,
                direction,
                peer_id,
                file_id,
                ..
            } => {
                if direction == TransferDirection::Download {
                    if let Some(dest) = self.save_as.remove(&(peer_id, file_id)) {
                        self.destinations.insert(transfer_id, dest);
                    }
                }
                self.refresh_files();
            }
            Event::TransferProgress {
                transfer_id, rate, ..
            } => {
                self.rates.insert(transfer_id.clone(), rate);
                let rate = Some(rate);
                if let Some(t) = self.state.transfer(&transfer_id).cloned() {
                    if !self.main.sidebar.update_progress(&t, rate) {
                        self.refresh_files();
                    }
                }
            }
            Event::TransferDone {
                transfer_id,
                direction,
                path,
                ..
            } => {
                self.rates.remove(&transfer_id);
                let dest = self.destinations.remove(&transfer_id);
                match (direction, path, dest) {
                    (TransferDirection::Download, Some(from), Some(to)) => {
                        let sender = self.sender;
                        std::thread::spawn(move || {
                            let result = move_file(&from, &to);
                            sender.send(Message::DownloadMoved {
                                transfer_id,
                                result,
                            });
                        });
                    }
                    (TransferDirection::Download, Some(path), None) => {
                        self.notice(&format!("Saved {}", path.display()));
                    }
                    _ => {}
                }
                self.refresh_files();
            }
            Event::TransferFailed { reason, .. } => {
                self.notice(&format!("File transfer stopped: {reason}"));
                self.refresh_files();
            }
            Event::ServerError { code, message } => {
                let text = match code {
                    ErrorCode::MicLocked => "The host has locked your microphone".to_string(),
                    ErrorCode::NotHost => "Only the host can do that".to_string(),
                    _ => format!("The server refused: {message}"),
                };
                self.notice(&text);
                self.refresh_bars();
            }
            Event::Warning { message } => self.notice(&message),
            Event::Reconnecting { .. } => self.show_reconnecting(true),
            Event::Resumed { .. } => {
                self.show_reconnecting(false);
                // The layout is given again on the next tick.
                self.shown_layout = None;
                self.refresh_all();
                self.notice("Reconnected");
            }
            Event::Disconnected { reason } => {
                self.show_reconnecting(false);
                self.disconnected(reason)
            }
            Event::VideoFrame { .. } | Event::ScreenFrame { .. } => {}
            // Sections 15-17
            e @ (Event::PollStarted(_)
            | Event::PollUpdate { .. }
            | Event::PollResults(_)
            | Event::Attendance { .. }
            | Event::SpotlightChanged { .. }) => self.classroom_event(e),
            // Section 12: the stage reads the speaking list from the state
            // every tick. Section 11: this window sends one layer only.
            Event::Speaking { .. } | Event::LayersWanted { .. } => {}
        }
    }

    /// Shows or clears "Reconnecting…" over the stage; the window stays
    /// as it is meanwhile.
    fn show_reconnecting(&mut self, on: bool) {
        self.main.stage.model.borrow_mut().reconnecting = on;
        self.main.stage.redraw();
        self.refresh_bars();
    }

    pub(super) fn disconnected(&mut self, reason: lanmeet_client::DisconnectReason) {
        use lanmeet_client::DisconnectReason;
        let session = self.session.take();
        if let Some(mut p) = self.prompt.take() {
            p.close();
        }
        self.classroom_left();
        self.camera_on = false;
        self.self_view.clear();
        if let Some(session) = session {
            // Ended from the other side: the threads are already stopping.
            let sender = self.sender;
            self.leaving = true;
            std::thread::spawn(move || {
                drop(session);
                sender.send(Message::LeaveFinished);
            });
        }
        let text = match &reason {
            DisconnectReason::Left => "You left the meeting.".to_string(),
            DisconnectReason::Removed(by) => match self.state.participant(by) {
                Some(host) if !host.is_me => {
                    format!("{} (host) removed you from the meeting.", host.username)
                }
                _ => "The host removed you from the meeting.".to_string(),
            },
            other => format!("The meeting ended for you: {other}."),
        };
        // A lost connection (the server stopped, the network failed, the
        // server sent garbage) is not a decision to leave: offer to go back
        // into the same meeting with one click.
        let lost = !matches!(
            reason,
            DisconnectReason::Left | DisconnectReason::Removed(_)
        );
        let code = self.state.meeting_code.clone();
        let text = if lost && !code.is_empty() {
            self.join.offer_rejoin(&code);
            format!("{text} Press Join to reconnect to meeting {code}.")
        } else {
            text
        };
        self.main.window.hide();
        if self.quit_after_leave {
            return;
        }
        if reason == DisconnectReason::Left {
            self.join.set_busy(false, &text);
        } else {
            self.join.show_error(&text);
        }
        self.join.window.show();
    }
}
