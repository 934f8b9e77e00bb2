//! Section 11's thumbnail layer on the sending side: the small picture
//! sent as `'T'` datagrams beside (or instead of) the full `'V'` one.
//!
//! ```text
//!  one capture --+--> full layer:  WxH, quality q, every frame  --> 'V'
//!                +--> thumb layer: 240 wide (at most 320x240), quality 50,
//!                                  7.5 of each second's frames  --> 'T'
//! ```
//!
//! Both layers come from the same capture: a raw frame is shrunk, an MJPEG
//! frame is decoded at reduced scale (no full-size decode). The thumbnail
//! has its own `frame_seq`, counted from 0 like the full layer's.
//!
//! The rate: section 11 allows up to 10 thumbnails a second; we send 7.5
//! (the base layer's rate in common video-conferencing simulcast). A
//! classroom is where it matters: 29 thumbnails of ~4 KB at 10 fps are
//! 9.3 Mbit/s to every receiver, at 7.5 fps 7 Mbit/s, which with the
//! speaker's full layer and the audio stays under 12 Mbit/s (the
//! `classroom` bench). A thumbnail of a face at 145 pixels wide loses
//! nothing visible. The rate is kept by counting frames, not by a clock:
//! the sender is paced at the full layer's rate, and frame `n` carries a
//! thumbnail when `n x 7.5 / fps` passes a whole number (every frame
//! below 7.5 fps).

use lanmeet_common::udp::Kind;
use lanmeet_common::video;

use super::error::MediaError;
use super::image::{decode_jpeg_scaled, encode_jpeg, resize, RgbImage};

/// Width of a thumbnail, at the full layer's aspect.
pub const THUMB_WIDTH: u32 = 240;
/// Largest thumbnail, either way (section 11).
pub const THUMB_MAX: (u32, u32) = (320, 240);
/// JPEG quality of thumbnails.
pub const THUMB_QUALITY: u8 = 50;
/// Thumbnails per second, twice over (7.5 a second, kept in integers).
const THUMB_FPS_X2: u32 = 15;

/// Whether frame `n` (counted from 0) of a sender paced at `fps` carries a
/// thumbnail: 7.5 of each second's frames, spread evenly, the first one
/// always; every frame when `fps` is 7 or less.
pub fn thumbnail_due(n: u64, fps: u32) -> bool {
    let twice_fps = u64::from(fps.max(1)) * 2;
    let thumbs_by = |frames: u64| frames * u64::from(THUMB_FPS_X2) / twice_fps;
    n == 0 || twice_fps <= u64::from(THUMB_FPS_X2) || thumbs_by(n) > thumbs_by(n - 1)
}

/// Which layers to encode this frame (the client core decides, from the
/// server's `video_layers_wanted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    /// The full layer, `'V'`.
    pub full: bool,
    /// The thumbnail layer, `'T'`.
    pub thumb: bool,
}

impl Layers {
    /// The full layer alone: section 9, and what we send before the
    /// server says otherwise.
    pub const FULL: Layers = Layers {
        full: true,
        thumb: false,
    };
}

/// The size of the thumbnail of a `width` x `height` picture: 240 wide at
/// the same aspect, made smaller still to fit 320x240 (a tall picture).
pub fn thumb_size(width: u32, height: u32) -> (u32, u32) {
    let (w, h) = (u64::from(width.max(1)), u64::from(height.max(1)));
    let (max_w, max_h) = (u64::from(THUMB_MAX.0), u64::from(THUMB_MAX.1));
    let (mut tw, mut th) = (u64::from(THUMB_WIDTH), u64::from(THUMB_WIDTH) * h / w);
    if th > max_h {
        (tw, th) = (max_h * w / h, max_h);
    }
    (tw.clamp(1, max_w) as u32, th.clamp(1, max_h) as u32)
}

/// The capture a thumbnail is made from.
pub enum Capture<'a> {
    /// A decoded frame (any size).
    Image(&'a RgbImage),
    /// An MJPEG frame as the camera gave it.
    Jpeg(&'a [u8]),
}

/// Encodes and fragments the thumbnail layer.
pub struct ThumbEncoder {
    client_id: String,
    max_datagram: usize,
    /// The sender's frame rate.
    fps: u32,
    /// Frames offered so far.
    offered: u64,
    seq: u32,
}

impl ThumbEncoder {
    /// A thumbnail encoder for a sender paced at `fps`.
    pub fn new(client_id: &str, max_datagram: usize, fps: u32) -> ThumbEncoder {
        ThumbEncoder {
            client_id: client_id.to_string(),
            max_datagram,
            fps,
            offered: 0,
            seq: 0,
        }
    }

    /// Whether the next frame offered carries a thumbnail; counts it.
    pub fn due(&mut self) -> bool {
        let due = thumbnail_due(self.offered, self.fps);
        self.offered += 1;
        due
    }

    /// Encodes `capture` small and hands each `'T'` datagram to `send`.
    /// `Ok(false)` when it did not fit in 256 fragments (not at this size).
    pub fn send(
        &mut self,
        capture: Capture<'_>,
        send: impl FnMut(&[u8]),
    ) -> Result<bool, MediaError> {
        let small = match capture {
            Capture::Image(img) => {
                let (w, h) = thumb_size(img.width, img.height);
                resize(img, w, h)
            }
            Capture::Jpeg(jpeg) => {
                let img = decode_jpeg_scaled(jpeg, THUMB_WIDTH)?;
                let (w, h) = thumb_size(img.width, img.height);
                resize(&img, w, h)
            }
        };
        let jpeg = encode_jpeg(&small, THUMB_QUALITY)?;
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let sent = video::fragment_as(
            Kind::Thumb,
            &self.client_id,
            seq,
            &jpeg,
            self.max_datagram,
            send,
        );
        Ok(sent.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_are_240_wide_at_the_aspect_and_fit_320x240() {
        assert_eq!(thumb_size(640, 480), (240, 180));
        assert_eq!(thumb_size(1280, 720), (240, 135));
        assert_eq!(thumb_size(480, 640), (180, 240));
        assert_eq!(thumb_size(100, 4000), (6, 240));
        assert_eq!(thumb_size(4000, 1), (240, 1));
    }

    #[test]
    fn thumbnails_are_7_5_a_second_counted_in_frames() {
        // Two seconds of frames at each rate.
        let count = |fps: u32| {
            let mut t = ThumbEncoder::new("c1", 1400, fps);
            (0..2 * fps).filter(|_| t.due()).count()
        };
        assert_eq!(
            (
                count(30),
                count(20),
                count(15),
                count(10),
                count(7),
                count(1)
            ),
            (15, 15, 15, 15, 14, 2)
        );
    }

    #[test]
    fn thumbnails_are_spread_evenly_from_the_first_frame() {
        let sent: Vec<u64> = (0..16).filter(|&n| thumbnail_due(n, 20)).collect();
        assert_eq!(sent, [0, 3, 6, 8, 11, 14]);
    }
}
