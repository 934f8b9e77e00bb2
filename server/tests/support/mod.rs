//! What every end-to-end test needs: a server on loopback port 0, a blocking
//! test client on std sockets, and a UDP media socket.
//!
//! ```text
//!   test thread                         server thread (lanmeet_server::spawn)
//!  +-------------------+   TCP frames   +---------------------------------+
//!  | Client / Member   | <------------> | mio loop -> Core -> mio loop    |
//!  | Media (UdpSocket) | <------------> |                                 |
//!  +-------------------+   datagrams    +---------------------------------+
//! ```
//!
//! Each test starts its own server, so tests run in parallel without
//! sharing ports or meetings. Every read has a deadline: a message that
//! does not come fails the test after [`TIMEOUT`] rather than hanging it.
//! Nothing is skipped silently: [`Client::expect_type`] fails on the first
//! message of another type and prints it.

// Each test file uses its own subset of these helpers; the rest would be
// reported as dead code in that file's test crate.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use lanmeet_common::framing;
use lanmeet_common::limits::MAX_SERVER_FRAME;
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::{ClientMessage, ServerMessage};
use lanmeet_server::{Config, ServerHandle};

/// How long a message that must arrive may take. Generous: the suite runs
/// in parallel on small, busy machines.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// How long one write may block; longer means the server stopped reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long to wait before concluding that a message did not arrive.
pub const QUIET: Duration = Duration::from_millis(300);

// ------------------------------------------------------------------ server

/// The configuration every test starts from: loopback, port 0 (TCP and UDP
/// both picked by the kernel), no log file.
pub fn config() -> Config {
    Config {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        log_dir: None,
        ..Default::default()
    }
}

/// A server with the default limits, on its own thread.
pub fn start_server() -> ServerHandle {
    start_server_with(config())
}

/// A server with `config`, on its own thread.
pub fn start_server_with(config: Config) -> ServerHandle {
    lanmeet_server::spawn(config).expect("the server binds loopback port 0")
}

// ------------------------------------------------------------- TCP client

/// What the next read on a connection gave.
#[derive(Debug)]
pub enum Next {
    /// One whole frame body.
    Frame(Vec<u8>),
    /// The server closed the connection (EOF or reset).
    Closed,
    /// Nothing arrived in time.
    Timeout,
}

/// One TCP control connection, read and written from the test thread.
pub struct Client {
    stream: TcpStream,
    /// Bytes read but not yet taken as frames.
    inbuf: Vec<u8>,
}

impl Client {
    /// Connects to `server`; no handshake yet.
    pub fn connect(server: &ServerHandle) -> Client {
        Client::from_stream(TcpStream::connect(server.tcp_addr()).expect("connect to the server"))
    }

    /// Connects with a receive buffer of about `bytes`, set before the
    /// connection opens so the kernel does not grow it: a reader that falls
    /// behind then backs up into the server after a few kilobytes rather
    /// than a few megabytes.
    pub fn connect_with_receive_buffer(server: &ServerHandle, bytes: usize) -> Client {
        use socket2::{Domain, Protocol, SockAddr, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
        socket.set_recv_buffer_size(bytes).unwrap();
        socket
            .connect(&SockAddr::from(server.tcp_addr()))
            .expect("connect to the server");
        Client::from_stream(TcpStream::from(socket))
    }

    /// Wraps a stream connected some other way.
    pub fn from_stream(stream: TcpStream) -> Client {
        stream.set_nodelay(true).unwrap();
        // A server that stops reading fails the test instead of hanging it.
        stream.set_write_timeout(Some(WRITE_TIMEOUT)).unwrap();
        Client {
            stream,
            inbuf: Vec::new(),
        }
    }

    /// A second handle on the same socket, for another thread.
    pub fn try_clone(&self) -> Client {
        Client::from_stream(self.stream.try_clone().unwrap())
    }

    /// Writes bytes as they are, no framing.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the server");
    }

    /// Writes raw bytes; the server may have closed the connection.
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Frames `body` (any bytes, JSON or not) and writes it.
    pub fn send_body(&mut self, body: &[u8]) {
        self.send_raw(&framing::encode(body));
    }

