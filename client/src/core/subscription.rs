//! Section 11 on the receiving side: from what the window shows to the
//! `video_subscribe` it sends.
//!
//! ```text
//!  the window: who is shown, at what size   (Session::show_layout)
//!    --> Command::ShowLayout --> Subscriber::set_layout(layout, now)
//!          wanted layer per person: width >= 320 px full, smaller thumb,
//!          not shown none; the message that says it in the fewest words
//!    --> Subscriber::due(now) on that command and on every tick
//!    --> Output::Send(video_subscribe)
//! ```
//!
//! Pictures must not wait when someone appears: a person who got nothing
//! and is now shown is asked for at once. Every other change (a tile
//! shrinks, someone scrolls out of the strip, the window is resized) waits
//! [`DEBOUNCE`], so that a window being dragged to a new size sends one
//! message, not one per frame; while changes keep coming, one goes out
//! every [`DEBOUNCE`] at most.
//!
//! The message names a `default` for everyone and overrides for the rest
//! (at most [`MAX_OVERRIDES`]). The default is the layer most people get,
//! so a class of 30 in a grid is `{"default":"thumb"}` and a speaker view
//! with a strip of 7 is `{"default":"none"}` and 8 overrides. People who
//! join later get the default until the window shows them.
//!
//! Only a server that named `"layers"` gets the message: an older server
//! would answer `bad_request` to a type it does not know, and sends every
//! full layer anyway.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lanmeet_common::message::LayerChoice;
use lanmeet_common::ClientMessage;

/// Tiles at least this wide get the full layer; smaller ones the
/// thumbnail (which is at most 320 pixels wide, section 11).
pub const FULL_FROM_WIDTH: u32 = 320;
/// How long a change that takes nothing new waits for the next one.
pub const DEBOUNCE: Duration = Duration::from_millis(100);
/// The most overrides one `video_subscribe` may carry (section 11).
pub const MAX_OVERRIDES: usize = 64;

/// One person's tile on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownTile {
    /// Whose picture.
    pub client_id: String,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

/// What the window shows of the other participants' cameras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShownLayout {
    /// People with a tile on screen, at its size.
    pub shown: Vec<ShownTile>,
    /// People in the meeting without a tile (past the strip, behind "+N").
    pub hidden: Vec<String>,
}

/// The layer a tile of this width needs.
pub fn layer_for_width(width: u32) -> LayerChoice {
    if width >= FULL_FROM_WIDTH {
        LayerChoice::Full
    } else {
        LayerChoice::Thumb
    }
}

/// The layer each person needs for `layout`.
pub fn wanted_layers(layout: &ShownLayout) -> BTreeMap<String, LayerChoice> {
    let mut wanted: BTreeMap<String, LayerChoice> = layout
        .hidden
        .iter()
        .map(|id| (id.clone(), LayerChoice::None))
        .collect();
    for tile in &layout.shown {
        // Shown twice (never, in practice): the larger tile wins.
        let layer = layer_for_width(tile.width);
        let entry = wanted.entry(tile.client_id.clone()).or_insert(layer);
        if *entry == LayerChoice::None || layer == LayerChoice::Full {
            *entry = layer;
        }
    }
    wanted
}

/// How much a layer gives, to compare them.
fn rank(layer: LayerChoice) -> u8 {
    match layer {
        LayerChoice::None => 0,
        LayerChoice::Thumb => 1,
        LayerChoice::Full => 2,
    }
}

