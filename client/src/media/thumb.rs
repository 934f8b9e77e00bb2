//! Section 11's thumbnail layer on the sending side: the small picture
//! sent as `'T'` datagrams beside (or instead of) the full `'V'` one.
//!
//! ```text
//!  one capture --+--> full layer:  WxH, quality q, every frame  --> 'V'
//!                +--> thumb layer: 240 wide (at most 320x240), quality 50,
//!                                  every k-th frame (at most 10 fps)  --> 'T'
//! ```
//!
//! Both layers come from the same capture: a raw frame is shrunk, an MJPEG
//! frame is decoded at reduced scale (no full-size decode). The thumbnail
//! has its own `frame_seq`, counted from 0 like the full layer's. The rate
//! is kept by counting frames, not by a clock: the sender is paced at the
//! full layer's rate, so sending every `k`-th frame, `k = ceil(fps / 10)`,
//! stays at or under 10 a second.

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
/// Highest thumbnail frame rate.
pub const THUMB_MAX_FPS: u32 = 10;

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
    /// Send one frame in `every`.
    every: u32,
    /// Frames offered since the layer was last sent.
    since: u32,
    seq: u32,
}

impl ThumbEncoder {
    /// A thumbnail encoder for a sender paced at `fps`.
    pub fn new(client_id: &str, max_datagram: usize, fps: u32) -> ThumbEncoder {
        let every = fps.max(1).div_ceil(THUMB_MAX_FPS);
        ThumbEncoder {
            client_id: client_id.to_string(),
            max_datagram,
            every,
            since: every, // the first frame offered is sent
            seq: 0,
        }
    }

    /// Whether the next frame offered carries a thumbnail; counts it.
    pub fn due(&mut self) -> bool {
        if self.since + 1 >= self.every {
            self.since = 0;
            true
        } else {
            self.since += 1;
            false
        }
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
    fn thumbnails_are_at_most_10_a_second_counted_in_frames() {
        let count = |fps: u32| {
            let mut t = ThumbEncoder::new("c1", 1400, fps);
            (0..fps).filter(|_| t.due()).count()
        };
        assert_eq!(
            (count(30), count(20), count(15), count(10), count(7)),
            (10, 10, 8, 10, 7)
        );
    }
}
