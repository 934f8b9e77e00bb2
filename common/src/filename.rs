//! The receiver's rule for file names (PROTOCOL.md section 8): a
//! downloader never trusts the name in a `file_offer`.
//!
//! The name comes from another machine and may be anything: a path
//! (`../../.bashrc`, `/etc/passwd`, `C:\\Windows\\win.ini`), control
//! characters, a name Windows reserves for a device (`con`, `nul.txt`), or
//! nothing usable at all. [`safe_file_name`] reduces it to one harmless
//! file name; where it is saved (never overwriting) is the client's
//! business. Pure string work, so it is fuzzed with the other parsers.

/// The name used when an offered name has nothing usable left.
pub const FALLBACK_NAME: &str = "download";

/// Longest saved name in bytes: most file systems allow 255, and the
/// ` (12)` and `.part` suffixes need room.
const MAX_NAME_BYTES: usize = 200;

/// Names Windows reserves in every folder, whatever the extension.
const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Reduces an offered file name to a safe single file name.
///
/// Keeps the last path component (`/` and `\` both separate), drops
/// control characters, replaces the characters Windows forbids
/// (`<>:"|?*`) with `_`, trims spaces and trailing dots, prefixes `_` to a
/// name Windows reserves (`con`, `nul.txt`, `COM1`, ...), shortens it to
/// 200 bytes, and refuses `.`, `..` and empty names by using
/// [`FALLBACK_NAME`] instead.
pub fn safe_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let mut name: String = last
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "<>:\"|?*".contains(c) { '_' } else { c })
        .collect();
    name = name.trim().trim_end_matches(['.', ' ']).to_string();
    if name.is_empty() || name == "." || name == ".." || name.chars().all(|c| c == '.') {
        return FALLBACK_NAME.to_string();
    }
    let stem = name.split('.').next().unwrap_or("").trim_end();
    if WINDOWS_RESERVED
        .iter()
        .any(|r| r.eq_ignore_ascii_case(stem))
    {
        name.insert(0, '_');
    }
    if name.len() > MAX_NAME_BYTES {
        // Keep the extension when it is short, cut the stem on a char
        // boundary.
        let ext = match name.rfind('.') {
            Some(i) if name.len() - i <= 16 && i > 0 => name[i..].to_string(),
            _ => String::new(),
        };
        let mut cut = MAX_NAME_BYTES - ext.len();
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}{ext}", name[..cut].trim_end_matches(['.', ' ']));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names() {
        assert_eq!(safe_file_name("../../x"), "x");
        assert_eq!(safe_file_name("/etc/passwd"), "passwd");
        assert_eq!(safe_file_name("..\\..\\win.ini"), "win.ini");
        assert_eq!(safe_file_name("a\u{1b}[31mb"), "a[31mb");
        assert_eq!(safe_file_name("nul.txt"), "_nul.txt");
        assert_eq!(safe_file_name("..."), FALLBACK_NAME);
        assert_eq!(safe_file_name("x/."), FALLBACK_NAME);
    }
}
