//! A brokered file transfer through the server, at full speed.
//!
//! The sender keeps at most 1 MiB unacknowledged; the downloader decodes
//! each chunk, hashes it with SHA-256 and acks every 256 KiB, and checks the
//! hash at the end, as a real client does (it does not write to disk, so
//! the figure is the network path's, not the disk's). The content is one
//! 64 KiB pseudo-random block repeated, so the sender spends nothing on
//! producing it; the server and the downloader cannot tell.

use std::thread;
use std::time::{Duration, Instant};

use lanmeet_common::base64;
use lanmeet_common::limits::{FILE_ACK_INTERVAL, FILE_WINDOW, MAX_FILE_CHUNK};
use lanmeet_common::message::{ClientMessage, ServerMessage};
use lanmeet_common::sha256::Sha256;

use crate::peer::Peer;
use crate::procstat;
use crate::server::ServerProcess;

/// What the transfer measured.
pub struct Report {
    pub bytes: u64,
    pub elapsed: Duration,
    pub verified: bool,
    pub server_cpu: f64,
    pub generator_cpu: f64,
}

impl Report {
    /// Megabytes (10^6) per second.
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
}

/// Transfers `bytes` from one participant to another.
pub fn run(server_bin: &std::path::Path, bytes: u64) -> Result<Report, String> {
    let server = ServerProcess::start(server_bin, &[])?;
    let err = |e: std::io::Error| e.to_string();
    let mut sender = Peer::create(server.tcp, server.udp, "sender").map_err(err)?;
    let mut downloader =
        Peer::join(server.tcp, server.udp, "downloader", &sender.code).map_err(err)?;

    let block: Vec<u8> = (0..MAX_FILE_CHUNK as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut hasher = Sha256::new();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        hasher.update(&block[..n]);
        left -= n as u64;
    }
    let sha256 = hasher.finish_hex();
    let offer = ClientMessage::FileOffer {
        file_id: "bench".into(),
        filename: "bench.bin".into(),
        filesize: bytes,
        sha256: sha256.clone(),
    };
    sender.send(&offer).map_err(err)?;
    let request = ClientMessage::FileRequest {
        sender_id: sender.client_id.clone(),
        file_id: "bench".into(),
    };
    downloader.send(&request).map_err(err)?;
    let transfer_id = loop {
        match sender.recv(Duration::from_secs(5)).map_err(err)? {
            Some(ServerMessage::FileRequest { transfer_id, .. }) => break transfer_id,
            Some(_) => {}
            None => return Err("no file_request reached the sender".into()),
        }
    };

    let cpu_before = (server.cpu(), procstat::cpu_time("self").unwrap_or_default());
    let start = Instant::now();
    let encoded = base64::encode(&block);
    let tid = transfer_id.clone();
    let upload = thread::spawn(move || -> Result<(), String> {
        let mut offset = 0u64;
        let mut acked = 0u64;
        while offset < bytes {
            let n = (bytes - offset).min(MAX_FILE_CHUNK as u64);
            // The server refuses a chunk ending more than a window past
            // the last ack.
            while offset + n - acked > FILE_WINDOW {
                match sender
                    .recv(Duration::from_secs(10))
                    .map_err(|e| e.to_string())?
                {
                    Some(ServerMessage::FileAck { offset: a, .. }) => acked = acked.max(a),
                    Some(_) => {}
                    None => return Err("no ack for 10 s".into()),
                }
            }
            let data = if n as usize == MAX_FILE_CHUNK {
                encoded.clone()
            } else {
                base64::encode(&block[..n as usize])
            };
            sender
                .send(&ClientMessage::FileChunk {
                    transfer_id: tid.clone(),
                    offset,
                    data,
                })
                .map_err(|e| e.to_string())?;
            offset += n;
        }
        sender
            .send(&ClientMessage::FileEnd {
                transfer_id: tid,
                sha256,
            })
            .map_err(|e| e.to_string())?;
        while acked < bytes {
            match sender
                .recv(Duration::from_secs(10))
                .map_err(|e| e.to_string())?
            {
                Some(ServerMessage::FileAck { offset: a, .. }) => acked = acked.max(a),
                Some(_) => {}
                None => return Err("no final ack".into()),
            }
        }
        Ok(())
    });

    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let mut last_ack = 0u64;
    let verified = loop {
        match downloader.recv(Duration::from_secs(10)).map_err(err)? {
            Some(ServerMessage::FileChunk { offset, data, .. }) => {
                let chunk = base64::decode(&data).map_err(|e| e.to_string())?;
                if offset != received {
                    return Err(format!("chunk at {offset}, expected {received}"));
                }
                hasher.update(&chunk);
                received += chunk.len() as u64;
                if received - last_ack >= FILE_ACK_INTERVAL || received == bytes {
                    downloader
                        .send(&ClientMessage::FileAck {
                            transfer_id: transfer_id.clone(),
                            offset: received,
                        })
                        .map_err(err)?;
                    last_ack = received;
                }
            }
            Some(ServerMessage::FileEnd { sha256, .. }) => {
                break received == bytes && hasher.clone().finish_hex() == sha256;
            }
            Some(_) => {}
            None => return Err(format!("stalled at {received} bytes")),
        }
    };
    upload
        .join()
        .map_err(|_| "upload thread panicked".to_string())??;
    let elapsed = start.elapsed();
    let cpu_after = (server.cpu(), procstat::cpu_time("self").unwrap_or_default());
    Ok(Report {
        bytes,
        elapsed,
        verified,
        server_cpu: procstat::core_fraction(cpu_before.0, cpu_after.0, elapsed),
        generator_cpu: procstat::core_fraction(cpu_before.1, cpu_after.1, elapsed),
    })
}
