//! What changed between two captures of a screen, as rectangles.
//!
//! ```text
//!  capture --> TileMap::of: one 64-bit hash per 64x64 tile
//!  previous map vs new map --> changed tiles --> merge_tiles:
//!      runs of changed tiles along each tile row, then runs with the same
//!      columns in consecutive rows joined --> rectangles (pixels, clipped)
//! ```
//!
//! Hashing instead of keeping the last picture: a 1920x1080 capture has
//! 510 tiles, so the state is 4 KB instead of 6 MB, and hashing a capture
//! reads it once, 8 bytes at a time (a few milliseconds). Typing changes a
//! tile or two; a scrolled window changes most of them, which the caller
//! sends as a keyframe instead.

use super::image::RgbImage;

/// Tile side in pixels.
pub const TILE: u32 = 64;

/// The hash of every tile of one picture, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileMap {
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Tiles across.
    pub cols: u32,
    /// Tiles down.
    pub rows: u32,
    hashes: Vec<u64>,
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

impl TileMap {
    /// Hashes every tile of `img`.
    pub fn of(img: &RgbImage) -> TileMap {
        let cols = img.width.div_ceil(TILE);
        let rows = img.height.div_ceil(TILE);
        let mut hashes = vec![0xcbf2_9ce4_8422_2325_u64; (cols * rows) as usize];
        let row_bytes = img.width as usize * 3;
        let tile_bytes = TILE as usize * 3;
        for y in 0..img.height as usize {
            let line = &img.pixels[y * row_bytes..(y + 1) * row_bytes];
            let tile_row = (y / TILE as usize) * cols as usize;
            for (col, chunk) in line.chunks(tile_bytes).enumerate() {
                let h = &mut hashes[tile_row + col];
                *h = mix_bytes(*h, chunk);
            }
        }
        TileMap {
            width: img.width,
            height: img.height,
            cols,
            rows,
            hashes,
        }
    }

    /// Tiles in all.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the picture is empty.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Which tiles differ from `older` (a map of a picture of the same
    /// size), row by row; `None` when the sizes differ.
    pub fn changed_since(&self, older: &TileMap) -> Option<Vec<bool>> {
        if (self.width, self.height) != (older.width, older.height) {
            return None;
        }
        Some(
            self.hashes
                .iter()
                .zip(&older.hashes)
                .map(|(a, b)| a != b)
                .collect(),
        )
    }

    /// The changed tiles as few rectangles, in pixels, clipped to the
    /// picture. Rectangles never overlap.
    pub fn rects(&self, changed: &[bool]) -> Vec<Rect> {
        // Runs along each row: (first col, last col + 1).
        let mut open: Vec<(u32, u32, u32, u32)> = Vec::new(); // (c0, c1, r0, r1)
        let mut done = Vec::new();
        for row in 0..self.rows {
            let mut runs = Vec::new();
            let mut col = 0;
            while col < self.cols {
                if changed[(row * self.cols + col) as usize] {
                    let start = col;
                    while col < self.cols && changed[(row * self.cols + col) as usize] {
                        col += 1;
                    }
                    runs.push((start, col));
                } else {
                    col += 1;
                }
            }
            // A run with the same columns as an open rectangle that ended
            // on the row above extends it; the others close.
            let mut next_open = Vec::new();
            for (c0, c1, r0, r1) in open.drain(..) {
                if let Some(i) = runs.iter().position(|&r| r == (c0, c1)) {
                    runs.remove(i);
                    next_open.push((c0, c1, r0, r1 + 1));
                } else {
                    done.push((c0, c1, r0, r1));
                }
            }
            next_open.extend(runs.into_iter().map(|(c0, c1)| (c0, c1, row, row + 1)));
            open = next_open;
        }
        done.extend(open);
        done.sort_by_key(|&(c0, _, r0, _)| (r0, c0));
        done.into_iter()
            .map(|(c0, c1, r0, r1)| {
                let (x, y) = (c0 * TILE, r0 * TILE);
                Rect {
                    x,
                    y,
                    width: (c1 * TILE).min(self.width) - x,
                    height: (r1 * TILE).min(self.height) - y,
                }
            })
            .collect()
    }
}

/// Folds `bytes` into `h`, eight at a time.
fn mix_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(29);
    }
    h
}

/// Copies the `r` part of `img` into a new image.
pub fn crop(img: &RgbImage, r: Rect) -> RgbImage {
    let mut out = RgbImage::new(r.width, r.height);
    let (src_row, dst_row) = (img.width as usize * 3, r.width as usize * 3);
    for y in 0..r.height as usize {
        let s = (r.y as usize + y) * src_row + r.x as usize * 3;
        out.pixels[y * dst_row..(y + 1) * dst_row].copy_from_slice(&img.pixels[s..s + dst_row]);
    }
    out
}

/// Paints `patch` over `img` with its top-left corner at (x, y), clipped
/// to `img`.
pub fn paint(img: &mut RgbImage, x: u32, y: u32, patch: &RgbImage) {
    if x >= img.width || y >= img.height {
        return;
    }
    let w = patch.width.min(img.width - x) as usize;
    let h = patch.height.min(img.height - y) as usize;
    let (dst_row, src_row) = (img.width as usize * 3, patch.width as usize * 3);
    for row in 0..h {
        let d = (y as usize + row) * dst_row + x as usize * 3;
        let s = row * src_row;
        img.pixels[d..d + w * 3].copy_from_slice(&patch.pixels[s..s + w * 3]);
    }
}

