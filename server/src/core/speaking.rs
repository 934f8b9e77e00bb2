//! Section 12 on the server: who is speaking, from the mixer.
//!
//! Each 10 ms tick the mixer takes one frame from each unmuted source; a
//! frame whose RMS is over -50 dBFS makes its source heard at that tick.
//!
//! ```text
//!  mixer tick:   for each source mixed loud:  heard_at = now
//!                  (a first loud frame after 300 ms of quiet starts a
//!                   new spell: spell_start = now)
//!  after ticks:  set = sources heard in the last 300 ms, newest spell first
//!                set changed and 200 ms since the last `speaking` -> send it
//!                to everyone who named "speaking" (an empty list when quiet)
//! ```
//!
//! "Most recent first" is the order in which people started speaking:
//! the newest speaker leads, and two people talking at once keep their
//! places instead of swapping every 10 ms. The same order ranks senders
//! for `last_n` (section 11): [`SpeakingOrder`]; people who never spoke
//! rank after all who did, by join order.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use lanmeet_common::audio::Frame;
use lanmeet_common::features::Feature;
use lanmeet_common::message::ServerMessage;

use super::layers::named;
use super::meeting::Meeting;
use super::Outbox;

/// A source heard within this long is speaking.
pub const SPEAKING_WINDOW: Duration = Duration::from_millis(300);
/// At most 5 `speaking` a second to a meeting.
pub const SPEAKING_INTERVAL: Duration = Duration::from_millis(200);
/// -50 dBFS as a mean square over full scale (32768²·10^-5).
const SILENCE_MEAN_SQUARE: f64 = 32768.0 * 32768.0 * 1e-5;

/// Whether a 10 ms frame is louder than -50 dBFS RMS.
pub fn is_loud(frame: &Frame) -> bool {
    let sum: i64 = frame.iter().map(|&s| i64::from(s) * i64::from(s)).sum();
    sum as f64 / frame.len() as f64 > SILENCE_MEAN_SQUARE
}

struct Voice {
    client_id: String,
    heard_at: Option<Instant>,
    spell_start: Option<Instant>,
    /// Counted in the set last computed.
    in_set: bool,
}

#[derive(Default)]
struct Room {
    /// In join order.
    voices: Vec<Voice>,
    /// The list last sent, and when.
    sent: Vec<String>,
    sent_at: Option<Instant>,
    /// The set changed since `sent` was sent.
    dirty: bool,
}

/// The order in which people last started speaking, for `last_n`.
pub(super) struct SpeakingOrder<'a> {
    voices: &'a [Voice],
}

impl SpeakingOrder<'_> {
    /// A key that sorts larger for someone who spoke more recently;
    /// never-spoken people get `None` and rank by `joined` (earlier first).
    pub fn rank(&self, client_id: &str, joined: u64) -> (Option<Instant>, Reverse<u64>) {
        let start = self
            .voices
            .iter()
            .find(|v| v.client_id == client_id)
            .and_then(|v| v.spell_start);
        (start, Reverse(joined))
    }
}

/// Every meeting's voices, by meeting code.
#[derive(Default)]
pub(super) struct Speaking {
    rooms: HashMap<String, Room>,
    /// Meeting codes whose order changed in the last ticks (scratch).
    reordered: Vec<String>,
}

impl Speaking {
    /// Brings meeting `code`'s voices in line with its participants. A
    /// newcomer that named `"speaking"` gets the list in force, if anyone
    /// is speaking (it would otherwise wait for the next change).
    pub(super) fn sync(&mut self, code: &str, meeting: Option<&Meeting>, out: &mut Outbox) {
        let Some(meeting) = meeting else {
            self.rooms.remove(code);
            return;
        };
        let room = self.rooms.entry(code.to_string()).or_default();
        let before = room.voices.len();
        room.voices
            .retain(|v| meeting.participant(&v.client_id).is_some());
        if room.voices.len() != before {
            room.dirty = true;
        }
        for p in &meeting.participants {
            if !room.voices.iter().any(|v| v.client_id == p.client_id) {
                if named(p, Feature::Speaking) && !room.sent.is_empty() {
                    let client_ids = room.sent.clone();
                    out.send(p.conn, &ServerMessage::Speaking { client_ids });
                }
                room.voices.push(Voice {
                    client_id: p.client_id.clone(),
                    heard_at: None,
                    spell_start: None,
                    in_set: false,
                });
            }
        }
    }

