//! The window's colours in one place, so every panel agrees: a dark stage
//! for video (pictures stand out on dark), light panels for text.

use fltk::enums::Color;

/// Behind the video tiles.
pub const STAGE: Color = Color::from_rgb(24, 26, 31);
/// A tile without a picture yet.
pub const TILE: Color = Color::from_rgb(46, 50, 58);
/// The name band at the bottom of a tile.
pub const NAME_BAND: Color = Color::from_rgb(16, 17, 20);
/// Light panels: join window, sidebar, dialogs.
pub const PANEL: Color = Color::from_rgb(246, 247, 249);
/// The toolbar and status bar.
pub const BAR: Color = Color::from_rgb(36, 39, 46);
/// Text on the dark bars.
pub const BAR_TEXT: Color = Color::from_rgb(225, 228, 234);
/// The main action colour (Join, links, the active tab).
pub const ACCENT: Color = Color::from_rgb(37, 99, 235);
/// Secondary text.
pub const MUTED_TEXT: Color = Color::from_rgb(110, 116, 128);
/// Errors, "muted", "Leave".
pub const ERROR: Color = Color::from_rgb(200, 40, 40);
/// A button that is "on" in a way that needs attention (muted, sharing).
pub const ALERT: Color = Color::from_rgb(190, 45, 45);
/// The active speaker's border, "media ok".
pub const GOOD: Color = Color::from_rgb(34, 170, 90);
/// Raised hands, "media waiting".
pub const HAND: Color = Color::from_rgb(245, 180, 30);
/// Notices over the stage.
pub const NOTICE: Color = Color::from_rgb(255, 244, 206);

/// A stable colour per name for placeholder tiles, so people are easy to
/// tell apart with their cameras off.
pub fn person_color(name: &str) -> Color {
    const PALETTE: [(u8, u8, u8); 8] = [
        (66, 103, 178),
        (46, 139, 87),
        (171, 71, 188),
        (230, 126, 34),
        (0, 137, 123),
        (192, 57, 43),
        (94, 96, 206),
        (121, 85, 72),
    ];
    let hash = name.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    let (r, g, b) = PALETTE[hash as usize % PALETTE.len()];
    Color::from_rgb(r, g, b)
}
