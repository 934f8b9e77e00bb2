//! The stage: every participant's video tile, or, while someone presents,
//! their screen large with the tiles in a strip below.
//!
//! ```text
//!  UI timer (25 Hz) --> App pulls Session::latest_video_frame per person
//!                       (and our own picture from the self-view tap)
//!                   --> StageModel.images (only when the frame changed)
//!                   --> StageView::redraw --> draw(): layout.rs decides
//!                       the rectangles, this file paints them
//! ```
//!
//! One widget draws the whole stage from a [`StageModel`]: no widget is
//! created or destroyed when people come and go, the layout functions are
//! simply called again with the new count. Who gets the large place
//! (a shared screen, the host's spotlight, our pin, the speaker of
//! speaker view) is decided by `layout::plan_stage`; the app asks the
//! same function what is shown, at what size, to subscribe to it and to
//! have each picture decoded at its tile's size, so drawing a picture is
//! a copy to the screen. A double-click on a tile pins or unpins it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use fltk::draw::{self, Offscreen};
use fltk::enums::{Align, ColorDepth, Font};
use fltk::frame::Frame;
use fltk::image::RgbImage as FltkImage;
use fltk::prelude::*;
use fltk::window::Window;
use lanmeet_client::RgbImage;

use super::layout::{self, Focus, Rect, StageChoice, StagePlan};
use super::message::Message;
use super::screen_view::{self, ScreenViewState, ViewAction};
use super::theme;

/// What one tile shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TileView {
    /// Whose tile.
    pub client_id: String,
    /// The name under the picture.
    pub name: String,
    /// Our own tile.
    pub is_me: bool,
    /// Runs the meeting.
    pub is_host: bool,
    /// Out of the mix.
    pub muted: bool,
    /// The host locked the microphone.
    pub mic_locked: bool,
    /// Camera on.
    pub video: bool,
    /// Place in the raised-hand queue (1 = first).
    pub hand: Option<usize>,
    /// Drawn with the active-speaker border.
    pub speaking: bool,
    /// A reaction shown over the tile for a few seconds.
    pub reaction: Option<String>,
    /// The camera is on but no new picture came for a while.
    pub stalled: bool,
}

/// A picture ready to draw, and where it came from (to skip unchanged
/// frames).
pub struct StageImage {
    /// The frame it was made from (pointer identity of the shared frame).
    pub source: usize,
    /// Pixels across.
    pub width: i32,
    /// Pixels down.
    pub height: i32,
    image: FltkImage,
}

impl StageImage {
    /// Copies an RGB picture into an image fltk can draw.
    pub fn from_rgb(source: usize, rgb: &RgbImage) -> Option<StageImage> {
        let (w, h) = (rgb.width as i32, rgb.height as i32);
        let image = FltkImage::new(&rgb.pixels, w, h, ColorDepth::Rgb8).ok()?;
        Some(StageImage {
            source,
            width: w,
            height: h,
            image,
        })
    }

    /// Draws it fitted into `into`, keeping its shape.
    pub(super) fn draw_in(&mut self, into: Rect) {
        let r = layout::fit_image(self.width, self.height, into);
        if r.w > 0 && r.h > 0 {
            self.image.scale(r.w, r.h, false, true);
            self.image.draw(r.x, r.y, r.w, r.h);
        }
    }

    /// Draws it at its own size (1:1) with its top-left corner at (x, y);
    /// the caller clips.
    pub(super) fn draw_at(&mut self, x: i32, y: i32) {
        self.image.scale(self.width, self.height, false, true);
        self.image.draw(x, y, self.width, self.height);
    }
}

impl screen_view::Picture for StageImage {
    fn size(&self) -> (i32, i32) {
        (self.width, self.height)
    }

    fn draw_fitted(&mut self, into: Rect) {
        self.draw_in(into);
    }

    fn draw_actual(&mut self, x: i32, y: i32) {
        self.draw_at(x, y);
    }
}

/// The identity of a shared frame, to tell a new frame from the last one.
pub fn frame_identity<T>(frame: &Arc<T>) -> usize {
    Arc::as_ptr(frame) as usize
}

