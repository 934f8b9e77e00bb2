//! The viewer's side of screen sharing in the core: keyframes and patches
//! (section 19) become [`ScreenJob`]s, in the order they came, for the
//! shell's screen painter; a `screen_keyframe_request` becomes
//! [`Output::ScreenKeyframeWanted`] for the screen sender.
//!
//! ```text
//!  screen_frame{presenter_id, frame_data}  --> Screen(Keyframe{jpeg})
//!  screen_patch{presenter_id, patches}     --> Screen(Patch{pieces})  (in order)
//!  screen_keyframe_request                 --> ScreenKeyframeWanted
//! ```
//!
//! Patches cannot be skipped like camera frames (each paints over the
//! last), so they do not go through the newest-wins decode queue.

use lanmeet_common::base64;
use lanmeet_common::message::ScreenPatchRect;

use super::{Out, Output};

/// One rectangle of a patch: a JPEG to paint with its corner at (x, y).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPiece {
    /// Left edge in the keyframe's pixels.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// The JPEG.
    pub jpeg: Vec<u8>,
}

/// What the screen painter is to do with the picture it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenJob {
    /// Replace it with this JPEG.
    Keyframe {
        /// The presenter.
        presenter_id: String,
        /// The whole screen.
        jpeg: Vec<u8>,
    },
    /// Paint these over it, in order.
    Patch {
        /// The presenter.
        presenter_id: String,
        /// The rectangles.
        pieces: Vec<PatchPiece>,
    },
}

/// A `screen_frame` from the server.
pub(super) fn on_keyframe(out: &mut Out, presenter_id: String, frame_data: &str) {
    match base64::decode(frame_data) {
        Ok(jpeg) => out
            .items
            .push_back(Output::Screen(ScreenJob::Keyframe { presenter_id, jpeg })),
        Err(e) => out.log(format!("bad screen frame: {e}")),
    }
}

/// A `screen_patch` from the server. One that does not decode is dropped
/// whole (never half of an update); the picture then stays as it was
/// until the next keyframe.
pub(super) fn on_patch(out: &mut Out, presenter_id: String, patches: Vec<ScreenPatchRect>) {
    let pieces: Result<Vec<PatchPiece>, _> = patches
        .into_iter()
        .map(|p| {
            base64::decode(&p.frame_data).map(|jpeg| PatchPiece {
                x: p.x,
                y: p.y,
                jpeg,
            })
        })
        .collect();
    match pieces {
        Ok(pieces) => out.items.push_back(Output::Screen(ScreenJob::Patch {
            presenter_id,
            pieces,
        })),
        Err(e) => out.log(format!("bad screen patch: {e}")),
    }
}
