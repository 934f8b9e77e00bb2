//! The poll windows (PROTOCOL.md section 15): the host's form for a new
//! poll, and the poll card everyone sees.
//!
//! ```text
//!  host: toolbar "Poll" --> PollForm: question, options (one a line),
//!                           anonymous, multiple choice --> [Start poll]
//!  all:  poll_started   --> PollCard: the question, a box per option, [Vote]
//!  host: poll_update    --> the same card with a bar and count per option,
//!                           "N voted", [Close poll]
//!  all:  poll_results   --> the card with the results, [Save results...]
//! ```
//!
//! The card is its own small window above the meeting, so it never
//! covers the stage's layout; it is rebuilt from the state each time
//! the poll changes.

use fltk::button::{Button, ButtonType, CheckButton};
use fltk::enums::{Align, Color, Font, FrameType};
use fltk::frame::Frame;
use fltk::input::{Input, MultilineInput};
use fltk::misc::Progress;
use fltk::prelude::*;
use fltk::window::Window;
use lanmeet_client::core::classroom::OpenPoll;
use lanmeet_common::limits::{
    MAX_POLL_OPTIONS, MAX_POLL_OPTION_CHARS, MAX_POLL_QUESTION_CHARS, MIN_POLL_OPTIONS,
};
use lanmeet_common::message::PollResults;

use super::dialogs::centre_over;
use super::layout::Rect;
use super::message::Message;
use super::theme;

/// What the host typed into the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPoll {
    /// The question.
    pub question: String,
    /// The options, 2..10.
    pub options: Vec<String>,
    /// Results without names.
    pub anonymous: bool,
    /// Several options per voter.
    pub multiple: bool,
}

/// Checks the form's text: a question, and 2..10 options one per line
/// (blank lines skipped).
pub fn check_new_poll(
    question: &str,
    options: &str,
    anonymous: bool,
    multiple: bool,
) -> Result<NewPoll, String> {
    let question = question.trim();
    if question.is_empty() {
        return Err("Type the question.".into());
    }
    if question.chars().count() > MAX_POLL_QUESTION_CHARS {
        return Err(format!(
            "The question is too long (at most {MAX_POLL_QUESTION_CHARS} characters)."
        ));
    }
    let options: Vec<String> = options
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if options.len() < MIN_POLL_OPTIONS || options.len() > MAX_POLL_OPTIONS {
        return Err(format!(
            "Give {MIN_POLL_OPTIONS} to {MAX_POLL_OPTIONS} options, one per line."
        ));
    }
    if options
        .iter()
        .any(|o| o.chars().count() > MAX_POLL_OPTION_CHARS)
    {
        return Err(format!(
            "An option is too long (at most {MAX_POLL_OPTION_CHARS} characters)."
        ));
    }
    Ok(NewPoll {
        question: question.to_string(),
        options,
        anonymous,
        multiple,
    })
}

/// The host's form for a new poll.
pub struct PollForm {
    /// The form's window.
    pub window: Window,
    question: Input,
    options: MultilineInput,
    anonymous: CheckButton,
    multiple: CheckButton,
    error: Frame,
}

impl PollForm {
    /// Opens the form over `over`.
    pub fn open(over: Option<Rect>, sender: fltk::app::Sender<Message>) -> PollForm {
        let mut window = Window::default().with_size(460, 390).with_label("New poll");
        window.set_color(theme::PANEL);
        let mut question = Input::new(20, 36, 420, 30, "Question");
        question.set_align(Align::TopLeft);
        question.set_maximum_size(MAX_POLL_QUESTION_CHARS as i32);
        let mut options = MultilineInput::new(20, 96, 420, 150, "Options, one per line (2 to 10)");
        options.set_align(Align::TopLeft);
        options.set_value("Yes\nNo");
        let mut anonymous = CheckButton::new(
            20,
            254,
            420,
            26,
            "Anonymous: the results do not show who chose what",
        );
        anonymous.set_value(true);
        let multiple = CheckButton::new(
            20,
            282,
            420,
            26,
            "Multiple choice: a person may choose several options",
        );
        let mut error = Frame::new(20, 310, 420, 26, "");
        error.set_label_color(theme::ERROR);
        error.set_align(Align::Left | Align::Inside);
        let mut cancel = Button::new(220, 340, 100, 34, "Cancel");
        let mut start = Button::new(330, 340, 110, 34, "Start poll");
        start.set_color(theme::ACCENT);
        start.set_label_color(Color::White);
        start.emit(sender, Message::PollFormSubmit);
        window.end();
        window.make_modal(false);
        let mut w = window.clone();
        cancel.set_callback(move |_| w.hide());
        centre_over(&mut window, over);
        window.show();
        let _ = question.take_focus();
        PollForm {
            window,
            question,
            options,
            anonymous,
            multiple,
            error,
        }
    }

    /// What the form holds, or what to fix.
    pub fn values(&self) -> Result<NewPoll, String> {
        check_new_poll(
            &self.question.value(),
            &self.options.value(),
            self.anonymous.value(),
            self.multiple.value(),
        )
    }

