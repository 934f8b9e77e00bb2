//! What the toolbar and the sidebar do: microphone, camera, screen share,
//! sidebar, settings; chat, the per-person menu, downloads. Each action
//! is a call on the session (a queued message, never a socket) followed
//! by a refresh of what it changed.

use fltk::prelude::*;
use lanmeet_common::ClientMessage;

use super::{default_download_dir, App, SIDEBAR_W};
use crate::gui::capture;
use crate::gui::dialogs::{self, Prompt};
use crate::gui::layout::{self, PersonAction};
use crate::gui::message::Message;
use crate::gui::settings::{Settings, SettingsDialog};
use crate::gui::toolbar::{STATUS_H, TOOLBAR_H};

impl App {
    pub(super) fn toggle_mic(&mut self) {
        let Some(session) = self.session.clone() else {
            return;
        };
        if !self.mic_running {
            self.notice("No microphone: pick one in Settings");
            return;
        }
        let muted = session.is_muted();
        if muted && self.state.me().is_some_and(|p| p.mic_locked) {
            self.notice("The host has locked your microphone");
            return;
        }
        if let Err(e) = session.set_muted(!muted) {
            self.notice(&e.to_string());
        }
        self.refresh_people();
        self.refresh_bars();
    }

    pub(super) fn toggle_camera(&mut self) {
        let Some(session) = self.session.clone() else {
            return;
        };
        if self.camera_on {
            if let Err(e) = session.stop_video() {
                self.notice(&e.to_string());
            }
            self.camera_on = false;
            self.self_view.clear();
            self.main
                .stage
                .model
                .borrow_mut()
                .images
                .remove(&self.state.my_id);
        } else {
            match capture::open_camera(
                &self.settings.camera,
                self.settings.video_size,
                self.settings.fps,
                &self.self_view,
            )
            .and_then(|src| session.start_video(src).map_err(|e| e.to_string()))
            {
                Ok(()) => self.camera_on = true,
                Err(e) => self.notice(&format!("Cannot start the camera: {e}")),
            }
        }
        self.refresh_people();
        self.refresh_bars();
    }

    pub(super) fn am_presenting(&self) -> bool {
        self.state.presenter.as_deref() == Some(self.state.my_id.as_str())
    }

    pub(super) fn toggle_share(&mut self) {
        let Some(session) = self.session.clone() else {
            return;
        };
        if self.am_presenting() || self.share_pending {
            self.share_pending = false;
            if let Err(e) = session.stop_screen_share() {
                self.notice(&e.to_string());
            }
        } else if let Some(p) = self.state.presenter.clone() {
            let name = self.name_of(&p);
            self.notice(&format!("{name} is presenting: one screen at a time"));
        } else {
            self.share_preview.clear();
            match capture::open_monitor(&self.settings.monitor, &self.share_preview)
                .and_then(|src| session.start_screen_share(src).map_err(|e| e.to_string()))
            {
                Ok(()) => self.share_pending = true,
                Err(e) => self.notice(&format!("Cannot share the screen: {e}")),
            }
        }
        self.refresh_bars();
    }

    pub(super) fn toggle_sidebar(&mut self) {
        self.sidebar_shown = !self.sidebar_shown;
        let (w, h) = (self.main.window.w(), self.main.window.h());
        let stage_h = h - TOOLBAR_H - STATUS_H;
        if self.sidebar_shown {
            self.main.stage.widget.resize(0, 0, w - SIDEBAR_W, stage_h);
            self.main
                .sidebar
                .tabs
                .resize(w - SIDEBAR_W, 0, SIDEBAR_W, stage_h);
            self.main.sidebar.tabs.show();
        } else {
            self.main.sidebar.tabs.hide();
            self.main.stage.widget.resize(0, 0, w, stage_h);
        }
        // The window remembers its children's sizes for the next resize.
        self.main.window.init_sizes();
        self.main.window.redraw();
        self.chat_seen();
        self.refresh_bars();
    }

