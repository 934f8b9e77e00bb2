//! File sharing: offers, windowed uploads, verified downloads, safe names.
//!
//! The server relays and never stores (PROTOCOL.md section 8):
//!
//! ```text
//!  uploader (us)               server                 downloader (us)
//!  offer_file: hash on a thread
//!  file_offer ------------------> -------------------> FileOffered event
//!                                 <------------------- request_file: file_request
//!  file_request <---------------- ------------------->  file_transfer_started
//!   spawn upload thread                                   open NAME.part
//!  file_chunk (64 KiB) ---------> -------------------> write, hash
//!    ...at most 1 MiB unacked     <------------------- file_ack every 256 KiB
//!  file_ack <--------------------   (condvar wakes the upload thread)
//!  file_end{sha256} ------------> -------------------> final ack, check size and
//!                                                      hash, rename NAME.part -> NAME
//! ```
//!
//! Uploads stream from disk 64 KiB at a time and wait on a condition
//! variable for acknowledgements (no sleeps, no polling), so a 1 GB file
//! costs 1 MiB of memory. Downloads run on the TCP reader thread: writing a
//! 64 KiB chunk to a buffered file is quick, and it keeps the chunks in
//! order for free.
//!
//! The offered name is never trusted: [`safe_file_name`] reduces it to one
//! harmless path component and [`unique_destination`] never overwrites.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use lanmeet_common::limits::{FILE_ACK_INTERVAL, FILE_WINDOW, MAX_FILE_CHUNK};
use lanmeet_common::message::FileOfferInfo;
use lanmeet_common::sha256::Sha256;
use lanmeet_common::{base64, ClientMessage};

use crate::event::{Event, TransferDirection};
use crate::session::Shared;
use crate::state::{TransferInfo, TransferStatus};
use crate::stop::{lock, StopSignal};

// The receiver's name rule is part of the protocol (PROTOCOL.md section
// 8), so it lives in the protocol crate, where it is also fuzzed.
pub use lanmeet_common::filename::{safe_file_name, FALLBACK_NAME};

