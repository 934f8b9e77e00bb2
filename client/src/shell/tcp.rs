//! The TCP connection's frame reader and what goes to the writer (the
//! writer thread itself, which outlives a connection, is in `reconnect.rs`).
//!
//! ```text
//!  any thread --Outgoing--> outbox (mpsc) --> writer thread --write_all--> TCP
//!  TCP --read--> FrameReader (buffer) --decode--> one frame body at a time
//! ```
//!
//! Everything the session sends goes through the outbox and is written by
//! the writer thread alone, so two frames can never interleave on the
//! socket however many threads (UI, uploads, screen sender, heartbeat) send
//! at once. The reader keeps whatever follows a frame in its buffer, so the
//! handshake and the reader thread can hand the same reader over without
//! losing bytes.

use std::io::{self, ErrorKind, Read};
use std::net::TcpStream;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use lanmeet_common::framing;
use lanmeet_common::limits::MAX_SERVER_FRAME;

/// What the writer thread is asked to do.
pub(crate) enum Outgoing {
    /// Write one framed message.
    Frame(Vec<u8>),
    /// Write one framed screen frame, then clear the sender's "in flight"
    /// flag so it may capture the next one.
    Screen(Vec<u8>, Arc<AtomicBool>),
    /// Close the sending side (after `leave`) and stop.
    Close,
}

/// Reads whole frames from a stream.
pub(crate) struct FrameReader {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already handed out.
    start: usize,
}

/// Why no frame could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The read timed out with no whole frame; try again later.
    Idle,
    /// The peer closed the connection.
    Closed,
    /// The bytes are not framing (an over-long length).
    Protocol(String),
    /// The socket failed.
    Io(io::Error),
}

impl FrameReader {
    pub(crate) fn new(stream: TcpStream) -> FrameReader {
        FrameReader {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
        }
    }

    /// The next frame body. Blocks up to the stream's read timeout.
    pub(crate) fn next_frame(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            match framing::decode(&self.buf[self.start..], MAX_SERVER_FRAME) {
                Ok(Some((body, used))) => {
                    let body = body.to_vec();
                    self.start += used;
                    if self.start == self.buf.len() {
                        self.buf.clear();
                        self.start = 0;
                    }
                    return Ok(body);
                }
                Ok(None) => {}
                Err(e) => return Err(ReadError::Protocol(e.to_string())),
            }
            // Move the unread tail to the front before reading more, so the
            // buffer never grows past one frame plus one read.
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(ReadError::Idle)
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset
                            | ErrorKind::ConnectionAborted
                            | ErrorKind::UnexpectedEof
                    ) =>
                {
                    return Err(ReadError::Closed)
                }
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn reader_splits_and_joins_frames() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut bytes = framing::encode(b"{\"type\":\"pong\"}");
            bytes.extend(framing::encode(b"{}"));
            // Send in awkward pieces.
            for piece in bytes.chunks(3) {
                s.write_all(piece).unwrap();
                s.flush().unwrap();
            }
        });
        let stream = TcpStream::connect(addr).unwrap();
        let mut r = FrameReader::new(stream);
        assert_eq!(r.next_frame().unwrap(), b"{\"type\":\"pong\"}");
        assert_eq!(r.next_frame().unwrap(), b"{}");
        t.join().unwrap();
        assert!(matches!(r.next_frame(), Err(ReadError::Closed)));
    }
}
