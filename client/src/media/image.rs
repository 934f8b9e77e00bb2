//! RGB images and the few operations the pipelines need: resize, JPEG
//! encode and decode, and loading a still image from a file.
//!
//! ```text
//!  camera / test pattern / screen --RgbImage--> resize --> encode_jpeg --> wire
//!  wire --> decode_jpeg --RgbImage--> latest-frame slot --> UI
//! ```
//!
//! Files: JPEG (through jpeg-decoder), PNG (through the `png` crate, which
//! brings the inflate decoder std lacks; screen capture already depends on
//! it) and binary PPM (`P6`, trivial to read).

use std::path::Path;

use super::error::MediaError;

/// Largest width or height this crate encodes (a JPEG limit).
pub const MAX_JPEG_SIDE: u32 = 65_535;

/// Largest decoded image accepted from the network, in bytes of RGB.
/// 8192 x 8192 is far beyond any screen and bounds a hostile frame.
pub const MAX_DECODED_BYTES: usize = 8192 * 8192 * 3;

/// An image as 8-bit RGB, row by row, no padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// `width * height * 3` bytes: R, G, B, R, G, B, ...
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// A black image.
    pub fn new(width: u32, height: u32) -> RgbImage {
        RgbImage {
            width,
            height,
            pixels: vec![0; width as usize * height as usize * 3],
        }
    }

    /// Wraps pixels, checking their count.
    pub fn from_pixels(width: u32, height: u32, pixels: Vec<u8>) -> Result<RgbImage, MediaError> {
        if pixels.len() != width as usize * height as usize * 3 {
            return Err(MediaError::Format(format!(
                "{} bytes cannot be a {width}x{height} RGB image",
                pixels.len()
            )));
        }
        Ok(RgbImage {
            width,
            height,
            pixels,
        })
    }

    /// The pixel at (x, y); black outside the image.
    pub fn get(&self, x: u32, y: u32) -> [u8; 3] {
        if x >= self.width || y >= self.height {
            return [0; 3];
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// Sets the pixel at (x, y); ignored outside the image.
    pub fn put(&mut self, x: u32, y: u32, rgb: [u8; 3]) {
        if x < self.width && y < self.height {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&rgb);
        }
    }

    /// Fills a rectangle, clipped to the image.
    pub fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32, rgb: [u8; 3]) {
        for yy in y..y.saturating_add(h).min(self.height) {
            for xx in x..x.saturating_add(w).min(self.width) {
                self.put(xx, yy, rgb);
            }
        }
    }
}

/// The largest size with the same aspect ratio whose longest side is at
/// most `max_side` (the size itself when it already fits).
pub fn fit_within(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max_side || longest == 0 {
        return (width, height);
    }
    let scale = |v: u32| ((u64::from(v) * u64::from(max_side)) / u64::from(longest)).max(1) as u32;
    (scale(width), scale(height))
}

/// Resizes with bilinear filtering (plain copy when the size is the same).
/// Good enough for shrinking a camera frame by up to 2x; a screen shot
/// shrunk further loses thin lines, which a viewer tolerates.
pub fn resize(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    if src.width == width && src.height == height {
        return src.clone();
    }
    let mut out = RgbImage::new(width, height);
    if src.width == 0 || src.height == 0 || width == 0 || height == 0 {
        return out;
    }
    // Fixed point with 8 fractional bits; sample at pixel centres.
    let x_ratio = (u64::from(src.width) << 8) / u64::from(width);
    let y_ratio = (u64::from(src.height) << 8) / u64::from(height);
    let max_x = u64::from(src.width - 1) << 8;
    let max_y = u64::from(src.height - 1) << 8;
    let row = src.width as usize * 3;
    for y in 0..height {
        let sy = ((u64::from(y) * y_ratio + y_ratio / 2).saturating_sub(128)).min(max_y);
        let (y0, fy) = ((sy >> 8) as usize, (sy & 255) as u32);
        let y1 = (y0 + 1).min(src.height as usize - 1);
        for x in 0..width {
            let sx = ((u64::from(x) * x_ratio + x_ratio / 2).saturating_sub(128)).min(max_x);
            let (x0, fx) = ((sx >> 8) as usize, (sx & 255) as u32);
            let x1 = (x0 + 1).min(src.width as usize - 1);
            let o = (y as usize * width as usize + x as usize) * 3;
            for c in 0..3 {
                let p = |yy: usize, xx: usize| u32::from(src.pixels[yy * row + xx * 3 + c]);
                let top = p(y0, x0) * (256 - fx) + p(y0, x1) * fx;
                let bottom = p(y1, x0) * (256 - fx) + p(y1, x1) * fx;
                out.pixels[o + c] = ((top * (256 - fy) + bottom * fy) >> 16) as u8;
            }
        }
    }
    out
}

/// Encodes as baseline JPEG at `quality` (1..=100).
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let (Ok(w), Ok(h)) = (u16::try_from(img.width), u16::try_from(img.height)) else {
        return Err(MediaError::Jpeg(format!(
            "{}x{} is larger than JPEG allows",
            img.width, img.height
        )));
    };
    let mut out = Vec::with_capacity(img.pixels.len() / 8);
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    encoder
        .encode(&img.pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| MediaError::Jpeg(e.to_string()))?;
    Ok(out)
}