    /// Fills the form (for automated runs and screenshots).
    pub fn fill(&mut self, question: &str, options: &[&str], anonymous: bool, multiple: bool) {
        self.question.set_value(question);
        self.options.set_value(&options.join("\n"));
        self.anonymous.set_value(anonymous);
        self.multiple.set_value(multiple);
    }

    /// Says what to fix.
    pub fn show_error(&mut self, text: &str) {
        self.error.set_label(text);
        self.window.redraw();
    }

    /// Closes the form.
    pub fn close(&mut self) {
        self.window.hide();
    }
}

/// What the poll card shows.
#[derive(Debug, Clone, PartialEq)]
pub enum CardView {
    /// The open poll; the host sees the live counts.
    Open {
        /// The poll and our vote.
        poll: OpenPoll,
        /// Whether we are the host.
        am_host: bool,
    },
    /// A closed poll's results.
    Results(PollResults),
}

/// The text beside a bar: "3 (60%)".
pub fn count_label(count: u32, voters: u32) -> String {
    match (count * 100 + voters / 2).checked_div(voters) {
        Some(share) => format!("{count} ({share}%)"),
        None => format!("{count}"),
    }
}

/// The poll card: a small window with the question and the options.
pub struct PollCard {
    /// The card's window.
    pub window: Window,
    choices: Vec<CheckButton>,
    shown: Option<CardView>,
    sender: fltk::app::Sender<Message>,
}

const CARD_W: i32 = 460;
const ROW_H: i32 = 34;

impl PollCard {
    /// A hidden card.
    pub fn new(sender: fltk::app::Sender<Message>) -> PollCard {
        let mut window = Window::default().with_size(CARD_W, 300).with_label("Poll");
        window.set_color(theme::PANEL);
        window.end();
        PollCard {
            window,
            choices: Vec::new(),
            shown: None,
            sender,
        }
    }

