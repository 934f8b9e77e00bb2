//! Discovery answers on the UDP media port (PROTOCOL.md section 18): a
//! `'D'` probe gets the server's name, ports and listed meetings.
//!
//! ```text
//!  'D' probe from addr --> body under 256 bytes, or not "lanmeet?"  -> dropped (counted)
//!                      --> 5 answers to addr's IP in the last second -> dropped (counted)
//!                      --> answer: 'D' {"name",..,"meetings":[newest first, as many as fit]}
//! ```
//!
//! The limit is per source IP, not per port: a forger aiming answers at
//! one victim can change ports freely but not the victim's address. The
//! table of sources is bounded; when it is full of sources answered in
//! the last second, further probes from new sources go unanswered.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use lanmeet_common::discovery::{self, DiscoveryReply, ListedMeeting};
use lanmeet_common::limits::{DISCOVERY_ANSWERS_PER_SEC, PROTOCOL_VERSION};

use super::Core;

/// Answers per source in any one second.
const ANSWERS: usize = DISCOVERY_ANSWERS_PER_SEC as usize;

/// Sources remembered at once.
const MAX_SOURCES: usize = 4096;

/// When each source was last answered, to hold it to 5 answers a second.
#[derive(Default)]
pub(super) struct DiscoveryLimit {
    /// Per source IP, the times of its last answers (a ring, oldest at
    /// `next`).
    answered: HashMap<IpAddr, Recent>,
}

struct Recent {
    times: [Option<Instant>; ANSWERS],
    next: usize,
}

impl DiscoveryLimit {
    /// Whether `ip` may have an answer at `now`; if so, counts it.
    fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        let second = Duration::from_secs(1);
        if !self.answered.contains_key(&ip) && self.answered.len() >= MAX_SOURCES {
            self.answered.retain(|_, r| {
                r.times
                    .iter()
                    .flatten()
                    .any(|&t| now.saturating_duration_since(t) < second)
            });
            if self.answered.len() >= MAX_SOURCES {
                return false;
            }
        }
        let recent = self.answered.entry(ip).or_insert(Recent {
            times: [None; ANSWERS],
            next: 0,
        });
        // The slot to reuse holds the oldest of the last five answers.
        if let Some(oldest) = recent.times[recent.next] {
            if now.saturating_duration_since(oldest) < second {
                return false;
            }
        }
        recent.times[recent.next] = Some(now);
        recent.next = (recent.next + 1) % ANSWERS;
        true
    }
}

impl Core {
    /// A `'D'` datagram from `from`: answered when it is a whole probe and
    /// `from` is within its rate.
    pub(super) fn on_discovery(&mut self, from: SocketAddr, data: &[u8]) {
        if !discovery::is_probe(data) {
            self.media_stats.malformed += 1;
            return;
        }
        if !self.discovery.allow(from.ip(), self.now) {
            self.media_stats.dropped += 1;
            return;
        }
        let mut listed: Vec<(u64, ListedMeeting)> = self
            .meetings
            .iter()
            .filter(|(_, m)| m.listed)
            .map(|(code, m)| {
                let meeting = ListedMeeting {
                    meeting_code: code.clone(),
                    title: m.title.clone(),
                    participants: m.participants.len() as u32,
                    password: m.password.is_some(),
                    locked: m.locked,
                };
                (m.serial, meeting)
            })
            .collect();
        // Newest first: when not all fit, the ones left out are the oldest.
        listed.sort_by_key(|(serial, _)| std::cmp::Reverse(*serial));
        let reply = DiscoveryReply {
            name: self.config.server_name.clone(),
            version: PROTOCOL_VERSION,
            tcp_port: self.config.tcp_port,
            udp_port: self.config.udp_port,
            meetings: listed.into_iter().map(|(_, m)| m).collect(),
        };
        match discovery::build_reply(&reply, self.config.max_datagram) {
            Some(bytes) => {
                self.out.datagram(from, &bytes);
                self.media_stats.datagrams_out += 1;
            }
            None => self.media_stats.dropped += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_answers_a_second_per_source_ip() {
        let mut limit = DiscoveryLimit::default();
        let t0 = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..5 {
            assert!(limit.allow(a, t0));
        }
        assert!(!limit.allow(a, t0 + Duration::from_millis(900)));
        assert!(limit.allow(b, t0), "another source has its own allowance");
        let t1 = t0 + Duration::from_secs(1);
        for _ in 0..5 {
            assert!(limit.allow(a, t1), "a second later, five more");
        }
        assert!(!limit.allow(a, t1));
    }
}
