//! Where things go on screen and in lists, as plain functions of plain
//! data: the tile grid, the screen-share stage with its strip, the order
//! of the participant list, what a host's per-person menu offers, and how
//! sizes, rates and times are written.
//!
//! Nothing here touches a widget, so all of it is unit-tested below; the
//! widget modules (`grid.rs`, `sidebar.rs`, ...) only draw what these
//! functions decide.

use lanmeet_client::Participant;

/// A rectangle in window pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
}

impl Rect {
    /// A rectangle from its four numbers.
    pub const fn new(x: i32, y: i32, w: i32, h: i32) -> Rect {
        Rect { x, y, w, h }
    }

    /// The same rectangle shrunk by `by` pixels on every side.
    pub fn inset(self, by: i32) -> Rect {
        Rect::new(
            self.x + by,
            self.y + by,
            (self.w - 2 * by).max(0),
            (self.h - 2 * by).max(0),
        )
    }
}

/// Video tiles are drawn 4:3, the shape of the default camera size.
const TILE_ASPECT: (i32, i32) = (4, 3);

/// The largest `aspect` rectangle that fits in `w` x `h`.
fn fit_aspect(w: i32, h: i32, aspect: (i32, i32)) -> (i32, i32) {
    if w <= 0 || h <= 0 {
        return (0, 0);
    }
    let by_width = (w, w * aspect.1 / aspect.0);
    if by_width.1 <= h {
        by_width
    } else {
        (h * aspect.0 / aspect.1, h)
    }
}

/// Columns and rows for `n` tiles in `w` x `h`: the shape that gives the
/// largest tiles. In a landscape area that is 1, 2x1, 2x2, 3x2, 3x3,
/// 4x3, ... so the grid grows through 1, 2, 4, 6, 9, 12 tiles.
pub fn grid_shape(n: usize, w: i32, h: i32, gap: i32) -> (usize, usize) {
    if n == 0 {
        return (0, 0);
    }
    let mut best = (1, n, -1i64);
    for cols in 1..=n {
        let rows = n.div_ceil(cols);
        let cell_w = (w - gap * (cols as i32 - 1)) / cols as i32;
        let cell_h = (h - gap * (rows as i32 - 1)) / rows as i32;
        let (tw, th) = fit_aspect(cell_w, cell_h, TILE_ASPECT);
        let area = i64::from(tw) * i64::from(th);
        // `>` keeps the shape with fewer columns on a tie.
        if area > best.2 {
            best = (cols, rows, area);
        }
    }
    (best.0, best.1)
}

/// The rectangles of `n` tiles in `area`, in reading order, each 4:3,
/// the whole grid centred and a short last row centred too.
pub fn grid_tiles(area: Rect, n: usize, gap: i32) -> Vec<Rect> {
    let (cols, rows) = grid_shape(n, area.w, area.h, gap);
    if cols == 0 {
        return Vec::new();
    }
    let cell_w = (area.w - gap * (cols as i32 - 1)) / cols as i32;
    let cell_h = (area.h - gap * (rows as i32 - 1)) / rows as i32;
    let (tw, th) = fit_aspect(cell_w, cell_h, TILE_ASPECT);
    let grid_h = rows as i32 * th + (rows as i32 - 1) * gap;
    let top = area.y + (area.h - grid_h) / 2;
    let mut tiles = Vec::with_capacity(n);
    for row in 0..rows {
        let in_row = (n - row * cols).min(cols) as i32;
        let row_w = in_row * tw + (in_row - 1) * gap;
        let left = area.x + (area.w - row_w) / 2;
        for col in 0..in_row {
            tiles.push(Rect::new(
                left + col * (tw + gap),
                top + row as i32 * (th + gap),
                tw,
                th,
            ));
        }
    }
    tiles
}

/// The stage while someone presents: the screen on top, the people in a
/// strip below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLayout {
    /// Where the shared screen goes.
    pub screen: Rect,
    /// The tiles that fit in the strip, in order.
    pub strip: Vec<Rect>,
    /// How many people did not fit (shown as "+N" on the last tile).
    pub hidden: usize,
}

/// The smallest strip tile height: below it names no longer fit.
const MIN_STRIP_H: i32 = 72;

