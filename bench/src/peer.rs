//! One simulated participant: a TCP control connection and a UDP socket,
//! speaking the protocol through `lanmeet-common` with blocking std sockets.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lanmeet_common::framing;
use lanmeet_common::limits::MAX_SERVER_FRAME;
use lanmeet_common::message::{ClientMessage, JoinReply, ServerMessage};
use lanmeet_common::udp::{self, Kind};

/// The instant all send stamps count from (one process, one clock).
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since [`epoch`].
pub fn stamp_now() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// How long ago a stamp was taken.
pub fn since_stamp(stamp: u64) -> Duration {
    Duration::from_nanos(stamp_now().saturating_sub(stamp))
}

/// A participant in a benchmark.
pub struct Peer {
    /// Server-issued id.
    pub client_id: String,
    /// The meeting code.
    pub code: String,
    /// The control connection.
    pub tcp: TcpStream,
    /// The media socket.
    pub udp: UdpSocket,
    /// The server's UDP address.
    pub server_udp: SocketAddr,
    /// The server's largest datagram.
    pub max_datagram: usize,
    token: String,
    inbuf: Vec<u8>,
    /// Bytes at the front of `inbuf` already parsed.
    consumed: usize,
}

fn other(e: impl ToString) -> io::Error {
    io::Error::other(e.to_string())
}

impl Peer {
    /// Creates a meeting.
    pub fn create(tcp: SocketAddr, udp: SocketAddr, name: &str) -> io::Result<Peer> {
        let msg = ClientMessage::CreateMeeting {
            version: 1,
            username: name.into(),
            password: None,
        };
        Peer::handshake(tcp, udp, &framing::encode_json(&msg))
    }

    /// Joins meeting `code`.
    pub fn join(tcp: SocketAddr, udp: SocketAddr, name: &str, code: &str) -> io::Result<Peer> {
        let msg = ClientMessage::JoinMeeting {
            version: 1,
            username: name.into(),
            meeting_code: code.into(),
            password: None,
        };
        Peer::handshake(tcp, udp, &framing::encode_json(&msg))
    }

    /// Creates (`code` `None`) or joins a meeting naming `features`
    /// (the additions of PROTOCOL.md sections 11-19).
    pub fn enter_with(
        tcp: SocketAddr,
        udp: SocketAddr,
        name: &str,
        code: Option<&str>,
        features: &[&str],
    ) -> io::Result<Peer> {
        let mut msg = serde_json::json!({"type":"create_meeting","version":1,"username":name});
        if let Some(code) = code {
            msg["type"] = "join_meeting".into();
            msg["meeting_code"] = code.into();
        }
        msg["features"] = features.into();
        Peer::handshake(tcp, udp, &framing::encode_json(&msg))
    }

    fn handshake(tcp_addr: SocketAddr, udp_addr: SocketAddr, hello: &[u8]) -> io::Result<Peer> {
        let mut tcp = TcpStream::connect(tcp_addr)?;
        tcp.set_nodelay(true)?;
        tcp.write_all(hello)?;
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        let mut peer = Peer {
            client_id: String::new(),
            code: String::new(),
            tcp,
            udp,
            server_udp: udp_addr,
            max_datagram: 1400,
            token: String::new(),
            inbuf: Vec::new(),
            consumed: 0,
        };
        let reply: JoinReply = match peer.recv(Duration::from_secs(10))? {
            Some(ServerMessage::MeetingCreated(r)) | Some(ServerMessage::JoinSuccess(r)) => r,
            other => return Err(other_err(format!("handshake refused: {other:?}"))),
        };
        peer.client_id = reply.client_id;
        peer.code = reply.meeting_code;
        peer.token = reply.udp_token;
        peer.max_datagram = reply.max_datagram;
        Ok(peer)
    }

    /// Sends a control message.
    pub fn send(&mut self, msg: &ClientMessage) -> io::Result<()> {
        self.tcp.write_all(&framing::encode_json(msg))
    }

    /// The next control message, or `None` after `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> io::Result<Option<ServerMessage>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((body, used)) =
                framing::decode(&self.inbuf[self.consumed..], MAX_SERVER_FRAME).map_err(other)?
            {
                // A frame that does not parse is consumed all the same, so
                // the next call reads on instead of failing on it forever.
                let msg = ServerMessage::parse(body).map_err(other);
                // Moving the rest forward after every frame would copy a
                // window's worth of chunks again and again.
                self.consumed += used;
                if self.consumed == self.inbuf.len() {
                    self.inbuf.clear();
                    self.consumed = 0;
                }
                return msg.map(Some);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.tcp.set_read_timeout(Some(left))?;
            let mut buf = [0u8; 65536];
            match self.tcp.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    if self.consumed > 0 {
                        self.inbuf.drain(..self.consumed);
                        self.consumed = 0;
                    }
                    self.inbuf.extend_from_slice(&buf[..n])
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and discards whatever control messages have arrived, without
    /// waiting; a peer that only sends must still read, or the server
    /// rightly treats it as a reader that fell behind.
    pub fn drain(&mut self) -> io::Result<()> {
        self.tcp.set_nonblocking(true)?;
        let mut buf = [0u8; 65536];
        let result = loop {
            match self.tcp.read(&mut buf) {
                Ok(0) => break Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        // Whole frames were discarded with the bytes; a partial one would
        // desynchronize later reads, so a peer that drains never reads again.
        self.inbuf.clear();
        self.consumed = 0;
        self.tcp.set_nonblocking(false)?;
        result
    }

    /// Binds the UDP socket: hello until the server answers.
    pub fn bind_udp(&self) -> io::Result<()> {
        let hello = udp::build(Kind::Hello, &self.client_id, self.token.as_bytes());
        self.udp
            .set_read_timeout(Some(Duration::from_millis(200)))?;
        let mut buf = [0u8; 2048];
        for _ in 0..25 {
            self.udp.send_to(&hello, self.server_udp)?;
            // Media may already be flowing to this socket: skip it.
            let deadline = Instant::now() + Duration::from_millis(200);
            while Instant::now() < deadline {
                match self.udp.recv_from(&mut buf) {
                    Ok((n, _)) if buf[..n] == [b'I', 0, 0, b'o', b'k'] => return Ok(()),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        Err(other_err("no answer to the UDP hello"))
    }
}

fn other_err(text: impl Into<String>) -> io::Error {
    io::Error::other(text.into())
}
