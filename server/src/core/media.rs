//! UDP media: binding addresses by token, relaying video, mixing audio.
//!
//! A datagram may only speak for the client whose address a valid hello
//! bound; anything else is counted and dropped. Video fragments are relayed
//! byte for byte to every other participant with a bound address (the
//! server never decodes video). Audio waits in a small jitter buffer per
//! source (`jitter.rs`) and is mixed on a 10 ms timer:
//!
//! ```text
//!  every 10 ms, per meeting:
//!    for each unmuted source s:  own[s] = its next frame, if it has one
//!    total = sum of own[s]                        (i32, one pass: O(N))
//!    for each bound recipient r, unless only r spoke:
//!        send r  clamp(total - own[r])            (one pass: O(N))
//! ```
//!
//! Mixing on the timer rather than on every packet keeps the output at 100
//! frames a second per listener, whatever the number of speakers; the
//! spare frame each speaking source keeps in hand keeps it there when
//! frames arrive a little late.
//!
//! Section 13: while someone in a meeting named `"nack"`, each relayed
//! fragment is also kept for 500 ms, and `'N'` requests are answered from
//! there (`nack.rs`).

use std::net::SocketAddr;

use lanmeet_common::audio::{self, FRAME_SAMPLES};
use lanmeet_common::features::Feature;
use lanmeet_common::nack::{Layer, Nack};
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video::FragmentHeader;

use super::fasthash::IssuedMap;
use super::layers::named;
use super::nack::named_nack;
use super::Core;

/// The server's answer to a valid hello: `'I'`, empty id, body `ok`.
pub const HELLO_REPLY: &[u8] = &[b'I', 0, 0, b'o', b'k'];

/// UDP counters since the server started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MediaStats {
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent (relayed video, mixed audio, hello replies).
    pub datagrams_out: u64,
    /// Well-formed datagrams refused: unknown token, unbound or spoofed
    /// address, over the size limit, audio from a muted source.
    pub dropped: u64,
    /// Datagrams that do not parse.
    pub malformed: u64,
    /// Datagrams the socket would not take (send buffer full).
    pub send_failed: u64,
    /// Mixer ticks run.
    pub mix_ticks: u64,
    /// Mixed frames sent (to all listeners).
    pub mixes_sent: u64,
    /// Audio frames that reached the mixer's queues.
    pub audio_frames_in: u64,
    /// Ticks where a speaking source had no frame (late or lost on the
    /// way): it was left out of that tick's mix.
    pub audio_underruns: u64,
    /// Audio frames dropped unmixed: a burst over the queue's bound, or
    /// spare frames dropped to take the delay back down.
    pub audio_dropped: u64,
    /// Video frames not relayed because the server was overloaded.
    pub video_frames_shed: u64,
    /// Section 13: video fragments re-sent on a receiver's request.
    pub nack_resent: u64,
    /// Section 13: requests passed on to a sender for fragments the server
    /// never received.
    pub nack_asked_sender: u64,
    /// Section 13: requests about a sender, layer or frame not held
    /// (also counted in `dropped`).
    pub nack_unknown: u64,
}

/// Which video frames are relayed while the server is overloaded: a
/// frame's fate is decided at its first fragment seen, so frames are
/// shed whole and a frame begun is finished (see `crate::turn`).
#[derive(Default)]
pub(super) struct Shedding {
    /// Whether new frames are shed now.
    on: bool,
    /// Per sender (only senders already checked): its newest frame and
    /// whether it is relayed.
    frames: IssuedMap<String, (u32, bool)>,
}

impl Shedding {
    /// Whether to relay a fragment of `sender`'s frame `frame_seq`; counts
    /// a frame shed in `stats`.
    fn admit(&mut self, sender: &str, frame_seq: u32, stats: &mut MediaStats) -> bool {
        let on = self.on;
        let entry = match self.frames.get_mut(sender) {
            Some(e) => e,
            None => self
                .frames
                .entry(sender.to_string())
                .or_insert((frame_seq.wrapping_sub(1), true)),
        };
        if entry.0 == frame_seq {
            return entry.1;
        }
        if frame_seq.wrapping_sub(entry.0) >= 1 << 31 {
            return !on; // a late fragment of an older frame
        }
        *entry = (frame_seq, !on);
        stats.video_frames_shed += u64::from(on);
        !on
    }

    /// Forgets a sender (it left).
    pub(super) fn forget(&mut self, sender: &str) {
        self.frames.remove(sender);
    }
}

/// Buffers the mixer reuses every tick, so a tick allocates nothing.
pub(super) struct Mixer {
    total: [i32; FRAME_SAMPLES],
    datagram: [u8; udp::FIXED_HEADER_LEN + audio::BODY_LEN],
}

impl Mixer {
    pub(super) fn new() -> Mixer {
        Mixer {
            total: [0; FRAME_SAMPLES],
            datagram: [0; udp::FIXED_HEADER_LEN + audio::BODY_LEN],
        }
    }
}