/// Lays out a screen share with `n` people in a strip along the bottom.
pub fn share_layout(area: Rect, n: usize, gap: i32) -> ShareLayout {
    // Tiles shrink (down to a readable minimum) so that more people fit
    // before the last slot turns into "+N".
    let max_h = (area.h / 5).clamp(MIN_STRIP_H, 150).min(area.h / 2);
    let width_each = if n > 0 {
        (area.w - gap * (n as i32 - 1)) / n as i32
    } else {
        area.w
    };
    let strip_h = (width_each * TILE_ASPECT.1 / TILE_ASPECT.0)
        .min(max_h)
        .max(MIN_STRIP_H.min(max_h));
    let screen = Rect::new(area.x, area.y, area.w, area.h - strip_h - gap);
    let (tw, th) = fit_aspect(
        strip_h * TILE_ASPECT.0 / TILE_ASPECT.1,
        strip_h,
        TILE_ASPECT,
    );
    let fit = if tw > 0 {
        ((area.w + gap) / (tw + gap)).max(1) as usize
    } else {
        0
    };
    let shown = n.min(fit);
    let hidden = n - shown;
    let row_w = shown as i32 * tw + (shown as i32 - 1).max(0) * gap;
    let left = area.x + (area.w - row_w) / 2;
    let top = area.y + area.h - th;
    let strip = (0..shown as i32)
        .map(|i| Rect::new(left + i * (tw + gap), top, tw, th))
        .collect();
    ShareLayout {
        screen,
        strip,
        hidden,
    }
}

/// Why one person has the large place on the stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The host put them on everyone's stage (section 17).
    Spotlight,
    /// We pinned them (a local choice).
    Pinned,
    /// Speaker view: they spoke last.
    Speaker,
}

/// What decides the stage, besides the tiles.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageChoice<'a> {
    /// Someone presents a screen.
    pub presenting: bool,
    /// The host's spotlight.
    pub spotlight: Option<&'a str>,
    /// Our pin.
    pub pinned: Option<&'a str>,
    /// Speaker view is on, with this person large.
    pub speaker: Option<&'a str>,
}

/// Where everything on the stage goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StagePlan {
    /// The shared screen's place, while someone presents.
    pub screen: Option<Rect>,
    /// The person in the large place: their tile index, where, and why.
    pub star: Option<(usize, Rect, Focus)>,
    /// The other tiles shown: tile index and place.
    pub tiles: Vec<(usize, Rect)>,
    /// The tiles are a strip of small ones (not a grid).
    pub strip: bool,
    /// The "+N" slot at the end of a full strip, and N.
    pub more: Option<(Rect, usize)>,
    /// Tile indices with no place (behind the "+N").
    pub hidden: Vec<usize>,
}

/// Lays out the stage for `ids` (the tiles in order). The large place
/// goes, first that applies, to a shared screen, the host's spotlight,
/// our pin, and the speaker of speaker view; without any of them the
/// stage is a grid of everyone.
pub fn plan_stage(area: Rect, ids: &[&str], choice: StageChoice<'_>, gap: i32) -> StagePlan {
    let find = |id: Option<&str>| id.and_then(|id| ids.iter().position(|t| *t == id));
    let star = if choice.presenting {
        None
    } else if let Some(i) = find(choice.spotlight) {
        Some((i, Focus::Spotlight))
    } else if let Some(i) = find(choice.pinned) {
        Some((i, Focus::Pinned))
    } else {
        find(choice.speaker).map(|i| (i, Focus::Speaker))
    };
    if !choice.presenting && star.is_none() {
        let rects = grid_tiles(area, ids.len(), gap);
        return StagePlan {
            tiles: rects.into_iter().enumerate().collect(),
            ..StagePlan::default()
        };
    }
    let others: Vec<usize> = (0..ids.len())
        .filter(|&i| star.is_none_or(|(s, _)| s != i))
        .collect();
    let share = share_layout(area, others.len(), gap);
    let mut plan = StagePlan {
        strip: true,
        ..StagePlan::default()
    };
    match star {
        Some((i, focus)) => plan.star = Some((i, share.screen, focus)),
        None => plan.screen = Some(share.screen),
    }
    let shown = share.strip.len();
    for (n, (i, rect)) in others.iter().zip(share.strip).enumerate() {
        if n + 1 == shown && share.hidden > 0 {
            plan.more = Some((rect, share.hidden + 1));
        } else {
            plan.tiles.push((*i, rect));
        }
    }
    let placed = plan.tiles.len();
    plan.hidden = others[placed..].to_vec();
    plan
}

