//! When each datagram of a video frame leaves: spread over a few
//! milliseconds, not sent as one burst.
//!
//! A 640x480 camera frame of ~24 KB is 18 datagrams of 1400 bytes. Sent
//! back to back they leave within a fraction of a millisecond: a burst
//! that every queue on the way must hold at once (the sender's socket, a
//! switch port, a Wi-Fi access point, the server's socket, then each
//! receiver's socket as the server relays it), and thirty cameras of a
//! class make thirty such bursts. Spread over ~6 ms the same frame is a
//! steady ~30 Mbit/s, and a queue only ever holds a few datagrams. The
//! receiver loses nothing by it: the frame is shown when its last
//! fragment is in, a few milliseconds later, far inside a frame interval.
//!
//! ```text
//!  frame due                                               next frame due
//!  |-- encode --|T0 T1 T2 V0 V1 V2 ... V17|                       |
//!               |<------- spread -------->|                       |
//!               |<----------------- budget (time left) ---------->|
//!  spread = FRAGMENT_GAP x (count - 1), at most MAX_SPREAD and half the budget
//! ```
//!
//! The thumbnail layer goes first: it is the picture most receivers show,
//! and its few datagrams delay the full layer by about a millisecond.
//! Capping the spread at half the time left before the next frame means a
//! slow encode shortens the spread instead of making the next frame late.
//! Pure arithmetic on durations; the video sender thread
//! (`shell/threads.rs`) does the sleeping.

use std::time::Duration;

/// Time between two datagrams of one frame: 1400 bytes every 350 µs is
/// 32 Mbit/s, a tenth of what a crowded Wi-Fi cell still carries.
pub const FRAGMENT_GAP: Duration = Duration::from_micros(350);

/// The longest a frame's datagrams are spread over.
pub const MAX_SPREAD: Duration = Duration::from_millis(8);

/// How long `count` datagrams are spread over when the next frame is due
/// in `budget`.
pub fn spread(count: usize, budget: Duration) -> Duration {
    let gaps = u32::try_from(count.saturating_sub(1)).unwrap_or(u32::MAX);
    FRAGMENT_GAP
        .saturating_mul(gaps)
        .min(MAX_SPREAD)
        .min(budget / 2)
}

/// When datagram `index` of `count` is due, counted from when the first
/// one goes out; evenly spaced over [`spread`], the first at zero.
pub fn offset(index: usize, count: usize, budget: Duration) -> Duration {
    if count <= 1 {
        return Duration::ZERO;
    }
    let index = index.min(count - 1);
    // Nanoseconds: spread (<= 8 ms) times index (< 256 in a frame) fits.
    let nanos = spread(count, budget).as_nanos() * index as u128 / (count - 1) as u128;
    Duration::from_nanos(nanos as u64)
}

/// The offsets of all `count` datagrams, in order.
pub fn offsets(count: usize, budget: Duration) -> impl Iterator<Item = Duration> {
    (0..count).map(move |i| offset(i, count, budget))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_camera_frame_is_spread_over_a_few_milliseconds() {
        // 24 KB: 18 full-layer datagrams, at 20 fps after a 10 ms encode.
        let all: Vec<Duration> = offsets(18, 40 * MS).collect();
        assert_eq!(all.len(), 18);
        assert_eq!(all[0], Duration::ZERO);
        assert_eq!(all[17], FRAGMENT_GAP * 17);
        assert!(all[17] >= 4 * MS && all[17] <= 8 * MS, "{:?}", all[17]);
        for pair in all.windows(2) {
            assert!(pair[1] > pair[0]);
            assert!(pair[1] - pair[0] <= FRAGMENT_GAP);
        }
        // With a thumbnail's 5 in front it stays under the cap.
        assert_eq!(spread(23, 40 * MS), FRAGMENT_GAP * 22);
        assert!(spread(23, 40 * MS) <= MAX_SPREAD);
    }

    #[test]
    fn a_big_frame_is_capped_and_never_makes_the_next_one_late() {
        assert_eq!(spread(256, 40 * MS), MAX_SPREAD);
        assert_eq!(offset(255, 256, 40 * MS), MAX_SPREAD);
        // A slow encode left 6 ms: half of it.
        assert_eq!(spread(18, 6 * MS), 3 * MS);
        assert_eq!(offset(17, 18, 6 * MS), 3 * MS);
        // Already late: everything at once, as before pacing.
        assert!(offsets(18, Duration::ZERO).all(|d| d.is_zero()));
    }

    #[test]
    fn one_datagram_goes_at_once() {
        assert_eq!(offset(0, 1, 40 * MS), Duration::ZERO);
        assert_eq!(offsets(0, 40 * MS).count(), 0);
        assert_eq!(spread(1, 40 * MS), Duration::ZERO);
        // An index past the end is the last one.
        assert_eq!(offset(40, 18, 40 * MS), offset(17, 18, 40 * MS));
    }
}
