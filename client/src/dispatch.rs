//! The TCP reader thread: every server message in arrival order, and the
//! one shutdown path that runs when the session ends, whatever ended it.
//!
//! ```text
//!  FrameReader --frame--> parse_server_frame
//!     Message  --> MeetingState::apply --> side effects --> Event
//!                  (files: write chunk / wake upload; screen: decode queue;
//!                   our mute flag; start or stop the screen sender)
//!     Unknown  --> logged and ignored (an extension from a newer server)
//!     Broken   --> a Warning event, or the end if it is not JSON at all
//!  EOF / error / silence past server_timeout / garbage framing
//!     --> finish(reason): stop all threads, fail transfers, join threads,
//!         state.connected = false, Event::Disconnected (the last event)
//! ```
//!
//! One thread owns the order: the state changes before the event that
//! describes it is sent, and file chunks are written in the order they
//! came.

use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use lanmeet_common::message::VideoState;
use lanmeet_common::ServerMessage;

use crate::event::{DisconnectReason, Event};
use crate::files;
use crate::screen;
use crate::session::{spawn_named, Shared, Worker};
use crate::stop::{lock, StopSignal};
use crate::video::FrameKey;
use crate::wire::{self, FrameReader, Outgoing, Parsed, ReadError};

/// The TCP reader thread: every server message, in order, until the end;
/// then the one shutdown path.
pub(crate) fn run_tcp_reader(shared: Arc<Shared>, mut reader: FrameReader) {
    let mut last_heard = Instant::now();
    let reason = loop {
        if shared.stop.is_stopped() {
            break DisconnectReason::Left;
        }
        match reader.next_frame() {
            Ok(body) => {
                last_heard = Instant::now();
                match wire::parse_server_frame(&body) {
                    Parsed::Message(msg) => handle_message(&shared, msg),
                    Parsed::Unknown(kind) => shared
                        .log
                        .write(format_args!("ignored unknown message type {kind:?}")),
                    Parsed::Broken(why) => {
                        shared.log.write(format_args!("broken message: {why}"));
                        if why.starts_with("frame is not") {
                            break DisconnectReason::Protocol(why);
                        }
                        shared.emit(Event::Warning {
                            message: format!("the server sent a broken message: {why}"),
                        });
                    }
                }
            }
            Err(ReadError::Idle) => {
                if last_heard.elapsed() >= shared.config.server_timeout {
                    break DisconnectReason::Timeout;
                }
            }
            Err(ReadError::Closed) => break closed_reason(&shared),
            Err(ReadError::Protocol(why)) => break DisconnectReason::Protocol(why),
            Err(ReadError::Io(e)) => {
                if shared.leaving.load(Ordering::Acquire) || lock(&shared.write_error).is_some() {
                    break closed_reason(&shared);
                }
                break DisconnectReason::Io(e.to_string());
            }
        }
    };
    finish(&shared, reason);
}

fn closed_reason(shared: &Shared) -> DisconnectReason {
    if let Some(e) = lock(&shared.write_error).clone() {
        DisconnectReason::Io(format!("sending failed: {e}"))
    } else if let Some(by) = lock(&shared.removed_by).clone() {
        DisconnectReason::Removed(by)
    } else if shared.leaving.load(Ordering::Acquire) {
        DisconnectReason::Left
    } else {
        DisconnectReason::ServerClosed
    }
}

/// The one shutdown path, on the reader thread.
fn finish(shared: &Arc<Shared>, reason: DisconnectReason) {
    shared.log.write(format_args!("session ended: {reason}"));
    shared.stop.stop();
    shared.decode.wake();
    let media = std::mem::take(&mut *lock(&shared.media));
    for w in [media.video, media.audio, media.playout, media.screen]
        .into_iter()
        .flatten()
    {
        w.end();
    }
    files::end_all(shared, &format!("the session ended: {reason}"));
    let _ = shared.outbox.send(Outgoing::Close);
    let _ = shared.tcp.shutdown(Shutdown::Both);
    let workers = std::mem::take(&mut *lock(&shared.workers));
    for w in workers {
        let _ = w.join();
    }
    lock(&shared.state).connected = false;
    shared.emit(Event::Disconnected { reason });
    shared.done.stop();
}

