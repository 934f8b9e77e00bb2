//! Webcam video: the source trait, the sending pipeline's encoder, the
//! receiving pipeline's decoder, and a test pattern that needs no camera.
//!
//! ```text
//!  send (the shell runs it on a thread, paced at fps by a Pacer):
//!    VideoSource::next_jpeg | next_frame --> resize to WxH --> JPEG (quality q)
//!      --> video::fragment (fits max_datagram) --> 'V' datagrams --> send
//!    and, while the server wants it, from the same capture:
//!      --> thumb::ThumbEncoder (240 wide, quality 50, 7.5 fps) --> 'T' datagrams
//!
//!  receive:
//!    ClientCore (assembler) --DecodeJob--> decode_frame --> RgbImage --> slot
//! ```
//!
//! A camera that delivers MJPEG at the right size is sent as it is; any
//! other frame is resized and encoded. A frame too big for 256 fragments
//! lowers the quality until it fits, and the lower quality stays.

use std::time::Duration;

use lanmeet_common::udp::Kind;
use lanmeet_common::video;

use super::error::MediaError;
use super::font::draw_number;
use super::image::{decode_jpeg, encode_jpeg, resize, RgbImage};
use super::thumb::{Capture, Layers, ThumbEncoder};

/// Where camera frames come from.
pub trait VideoSource: Send {
    /// The next frame, any size (the pipeline resizes it). Called once per
    /// frame period from the video sender thread.
    fn next_frame(&mut self) -> Result<RgbImage, MediaError>;

    /// The next frame as a JPEG of exactly `width` x `height`, when the
    /// source has one ready (a camera that delivers MJPEG at that size):
    /// the pipeline then sends it as it is, with no decode and re-encode.
    /// `Ok(None)`, the default, means "call `next_frame`".
    fn next_jpeg(&mut self, width: u32, height: u32) -> Result<Option<Vec<u8>>, MediaError> {
        let _ = (width, height);
        Ok(None)
    }
}

/// Size, rate and quality of the video we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoConfig {
    /// Pixels across (default 640).
    pub width: u32,
    /// Pixels down (default 480).
    pub height: u32,
    /// Frames per second, 1..=30 (default 20).
    pub fps: u32,
    /// JPEG quality, 1..=100 (default 60).
    pub quality: u8,
}

impl Default for VideoConfig {
    fn default() -> VideoConfig {
        VideoConfig {
            width: 640,
            height: 480,
            fps: 20,
            quality: 60,
        }
    }
}

/// Highest frame rate the sender allows.
pub const MAX_FPS: u32 = 30;

/// A decoded frame from one participant (or the presenter's screen).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFrame {
    /// Who sent it.
    pub client_id: String,
    /// The sender's frame number (screen frames count locally).
    pub frame_seq: u32,
    /// The pixels.
    pub image: RgbImage,
    /// Size of the JPEG it came from.
    pub jpeg_bytes: usize,
}

/// A synthetic camera: moving colour bars, a bouncing square, and the
/// frame number drawn in the top-left corner.
pub struct TestPattern {
    width: u32,
    height: u32,
    frame: u64,
}

impl TestPattern {
    /// A pattern of this size (at least 16x16).
    pub fn new(width: u32, height: u32) -> TestPattern {
        TestPattern {
            width: width.max(16),
            height: height.max(16),
            frame: 0,
        }
    }

    /// Draws frame number `n`.
    pub fn draw(&self, n: u64) -> RgbImage {
        const BARS: [[u8; 3]; 8] = [
            [235, 235, 235],
            [235, 235, 16],
            [16, 235, 235],
            [16, 235, 16],
            [235, 16, 235],
            [235, 16, 16],
            [16, 16, 235],
            [40, 40, 40],
        ];
        let (w, h) = (self.width, self.height);
        let mut img = RgbImage::new(w, h);
        let bar_w = (w / 8).max(1);
        let shift = (n * 4 % u64::from(w)) as u32;
        for x in 0..w {
            let bar = ((x + shift) % w / bar_w).min(7) as usize;
            for y in 0..h {
                img.put(x, y, BARS[bar]);
            }
        }
        // A square bouncing left and right along the lower third.
        let side = h / 6;
        let travel = u64::from(w - side).max(1);
        let phase = n * 8 % (2 * travel);
        let sx = if phase < travel {
            phase
        } else {
            2 * travel - phase
        } as u32;
        img.fill_rect(sx, h - side - h / 12, side, side, [255, 255, 255]);
        draw_number(&mut img, h / 40, h / 40, (h / 60).max(1), n, [255, 255, 0]);
        img
    }
}

impl VideoSource for TestPattern {
    fn next_frame(&mut self) -> Result<RgbImage, MediaError> {
        let img = self.draw(self.frame);
        self.frame += 1;
        Ok(img)
    }
}