    /// Frames and writes a JSON value; the way to send malformed messages.
    pub fn send(&mut self, message: &Value) {
        self.send_raw(&framing::encode_json(message));
    }

    /// Frames and writes a well-formed client message.
    pub fn send_message(&mut self, message: &ClientMessage) {
        self.send_raw(&framing::encode_json(message));
    }

    /// Reads until one whole frame, EOF or the deadline.
    pub fn next_frame(&mut self, timeout: Duration) -> Next {
        let deadline = Instant::now() + timeout;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match framing::decode(&self.inbuf, MAX_SERVER_FRAME) {
                Ok(Some((body, used))) => {
                    let body = body.to_vec();
                    self.inbuf.drain(..used);
                    return Next::Frame(body);
                }
                Ok(None) => {}
                Err(e) => panic!("the server sent a frame over its limit: {e}"),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Next::Timeout;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    assert!(
                        self.inbuf.is_empty(),
                        "the server closed in the middle of a frame ({} bytes held)",
                        self.inbuf.len()
                    );
                    return Next::Closed;
                }
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Next::Timeout
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Next::Closed,
                Err(e) => panic!("read from the server failed: {e}"),
            }
        }
    }

    /// The next message, waiting up to `timeout`; `None` on timeout.
    /// Panics if the connection closes or the frame is not a JSON object.
    pub fn recv_within(&mut self, timeout: Duration) -> Option<Value> {
        match self.next_frame(timeout) {
            Next::Frame(body) => {
                let v: Value = serde_json::from_slice(&body).expect("server frames are JSON");
                assert!(v["type"].is_string(), "server frame without a type: {v}");
                Some(v)
            }
            Next::Closed => panic!("the server closed the connection"),
            Next::Timeout => None,
        }
    }

    /// The next message; fails the test after [`TIMEOUT`].
    pub fn recv(&mut self) -> Value {
        self.recv_within(TIMEOUT)
            .unwrap_or_else(|| panic!("no message from the server within {TIMEOUT:?}"))
    }

    /// The next message as the typed enum the client crate would use.
    pub fn recv_message(&mut self) -> ServerMessage {
        let v = self.recv();
        serde_json::from_value(v.clone())
            .unwrap_or_else(|e| panic!("not a valid server message ({e}): {v}"))
    }

    /// The next message, which must have type `ty`.
    pub fn expect_type(&mut self, ty: &str) -> Value {
        let v = self.recv();
        assert_eq!(v["type"], ty, "expected a {ty}, got {v}");
        v
    }

    /// The next messages, which must have these types in this order.
    pub fn expect_types(&mut self, types: &[&str]) -> Vec<Value> {
        types.iter().map(|ty| self.expect_type(ty)).collect()
    }

    /// The next message, which must be `error{code}`.
    pub fn expect_error(&mut self, code: &str) -> Value {
        let v = self.expect_type("error");
        assert_eq!(v["code"], code, "expected error {code}, got {v}");
        assert!(v["message"].is_string(), "an error carries a message: {v}");
        v
    }

    /// The server closes the connection with no further message.
    pub fn expect_closed(&mut self) {
        match self.next_frame(TIMEOUT) {
            Next::Closed => {}
            Next::Frame(body) => panic!(
                "expected the connection to close, got {}",
                String::from_utf8_lossy(&body)
            ),
            Next::Timeout => panic!("the server did not close within {TIMEOUT:?}"),
        }
    }

    /// Nothing arrives for [`QUIET`] (and the connection stays open).
    pub fn expect_nothing(&mut self) {
        match self.next_frame(QUIET) {
            Next::Timeout => {}
            Next::Frame(body) => panic!("expected nothing, got {}", String::from_utf8_lossy(&body)),
            Next::Closed => panic!("expected nothing, but the server closed"),
        }
    }

    /// A ping gets a pong: the connection is alive and everything the
    /// server sent before the pong has been read.
    pub fn ping_pong(&mut self) {
        self.send(&json!({"type": "ping"}));
        self.expect_type("pong");
    }

    /// Reads and throws away whatever comes until the server closes the
    /// connection; returns the bytes read. The last frame may be cut short:
    /// a server dropping a reader that fell behind stops mid-frame.
    pub fn drain_until_closed(&mut self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut total = std::mem::take(&mut self.inbuf).len();
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "still open after {timeout:?}");
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => return total,
                Ok(n) => total += n,
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return total,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("read from the server failed: {e}"),
            }
        }
    }

    /// Closes the sending side (the server sees EOF).
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

