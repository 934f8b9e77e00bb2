//! Every number the protocol fixes, in one place.
//!
//! The server enforces these and clients rely on them; keeping them as named
//! constants means a reader can find "why was my message refused" by name
//! rather than by hunting for a literal.

/// Protocol version spoken by this crate (`version` in the handshake).
pub const PROTOCOL_VERSION: u32 = 1;

/// Default TCP port of the server.
pub const DEFAULT_TCP_PORT: u16 = 5001;

/// Largest frame body a client may send (4 MiB).
pub const MAX_CLIENT_FRAME: usize = 4 * 1024 * 1024;

/// Largest first frame of a connection (the handshake), 64 KiB: a
/// handshake is small, and a connection that has not joined should not
/// make the server hold megabytes.
pub const MAX_HANDSHAKE_FRAME: usize = 64 * 1024;

/// Connections from one address that may be in the handshake at once.
pub const MAX_HANDSHAKES_PER_ADDRESS: usize = 32;

/// Default cap on the bytes the server holds, over all connections, of
/// frames that have not fully arrived (256 MiB; `--max-incomplete-mib`).
pub const DEFAULT_MAX_INCOMPLETE_BYTES: usize = 256 * 1024 * 1024;

/// Most bytes of a client's input an error message quotes.
pub const MAX_ERROR_TEXT: usize = 256;

/// Largest frame body a client accepts from the server (8 MiB): a 4 MiB
/// screen frame plus its envelope, or a join reply with a long history.
pub const MAX_SERVER_FRAME: usize = 8 * 1024 * 1024;

/// Bytes of the big-endian length prefix in front of every TCP frame.
pub const FRAME_HEADER_LEN: usize = 4;

/// Default largest UDP datagram, header included: crosses a 1500-byte MTU
/// without IP fragmentation.
pub const DEFAULT_MAX_DATAGRAM: usize = 1400;

/// Largest value `--max-datagram` may take (the UDP payload limit of IPv4).
pub const MAX_DATAGRAM_LIMIT: usize = 65507;

/// Smallest useful `--max-datagram`: room for a header, a fragment header
/// and an audio frame.
pub const MIN_DATAGRAM_LIMIT: usize = 1200;

/// Username length in characters, after trimming.
pub const MAX_USERNAME_CHARS: usize = 32;

/// Meeting codes are this many characters long.
pub const MEETING_CODE_LEN: usize = 6;

