//! The additions to version 1 and how a client and the server agree on
//! them (PROTOCOL.md, "Additions to version 1").
//!
//! ```text
//!  client                                         server
//!    | create_meeting{..., features:["resume"]}     |  keeps the names it knows
//!    |--------------------------------------------->|
//!    |  meeting_created{..., features:["resume"],   |  what the server implements,
//!    |                  resume_token:"5e0c..."}     |  and each named addition's fields
//!    |<---------------------------------------------|
//! ```
//!
//! A client that sends no `features` is a version 1 client and sees exactly
//! version 1: no `features` in its join reply, and no field, message or
//! datagram of any addition. One that sends `features` (even an empty list)
//! gets the server's `features` in its join reply, and the messages and
//! fields of the additions it named.
//!
//! The fields the additions add to `create_meeting`, `join_meeting` and
//! the join reply travel next to the version 1 fields but live in their own
//! types here ([`HandshakeAdditions`], [`JoinReplyAdditions`]), so the
//! version 1 types, and code written against them, stay as they are.

use serde::{Deserialize, Serialize};

use crate::limits::MAX_TITLE_CHARS;
use crate::message::{JoinReply, PollInfo};

/// One addition to version 1, by the name it has on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Section 11: video layers and subscriptions.
    Layers,
    /// Section 12: who is speaking.
    Speaking,
    /// Section 13: video loss recovery (NACK).
    Nack,
    /// Section 14: resuming after a dropped connection.
    Resume,
    /// Section 15: polls.
    Polls,
    /// Section 16: attendance.
    Attendance,
    /// Section 17: spotlight.
    Spotlight,
    /// Section 18: meeting titles, listing and discovery.
    Discovery,
    /// Section 19: screen patches.
    ScreenPatches,
}

impl Feature {
    /// Every addition this crate knows.
    pub const ALL: [Feature; 9] = [
        Feature::Layers,
        Feature::Speaking,
        Feature::Nack,
        Feature::Resume,
        Feature::Polls,
        Feature::Attendance,
        Feature::Spotlight,
        Feature::Discovery,
        Feature::ScreenPatches,
    ];

    /// The wire name, as in `"features":["resume"]`.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Layers => "layers",
            Feature::Speaking => "speaking",
            Feature::Nack => "nack",
            Feature::Resume => "resume",
            Feature::Polls => "polls",
            Feature::Attendance => "attendance",
            Feature::Spotlight => "spotlight",
            Feature::Discovery => "discovery",
            Feature::ScreenPatches => "screen_patches",
        }
    }

    /// The addition called `name`, if this crate knows it.
    pub fn from_name(name: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.name() == name)
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of additions (a client's, or the server's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureSet(u32);

impl FeatureSet {
    /// No addition: version 1.
    pub const NONE: FeatureSet = FeatureSet(0);

    /// The additions named in `names`; names this crate does not know are
    /// ignored (they belong to newer versions).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> FeatureSet {
        names
            .iter()
            .filter_map(|n| Feature::from_name(n.as_ref()))
            .fold(FeatureSet::NONE, FeatureSet::with)
    }

    /// The set of `features`, usable in constants.
    pub const fn of(features: &[Feature]) -> FeatureSet {
        let mut bits = 0;
        let mut i = 0;
        while i < features.len() {
            bits |= features[i].bit();
            i += 1;
        }
        FeatureSet(bits)
    }

    /// This set and `feature`.
    pub fn with(self, feature: Feature) -> FeatureSet {
        FeatureSet(self.0 | feature.bit())
    }

    /// Whether `feature` is in the set.
    pub fn contains(self, feature: Feature) -> bool {
        self.0 & feature.bit() != 0
    }

    /// The wire names, in [`Feature::ALL`] order.
    pub fn names(self) -> Vec<String> {
        Feature::ALL
            .into_iter()
            .filter(|f| self.contains(*f))
            .map(|f| f.name().to_string())
            .collect()
    }
}

/// The additions this server implements, named in every join reply to a
/// client that sent `features`.
pub const SERVER_FEATURES: FeatureSet = FeatureSet::of(&[
    // One line per addition, in section order.
    Feature::Layers,
    Feature::Speaking,
    Feature::Nack,
    Feature::Resume,
    Feature::Polls,
    Feature::Attendance,
    Feature::Spotlight,
    Feature::Discovery,
    Feature::ScreenPatches,
]);

/// What the additions add to `create_meeting` and `join_meeting`:
/// `{"type":"join_meeting", ..., "features":["resume"]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HandshakeAdditions {
    /// The additions the client understands; absent for a version 1 client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Section 18, `create_meeting` only: the meeting's title, 1..80
    /// characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Section 18, `create_meeting` only: whether discovery answers list
    /// the meeting (absent: not listed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub listed: bool,
}

impl HandshakeAdditions {
    /// Reads the additions' fields from a handshake frame body (the version
    /// 1 fields are read by [`crate::message::ClientMessage::parse`]).
    pub fn parse(body: &[u8]) -> Result<HandshakeAdditions, crate::message::BadRequest> {
        let additions: HandshakeAdditions = serde_json::from_slice(body).map_err(|_| {
            crate::message::BadRequest(
                "features must be a list of strings, title a string, listed a boolean".to_string(),
            )
        })?;
        if let Some(title) = &additions.title {
            let count = title.chars().take(MAX_TITLE_CHARS + 1).count();
            if count == 0 || count > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
                return Err(crate::message::BadRequest(format!(
                    "title must be 1..={MAX_TITLE_CHARS} characters, no control characters"
                )));
            }
        }
        Ok(additions)
    }
}

