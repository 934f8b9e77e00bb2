//! Wall-clock helpers shared by both sides: protocol timestamps (unix
//! seconds as a JSON number) and the UTC stamp that names a log file.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in seconds, with the fraction, as chat and hand-raise stamps use.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `YYYY-MM-DDTHH-MM-SSZ` in UTC: sorts by time and is a valid file name on
/// every system (no colons).
pub fn file_stamp(t: SystemTime) -> String {
    let u = Utc::of(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z",
        u.year, u.month, u.day, u.hour, u.minute, u.second
    )
}

/// `YYYY-MM-DD HH:MM:SS.mmmZ` in UTC, for the start of a log line.
pub fn log_stamp(t: SystemTime) -> String {
    let u = Utc::of(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}Z",
        u.year, u.month, u.day, u.hour, u.minute, u.second, u.millis
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` (ISO 8601, UTC) for a unix time in seconds, as
/// the attendance CSV writes times; times before 1970 read as 1970.
pub fn iso8601_utc(unix: f64) -> String {
    let secs = if unix.is_finite() {
        unix.clamp(0.0, 1e12)
    } else {
        0.0
    };
    let t = UNIX_EPOCH + std::time::Duration::from_secs_f64(secs);
    let u = Utc::of(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        u.year, u.month, u.day, u.hour, u.minute, u.second
    )
}

/// A moment as UTC calendar fields.
struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    millis: u32,
}

impl Utc {
    fn of(t: SystemTime) -> Utc {
        let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (year, month, day) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        Utc {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            millis: since.subsec_millis(),
        }
    }
}

/// Days since 1970-01-01 to a (year, month, day) date, after Howard
/// Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps() {
        assert_eq!(file_stamp(UNIX_EPOCH), "1970-01-01T00-00-00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_763_700_000);
        assert_eq!(file_stamp(t), "2025-11-21T04-40-00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(file_stamp(leap), "2000-02-29T00-00-00Z");
        assert_eq!(iso8601_utc(1_763_700_000.75), "2025-11-21T04:40:00Z");
        assert_eq!(iso8601_utc(-5.0), "1970-01-01T00:00:00Z");
        assert_eq!(
            unix_seconds(t + Duration::from_millis(250)),
            1_763_700_000.25
        );
    }
}
