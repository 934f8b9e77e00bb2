//! UDP media: binding addresses by token, relaying video, mixing audio.
//!
//! A datagram may only speak for the client whose address a valid hello
//! bound; anything else is counted and dropped. Video fragments are relayed
//! byte for byte to every other participant with a bound address (the
//! server never decodes video). Audio is queued per source and mixed on a
//! 10 ms timer:
//!
//! ```text
//!  every 10 ms, per meeting:
//!    for each unmuted source s with a queued frame:  own[s] = pop(s)
//!    total = sum of own[s]                        (i32, one pass: O(N))
//!    for each bound recipient r, unless only r spoke:
//!        send r  clamp(total - own[r])            (one pass: O(N))
//! ```
//!
//! Mixing on the timer rather than on every packet keeps the output at 100
//! frames a second per listener, whatever the number of speakers.

use std::net::SocketAddr;

use lanmeet_common::audio::{self, FRAME_SAMPLES};
use lanmeet_common::udp::{self, Kind};
use lanmeet_common::video::FragmentHeader;

use super::meeting::AUDIO_QUEUE_LEN;
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
            Kind::Video => self.on_video(from, d.client_id, d.body),
            Kind::Audio => self.on_audio(from, d.client_id, d.body),
        };
        match result {
            Ok(sent) => self.media_stats.datagrams_out += sent,
            Err(Refused::Dropped) => self.media_stats.dropped += 1,
            Err(Refused::Malformed) => self.media_stats.malformed += 1,
        }
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
        }
        self.out.datagram(from, HELLO_REPLY);
        Ok(1)
    }

    /// Relays a video fragment, unchanged, to every other participant with
    /// a bound address: one output for all the copies.
    fn on_video(&mut self, from: SocketAddr, client_id: &str, body: &[u8]) -> Result<u64, Refused> {
        FragmentHeader::parse(body).map_err(|_| Refused::Malformed)?;
        let code = self.clients.get(client_id).ok_or(Refused::Dropped)?;
        let meeting = self.meetings.get(code).ok_or(Refused::Dropped)?;
        let sender = meeting.participant(client_id).ok_or(Refused::Dropped)?;
        if sender.udp_addr != Some(from) {
            return Err(Refused::Dropped);
        }
        let others = meeting
            .participants
            .iter()
            .filter(|p| p.client_id != client_id)
            .filter_map(|p| p.udp_addr);
        Ok(self.out.relay(others))
    }

    fn on_audio(&mut self, from: SocketAddr, client_id: &str, body: &[u8]) -> Result<u64, Refused> {
        let (_seq, pcm) = audio::parse_body(body).map_err(|_| Refused::Malformed)?;
        let code = self.clients.get(client_id).ok_or(Refused::Dropped)?;
        let meeting = self.meetings.get_mut(code).ok_or(Refused::Dropped)?;
        let p = meeting.participant_mut(client_id).ok_or(Refused::Dropped)?;
        if p.udp_addr != Some(from) || p.muted {
            return Err(Refused::Dropped);
        }
        if p.audio_queue.len() == AUDIO_QUEUE_LEN {
            p.audio_queue.pop_front();
        }
        let mut frame = [0i16; FRAME_SAMPLES];
        audio::decode_pcm(pcm, &mut frame);
        p.audio_queue.push_back(frame);
        Ok(0)
    }

    /// One 10 ms mixer tick over every meeting.
    pub(super) fn mix_tick(&mut self) {
        self.media_stats.mix_ticks += 1;
        let mixer = &mut self.mixer;
        let stats = &mut self.media_stats;
        let out = &mut self.out;
        for meeting in self.meetings.values_mut() {
            // Pass 1: take one frame from each unmuted source and sum them.
            let mut speakers = 0usize;
            let mut last_speaker = 0usize;
            mixer.total.fill(0);
            for (i, p) in meeting.participants.iter_mut().enumerate() {
                p.mixing = None;
                if p.muted {
                    continue;
                }
                if let Some(frame) = p.audio_queue.pop_front() {
                    for (t, &s) in mixer.total.iter_mut().zip(frame.iter()) {
                        *t += i32::from(s);
                    }
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
                out.datagram(addr, &mixer.datagram);
            }
        }
    }
}

/// Why a datagram was refused, for the counters.
enum Refused {
    Dropped,
    Malformed,
}