/// Applies one server message: state first, then side effects, then the
/// event.
fn handle_message(shared: &Arc<Shared>, msg: ServerMessage) {
    lock(&shared.state).apply(&msg);
    let me = shared.identity.client_id.as_str();
    let event = match msg {
        ServerMessage::Pong => None,
        ServerMessage::MeetingCreated(_) | ServerMessage::JoinSuccess(_) => {
            shared.emit(Event::Warning {
                message: "the server sent a second join reply".into(),
            });
            None
        }
        ServerMessage::Error { code, message } => {
            shared
                .log
                .write(format_args!("server error {}: {message}", code.as_str()));
            Some(Event::ServerError { code, message })
        }
        ServerMessage::UserJoined {
            client_id,
            username,
        } => Some(Event::ParticipantJoined {
            client_id,
            username,
        }),
        ServerMessage::UserLeft {
            client_id,
            username,
            reason,
        } => {
            lock(&shared.assembler).restart(&client_id);
            shared.decode.forget(&FrameKey::Camera(client_id.clone()));
            lock(&shared.slots.camera).remove(&client_id);
            Some(Event::ParticipantLeft {
                client_id,
                username,
                reason,
            })
        }
        ServerMessage::HostChanged { client_id } => Some(Event::HostChanged { client_id }),
        ServerMessage::Chat(line) => Some(Event::Chat(line)),
        ServerMessage::ParticipantVideoState { client_id, state } => {
            // Either way the sender's next frame starts a new stream,
            // numbered from 0 again.
            lock(&shared.assembler).restart(&client_id);
            if state == VideoState::Stopped {
                lock(&shared.slots.camera).remove(&client_id);
            }
            Some(Event::VideoState {
                client_id,
                on: state == VideoState::Started,
            })
        }
        ServerMessage::ParticipantAudioState { client_id, muted } => {
            if client_id == me {
                shared.muted.store(muted, Ordering::Release);
            }
            Some(Event::Muted { client_id, muted })
        }
        ServerMessage::ParticipantMuted { client_id } => {
            if client_id == me {
                shared.muted.store(true, Ordering::Release);
            }
            Some(Event::Muted {
                client_id,
                muted: true,
            })
        }
        ServerMessage::ParticipantUnmuted { client_id } => {
            if client_id == me {
                shared.muted.store(false, Ordering::Release);
            }
            Some(Event::Muted {
                client_id,
                muted: false,
            })
        }
        ServerMessage::MutedByHost => {
            shared.muted.store(true, Ordering::Release);
            Some(Event::MutedByHost { muted: true })
        }
        ServerMessage::UnmutedByHost => {
            shared.muted.store(false, Ordering::Release);
            Some(Event::MutedByHost { muted: false })
        }
        ServerMessage::MicLocked => Some(Event::MicLock {
            client_id: me.to_string(),
            locked: true,
        }),
        ServerMessage::MicUnlocked => Some(Event::MicLock {
            client_id: me.to_string(),
            locked: false,
        }),
        ServerMessage::ParticipantMicLocked { client_id } => Some(Event::MicLock {
            client_id,
            locked: true,
        }),
        ServerMessage::ParticipantMicUnlocked { client_id } => Some(Event::MicLock {
            client_id,
            locked: false,
        }),
        ServerMessage::ParticipantHandState {
            client_id,
            username,
            state,
            ..
        } => Some(Event::Hand {
            client_id,
            username,
            raised: state,
        }),
        ServerMessage::EmojiReaction {
            client_id,
            username,
            emoji,
        } => Some(Event::Reaction {
            client_id,
            username,
            emoji,
        }),
        ServerMessage::VideoRequested { by } => Some(Event::VideoRequested { by }),
        ServerMessage::UnmuteRequested { by } => Some(Event::UnmuteRequested { by }),
        ServerMessage::Removed { by } => {
            shared.log.write(format_args!("removed by {by}"));
            *lock(&shared.removed_by) = Some(by);
            None
        }
        ServerMessage::MeetingLocked { locked } => Some(Event::MeetingLocked { locked }),
        ServerMessage::ScreenShareStarted { presenter_id } => {
            if presenter_id == me {
                start_screen_thread(shared);
            }
            Some(Event::ScreenShareStarted { presenter_id })
        }
        ServerMessage::ScreenShareDenied { current_presenter } => {
            lock(&shared.pending_screen).take();
            Some(Event::ScreenShareDenied { current_presenter })
        }
        ServerMessage::ScreenShareStopped { presenter_id } => {
            if presenter_id == me {
                let old = lock(&shared.media).screen.take();
                if let Some(w) = old {
                    w.end();
                }
            }
            shared
                .decode
                .forget(&FrameKey::Screen(presenter_id.clone()));
            *lock(&shared.slots.screen) = None;
            Some(Event::ScreenShareStopped { presenter_id })
        }
        ServerMessage::ScreenFrame {
            presenter_id,
            frame_data,
            ..
        } => {
            match lanmeet_common::base64::decode(&frame_data) {
                Ok(jpeg) => {
                    let seq = shared.screen_seq.fetch_add(1, Ordering::Relaxed) as u32;
                    shared
                        .decode
                        .submit(FrameKey::Screen(presenter_id), seq, jpeg);
                }
                Err(e) => shared.log.write(format_args!("bad screen frame: {e}")),
            }
            None // the decoder sends Event::ScreenFrame
        }
        ServerMessage::FileOffer(offer) => {
            if offer.sender_id == me {
                None // our own offer, already announced when sent
            } else {
                Some(Event::FileOffered(offer))
            }
        }
        ServerMessage::FileUnavailable { sender_id, file_id } => {
            Some(Event::FileUnavailable { sender_id, file_id })
        }
        ServerMessage::FileRequest {
            downloader_id,
            file_id,
            transfer_id,
            ..
        } => {
            files::on_file_request(shared, &downloader_id, &file_id, &transfer_id);
            None
        }
        ServerMessage::FileTransferStarted {
            transfer_id,
            sender_id,
            file_id,
        } => {
            files::on_transfer_started(shared, &transfer_id, &sender_id, &file_id);
            None
        }
        ServerMessage::FileChunk {
            transfer_id,
            offset,
            data,
            ..
        } => {
            files::on_chunk(shared, &transfer_id, offset, &data);
            None
        }
        ServerMessage::FileAck {
            transfer_id,
            offset,
        } => {
            let upload = lock(&shared.transfers).uploads.get(&transfer_id).cloned();
            if let Some(u) = upload {
                u.ack(offset);
            }
            None
        }
        ServerMessage::FileEnd {
            transfer_id,
            sha256,
            ..
        } => {
            files::on_end(shared, &transfer_id, &sha256);
            None
        }
        ServerMessage::FileError {
            transfer_id,
            reason,
        } => {
            let why = match reason {
                lanmeet_common::message::FileErrorReason::Cancelled => {
                    "cancelled by the other party"
                }
                lanmeet_common::message::FileErrorReason::PeerLeft => {
                    "the other party left before the transfer finished"
                }
            };
            files::on_error(shared, &transfer_id, why);
            None
        }
    };
    if let Some(e) = event {
        shared.emit(e);
    }
}

fn start_screen_thread(shared: &Arc<Shared>) {
    let Some(source) = lock(&shared.pending_screen).take() else {
        return; // presenting was asked for and then withdrawn
    };
    let old = lock(&shared.media).screen.take();
    if let Some(w) = old {
        w.end();
    }
    let stop = StopSignal::new();
    let (cfg, outbox, st, counters, warn) = (
        shared.config.screen,
        shared.outbox.clone(),
        stop.clone(),
        shared.counters.screen.clone(),
        shared.warn_fn(),
    );
    match spawn_named("screen-sender", move || {
        screen::run_sender(source, cfg, outbox, st, counters, warn)
    }) {
        Ok(handle) => lock(&shared.media).screen = Some(Worker { stop, handle }),
        Err(e) => shared.emit(Event::Warning {
            message: format!("cannot start screen sharing: {e}"),
        }),
    }
}