// ------------------------------------------------------------ participants

/// A client that is in a meeting, with what its join reply said.
pub struct Member {
    pub client: Client,
    /// Its server-issued `client_id`.
    pub id: String,
    /// The meeting code.
    pub code: String,
    /// The body of its UDP hello.
    pub token: String,
    /// The whole `meeting_created` or `join_success`.
    pub reply: Value,
}

// A member is used like its connection: `alice.send(..)`, `alice.recv()`.
impl Deref for Member {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for Member {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl Member {
    fn from_reply(client: Client, reply: Value) -> Member {
        let field = |name: &str| {
            reply[name]
                .as_str()
                .unwrap_or_else(|| panic!("join reply without {name}: {reply}"))
                .to_string()
        };
        Member {
            id: field("client_id"),
            code: field("meeting_code"),
            token: field("udp_token"),
            client,
            reply,
        }
    }
}

/// `create_meeting` as `{"type":"create_meeting","version":1,"username":name}`.
pub fn create_request(name: &str) -> Value {
    json!({"type": "create_meeting", "version": 1, "username": name})
}

/// `join_meeting` for `code`.
pub fn join_request(name: &str, code: &str) -> Value {
    json!({"type": "join_meeting", "version": 1, "username": name, "meeting_code": code})
}

/// Connects and creates a meeting as `name`.
pub fn create(server: &ServerHandle, name: &str) -> Member {
    create_with(server, &create_request(name))
}

/// Connects and sends `request` (a create), expecting `meeting_created`.
pub fn create_with(server: &ServerHandle, request: &Value) -> Member {
    let mut client = Client::connect(server);
    client.send(request);
    let reply = client.expect_type("meeting_created");
    Member::from_reply(client, reply)
}

/// Connects and joins meeting `code` as `name`.
pub fn join(server: &ServerHandle, name: &str, code: &str) -> Member {
    join_with(server, &join_request(name, code))
}

/// Connects and sends `request` (a join), expecting `join_success`.
pub fn join_with(server: &ServerHandle, request: &Value) -> Member {
    let mut client = Client::connect(server);
    client.send(request);
    let reply = client.expect_type("join_success");
    Member::from_reply(client, reply)
}

/// Connects, sends `request` and expects `error{code}` then the close.
pub fn refused(server: &ServerHandle, request: &Value, code: &str) {
    let mut client = Client::connect(server);
    client.send(request);
    client.expect_error(code);
    client.expect_closed();
}

/// A meeting of `names` (the first is host), with every `user_joined`
/// already read, so each member's next message is the test's business.
pub fn meeting(server: &ServerHandle, names: &[&str]) -> Vec<Member> {
    let mut members = vec![create(server, names[0])];
    for name in &names[1..] {
        let code = members[0].code.clone();
        let joiner = join(server, name, &code);
        for m in &mut members {
            let v = m.expect_type("user_joined");
            assert_eq!(v["client_id"], joiner.id.as_str());
        }
        members.push(joiner);
    }
    members
}

/// The next message is a chat line `text` from `from_id`, stamped by the
/// server; returns it for further checks.
pub fn expect_chat(to: &mut Client, from_id: &str, text: &str, private: bool) -> Value {
    let v = to.expect_type("chat");
    assert_eq!(v["client_id"], from_id, "{v}");
    assert_eq!(v["message"], text, "{v}");
    assert_eq!(v["private"], private, "{v}");
    assert!(v["timestamp"].is_f64() || v["timestamp"].is_u64(), "{v}");
    v
}

// -------------------------------------------------------------- UDP media

/// One UDP socket on loopback, talking to a server's media port.
pub struct Media {
    socket: UdpSocket,
    server: SocketAddr,
}

impl Media {
    /// A new socket, not yet bound to any participant.
    pub fn new(server: &ServerHandle) -> Media {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        Media {
            socket,
            server: server.udp_addr(),
        }
    }