/// Everything the stage draws.
#[derive(Default)]
pub struct StageModel {
    /// Tiles in order.
    pub tiles: Vec<TileView>,
    /// Who presents: (name, is it us).
    pub presenter: Option<(String, bool)>,
    /// The newest camera picture per participant.
    pub images: HashMap<String, StageImage>,
    /// The newest screen picture.
    pub screen: Option<StageImage>,
    /// A short notice shown at the top of the stage.
    pub notice: Option<String>,
    /// The connection dropped: "Reconnecting…" over the whole stage,
    /// which keeps showing the meeting as it was.
    pub reconnecting: bool,
    /// Section 17: who the host put on everyone's stage.
    pub spotlight: Option<String>,
    /// How the shared screen is shown: fitted, 1:1, full screen.
    pub screen_view: ScreenViewState,
    /// The person we pinned to the stage (a local choice).
    pub pinned: Option<String>,
    /// Speaker view: who is large (the last to speak); `None` in grid
    /// view.
    pub speaker: Option<String>,
    /// The plan of the last drawing, to find the tile under a click.
    pub last_plan: StagePlan,
    /// People whose picture changed since the last drawing, when nothing
    /// else did: only their tiles are drawn again.
    pub new_pictures: Vec<String>,
}

impl StageModel {
    /// Where everything goes in `area` (the stage less its margin).
    pub fn plan(&self, area: Rect) -> StagePlan {
        let ids: Vec<&str> = self.tiles.iter().map(|t| t.client_id.as_str()).collect();
        let choice = StageChoice {
            presenting: self.presenter.is_some(),
            spotlight: self.spotlight.as_deref(),
            pinned: self.pinned.as_deref(),
            speaker: self.speaker.as_deref(),
        };
        layout::plan_stage(area, &ids, choice, GAP)
    }
}

/// The stage widget.
pub struct StageView {
    /// The widget (a frame with a custom draw).
    pub widget: Frame,
    /// What it draws; the app changes it, then calls `redraw`.
    pub model: Rc<RefCell<StageModel>>,
    /// The full-screen window, while the shared screen is shown full
    /// screen.
    full_screen: Rc<RefCell<Option<Window>>>,
}

/// Space between tiles (and around them).
pub const GAP: i32 = 8;

impl StageView {
    /// A stage at this place; a double-click on a tile sends
    /// [`Message::TogglePin`].
    pub fn new(x: i32, y: i32, w: i32, h: i32, sender: fltk::app::Sender<Message>) -> StageView {
        let mut widget = Frame::new(x, y, w, h, None);
        let model = Rc::new(RefCell::new(StageModel::default()));
        let m = model.clone();
        let mut back: Option<BackBuffer> = None;
        widget.draw(move |f| {
            let area = Rect::new(f.x(), f.y(), f.w(), f.h());
            let mut model = m.borrow_mut();
            // Window coordinates throughout: the buffer covers the window
            // from its top left corner to the stage's bottom right one.
            // A new buffer when the stage or the screen's scale (Ctrl +/-)
            // changes: the buffer holds pixels of the screen.
            let size = (area.x + area.w, area.y + area.h);
            let scale = fltk::app::screen_scale(f.window().map_or(0, |w| w.screen_num()));
            if back.as_ref().map(|b| (b.size, b.scale)) != Some((size, scale)) {
                back = Offscreen::new(size.0, size.1).map(|offscreen| BackBuffer {
                    offscreen,
                    size,
                    scale,
                    complete: false,
                });
            }
            let Some(buffer) = back.as_mut() else {
                // No buffer to be had: straight to the window.
                model.new_pictures.clear();
                draw_everything(&mut model, area);
                return;
            };
            // Only new pictures (see `redraw_pictures`): their tiles alone,
            // drawn in the buffer, then copied out.
            if f.damage_type() == fltk::enums::Damage::User1 && buffer.complete {
                let ids = std::mem::take(&mut model.new_pictures);
                buffer.offscreen.begin();
                let drawn = draw_pictures(&mut model, &ids);
                // A notice may lie over a tile drawn again.
                draw_overlays(&model, area.inset(GAP));
                buffer.offscreen.end();
                for r in drawn {
                    buffer.offscreen.copy(r.x, r.y, r.w, r.h, r.x, r.y);
                }
                return;
            }
            model.new_pictures.clear();
            buffer.offscreen.begin();
            draw_everything(&mut model, area);
            buffer.offscreen.end();
            buffer
                .offscreen
                .copy(area.x, area.y, area.w, area.h, area.x, area.y);
            buffer.complete = true;
        });
        let full_screen = Rc::new(RefCell::new(None));
        let (m, full) = (model.clone(), full_screen.clone());
        widget.handle(move |f, ev| {
            let mut model = m.borrow_mut();
            if ev == fltk::enums::Event::Push && fltk::app::event_clicks() {
                let (x, y) = fltk::app::event_coords();
                let hit = layout::tile_at(&model.last_plan, x, y);
                if let Some(tile) = hit.and_then(|i| model.tiles.get(i)) {
                    sender.send(Message::TogglePin(tile.client_id.clone()));
                    return true;
                }
            }
            if model.presenter.is_none() {
                return false;
            }
            let (action, used) = screen_view::handle(&mut model.screen_view, ev);
            drop(model);
            if action == Some(ViewAction::ToggleFullScreen) {
                toggle_full_screen(&m, &full, f.clone());
            }
            if used {
                f.redraw();
            }
            used
        });
        StageView {
            widget,
            model,
            full_screen,
        }
    }