/// Encodes as baseline JPEG at `quality` (1..=100) without chroma
/// subsampling (4:4:4): colour is kept at full resolution, which coloured
/// text on a screen needs (4:2:0 smears it over 2x2 pixels).
pub fn encode_jpeg_full_chroma(img: &RgbImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let (Ok(w), Ok(h)) = (u16::try_from(img.width), u16::try_from(img.height)) else {
        return Err(MediaError::Jpeg(format!(
            "{}x{} is larger than JPEG allows",
            img.width, img.height
        )));
    };
    let mut out = Vec::with_capacity(img.pixels.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    encoder
        .encode(&img.pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| MediaError::Jpeg(e.to_string()))?;
    Ok(out)
}

/// Decodes a JPEG into RGB (grey and CMYK images are converted).
pub fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage, MediaError> {
    decode_jpeg_at(bytes, None)
}

/// Decodes a JPEG at 1/2, 1/4 or 1/8 of its size when that is still at
/// least `min_width` wide (the decoder does the scaling, which costs far
/// less than a full decode); otherwise at full size.
pub fn decode_jpeg_scaled(bytes: &[u8], min_width: u32) -> Result<RgbImage, MediaError> {
    decode_jpeg_at(bytes, Some(min_width))
}

fn decode_jpeg_at(bytes: &[u8], min_width: Option<u32>) -> Result<RgbImage, MediaError> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(MAX_DECODED_BYTES);
    if let Some(min_width) = min_width {
        let err = |e: jpeg_decoder::Error| MediaError::Jpeg(e.to_string());
        decoder.read_info().map_err(err)?;
        let info = decoder
            .info()
            .ok_or_else(|| MediaError::Jpeg("no image header".into()))?;
        // The decoder picks the smallest scale at least this big both
        // ways, so ask for the height at the picture's aspect.
        let (w, h) = (u32::from(info.width).max(1), u32::from(info.height));
        let want_w = min_width.clamp(1, w);
        let want_h = (u64::from(want_w) * u64::from(h) / u64::from(w)).max(1);
        let clamp = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
        decoder
            .scale(clamp(u64::from(want_w)), clamp(want_h))
            .map_err(err)?;
    }
    let pixels = decoder
        .decode()
        .map_err(|e| MediaError::Jpeg(e.to_string()))?;
    let info = decoder
        .info()
        .ok_or_else(|| MediaError::Jpeg("no image header".into()))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => pixels
            .chunks_exact(2)
            .flat_map(|v| [v[0], v[0], v[0]])
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                let k = u32::from(p[3]);
                let ch = |v: u8| (u32::from(v) * k / 255) as u8;
                [ch(p[0]), ch(p[1]), ch(p[2])]
            })
            .collect(),
    };
    RgbImage::from_pixels(w, h, rgb)
}

/// Reads a binary PPM (`P6`, 8-bit).
pub fn decode_ppm(bytes: &[u8]) -> Result<RgbImage, MediaError> {
    let bad = |why: &str| MediaError::Format(format!("PPM: {why}"));
    let mut pos = 0;
    // Header: "P6", width, height, maxval, separated by whitespace and
    // comments, then exactly one whitespace byte before the pixels.
    let mut fields = Vec::new();
    while fields.len() < 4 {
        while pos < bytes.len() && (bytes[pos].is_ascii_whitespace() || bytes[pos] == b'#') {
            if bytes[pos] == b'#' {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                pos += 1;
            }
        }
        let begin = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if begin == pos {
            return Err(bad("header ends early"));
        }
        fields.push(std::str::from_utf8(&bytes[begin..pos]).map_err(|_| bad("header"))?);
    }
    if fields[0] != "P6" {
        return Err(bad("only binary RGB (P6) is read"));
    }
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad("bad number"));
    let (w, h, max) = (num(fields[1])?, num(fields[2])?, num(fields[3])?);
    if max != 255 {
        return Err(bad("only 8-bit samples (maxval 255) are read"));
    }
    let len = w as usize * h as usize * 3;
    if len > MAX_DECODED_BYTES {
        return Err(bad("image too large"));
    }
    let data = bytes
        .get(pos + 1..pos + 1 + len)
        .ok_or_else(|| bad("pixel data ends early"))?;
    RgbImage::from_pixels(w, h, data.to_vec())
}

/// Writes a binary PPM (handy for looking at what a test received).
pub fn encode_ppm(img: &RgbImage) -> Vec<u8> {
    let mut out = format!("P6\n{} {}\n255\n", img.width, img.height).into_bytes();
    out.extend_from_slice(&img.pixels);
    out
}

/// Encodes as an 8-bit RGB PNG (lossless: what a test or a person saves
/// to look at later).
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, img.width, img.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let bad = |e: png::EncodingError| MediaError::Format(format!("cannot write PNG: {e}"));
        let mut writer = encoder.write_header().map_err(bad)?;
        writer.write_image_data(&img.pixels).map_err(bad)?;
        writer.finish().map_err(bad)?;
    }
    Ok(out)
}

