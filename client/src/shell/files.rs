//! The disk side of file transfers: hashing a file we offer, the part
//! files of downloads, the files of uploads. The core decides every step
//! ([`crate::core::FileOp`]); this carries it out and answers with a
//! [`FileResult`].
//!
//! ```text
//!  OpenDownload{name} --> safe_file_name --> unique_destination --> NAME.part
//!  Write{bytes}       --> append to NAME.part (buffered)
//!  Save               --> flush --> rename NAME.part -> NAME (a new name if
//!                         NAME appeared meanwhile)
//!  Discard            --> close, delete NAME.part
//!  Read{offset, len}  --> the offered file, opened once per upload
//!  Close              --> close it
//! ```
//!
//! The offered name is never trusted: [`safe_file_name`] reduces it to one
//! harmless path component and [`unique_destination`] never overwrites.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use lanmeet_common::sha256::Sha256;

use super::stop::StopSignal;
use crate::core::{FileOp, FileResult};

// The receiver's name rule is part of the protocol (PROTOCOL.md section
// 8), so it lives in the protocol crate, where it is also fuzzed.
pub(crate) use lanmeet_common::filename::{safe_file_name, FALLBACK_NAME};

/// `path` with `.part` appended (`a.txt` -> `a.txt.part`).
pub(crate) fn part_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// A path inside `dir` for `name` (already made safe) that overwrites
/// nothing: neither the file nor its `.part` exists, and no running
/// download in `taken` uses it. Adds ` (1)`, ` (2)`, ... before the
/// extension.
pub(crate) fn unique_destination(dir: &Path, name: &str, taken: &HashSet<PathBuf>) -> PathBuf {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let free = |p: &Path| !p.exists() && !part_path(p).exists() && !taken.contains(p);
    let first = dir.join(name);
    if free(&first) {
        return first;
    }
    (1u64..)
        .map(|n| dir.join(format!("{stem} ({n}){ext}")))
        .find(|p| free(p))
        .unwrap_or(first) // the range is endless, so `find` always finds
}

