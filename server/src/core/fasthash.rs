//! A fast hasher for the maps the relay looks up for every datagram.
//!
//! std's `HashMap` hashes with SipHash, which resists an attacker who
//! chooses the keys to make them collide. Hashing a short id that way
//! costs about as much as the rest of relaying a fragment, and the relay
//! looks up a few per datagram. The maps here are keyed only by strings
//! the server issued itself (meeting codes, client ids, added after the
//! datagram's sender was checked), so nobody outside chooses their keys:
//! FNV-1a, a multiply and an xor per byte, is enough. A map whose keys
//! come from clients keeps SipHash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a, 64 bits.
#[derive(Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` keyed by server-issued strings.
pub type IssuedMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_1a_of_known_inputs() {
        let hash = |s: &[u8]| {
            let mut h = Fnv::default();
            h.write(s);
            h.finish()
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn a_map_finds_what_it_holds() {
        let mut m: IssuedMap<String, u32> = IssuedMap::default();
        for i in 0..1000 {
            m.insert(format!("c{i}"), i);
        }
        assert!((0..1000).all(|i| m.get(format!("c{i}").as_str()) == Some(&i)));
        assert_eq!(m.get("nobody"), None);
    }
}