/// Peak signal-to-noise ratio of `b` against `a` over the rectangle `r`
/// (both images the same size), in dB; `f64::INFINITY` when equal. Text
/// reads sharp at 35 dB and above.
pub fn psnr(a: &RgbImage, b: &RgbImage, r: Rect) -> f64 {
    if (a.width, a.height) != (b.width, b.height) {
        return 0.0;
    }
    let row = a.width as usize * 3;
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in r.y..(r.y + r.height).min(a.height) {
        let start = y as usize * row + r.x as usize * 3;
        let end = y as usize * row + ((r.x + r.width).min(a.width)) as usize * 3;
        for (p, q) in a.pixels[start..end].iter().zip(&b.pixels[start..end]) {
            let d = i64::from(*p) - i64::from(*q);
            sum += (d * d) as u64;
            n += 1;
        }
    }
    if sum == 0 || n == 0 {
        return f64::INFINITY;
    }
    let mse = sum as f64 / n as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// PSNR of `received` against `original` over the tiles of `original`
/// that are not one flat colour: over the text of a screen of text, not
/// over its empty margins (which would flatter any codec).
pub fn text_psnr(original: &RgbImage, received: &RgbImage) -> f64 {
    if (original.width, original.height) != (received.width, received.height) {
        return 0.0;
    }
    let row = original.width as usize * 3;
    let (mut sum, mut n) = (0u64, 0u64);
    for ty in 0..original.height.div_ceil(TILE) {
        for tx in 0..original.width.div_ceil(TILE) {
            let (x0, y0) = (tx * TILE, ty * TILE);
            let (x1, y1) = (
                (x0 + TILE).min(original.width),
                (y0 + TILE).min(original.height),
            );
            let first = original.get(x0, y0);
            let flat = (y0..y1).all(|y| {
                let s = y as usize * row;
                original.pixels[s + x0 as usize * 3..s + x1 as usize * 3]
                    .chunks_exact(3)
                    .all(|p| p == first)
            });
            if flat {
                continue;
            }
            for y in y0..y1 {
                let s = y as usize * row;
                let range = s + x0 as usize * 3..s + x1 as usize * 3;
                for (p, q) in original.pixels[range.clone()]
                    .iter()
                    .zip(&received.pixels[range])
                {
                    let d = i64::from(*p) - i64::from(*q);
                    sum += (d * d) as u64;
                    n += 1;
                }
            }
        }
    }
    if sum == 0 || n == 0 {
        return f64::INFINITY;
    }
    10.0 * (255.0 * 255.0 / (sum as f64 / n as f64)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32) -> RgbImage {
        let mut i = RgbImage::new(w, h);
        for (n, p) in i.pixels.iter_mut().enumerate() {
            *p = (n % 251) as u8;
        }
        i
    }

    #[test]
    fn identical_pictures_change_nothing() {
        let a = img(200, 130);
        let (m1, m2) = (TileMap::of(&a), TileMap::of(&a.clone()));
        assert_eq!((m1.cols, m1.rows), (4, 3));
        let changed = m2.changed_since(&m1).unwrap();
        assert!(changed.iter().all(|c| !c));
        assert!(m2.rects(&changed).is_empty());
    }

    #[test]
    fn one_pixel_changes_its_tile_only() {
        let a = img(200, 130);
        let mut b = a.clone();
        b.put(130, 70, [1, 2, 3]);
        let changed = TileMap::of(&b).changed_since(&TileMap::of(&a)).unwrap();
        assert_eq!(changed.iter().filter(|c| **c).count(), 1);
        let rects = TileMap::of(&b).rects(&changed);
        assert_eq!(
            rects,
            [Rect {
                x: 128,
                y: 64,
                width: 64,
                height: 64
            }]
        );
    }

    #[test]
    fn changed_tiles_merge_into_rectangles_clipped_to_the_picture() {
        let a = img(200, 130); // 4 x 3 tiles, the last column 8 px, the last row 2 px
        let mut b = a.clone();
        // A block of tiles (cols 2..=3, rows 0..=2) and one lone tile.
        b.fill_rect(128, 0, 72, 130, [9, 9, 9]);
        b.put(0, 129, [7, 7, 7]);
        let map = TileMap::of(&b);
        let changed = map.changed_since(&TileMap::of(&a)).unwrap();
        let rects = map.rects(&changed);
        assert_eq!(
            rects,
            [
                Rect {
                    x: 128,
                    y: 0,
                    width: 72,
                    height: 130
                },
                Rect {
                    x: 0,
                    y: 128,
                    width: 64,
                    height: 2
                },
            ]
        );
        // Painting the crops of b over a gives b.
        let mut c = a.clone();
        for r in rects {
            paint(&mut c, r.x, r.y, &crop(&b, r));
        }
        assert_eq!(c, b);
        assert_eq!(
            psnr(
                &b,
                &c,
                Rect {
                    x: 0,
                    y: 0,
                    width: 200,
                    height: 130
                }
            ),
            f64::INFINITY
        );
    }

    #[test]
    fn sizes_that_differ_are_not_compared() {
        assert!(TileMap::of(&img(64, 64))
            .changed_since(&TileMap::of(&img(65, 64)))
            .is_none());
    }
}
