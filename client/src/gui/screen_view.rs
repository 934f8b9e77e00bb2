//! How the shared screen is shown: fitted into the stage (the default), at
//! 1:1 with scrolling, or full screen. Code must be read at 1:1: a
//! 1920x1080 screen fitted into a 900-pixel stage halves 13-pixel text.
//!
//! ```text
//!  [Fit | 1:1] [Full screen]      buttons drawn in the screen's corner
//!  1:1: drag the picture, or the scroll bars, or turn the wheel
//!       (Shift + wheel: sideways) to move over it
//!  F11 or the button: full screen (a window of its own, the screen only);
//!  Escape or F11 leaves it
//! ```
//!
//! The stage widget and the full-screen window draw and handle events
//! through the same functions here, on one [`ScreenViewState`]; the pure
//! part (where the picture goes, how far it may scroll) is in
//! [`Viewport`], tested without a display.

use fltk::draw;
use fltk::enums::{Align, Event as UiEvent, Font, Key};

use super::layout::Rect;
use super::theme;

/// A picture this view can draw (the stage's screen image implements it;
/// a trait keeps this file from depending on the stage's).
pub trait Picture {
    /// Width and height in pixels.
    fn size(&self) -> (i32, i32);
    /// Draws it fitted into `into`, keeping its shape.
    fn draw_fitted(&mut self, into: Rect);
    /// Draws it at 1:1 with its top-left corner at (x, y); the caller clips.
    fn draw_actual(&mut self, x: i32, y: i32);
}

/// Thickness of the scroll bars.
const BAR: i32 = 12;
/// Pixels one wheel step scrolls.
const WHEEL_STEP: i32 = 60;

/// What a click on a drawn button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewAction {
    /// Switch between fitted and 1:1.
    ToggleActualSize,
    /// Enter or leave full screen.
    ToggleFullScreen,
}

/// What is being dragged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drag {
    /// The picture: it follows the mouse.
    Picture {
        from: (i32, i32),
        offset: (i32, i32),
    },
    /// A scroll bar's thumb: the picture moves the other way, scaled.
    Bar {
        horizontal: bool,
        from: i32,
        offset: i32,
    },
}

/// The view's state, shared by the stage and the full-screen window.
#[derive(Debug, Default)]
pub struct ScreenViewState {
    /// 1:1 (else fitted).
    pub actual_size: bool,
    /// Full screen asked for.
    pub full_screen: bool,
    /// Top-left of the visible part, in picture pixels (1:1 only).
    pub offset: (i32, i32),
    drag: Option<Drag>,
    /// The buttons as last drawn, for clicks.
    buttons: Vec<(Rect, ViewAction)>,
    /// The last viewport drawn, for drags and the wheel.
    last: Option<Viewport>,
}

/// Where a picture of `image` size is drawn in `area` at 1:1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    /// The screen's area on the stage.
    pub area: Rect,
    /// The picture's size.
    pub image: (i32, i32),
}

impl Viewport {
    /// The part of `area` left for the picture (scroll bars take the rest).
    pub fn view(&self) -> Rect {
        let (iw, ih) = self.image;
        let mut w = self.area.w;
        let mut h = self.area.h;
        let need_h = iw > w;
        let need_v = ih > h;
        if need_h {
            h -= BAR;
        }
        if need_v {
            w -= BAR;
        }
        // A bar can make the other one needed.
        if !need_h && need_v && iw > w {
            h -= BAR;
        }
        if !need_v && need_h && ih > h {
            w -= BAR;
        }
        Rect::new(self.area.x, self.area.y, w.max(0), h.max(0))
    }

    /// `offset` kept inside the picture; a picture smaller than the view
    /// sits centred (offset negative).
    pub fn clamp(&self, offset: (i32, i32)) -> (i32, i32) {
        let v = self.view();
        let axis = |off: i32, img: i32, view: i32| {
            if img <= view {
                -(view - img) / 2
            } else {
                off.clamp(0, img - view)
            }
        };
        (
            axis(offset.0, self.image.0, v.w),
            axis(offset.1, self.image.1, v.h),
        )
    }

