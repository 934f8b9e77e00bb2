//! File transfers, the protocol side: our offers, how far each upload and
//! download is, when to acknowledge, whether a download arrived whole.
//!
//! The server relays and never stores (PROTOCOL.md section 8). The core
//! never touches a file: it asks the shell to read, write, save or delete
//! with a [`FileOp`] and hears back with a [`FileResult`].
//!
//! ```text
//!  uploader (this core)            server              downloader (this core)
//!  Offer (hashed by the shell)
//!  file_offer -------------------> ----------------->  FileOffered event
//!                                  <-----------------  RequestFile: file_request
//!  file_request <----------------  ----------------->  file_transfer_started
//!   Read{offset 0}                                       OpenDownload -> Opened
//!   Read -> file_chunk (64 KiB) -> ----------------->  Write, hash
//!   ...at most 1 MiB unacked       <-----------------  file_ack every 256 KiB
//!  file_ack <--------------------    (opens the window: the next Read)
//!  file_end{sha256} -------------> ----------------->  final ack, check size and
//!  last ack: TransferDone                               hash, Save -> Saved
//! ```
//!
//! Reads come one at a time per upload, and never more than the window
//! ahead of the acknowledgements, so a 1 GB file costs 1 MiB in flight.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lanmeet_common::limits::{FILE_ACK_INTERVAL, FILE_WINDOW, MAX_FILE_CHUNK};
use lanmeet_common::message::FileOfferInfo;
use lanmeet_common::sha256::Sha256;
use lanmeet_common::{base64, ClientMessage};

use super::event::{Event, TransferDirection};
use super::state::{MeetingState, TransferInfo, TransferStatus};
use super::Out;

/// How often progress events go out per transfer.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// One of our offers, hashed by the shell when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOffer {
    /// Our id for it.
    pub file_id: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// The name offered.
    pub filename: String,
    /// Its size when hashed.
    pub size: u64,
    /// Its SHA-256 when hashed, lowercase hex.
    pub sha256: String,
}

/// A file operation the core asks the shell to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOp {
    /// Create a part file in the download folder for the offered
    /// `filename` (made safe and unique there). Answered with
    /// [`FileResult::Opened`].
    OpenDownload {
        /// The transfer.
        transfer_id: String,
        /// The name as offered (not trusted).
        filename: String,
    },
    /// Append `data` to the download's part file. Answered only when it
    /// fails, with [`FileResult::Failed`].
    Write {
        /// The transfer.
        transfer_id: String,
        /// The bytes, in order.
        data: Vec<u8>,
    },
    /// Flush the part file and rename it to its final name. Answered with
    /// [`FileResult::Saved`].
    Save {
        /// The transfer.
        transfer_id: String,
    },
    /// Close and delete the part file. Not answered.
    Discard {
        /// The transfer.
        transfer_id: String,
    },
    /// Read `len` bytes at `offset` of `path` (an upload's file; reads of
    /// one upload come in order). Answered with [`FileResult::Read`].
    Read {
        /// The transfer.
        transfer_id: String,
        /// The offered file.
        path: PathBuf,
        /// Where to read.
        offset: u64,
        /// How much (short only at the end of the file).
        len: usize,
    },
    /// Close an upload's file. Not answered.
    Close {
        /// The transfer.
        transfer_id: String,
    },
}

/// How a [`FileOp`] went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileResult {
    /// The part file of a download was created (or not, and why).
    Opened {
        /// The transfer.
        transfer_id: String,
        /// Where the file will be saved.
        result: Result<PathBuf, String>,
    },
    /// Writing a download failed.
    Failed {
        /// The transfer.
        transfer_id: String,
        /// What happened, for a person.
        why: String,
    },
    /// A download was saved under its final name (with its size), or not.
    Saved {
        /// The transfer.
        transfer_id: String,
        /// The path and size, or what went wrong.
        result: Result<(PathBuf, u64), String>,
    },
    /// Bytes read for an upload.
    Read {
        /// The transfer.
        transfer_id: String,
        /// The bytes, or what went wrong.
        result: Result<Vec<u8>, String>,
    },
}

struct Download {
    offer: FileOfferInfo,
    hasher: Sha256,
    written: u64,
    acked: u64,
    started: Instant,
    last_progress: Instant,
}

struct Upload {
    offer: LocalOffer,
    hasher: Sha256,
    /// Bytes read and sent.
    sent: u64,
    acked: u64,
    /// A read is out at the shell.
    reading: bool,
    /// `file_end` went out.
    end_sent: bool,
    started: Instant,
    last_progress: Instant,
}

