//! Fuzz target: the downloader's file name rule (`safe_file_name`), which
//! turns a name chosen by another machine into one harmless file name.
//!
//! Whatever comes in, what comes out is one non-empty name of at most 200
//! bytes, with no path separator, no control character, none of the
//! characters Windows forbids, never `.` or `..`, and already safe (a
//! second pass changes nothing).

#![no_main]

use libfuzzer_sys::fuzz_target;

use lanmeet_common::filename::safe_file_name;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let name = safe_file_name(&raw);
    assert!(!name.is_empty());
    assert!(name.len() <= 200, "{} bytes", name.len());
    assert!(name != "." && name != "..");
    assert!(!name.chars().any(|c| c.is_control() || "/\\<>:\"|?*".contains(c)), "{name:?}");
    assert_eq!(safe_file_name(&name), name, "not stable: {raw:?}");
});
