//! Attendance (PROTOCOL.md section 16): one row per stay, for the host on
//! request and as a CSV file when the meeting ends.
//!
//! ```text
//!  join / create      -> new row {username, client_id, joined_at, left_at: null, reason: null}
//!  leave (any reason) -> that row gets left_at and reason
//!  resume (sec. 14)   -> the same row again: left_at and reason back to null
//!  attendance_request -> attendance{meeting_code, started_at, rows} to the host
//!  last one out       -> Output::Attendance: <log dir>/attendance/<code>-<start>.csv
//!  the server stops   -> the same for every meeting, the stays still open
//!                        ending then ("server_stopped")
//! ```
//!
//! Times are server unix seconds in JSON and ISO 8601 UTC in the CSV.

use std::time::{Duration, Instant, UNIX_EPOCH};

use lanmeet_common::message::{AttendanceRow, ErrorCode, LeaveReason, ServerMessage};
use lanmeet_common::time::file_stamp;

use super::{ConnId, Core, Queued};

/// Rows one meeting keeps. Past it the oldest row of someone who has left
/// is forgotten, so a meeting's churn cannot grow it without bound.
pub const MAX_ATTENDANCE_ROWS: usize = 10_000;

/// One meeting's rows, in order of joining.
#[derive(Default)]
pub struct Attendance {
    rows: Vec<AttendanceRow>,
    /// Rows forgotten at the bound (said in the log and the CSV's name).
    pub forgotten: u64,
}

impl Attendance {
    /// `client_id` came in at `unix`: a new row, or its last row reopened
    /// when it comes back by a resume (client ids are never reused
    /// otherwise).
    pub fn joined(&mut self, client_id: &str, username: &str, unix: f64) {
        if let Some(row) = self
            .rows
            .iter_mut()
            .rev()
            .find(|r| r.client_id == client_id)
        {
            row.left_at = None;
            row.reason = None;
            return;
        }
        if self.rows.len() >= MAX_ATTENDANCE_ROWS {
            if let Some(at) = self.rows.iter().position(|r| r.left_at.is_some()) {
                self.rows.remove(at);
                self.forgotten += 1;
            }
        }
        self.rows.push(AttendanceRow {
            username: username.to_string(),
            client_id: client_id.to_string(),
            joined_at: unix,
            left_at: None,
            reason: None,
        });
    }

    /// `client_id` left at `unix` for `reason`.
    pub fn left(&mut self, client_id: &str, reason: LeaveReason, unix: f64) {
        if let Some(row) = self
            .rows
            .iter_mut()
            .rev()
            .find(|r| r.client_id == client_id && r.left_at.is_none())
        {
            row.left_at = Some(unix);
            row.reason = Some(reason);
        }
    }

    /// The rows, in order of joining.
    pub fn rows(&self) -> &[AttendanceRow] {
        &self.rows
    }

    /// The rows as CSV with a header line, times in ISO 8601 UTC.
    pub fn csv(&self) -> String {
        lanmeet_common::csv::attendance(&self.rows)
    }
}

/// The CSV's file name: `<meeting code>-<start time>.csv`.
pub fn file_name(code: &str, started_at: f64) -> String {
    let secs = if started_at.is_finite() {
        started_at.clamp(0.0, 1e12)
    } else {
        0.0
    };
    let start = UNIX_EPOCH + Duration::from_secs_f64(secs);
    format!("{code}-{}.csv", file_stamp(start))
}

impl Core {
    /// `client_id` was just admitted to meeting `code` (joined, created
    /// or came back by a resume).
    pub(super) fn record_join(&mut self, code: &str, client_id: &str) {
        let unix = self.unix_now(self.now);
        let Some(meeting) = self.meetings.get_mut(code) else {
            return;
        };
        if let Some(p) = meeting
            .participants
            .iter()
            .find(|p| p.client_id == client_id)
        {
            let username = p.username.clone();
            meeting.attendance.joined(client_id, &username, unix);
        }
    }

    /// `client_id` left meeting `code` for `reason`.
    pub(super) fn record_leave(&mut self, code: &str, client_id: &str, reason: LeaveReason) {
        let unix = self.unix_now(self.now);
        if let Some(meeting) = self.meetings.get_mut(code) {
            meeting.attendance.left(client_id, reason, unix);
        }
    }