/// The tile under the point (x, y), if any.
pub fn tile_at(plan: &StagePlan, x: i32, y: i32) -> Option<usize> {
    let inside = |r: &Rect| x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
    plan.star
        .iter()
        .map(|(i, r, _)| (*i, *r))
        .chain(plan.tiles.iter().copied())
        .find(|(_, r)| inside(r))
        .map(|(i, _)| i)
}

/// Where an image of `src_w` x `src_h` goes in `into`, keeping its shape
/// and centred (letterboxed).
pub fn fit_image(src_w: i32, src_h: i32, into: Rect) -> Rect {
    if src_w <= 0 || src_h <= 0 || into.w <= 0 || into.h <= 0 {
        return Rect::new(into.x, into.y, 0, 0);
    }
    let (w, h) = if i64::from(into.w) * i64::from(src_h) <= i64::from(into.h) * i64::from(src_w) {
        (
            into.w,
            (i64::from(into.w) * i64::from(src_h) / i64::from(src_w)) as i32,
        )
    } else {
        (
            (i64::from(into.h) * i64::from(src_w) / i64::from(src_h)) as i32,
            into.h,
        )
    };
    Rect::new(into.x + (into.w - w) / 2, into.y + (into.h - h) / 2, w, h)
}

/// Up to two initials for a name's placeholder tile: "Ada Lovelace" is
/// "AL", "bob" is "B".
pub fn initials(name: &str) -> String {
    let mut words = name.split_whitespace();
    let first = words.next().and_then(|w| w.chars().next());
    let last = words.last().and_then(|w| w.chars().next());
    first
        .into_iter()
        .chain(last)
        .flat_map(char::to_uppercase)
        .collect()
}

/// The order of the video tiles: ourselves first (people look for their
/// own picture in one place), then everyone else in the order they came.
pub fn tile_order(participants: &[Participant]) -> Vec<&Participant> {
    let mut order: Vec<&Participant> = participants.iter().filter(|p| p.is_me).collect();
    order.extend(participants.iter().filter(|p| !p.is_me));
    order
}

/// The order of the participant list: raised hands first, in the order
/// they went up, then the host, then everyone else by name.
pub fn people_order(participants: &[Participant]) -> Vec<&Participant> {
    let mut hands: Vec<&Participant> = participants.iter().filter(|p| p.hand_raised).collect();
    hands.sort_by(|a, b| {
        a.raised_at
            .unwrap_or(f64::MAX)
            .total_cmp(&b.raised_at.unwrap_or(f64::MAX))
    });
    let mut rest: Vec<&Participant> = participants.iter().filter(|p| !p.hand_raised).collect();
    rest.sort_by(|a, b| {
        b.is_host
            .cmp(&a.is_host)
            .then_with(|| a.username.to_lowercase().cmp(&b.username.to_lowercase()))
    });
    hands.extend(rest);
    hands
}

/// The position (1 = first) of a participant's hand in the raise order.
pub fn hand_position(participants: &[Participant], client_id: &str) -> Option<usize> {
    let mut hands: Vec<&Participant> = participants.iter().filter(|p| p.hand_raised).collect();
    hands.sort_by(|a, b| {
        a.raised_at
            .unwrap_or(f64::MAX)
            .total_cmp(&b.raised_at.unwrap_or(f64::MAX))
    });
    hands
        .iter()
        .position(|p| p.client_id == client_id)
        .map(|i| i + 1)
}

/// Whose voice the meeting's sound carries, when that can be known: the
/// server mixes everyone but us into one stream and does not say who is
/// in it, so the sound can be pinned on someone only when they are the
/// one other person with an open microphone.
pub fn lone_unmuted(participants: &[Participant]) -> Option<&str> {
    let mut open = participants.iter().filter(|p| !p.is_me && !p.muted);
    match (open.next(), open.next()) {
        (Some(p), None) => Some(p.client_id.as_str()),
        _ => None,
    }
}

/// One entry of the per-person menu in the participant list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonAction {
    /// Open a private chat with them (anyone may).
    PrivateChat,
    /// Host: take them out of the mix.
    Mute,
    /// Host: put them back in the mix.
    Unmute,
    /// Host: stop them unmuting themselves.
    LockMic,
    /// Host: let them unmute again.
    UnlockMic,
    /// Host: ask them to unmute.
    AskToUnmute,
    /// Host: ask them to turn their camera on.
    AskForVideo,
    /// Host: lower their raised hand.
    LowerHand,
    /// Host: hand the host role over.
    MakeHost,
    /// Host: remove them from the meeting.
    Remove,
}

