//! The first frame of a connection and its answer: connect, send
//! `create_meeting`, `join_meeting` or `resume_meeting`, read the join
//! reply (with the additions' fields, such as the `resume_token`) and check
//! it. Used by `Session::connect` and by every resume attempt.

use std::io::{self, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use lanmeet_common::features::JoinReplyAdditions;
use lanmeet_common::framing::encode_json;
use lanmeet_common::limits::{MAX_DATAGRAM_LIMIT, UDP_TOKEN_LEN};
use lanmeet_common::message::JoinReply;
use lanmeet_common::ServerMessage;

use super::config::Config;
use super::tcp::{FrameReader, ReadError};
use crate::core::parse::{parse_server_frame, Parsed};
use crate::error::SessionError;

/// Reads a join reply, skipping messages of unknown types.
fn read_join_reply(
    reader: &mut FrameReader,
    deadline: Instant,
    created: bool,
) -> Result<(JoinReply, JoinReplyAdditions), SessionError> {
    // A reply whose additions do not parse is read as a version 1 reply.
    let additions = |body: &[u8]| JoinReplyAdditions::parse(body).unwrap_or_default();
    loop {
        match reader.next_frame() {
            Ok(body) => match parse_server_frame(&body) {
                Parsed::Message(ServerMessage::MeetingCreated(r)) if created => {
                    return Ok((r, additions(&body)))
                }
                Parsed::Message(ServerMessage::JoinSuccess(r)) if !created => {
                    return Ok((r, additions(&body)))
                }
                Parsed::Message(ServerMessage::Error { code, message }) => {
                    return Err(SessionError::Refused { code, message })
                }
                Parsed::Message(other) => {
                    return Err(SessionError::Protocol(format!(
                        "expected the join reply, got {}",
                        message_type(&other)
                    )))
                }
                Parsed::Unknown(_) => {}
                Parsed::Broken(why) => return Err(SessionError::Protocol(why)),
            },
            Err(ReadError::Idle) => {}
            Err(ReadError::Closed) => return Err(SessionError::Closed),
            Err(ReadError::Protocol(why)) => return Err(SessionError::Protocol(why)),
            Err(ReadError::Io(e)) => return Err(SessionError::Io(e)),
        }
        if Instant::now() >= deadline {
            return Err(SessionError::Timeout);
        }
    }
}

/// The wire `type` of a server message (for messages and logs).
fn message_type(msg: &ServerMessage) -> String {
    serde_json::to_value(msg)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(String::from))
        .unwrap_or_else(|| "a message".into())
}

fn check_reply(reply: &JoinReply) -> Result<(), SessionError> {
    let bad = |why: &str| Err(SessionError::Protocol(format!("join reply: {why}")));
    if reply.client_id.is_empty() || reply.client_id.len() > 64 {
        return bad("client_id is empty or too long");
    }
    if reply.udp_token.len() != UDP_TOKEN_LEN
        || !reply.udp_token.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return bad("udp_token is not 32 hex digits");
    }
    // Room for a header and some payload; the protocol's own minimum is
    // 1200, but a smaller value still works, only with more fragments.
    if reply.max_datagram < 600 || reply.max_datagram > MAX_DATAGRAM_LIMIT {
        return bad("max_datagram out of range");
    }
    if reply.udp_port == 0 {
        return bad("udp_port is 0");
    }
    Ok(())
}

pub(crate) fn connect_tcp(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, SessionError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(SessionError::Connect)?
        .collect();
    let mut last = io::Error::new(ErrorKind::NotFound, format!("{host} has no address"));
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(SessionError::Connect(last))
}

/// A connection whose handshake succeeded.
pub(crate) struct Handshake {
    pub(crate) stream: TcpStream,
    pub(crate) reader: FrameReader,
    pub(crate) reply: JoinReply,
    pub(crate) additions: JoinReplyAdditions,
}

/// Connects, sends `hello` as the first frame and reads the join reply,
/// within `timeout`. The stream's write timeout is then the server
/// timeout.
pub(crate) fn handshake(
    config: &Config,
    hello: &serde_json::Value,
    created: bool,
    timeout: Duration,
) -> Result<Handshake, SessionError> {
    let deadline = Instant::now() + timeout;
    let mut stream = connect_tcp(&config.host, config.port, timeout)?;
    let _ = stream.set_nodelay(true);
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(&encode_json(hello))?;
    let mut reader = FrameReader::new(stream.try_clone()?);
    let (reply, additions) = read_join_reply(&mut reader, deadline, created)?;
    check_reply(&reply)?;
    // Writes block only as long as the server is slow to read; a
    // server that stops reading for this long is as good as gone.
    stream.set_write_timeout(Some(config.server_timeout))?;
    Ok(Handshake {
        stream,
        reader,
        reply,
        additions,
    })
}