/// The shortest `video_subscribe` that gives everyone their layer: the
/// most common layer as the default (a tie goes to the thumbnail, then
/// nothing, so that someone who joins gets a small picture), the others
/// as overrides.
///
/// Past [`MAX_OVERRIDES`] the overrides that give more than the default
/// are kept first (a shown person without a picture is worse than a hidden
/// one whose thumbnail comes for nothing), the full ones before the rest.
pub fn subscription_for(wanted: &BTreeMap<String, LayerChoice>) -> ClientMessage {
    let count = |l: LayerChoice| wanted.values().filter(|&&w| w == l).count();
    let default_layer = [LayerChoice::Thumb, LayerChoice::None, LayerChoice::Full]
        .into_iter()
        .max_by_key(|&l| (count(l), std::cmp::Reverse(rank_for_tie(l))))
        .unwrap_or(LayerChoice::Thumb);
    let mut overrides: Vec<(&String, LayerChoice)> = wanted
        .iter()
        .filter(|(_, &l)| l != default_layer)
        .map(|(id, &l)| (id, l))
        .collect();
    if overrides.len() > MAX_OVERRIDES {
        // More than the default first, and of those the fuller layer.
        overrides.sort_by_key(|&(id, l)| {
            let more = rank(l) > rank(default_layer);
            (std::cmp::Reverse((more, rank(l))), id.clone())
        });
        overrides.truncate(MAX_OVERRIDES);
    }
    ClientMessage::VideoSubscribe {
        default_layer,
        last_n: None,
        overrides: overrides
            .into_iter()
            .map(|(id, l)| (id.clone(), l))
            .collect(),
    }
}

/// Ties for the default go to the thumbnail, then nothing, then full.
fn rank_for_tie(layer: LayerChoice) -> u8 {
    match layer {
        LayerChoice::Thumb => 0,
        LayerChoice::None => 1,
        LayerChoice::Full => 2,
    }
}

/// The layer `message` gives `id`.
fn layer_in(message: &ClientMessage, id: &str) -> LayerChoice {
    match message {
        ClientMessage::VideoSubscribe {
            default_layer,
            overrides,
            ..
        } => overrides.get(id).copied().unwrap_or(*default_layer),
        _ => LayerChoice::Full,
    }
}

/// Decides when to send which `video_subscribe`.
#[derive(Debug, Default)]
pub struct Subscriber {
    /// The server named `"layers"`: send subscriptions at all.
    enabled: bool,
    /// What the server was last told (`None`: nothing yet, it sends every
    /// full layer).
    sent: Option<ClientMessage>,
    /// The message to send and when.
    pending: Option<(ClientMessage, Instant)>,
    /// The last layout handed over, to skip work when nothing moved.
    last_layout: Option<ShownLayout>,
}

impl Subscriber {
    /// Whether the server does layers (section 11).
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Whether subscriptions are sent at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The window shows `layout` from `now` on.
    pub fn set_layout(&mut self, layout: &ShownLayout, now: Instant) {
        if !self.enabled || self.last_layout.as_ref() == Some(layout) {
            return;
        }
        self.last_layout = Some(layout.clone());
        let message = subscription_for(&wanted_layers(layout));
        if self.sent.as_ref() == Some(&message) {
            self.pending = None;
            return;
        }
        // Someone who got nothing (or everything, before the first
        // message) and is now shown: no waiting.
        let appeared = match &self.sent {
            None => true,
            Some(sent) => layout.shown.iter().any(|t| {
                layer_in(sent, &t.client_id) == LayerChoice::None
                    && layer_in(&message, &t.client_id) != LayerChoice::None
            }),
        };
        let at = match (&self.pending, appeared) {
            (_, true) => now,
            // Keep the first change's time: a stream of changes still
            // sends every DEBOUNCE.
            (Some((_, at)), false) => *at,
            (None, false) => now + DEBOUNCE,
        };
        self.pending = Some((message, at));
    }

    /// The message to send now, if one is due.
    pub fn due(&mut self, now: Instant) -> Option<ClientMessage> {
        if !self.enabled {
            return None;
        }
        match &self.pending {
            Some((_, at)) if *at <= now => {
                let (message, _) = self.pending.take()?;
                self.sent = Some(message.clone());
                Some(message)
            }
            _ => None,
        }
    }