/// Everything the core knows about files.
#[derive(Default)]
pub(super) struct Transfers {
    offers: HashMap<String, LocalOffer>,
    downloads: HashMap<String, Download>,
    uploads: HashMap<String, Upload>,
    next_file_id: u64,
    /// File bytes sent (before acknowledgement).
    pub(super) bytes_sent: u64,
}

fn rate(bytes: u64, since: Instant, now: Instant) -> f64 {
    let secs = now.saturating_duration_since(since).as_secs_f64().max(1e-3);
    bytes as f64 / secs
}

fn cancel_msg(transfer_id: &str) -> ClientMessage {
    ClientMessage::FileCancel {
        transfer_id: transfer_id.to_string(),
    }
}

/// Records a transfer's end in the state and tells the front end.
fn end_transfer(
    state: &mut MeetingState,
    out: &mut Out,
    transfer_id: &str,
    outcome: Result<(Option<PathBuf>, u64), String>,
) {
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
    let direction = t.direction;
    let transfer_id = transfer_id.to_string();
    match outcome {
        Ok((path, size)) => {
            out.log(format!("transfer {transfer_id} done ({size} bytes)"));
            out.event(Event::TransferDone {
                transfer_id,
                direction,
                path,
                size,
            });
        }
        Err(reason) => {
            out.log(format!("transfer {transfer_id} failed: {reason}"));
            out.event(Event::TransferFailed {
                transfer_id,
                direction,
                reason,
            });
        }
    }
}

fn progress(
    state: &mut MeetingState,
    out: &mut Out,
    transfer_id: &str,
    bytes: u64,
    size: u64,
    rate: f64,
) {
    if let Some(t) = state.transfer_mut(transfer_id) {
        t.bytes = bytes;
    }
    out.event(Event::TransferProgress {
        transfer_id: transfer_id.to_string(),
        bytes,
        size,
        rate,
    });
}

fn record_start(state: &mut MeetingState, out: &mut Out, info: TransferInfo) {
    out.event(Event::TransferStarted {
        transfer_id: info.transfer_id.clone(),
        direction: info.direction,
        peer_id: info.peer_id.clone(),
        file_id: info.file_id.clone(),
        filename: info.filename.clone(),
        size: info.size,
    });
    state.transfers.push(info);
}

impl Transfers {
    /// A new id for one of our offers.
    pub(super) fn new_file_id(&mut self) -> String {
        self.next_file_id += 1;
        format!("f{}", self.next_file_id)
    }

    pub(super) fn add_offer(&mut self, offer: LocalOffer) {
        self.offers.insert(offer.file_id.clone(), offer);
    }

    pub(super) fn remove_offer(&mut self, file_id: &str) {
        self.offers.remove(file_id);
    }

    /// Whether a transfer runs (either way) and can be cancelled.
    pub(super) fn is_running(&self, transfer_id: &str) -> bool {
        self.uploads.contains_key(transfer_id) || self.downloads.contains_key(transfer_id)
    }