    /// Asks for a repaint of the tiles in `model.new_pictures` only (and
    /// of a notice over them): with a class of 30, most ticks bring a few
    /// new pictures and nothing else, and drawing 30 tiles with their
    /// names for them costs the UI thread more than the pictures do. It
    /// matters most while people join, when a notice is up nearly all the
    /// time. A shared screen, or anything but pictures changing, takes
    /// [`StageView::redraw`].
    pub fn redraw_pictures(&mut self) {
        let model = self.model.borrow();
        if model.presenter.is_some() {
            drop(model);
            self.redraw();
            return;
        }
        drop(model);
        self.widget.set_damage_type(fltk::enums::Damage::User1);
    }

    /// Asks for a repaint (and closes the full-screen view when nobody
    /// presents any more).
    pub fn redraw(&mut self) {
        self.widget.redraw();
        let presenting = self.model.borrow().presenter.is_some();
        let mut full = self.full_screen.borrow_mut();
        if let Some(win) = full.as_mut() {
            if presenting {
                win.redraw();
            } else {
                win.hide();
                *full = None;
                self.model.borrow_mut().screen_view.full_screen = false;
            }
        }
    }
}

/// Opens the full-screen window showing the shared screen only, or closes
/// it; `stage` is redrawn either way.
fn toggle_full_screen(
    model: &Rc<RefCell<StageModel>>,
    full: &Rc<RefCell<Option<Window>>>,
    mut stage: Frame,
) {
    if let Some(mut win) = full.borrow_mut().take() {
        win.hide();
        model.borrow_mut().screen_view.full_screen = false;
        stage.redraw();
        return;
    }
    let (w, h) = fltk::app::screen_size();
    let mut win = Window::new(0, 0, w as i32, h as i32, "lanmeet: shared screen");
    let mut frame = Frame::new(0, 0, w as i32, h as i32, None);
    win.resizable(&frame);
    win.end();
    let m = model.clone();
    frame.draw(move |f| {
        let area = Rect::new(f.x(), f.y(), f.w(), f.h());
        draw::draw_rect_fill(area.x, area.y, area.w, area.h, fltk::enums::Color::Black);
        let mut model = m.borrow_mut();
        let StageModel {
            screen,
            screen_view,
            ..
        } = &mut *model;
        let picture = screen.as_mut().map(|s| s as &mut dyn screen_view::Picture);
        screen_view::draw(screen_view, area, picture);
    });
    let (m, full_for_events) = (model.clone(), full.clone());
    let stage_for_events = stage.clone();
    frame.handle(move |f, ev| {
        let (action, used) = screen_view::handle(&mut m.borrow_mut().screen_view, ev);
        if action == Some(ViewAction::ToggleFullScreen) {
            toggle_full_screen(&m, &full_for_events, stage_for_events.clone());
        } else if used {
            f.redraw();
        }
        used || matches!(ev, fltk::enums::Event::Focus)
    });
    // Escape closes a window in FLTK: here it only leaves full screen.
    let (m, full_for_close, stage_for_close) = (model.clone(), full.clone(), stage.clone());
    win.set_callback(move |_| toggle_full_screen(&m, &full_for_close, stage_for_close.clone()));
    win.fullscreen(true);
    win.show();
    model.borrow_mut().screen_view.full_screen = true;
    *full.borrow_mut() = Some(win);
    stage.redraw();
}

