//! The CSV files of sections 15 and 16 (attendance, poll results), as
//! RFC 4180 text that spreadsheets open: a header line, CRLF line ends,
//! cells quoted where needed.
//!
//! Names come from participants, so a cell starting with `=`, `+`, `-` or
//! `@` gets a leading `'`: a spreadsheet then shows the name instead of
//! running it as a formula.

use crate::message::{AttendanceRow, LeaveReason, PollResults};
use crate::time::iso8601_utc;

/// One cell.
pub fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn reason_word(reason: LeaveReason) -> &'static str {
    match reason {
        LeaveReason::Left => "left",
        LeaveReason::Timeout => "timeout",
        LeaveReason::Removed => "removed",
        LeaveReason::Error => "error",
    }
}

/// The reason a row still open gets when the server stops: a word of the
/// file alone (on the wire such a stay never ended).
pub const SERVER_STOPPED: &str = "server_stopped";

/// Attendance rows with the header
/// `username,client_id,joined_at,left_at,reason`; times in ISO 8601 UTC,
/// `left_at` and `reason` empty while present.
pub fn attendance(rows: &[AttendanceRow]) -> String {
    attendance_rows(rows, None)
}

/// The same for a meeting the server stopped at `stopped_at` (unix
/// seconds): the rows of those still in it end then, with the reason
/// [`SERVER_STOPPED`].
pub fn attendance_at_stop(rows: &[AttendanceRow], stopped_at: f64) -> String {
    attendance_rows(rows, Some(stopped_at))
}

fn attendance_rows(rows: &[AttendanceRow], stopped_at: Option<f64>) -> String {
    let mut csv = String::from("username,client_id,joined_at,left_at,reason\r\n");
    for r in rows {
        let (left_at, reason) = match (r.left_at, stopped_at) {
            (Some(at), _) => (Some(at), r.reason.map(reason_word).unwrap_or_default()),
            (None, Some(stop)) => (Some(stop), SERVER_STOPPED),
            (None, None) => (None, ""),
        };
        let fields = [
            cell(&r.username),
            cell(&r.client_id),
            iso8601_utc(r.joined_at),
            left_at.map(iso8601_utc).unwrap_or_default(),
            reason.to_string(),
        ];
        csv.push_str(&fields.join(","));
        csv.push_str("\r\n");
    }
    csv
}

/// Poll results: `option,count` per option and a `voters` line; for a
/// poll that was not anonymous, then a blank line and
/// `voter,client_id,choices` per voter (choices joined with `; `).
pub fn poll_results(results: &PollResults) -> String {
    let mut csv = format!("question,{}\r\noption,count\r\n", cell(&results.question));
    for (option, count) in results.options.iter().zip(&results.counts) {
        csv.push_str(&format!("{},{count}\r\n", cell(option)));
    }
    csv.push_str(&format!("voters,{}\r\n", results.voters));
    if let Some(votes) = &results.votes {
        csv.push_str("\r\nvoter,client_id,choices\r\n");
        for (client_id, vote) in votes {
            let chosen: Vec<&str> = vote
                .choices
                .iter()
                .filter_map(|&c| results.options.get(c as usize).map(String::as_str))
                .collect();
            csv.push_str(&format!(
                "{},{},{}\r\n",
                cell(&vote.username),
                cell(client_id),
                cell(&chosen.join("; "))
            ));
        }
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::PollVoteInfo;

    #[test]
    fn cells_are_quoted_and_defused() {
        assert_eq!(cell("Bob"), "Bob");
        assert_eq!(cell("Bob, Jr."), "\"Bob, Jr.\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("-1"), "'-1");
    }

    #[test]
    fn attendance_rows() {
        let rows = [
            AttendanceRow {
                username: "Ann".into(),
                client_id: "c1".into(),
                joined_at: 1_763_700_000.5,
                left_at: Some(1_763_700_060.0),
                reason: Some(LeaveReason::Removed),
            },
            AttendanceRow {
                username: "Bob".into(),
                client_id: "c2".into(),
                joined_at: 1_763_700_001.0,
                left_at: None,
                reason: None,
            },
        ];
        assert_eq!(
            attendance(&rows),
            "username,client_id,joined_at,left_at,reason\r\n\
             Ann,c1,2025-11-21T04:40:00Z,2025-11-21T04:41:00Z,removed\r\n\
             Bob,c2,2025-11-21T04:40:01Z,,\r\n"
        );
        // The server stopped with Bob still in: his stay ends then; Ann's
        // is as it was.
        assert_eq!(
            attendance_at_stop(&rows, 1_763_700_120.0),
            "username,client_id,joined_at,left_at,reason\r\n\
             Ann,c1,2025-11-21T04:40:00Z,2025-11-21T04:41:00Z,removed\r\n\
             Bob,c2,2025-11-21T04:40:01Z,2025-11-21T04:42:00Z,server_stopped\r\n"
        );
    }

    #[test]
    fn poll_results_with_votes() {
        let mut votes = std::collections::BTreeMap::new();
        votes.insert(
            "c3".to_string(),
            PollVoteInfo {
                username: "Bob, Jr.".into(),
                choices: vec![0, 1],
            },
        );
        let results = PollResults {
            poll_id: "p1".into(),
            question: "Which?".into(),
            options: vec!["=1+1".into(), "Two".into()],
            counts: vec![1, 1],
            voters: 1,
            votes: Some(votes),
        };
        assert_eq!(
            poll_results(&results),
            "question,Which?\r\noption,count\r\n'=1+1,1\r\nTwo,1\r\nvoters,1\r\n\r\n\
             voter,client_id,choices\r\n\"Bob, Jr.\",c3,'=1+1; Two\r\n"
        );
    }
}
