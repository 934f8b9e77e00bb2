//! Brokered file transfer: the server matches a downloader with a sender
//! and relays their chunks and acks, never storing a byte.
//!
//! ```text
//!  sender A              server                         downloader B
//!  file_offer ------->  records the offer  ----------->  file_offer
//!                                          <-----------  file_request
//!  file_request <-----  new transfer_id    ----------->  file_transfer_started
//!  file_chunk -------> (A owns the transfer?) -------->  file_chunk
//!  file_ack   <-------  relayed            <-----------  file_ack
//!  file_end   ------->  relayed            ----------->  file_end
//! ```
//!
//! Flow control is end to end (the sender keeps at most 1 MiB unacked), and
//! the server refuses a chunk that would go past the downloader's last ack
//! by more than that, so it holds at most a window per transfer in its
//! queues whatever the sender does.
//! A transfer stays open after `file_end` until the downloader acks the
//! whole size, either party cancels, or a party leaves.

use std::collections::HashMap;

use lanmeet_common::base64;
use lanmeet_common::limits::{
    FILE_WINDOW, MAX_DOWNLOADS_PER_PARTICIPANT, MAX_OFFERS_PER_MEETING, MAX_OFFERS_PER_PARTICIPANT,
};
use lanmeet_common::message::{
    ClientMessage, ErrorCode, FileErrorReason, FileOfferInfo, ServerMessage,
};

use super::{ConnId, Core, Outbox};

/// One open transfer.
struct Transfer {
    meeting: String,
    sender_id: String,
    downloader_id: String,
    file_id: String,
    filesize: u64,
    /// The sender said `file_end`.
    ended: bool,
    /// The downloader's last ack.
    acked: u64,
}

impl Transfer {
    fn other_party(&self, client_id: &str) -> &str {
        if client_id == self.sender_id {
            &self.downloader_id
        } else {
            &self.sender_id
        }
    }

    fn finished(&self) -> bool {
        self.ended && self.acked >= self.filesize
    }
}

/// All open transfers on the server, by id.
#[derive(Default)]
pub(super) struct Transfers {
    open: HashMap<String, Transfer>,
    next_id: u64,
}

impl Transfers {
    /// Ends every transfer `client_id` is a party of; the other party of one
    /// without `file_end` yet gets `file_error{peer_left}`.
    pub(super) fn party_left(
        &mut self,
        client_id: &str,
        out: &mut Outbox,
        conn_of: impl Fn(&str) -> Option<ConnId>,
    ) {
        self.open.retain(|transfer_id, t| {
            if t.sender_id != client_id && t.downloader_id != client_id {
                return true;
            }
            if !t.ended {
                if let Some(conn) = conn_of(t.other_party(client_id)) {
                    let msg = ServerMessage::FileError {
                        transfer_id: transfer_id.clone(),
                        reason: FileErrorReason::PeerLeft,
                    };
                    out.send(conn, &msg);
                }
            }
            false
        });
    }

    /// Transfers open now.
    pub(super) fn len(&self) -> usize {
        self.open.len()
    }
}