impl Core {
    /// A datagram arrived from `from`: a hello is answered, video relayed
    /// and audio queued for the mixer, as datagram outputs.
    pub fn on_datagram(&mut self, from: SocketAddr, data: &[u8]) {
        self.media_stats.datagrams_in += 1;
        if data.len() > self.config.max_datagram {
            self.media_stats.dropped += 1;
            return;
        }
        if data.first() == Some(&lanmeet_common::discovery::KIND) {
            return self.on_discovery(from, data); // section 18
        }
        let Ok(d) = udp::parse(data) else {
            self.media_stats.malformed += 1;
            return;
        };
        let result = match d.kind {
            Kind::Hello => self.on_hello(from, d.client_id, d.body),
            Kind::Video => self.on_video(from, d.client_id, d.body, data, Layer::Full),
            Kind::Thumb => self.on_video(from, d.client_id, d.body, data, Layer::Thumb),
            Kind::Audio => self.on_audio(from, d.client_id, d.body),
            Kind::Nack => self.on_nack(from, d.client_id, d.body),
        };
        match result {
            Ok(sent) => self.media_stats.datagrams_out += sent,
            Err(Refused::Dropped) => self.media_stats.dropped += 1,
            Err(Refused::Malformed) => self.media_stats.malformed += 1,
            Err(Refused::Unknown) => {
                self.media_stats.dropped += 1;
                self.media_stats.nack_unknown += 1;
            }
        }
    }

    /// The loop is (or no longer is) overloaded: while it is, new video
    /// frames are not relayed (whole frames; audio and the mixer go on).
    /// (It changes often under overload: `video_frames_shed` in the
    /// counters says how much was shed.)
    pub fn set_video_shedding(&mut self, on: bool) {
        self.shedding.on = on;
    }

    /// Counts a datagram the socket would not send.
    pub fn count_send_failure(&mut self) {
        self.media_stats.send_failed += 1;
        self.media_stats.datagrams_out = self.media_stats.datagrams_out.saturating_sub(1);
    }

    /// Binds the sender's address; returns the datagrams sent.
    fn on_hello(
        &mut self,
        from: SocketAddr,
        claimed_id: &str,
        body: &[u8],
    ) -> Result<u64, Refused> {
        let token = std::str::from_utf8(body).map_err(|_| Refused::Dropped)?;
        let owner = self.tokens.get(token).ok_or(Refused::Dropped)?;
        if !claimed_id.is_empty() && claimed_id != owner {
            return Err(Refused::Dropped);
        }
        let code = self.clients.get(owner).ok_or(Refused::Dropped)?;
        let meeting = self.meetings.get_mut(code).ok_or(Refused::Dropped)?;
        let p = meeting.participant_mut(owner).ok_or(Refused::Dropped)?;
        if p.udp_addr != Some(from) {
            self.out
                .log(format!("udp: {} bound to {from}", p.client_id));
            p.udp_addr = Some(from);
            let code = code.clone();
            self.sync_media_additions(&code);
        }
        self.out.datagram(from, HELLO_REPLY);
        Ok(1)
    }

    /// Relays a video fragment of `layer`, unchanged, to every other
    /// participant with a bound address that gets that layer of this sender
    /// now (`layers.rs`; everyone's full layer without subscriptions): one
    /// output for all the copies. Keeps a copy of the whole `datagram` when
    /// another participant could ask for it again.
    fn on_video(
        &mut self,
        from: SocketAddr,
        client_id: &str,
        body: &[u8],
        datagram: &[u8],
        layer: Layer,
    ) -> Result<u64, Refused> {
        let (header, _) = FragmentHeader::parse(body).map_err(|_| Refused::Malformed)?;
        let code = self.clients.get(client_id).ok_or(Refused::Dropped)?;
        let meeting = self.meetings.get(code).ok_or(Refused::Dropped)?;
        let sender = meeting.participant(client_id).ok_or(Refused::Dropped)?;
        if sender.udp_addr != Some(from) {
            return Err(Refused::Dropped);
        }
        if layer == Layer::Thumb && !named(sender, Feature::Layers) {
            return Err(Refused::Malformed); // 'T' is not a kind of section 9
        }
        let shedding = match layer {
            Layer::Full => &mut self.shedding,
            Layer::Thumb => &mut self.thumb_shedding,
        };
        if !shedding.admit(client_id, header.frame_seq, &mut self.media_stats) {
            return Ok(0);
        }
        let (sent, someone_may_ask) = self.layers.relay(
            code,
            client_id,
            layer,
            header,
            &self.speaking,
            self.now,
            &mut self.out,
        );
        if someone_may_ask {
            self.nack.keep(client_id, layer, header, datagram, self.now);
        }
        Ok(sent)
    }

