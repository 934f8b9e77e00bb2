//! What one TCP frame from the server is: a message of this version, an
//! extension from a newer server, or garbage.
//!
//! ```text
//!  frame body --JSON?--> no: Broken("frame is not JSON")      (ends the session)
//!             --"type"?-> no: Broken("frame is not an object ...")
//!             --known?--> no: Unknown(type)                   (logged, ignored)
//!             --fields?-> no: Broken("bad \"chat\" message")   (a warning)
//!                         yes: Message(ServerMessage)
//! ```

/// Every `type` a version 1 server sends, and those of the additions this
/// client implements. A frame with another type is an
/// extension from a newer server and is ignored; a frame with one of these
/// types that does not parse is a broken message.
pub const KNOWN_SERVER_TYPES: &[&str] = &[
    "meeting_created",
    "join_success",
    "error",
    "pong",
    "user_joined",
    "user_left",
    "host_changed",
    "chat",
    "participant_video_state",
    "participant_audio_state",
    "participant_hand_state",
    "emoji_reaction",
    "muted_by_host",
    "unmuted_by_host",
    "participant_muted",
    "participant_unmuted",
    "mic_locked",
    "mic_unlocked",
    "participant_mic_locked",
    "participant_mic_unlocked",
    "video_requested",
    "unmute_requested",
    "removed",
    "meeting_locked",
    "screen_share_started",
    "screen_share_denied",
    "screen_share_stopped",
    "screen_frame",
    "file_offer",
    "file_request",
    "file_transfer_started",
    "file_chunk",
    "file_ack",
    "file_end",
    "file_error",
    "file_unavailable",
    // Sections 15-18, named in our handshake
    "poll_started",
    "poll_update",
    "poll_results",
    "attendance",
    "spotlight_changed",
    // Section 19: screen patches.
    "screen_patch",
    "screen_keyframe_request",
    // Sections 11-12.
    "video_layers_wanted",
    "speaking",
];

/// What one server frame turned out to be.
#[derive(Debug)]
pub enum Parsed {
    /// A message of this protocol version.
    Message(lanmeet_common::ServerMessage),
    /// A well-formed object of a type this version does not know.
    Unknown(String),
    /// Not a message at all: not JSON, not an object, no `type`, or a
    /// known type with the wrong fields.
    Broken(String),
}

/// Classifies one frame body.
pub fn parse_server_frame(body: &[u8]) -> Parsed {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Parsed::Broken(format!("frame is not JSON: {e}")),
    };
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Parsed::Broken("frame is not an object with a string \"type\"".into());
    };
    if !KNOWN_SERVER_TYPES.contains(&kind) {
        return Parsed::Unknown(kind.to_string());
    }
    let kind = kind.to_string();
    match serde_json::from_value(value) {
        Ok(m) => Parsed::Message(m),
        Err(e) => Parsed::Broken(format!("bad \"{kind}\" message: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_are_all_variants() {
        // Each known type with no fields either parses (unit variants) or
        // fails for a missing field, never for an unknown variant.
        for kind in KNOWN_SERVER_TYPES {
            let body = format!("{{\"type\":\"{kind}\"}}");
            if let Err(e) = lanmeet_common::ServerMessage::parse(body.as_bytes()) {
                assert!(!e.to_string().contains("unknown variant"), "{kind}: {e}");
            }
        }
    }

    #[test]
    fn classifies_frames() {
        assert!(matches!(
            parse_server_frame(br#"{"type":"pong"}"#),
            Parsed::Message(lanmeet_common::ServerMessage::Pong)
        ));
        assert!(matches!(
            parse_server_frame(br#"{"type":"future_thing","x":1}"#),
            Parsed::Unknown(_)
        ));
        assert!(matches!(parse_server_frame(b"\xff\x00"), Parsed::Broken(_)));
        assert!(matches!(parse_server_frame(b"[1,2]"), Parsed::Broken(_)));
        assert!(matches!(
            parse_server_frame(br#"{"type":"user_joined"}"#),
            Parsed::Broken(_)
        ));
    }
}