    /// The scroll bar thumbs (horizontal, vertical), where needed.
    pub fn thumbs(&self, offset: (i32, i32)) -> (Option<Rect>, Option<Rect>) {
        let v = self.view();
        let (iw, ih) = self.image;
        let h = (iw > v.w).then(|| {
            let len = (v.w * v.w / iw.max(1)).max(24);
            let pos =
                (offset.0.max(0) as i64 * (v.w - len) as i64 / (iw - v.w).max(1) as i64) as i32;
            Rect::new(v.x + pos, v.y + v.h, len, BAR)
        });
        let vt = (ih > v.h).then(|| {
            let len = (v.h * v.h / ih.max(1)).max(24);
            let pos =
                (offset.1.max(0) as i64 * (v.h - len) as i64 / (ih - v.h).max(1) as i64) as i32;
            Rect::new(v.x + v.w, v.y + pos, BAR, len)
        });
        (h, vt)
    }
}

fn inside(r: Rect, x: i32, y: i32) -> bool {
    x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h
}

/// Draws the picture in `area` as the state says, and the buttons.
pub fn draw(state: &mut ScreenViewState, area: Rect, image: Option<&mut dyn Picture>) {
    state.buttons.clear();
    state.last = None;
    let Some(img) = image else {
        return;
    };
    if state.actual_size {
        let vp = Viewport {
            area,
            image: img.size(),
        };
        state.offset = vp.clamp(state.offset);
        let v = vp.view();
        draw::push_clip(v.x, v.y, v.w, v.h);
        img.draw_actual(v.x - state.offset.0, v.y - state.offset.1);
        draw::pop_clip();
        let (h, vt) = vp.thumbs(state.offset);
        if let Some(t) = h {
            draw::draw_rect_fill(v.x, v.y + v.h, v.w, BAR, theme::NAME_BAND);
            draw::draw_rect_fill(t.x, t.y + 2, t.w, t.h - 4, theme::MUTED_TEXT);
        }
        if let Some(t) = vt {
            draw::draw_rect_fill(v.x + v.w, v.y, BAR, v.h, theme::NAME_BAND);
            draw::draw_rect_fill(t.x + 2, t.y, t.w - 4, t.h, theme::MUTED_TEXT);
        }
        state.last = Some(vp);
    } else {
        img.draw_fitted(area);
    }
    // The buttons, top right.
    let fit = if state.actual_size { "Fit" } else { "1:1" };
    let full = if state.full_screen {
        "Exit full screen (Esc)"
    } else {
        "Full screen (F11)"
    };
    draw::set_font(Font::HelveticaBold, 13);
    let mut right = area.x + area.w - 8 - if state.actual_size { BAR } else { 0 };
    for (label, action) in [
        (full, ViewAction::ToggleFullScreen),
        (fit, ViewAction::ToggleActualSize),
    ] {
        let w = draw::width(label) as i32 + 20;
        let r = Rect::new(right - w, area.y + 8, w, 26);
        draw::draw_rect_fill(r.x, r.y, r.w, r.h, theme::BAR);
        draw::set_draw_color(theme::BAR_TEXT);
        draw::draw_rect(r.x, r.y, r.w, r.h);
        draw::draw_text2(label, r.x, r.y, r.w, r.h, Align::Center);
        state.buttons.push((r, action));
        right -= w + 6;
    }
}