    /// `attendance_request` from `client_id`: the rows, to the host only.
    pub(super) fn on_attendance_request(&mut self, conn: ConnId, client_id: &str, code: &str) {
        let Some(meeting) = self.meetings.get(code) else {
            return;
        };
        if !meeting.participant(client_id).is_some_and(|p| p.is_host) {
            self.out
                .error(conn, ErrorCode::NotHost, "only the host may do that");
            return;
        }
        let msg = ServerMessage::Attendance {
            meeting_code: code.to_string(),
            started_at: meeting.started_at,
            rows: meeting.attendance.rows().to_vec(),
        };
        self.out.send(conn, &msg);
    }

    /// Meeting `code` ends: its rows go to the shell as a CSV file.
    pub(super) fn save_attendance(&mut self, code: &str) {
        self.write_attendance(code, None);
    }

    /// The server stops at `now`: every meeting ends, each writing its
    /// attendance, in which the stays still open end at this moment
    /// (reason `server_stopped`). Nobody is told: the connections close
    /// with the process.
    pub fn stop(&mut self, now: Instant) {
        let unix = self.unix_now(now);
        let mut codes: Vec<String> = self.meetings.keys().cloned().collect();
        codes.sort();
        for code in codes {
            self.out
                .log(format!("meeting {code}: closed, the server stopping"));
            self.write_attendance(&code, Some(unix));
            self.meetings.remove(&code);
        }
    }

    /// Queues meeting `code`'s rows as a CSV file; `stopped_at`: the
    /// server stopped then, with people still in it.
    fn write_attendance(&mut self, code: &str, stopped_at: Option<f64>) {
        let Some(meeting) = self.meetings.get(code) else {
            return;
        };
        let file_name = file_name(code, meeting.started_at);
        if meeting.attendance.forgotten > 0 {
            self.out.log(format!(
                "meeting {code}: attendance kept the last {MAX_ATTENDANCE_ROWS} rows, {} older ones were forgotten",
                meeting.attendance.forgotten
            ));
        }
        let csv = match stopped_at {
            Some(at) => lanmeet_common::csv::attendance_at_stop(meeting.attendance.rows(), at),
            None => meeting.attendance.csv(),
        };
        self.out
            .queue
            .queued
            .push(Queued::Attendance { file_name, csv });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_continues_the_row_and_a_new_join_opens_one() {
        let mut a = Attendance::default();
        a.joined("c1", "Alice", 100.0);
        a.joined("c2", "Bob", 110.0);
        a.left("c2", LeaveReason::Timeout, 120.0);
        a.joined("c2", "Bob", 125.0);
        assert_eq!(a.rows().len(), 2);
        assert_eq!(a.rows()[1].joined_at, 110.0);
        assert_eq!(a.rows()[1].left_at, None);
        a.left("c2", LeaveReason::Left, 130.0);
        a.left("c1", LeaveReason::Left, 140.0);
        assert_eq!(a.rows()[0].reason, Some(LeaveReason::Left));
    }

    #[test]
    fn csv_has_a_header_iso_times_and_safe_cells() {
        let mut a = Attendance::default();
        a.joined("c1", "=SUM(A1), \"x\"", 1_763_700_000.5);
        a.left("c1", LeaveReason::Removed, 1_763_700_060.0);
        a.joined("c2", "Bob", 1_763_700_001.0);
        let csv = a.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "username,client_id,joined_at,left_at,reason");
        assert_eq!(
            lines[1],
            "\"'=SUM(A1), \"\"x\"\"\",c1,2025-11-21T04:40:00Z,2025-11-21T04:41:00Z,removed"
        );
        assert_eq!(lines[2], "Bob,c2,2025-11-21T04:40:01Z,,");
        assert_eq!(
            file_name("K7Q2XZ", 1_763_700_000.5),
            "K7Q2XZ-2025-11-21T04-40-00Z.csv"
        );
    }

    #[test]
    fn rows_are_bounded() {
        let mut a = Attendance::default();
        for i in 0..MAX_ATTENDANCE_ROWS + 10 {
            let id = format!("c{i}");
            a.joined(&id, "x", i as f64);
            a.left(&id, LeaveReason::Left, i as f64);
        }
        assert_eq!(a.rows().len(), MAX_ATTENDANCE_ROWS);
        assert_eq!(a.forgotten, 10);
    }
}
