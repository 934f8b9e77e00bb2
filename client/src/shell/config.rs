//! What a session needs to know before it starts ([`Config`]) and who we
//! are once joined ([`Identity`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use lanmeet_common::limits::{DEFAULT_TCP_PORT, HELLO_INTERVAL_SECS, PING_INTERVAL_SECS};

use super::log::Log;
use crate::core::DEFAULT_JITTER_MS;
use crate::media::{ScreenConfig, VideoConfig, VoiceSettings};

/// Create a meeting or join one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinAction {
    /// `create_meeting`: we become the host.
    Create,
    /// `join_meeting` with this code.
    Join(String),
}

/// Everything a session needs to know before it starts.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server name or address.
    pub host: String,
    /// Server TCP port.
    pub port: u16,
    /// Our display name.
    pub username: String,
    /// Create or join.
    pub action: JoinAction,
    /// The meeting password (sets one on create).
    pub password: Option<String>,
    /// Camera size, rate, quality.
    pub video: VideoConfig,
    /// Screen share size, rate, quality.
    pub screen: ScreenConfig,
    /// Jitter buffer depth to start with, in ms (20..=100); the measured
    /// jitter takes over after half a second of audio.
    pub jitter_ms: u64,
    /// Echo cancellation and noise suppression of the microphone (both on
    /// by default; [`crate::Session::set_voice_processing`] switches them
    /// during the meeting).
    pub voice: VoiceSettings,
    /// How often the audio sender sends a frame: 10 ms, the protocol's
    /// frame. A benchmark sets it a little off to play a sender whose
    /// clock runs fast or slow against the server's and the listeners'.
    pub audio_period: Duration,
    /// Where downloads are saved.
    pub download_dir: PathBuf,
    /// How often to ping (10 s).
    pub ping_interval: Duration,
    /// How often to send the UDP hello (2 s).
    pub hello_interval: Duration,
    /// How long without a hello answer before the media path is
    /// `NoAnswer` (5 s).
    pub media_timeout: Duration,
    /// How long the server may be silent before the session gives up
    /// (30 s; it answers every ping, so a live server never is).
    pub server_timeout: Duration,
    /// How long connecting and the handshake may take (10 s).
    pub connect_timeout: Duration,
    /// Where to log.
    pub log: Log,
    /// Section 18, on create: the meeting's title (1..80 characters).
    pub title: Option<String>,
    /// Section 18, on create: list the meeting in discovery answers.
    pub listed: bool,
}

impl Config {
    /// A configuration with the defaults, to create a meeting.
    pub fn create(host: &str, port: u16, username: &str) -> Config {
        Config {
            host: host.to_string(),
            port,
            username: username.to_string(),
            action: JoinAction::Create,
            password: None,
            video: VideoConfig::default(),
            screen: ScreenConfig::default(),
            jitter_ms: DEFAULT_JITTER_MS,
            voice: VoiceSettings::default(),
            audio_period: Duration::from_millis(lanmeet_common::audio::FRAME_MS),
            download_dir: PathBuf::from("downloads"),
            ping_interval: Duration::from_secs(PING_INTERVAL_SECS),
            hello_interval: Duration::from_secs(HELLO_INTERVAL_SECS),
            media_timeout: Duration::from_secs(5),
            server_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            log: Log::disabled(),
            title: None,
            listed: false,
        }
    }

    /// A configuration with the defaults, to join the meeting `code`.
    pub fn join(host: &str, port: u16, username: &str, code: &str) -> Config {
        Config {
            action: JoinAction::Join(code.to_string()),
            ..Config::create(host, port, username)
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::create("127.0.0.1", DEFAULT_TCP_PORT, "guest")
    }
}

/// Who we are in the meeting, from the join reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The meeting's code.
    pub meeting_code: String,
    /// Our server-issued id.
    pub client_id: String,
    /// Our name as sent.
    pub username: String,
    /// The UDP token for hellos.
    pub udp_token: String,
    /// The server's UDP address.
    pub udp_addr: SocketAddr,
    /// Largest datagram the server accepts.
    pub max_datagram: usize,
    /// Whether we created the meeting.
    pub created: bool,
}

impl Config {
    /// Section 18: a create's first frame with our title and listing
    /// (a join's is returned as it is).
    pub(super) fn with_listing(&self, mut hello: serde_json::Value) -> serde_json::Value {
        if self.action != JoinAction::Create {
            return hello;
        }
        if let Some(fields) = hello.as_object_mut() {
            let title = self
                .title
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty());
            if let Some(title) = title {
                let title: String = title
                    .chars()
                    .take(lanmeet_common::limits::MAX_TITLE_CHARS)
                    .collect();
                fields.insert("title".into(), title.into());
            }
            if self.listed {
                fields.insert("listed".into(), true.into());
            }
        }
        hello
    }
}