/// The sending pipeline, one frame at a time: takes a frame from the
/// source, encodes it and cuts it into `'V'` datagrams, and, while the
/// thumbnail layer is wanted, a small copy into `'T'` ones (section 11,
/// [`super::thumb`]). Each layer numbers its frames from 0 for each
/// encoder, that is each time a camera starts.
pub struct VideoEncoder {
    config: VideoConfig,
    client_id: String,
    max_datagram: usize,
    quality: u8,
    seq: u32,
    thumb: ThumbEncoder,
}

/// What one call of [`VideoEncoder::send_layers`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayersSent {
    /// A full-layer frame went out whole.
    pub full: bool,
    /// A thumbnail frame went out whole.
    pub thumb: bool,
}

impl VideoEncoder {
    /// An encoder for our id and the server's datagram size.
    pub fn new(config: VideoConfig, client_id: &str, max_datagram: usize) -> VideoEncoder {
        VideoEncoder {
            config,
            client_id: client_id.to_string(),
            max_datagram,
            quality: config.quality.clamp(1, 100),
            seq: 0,
            thumb: ThumbEncoder::new(client_id, max_datagram, config.fps.clamp(1, MAX_FPS)),
        }
    }

    /// Time between frames.
    pub fn period(&self) -> Duration {
        Duration::from_secs(1) / self.config.fps.clamp(1, MAX_FPS)
    }

    /// Sends the source's next frame, full layer only, through `send`, one
    /// datagram per call. `Ok(false)` when the frame could not be cut into
    /// 256 fragments (it is skipped); an error when the source or the
    /// encoder failed (the frame is skipped too).
    pub fn send_frame(
        &mut self,
        source: &mut dyn VideoSource,
        mut send: impl FnMut(&[u8]),
    ) -> Result<bool, MediaError> {
        self.send_layers(source, Layers::FULL, |_, d| send(d))
            .map(|sent| sent.full)
    }

    /// Sends the layers in `wanted` of the source's next frame through
    /// `send`, which is told each datagram's layer ([`Kind::Video`] or
    /// [`Kind::Thumb`]). The thumbnail is made from the same capture, on
    /// 7.5 frames a second. With no layer wanted the source is not
    /// read at all.
    pub fn send_layers(
        &mut self,
        source: &mut dyn VideoSource,
        wanted: Layers,
        mut send: impl FnMut(Kind, &[u8]),
    ) -> Result<LayersSent, MediaError> {
        let thumb_now = wanted.thumb && self.thumb.due();
        if !wanted.full && !thumb_now {
            return Ok(LayersSent::default());
        }
        let (width, height) = (self.config.width, self.config.height);
        let limit = video::fragment_payload(&self.client_id, self.max_datagram) * 256;
        let mut sent = LayersSent::default();
        match source.next_jpeg(width, height)? {
            Some(jpeg) => {
                if wanted.full {
                    sent.full = if jpeg.len() <= limit {
                        self.fragment_full(&jpeg, &mut send)
                    } else {
                        // Too big to send as it is: decode it and encode it smaller.
                        let img = resize(&decode_jpeg(&jpeg)?, width, height);
                        let full = self.encode_full(&img, limit)?;
                        self.fragment_full(&full, &mut send)
                    };
                }
                if thumb_now {
                    sent.thumb = self
                        .thumb
                        .send(Capture::Jpeg(&jpeg), |d| send(Kind::Thumb, d))?;
                }
            }
            None => {
                let captured = source.next_frame()?;
                if wanted.full {
                    let img = resize(&captured, width, height);
                    let full = self.encode_full(&img, limit)?;
                    sent.full = self.fragment_full(&full, &mut send);
                }
                if thumb_now {
                    sent.thumb = self
                        .thumb
                        .send(Capture::Image(&captured), |d| send(Kind::Thumb, d))?;
                }
            }
        }
        Ok(sent)
    }

    /// Encodes the full layer. A frame too big for 256 fragments lowers the
    /// quality until it fits (and the lower quality stays for the next
    /// frames).
    fn encode_full(&mut self, img: &RgbImage, limit: usize) -> Result<Vec<u8>, MediaError> {
        let mut jpeg = encode_jpeg(img, self.quality)?;
        while jpeg.len() > limit && self.quality > 10 {
            self.quality = self.quality.saturating_sub(10).max(10);
            match encode_jpeg(img, self.quality) {
                Ok(j) => jpeg = j,
                Err(_) => break,
            }
        }
        Ok(jpeg)
    }

    /// Cuts a full-layer frame into `'V'` datagrams; false when it needs
    /// more than 256 (the frame is skipped, its number used).
    fn fragment_full(&mut self, jpeg: &[u8], send: &mut impl FnMut(Kind, &[u8])) -> bool {
        let sent = video::fragment(&self.client_id, self.seq, jpeg, self.max_datagram, |d| {
            send(Kind::Video, d)
        });
        self.seq = self.seq.wrapping_add(1);
        sent.is_ok()
    }
}