/// The stage's own back buffer. The main window is single-buffered: a
/// double-buffered window of fltk's X11 build draws everything in it again
/// on every flush (making it current marks it exposed), which for a grid of
/// 25 meant drawing 25 tiles and their names for every new picture. The
/// stage keeps its last drawing here instead, draws a new picture into it
/// and copies just that tile to the window; everything is still drawn off
/// screen first, so nothing flickers.
struct BackBuffer {
    offscreen: Offscreen,
    /// Its size in pixels (the stage's right and bottom edges).
    size: (i32, i32),
    /// The screen's scale it was made at.
    scale: f32,
    /// Holds a whole drawing of the stage (a new buffer does not).
    complete: bool,
}

/// The whole stage: background, tiles, overlays.
fn draw_everything(model: &mut StageModel, area: Rect) {
    draw::push_clip(area.x, area.y, area.w, area.h);
    draw::draw_rect_fill(area.x, area.y, area.w, area.h, theme::STAGE);
    draw_stage(model, area.inset(GAP));
    draw::pop_clip();
}

fn draw_stage(model: &mut StageModel, area: Rect) {
    let plan = model.plan(area);
    let StageModel {
        tiles,
        presenter,
        images,
        screen,
        screen_view,
        ..
    } = model;
    if let (Some(rect), Some((name, is_me))) = (plan.screen, presenter.as_ref()) {
        draw_screen(rect, name, *is_me, screen.as_mut(), screen_view);
    }
    if let Some((i, rect, focus)) = plan.star {
        let star = &tiles[i];
        draw_tile(star, rect, images.get_mut(&star.client_id), false);
        match focus {
            Focus::Spotlight => draw_focus_label(rect, "Spotlight", theme::HAND),
            Focus::Pinned => draw_focus_label(rect, "Pinned", theme::ACCENT),
            Focus::Speaker => {}
        }
    }
    for &(i, rect) in &plan.tiles {
        let tile = &tiles[i];
        draw_tile(tile, rect, images.get_mut(&tile.client_id), plan.strip);
    }
    if let Some((rect, count)) = plan.more {
        draw_more(rect, count);
    }
    model.last_plan = plan;
    draw_overlays(model, area);
}

/// What lies over the tiles: a notice, "Reconnecting…".
fn draw_overlays(model: &StageModel, area: Rect) {
    if let Some(text) = &model.notice {
        draw_notice(area, text);
    }
    if model.reconnecting {
        draw_reconnecting(area);
    }
}

/// Draws again the tiles of `ids` where the last drawing put them;
/// returns where.
fn draw_pictures(model: &mut StageModel, ids: &[String]) -> Vec<Rect> {
    let StageModel {
        tiles,
        images,
        last_plan,
        ..
    } = model;
    let star = last_plan.star.iter().map(|(i, r, f)| (*i, *r, Some(*f)));
    let placed = last_plan.tiles.iter().map(|(i, r)| (*i, *r, None));
    let mut drawn = Vec::new();
    for (i, rect, focus) in star.chain(placed) {
        let Some(tile) = tiles.get(i) else { continue };
        if !ids.contains(&tile.client_id) {
            continue;
        }
        let small = focus.is_none() && last_plan.strip;
        draw_tile_picture(tile, rect, images.get_mut(&tile.client_id), small);
        match focus {
            Some(Focus::Spotlight) => draw_focus_label(rect, "Spotlight", theme::HAND),
            Some(Focus::Pinned) => draw_focus_label(rect, "Pinned", theme::ACCENT),
            _ => {}
        }
        drawn.push(rect);
    }
    drawn
}

/// The "Reconnecting…" box in the middle of the stage.
fn draw_reconnecting(area: Rect) {
    let title = "Reconnecting\u{2026}";
    let detail = "The connection to the server dropped. Trying again for up to a minute.";
    draw::set_font(Font::Helvetica, 13);
    let w = (draw::width(detail) as i32 + 48).min(area.w);
    let h = 84.min(area.h);
    let (x, y) = (area.x + (area.w - w) / 2, area.y + (area.h - h) / 2);
    draw::draw_rect_fill(x, y, w, h, theme::NOTICE);
    draw::set_draw_color(theme::HAND);
    draw::draw_rect(x, y, w, h);
    draw::set_draw_color(fltk::enums::Color::Black);
    draw::set_font(Font::HelveticaBold, 20);
    draw::draw_text2(
        title,
        x + 10,
        y + 8,
        w - 20,
        36,
        Align::Center | Align::Clip,
    );
    draw::set_font(Font::Helvetica, 13);
    draw::draw_text2(
        detail,
        x + 10,
        y + 44,
        w - 20,
        28,
        Align::Center | Align::Clip,
    );
}