/// Loads a JPEG, PNG or PPM file, chosen by its first bytes.
pub fn load_image(path: &Path) -> Result<RgbImage, MediaError> {
    let bytes = std::fs::read(path)?;
    match bytes.get(..4) {
        Some([0xff, 0xd8, ..]) => decode_jpeg(&bytes),
        Some([b'P', b'6', ..]) => decode_ppm(&bytes),
        Some([0x89, b'P', b'N', b'G']) => decode_png(&bytes),
        _ => Err(MediaError::Format(format!(
            "{} is not a JPEG, PNG or PPM image",
            path.display()
        ))),
    }
}

/// Largest PNG the decoder may allocate for (an 8K RGBA screen is 132 MB).
const MAX_PNG_BYTES: usize = 256 * 1024 * 1024;

/// Decodes a PNG of any colour type and bit depth into 8-bit RGB
/// (palettes expanded, 16-bit samples cut to 8, alpha dropped).
pub fn decode_png(bytes: &[u8]) -> Result<RgbImage, MediaError> {
    let bad = |e: png::DecodingError| MediaError::Format(format!("bad PNG: {e}"));
    let limits = png::Limits {
        bytes: MAX_PNG_BYTES,
    };
    let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(bad)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| MediaError::Format("PNG too large".into()))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    let data = &buf[..info.buffer_size()];
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(MediaError::Format("PNG palette was not expanded".into()))
        }
    };
    let mut img = RgbImage::new(info.width, info.height);
    let row_len = info.line_size;
    for y in 0..info.height {
        let row = &data[y as usize * row_len..][..info.width as usize * channels];
        for (x, px) in row.chunks_exact(channels).enumerate() {
            let rgb = match channels {
                1 | 2 => [px[0], px[0], px[0]],
                _ => [px[0], px[1], px[2]],
            };
            img.put(x as u32, y, rgb);
        }
    }
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                img.put(x, y, [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]);
            }
        }
        img
    }

    /// A PNG of `img` (8-bit RGB, or grey when `grey`).
    fn png_of(img: &RgbImage, grey: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, img.width, img.height);
        let data: Vec<u8> = if grey {
            enc.set_color(png::ColorType::Grayscale);
            img.pixels.chunks_exact(3).map(|p| p[0]).collect()
        } else {
            enc.set_color(png::ColorType::Rgb);
            img.pixels.clone()
        };
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(&data).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn png_decodes_exactly() {
        let img = gradient(33, 17);
        let back = decode_png(&png_of(&img, false)).unwrap();
        assert_eq!((back.width, back.height), (33, 17));
        assert_eq!(back.pixels, img.pixels);
        let grey = decode_png(&png_of(&img, true)).unwrap();
        assert_eq!(grey.get(10, 5), [img.get(10, 5)[0]; 3]);
        assert!(decode_png(b"\x89PNG\r\n\x1a\n rest").is_err());
    }

    #[test]
    fn jpeg_round_trip_keeps_size_and_colour() {
        let img = gradient(160, 120);
        let jpeg = encode_jpeg(&img, 80).unwrap();
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
        let back = decode_jpeg(&jpeg).unwrap();
        assert_eq!((back.width, back.height), (160, 120));
        let [r, g, b] = back.get(80, 60);
        assert!((i32::from(r) - 127).abs() < 12, "{r}");
        assert!((i32::from(g) - 127).abs() < 12, "{g}");
        assert!((i32::from(b) - 128).abs() < 12, "{b}");
        assert!(decode_jpeg(b"not a jpeg").is_err());
        assert!(decode_jpeg(&jpeg[..jpeg.len() / 3]).is_err() || jpeg.len() < 3);
    }

    #[test]
    fn resize_and_fit() {
        assert_eq!(fit_within(2560, 1440, 1280), (1280, 720));
        assert_eq!(fit_within(800, 600, 1280), (800, 600));
        assert_eq!(fit_within(100, 5000, 1000), (20, 1000));
        let img = gradient(64, 48);
        let small = resize(&img, 32, 24);
        assert_eq!(small.pixels.len(), 32 * 24 * 3);
        let [r, _, _] = small.get(31, 0);
        assert!(r > 200, "{r}");
        let same = resize(&img, 64, 48);
        assert_eq!(same, img);
        let mut flat = RgbImage::new(10, 10);
        flat.fill_rect(0, 0, 10, 10, [9, 99, 199]);
        assert_eq!(resize(&flat, 37, 3).get(20, 1), [9, 99, 199]);
    }

    #[test]
    fn ppm_round_trip_and_errors() {
        let img = gradient(7, 5);
        let mut ppm = b"P6\n# a comment\n".to_vec();
        ppm.extend_from_slice(&encode_ppm(&img)[3..]);
        assert_eq!(decode_ppm(&ppm).unwrap(), img);
        assert!(decode_ppm(b"P6 7 5 255\n\x00").is_err());
        assert!(decode_ppm(b"P3 1 1 255\n").is_err());
        assert!(decode_ppm(b"P6").is_err());
    }
}