    pub(super) fn open_settings(&mut self) {
        let over =
            dialogs::area_of(&self.main.window).or_else(|| dialogs::area_of(&self.join.window));
        let dialog = SettingsDialog::open(
            &self.settings,
            &self.catalog,
            self.session.is_some(),
            over,
            self.sender,
        );
        self.settings_dialog = Some(dialog);
    }

    pub(super) fn apply_settings(&mut self) {
        let Some(mut dialog) = self.settings_dialog.take() else {
            return;
        };
        let new = dialog.read();
        dialog.close();
        let old = std::mem::replace(&mut self.settings, new.clone());
        if let Some(path) = Settings::path() {
            let saved = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, new.to_text()));
            if let Err(e) = saved {
                self.notice(&format!(
                    "Cannot save the settings in {}: {e}",
                    path.display()
                ));
            }
        }
        self.talk_key.set(new.talk_key);
        self.talk.set_enabled(new.talk_key.is_some());
        let Some(session) = self.session.clone() else {
            return;
        };
        session.set_voice_processing(new.voice);
        if new.camera != old.camera && self.camera_on {
            let _ = session.stop_video();
            self.camera_on = false;
            self.self_view.clear();
            if new.camera != capture::Choice::Off {
                self.toggle_camera();
            }
        }
        if new.microphone != old.microphone {
            session.stop_audio();
            self.mic_running = false;
            if new.microphone == capture::Choice::Off {
                let _ = session.set_muted(true);
            } else {
                let name = self
                    .state
                    .me()
                    .map(|p| p.username.clone())
                    .unwrap_or_default();
                match capture::open_microphone(&new.microphone, &name, &self.mic_level, &self.talk)
                    .and_then(|src| session.start_audio(src).map_err(|e| e.to_string()))
                {
                    Ok(()) => self.mic_running = true,
                    Err(e) => self.notice(&format!("Cannot start the microphone: {e}")),
                }
            }
        }
        if new.speaker != old.speaker {
            session.stop_playback();
            if new.speaker != capture::Choice::Off {
                match capture::open_speaker(&new.speaker, &self.mix_level)
                    .and_then(|sink| session.start_playback(sink).map_err(|e| e.to_string()))
                {
                    Ok(()) => {}
                    Err(e) => self.notice(&format!("Cannot start the speaker: {e}")),
                }
            }
        }
        self.refresh_bars();
    }

    // ----- sidebar --------------------------------------------------------

    /// Clears the unread count once the chat tab is in view.
    pub(super) fn chat_seen(&mut self) {
        if self.unread > 0 && self.main.sidebar.chat_showing() {
            self.unread = 0;
            self.main.sidebar.set_unread(0);
        }
    }

    pub(super) fn send_chat(&mut self) {
        let text = self.main.sidebar.take_chat_input();
        let text = text.trim();
        if text.is_empty() || self.session.is_none() {
            return;
        }
        let to = self.main.sidebar.chat_target();
        if self.with_session(|s| s.chat(text, to.as_deref())).is_some() {
            // Our own lines come back through the state, not as events.
            self.refresh_state();
            if let Some(to) = &to {
                let me = &self.state.my_id;
                let sent = self
                    .state
                    .chat
                    .iter()
                    .rev()
                    .find(|l| l.client_id == *me && l.private && l.message == text);
                if let Some(line) = sent {
                    let name = self.name_of(to);
                    self.private_to.insert(line.timestamp.to_bits(), name);
                }
            }
            self.refresh_chat();
        }
    }

    pub(super) fn person_menu(&mut self) {
        let Some(id) = self.main.sidebar.selected_person() else {
            return;
        };
        let Some(person) = self.state.participant(&id) else {
            return;
        };
        let actions = layout::person_menu(person, self.state.am_host());
        // Section 17: the host may spotlight anyone, itself included.
        let spotlight = self.state.am_host().then(|| {
            if self.state.spotlight.as_deref() == Some(id.as_str()) {
                ("Turn the spotlight off", None)
            } else {
                ("Spotlight for everyone", Some(id.clone()))
            }
        });
        // Pinning is ours alone: anyone may pin anyone.
        let pin_label = if self.pinned.as_deref() == Some(id.as_str()) {
            "Unpin from my stage"
        } else {
            "Pin to my stage"
        };
        let mut labels: Vec<&str> = actions.iter().map(|a| a.label()).collect();
        labels.push(pin_label);
        if let Some((label, _)) = &spotlight {
            labels.push(label);
        }
        let name = person.username.clone();
        let picked = self.main.sidebar.pop_person_menu(&name, &labels);
        if picked.as_deref() == Some(pin_label) {
            self.sender.send(Message::TogglePin(id));
            return;
        }
        if let (Some(label), Some((spot_label, target))) = (&picked, &spotlight) {
            if label == spot_label {
                self.sender.send(Message::Spotlight(target.clone()));
                return;
            }
        }
        let chosen = picked.and_then(|label| actions.iter().find(|a| a.label() == label).copied());
        if let Some(action) = chosen {
            self.person_action(action, &id);
        }
    }

    pub(super) fn person_action(&mut self, action: PersonAction, id: &str) {
        let target_client_id = id.to_string();
        let msg = match action {
            PersonAction::PrivateChat => {
                self.main.sidebar.show_chat();
                self.chat_seen();
                self.main.sidebar.set_chat_target(Some(id));
                let _ = self.main.sidebar.chat_input.take_focus();
                return;
            }
            PersonAction::Mute => ClientMessage::MuteParticipant { target_client_id },
            PersonAction::Unmute => ClientMessage::UnmuteParticipant { target_client_id },
            PersonAction::LockMic => ClientMessage::LockMic { target_client_id },
            PersonAction::UnlockMic => ClientMessage::UnlockMic { target_client_id },
            PersonAction::AskToUnmute => ClientMessage::RequestUnmute { target_client_id },
            PersonAction::AskForVideo => ClientMessage::RequestVideo { target_client_id },
            PersonAction::LowerHand => ClientMessage::LowerHand { target_client_id },
            PersonAction::MakeHost => ClientMessage::MakeHost { target_client_id },
            PersonAction::Remove => {
                // Removing someone cannot be undone from here: ask first.
                let name = self.name_of(id);
                let prompt = Prompt::ask(
                    "Remove from the meeting?",
                    &format!("{name} will leave the meeting at once. They can join again unless the meeting is locked."),
                    ("Remove", Some(Message::RemoveConfirmed(target_client_id))),
                    "Cancel",
                    dialogs::area_of(&self.main.window),
                    self.sender,
                );
                self.replace_prompt(prompt);
                return;
            }
        };
        let name = self.name_of(id);
        if self.with_session(|s| s.send(msg)).is_some() {
            let done = match action {
                PersonAction::AskToUnmute => Some(format!("Asked {name} to unmute")),
                PersonAction::AskForVideo => Some(format!("Asked {name} to start video")),
                _ => None,
            };
            if let Some(text) = done {
                self.notice(&text);
            }
        }
    }

    pub(super) fn download(&mut self, sender_id: String, file_id: String) {
        let Some(offer) = self.state.offer(&sender_id, &file_id).cloned() else {
            return;
        };
        let folder = self
            .options
            .download_dir
            .clone()
            .unwrap_or_else(default_download_dir);
        let dest = if self.options.download_dir.is_some() {
            folder.join(&offer.filename)
        } else {
            let _ = std::fs::create_dir_all(&folder);
            match dialogs::choose_save_location(&folder, &offer.filename) {
                Some(p) => p,
                None => return,
            }
        };
        self.save_as
            .insert((sender_id.clone(), file_id.clone()), dest);
        if self
            .with_session(|s| s.request_file(&sender_id, &file_id))
            .is_some()
        {
            self.main.sidebar.show_files();
        }
    }
}