/// Decodes a JPEG from another participant. A corrupt one is skipped; a
/// decoder panic on hostile bytes is caught too, so one bad frame cannot
/// end everyone's video for the session.
pub fn decode_frame(jpeg: &[u8]) -> Option<RgbImage> {
    match std::panic::catch_unwind(|| decode_jpeg(jpeg)) {
        Ok(Ok(img)) => Some(img),
        Ok(Err(_)) | Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::image::decode_jpeg_scaled;
    use crate::media::thumb::THUMB_WIDTH;
    use lanmeet_common::udp;

    #[test]
    fn pattern_moves_and_encodes() {
        let mut p = TestPattern::new(320, 240);
        let a = p.next_frame().unwrap();
        let b = p.next_frame().unwrap();
        assert_eq!((a.width, a.height), (320, 240));
        assert_ne!(a, b);
        let jpeg = encode_jpeg(&a, 60).unwrap();
        assert!(jpeg.len() < 40_000, "{}", jpeg.len());
    }

    #[test]
    fn encoder_numbers_frames_from_zero_and_fragments_them() {
        let config = VideoConfig {
            width: 320,
            height: 240,
            ..VideoConfig::default()
        };
        let mut enc = VideoEncoder::new(config, "c1", 1200);
        assert_eq!(enc.period(), Duration::from_millis(50));
        let mut source = TestPattern::new(320, 240);
        for want in 0..2u32 {
            let mut datagrams = Vec::new();
            assert!(enc
                .send_frame(&mut source, |d| datagrams.push(d.to_vec()))
                .unwrap());
            assert!(datagrams.iter().all(|d| d.len() <= 1200));
            let body = lanmeet_common::udp::parse(&datagrams[0]).unwrap().body;
            let (h, _) = video::FragmentHeader::parse(body).unwrap();
            assert_eq!(h.frame_seq, want);
            assert_eq!(usize::from(h.frag_count), datagrams.len());
        }
    }

    #[test]
    fn decoder_skips_garbage() {
        let img = TestPattern::new(64, 48).draw(3);
        let jpeg = encode_jpeg(&img, 80).unwrap();
        assert_eq!(
            decode_frame(&jpeg).map(|i| (i.width, i.height)),
            Some((64, 48))
        );
        assert!(decode_frame(b"not a jpeg").is_none());
    }

    // ---- section 11: the thumbnail layer beside the full one ----

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
                let (h, bytes) = video::FragmentHeader::parse(d.body).unwrap();
                seq = Some(h.frame_seq);
                jpeg.extend_from_slice(bytes);
            }
            let img = decode_jpeg(&jpeg).unwrap();
            thumbs.push((seq.unwrap(), img.width, img.height));
        }
        (thumbs, full)
    }

    #[test]
    fn thumbnails_only_while_wanted_small_and_7_5_a_second() {
        // 20 fps for 2 s: the thumbnail wanted in the second second only.
        let both = Layers {
            full: true,
            thumb: true,
        };
        let (thumbs, full) = run(20, 40, |i| if i < 20 { Layers::FULL } else { both });
        assert_eq!(full, 40);
        // 7.5 a second, the first wanted frame included (frames 0, 3, 6,
        // 8, 11, 14, 16, 19 of the second), numbered from 0 on their own.
        assert_eq!(thumbs.len(), 8, "{thumbs:?}");
        for (n, (seq, w, h)) in thumbs.iter().enumerate() {
            assert_eq!(*seq, n as u32);
            assert_eq!((*w, *h), (240, 180));
        }
        // 30 fps: every fourth frame; 7 fps: every frame.
        let (thumbs, _) = run(30, 30, |_| both);
        assert_eq!(thumbs.len(), 8);
        let (thumbs, _) = run(7, 7, |_| both);
        assert_eq!(thumbs.len(), 7);
    }

    #[test]
    fn the_full_layer_stops_while_not_wanted() {
        let thumb_only = Layers {
            full: false,
            thumb: true,
        };
        // A second at 10 fps: 7 thumbnails (frames 0, 2, 3, 4, 6, 7, 8).
        let (thumbs, full) = run(10, 10, |_| thumb_only);
        assert_eq!((thumbs.len(), full), (7, 0));
        let none = Layers {
            full: false,
            thumb: false,
        };
        let (thumbs, full) = run(10, 10, |_| none);
        assert_eq!((thumbs.len(), full), (0, 0));
    }

    /// A camera that delivers MJPEG at the asked size.
    struct Mjpeg(TestPattern);

    impl VideoSource for Mjpeg {
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
