//! SHA-256, to name a shared file by its content.
//!
//! A file offer carries the SHA-256 of the whole file and the downloader
//! checks it before renaming `NAME.part`. Hashing runs alongside the
//! transfer with [`Sha256::update`], so a file is never read twice.
//!
//! The compression function comes from the `sha2` crate, which uses the
//! CPU's SHA instructions where there are any: about 1.3 GB/s here against
//! 170 MB/s for a plain Rust loop, the difference between hashing keeping
//! up with a LAN transfer and holding it back.

use sha2::Digest;

/// Incremental SHA-256.
#[derive(Clone, Default)]
pub struct Sha256 {
    inner: sha2::Sha256,
}

impl Sha256 {
    /// A hasher over no bytes yet.
    pub fn new() -> Sha256 {
        Sha256::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> [u8; 32] {
        self.inner.finalize().into()
    }

    /// The digest as 64 lower-case hex digits.
    pub fn finish_hex(self) -> String {
        to_hex(&self.finish())
    }
}

/// SHA-256 of `data` as 64 lower-case hex digits.
pub fn hex_digest(data: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(data);
    h.finish_hex()
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            hex_digest(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex_digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex_digest(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn a_million_a() {
        let mut h = Sha256::new();
        let chunk = [b'a'; 1000];
        for _ in 0..1000 {
            h.update(&chunk);
        }
        assert_eq!(
            h.finish_hex(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn split_updates_match_one_update() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        for split in [0, 1, 55, 56, 63, 64, 65, 999] {
            let mut h = Sha256::new();
            h.update(&data[..split]);
            h.update(&data[split..]);
            assert_eq!(h.finish_hex(), hex_digest(&data), "split at {split}");
        }
    }
}
