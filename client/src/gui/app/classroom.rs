//! What the window does for polls, attendance, spotlight and discovery
//! (sections 15-18): the toolbar's Poll button, the poll form and card,
//! the host menu's "Attendance..." and "Spotlight", the join window's
//! list of servers.

use std::sync::atomic::Ordering;

use fltk::prelude::*;

use lanmeet_client::Event;

use super::super::dialogs;
use super::super::poll::{CardView, PollForm};
use super::{default_download_dir, App};
use crate::gui::message::Message;

impl App {
    /// A message of sections 15-18.
    pub(super) fn classroom_message(&mut self, msg: Message) {
        match msg {
            Message::OpenPoll => self.open_poll(),
            Message::PollFormSubmit => {
                let Some(form) = &mut self.poll_form else {
                    return;
                };
                match form.values() {
                    Ok(p) => {
                        let sent = self.with_session(|s| {
                            s.create_poll(&p.question, &p.options, p.anonymous, p.multiple)
                        });
                        if sent.is_some() {
                            if let Some(mut form) = self.poll_form.take() {
                                form.close();
                            }
                        }
                    }
                    Err(text) => form.show_error(&text),
                }
            }
            Message::PollVote => {
                let Some(poll) = self.state.poll.clone() else {
                    return;
                };
                let choices = self.poll_card.selected();
                if choices.is_empty() {
                    self.notice("Tick an option first, then Vote.");
                    return;
                }
                if self
                    .with_session(|s| s.vote(&poll.info.poll_id, &choices))
                    .is_some()
                {
                    self.refresh_state();
                    self.refresh_poll();
                    self.notice("Your vote is in. You can change it until the poll closes.");
                }
            }
            Message::PollClose => {
                if let Some(poll) = self.state.poll.clone() {
                    self.with_session(|s| s.close_poll(&poll.info.poll_id));
                }
            }
            Message::PollSaveResults => self.save_poll_results(),
            Message::PollHide => self.poll_card.hide(),
            Message::Attendance => {
                self.saving_attendance = self.with_session(|s| s.request_attendance()).is_some();
            }
            Message::Spotlight(target) => {
                self.with_session(|s| s.set_spotlight(target.as_deref()));
            }
            Message::Discovered(found) => self.join.discovery.set(found),
            Message::DiscoveryPicked => {
                if let Some(pick) = self.join.discovery.selected() {
                    self.join.pick(&pick);
                }
            }
            _ => {}
        }
    }

    /// A session event of sections 15-17 (the state already has it).
    pub(super) fn classroom_event(&mut self, event: Event) {
        match event {
            Event::PollStarted(info) => {
                if info.by != self.state.my_id {
                    self.notice(&format!("{} started a poll", self.name_of(&info.by)));
                }
                self.refresh_poll();
                self.autovote();
            }
            Event::PollUpdate { .. } => self.refresh_poll(),
            Event::PollResults(_) => {
                self.notice("The poll is closed: the results are in.");
                self.refresh_poll();
            }
            Event::Attendance {
                meeting_code, rows, ..
            } => {
                if !std::mem::take(&mut self.saving_attendance) {
                    return;
                }
                let name = format!("{meeting_code}-attendance.csv");
                let folder = self
                    .options
                    .download_dir
                    .clone()
                    .unwrap_or_else(default_download_dir);
                let _ = std::fs::create_dir_all(&folder);
                let csv = lanmeet_common::csv::attendance(&rows);
                self.save_csv(&folder, &name, &csv, &format!("{} rows", rows.len()));
            }
            Event::SpotlightChanged { client_id } => {
                match client_id {
                    Some(id) => {
                        let who = self.name_of(&id);
                        self.notice(&format!("{who} is in the spotlight"));
                    }
                    None => self.notice("The spotlight is off"),
                }
                self.refresh_stage();
            }
            _ => {}
        }
        self.refresh_bars();
    }

    /// The toolbar's Poll button: the host opens a new poll when none is
    /// open; otherwise the card of the open poll (or the last results).
    fn open_poll(&mut self) {
        if self.state.poll.is_none() && self.state.am_host() {
            if let Some(mut old) = self.poll_form.take() {
                old.close();
            }
            self.poll_form = Some(PollForm::open(
                dialogs::area_of(&self.main.window),
                self.sender,
            ));
            if let Some((question, options)) = self.options.autopoll.clone() {
                if let Some(form) = &mut self.poll_form {
                    let options: Vec<&str> = options.iter().map(String::as_str).collect();
                    form.fill(&question, &options, true, false);
                }
            }
            return;
        }
        self.poll_card.hide();
        self.refresh_poll();
    }

    /// Shows the poll card for the open poll, or the last results.
    pub(super) fn refresh_poll(&mut self) {
        let view = match (&self.state.poll, &self.state.poll_results) {
            (Some(poll), _) => Some(CardView::Open {
                poll: poll.clone(),
                am_host: self.state.am_host(),
            }),
            (None, Some(results)) => Some(CardView::Results(results.clone())),
            (None, None) => None,
        };
        match view {
            Some(view) => self
                .poll_card
                .show(view, dialogs::area_of(&self.main.window)),
            None => self.poll_card.hide(),
        }
    }

    fn save_poll_results(&mut self) {
        let Some(results) = self.state.poll_results.clone() else {
            return;
        };
        let folder = self
            .options
            .download_dir
            .clone()
            .unwrap_or_else(default_download_dir);
        let _ = std::fs::create_dir_all(&folder);
        let name = format!("{}-poll-{}.csv", self.state.meeting_code, results.poll_id);
        let csv = lanmeet_common::csv::poll_results(&results);
        self.save_csv(&folder, &name, &csv, "poll results");
    }

    /// Asks where to save `csv` (starting at `folder/name`) and writes it.
    fn save_csv(&mut self, folder: &std::path::Path, name: &str, csv: &str, what: &str) {
        // As for downloads: with LANMEET_DOWNLOAD_DIR, save without asking.
        let path = if self.options.download_dir.is_some() {
            Some(folder.join(name))
        } else {
            dialogs::choose_save_location(folder, name)
        };
        let Some(path) = path else {
            return;
        };
        match std::fs::write(&path, csv) {
            Ok(()) => self.notice(&format!("Saved {what} to {}", path.display())),
            Err(e) => self.notice(&format!("Cannot save {}: {e}", path.display())),
        }
    }

    /// After joining: the poll the join reply carried, and the automated
    /// runs' poll (`LANMEET_AUTOPOLL`).
    pub(super) fn classroom_joined(&mut self) {
        self.poll_card.hide();
        self.refresh_poll();
        if self.options.autopoll.is_some() && self.state.am_host() {
            self.open_poll();
            self.sender.send(Message::PollFormSubmit);
        }
    }

    /// Out of the meeting: its poll windows go.
    pub(super) fn classroom_left(&mut self) {
        self.poll_card.hide();
        if let Some(mut form) = self.poll_form.take() {
            form.close();
        }
        self.saving_attendance = false;
    }

    /// `LANMEET_AUTOVOTE`: ticks the options of a poll just shown and votes.
    fn autovote(&mut self) {
        let (Some(choices), Some(poll)) = (self.options.autovote.clone(), &self.state.poll) else {
            return;
        };
        if poll.my_choices.is_empty() {
            self.poll_card.select(&choices);
            self.sender.send(Message::PollVote);
        }
    }

    /// Keeps the discovery thread probing only while the join window is up.
    pub(super) fn keep_discovering(&mut self) {
        self.discovering
            .store(self.join.window.shown(), Ordering::Release);
    }
}
