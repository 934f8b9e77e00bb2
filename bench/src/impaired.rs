//! The `impaired` scenario: a pure tone through a real server and a lossy
//! link (`relay.rs`), heard by the headless client and recorded as it
//! would be played (`--record-audio`), then checked for clicks, silence
//! and gaps (`tone_quality.rs`).
//!
//! ```text
//!  talker: lanmeet-client --create --audio tone:440 --> server --> relay (loss, jitter)
//!      --> listener: lanmeet-client --join CODE --record-audio heard.wav
//! ```
//!
//! Both ends are the real client binary, found next to the server binary
//! (`target/release/lanmeet-client`); `make bench` builds only the server
//! and the bench, so build the client first
//! (`cargo build --release -p lanmeet-client`) or the scenario says it was
//! skipped.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::KillOnDrop;
use crate::relay::{Impairment, Relay, RELAY_IP};
use crate::server::ServerProcess;
use crate::tone_quality::{analyse, ToneQuality};

const TONE_HZ: f64 = 440.0;
/// Seconds of tone recorded per link.
const SECONDS: f64 = 10.0;
/// Seconds cut from the start of a recording (joining, the buffer filling).
const SKIP_SECONDS: f64 = 1.0;

/// The Markdown section.
pub fn section(server_bin: &Path) -> Result<String, String> {
    let client_bin = server_bin.with_file_name("lanmeet-client");
    let mut s = String::from("\n## Audio through a lossy link (impaired)\n\n");
    if !client_bin.exists() {
        let _ = writeln!(
            s,
            "Skipped: no client at {} (`cargo build --release -p lanmeet-client`).",
            client_bin.display()
        );
        return Ok(s);
    }
    let jitter = Duration::from_millis(20);
    let links = [
        (
            "2% random loss + 20 ms jitter",
            Impairment::random_loss(0.02).with_jitter(jitter),
        ),
        (
            "2% loss in bursts (mean 3 frames)",
            Impairment::bursty_loss(0.02, 3.0),
        ),
    ];
    let _ = writeln!(
        s,
        "A {TONE_HZ} Hz tone from one headless client to another through the server, the \
         server-to-listener datagrams through `bench/src/relay.rs` (seed 42), {SECONDS} s \
         recorded with `--record-audio`. Clicks: sample steps over 2.5 times the tone's \
         steepest; silence: 1 ms windows under a tenth of its level; gap: 1 ms windows \
         under half its level in a row. Targets: clicks <= 1/s, silence 0, longest gap \
         <= 60 ms.\n"
    );
    let _ = writeln!(
        s,
        "| link | lost | clicks/s | silent ms/s | longest gap ms |\n|---|---|---|---|---|"
    );
    for (name, link) in links {
        let (q, lost) = run(server_bin, &client_bin, link)?;
        let _ = writeln!(
            s,
            "| {name} | {:.1}% | {:.2} | {:.1} | {} |",
            lost * 100.0,
            q.clicks_per_s(),
            q.silent_ms_per_s(),
            q.longest_gap_ms
        );
    }
    Ok(s)
}

/// One link: the tone's quality and the share of datagrams dropped.
fn run(
    server_bin: &Path,
    client_bin: &Path,
    link: Impairment,
) -> Result<(ToneQuality, f64), String> {
    let server = ServerProcess::start(server_bin, &[])?;
    let relay = Relay::start(server.tcp, server.udp, Impairment::NONE, link, 42)
        .map_err(|e| format!("relay: {e}"))?;
    let dir = std::env::temp_dir().join(format!("lanmeet-bench-impaired-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let wav = dir.join("heard.wav");
    let total = SKIP_SECONDS + SECONDS + 2.0;

    let mut talker = KillOnDrop(
        client(client_bin, &dir, "Tone")
            .args(["--host", &server.tcp.ip().to_string()])
            .args(["--port", &server.tcp.port().to_string()])
            .args(["--create", "--audio", &format!("tone:{TONE_HZ}")])
            .args(["--seconds", &format!("{}", total + 1.0)])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", client_bin.display()))?,
    );
    let code = meeting_code(&mut talker.0)?;
    let mut listener = KillOnDrop(
        client(client_bin, &dir, "Ear")
            .args(["--host", &RELAY_IP.to_string()])
            .args(["--port", &relay.tcp_addr().port().to_string()])
            .args(["--join", &code, "--record-audio"])
            .arg(&wav)
            .args(["--seconds", &format!("{total}")])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", client_bin.display()))?,
    );
    let status = listener.0.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("the listening client ended with {status}"));
    }
    let samples = read_wav_48k_mono(&wav)?;
    let _ = std::fs::remove_dir_all(&dir);
    let start = (SKIP_SECONDS * 48_000.0) as usize;
    let end = start + (SECONDS * 48_000.0) as usize;
    let heard = samples
        .get(start..end.min(samples.len()))
        .ok_or("the recording is too short")?;
    let stats = relay.stats();
    let lost = stats.down_dropped as f64 / (stats.down_dropped + stats.down_passed).max(1) as f64;
    Ok((analyse(heard, 48_000.0, TONE_HZ), lost))
}

fn client(bin: &Path, dir: &Path, name: &str) -> Command {
    let mut c = Command::new(bin);
    c.args(["--headless", "--name", name, "--log-dir"])
        .arg(dir.join(format!("log-{name}")))
        .arg("--download-dir")
        .arg(dir.join(format!("dl-{name}")))
        .stderr(Stdio::null());
    c
}

/// Reads the talker's JSON events until `joined` and returns its code.
fn meeting_code(child: &mut Child) -> Result<String, String> {
    let out = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(out).lines();
    while let Some(Ok(line)) = lines.next() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["event"] == "joined" {
            let code = v["meeting_code"].as_str().ok_or("joined without a code")?;
            let code = code.to_string();
            // Keep reading (and discarding) so the talker never blocks on
            // a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(code);
        }
    }
    Err("the talker did not join".into())
}

/// The samples of a 16-bit mono WAV file (as `--record-audio` writes).
fn read_wav_48k_mono(path: &PathBuf) -> Result<Vec<i16>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]])
            as usize;
        let body = at + 8;
        if id == b"data" {
            let end = (body + len).min(bytes.len());
            return Ok(bytes[body..end]
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect());
        }
        at = body + len + (len & 1);
    }
    Err(format!("{}: no data chunk", path.display()))
}
