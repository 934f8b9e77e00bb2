//! A 3x5 pixel font for the digits 0-9, so the test pattern can show its
//! frame number: a viewer (or a test) sees at a glance whether frames
//! arrive, in order, and how many were lost.

use super::image::RgbImage;

/// Each digit is 5 rows of 3 bits, most significant bit on the left.
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111], // 0
    [0b010, 0b110, 0b010, 0b010, 0b111], // 1
    [0b111, 0b001, 0b111, 0b100, 0b111], // 2
    [0b111, 0b001, 0b111, 0b001, 0b111], // 3
    [0b101, 0b101, 0b111, 0b001, 0b001], // 4
    [0b111, 0b100, 0b111, 0b001, 0b111], // 5
    [0b111, 0b100, 0b111, 0b101, 0b111], // 6
    [0b111, 0b001, 0b010, 0b010, 0b010], // 7
    [0b111, 0b101, 0b111, 0b101, 0b111], // 8
    [0b111, 0b101, 0b111, 0b001, 0b111], // 9
];

/// Draws `n` in decimal with its top-left corner at (x, y), each font
/// pixel a `scale` x `scale` square, on a black box for contrast.
pub(crate) fn draw_number(img: &mut RgbImage, x: u32, y: u32, scale: u32, n: u64, rgb: [u8; 3]) {
    let text = n.to_string();
    let advance = 4 * scale;
    let box_w = advance * text.len() as u32 + scale;
    img.fill_rect(x, y, box_w, 7 * scale, [0, 0, 0]);
    for (i, ch) in text.bytes().enumerate() {
        let glyph = DIGITS[usize::from(ch - b'0')];
        let gx = x + scale + advance * i as u32;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..3 {
                if bits & (0b100 >> col) != 0 {
                    img.fill_rect(
                        gx + col * scale,
                        y + scale + row as u32 * scale,
                        scale,
                        scale,
                        rgb,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_digits_in_place() {
        let mut img = RgbImage::new(40, 10);
        draw_number(&mut img, 0, 0, 1, 10, [255, 255, 255]);
        // "1": top row is .X. at x = 1..4
        assert_eq!(img.get(1, 1), [0, 0, 0]);
        assert_eq!(img.get(2, 1), [255, 255, 255]);
        // "0": top row is XXX at x = 5..8
        assert_eq!(img.get(5, 1), [255, 255, 255]);
        assert_eq!(img.get(6, 3), [0, 0, 0]);
    }
}