    /// A new socket bound to `member` by a hello the server answered.
    pub fn bound(server: &ServerHandle, member: &Member) -> Media {
        let media = Media::new(server);
        media.hello(member);
        media
    }

    /// A second handle on the same socket, for another thread.
    pub fn try_clone(&self) -> Media {
        Media {
            socket: self.socket.try_clone().unwrap(),
            server: self.server,
        }
    }

    /// The socket's own address.
    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Sends `member`'s hello and waits for the server's `'I'`+`ok`.
    pub fn hello(&self, member: &Member) {
        self.send(&udp::build(
            Kind::Hello,
            &member.id,
            member.token.as_bytes(),
        ));
        let reply = self
            .recv_within(TIMEOUT)
            .expect("the server answers a valid hello");
        assert_eq!(reply, udp::build(Kind::Hello, "", udp::HELLO_OK));
    }

    /// Sends one datagram to the server.
    pub fn send(&self, datagram: &[u8]) {
        self.socket.send_to(datagram, self.server).unwrap();
    }

    /// The next datagram within `timeout`, or `None`.
    pub fn recv_within(&self, timeout: Duration) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 65_536];
        self.socket
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .unwrap();
        loop {
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    assert_eq!(from, self.server, "a datagram from a stranger");
                    return Some(buf[..n].to_vec());
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("UDP receive failed: {e}"),
            }
        }
    }

    /// The next datagram; fails the test after [`TIMEOUT`].
    pub fn recv(&self) -> Vec<u8> {
        self.recv_within(TIMEOUT)
            .unwrap_or_else(|| panic!("no datagram within {TIMEOUT:?}"))
    }

    /// Nothing arrives for [`QUIET`].
    pub fn expect_nothing(&self) {
        if let Some(d) = self.recv_within(QUIET) {
            panic!(
                "expected no datagram, got {} bytes: {:?}",
                d.len(),
                &d[..d.len().min(16)]
            );
        }
    }
}

// -------------------------------------------------- server as a process

/// The `lanmeet-server` binary in a process of its own (for what only a
/// process shows: its memory, its signals), on loopback port 0 with a log
/// folder of its own; killed and its folder removed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub tcp: SocketAddr,
    pub log_dir: PathBuf,
    /// Kept open: the server prints more lines, and a closed pipe would
    /// fail them.
    stdout: BufReader<ChildStdout>,
}

impl ServerProcess {
    /// Starts the binary with `args` besides the address and the log
    /// folder (named after `tag` and this process).
    pub fn start(tag: &str, args: &[&str]) -> ServerProcess {
        let log_dir = std::env::temp_dir().join(format!("lanmeet-{tag}-{}", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_lanmeet-server"))
            .args(["--bind", "127.0.0.1", "--port", "0", "--log-dir"])
            .arg(&log_dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the server prints its ports");
        let tcp = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("tcp="))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        ServerProcess {
            child,
            tcp,
            log_dir,
            stdout,
        }
    }

    /// A new connection to it.
    pub fn connect(&self) -> Client {
        Client::from_stream(TcpStream::connect(self.tcp).expect("the server accepts"))
    }

    /// Creates (`code` None) or joins a meeting as `name`; returns the
    /// connection and the meeting code.
    pub fn enter(&self, name: &str, code: Option<&str>) -> (Client, String) {
        let mut c = self.connect();
        match code {
            None => c.send(&create_request(name)),
            Some(code) => c.send(&join_request(name, code)),
        }
        let reply = c.recv();
        assert!(
            reply["type"] == "meeting_created" || reply["type"] == "join_success",
            "{reply}"
        );
        let code = reply["meeting_code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (c, code)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.log_dir);
    }
}