    /// Section 13: a receiver asks for fragments again. Held ones go back
    /// to it; ones never received are asked of the sender.
    fn on_nack(&mut self, from: SocketAddr, client_id: &str, body: &[u8]) -> Result<u64, Refused> {
        let nack = Nack::parse(body).map_err(|_| Refused::Malformed)?;
        let code = self.clients.get(client_id).ok_or(Refused::Dropped)?;
        let meeting = self.meetings.get(code).ok_or(Refused::Dropped)?;
        let receiver = meeting.participant(client_id).ok_or(Refused::Dropped)?;
        if receiver.udp_addr != Some(from) || !named_nack(receiver) {
            return Err(Refused::Dropped);
        }
        let sender = meeting
            .participant(nack.sender)
            .filter(|s| s.client_id != client_id)
            .ok_or(Refused::Unknown)?;
        // Only a sender that named "nack" is ever sent an 'N'.
        let sender_addr = sender.udp_addr.filter(|_| named_nack(sender));
        let answer = self
            .nack
            .answer(
                &nack,
                receiver.conn,
                from,
                sender_addr,
                self.now,
                &mut self.out,
            )
            .ok_or(Refused::Unknown)?;
        self.media_stats.nack_resent += answer.resent;
        self.media_stats.nack_asked_sender += u64::from(answer.asked_sender);
        Ok(answer.resent + u64::from(answer.asked_sender))
    }

    fn on_audio(&mut self, from: SocketAddr, client_id: &str, body: &[u8]) -> Result<u64, Refused> {
        let (_seq, pcm) = audio::parse_body(body).map_err(|_| Refused::Malformed)?;
        let code = self.clients.get(client_id).ok_or(Refused::Dropped)?;
        let meeting = self.meetings.get_mut(code).ok_or(Refused::Dropped)?;
        let p = meeting.participant_mut(client_id).ok_or(Refused::Dropped)?;
        if p.udp_addr != Some(from) || p.muted {
            return Err(Refused::Dropped);
        }
        let mut frame = [0i16; FRAME_SAMPLES];
        audio::decode_pcm(pcm, &mut frame);
        p.audio_queue.push(frame);
        self.media_stats.audio_frames_in += 1;
        Ok(0)
    }

    /// One 10 ms mixer tick over every meeting.
    pub(super) fn mix_tick(&mut self) {
        self.media_stats.mix_ticks += 1;
        let mixer = &mut self.mixer;
        let stats = &mut self.media_stats;
        let out = &mut self.out;
        let (speaking, now) = (&mut self.speaking, self.now);
        for (code, meeting) in self.meetings.iter_mut() {
            // Pass 1: take one frame from each unmuted source that has one
            // ready, and sum them.
            let mut speakers = 0usize;
            let mut last_speaker = 0usize;
            mixer.total.fill(0);
            for (i, p) in meeting.participants.iter_mut().enumerate() {
                p.mixing = None;
                if p.muted {
                    continue;
                }
                let taken = p.audio_queue.take();
                let counts = p.audio_queue.take_counts();
                stats.audio_underruns += counts.underruns;
                stats.audio_dropped += counts.overflow + counts.shrunk;
                if let Some(frame) = taken {
                    for (t, &s) in mixer.total.iter_mut().zip(frame.iter()) {
                        *t += i32::from(s);
                    }
                    speaking.mixed(code, &p.client_id, &frame, now); // section 12
                    p.mixing = Some(frame);
                    speakers += 1;
                    last_speaker = i;
                }
            }
            if speakers == 0 {
                continue;
            }
            // Pass 2: everyone hears the total minus their own voice.
            let header = udp::FIXED_HEADER_LEN;
            mixer.datagram[..header].copy_from_slice(&[Kind::Audio.byte(), 0, 0]);
            for (i, p) in meeting.participants.iter_mut().enumerate() {
                let Some(addr) = p.udp_addr else { continue };
                if speakers == 1 && i == last_speaker {
                    continue; // nobody but p spoke
                }
                let body = &mut mixer.datagram[header..];
                body[..audio::SEQ_LEN].copy_from_slice(&p.mix_seq.to_be_bytes());
                let pcm = &mut body[audio::SEQ_LEN..];
                for (k, (bytes, &t)) in pcm.chunks_exact_mut(2).zip(mixer.total.iter()).enumerate()
                {
                    let own = p.mixing.as_ref().map_or(0, |f| i32::from(f[k]));
                    let v = (t - own).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                    bytes.copy_from_slice(&v.to_le_bytes());
                }
                p.mix_seq = p.mix_seq.wrapping_add(1);
                stats.datagrams_out += 1;
                stats.mixes_sent += 1;
                out.datagram(addr, &mixer.datagram);
            }
        }
    }
}

/// Why a datagram was refused, for the counters.
enum Refused {
    Dropped,
    Malformed,
    /// A NACK about a sender, layer or frame the server does not hold.
    Unknown,
}