impl PersonAction {
    /// The menu text.
    pub fn label(self) -> &'static str {
        match self {
            PersonAction::PrivateChat => "Send a private message",
            PersonAction::Mute => "Mute",
            PersonAction::Unmute => "Unmute",
            PersonAction::LockMic => "Lock microphone",
            PersonAction::UnlockMic => "Unlock microphone",
            PersonAction::AskToUnmute => "Ask to unmute",
            PersonAction::AskForVideo => "Ask to start video",
            PersonAction::LowerHand => "Lower hand",
            PersonAction::MakeHost => "Make host",
            PersonAction::Remove => "Remove from meeting",
        }
    }
}

/// One entry of the host's "Everyone" menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EveryoneAction {
    /// Mute everyone else; they may unmute.
    MuteAll,
    /// Mute everyone else and lock their microphones.
    MuteAllAndLock,
    /// Put everyone back in the mix (and unlock).
    UnmuteAll,
    /// Ask everyone to unmute.
    AskAllToUnmute,
    /// Ask everyone to start their camera.
    AskAllForVideo,
}

impl EveryoneAction {
    /// Every entry, in menu order.
    pub const ALL: [EveryoneAction; 5] = [
        EveryoneAction::MuteAll,
        EveryoneAction::MuteAllAndLock,
        EveryoneAction::UnmuteAll,
        EveryoneAction::AskAllToUnmute,
        EveryoneAction::AskAllForVideo,
    ];

    /// The menu text.
    pub fn label(self) -> &'static str {
        match self {
            EveryoneAction::MuteAll => "Mute everyone",
            EveryoneAction::MuteAllAndLock => "Mute everyone and lock microphones",
            EveryoneAction::UnmuteAll => "Unmute everyone",
            EveryoneAction::AskAllToUnmute => "Ask everyone to unmute",
            EveryoneAction::AskAllForVideo => "Ask everyone to start video",
        }
    }

    /// What it tells the meeting, and what the host is told it did.
    pub fn command(self) -> (lanmeet_common::ClientMessage, &'static str) {
        use lanmeet_common::ClientMessage as M;
        match self {
            EveryoneAction::MuteAll => (
                M::MuteAll { lock: false },
                "Everyone else is muted. They can unmute themselves.",
            ),
            EveryoneAction::MuteAllAndLock => (
                M::MuteAll { lock: true },
                "Everyone else is muted and their microphones are locked.",
            ),
            EveryoneAction::UnmuteAll => (M::UnmuteAll, "Everyone is unmuted."),
            EveryoneAction::AskAllToUnmute => {
                (M::RequestAllUnmute, "Everyone was asked to unmute.")
            }
            EveryoneAction::AskAllForVideo => {
                (M::RequestAllVideo, "Everyone was asked to start video.")
            }
        }
    }
}

/// What the per-person menu offers for `target` when we are (or are not)
/// the host. Only what makes sense now is offered: "Unmute" for someone
/// muted, "Lower hand" for a raised hand, nothing host-only on ourselves.
pub fn person_menu(target: &Participant, am_host: bool) -> Vec<PersonAction> {
    if target.is_me {
        return Vec::new();
    }
    let mut items = vec![PersonAction::PrivateChat];
    if !am_host {
        return items;
    }
    items.push(if target.muted {
        PersonAction::Unmute
    } else {
        PersonAction::Mute
    });
    items.push(if target.mic_locked {
        PersonAction::UnlockMic
    } else {
        PersonAction::LockMic
    });
    if target.muted && !target.mic_locked {
        items.push(PersonAction::AskToUnmute);
    }
    if !target.video {
        items.push(PersonAction::AskForVideo);
    }
    if target.hand_raised {
        items.push(PersonAction::LowerHand);
    }
    items.push(PersonAction::MakeHost);
    items.push(PersonAction::Remove);
    items
}

/// A byte count for people: "812 B", "14.2 KB", "3.5 MB", "1.20 GB".
pub fn format_size(bytes: u64) -> String {
    const KB: f64 = 1000.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.1} KB", b / KB)
    } else if b < KB * KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else {
        format!("{:.2} GB", b / (KB * KB * KB))
    }
}

