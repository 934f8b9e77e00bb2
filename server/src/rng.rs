//! Randomness for meeting codes and UDP tokens.
//!
//! A UDP token is the only thing that lets a datagram speak for a client, so
//! it must be unguessable: [`OsRandom`] reads the operating system's random
//! device for every token. Tests use [`SeededRandom`] so a run can be
//! repeated exactly.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;

/// Where the core gets random bytes.
pub trait RandomSource {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's random device (`/dev/urandom`), or, where there is
/// none, SipHash keyed by the standard library's per-process random keys
/// over a counter.
pub struct OsRandom {
    device: Option<File>,
    fallback: RandomState,
    counter: u64,
}

impl OsRandom {
    /// Opens the random device.
    pub fn new() -> OsRandom {
        OsRandom {
            device: File::open("/dev/urandom").ok(),
            fallback: RandomState::new(),
            counter: 0,
        }
    }
}

impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        if let Some(device) = &mut self.device {
            if device.read_exact(buf).is_ok() {
                return;
            }
        }
        for chunk in buf.chunks_mut(8) {
            self.counter += 1;
            let mut h = self.fallback.build_hasher();
            h.write_u64(self.counter);
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
}

/// A repeatable generator (SplitMix64) for tests.
pub struct SeededRandom(pub u64);

impl RandomSource for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_differs() {
        let mut r = OsRandom::new();
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        r.fill(&mut a);
        r.fill(&mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn seeded_repeats() {
        let (mut a, mut b) = ([0u8; 13], [0u8; 13]);
        SeededRandom(5).fill(&mut a);
        SeededRandom(5).fill(&mut b);
        assert_eq!(a, b);
    }
}