/// A notice banner centred at the top of the stage.
fn draw_notice(area: Rect, text: &str) {
    draw::set_font(Font::Helvetica, 15);
    let w = (draw::width(text) as i32 + 40).min(area.w);
    let (x, y, h) = (area.x + (area.w - w) / 2, area.y + 6, 34);
    draw::draw_rect_fill(x, y, w, h, theme::NOTICE);
    draw::set_draw_color(theme::HAND);
    draw::draw_rect(x, y, w, h);
    draw::set_draw_color(fltk::enums::Color::Black);
    draw::draw_text2(text, x + 10, y, w - 20, h, Align::Center | Align::Clip);
}

fn draw_screen(
    r: Rect,
    name: &str,
    is_me: bool,
    image: Option<&mut StageImage>,
    view: &mut ScreenViewState,
) {
    draw::draw_rect_fill(r.x, r.y, r.w, r.h, fltk::enums::Color::Black);
    match image {
        Some(img) => {
            screen_view::draw(view, r.inset(2), Some(img as &mut dyn screen_view::Picture))
        }
        _ => {
            draw::set_font(Font::Helvetica, 18);
            draw::set_draw_color(theme::BAR_TEXT);
            let text = if is_me {
                "You are presenting: what you share appears here in a moment."
            } else {
                "Waiting for the first picture of the screen..."
            };
            draw::draw_text2(text, r.x, r.y, r.w, r.h, Align::Center);
        }
    }
    let label = if is_me {
        "You are presenting".to_string()
    } else {
        format!("{name} is presenting")
    };
    draw::set_font(Font::HelveticaBold, 14);
    let tw = draw::width(&label) as i32 + 24;
    draw::draw_rect_fill(r.x + 8, r.y + 8, tw, 28, theme::ACCENT);
    draw::set_draw_color(fltk::enums::Color::White);
    draw::draw_text2(&label, r.x + 8, r.y + 8, tw, 28, Align::Center);
}

/// Why the large tile is large ("Spotlight", "Pinned") at its top left.
fn draw_focus_label(r: Rect, label: &str, color: fltk::enums::Color) {
    draw::set_font(Font::HelveticaBold, 14);
    let tw = draw::width(label) as i32 + 24;
    draw::draw_rect_fill(r.x + 8, r.y + 8, tw, 28, color);
    let text = if color == theme::HAND {
        fltk::enums::Color::Black
    } else {
        fltk::enums::Color::White
    };
    draw::set_draw_color(text);
    draw::draw_text2(label, r.x + 8, r.y + 8, tw, 28, Align::Center);
}

fn draw_more(r: Rect, count: usize) {
    draw::draw_rect_fill(r.x, r.y, r.w, r.h, theme::TILE);
    draw::set_font(Font::HelveticaBold, 20);
    draw::set_draw_color(theme::BAR_TEXT);
    draw::draw_text2(&format!("+{count}"), r.x, r.y, r.w, r.h, Align::Center);
}

/// Height of a tile's name band.
fn band_height(small: bool) -> i32 {
    if small {
        20
    } else {
        28
    }
}

/// Draws a tile whose picture alone changed: the picture above the name
/// band (which stays as drawn, its text is the costly part) and the
/// speaking outline; a tile with anything else over its picture is drawn
/// whole.
fn draw_tile_picture(tile: &TileView, r: Rect, image: Option<&mut StageImage>, small: bool) {
    let plain = tile.video && tile.hand.is_none() && tile.reaction.is_none() && !tile.stalled;
    let img = match image {
        Some(img) if plain => img,
        other => return draw_tile(tile, r, other, small),
    };
    let above_band = r.h - band_height(small);
    draw::push_clip(r.x, r.y, r.w, above_band);
    draw::draw_rect_fill(r.x, r.y, r.w, above_band, theme::TILE);
    img.draw_in(r);
    draw::pop_clip();
    if tile.speaking {
        draw::push_clip(r.x, r.y, r.w, r.h);
        draw_outline(r);
        draw::pop_clip();
    }
}

/// The active-speaker border.
fn draw_outline(r: Rect) {
    draw::set_draw_color(theme::GOOD);
    for i in 0..3 {
        draw::draw_rect(r.x + i, r.y + i, r.w - 2 * i, r.h - 2 * i);
    }
}

