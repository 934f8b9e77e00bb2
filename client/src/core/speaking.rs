//! Sections 11-12 in the client core: who the server says is speaking,
//! which of our layers it wants, and what each layer brought us.
//!
//! The server sends `speaking` (newest speaker first, `[]` when quiet) and
//! `video_layers_wanted` only to a client that named `"speaking"` /
//! `"layers"`; both become [`crate::core::Event`]s and the speaking list
//! is kept in [`crate::core::MeetingState::speaking`], where the window's
//! speaking outline reads it for everyone (ourselves included).

use serde::Serialize;

/// What one video layer brought: complete frames and datagram bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LayerCounts {
    /// Frames reassembled whole.
    pub frames: u64,
    /// Bytes of every datagram of the layer received (headers included).
    pub bytes: u64,
}

/// Which of our camera's layers the server wants (`video_layers_wanted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantedLayers {
    /// The full layer (`'V'`).
    pub full: bool,
    /// The thumbnail layer (`'T'`).
    pub thumb: bool,
}

impl WantedLayers {
    /// What a sender sends before the server says: the full layer alone.
    pub const FULL: WantedLayers = WantedLayers {
        full: true,
        thumb: false,
    };
}

/// Reads a `--subscribe` value, `default=thumb,last_n=8,c3=full`, into a
/// `video_subscribe` message. `default` is `full` unless given.
pub fn parse_subscription(text: &str) -> Result<lanmeet_common::ClientMessage, String> {
    use lanmeet_common::message::LayerChoice;
    let layer = |v: &str| match v {
        "full" => Ok(LayerChoice::Full),
        "thumb" => Ok(LayerChoice::Thumb),
        "none" => Ok(LayerChoice::None),
        other => Err(format!("a layer is full, thumb or none, not {other:?}")),
    };
    let mut default_layer = LayerChoice::Full;
    let mut last_n = None;
    let mut overrides = std::collections::BTreeMap::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not key=value"))?;
        match key {
            "default" => default_layer = layer(value)?,
            "last_n" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| format!("last_n is a number, not {value:?}"))?;
                last_n = Some(n);
            }
            id => {
                overrides.insert(id.to_string(), layer(value)?);
            }
        }
    }
    let message = lanmeet_common::ClientMessage::VideoSubscribe {
        default_layer,
        last_n,
        overrides,
    };
    message.validate().map_err(|e| e.0)?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanmeet_common::message::LayerChoice;
    use lanmeet_common::ClientMessage;

    #[test]
    fn subscriptions_parse_from_the_command_line() {
        let m = parse_subscription("default=thumb,last_n=8,c3=full").unwrap();
        let ClientMessage::VideoSubscribe {
            default_layer,
            last_n,
            overrides,
        } = m
        else {
            panic!("not a subscription");
        };
        assert_eq!(default_layer, LayerChoice::Thumb);
        assert_eq!(last_n, Some(8));
        assert_eq!(overrides.get("c3"), Some(&LayerChoice::Full));
        assert!(parse_subscription("default=big").is_err());
        assert!(parse_subscription("last_n=65").is_err());
        assert!(parse_subscription("c3").is_err());
    }
}