/// Handles a mouse or key event on a widget showing the screen. Returns
/// the action a click or a key asks for (the caller carries it out) and
/// whether the event was used and the widget must be redrawn.
pub fn handle(state: &mut ScreenViewState, ev: UiEvent) -> (Option<ViewAction>, bool) {
    let (x, y) = (fltk::app::event_x(), fltk::app::event_y());
    match ev {
        UiEvent::Push => {
            if let Some(&(_, action)) = state.buttons.iter().find(|(r, _)| inside(*r, x, y)) {
                if action == ViewAction::ToggleActualSize {
                    state.actual_size = !state.actual_size;
                    state.offset = (0, 0);
                }
                return (Some(action), true);
            }
            let Some(vp) = state.last else {
                return (None, false);
            };
            let (h, vt) = vp.thumbs(state.offset);
            state.drag = if h.is_some_and(|t| y >= t.y && y < t.y + t.h) {
                Some(Drag::Bar {
                    horizontal: true,
                    from: x,
                    offset: state.offset.0,
                })
            } else if vt.is_some_and(|t| x >= t.x && x < t.x + t.w) {
                Some(Drag::Bar {
                    horizontal: false,
                    from: y,
                    offset: state.offset.1,
                })
            } else if inside(vp.view(), x, y) {
                Some(Drag::Picture {
                    from: (x, y),
                    offset: state.offset,
                })
            } else {
                None
            };
            (None, state.drag.is_some())
        }
        UiEvent::Drag => {
            let (Some(drag), Some(vp)) = (state.drag, state.last) else {
                return (None, false);
            };
            let v = vp.view();
            state.offset = match drag {
                Drag::Picture { from, offset } => {
                    (offset.0 - (x - from.0), offset.1 - (y - from.1))
                }
                Drag::Bar {
                    horizontal: true,
                    from,
                    offset,
                } => (
                    offset + (x - from) * vp.image.0 / v.w.max(1),
                    state.offset.1,
                ),
                Drag::Bar { from, offset, .. } => (
                    state.offset.0,
                    offset + (y - from) * vp.image.1 / v.h.max(1),
                ),
            };
            state.offset = vp.clamp(state.offset);
            (None, true)
        }
        UiEvent::Released => {
            let was = state.drag.take().is_some();
            (None, was)
        }
        UiEvent::MouseWheel => {
            let Some(vp) = state.last else {
                return (None, false);
            };
            let (dx, dy) = (
                wheel_steps(fltk::app::event_dx()),
                wheel_steps(fltk::app::event_dy()),
            );
            let sideways = fltk::app::event_state().contains(fltk::enums::EventState::Shift);
            let (dx, dy) = if sideways { (dx + dy, 0) } else { (dx, dy) };
            state.offset = vp.clamp((
                state.offset.0 + dx * WHEEL_STEP,
                state.offset.1 + dy * WHEEL_STEP,
            ));
            (None, true)
        }
        UiEvent::KeyDown | UiEvent::Shortcut => match fltk::app::event_key() {
            Key::F11 => (Some(ViewAction::ToggleFullScreen), true),
            Key::Escape if state.full_screen => (Some(ViewAction::ToggleFullScreen), true),
            _ => (None, false),
        },
        _ => (None, false),
    }
}

fn wheel_steps(d: fltk::app::MouseWheel) -> i32 {
    use fltk::app::MouseWheel as W;
    match d {
        W::Down | W::Right => 1,
        W::Up | W::Left => -1,
        W::None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_picture_scrolls_within_its_bounds() {
        let vp = Viewport {
            area: Rect::new(10, 20, 900, 600),
            image: (1920, 1080),
        };
        let v = vp.view();
        assert_eq!((v.w, v.h), (900 - BAR, 600 - BAR), "both bars");
        assert_eq!(vp.clamp((-50, -5)), (0, 0));
        assert_eq!(vp.clamp((5000, 5000)), (1920 - v.w, 1080 - v.h));
        let (h, vt) = vp.thumbs((1920 - v.w, 0));
        let (h, vt) = (h.unwrap(), vt.unwrap());
        assert_eq!(h.x + h.w, v.x + v.w, "the thumb reaches the end");
        assert_eq!(vt.y, v.y);
    }

    #[test]
    fn a_small_picture_sits_centred_without_bars() {
        let vp = Viewport {
            area: Rect::new(0, 0, 900, 600),
            image: (320, 200),
        };
        assert_eq!(vp.view(), Rect::new(0, 0, 900, 600));
        assert_eq!(vp.clamp((40, 40)), (-290, -200));
        assert_eq!(vp.thumbs((0, 0)), (None, None));
    }

    #[test]
    fn one_bar_can_make_the_other_needed() {
        // Wide enough to fit across until the vertical bar takes 12 px.
        let vp = Viewport {
            area: Rect::new(0, 0, 1000, 600),
            image: (995, 1080),
        };
        let v = vp.view();
        assert_eq!((v.w, v.h), (1000 - BAR, 600 - BAR));
    }
}