    /// `file_request` (we are the sender): starts reading.
    pub(super) fn on_file_request(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        downloader_id: &str,
        file_id: &str,
        transfer_id: &str,
        now: Instant,
    ) {
        let Some(offer) = self.offers.get(file_id).cloned() else {
            // Not (or no longer) ours to give.
            out.send(cancel_msg(transfer_id));
            return;
        };
        record_start(
            state,
            out,
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
        self.uploads.insert(
            transfer_id.to_string(),
            Upload {
                offer,
                hasher: Sha256::new(),
                sent: 0,
                acked: 0,
                reading: false,
                end_sent: false,
                started: now,
                last_progress: now,
            },
        );
        self.pump(state, out, transfer_id, now);
    }

    /// Moves an upload on: the next read if the window allows, or
    /// `file_end` once every byte is sent, or the end once all is acked.
    fn pump(&mut self, state: &mut MeetingState, out: &mut Out, transfer_id: &str, now: Instant) {
        let Some(u) = self.uploads.get_mut(transfer_id) else {
            return;
        };
        if u.reading {
            return;
        }
        let size = u.offer.size;
        if u.sent < size {
            let len = (size - u.sent).min(MAX_FILE_CHUNK as u64);
            let end = u.sent + len;
            if end - u.acked.min(end) <= FILE_WINDOW {
                u.reading = true;
                out.file(FileOp::Read {
                    transfer_id: transfer_id.to_string(),
                    path: u.offer.path.clone(),
                    offset: u.sent,
                    len: len as usize,
                });
            }
            return;
        }
        if !u.end_sent {
            let sha256 = std::mem::take(&mut u.hasher).finish_hex();
            if sha256 != u.offer.sha256 {
                let why = "the file changed on disk since it was offered".to_string();
                self.fail_upload(state, out, transfer_id, true, why);
                return;
            }
            u.end_sent = true;
            out.send(ClientMessage::FileEnd {
                transfer_id: transfer_id.to_string(),
                sha256,
            });
        }
        if u.acked >= size {
            let rate = rate(size, u.started, now);
            self.uploads.remove(transfer_id);
            out.file(FileOp::Close {
                transfer_id: transfer_id.to_string(),
            });
            progress(state, out, transfer_id, size, size, rate);
            end_transfer(state, out, transfer_id, Ok((None, size)));
        }
    }

    /// Bytes read for an upload: hash them, send them, read on.
    fn on_read(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        transfer_id: &str,
        result: Result<Vec<u8>, String>,
        now: Instant,
    ) {
        let Some(u) = self.uploads.get_mut(transfer_id) else {
            return; // ended while the read was out
        };
        u.reading = false;
        let data = match result {
            Ok(d) => d,
            Err(why) => {
                let why = format!("reading the file: {why}");
                self.fail_upload(state, out, transfer_id, true, why);
                return;
            }
        };
        let expected = (u.offer.size - u.sent).min(MAX_FILE_CHUNK as u64);
        if data.len() as u64 != expected {
            let why = format!(
                "the file changed on disk: offered {} bytes, read {}",
                u.offer.size,
                u.sent + data.len() as u64
            );
            self.fail_upload(state, out, transfer_id, true, why);
            return;
        }
        u.hasher.update(&data);
        out.send(ClientMessage::FileChunk {
            transfer_id: transfer_id.to_string(),
            offset: u.sent,
            data: base64::encode(&data),
        });
        u.sent += data.len() as u64;
        self.bytes_sent += data.len() as u64;
        if now.saturating_duration_since(u.last_progress) >= PROGRESS_EVERY {
            u.last_progress = now;
            let (acked, size, rate) = (u.acked, u.offer.size, rate(u.acked, u.started, now));
            progress(state, out, transfer_id, acked, size, rate);
        }
        self.pump(state, out, transfer_id, now);
    }

    /// `file_ack` for one of our uploads.
    pub(super) fn on_ack(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        transfer_id: &str,
        offset: u64,
        now: Instant,
    ) {
        if let Some(u) = self.uploads.get_mut(transfer_id) {
            u.acked = u.acked.max(offset);
            self.pump(state, out, transfer_id, now);
        }
    }

    fn fail_upload(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        transfer_id: &str,
        tell_server: bool,
        why: String,
    ) {
        if self.uploads.remove(transfer_id).is_none() {
            return;
        }
        if tell_server {
            // So that the downloader hears of it.
            out.send(cancel_msg(transfer_id));
        }
        out.file(FileOp::Close {
            transfer_id: transfer_id.to_string(),
        });
        end_transfer(state, out, transfer_id, Err(why));
    }

    /// `file_transfer_started` (we are the downloader): asks for the part
    /// file.
    pub(super) fn on_transfer_started(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        transfer_id: &str,
        sender_id: &str,
        file_id: &str,
        now: Instant,
    ) {
        let Some(offer) = state.offer(sender_id, file_id).cloned() else {
            out.send(cancel_msg(transfer_id));
            return;
        };
        record_start(
            state,
            out,
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
        out.file(FileOp::OpenDownload {
            transfer_id: transfer_id.to_string(),
            filename: offer.filename.clone(),
        });
        self.downloads.insert(
            transfer_id.to_string(),
            Download {
                offer,
                hasher: Sha256::new(),
                written: 0,
                acked: 0,
                started: now,
                last_progress: now,
            },
        );
    }

    /// Ends a download in failure: deletes the part file, tells the
    /// server (when `cancel`), reports `reason`.
    fn fail_download(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        transfer_id: &str,
        cancel: bool,
        reason: String,
    ) {
        if self.downloads.remove(transfer_id).is_some() {
            out.file(FileOp::Discard {
                transfer_id: transfer_id.to_string(),
            });
        }
        if cancel {
            out.send(cancel_msg(transfer_id));
        }
        end_transfer(state, out, transfer_id, Err(reason));
    }

    /// `file_chunk`: checks, hashes, writes, acks every 256 KiB.
    pub(super) fn on_chunk(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        transfer_id: &str,
        offset: u64,
        data: &str,
        now: Instant,
    ) {
        let Some(d) = self.downloads.get_mut(transfer_id) else {
            return; // cancelled here a moment ago; the server drops the rest
        };
        let bytes = match base64::decode(data) {
            Ok(b) => b,
            Err(e) => {
                let why = format!("bad chunk from the sender: {e}");
                return self.fail_download(state, out, transfer_id, true, why);
            }
        };
        if offset != d.written {
            let why = format!(
                "chunk at byte {offset} but {} bytes were written",
                d.written
            );
            return self.fail_download(state, out, transfer_id, true, why);
        }
        if d.written + bytes.len() as u64 > d.offer.filesize {
            let why = "the sender sent more than the offered size".to_string();
            return self.fail_download(state, out, transfer_id, true, why);
        }
        d.hasher.update(&bytes);
        d.written += bytes.len() as u64;
        out.file(FileOp::Write {
            transfer_id: transfer_id.to_string(),
            data: bytes,
        });
        if d.written - d.acked >= FILE_ACK_INTERVAL {
            d.acked = d.written;
            out.send(ClientMessage::FileAck {
                transfer_id: transfer_id.to_string(),
                offset: d.written,
            });
        }
        if now.saturating_duration_since(d.last_progress) >= PROGRESS_EVERY {
            d.last_progress = now;
            let (bytes, size, rate) =
                (d.written, d.offer.filesize, rate(d.written, d.started, now));
            progress(state, out, transfer_id, bytes, size, rate);
        }
    }

    /// `file_end`: final ack, checks, then the shell saves the file.
    pub(super) fn on_end(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        transfer_id: &str,
        sha256: &str,
    ) {
        let Some(d) = self.downloads.remove(transfer_id) else {
            return;
        };
        // The transfer stays open on the server until the whole size is
        // acked.
        out.send(ClientMessage::FileAck {
            transfer_id: transfer_id.to_string(),
            offset: d.written,
        });
        let digest = d.hasher.finish_hex();
        let problem = if d.written != d.offer.filesize {
            Some(format!(
                "size mismatch: offered {} bytes, received {}",
                d.offer.filesize, d.written
            ))
        } else if !digest.eq_ignore_ascii_case(&d.offer.sha256)
            || !digest.eq_ignore_ascii_case(sha256)
        {
            Some("SHA-256 mismatch: the file arrived damaged".to_string())
        } else {
            None
        };
        let transfer_id = transfer_id.to_string();
        match problem {
            Some(why) => {
                out.file(FileOp::Discard {
                    transfer_id: transfer_id.clone(),
                });
                end_transfer(state, out, &transfer_id, Err(why));
            }
            None => out.file(FileOp::Save { transfer_id }),
        }
    }

    /// `file_error` from the server: the other party cancelled or left.
    pub(super) fn on_error(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        transfer_id: &str,
        reason: &str,
    ) {
        if self.uploads.contains_key(transfer_id) {
            self.fail_upload(state, out, transfer_id, false, reason.to_string());
        } else if self.downloads.contains_key(transfer_id) {
            self.fail_download(state, out, transfer_id, false, reason.to_string());
        }
    }

    /// Cancels a transfer at our end and tells the other party; `false`
    /// when no such transfer runs.
    pub(super) fn cancel(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        transfer_id: &str,
    ) -> bool {
        if self.uploads.contains_key(transfer_id) {
            self.fail_upload(state, out, transfer_id, true, "cancelled".into());
            true
        } else if self.downloads.contains_key(transfer_id) {
            self.fail_download(state, out, transfer_id, true, "cancelled".into());
            true
        } else {
            false
        }
    }

    /// The answer to a [`FileOp`].
    pub(super) fn on_file_result(
        &mut self,
        state: &mut MeetingState,
        out: &mut Out,
        result: FileResult,
        now: Instant,
    ) {
        match result {
            FileResult::Opened {
                transfer_id,
                result: Ok(path),
            } => {
                if let Some(d) = self.downloads.get(&transfer_id) {
                    out.log(format!(
                        "download {transfer_id} of {:?} into {}",
                        d.offer.filename,
                        path.display()
                    ));
                }
            }
            FileResult::Opened {
                transfer_id,
                result: Err(why),
            }
            | FileResult::Failed { transfer_id, why } => {
                self.fail_download(state, out, &transfer_id, true, why);
            }
            FileResult::Saved {
                transfer_id,
                result,
            } => {
                let outcome = result.map(|(path, size)| (Some(path), size));
                end_transfer(state, out, &transfer_id, outcome);
            }
            FileResult::Read {
                transfer_id,
                result,
            } => self.on_read(state, out, &transfer_id, result, now),
        }
    }

    /// Fails every transfer at once (the session is ending).
    pub(super) fn end_all(&mut self, state: &mut MeetingState, out: &mut Out, reason: &str) {
        let uploads: Vec<String> = self.uploads.keys().cloned().collect();
        for id in uploads {
            self.fail_upload(state, out, &id, false, reason.to_string());
        }
        let downloads: Vec<String> = self.downloads.keys().cloned().collect();
        for id in downloads {
            self.fail_download(state, out, &id, false, reason.to_string());
        }
    }
}