/// Streams a file through SHA-256 (64 KiB at a time); gives up when
/// `stop` is raised (the session ended while a big file was being read).
pub(crate) fn hash_file(path: &Path, stop: &StopSignal) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        if stop.is_stopped() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the session ended",
            ));
        }
        let n = read_full(&mut file, &mut buf)?;
        if n == 0 {
            return Ok((size, hasher.finish_hex()));
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A download's part file.
struct PartFile {
    final_path: PathBuf,
    part: PathBuf,
    file: BufWriter<File>,
}

/// The files of running transfers.
pub(crate) struct Disk {
    dir: PathBuf,
    downloads: HashMap<String, PartFile>,
    uploads: HashMap<String, File>,
}

impl Disk {
    /// Downloads go into `dir` (created when the first one starts).
    pub(crate) fn new(dir: PathBuf) -> Disk {
        Disk {
            dir,
            downloads: HashMap::new(),
            uploads: HashMap::new(),
        }
    }

    fn taken(&self) -> HashSet<PathBuf> {
        self.downloads
            .values()
            .map(|d| d.final_path.clone())
            .collect()
    }

    fn open_download(&self, filename: &str) -> io::Result<PartFile> {
        fs::create_dir_all(&self.dir)?;
        let name = safe_file_name(filename);
        let final_path = unique_destination(&self.dir, &name, &self.taken());
        let part = part_path(&final_path);
        // create_new: never overwrite, even if a file appeared meanwhile.
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)?;
        Ok(PartFile {
            final_path,
            part,
            file: BufWriter::with_capacity(256 * 1024, file),
        })
    }

    fn save(&mut self, transfer_id: &str) -> Result<(PathBuf, u64), String> {
        let Some(PartFile {
            mut final_path,
            part,
            mut file,
        }) = self.downloads.remove(transfer_id)
        else {
            return Err("the part file is gone".into());
        };
        let flushed = file.flush();
        drop(file);
        if let Err(e) = flushed {
            let _ = fs::remove_file(&part);
            return Err(format!("writing the part file: {e}"));
        }
        // A file of that name may have appeared since the start: pick again.
        if final_path.exists() {
            let name = final_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| FALLBACK_NAME.to_string());
            final_path = unique_destination(&self.dir, &name, &self.taken());
        }
        match fs::rename(&part, &final_path) {
            Ok(()) => {
                let size = fs::metadata(&final_path).map(|m| m.len()).unwrap_or(0);
                Ok((final_path, size))
            }
            Err(e) => {
                let _ = fs::remove_file(&part);
                Err(format!("cannot rename the part file: {e}"))
            }
        }
    }

    fn read(
        &mut self,
        transfer_id: &str,
        path: &Path,
        offset: u64,
        len: usize,
    ) -> io::Result<Vec<u8>> {
        let file = match self.uploads.entry(transfer_id.to_string()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(File::open(path)?),
        };
        file.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0u8; len];
        let n = read_full(file, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Carries out one operation; the answer, if it has one.
    pub(crate) fn perform(&mut self, op: FileOp) -> Option<FileResult> {
        match op {
            FileOp::OpenDownload {
                transfer_id,
                filename,
            } => {
                let result = match self.open_download(&filename) {
                    Ok(part) => {
                        let path = part.final_path.clone();
                        self.downloads.insert(transfer_id.clone(), part);
                        Ok(path)
                    }
                    Err(e) => Err(format!("cannot write into {}: {e}", self.dir.display())),
                };
                Some(FileResult::Opened {
                    transfer_id,
                    result,
                })
            }
            FileOp::Write { transfer_id, data } => {
                let part = self.downloads.get_mut(&transfer_id)?;
                let e = part.file.write_all(&data).err()?;
                Some(FileResult::Failed {
                    transfer_id,
                    why: format!("writing the part file: {e}"),
                })
            }
            FileOp::Save { transfer_id } => {
                let result = self.save(&transfer_id);
                Some(FileResult::Saved {
                    transfer_id,
                    result,
                })
            }
            FileOp::Discard { transfer_id } => {
                if let Some(part) = self.downloads.remove(&transfer_id) {
                    drop(part.file);
                    let _ = fs::remove_file(&part.part);
                }
                None
            }
            FileOp::Read {
                transfer_id,
                path,
                offset,
                len,
            } => {
                let result = self
                    .read(&transfer_id, &path, offset, len)
                    .map_err(|e| format!("{}: {e}", path.display()));
                Some(FileResult::Read {
                    transfer_id,
                    result,
                })
            }
            FileOp::Close { transfer_id } => {
                self.uploads.remove(&transfer_id);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reduced_to_one_safe_component() {
        assert_eq!(safe_file_name("../../x"), "x");
        assert_eq!(safe_file_name("/etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Windows\\system.ini"), "system.ini");
        assert_eq!(safe_file_name("a\u{0}b\nc\u{7f}.txt"), "abc.txt");
        assert_eq!(safe_file_name(".."), FALLBACK_NAME);
        assert_eq!(safe_file_name("."), FALLBACK_NAME);
        assert_eq!(safe_file_name("dir/.."), FALLBACK_NAME);
        assert_eq!(safe_file_name(""), FALLBACK_NAME);
        assert_eq!(safe_file_name("foo/"), FALLBACK_NAME);
        assert_eq!(safe_file_name("con"), "_con");
        assert_eq!(safe_file_name("CON.txt"), "_CON.txt");
        assert_eq!(safe_file_name("lpt9"), "_lpt9");
        assert_eq!(safe_file_name("console.log"), "console.log");
        assert_eq!(safe_file_name("what?.txt"), "what_.txt");
        assert_eq!(safe_file_name("  spaced. . "), "spaced");
        assert_eq!(safe_file_name(".hidden"), ".hidden");
        assert_eq!(safe_file_name("report.pdf"), "report.pdf");
        let long = format!("{}.txt", "é".repeat(300));
        let short = safe_file_name(&long);
        assert!(short.len() <= 200 && short.ends_with(".txt"), "{short}");
    }

    #[test]
    fn destinations_never_overwrite() {
        let dir = std::env::temp_dir().join(format!("lanmeet-names-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let mut taken = HashSet::new();
        assert_eq!(unique_destination(&dir, "a.txt", &taken), dir.join("a.txt"));
        fs::write(dir.join("a.txt"), b"x").unwrap();
        assert_eq!(
            unique_destination(&dir, "a.txt", &taken),
            dir.join("a (1).txt")
        );
        fs::write(dir.join("a (1).txt.part"), b"x").unwrap();
        taken.insert(dir.join("a (2).txt"));
        assert_eq!(
            unique_destination(&dir, "a.txt", &taken),
            dir.join("a (3).txt")
        );
        assert_eq!(unique_destination(&dir, "noext", &taken), dir.join("noext"));
        assert_eq!(part_path(&dir.join("a.txt")), dir.join("a.txt.part"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
