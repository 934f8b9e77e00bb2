//! Measures the PSNR over the text of a screenshot (a PPM, PNG or JPEG)
//! after JPEG at several qualities, with and without chroma subsampling,
//! and the JPEG sizes: how `SCREEN_QUALITY` was chosen.
//!
//! ```text
//! cargo run --release -p lanmeet-client --example screen_quality -- SHOT.ppm
//! ```

use lanmeet_client::image::{decode_jpeg, encode_jpeg, encode_jpeg_full_chroma, load_image};
use lanmeet_client::tiles::text_psnr;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: screen_quality SHOT.ppm|png|jpg");
        std::process::exit(2);
    };
    let img = match load_image(std::path::Path::new(&path)) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    println!("{}x{} {path}", img.width, img.height);
    println!("quality  4:4:4 dB  bytes     4:2:0 dB  bytes");
    for q in [70u8, 75, 80, 85, 90, 95] {
        let full = encode_jpeg_full_chroma(&img, q).expect("encodes");
        let sub = encode_jpeg(&img, q).expect("encodes");
        let db_full = text_psnr(&img, &decode_jpeg(&full).expect("decodes"));
        let db_sub = text_psnr(&img, &decode_jpeg(&sub).expect("decodes"));
        println!(
            "{q:>7}  {db_full:>8.1}  {:>8}  {db_sub:>8.1}  {:>8}",
            full.len(),
            sub.len()
        );
    }
}
