//! The one message type of the window's event loop.
//!
//! fltk's `app::channel` is a single process-wide queue whose `recv::<T>()`
//! silently drops anything that is not a `T`, so every producer (widget
//! callbacks, timers, the join thread, the event forwarder) sends this
//! enum and the loop in `app.rs` is the only consumer:
//!
//! ```text
//!  widget callbacks --.
//!  timers ------------+--> app::channel::<Message>() --> App::handle (UI thread)
//!  join thread -------|
//!  event forwarder ---'   (Session Event -> Message::Session, then app::awake)
//! ```
//!
//! Video pixels never travel here: the UI timer sends `VideoTick` and the
//! app pulls the newest frame of each participant from the session's
//! latest-frame slots, so a slow window skips frames instead of queueing
//! stale ones.

use std::path::PathBuf;
use std::sync::Arc;

use lanmeet_client::{Event, Session};

use super::layout::EveryoneAction;

/// Everything the event loop reacts to.
#[derive(Clone)]
pub enum Message {
    /// The join form's "Join" button (or Enter).
    JoinSubmit,
    /// The join form's create/join choice changed.
    JoinModeChanged,
    /// The join thread connected: the session is ready. Session messages
    /// carry the number of the join they belong to, so that a late event
    /// of a meeting we left is never taken for one of the next meeting.
    Connected(u64, Arc<Session>),
    /// The join thread could not connect; the text is for a person.
    JoinFailed(String),
    /// A session event (video and screen frame events are not forwarded),
    /// with the number of its join.
    Session(u64, Event),
    /// The session thread that was leaving has finished.
    LeaveFinished,

    /// Toolbar: microphone on or off.
    ToggleMic,
    /// Toolbar: camera on or off.
    ToggleCamera,
    /// Toolbar: present or stop presenting.
    ToggleShare,
    /// Toolbar: raise or lower our hand.
    ToggleHand,
    /// Toolbar: send a reaction.
    React(String),
    /// Toolbar or join window: open the settings dialog.
    OpenSettings,
    /// Settings dialog: apply what it shows.
    ApplySettings,
    /// Toolbar: show or hide the sidebar.
    ToggleSidebar,
    /// Toolbar: ask before leaving.
    AskLeave,
    /// Leave confirmed (or the window was closed).
    Leave,
    /// Push-to-talk key pressed (`true`) or released.
    PushToTalk(bool),

    /// Status bar: copy the meeting code to the clipboard.
    CopyCode,

    /// The sidebar switched tabs.
    TabChanged,
    /// Chat: send what the input holds.
    SendChat,
    /// People list: a row was clicked (the app pops the menu).
    PersonClicked,
    /// Host: removing this participant was confirmed.
    RemoveConfirmed(String),
    /// Host: an entry of the "Everyone" menu.
    Everyone(EveryoneAction),
    /// Host: lock or unlock the meeting.
    LockMeeting(bool),
    /// Prompt answer: turn the camera on as the host asked.
    StartVideoAsAsked,
    /// Prompt answer: unmute as the host asked.
    UnmuteAsAsked,

    /// Files: pick a file and offer it.
    OfferFile,
    /// Files: download `file_id` of `sender_id`.
    Download {
        /// Who offers it.
        sender_id: String,
        /// The offer.
        file_id: String,
    },
    /// Files: withdraw one of our offers.
    Unoffer(String),
    /// Files: cancel a transfer.
    CancelTransfer(String),
    /// Files: open the folder holding a finished download.
    OpenFolder(PathBuf),
    /// A finished download was moved to the place the user chose.
    DownloadMoved {
        /// The transfer.
        transfer_id: String,
        /// Where it is now, or why it could not be moved.
        result: Result<PathBuf, String>,
    },

    /// The UI timer: pull new video frames and redraw (20-30 Hz).
    VideoTick,
    /// A notice's time is up.
    HideNotice(u64),
    /// A prompt window was answered or closed.
    ClosePrompt,

    // Sections 15-18
    /// Toolbar "Poll": the host's new-poll form, or the open poll's card.
    OpenPoll,
    /// New-poll form: start the poll.
    PollFormSubmit,
    /// Poll card: vote with the ticked options.
    PollVote,
    /// Poll card (host): close the poll.
    PollClose,
    /// Poll card: save the results as CSV.
    PollSaveResults,
    /// Poll card: hide it.
    PollHide,
    /// Host menu: ask for the attendance and save it as CSV.
    Attendance,
    /// Host menu: put this participant on everyone's stage, or clear it.
    Spotlight(Option<String>),
    /// The discovery thread's latest round of answers.
    Discovered(Vec<lanmeet_client::discovery::Found>),
    /// Join window: a line of the discovery list was double-clicked.
    DiscoveryPicked,

    // Sections 11-12: the stage's views
    /// Toolbar: speaker view or grid view.
    ToggleView,
    /// A tile was double-clicked, or the person menu's "Pin": pin this
    /// person to our stage, or unpin them.
    TogglePin(String),
}