    /// The ranking of meeting `code`.
    pub(super) fn order(&self, code: &str) -> SpeakingOrder<'_> {
        SpeakingOrder {
            voices: self.rooms.get(code).map_or(&[], |r| &r.voices),
        }
    }

    /// The mixer took `frame` from `client_id` of meeting `code` at `now`.
    pub(super) fn mixed(&mut self, code: &str, client_id: &str, frame: &Frame, now: Instant) {
        if !is_loud(frame) {
            return;
        }
        let Some(room) = self.rooms.get_mut(code) else {
            return;
        };
        let Some(v) = room.voices.iter_mut().find(|v| v.client_id == client_id) else {
            return;
        };
        let quiet = v
            .heard_at
            .is_none_or(|at| now.saturating_duration_since(at) > SPEAKING_WINDOW);
        if quiet {
            v.spell_start = Some(now);
        }
        v.heard_at = Some(now);
    }

    /// Updates each meeting's set and sends `speaking` where it changed and
    /// the interval allows; notes the meetings whose speaking order
    /// changed (for `last_n`).
    pub(super) fn tick(
        &mut self,
        meetings: &HashMap<String, Meeting>,
        now: Instant,
        out: &mut Outbox,
    ) {
        self.reordered.clear();
        for (code, room) in self.rooms.iter_mut() {
            let mut changed = false;
            for v in &mut room.voices {
                let in_set = v
                    .heard_at
                    .is_some_and(|at| now.saturating_duration_since(at) <= SPEAKING_WINDOW);
                if in_set != v.in_set {
                    v.in_set = in_set;
                    changed = true;
                }
            }
            if changed {
                room.dirty = true;
                self.reordered.push(code.clone());
            }
            let due = room
                .sent_at
                .is_none_or(|at| now.saturating_duration_since(at) >= SPEAKING_INTERVAL);
            if !room.dirty || !due {
                continue;
            }
            room.dirty = false;
            let mut speaking: Vec<&Voice> = room.voices.iter().filter(|v| v.in_set).collect();
            // Newest spell first; the sort is stable, so ties keep join order.
            speaking.sort_by_key(|v| Reverse(v.spell_start));
            let list: Vec<String> = speaking.iter().map(|v| v.client_id.clone()).collect();
            if list == room.sent {
                continue;
            }
            let Some(meeting) = meetings.get(code) else {
                continue;
            };
            room.sent_at = Some(now);
            room.sent = list.clone();
            let message = ServerMessage::Speaking { client_ids: list };
            let frame = super::frame_of(&message);
            for p in meeting
                .participants
                .iter()
                .filter(|p| named(p, Feature::Speaking))
            {
                out.send_frame(p.conn, frame.clone(), false);
            }
        }
    }

    /// The meetings whose speaking order changed in the last [`Speaking::tick`].
    pub(super) fn reordered(&self) -> &[String] {
        &self.reordered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanmeet_common::audio::FRAME_SAMPLES;

    #[test]
    fn minus_50_dbfs_is_the_threshold() {
        // A square wave of amplitude a has RMS a: -50 dBFS is about 103.6.
        let square = |a: i16| -> Frame {
            let mut f = [0i16; FRAME_SAMPLES];
            for (i, s) in f.iter_mut().enumerate() {
                *s = if i % 2 == 0 { a } else { -a };
            }
            f
        };
        assert!(!is_loud(&[0; FRAME_SAMPLES]));
        assert!(!is_loud(&square(103)));
        assert!(is_loud(&square(104)));
        assert!(is_loud(&square(i16::MAX)));
    }
}
