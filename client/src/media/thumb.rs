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
    use crate::media::image::decode_jpeg;
    use crate::media::video::{TestPattern, VideoConfig, VideoEncoder};
    use lanmeet_common::udp;
    use lanmeet_common::video::FragmentHeader;

    #[test]
    fn thumbnails_are_240_wide_at_the_aspect_and_fit_320x240() {
        assert_eq!(thumb_size(640, 480), (240, 180));
        assert_eq!(thumb_size(1280, 720), (240, 135));
        assert_eq!(thumb_size(480, 640), (180, 240));
        assert_eq!(thumb_size(100, 4000), (6, 240));
        assert_eq!(thumb_size(4000, 1), (240, 1));
    }

    /// Runs `frames` frames of a 640x480 camera at `fps` through the
    /// encoder with `wanted`; returns the decoded thumbnails (with their
    /// `frame_seq`) and the number of full frames.
    fn run(
        fps: u32,
        frames: usize,
        wanted: impl Fn(usize) -> Layers,
    ) -> (Vec<(u32, u32, u32)>, usize) {
        let config = VideoConfig {
            fps,
            ..VideoConfig::default()
        };
        let mut enc = VideoEncoder::new(config, "c1", 1400);
        let mut source = TestPattern::new(640, 480);
        let (mut thumbs, mut full) = (Vec::new(), 0);
        for i in 0..frames {
            let mut datagrams: Vec<(Kind, Vec<u8>)> = Vec::new();
            let sent = enc
                .send_layers(&mut source, wanted(i), |k, d| {
                    datagrams.push((k, d.to_vec()))
                })
                .unwrap();
            let t: Vec<&[u8]> = datagrams
                .iter()
                .filter(|(k, _)| *k == Kind::Thumb)
                .map(|(_, d)| d.as_slice())
                .collect();
            assert_eq!(sent.thumb, !t.is_empty());
            assert_eq!(sent.full, datagrams.iter().any(|(k, _)| *k == Kind::Video));
            full += usize::from(sent.full);
            if t.is_empty() {
                continue;
            }
            let mut jpeg = Vec::new();
            let mut seq = None;
            for d in t {
                assert!(d.len() <= 1400);
                let d = udp::parse(d).unwrap();
                assert_eq!(d.kind, Kind::Thumb);
                assert_eq!(d.client_id, "c1");
                let (h, bytes) = FragmentHeader::parse(d.body).unwrap();
                seq = Some(h.frame_seq);
                jpeg.extend_from_slice(bytes);
            }
            let img = decode_jpeg(&jpeg).unwrap();
            thumbs.push((seq.unwrap(), img.width, img.height));
        }
        (thumbs, full)
    }

    #[test]
    fn thumbnails_only_while_wanted_small_and_at_most_10_a_second() {
        // 20 fps for 2 s: the thumbnail wanted in the second second only.
        let both = Layers {
            full: true,
            thumb: true,
        };
        let (thumbs, full) = run(20, 40, |i| if i < 20 { Layers::FULL } else { both });
        assert_eq!(full, 40);
        // Every second frame: 10 a second, numbered from 0 on their own.
        assert_eq!(thumbs.len(), 10, "{thumbs:?}");
        for (n, (seq, w, h)) in thumbs.iter().enumerate() {
            assert_eq!(*seq, n as u32);
            assert_eq!((*w, *h), (240, 180));
        }
        // 30 fps: every third frame (10 a second); 7 fps: every frame.
        let (thumbs, _) = run(30, 30, |_| both);
        assert_eq!(thumbs.len(), 10);
        let (thumbs, _) = run(7, 7, |_| both);
        assert_eq!(thumbs.len(), 7);
    }

    #[test]
    fn the_full_layer_stops_while_not_wanted() {
        let thumb_only = Layers {
            full: false,
            thumb: true,
        };
        let (thumbs, full) = run(10, 10, |_| thumb_only);
        assert_eq!((thumbs.len(), full), (10, 0));
        let none = Layers {
            full: false,
            thumb: false,
        };
        let (thumbs, full) = run(10, 10, |_| none);
        assert_eq!((thumbs.len(), full), (0, 0));
    }

    /// A camera that delivers MJPEG at the asked size.
    struct Mjpeg(TestPattern);

    impl crate::media::video::VideoSource for Mjpeg {
        fn next_frame(&mut self) -> Result<RgbImage, MediaError> {
            unreachable!("an MJPEG camera hands over JPEGs")
        }
        fn next_jpeg(&mut self, width: u32, height: u32) -> Result<Option<Vec<u8>>, MediaError> {
            let img = resize(&self.0.draw(0), width, height);
            encode_jpeg(&img, 80).map(Some)
        }
    }

    #[test]
    fn an_mjpeg_frame_is_decoded_at_reduced_scale_for_the_thumbnail() {
        let small = decode_jpeg_scaled(
            &encode_jpeg(&TestPattern::new(640, 480).draw(1), 80).unwrap(),
            THUMB_WIDTH,
        )
        .unwrap();
        assert_eq!((small.width, small.height), (320, 240), "1/2 scale");
        let mut enc = VideoEncoder::new(VideoConfig::default(), "c1", 1400);
        let mut source = Mjpeg(TestPattern::new(640, 480));
        let mut kinds = Vec::new();
        let sent = enc
            .send_layers(
                &mut source,
                Layers {
                    full: true,
                    thumb: true,
                },
                |k, _| kinds.push(k),
            )
            .unwrap();
        assert!(sent.full && sent.thumb);
        assert!(kinds.contains(&Kind::Video) && kinds.contains(&Kind::Thumb));
    }
}