    /// When [`Subscriber::due`] has something next.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.as_ref().map(|(_, at)| *at)
    }

    /// The connection was resumed: say the last subscription again at
    /// once (a server that saw us leave forgot it).
    pub fn resend(&mut self, now: Instant) {
        if self.pending.is_none() {
            if let Some(sent) = self.sent.take() {
                self.pending = Some((sent, now));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(id: &str, width: u32) -> ShownTile {
        ShownTile {
            client_id: id.into(),
            width,
            height: width * 3 / 4,
        }
    }

    fn layout(shown: &[(&str, u32)], hidden: &[&str]) -> ShownLayout {
        ShownLayout {
            shown: shown.iter().map(|(id, w)| tile(id, *w)).collect(),
            hidden: hidden.iter().map(|id| id.to_string()).collect(),
        }
    }

    fn parts(m: &ClientMessage) -> (LayerChoice, Vec<(String, LayerChoice)>) {
        let ClientMessage::VideoSubscribe {
            default_layer,
            overrides,
            last_n,
        } = m
        else {
            panic!("not a subscription: {m:?}");
        };
        assert_eq!(*last_n, None);
        (
            *default_layer,
            overrides.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        )
    }

    #[test]
    fn small_tiles_get_thumbnails_large_ones_full_hidden_ones_nothing() {
        let wanted = wanted_layers(&layout(&[("c1", 145), ("c2", 900)], &["c3"]));
        assert_eq!(wanted["c1"], LayerChoice::Thumb);
        assert_eq!(wanted["c2"], LayerChoice::Full);
        assert_eq!(wanted["c3"], LayerChoice::None);
        assert_eq!(layer_for_width(319), LayerChoice::Thumb);
        assert_eq!(layer_for_width(320), LayerChoice::Full);
    }

    #[test]
    fn a_class_in_a_grid_is_one_word() {
        let ids: Vec<String> = (1..30).map(|i| format!("c{i}")).collect();
        let shown: Vec<(&str, u32)> = ids.iter().map(|id| (id.as_str(), 145)).collect();
        let m = subscription_for(&wanted_layers(&layout(&shown, &[])));
        assert_eq!(parts(&m), (LayerChoice::Thumb, vec![]));
        assert!(m.validate().is_ok());
    }

    #[test]
    fn a_speaker_view_names_the_stage_and_the_strip() {
        let ids: Vec<String> = (1..30).map(|i| format!("c{i}")).collect();
        let mut shown = vec![(ids[0].as_str(), 900)];
        shown.extend(ids[1..8].iter().map(|id| (id.as_str(), 160)));
        let hidden: Vec<&str> = ids[8..].iter().map(String::as_str).collect();
        let (default_layer, overrides) =
            parts(&subscription_for(&wanted_layers(&layout(&shown, &hidden))));
        assert_eq!(default_layer, LayerChoice::None);
        assert_eq!(overrides.len(), 8);
        assert!(overrides.contains(&("c1".into(), LayerChoice::Full)));
        assert!(overrides.contains(&("c2".into(), LayerChoice::Thumb)));
    }

    #[test]
    fn past_64_overrides_the_shown_people_are_kept() {
        // 100 hidden, 80 shown small, 1 on the stage: default none, and
        // of 81 overrides the full one and 63 thumbnails stay.
        let hidden: Vec<String> = (0..100).map(|i| format!("h{i:03}")).collect();
        let small: Vec<String> = (0..80).map(|i| format!("s{i:03}")).collect();
        let mut shown: Vec<(&str, u32)> = small.iter().map(|id| (id.as_str(), 100)).collect();
        shown.push(("stage", 800));
        let hidden_refs: Vec<&str> = hidden.iter().map(String::as_str).collect();
        let m = subscription_for(&wanted_layers(&layout(&shown, &hidden_refs)));
        let (default_layer, overrides) = parts(&m);
        assert_eq!(default_layer, LayerChoice::None);
        assert_eq!(overrides.len(), MAX_OVERRIDES);
        assert_eq!(
            overrides
                .iter()
                .filter(|(_, l)| *l == LayerChoice::Full)
                .count(),
            1
        );
        assert!(m.validate().is_ok());

        // 100 shown small, 70 hidden: default thumb, the 64 kept
        // overrides are "none" ones (all less than the default).
        let small: Vec<String> = (0..100).map(|i| format!("s{i:03}")).collect();
        let shown: Vec<(&str, u32)> = small.iter().map(|id| (id.as_str(), 100)).collect();
        let m = subscription_for(&wanted_layers(&layout(&shown, &hidden_refs[..70])));
        let (default_layer, overrides) = parts(&m);
        assert_eq!(default_layer, LayerChoice::Thumb);
        assert_eq!(overrides.len(), MAX_OVERRIDES);
        assert!(m.validate().is_ok());
    }

    fn enabled() -> Subscriber {
        let mut s = Subscriber::default();
        s.set_enabled(true);
        s
    }

    #[test]
    fn nothing_is_sent_to_a_server_without_layers() {
        let mut s = Subscriber::default();
        let now = Instant::now();
        s.set_layout(&layout(&[("c1", 100)], &[]), now);
        assert_eq!(s.due(now + Duration::from_secs(1)), None);
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn the_first_layout_and_a_new_tile_go_at_once_the_rest_waits() {
        let mut s = enabled();
        let t0 = Instant::now();
        s.set_layout(&layout(&[("c1", 145), ("c2", 145)], &[]), t0);
        assert_eq!(parts(&s.due(t0).unwrap()).0, LayerChoice::Thumb);

        // The same layout again: nothing to say.
        s.set_layout(&layout(&[("c1", 145), ("c2", 145)], &[]), t0);
        assert_eq!(s.due(t0 + Duration::from_secs(1)), None);

        // c2 moves to the stage: debounced.
        let t1 = t0 + Duration::from_millis(500);
        s.set_layout(&layout(&[("c1", 145), ("c2", 800)], &[]), t1);
        assert_eq!(s.next_deadline(), Some(t1 + DEBOUNCE));
        assert_eq!(s.due(t1 + Duration::from_millis(99)), None);
        let m = s.due(t1 + DEBOUNCE).unwrap();
        assert_eq!(
            parts(&m),
            (LayerChoice::Thumb, vec![("c2".into(), LayerChoice::Full)])
        );

        // c1 scrolls out of view: debounced too.
        let t2 = t1 + Duration::from_secs(1);
        s.set_layout(&layout(&[("c2", 800)], &["c1"]), t2);
        assert_eq!(s.due(t2), None);
        assert!(s.due(t2 + DEBOUNCE).is_some());

        // c1 comes back (it got nothing): at once.
        let t3 = t2 + Duration::from_secs(1);
        s.set_layout(&layout(&[("c1", 145), ("c2", 800)], &[]), t3);
        assert_eq!(s.next_deadline(), Some(t3));
        assert!(s.due(t3).is_some());
    }

    #[test]
    fn a_stream_of_changes_sends_every_debounce_not_never() {
        let mut s = enabled();
        let t0 = Instant::now();
        let ids: Vec<String> = (0..=20).map(|i| format!("c{i}")).collect();
        let small: Vec<(&str, u32)> = ids.iter().map(|id| (id.as_str(), 100)).collect();
        s.set_layout(&layout(&small, &[]), t0);
        s.due(t0).unwrap();
        // Every 20 ms someone else takes the stage.
        let mut sent = 0;
        for step in 1..=20usize {
            let now = t0 + Duration::from_millis(20 * step as u64);
            let mut tiles = small.clone();
            tiles[step].1 = 800;
            s.set_layout(&layout(&tiles, &[]), now);
            sent += usize::from(s.due(now).is_some());
        }
        assert!((3..=5).contains(&sent), "{sent} messages in 400 ms");
    }

    #[test]
    fn a_change_undone_before_it_was_sent_sends_nothing() {
        let mut s = enabled();
        let t0 = Instant::now();
        s.set_layout(&layout(&[("c1", 100)], &[]), t0);
        s.due(t0).unwrap();
        s.set_layout(&layout(&[("c1", 400)], &[]), t0 + Duration::from_millis(10));
        s.set_layout(&layout(&[("c1", 120)], &[]), t0 + Duration::from_millis(20));
        assert_eq!(s.due(t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn a_resume_says_it_again() {
        let mut s = enabled();
        let t0 = Instant::now();
        s.set_layout(&layout(&[("c1", 100)], &[]), t0);
        let first = s.due(t0).unwrap();
        s.resend(t0 + Duration::from_secs(5));
        assert_eq!(s.due(t0 + Duration::from_secs(5)), Some(first));
    }
}