/// `path` with `.part` appended (`a.txt` -> `a.txt.part`).
pub fn part_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// A path inside `dir` for `name` (already made safe) that overwrites
/// nothing: neither the file nor its `.part` exists, and no running
/// download in `taken` uses it. Adds ` (1)`, ` (2)`, ... before the
/// extension.
pub fn unique_destination(dir: &Path, name: &str, taken: &HashSet<PathBuf>) -> PathBuf {
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

/// One of our offers.
#[derive(Debug, Clone)]
pub(crate) struct LocalOffer {
    pub(crate) path: PathBuf,
    pub(crate) filename: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

/// Acknowledgement state of one upload, shared between the TCP reader
/// (which learns of acks and cancels) and the upload thread (which waits).
#[derive(Default)]
pub(crate) struct UploadControl {
    state: Mutex<UploadState>,
    changed: Condvar,
}

#[derive(Default)]
struct UploadState {
    acked: u64,
    ended: Option<String>,
}

impl UploadControl {
    pub(crate) fn ack(&self, offset: u64) {
        let mut s = lock(&self.state);
        s.acked = s.acked.max(offset);
        self.changed.notify_all();
    }

    /// Ends the upload with a reason (cancelled, peer left, session over).
    pub(crate) fn end(&self, why: impl Into<String>) {
        let mut s = lock(&self.state);
        if s.ended.is_none() {
            s.ended = Some(why.into());
        }
        self.changed.notify_all();
    }

    /// Waits until `ready(acked)` holds or the upload ended; returns the
    /// acked count, or the reason it ended.
    fn wait(&self, shared: &Shared, ready: impl Fn(u64) -> bool) -> Result<u64, String> {
        let mut s = lock(&self.state);
        loop {
            if let Some(why) = &s.ended {
                return Err(why.clone());
            }
            if ready(s.acked) {
                return Ok(s.acked);
            }
            if shared.stop.is_stopped() {
                return Err("the session ended".into());
            }
            // The timeout only bounds how late a session stop is noticed;
            // acks and cancels wake the wait at once.
            s = match self.changed.wait_timeout(s, Duration::from_millis(250)) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

/// A download being written.
pub(crate) struct Download {
    pub(crate) offer: FileOfferInfo,
    pub(crate) final_path: PathBuf,
    part: PathBuf,
    file: BufWriter<File>,
    hasher: Sha256,
    written: u64,
    acked: u64,
    started: Instant,
    last_progress: Instant,
}

/// Everything the session knows about files.
#[derive(Default)]
pub(crate) struct Transfers {
    pub(crate) offers: HashMap<String, LocalOffer>,
    pub(crate) downloads: HashMap<String, Download>,
    pub(crate) uploads: HashMap<String, Arc<UploadControl>>,
    next_file_id: u64,
}

impl Transfers {
    pub(crate) fn new_file_id(&mut self) -> String {
        self.next_file_id += 1;
        format!("f{}", self.next_file_id)
    }
}

/// How often progress events go out per transfer.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

fn rate(bytes: u64, since: Instant) -> f64 {
    let secs = since.elapsed().as_secs_f64().max(1e-3);
    bytes as f64 / secs
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

/// Records a transfer's end in the state and tells the front end.
fn end_transfer(
    shared: &Shared,
    transfer_id: &str,
    outcome: Result<(Option<PathBuf>, u64), String>,
) {
    let direction = {
        let mut state = lock(&shared.state);
        let Some(t) = state.transfer_mut(transfer_id) else {
            return;
        };
        if t.status != TransferStatus::Active {
            return;
        }
        match &outcome {
            Ok((path, size)) => {
                t.status = TransferStatus::Done;
                t.path = path.clone();
                t.bytes = *size;
            }
            Err(_) => t.status = TransferStatus::Failed,
        }
        t.direction
    };
    match outcome {
        Ok((path, size)) => {
            shared
                .log
                .write(format_args!("transfer {transfer_id} done ({size} bytes)"));
            shared.emit(Event::TransferDone {
                transfer_id: transfer_id.to_string(),
                direction,
                path,
                size,
            });
        }
        Err(reason) => {
            shared
                .log
                .write(format_args!("transfer {transfer_id} failed: {reason}"));
            shared.emit(Event::TransferFailed {
                transfer_id: transfer_id.to_string(),
                direction,
                reason,
            });
        }
    }
}

fn progress(shared: &Shared, transfer_id: &str, bytes: u64, size: u64, started: Instant) {
    if let Some(t) = lock(&shared.state).transfer_mut(transfer_id) {
        t.bytes = bytes;
    }
    shared.emit(Event::TransferProgress {
        transfer_id: transfer_id.to_string(),
        bytes,
        size,
        rate: rate(bytes, started),
    });
}

fn record_start(shared: &Shared, info: TransferInfo) {
    shared.emit(Event::TransferStarted {
        transfer_id: info.transfer_id.clone(),
        direction: info.direction,
        peer_id: info.peer_id.clone(),
        file_id: info.file_id.clone(),
        filename: info.filename.clone(),
        size: info.size,
    });
    lock(&shared.state).transfers.push(info);
}

/// Handles `file_request` (we are the sender): starts an upload thread.
pub(crate) fn on_file_request(
    shared: &Arc<Shared>,
    downloader_id: &str,
    file_id: &str,
    transfer_id: &str,
) {
    let offer = lock(&shared.transfers).offers.get(file_id).cloned();
    let Some(offer) = offer else {
        // Not (or no longer) ours to give.
        let _ = shared.send(ClientMessage::FileCancel {
            transfer_id: transfer_id.to_string(),
        });
        return;
    };
    let control = Arc::new(UploadControl::default());
    lock(&shared.transfers)
        .uploads
        .insert(transfer_id.to_string(), control.clone());
    record_start(
        shared,
        TransferInfo {
            transfer_id: transfer_id.to_string(),
            direction: TransferDirection::Upload,
            peer_id: downloader_id.to_string(),
            file_id: file_id.to_string(),
            filename: offer.filename.clone(),
            size: offer.size,
            bytes: 0,
            status: TransferStatus::Active,
            path: None,
        },
    );
    let thread_shared = shared.clone();
    let id = transfer_id.to_string();
    shared.spawn_worker("upload", move || {
        let result = upload(&thread_shared, &id, &offer, &control);
        if let Err(why) = &result {
            if why != "cancelled" && why != "the session ended" {
                // Tell the server so the downloader hears of it.
                let _ = thread_shared.send(ClientMessage::FileCancel {
                    transfer_id: id.clone(),
                });
            }
        }
        lock(&thread_shared.transfers).uploads.remove(&id);
        end_transfer(&thread_shared, &id, result.map(|size| (None, size)));
    });
}

/// Sends one file: chunks within the window, then `file_end`, then waits
/// for the last ack.
fn upload(
    shared: &Shared,
    transfer_id: &str,
    offer: &LocalOffer,
    control: &UploadControl,
) -> Result<u64, String> {
    let mut file = File::open(&offer.path)
        .map_err(|e| format!("cannot open {}: {e}", offer.path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; MAX_FILE_CHUNK];
    let mut offset = 0u64;
    let started = Instant::now();
    let mut last_progress = started;
    loop {
        let n = read_full(&mut file, &mut buf).map_err(|e| format!("reading the file: {e}"))?;
        if n == 0 {
            break;
        }
        let end = offset + n as u64;
        let acked = control.wait(shared, |acked| end - acked.min(end) <= FILE_WINDOW)?;
        hasher.update(&buf[..n]);
        shared
            .send(ClientMessage::FileChunk {
                transfer_id: transfer_id.to_string(),
                offset,
                data: base64::encode(&buf[..n]),
            })
            .map_err(|_| "the session ended".to_string())?;
        shared
            .counters
            .file_bytes_sent
            .fetch_add(n as u64, Ordering::Relaxed);
        offset = end;
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            progress(shared, transfer_id, acked, offer.size, started);
        }
    }
    if offset != offer.size {
        return Err(format!(
            "the file changed on disk: offered {} bytes, read {offset}",
            offer.size
        ));
    }
    let sha256 = hasher.finish_hex();
    if sha256 != offer.sha256 {
        return Err("the file changed on disk since it was offered".into());
    }
    shared
        .send(ClientMessage::FileEnd {
            transfer_id: transfer_id.to_string(),
            sha256,
        })
        .map_err(|_| "the session ended".to_string())?;
    control.wait(shared, |acked| acked >= offer.size)?;
    progress(shared, transfer_id, offer.size, offer.size, started);
    Ok(offer.size)
}

/// Handles `file_transfer_started` (we are the downloader): opens the part
/// file.
pub(crate) fn on_transfer_started(
    shared: &Shared,
    transfer_id: &str,
    sender_id: &str,
    file_id: &str,
) {
    let offer = lock(&shared.state).offer(sender_id, file_id).cloned();
    let Some(offer) = offer else {
        let _ = shared.send(ClientMessage::FileCancel {
            transfer_id: transfer_id.to_string(),
        });
        return;
    };
    let dir = shared.config.download_dir.clone();
    let opened = {
        let mut transfers = lock(&shared.transfers);
        let taken: HashSet<PathBuf> = transfers
            .downloads
            .values()
            .map(|d| d.final_path.clone())
            .collect();
        open_download(&dir, &offer, &taken).map(|d| {
            let path = d.final_path.clone();
            transfers.downloads.insert(transfer_id.to_string(), d);
            path
        })
    };
    record_start(
        shared,
        TransferInfo {
            transfer_id: transfer_id.to_string(),
            direction: TransferDirection::Download,
            peer_id: sender_id.to_string(),
            file_id: file_id.to_string(),
            filename: offer.filename.clone(),
            size: offer.filesize,
            bytes: 0,
            status: TransferStatus::Active,
            path: None,
        },
    );
    match opened {
        Ok(path) => shared.log.write(format_args!(
            "download {transfer_id} of {:?} into {}",
            offer.filename,
            path.display()
        )),
        Err(e) => {
            let _ = shared.send(ClientMessage::FileCancel {
                transfer_id: transfer_id.to_string(),
            });
            end_transfer(
                shared,
                transfer_id,
                Err(format!("cannot write into {}: {e}", dir.display())),
            );
        }
    }
}

fn open_download(
    dir: &Path,
    offer: &FileOfferInfo,
    taken: &HashSet<PathBuf>,
) -> io::Result<Download> {
    fs::create_dir_all(dir)?;
    let name = safe_file_name(&offer.filename);
    let final_path = unique_destination(dir, &name, taken);
    let part = part_path(&final_path);
    // create_new: never overwrite, even if a file appeared meanwhile.
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&part)?;
    let now = Instant::now();
    Ok(Download {
        offer: offer.clone(),
        final_path,
        part,
        file: BufWriter::with_capacity(256 * 1024, file),
        hasher: Sha256::new(),
        written: 0,
        acked: 0,
        started: now,
        last_progress: now,
    })
}

/// Ends a download in failure: removes it and its part file, tells the
/// server (when `cancel`), reports `reason`.
pub(crate) fn fail_download(shared: &Shared, transfer_id: &str, cancel: bool, reason: String) {
    let download = lock(&shared.transfers).downloads.remove(transfer_id);
    if let Some(d) = download {
        drop(d.file);
        let _ = fs::remove_file(&d.part);
    }
    if cancel {
        let _ = shared.send(ClientMessage::FileCancel {
            transfer_id: transfer_id.to_string(),
        });
    }
    end_transfer(shared, transfer_id, Err(reason));
}

/// Handles `file_chunk`: writes, hashes, acks every 256 KiB.
pub(crate) fn on_chunk(shared: &Shared, transfer_id: &str, offset: u64, data: &str) {
    let result = {
        let mut transfers = lock(&shared.transfers);
        let Some(d) = transfers.downloads.get_mut(transfer_id) else {
            return; // cancelled here a moment ago; the server will drop the rest
        };
        write_chunk(d, offset, data).map(|ack| {
            let due = d.last_progress.elapsed() >= PROGRESS_EVERY;
            if due {
                d.last_progress = Instant::now();
            }
            (ack, due.then_some((d.written, d.offer.filesize, d.started)))
        })
    };
    match result {
        Ok((ack, progress_due)) => {
            if let Some(offset) = ack {
                let _ = shared.send(ClientMessage::FileAck {
                    transfer_id: transfer_id.to_string(),
                    offset,
                });
            }
            if let Some((bytes, size, started)) = progress_due {
                progress(shared, transfer_id, bytes, size, started);
            }
        }
        Err(why) => fail_download(shared, transfer_id, true, why),
    }
}

fn write_chunk(d: &mut Download, offset: u64, data: &str) -> Result<Option<u64>, String> {
    let bytes = base64::decode(data).map_err(|e| format!("bad chunk from the sender: {e}"))?;
    if offset != d.written {
        return Err(format!(
            "chunk at byte {offset} but {} bytes were written",
            d.written
        ));
    }
    if d.written + bytes.len() as u64 > d.offer.filesize {
        return Err("the sender sent more than the offered size".into());
    }
    d.file
        .write_all(&bytes)
        .map_err(|e| format!("writing the part file: {e}"))?;
    d.hasher.update(&bytes);
    d.written += bytes.len() as u64;
    if d.written - d.acked >= FILE_ACK_INTERVAL {
        d.acked = d.written;
        return Ok(Some(d.written));
    }
    Ok(None)
}

/// Handles `file_end`: final ack, checks, rename.
pub(crate) fn on_end(shared: &Shared, transfer_id: &str, sha256: &str) {
    let Some(mut d) = lock(&shared.transfers).downloads.remove(transfer_id) else {
        return;
    };
    // The transfer stays open on the server until the whole size is acked.
    let _ = shared.send(ClientMessage::FileAck {
        transfer_id: transfer_id.to_string(),
        offset: d.written,
    });
    let flushed = d.file.flush();
    let digest = std::mem::take(&mut d.hasher).finish_hex();
    let problem = if let Err(e) = flushed {
        Some(format!("writing the part file: {e}"))
    } else if d.written != d.offer.filesize {
        Some(format!(
            "size mismatch: offered {} bytes, received {}",
            d.offer.filesize, d.written
        ))
    } else if !digest.eq_ignore_ascii_case(&d.offer.sha256) || !digest.eq_ignore_ascii_case(sha256)
    {
        Some("SHA-256 mismatch: the file arrived damaged".to_string())
    } else {
        None
    };
    let Download {
        file,
        part,
        mut final_path,
        ..
    } = d;
    drop(file);
    if let Some(why) = problem {
        let _ = fs::remove_file(&part);
        end_transfer(shared, transfer_id, Err(why));
        return;
    }
    // A file of that name may have appeared since the start: pick again.
    if final_path.exists() {
        let taken: HashSet<PathBuf> = lock(&shared.transfers)
            .downloads
            .values()
            .map(|d| d.final_path.clone())
            .collect();
        let name = final_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| FALLBACK_NAME.to_string());
        let dir = shared.config.download_dir.clone();
        final_path = unique_destination(&dir, &name, &taken);
    }
    match fs::rename(&part, &final_path) {
        Ok(()) => {
            let size = fs::metadata(&final_path).map(|m| m.len()).unwrap_or(0);
            end_transfer(shared, transfer_id, Ok((Some(final_path), size)));
        }
        Err(e) => {
            let _ = fs::remove_file(&part);
            end_transfer(
                shared,
                transfer_id,
                Err(format!("cannot rename the part file: {e}")),
            );
        }
    }
}

/// Handles `file_error` and local cancels for either direction.
pub(crate) fn on_error(shared: &Shared, transfer_id: &str, reason: &str) {
    let upload = lock(&shared.transfers).uploads.get(transfer_id).cloned();
    if let Some(u) = upload {
        u.end(reason);
        return;
    }
    if lock(&shared.transfers).downloads.contains_key(transfer_id) {
        fail_download(shared, transfer_id, false, reason.to_string());
    }
}

/// Cancels a transfer at our end and tells the other party.
pub(crate) fn cancel(shared: &Shared, transfer_id: &str) -> bool {
    let upload = lock(&shared.transfers).uploads.get(transfer_id).cloned();
    if let Some(u) = upload {
        let _ = shared.send(ClientMessage::FileCancel {
            transfer_id: transfer_id.to_string(),
        });
        u.end("cancelled");
        return true;
    }
    if lock(&shared.transfers).downloads.contains_key(transfer_id) {
        fail_download(shared, transfer_id, true, "cancelled".into());
        return true;
    }
    false
}

/// Fails every transfer at once (the session is ending).
pub(crate) fn end_all(shared: &Shared, reason: &str) {
    let uploads: Vec<Arc<UploadControl>> =
        lock(&shared.transfers).uploads.values().cloned().collect();
    for u in uploads {
        u.end(reason);
    }
    let downloads: Vec<String> = lock(&shared.transfers).downloads.keys().cloned().collect();
    for id in downloads {
        fail_download(shared, &id, false, reason.to_string());
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