fn draw_tile(tile: &TileView, r: Rect, image: Option<&mut StageImage>, small: bool) {
    draw::push_clip(r.x, r.y, r.w, r.h);
    draw::draw_rect_fill(r.x, r.y, r.w, r.h, theme::TILE);
    let band = band_height(small);
    match image {
        Some(img) if tile.video => img.draw_in(r),
        _ => draw_placeholder(tile, Rect::new(r.x, r.y, r.w, r.h - band), small),
    }

    // The name band: name and role on the left, microphone state right.
    let by = r.y + r.h - band;
    draw::draw_rect_fill(r.x, by, r.w, band, theme::NAME_BAND);
    let font_size = if small { 11 } else { 14 };
    let mut right = r.x + r.w - 6;
    let mic = if tile.mic_locked {
        Some("mic locked")
    } else if tile.muted {
        Some("muted")
    } else {
        None
    };
    if let Some(text) = mic {
        draw::set_font(Font::HelveticaBold, font_size - 1);
        let w = draw::width(text) as i32 + 12;
        let pill_h = band - 8;
        draw::draw_rect_fill(right - w, by + 4, w, pill_h, theme::ALERT);
        draw::set_draw_color(fltk::enums::Color::White);
        draw::draw_text2(text, right - w, by + 4, w, pill_h, Align::Center);
        right -= w + 6;
    }
    let mut name = tile.name.clone();
    if tile.is_me {
        name.push_str(" (you)");
    }
    if tile.is_host {
        name.push_str(" - host");
    }
    if !tile.video && !small {
        name.push_str("  [camera off]");
    }
    draw::set_font(Font::Helvetica, font_size);
    draw::set_draw_color(fltk::enums::Color::White);
    draw::draw_text2(
        &name,
        r.x + 8,
        by,
        (right - r.x - 8).max(0),
        band,
        Align::Left | Align::Inside | Align::Clip,
    );

    if let Some(pos) = tile.hand {
        let text = format!("Hand {pos}");
        draw::set_font(Font::HelveticaBold, font_size + 1);
        let w = draw::width(&text) as i32 + 16;
        let h = font_size + 12;
        draw::draw_rect_fill(r.x + 6, r.y + 6, w, h, theme::HAND);
        draw::set_draw_color(fltk::enums::Color::Black);
        draw::draw_text2(&text, r.x + 6, r.y + 6, w, h, Align::Center);
    }
    if let Some(emoji) = &tile.reaction {
        let size = if small { 22 } else { (r.h / 5).clamp(24, 56) };
        draw::set_font(Font::Helvetica, size);
        let w = draw::width(emoji) as i32 + size / 2;
        let h = size + size / 3;
        let (x, y) = (r.x + r.w - w - 8, r.y + 8);
        draw::draw_rect_fill(x, y, w, h, fltk::enums::Color::White);
        draw::set_draw_color(theme::ACCENT);
        draw::draw_text2(emoji, x, y, w, h, Align::Center);
    }
    if tile.stalled && !small {
        let text = "video paused: no new picture";
        draw::set_font(Font::Helvetica, 13);
        let w = draw::width(text) as i32 + 20;
        let (x, y) = (r.x + (r.w - w) / 2, r.y + r.h - band - 34);
        draw::draw_rect_fill(x, y, w, 24, theme::NAME_BAND);
        draw::set_draw_color(theme::BAR_TEXT);
        draw::draw_text2(text, x, y, w, 24, Align::Center);
    }
    if tile.speaking {
        draw_outline(r);
    }
    draw::pop_clip();
}

fn draw_placeholder(tile: &TileView, r: Rect, small: bool) {
    let d = (r.h.min(r.w) * 2 / 5).max(16);
    let (cx, cy) = (r.x + r.w / 2, r.y + r.h / 2);
    draw::set_draw_color(theme::person_color(&tile.name));
    draw::draw_pie(cx - d / 2, cy - d / 2, d, d, 0.0, 360.0);
    draw::set_font(Font::HelveticaBold, (d * 2 / 5).max(10));
    draw::set_draw_color(fltk::enums::Color::White);
    draw::draw_text2(
        &layout::initials(&tile.name),
        cx - d / 2,
        cy - d / 2,
        d,
        d,
        Align::Center,
    );
    if tile.video && !small {
        draw::set_font(Font::Helvetica, 12);
        draw::set_draw_color(theme::BAR_TEXT);
        draw::draw_text2(
            "starting video...",
            r.x,
            cy + d / 2 + 4,
            r.w,
            18,
            Align::Center,
        );
    }
}