/// What the additions add to `meeting_created` and `join_success`. Each
/// field is sent only to a client it concerns (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JoinReplyAdditions {
    /// The additions the server implements; only to a client that sent
    /// `features`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Section 14: 32 hex digits that let this participant take its place
    /// back on a new connection; only to a client that named `"resume"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<String>,
    /// Section 14: true in the reply to a `resume_meeting` (absent
    /// otherwise).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    /// Section 18: the meeting's title, or null; only to a client that
    /// named `"discovery"` (the outer `None`: not sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Option<String>>,
    /// Section 15: the open poll, or null; only to a client that named
    /// `"polls"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<Option<PollInfo>>,
    /// Section 17: who is in the spotlight, or null; only to a client that
    /// named `"spotlight"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spotlight: Option<Option<String>>,
}

impl JoinReplyAdditions {
    /// Reads the additions' fields from a join reply body (client side; the
    /// version 1 fields are read by [`crate::message::ServerMessage::parse`]).
    pub fn parse(body: &[u8]) -> Result<JoinReplyAdditions, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

/// Which join reply: after `create_meeting`, or after a join or a resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinReplyKind {
    /// `meeting_created`.
    MeetingCreated,
    /// `join_success`.
    JoinSuccess,
}

/// A join reply as the server sends it: `type`, the version 1 fields, then
/// the additions' fields.
#[derive(Debug, Serialize)]
pub struct JoinReplyMessage<'a> {
    /// `meeting_created` or `join_success`.
    #[serde(rename = "type")]
    pub kind: JoinReplyKind,
    /// The version 1 fields.
    #[serde(flatten)]
    pub reply: &'a JoinReply,
    /// The additions' fields for this client.
    #[serde(flatten)]
    pub additions: &'a JoinReplyAdditions,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ServerMessage;

    #[test]
    fn names_round_trip_and_unknown_ones_are_ignored() {
        let set = FeatureSet::from_names(&["teleport", "resume", "polls", "resume"]);
        assert!(set.contains(Feature::Resume));
        assert_eq!(set.names(), ["resume", "polls"]);
        assert_eq!(FeatureSet::from_names::<&str>(&[]), FeatureSet::NONE);
        for feature in Feature::ALL {
            assert_eq!(Feature::from_name(feature.name()), Some(feature));
        }
        assert!(SERVER_FEATURES.contains(Feature::Resume));
    }

    #[test]
    fn handshake_additions_are_optional_and_typed() {
        let v1 = br#"{"type":"create_meeting","version":1,"username":"A"}"#;
        assert_eq!(HandshakeAdditions::parse(v1).unwrap().features, None);
        let named =
            br#"{"type":"create_meeting","version":1,"username":"A","features":["resume"]}"#;
        assert_eq!(
            HandshakeAdditions::parse(named).unwrap().features,
            Some(vec!["resume".to_string()])
        );
        for bad in [
            &br#"{"type":"create_meeting","features":"resume"}"#[..],
            br#"{"type":"create_meeting","features":[1]}"#,
            br#"{"type":"create_meeting","title":""}"#,
            br#"{"type":"create_meeting","title":"a\nb"}"#,
            br#"{"type":"create_meeting","listed":"yes"}"#,
        ] {
            assert!(HandshakeAdditions::parse(bad).is_err());
        }
    }

    #[test]
    fn title_and_listed_read_back() {
        let body = br#"{"type":"create_meeting","title":"CS101 lab","listed":true}"#;
        let a = HandshakeAdditions::parse(body).unwrap();
        assert_eq!(a.title.as_deref(), Some("CS101 lab"));
        assert!(a.listed);
        let long = format!(r#"{{"title":"{}"}}"#, "x".repeat(81));
        assert!(HandshakeAdditions::parse(long.as_bytes()).is_err());
    }

    #[test]
    fn a_null_title_is_sent_as_null_and_an_absent_one_not_at_all() {
        let sent = JoinReplyAdditions {
            title: Some(None),
            spotlight: Some(Some("c3".into())),
            ..JoinReplyAdditions::default()
        };
        let v = serde_json::to_value(&sent).unwrap();
        assert_eq!(v["title"], serde_json::Value::Null);
        assert!(v.as_object().unwrap().contains_key("title"));
        assert!(!v.as_object().unwrap().contains_key("poll"));
        assert_eq!(v["spotlight"], "c3");
    }

    #[test]
    fn a_join_reply_carries_only_the_additions_given() {
        let reply = JoinReply {
            meeting_code: "K7Q2XZ".into(),
            client_id: "c1".into(),
            is_host: true,
            udp_port: 5002,
            udp_token: "0".repeat(32),
            max_datagram: 1400,
            participants: vec![],
            presenter: None,
            locked: false,
            chat_history: vec![],
            files: vec![],
        };
        let v1 = serde_json::to_value(JoinReplyMessage {
            kind: JoinReplyKind::MeetingCreated,
            reply: &reply,
            additions: &JoinReplyAdditions::default(),
        })
        .unwrap();
        assert_eq!(
            v1,
            serde_json::to_value(ServerMessage::MeetingCreated(reply.clone())).unwrap(),
            "no additions: exactly the version 1 reply"
        );
        let additions = JoinReplyAdditions {
            features: Some(vec!["resume".into()]),
            resume_token: Some("5e".repeat(16)),
            resumed: true,
            ..JoinReplyAdditions::default()
        };
        let body = serde_json::to_vec(&JoinReplyMessage {
            kind: JoinReplyKind::JoinSuccess,
            reply: &reply,
            additions: &additions,
        })
        .unwrap();
        // A version 1 reader sees its fields; the additions read back.
        assert!(matches!(
            ServerMessage::parse(&body).unwrap(),
            ServerMessage::JoinSuccess(r) if r == reply
        ));
        assert_eq!(JoinReplyAdditions::parse(&body).unwrap(), additions);
    }
}