    /// The options ticked, as indices.
    pub fn selected(&self) -> Vec<u32> {
        self.choices
            .iter()
            .enumerate()
            .filter(|(_, b)| b.value())
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Ticks options (for automated runs and screenshots).
    pub fn select(&mut self, choices: &[u32]) {
        for (i, b) in self.choices.iter_mut().enumerate() {
            b.set_value(choices.contains(&(i as u32)));
        }
    }

    /// Hides the card.
    pub fn hide(&mut self) {
        self.window.hide();
        self.shown = None;
    }

    /// Shows `view`, rebuilding the card when it changed; a card first
    /// shown is placed at the top right of `over`. Ticked boxes survive a
    /// rebuild of the same poll (a count update must not undo a choice
    /// not yet sent).
    pub fn show(&mut self, view: CardView, over: Option<Rect>) {
        if self.shown.as_ref() == Some(&view) && self.window.shown() {
            return;
        }
        let keep = match (&self.shown, &view) {
            (Some(CardView::Open { poll: a, .. }), CardView::Open { poll: b, .. })
                if a.info.poll_id == b.info.poll_id =>
            {
                Some(self.selected())
            }
            _ => None,
        };
        let first = !self.window.shown();
        self.window.clear();
        self.window.begin();
        self.choices.clear();
        let h = match &view {
            CardView::Open { poll, am_host } => self.build_open(poll, *am_host),
            CardView::Results(results) => self.build_results(results),
        };
        self.window.end();
        self.window.set_size(CARD_W, h);
        if let Some(choices) = keep {
            self.select(&choices);
        }
        if let Some(over) = over.filter(|_| first) {
            self.window
                .set_pos(over.x + over.w - CARD_W - 370, over.y + 40);
        }
        self.window.show();
        self.window.redraw();
        self.shown = Some(view);
    }

    fn heading(&mut self, text: &str, question: &str) -> i32 {
        let mut kind = Frame::new(16, 10, CARD_W - 32, 20, None);
        kind.set_label(text);
        kind.set_label_color(theme::ACCENT);
        kind.set_label_font(Font::HelveticaBold);
        kind.set_align(Align::Left | Align::Inside);
        let mut q = Frame::new(16, 32, CARD_W - 32, 48, None);
        q.set_label(&question.replace('@', "@@"));
        q.set_label_size(17);
        q.set_label_font(Font::HelveticaBold);
        q.set_align(Align::Left | Align::Inside | Align::Wrap | Align::Top);
        86
    }

    fn bar(x: i32, y: i32, w: i32, count: u32, voters: u32) {
        let mut bar = Progress::new(x, y + 5, w, ROW_H - 10, None);
        bar.set_minimum(0.0);
        bar.set_maximum(f64::from(voters.max(1)));
        bar.set_value(f64::from(count));
        bar.set_selection_color(theme::ACCENT);
        bar.set_color(Color::from_rgb(225, 229, 236));
        bar.set_frame(FrameType::FlatBox);
        bar.set_label(&count_label(count, voters));
        bar.set_label_color(Color::Black);
    }

    fn build_open(&mut self, poll: &OpenPoll, am_host: bool) -> i32 {
        let info = &poll.info;
        let kind = match (info.anonymous, info.multiple) {
            (true, true) => "Poll - anonymous - choose one or more",
            (true, false) => "Poll - anonymous - choose one",
            (false, true) => "Poll - choose one or more",
            (false, false) => "Poll - choose one",
        };
        let mut y = self.heading(kind, &info.question);
        let choice_w = if am_host { 240 } else { CARD_W - 32 };
        for (i, option) in info.options.iter().enumerate() {
            let mut b = CheckButton::new(16, y, choice_w, ROW_H, None);
            b.set_label(&option.replace('@', "@@"));
            b.set_label_size(15);
            if !info.multiple {
                b.set_type(ButtonType::Radio);
            }
            b.set_value(poll.my_choices.contains(&(i as u32)));
            self.choices.push(b);
            if am_host {
                let count = poll.counts.get(i).copied().unwrap_or(0);
                Self::bar(
                    16 + choice_w + 8,
                    y,
                    CARD_W - choice_w - 40,
                    count,
                    poll.voters,
                );
            }
            y += ROW_H;
        }
        let mut status = Frame::new(16, y + 8, CARD_W - 32, 22, None);
        let voted = if poll.my_choices.is_empty() {
            "You have not voted yet.".to_string()
        } else {
            let names: Vec<&str> = poll
                .my_choices
                .iter()
                .filter_map(|&c| info.options.get(c as usize).map(String::as_str))
                .collect();
            format!("You voted: {}. You can change your vote.", names.join(", "))
        };
        let text = if am_host {
            format!(
                "{} voted so far. {voted}",
                match poll.voters {
                    1 => "1 person".to_string(),
                    n => format!("{n} people"),
                }
            )
        } else {
            voted
        };
        status.set_label(&text.replace('@', "@@"));
        status.set_label_color(theme::MUTED_TEXT);
        status.set_align(Align::Left | Align::Inside);
        y += 40;
        let mut vote = Button::new(CARD_W - 16 - 110, y, 110, 34, "Vote");
        vote.set_color(theme::ACCENT);
        vote.set_label_color(Color::White);
        vote.emit(self.sender, Message::PollVote);
        if am_host {
            let mut close = Button::new(CARD_W - 16 - 230, y, 110, 34, "Close poll");
            close.emit(self.sender, Message::PollClose);
        } else {
            let mut hide = Button::new(16, y, 90, 34, "Hide");
            hide.emit(self.sender, Message::PollHide);
        }
        y + 50
    }

    fn build_results(&mut self, results: &PollResults) -> i32 {
        let mut y = self.heading("Poll results", &results.question);
        let label_w = 200;
        let mut best = 0;
        for &c in &results.counts {
            best = best.max(c);
        }
        for (i, option) in results.options.iter().enumerate() {
            let count = results.counts.get(i).copied().unwrap_or(0);
            let mut name = Frame::new(16, y, label_w, ROW_H, None);
            name.set_label(&option.replace('@', "@@"));
            name.set_label_size(15);
            if count == best && best > 0 {
                name.set_label_font(Font::HelveticaBold);
            }
            name.set_align(Align::Left | Align::Inside | Align::Clip);
            Self::bar(
                16 + label_w + 8,
                y,
                CARD_W - label_w - 40,
                count,
                results.voters,
            );
            y += ROW_H;
        }
        let mut status = Frame::new(16, y + 8, CARD_W - 32, 22, None);
        let who = if results.votes.is_some() {
            "Save the results to see who chose what."
        } else {
            "The poll was anonymous."
        };
        status.set_label(&format!(
            "{} voted. {who}",
            match results.voters {
                1 => "1 person".to_string(),
                n => format!("{n} people"),
            }
        ));
        status.set_label_color(theme::MUTED_TEXT);
        status.set_align(Align::Left | Align::Inside);
        y += 40;
        let mut save = Button::new(CARD_W - 16 - 140, y, 140, 34, "Save results\u{2026}");
        save.emit(self.sender, Message::PollSaveResults);
        let mut hide = Button::new(16, y, 90, 34, "Close");
        hide.emit(self.sender, Message::PollHide);
        y + 50
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_checks_question_and_options() {
        let ok = check_new_poll(" Done? ", "Yes\n\n No \n", true, false).unwrap();
        assert_eq!(ok.question, "Done?");
        assert_eq!(ok.options, ["Yes", "No"]);
        assert!(check_new_poll("", "a\nb", false, false).is_err());
        assert!(check_new_poll("Q", "only one", false, false).is_err());
        let eleven = (0..11)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(check_new_poll("Q", &eleven, false, false).is_err());
        assert!(check_new_poll("Q", &format!("a\n{}", "x".repeat(201)), false, false).is_err());
    }

    #[test]
    fn counts_read_as_numbers_and_shares() {
        assert_eq!(count_label(0, 0), "0");
        assert_eq!(count_label(3, 5), "3 (60%)");
        assert_eq!(count_label(1, 3), "1 (33%)");
        assert_eq!(count_label(2, 3), "2 (67%)");
    }
}