/// The characters a meeting code is made of (no 0/O, 1/I look-alikes).
pub const MEETING_CODE_ALPHABET: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Longest password in characters (the protocol sets none; this keeps
/// memory bounded).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Chat message length in characters.
pub const MAX_CHAT_CHARS: usize = 4000;

/// Public chat messages a meeting keeps and sends to joiners.
pub const CHAT_HISTORY_LEN: usize = 100;

/// Chat messages (public and private together) one participant may send
/// a second, on average; beyond it `error{code:"rate_limited"}`.
pub const CHAT_MESSAGES_PER_SEC: u64 = 50;

/// Chat messages one participant may send at once before
/// [`CHAT_MESSAGES_PER_SEC`] applies.
pub const CHAT_BURST_MESSAGES: u64 = 200;

/// Bytes of chat text (UTF-8 `message`) one participant may send a second,
/// on average (256 KiB).
pub const CHAT_BYTES_PER_SEC: u64 = 256 * 1024;

/// Bytes of chat text one participant may send at once before
/// [`CHAT_BYTES_PER_SEC`] applies (2 MiB).
pub const CHAT_BURST_BYTES: u64 = 2 * 1024 * 1024;

/// Emoji reaction length in bytes (UTF-8).
pub const MAX_EMOJI_BYTES: usize = 16;

/// Length of a file offer's `file_id`, in characters.
pub const MAX_FILE_ID_CHARS: usize = 64;

/// Length of a file name, in characters.
pub const MAX_FILENAME_CHARS: usize = 255;

/// Largest decoded `data` of one `file_chunk` (64 KiB).
pub const MAX_FILE_CHUNK: usize = 64 * 1024;

/// A downloader acknowledges at least this often (256 KiB).
pub const FILE_ACK_INTERVAL: u64 = 256 * 1024;

/// A sender keeps at most this many bytes sent and not acknowledged (1 MiB).
pub const FILE_WINDOW: u64 = 1024 * 1024;

/// Open file offers one participant may have at once. Every offer is
/// listed in every join reply, so without a bound one participant could
/// make the reply too large for anyone to join.
pub const MAX_OFFERS_PER_PARTICIPANT: usize = 100;

/// Open file offers in one meeting. With the chat history and 64 names,
/// this keeps the largest possible join reply under [`MAX_SERVER_FRAME`]
/// (the server's tests build that reply and measure it).
pub const MAX_OFFERS_PER_MEETING: usize = 1000;

/// Open downloads one participant may have at once (each open transfer is
/// server state until it ends).
pub const MAX_DOWNLOADS_PER_PARTICIPANT: usize = 32;

/// Largest width or height of a screen frame, in pixels.
pub const MAX_SCREEN_DIMENSION: u32 = 16384;

/// Section 19: rectangles in one `screen_patch`.
pub const MAX_SCREEN_PATCHES: usize = 256;

/// Section 19: patches the server keeps for late joiners since the last
/// keyframe, in bytes; past this it asks for a keyframe instead.
pub const MAX_KEPT_SCREEN_PATCH_BYTES: usize = 4 * 1024 * 1024;

/// Participants in one meeting.
pub const MAX_PARTICIPANTS: usize = 64;

/// Connections on one server.
pub const MAX_CONNECTIONS: usize = 1024;

/// A client pings at least this often, in seconds.
pub const PING_INTERVAL_SECS: u64 = 10;

/// A connection silent this long is closed, in seconds.
pub const IDLE_TIMEOUT_SECS: u64 = 30;

/// A client sends its UDP hello this often, in seconds.
pub const HELLO_INTERVAL_SECS: u64 = 2;

/// A server stops queueing non-droppable messages for a client past this
/// many bytes and disconnects it instead (8 MiB).
pub const MAX_OUTBOUND_QUEUE: usize = 8 * 1024 * 1024;

/// Length of a UDP token in ASCII hex digits.
pub const UDP_TOKEN_LEN: usize = 32;

/// Most fragments one video frame may be cut into.
pub const MAX_FRAGMENTS: usize = 256;

/// A client gives up on an incomplete video frame after this long, in ms.
pub const FRAGMENT_TIMEOUT_MS: u64 = 500;

// Sections 15-18

/// A poll's question, in characters (section 15).
pub const MAX_POLL_QUESTION_CHARS: usize = 500;

/// Fewest options a poll has (section 15).
pub const MIN_POLL_OPTIONS: usize = 2;

/// Most options a poll has (section 15).
pub const MAX_POLL_OPTIONS: usize = 10;

/// One poll option, in characters (section 15).
pub const MAX_POLL_OPTION_CHARS: usize = 200;

/// Live poll counts go to the host at most this often (4 a second).
pub const POLL_UPDATE_INTERVAL_MS: u64 = 250;

/// A meeting title, in characters (section 18).
pub const MAX_TITLE_CHARS: usize = 80;

/// The body of a discovery probe, in bytes: `lanmeet?` and zero padding (section 18).
pub const DISCOVERY_PROBE_LEN: usize = 256;

/// Discovery answers to one source address a second (section 18).
pub const DISCOVERY_ANSWERS_PER_SEC: u64 = 5;

/// Sections 11-12: the largest `last_n` in `video_subscribe`.
pub const MAX_LAST_N: u32 = 64;
/// Sections 11-12: entries in `video_subscribe`'s `overrides` at most.
pub const MAX_SUBSCRIBE_OVERRIDES: usize = 64;