/// A transfer rate: "1.2 MB/s".
pub fn format_rate(bytes_per_second: f64) -> String {
    if !bytes_per_second.is_finite() || bytes_per_second < 0.0 {
        return "-".into();
    }
    format!("{}/s", format_size(bytes_per_second as u64))
}

/// A chat timestamp (unix seconds) as "HH:MM", shifted by the local
/// offset from UTC in seconds.
pub fn format_clock(unix_seconds: f64, utc_offset_seconds: i64) -> String {
    if !unix_seconds.is_finite() {
        return "--:--".into();
    }
    let local = unix_seconds as i64 + utc_offset_seconds;
    let of_day = local.rem_euclid(86_400);
    format!("{:02}:{:02}", of_day / 3600, of_day % 3600 / 60)
}

/// Percent done of a transfer, 0..=100.
pub fn percent(bytes: u64, size: u64) -> f64 {
    if size == 0 {
        100.0
    } else {
        (bytes as f64 * 100.0 / size as f64).clamp(0.0, 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn the_stage_is_a_grid_until_something_takes_the_large_place() {
        let area = Rect::new(0, 0, 922, 690);
        let ids = ids(30);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let plan = plan_stage(area, &refs, StageChoice::default(), 8);
        assert_eq!(plan.tiles.len(), 30);
        assert!(plan.star.is_none() && plan.screen.is_none() && plan.hidden.is_empty());
        // A class of 30 in a grid: every tile far below 320 pixels.
        assert!(
            plan.tiles.iter().all(|(_, r)| r.w < 200),
            "{:?}",
            plan.tiles[0]
        );
    }

    #[test]
    fn screen_then_spotlight_then_pin_then_speaker() {
        let area = Rect::new(0, 0, 922, 690);
        let ids = ids(12);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let all = StageChoice {
            presenting: true,
            spotlight: Some("c3"),
            pinned: Some("c4"),
            speaker: Some("c5"),
        };
        let plan = plan_stage(area, &refs, all, 8);
        assert!(plan.screen.is_some() && plan.star.is_none());
        let plan = plan_stage(
            area,
            &refs,
            StageChoice {
                presenting: false,
                ..all
            },
            8,
        );
        assert_eq!(
            plan.star.map(|(i, _, f)| (i, f)),
            Some((3, Focus::Spotlight))
        );
        let no_spot = StageChoice {
            presenting: false,
            spotlight: None,
            ..all
        };
        let plan = plan_stage(area, &refs, no_spot, 8);
        assert_eq!(plan.star.map(|(i, _, f)| (i, f)), Some((4, Focus::Pinned)));
        let speaker = StageChoice {
            pinned: Some("gone"),
            ..no_spot
        };
        let plan = plan_stage(area, &refs, speaker, 8);
        let (i, stage, focus) = plan.star.unwrap();
        assert_eq!((i, focus), (5, Focus::Speaker));
        assert!(stage.w >= 320);
        // The others in the strip, small; nobody twice.
        assert!(plan.strip && plan.tiles.iter().all(|(t, r)| *t != 5 && r.w < 320));
    }

    #[test]
    fn a_full_strip_ends_in_more_and_hides_the_rest() {
        let area = Rect::new(0, 0, 922, 690);
        let ids = ids(30);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let choice = StageChoice {
            speaker: Some("c7"),
            ..StageChoice::default()
        };
        let plan = plan_stage(area, &refs, choice, 8);
        let (rect, n) = plan.more.unwrap();
        assert_eq!(n, plan.hidden.len());
        assert_eq!(plan.tiles.len() + plan.hidden.len() + 1, 30);
        assert!(!plan.hidden.contains(&7));
        assert_eq!(tile_at(&plan, rect.x + 1, rect.y + 1), None);
        let (i, r) = plan.tiles[2];
        assert_eq!(tile_at(&plan, r.x + 5, r.y + 5), Some(i));
        let (_, stage, _) = plan.star.unwrap();
        assert_eq!(tile_at(&plan, stage.x + 5, stage.y + 5), Some(7));
    }

    fn person(id: &str, name: &str) -> Participant {
        Participant {
            client_id: id.into(),
            username: name.into(),
            is_me: false,
            is_host: false,
            video: false,
            muted: false,
            mic_locked: false,
            hand_raised: false,
            raised_at: None,
        }
    }

    #[test]
    fn the_grid_grows_through_1_2_4_6_9_12() {
        let (w, h) = (1000, 640);
        let shapes: Vec<(usize, usize)> = (1..=12).map(|n| grid_shape(n, w, h, 8)).collect();
        assert_eq!(shapes[0], (1, 1));
        assert_eq!(shapes[1], (2, 1));
        assert_eq!(shapes[2], (2, 2));
        assert_eq!(shapes[3], (2, 2));
        assert_eq!(shapes[4], (3, 2));
        assert_eq!(shapes[5], (3, 2));
        assert_eq!(shapes[6], (3, 3));
        assert_eq!(shapes[8], (3, 3));
        assert_eq!(shapes[9], (4, 3));
        assert_eq!(shapes[11], (4, 3));
        assert_eq!(grid_shape(13, w, h, 8), (4, 4));
    }

    #[test]
    fn a_tall_area_stacks_two_tiles() {
        assert_eq!(grid_shape(2, 400, 900, 8), (1, 2));
    }

    #[test]
    fn tiles_are_inside_the_area_and_do_not_overlap() {
        let area = Rect::new(10, 20, 990, 610);
        for n in 1..=20 {
            let tiles = grid_tiles(area, n, 8);
            assert_eq!(tiles.len(), n);
            for (i, t) in tiles.iter().enumerate() {
                assert!(t.w > 0 && t.h > 0);
                assert!(t.x >= area.x && t.y >= area.y, "{n}: {t:?}");
                assert!(t.x + t.w <= area.x + area.w && t.y + t.h <= area.y + area.h);
                assert!((t.w * 3 - t.h * 4).abs() < 4, "4:3 up to rounding");
                for u in &tiles[i + 1..] {
                    let apart = t.x + t.w <= u.x
                        || u.x + u.w <= t.x
                        || t.y + t.h <= u.y
                        || u.y + u.h <= t.y;
                    assert!(apart, "{n}: {t:?} overlaps {u:?}");
                }
            }
        }
    }

    #[test]
    fn a_short_last_row_is_centred() {
        let tiles = grid_tiles(Rect::new(0, 0, 1000, 640), 3, 8);
        let last = tiles[2];
        let centre = last.x + last.w / 2;
        assert!((centre - 500).abs() <= 1, "{tiles:?}");
    }

    #[test]
    fn no_tiles_in_no_room() {
        assert!(grid_tiles(Rect::new(0, 0, 0, 0), 0, 8).is_empty());
        let t = grid_tiles(Rect::new(0, 0, 0, 0), 2, 8);
        assert!(t.iter().all(|r| r.w == 0 && r.h == 0));
    }

    #[test]
    fn a_share_keeps_a_strip_and_counts_who_did_not_fit() {
        let area = Rect::new(0, 0, 1000, 700);
        let s = share_layout(area, 3, 8);
        assert_eq!(s.strip.len(), 3);
        assert_eq!(s.hidden, 0);
        assert!(s.screen.h > area.h * 3 / 4 - 10);
        for t in &s.strip {
            assert!(t.y >= s.screen.y + s.screen.h);
            assert!(t.x >= 0 && t.x + t.w <= 1000);
        }
        let five = share_layout(Rect::new(0, 0, 906, 690), 5, 8);
        assert_eq!((five.strip.len(), five.hidden), (5, 0), "five fit, smaller");
        let crowded = share_layout(area, 40, 8);
        assert_eq!(crowded.strip.len() + crowded.hidden, 40);
        assert!(crowded.hidden > 0);
    }

    #[test]
    fn images_keep_their_shape() {
        let r = fit_image(640, 480, Rect::new(0, 0, 400, 400));
        assert_eq!(r, Rect::new(0, 50, 400, 300));
        let r = fit_image(1280, 720, Rect::new(10, 10, 100, 300));
        assert_eq!((r.w, r.x), (100, 10));
        assert_eq!(fit_image(0, 10, Rect::new(0, 0, 5, 5)).w, 0);
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("bob"), "B");
        assert_eq!(initials("  jean  paul  sartre "), "JS");
        assert_eq!(initials("émile zola"), "ÉZ");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn we_come_first_among_the_tiles() {
        let mut me = person("c3", "Me");
        me.is_me = true;
        let list = [person("c1", "A"), person("c2", "B"), me];
        let ids: Vec<&str> = tile_order(&list)
            .iter()
            .map(|p| p.client_id.as_str())
            .collect();
        assert_eq!(ids, ["c3", "c1", "c2"]);
    }

    #[test]
    fn hands_come_first_in_raise_order_then_host_then_names() {
        let mut a = person("c1", "zed");
        a.hand_raised = true;
        a.raised_at = Some(20.0);
        let mut b = person("c2", "amy");
        b.hand_raised = true;
        b.raised_at = Some(10.0);
        let mut host = person("c3", "Yves");
        host.is_host = true;
        let list = [a, person("c4", "bea"), host, b, person("c5", "Al")];
        let ids: Vec<&str> = people_order(&list)
            .iter()
            .map(|p| p.client_id.as_str())
            .collect();
        assert_eq!(ids, ["c2", "c1", "c3", "c5", "c4"]);
        assert_eq!(hand_position(&list, "c1"), Some(2));
        assert_eq!(hand_position(&list, "c2"), Some(1));
        assert_eq!(hand_position(&list, "c4"), None);
    }

    #[test]
    fn the_sound_is_pinned_only_on_a_lone_open_microphone() {
        let mut me = person("c0", "Me");
        me.is_me = true;
        let mut muted = person("c2", "B");
        muted.muted = true;
        let list = [me.clone(), person("c1", "A"), muted.clone()];
        assert_eq!(lone_unmuted(&list), Some("c1"));
        let list = [me.clone(), person("c1", "A"), person("c3", "C")];
        assert_eq!(lone_unmuted(&list), None);
        assert_eq!(lone_unmuted(&[me, muted]), None);
    }

    #[test]
    fn the_host_menu_offers_what_makes_sense() {
        let mut p = person("c1", "A");
        assert_eq!(person_menu(&p, false), [PersonAction::PrivateChat]);
        assert_eq!(
            person_menu(&p, true),
            [
                PersonAction::PrivateChat,
                PersonAction::Mute,
                PersonAction::LockMic,
                PersonAction::AskForVideo,
                PersonAction::MakeHost,
                PersonAction::Remove
            ]
        );
        p.muted = true;
        p.video = true;
        p.hand_raised = true;
        let m = person_menu(&p, true);
        assert!(m.contains(&PersonAction::Unmute));
        assert!(m.contains(&PersonAction::AskToUnmute));
        assert!(m.contains(&PersonAction::LowerHand));
        assert!(!m.contains(&PersonAction::AskForVideo));
        p.mic_locked = true;
        let m = person_menu(&p, true);
        assert!(m.contains(&PersonAction::UnlockMic));
        assert!(!m.contains(&PersonAction::AskToUnmute));
        p.is_me = true;
        assert!(person_menu(&p, true).is_empty());
    }

    #[test]
    fn the_everyone_menu_maps_to_commands() {
        use lanmeet_common::ClientMessage as M;
        let commands: Vec<M> = EveryoneAction::ALL.iter().map(|a| a.command().0).collect();
        assert_eq!(
            commands,
            [
                M::MuteAll { lock: false },
                M::MuteAll { lock: true },
                M::UnmuteAll,
                M::RequestAllUnmute,
                M::RequestAllVideo
            ]
        );
        let labels: std::collections::HashSet<&str> =
            EveryoneAction::ALL.iter().map(|a| a.label()).collect();
        assert_eq!(
            labels.len(),
            EveryoneAction::ALL.len(),
            "labels are distinct"
        );
    }

    #[test]
    fn sizes_rates_and_clocks() {
        assert_eq!(format_size(812), "812 B");
        assert_eq!(format_size(14_200), "14.2 KB");
        assert_eq!(format_size(3_500_000), "3.5 MB");
        assert_eq!(format_size(1_200_000_000), "1.20 GB");
        assert_eq!(format_rate(1_250_000.0), "1.2 MB/s");
        assert_eq!(format_rate(f64::NAN), "-");
        assert_eq!(format_clock(3600.0 * 13.0 + 60.0 * 7.0 + 5.0, 0), "13:07");
        assert_eq!(format_clock(3600.0, -7200), "23:00");
        assert_eq!(percent(50, 200), 25.0);
        assert_eq!(percent(0, 0), 100.0);
    }
}