impl Core {
    pub(super) fn on_file_message(
        &mut self,
        conn: ConnId,
        client_id: &str,
        code: &str,
        message: ClientMessage,
    ) {
        use ClientMessage as M;
        let Some(meeting) = self.meetings.get_mut(code) else {
            return;
        };
        let out = &mut self.out;
        let transfers = &mut self.transfers;
        let Some(username) = meeting.participant(client_id).map(|p| p.username.clone()) else {
            return;
        };
        let conn_of = |id: &str| meeting.participant(id).map(|p| p.conn);

        match message {
            M::FileOffer {
                file_id,
                filename,
                filesize,
                sha256,
            } => {
                if meeting
                    .offers
                    .iter()
                    .any(|o| o.sender_id == client_id && o.file_id == file_id)
                {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        format!("you already offer file_id {file_id}"),
                    );
                    return;
                }
                if meeting.offers.len() >= MAX_OFFERS_PER_MEETING {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        format!("this meeting already has {MAX_OFFERS_PER_MEETING} open offers"),
                    );
                    return;
                }
                let mine = meeting
                    .offers
                    .iter()
                    .filter(|o| o.sender_id == client_id)
                    .count();
                if mine >= MAX_OFFERS_PER_PARTICIPANT {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        format!("at most {MAX_OFFERS_PER_PARTICIPANT} open offers each; withdraw one first"),
                    );
                    return;
                }
                let offer = FileOfferInfo {
                    sender_id: client_id.to_string(),
                    username,
                    file_id,
                    filename,
                    filesize,
                    sha256: sha256.to_ascii_lowercase(),
                };
                out.log(format!(
                    "meeting {code}: {client_id} offers {:?} ({} bytes)",
                    offer.filename, offer.filesize
                ));
                out.broadcast(
                    meeting,
                    &ServerMessage::FileOffer(offer.clone()),
                    Some(client_id),
                );
                meeting.offers.push(offer);
            }
            M::FileUnoffer { file_id } => {
                let before = meeting.offers.len();
                meeting
                    .offers
                    .retain(|o| !(o.sender_id == client_id && o.file_id == file_id));
                if meeting.offers.len() == before {
                    out.error(
                        conn,
                        ErrorCode::NoSuchFile,
                        format!("you do not offer file_id {file_id}"),
                    );
                    return;
                }
                let msg = ServerMessage::FileUnavailable {
                    sender_id: client_id.to_string(),
                    file_id,
                };
                out.broadcast(meeting, &msg, None);
            }
            M::FileRequest { sender_id, file_id } => {
                let Some(offer) = meeting
                    .offers
                    .iter()
                    .find(|o| o.sender_id == sender_id && o.file_id == file_id)
                else {
                    out.error(
                        conn,
                        ErrorCode::NoSuchFile,
                        "no such file offer in this meeting",
                    );
                    return;
                };
                let Some(sender_conn) = conn_of(&sender_id) else {
                    return;
                };
                let downloads = transfers
                    .open
                    .values()
                    .filter(|t| t.downloader_id == client_id)
                    .count();
                if downloads >= MAX_DOWNLOADS_PER_PARTICIPANT {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        format!("at most {MAX_DOWNLOADS_PER_PARTICIPANT} downloads at once; finish or cancel one first"),
                    );
                    return;
                }
                transfers.next_id += 1;
                let transfer_id = format!("t{}", transfers.next_id);
                transfers.open.insert(
                    transfer_id.clone(),
                    Transfer {
                        meeting: code.to_string(),
                        sender_id: sender_id.clone(),
                        downloader_id: client_id.to_string(),
                        file_id: file_id.clone(),
                        filesize: offer.filesize,
                        ended: false,
                        acked: 0,
                    },
                );
                out.log(format!("meeting {code}: transfer {transfer_id} of {file_id:?} {sender_id} -> {client_id}"));
                let to_sender = ServerMessage::FileRequest {
                    downloader_id: client_id.to_string(),
                    username,
                    file_id: file_id.clone(),
                    transfer_id: transfer_id.clone(),
                };
                out.send(sender_conn, &to_sender);
                let to_downloader = ServerMessage::FileTransferStarted {
                    transfer_id,
                    sender_id,
                    file_id,
                };
                out.send(conn, &to_downloader);
            }
            M::FileChunk {
                transfer_id,
                offset,
                data,
            } => {
                let Some(t) = party_of(transfers, &transfer_id, client_id, code, Party::Sender)
                else {
                    return no_such_transfer(out, conn, &transfer_id);
                };
                // Validation checked the base64; this only computes its size.
                let len = base64::decoded_len(&data).unwrap_or(0) as u64;
                let Some(end) = offset.checked_add(len).filter(|&end| end <= t.filesize) else {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        "chunk reaches past the end of the file",
                    );
                    return;
                };
                // The window is what bounds the downloader's queue on the
                // server: a sender that ignores it is refused, not relayed.
                if end > t.acked.saturating_add(FILE_WINDOW) {
                    out.error(
                        conn,
                        ErrorCode::BadRequest,
                        format!(
                            "chunk ends at {end}, more than {FILE_WINDOW} bytes past the downloader's last ack ({}); wait for file_ack",
                            t.acked
                        ),
                    );
                    return;
                }
                let Some(to) = conn_of(&t.downloader_id) else {
                    return;
                };
                let msg = ServerMessage::FileChunk {
                    transfer_id,
                    file_id: t.file_id.clone(),
                    offset,
                    data,
                };
                out.send(to, &msg);
            }
            M::FileAck {
                transfer_id,
                offset,
            } => {
                let Some(t) = party_of(transfers, &transfer_id, client_id, code, Party::Downloader)
                else {
                    return no_such_transfer(out, conn, &transfer_id);
                };
                t.acked = t.acked.max(offset);
                let finished = t.finished();
                if let Some(to) = conn_of(&t.sender_id) {
                    out.send(
                        to,
                        &ServerMessage::FileAck {
                            transfer_id: transfer_id.clone(),
                            offset,
                        },
                    );
                }
                if finished {
                    transfers.open.remove(&transfer_id);
                }
            }
            M::FileEnd {
                transfer_id,
                sha256,
            } => {
                let Some(t) = party_of(transfers, &transfer_id, client_id, code, Party::Sender)
                else {
                    return no_such_transfer(out, conn, &transfer_id);
                };
                t.ended = true;
                let finished = t.finished();
                if let Some(to) = conn_of(&t.downloader_id) {
                    let msg = ServerMessage::FileEnd {
                        transfer_id: transfer_id.clone(),
                        file_id: t.file_id.clone(),
                        sha256,
                    };
                    out.send(to, &msg);
                }
                if finished {
                    transfers.open.remove(&transfer_id);
                }
            }
            M::FileCancel { transfer_id } => {
                let Some(t) = party_of(transfers, &transfer_id, client_id, code, Party::Either)
                else {
                    return no_such_transfer(out, conn, &transfer_id);
                };
                if let Some(to) = conn_of(t.other_party(client_id)) {
                    let msg = ServerMessage::FileError {
                        transfer_id: transfer_id.clone(),
                        reason: FileErrorReason::Cancelled,
                    };
                    out.send(to, &msg);
                }
                transfers.open.remove(&transfer_id);
            }
            _ => {}
        }
    }
}

/// Which side of a transfer a message must come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Party {
    Sender,
    Downloader,
    Either,
}

/// The open transfer `transfer_id`, if `client_id` is its `party`.
fn party_of<'a>(
    transfers: &'a mut Transfers,
    transfer_id: &str,
    client_id: &str,
    meeting: &str,
    party: Party,
) -> Option<&'a mut Transfer> {
    let t = transfers.open.get_mut(transfer_id)?;
    let is_sender = t.sender_id == client_id;
    let is_downloader = t.downloader_id == client_id;
    let allowed = match party {
        Party::Sender => is_sender,
        Party::Downloader => is_downloader,
        Party::Either => is_sender || is_downloader,
    };
    (allowed && t.meeting == meeting).then_some(t)
}

fn no_such_transfer(out: &mut Outbox, conn: ConnId, transfer_id: &str) {
    out.error(
        conn,
        ErrorCode::NoSuchTransfer,
        format!("{transfer_id} is not an open transfer of yours in that role"),
    );
}
