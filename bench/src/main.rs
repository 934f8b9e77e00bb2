//! `lanmeet-bench`: measures a lanmeet server on this machine and writes
//! the results as Markdown (`make bench` writes `docs/BENCHMARKS.md`).
//!
//! Every scenario starts its own release server as a child process and
//! reads that process's CPU time and memory from `/proc`, so the load
//! generator's own work is kept apart (and reported too). The numbers are
//! measurements of one run, not targets checked by tests.

#![forbid(unsafe_code)]

mod burst;
mod chat;
mod classroom;
#[path = "../../client/src/core/nack.rs"]
#[allow(dead_code)] // the client's section 13 logic; the bench uses part of it
mod client_nack;
mod files;
mod floor;
#[path = "../../client/src/media/fragment_pace.rs"]
mod fragment_pace; // the client's spreading of a frame's datagrams
mod impaired;
mod incore;
mod media;
mod peer;
mod process; // children killed on drop, tools on PATH, an Xvfb display
mod procstat;
mod relay; // a lossy link, also used by client/tests/impaired.rs
mod screen;
mod server;
mod stats;
mod tone_quality; // clicks and silence in a tone, also client/tests
mod video_loss;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use stats::ms;

const USAGE: &str = "\
lanmeet-bench: load scenarios against a lanmeet server

USAGE:
    lanmeet-bench [--server PATH] [--out FILE] [--seconds S] [SCENARIO...]

SCENARIOS (default: all):
    floor        CPU per 1400-byte datagram sent and drained over loopback, no server
    core         the core alone, in-process: relay per datagram, mixer per tick (not in \"all\")
    relay        8 meetings x 10, 30 fps, 15 KB frames, at --max-datagram 1400 and 65000
    audio        one meeting of 64, everyone sending audio
    mixed        200 participants in 20 meetings, 20 fps video and audio
    files        a brokered 1 GiB transfer, SHA-256 verified
    chat         chat latency while one receiver has stopped reading
    ramp         the largest participant count with >= 99.5% video delivery and p99 < 20 ms
    impaired     a tone through 2% loss + 20 ms jitter and 2% loss in bursts: clicks, silence,
                 gaps (needs target/release/lanmeet-client next to the server); then
                 video-loss
    video-loss   camera frames whole within 100 ms through 2% loss, without and with NACK
    video-burst  one real client's camera frames at a receiver: how spread out a frame's
                 datagrams arrive, and frames whole with a small receive buffer read every
                 2 ms (the lanmeet-client next to the server; not in \"all\")
    screen       a 1920x1080 screen of code shared with 30 viewers, still and typing: bytes per
                 viewer, server egress, presenter CPU, keystroke-to-viewer latency, text PSNR
                 (needs Xvfb, xedit, xdotool, xwd, xwdtopnm and target/release/lanmeet-client)
    classroom    one meeting of 30, every camera on (640x480, 20 fps, 24 KB, and 240x180
                 thumbnails), audio on, receivers in grid view with the speaker full size
                 (sections 11-12): per-receiver and server Mbit/s, delivery and latency per
                 layer, a new speaker shown full size, against the same meeting in version 1;
                 the desktop window's CPU showing 25 of them (needs Xvfb and
                 target/release/lanmeet-client)
    soak         32 participants with video and audio for --seconds (make soak: 600); server
                 memory must stay flat within 10% after the first minute (not in \"all\")

OPTIONS:
    --server PATH   the server binary [default: target/release/lanmeet-server]
    --out FILE      also write the Markdown report to FILE
    --seconds S     measured seconds per load step [default: 5]";

/// Figures the scenarios fill in, compared with the targets at the end.
#[derive(Default)]
struct Summary {
    floor_us: Option<f64>,
    relay_us_per_datagram: Option<f64>,
    relay_us_per_frame_65000: Option<f64>,
    /// (datagrams out per s, delivery, p99 ms) of the largest ramp step
    /// with >= 99.5% delivery and p99 under 1 ms.
    capacity: Option<(f64, f64, f64)>,
    mix_rate: Option<(f64, f64)>,
    /// Mixed frames per listener per second in the 200-participant run.
    mix_rate_200: Option<(f64, f64)>,
    /// Video frames whole within 100 ms at 2% loss, with NACK.
    video_in_time: Option<f64>,
    audio_cpu: Option<f64>,
    file_mb_s: Option<f64>,
    rss_200_mb: Option<f64>,
    chat_p99_ms: Option<f64>,
    screen: Option<screen::ScreenFigures>,
    classroom: Option<classroom::ClassroomFigures>,
}

struct Args {
    server: PathBuf,
    out: Option<PathBuf>,
    seconds: f64,
    scenarios: Vec<String>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        server: PathBuf::from("target/release/lanmeet-server"),
        out: None,
        seconds: 5.0,
        scenarios: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--server" => args.server = it.next().ok_or("--server needs a path")?.into(),
            "--out" => args.out = Some(it.next().ok_or("--out needs a path")?.into()),
            "--seconds" => {
                args.seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|s: &f64| *s > 0.0)
                    .ok_or("--seconds needs a positive number")?
            }
            s if !s.starts_with('-') => args.scenarios.push(s.to_string()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if args.scenarios.is_empty() {
        args.scenarios = [
            "floor",
            "relay",
            "audio",
            "mixed",
            "files",
            "chat",
            "ramp",
            "impaired",
            "screen",
            "classroom",
        ]
        .map(String::from)
        .to_vec();
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lanmeet-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let mut doc = header(&args);
    let mut failed = false;
    let mut sum = Summary::default();
    for scenario in &args.scenarios {
        eprintln!("running {scenario} ...");
        let result = match scenario.as_str() {
            "floor" => floor_section(&mut sum),
            "core" => Ok(core_section()),
            "relay" => relay_section(&args, &mut sum),
            "audio" => audio_section(&args, &mut sum),
            "mixed" => mixed_section(&args, &mut sum),
            "files" => files_section(&args, &mut sum),
            "chat" => chat_section(&args, &mut sum),
            "ramp" => ramp_section(&args, &mut sum),
            "impaired" => impaired::section(&args.server)
                .and_then(|audio| Ok(audio + &video_loss_section(&args, &mut sum)?)),
            "video-loss" => video_loss_section(&args, &mut sum),
            "video-burst" => burst::section(&args.server),
            "soak" => soak_section(&args, &mut sum),
            "screen" => screen::section(&args.server, args.seconds).map(|(text, figures)| {
                sum.screen = figures;
                text
            }),
            "classroom" => classroom::section(&args.server, args.seconds).map(|(text, figures)| {
                sum.classroom = Some(figures);
                text
            }),
            other => Err(format!("unknown scenario {other}")),
        };
        match result {
            Ok(text) => {
                print!("{text}");
                doc.push_str(&text);
            }
            Err(e) => {
                eprintln!("lanmeet-bench: {scenario}: {e}");
                let _ = writeln!(doc, "\n## {scenario}\n\nFailed: {e}\n");
                failed = true;
            }
        }
    }
    let targets = targets_section(&sum);
    print!("{targets}");
    doc.push_str(&targets);
    if let Some(out) = &args.out {
        if let Err(e) = std::fs::write(out, &doc) {
            eprintln!("lanmeet-bench: cannot write {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", out.display());
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn header(args: &Args) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let date = lanmeet_common::time::log_stamp(SystemTime::now());
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Measured by `make bench` (`lanmeet-bench {}`), release build, server and load \
         generator on the same machine over loopback.\n",
        args.scenarios.join(" ")
    );
    let _ = writeln!(s, "- machine: {cores} cores, {cpu}");
    let _ = writeln!(s, "- date: {date}");
    let _ = writeln!(s, "- measured seconds per load step: {}\n", args.seconds);
    let _ = writeln!(
        s,
        "CPU figures are fractions of one core from `/proc/PID/stat` over the measured window; \
         the load generator's own CPU is listed so it can be told apart. Latency is from the \
         sender stamping a frame to the receiver holding all of its fragments, so it includes \
         both ends' sockets as well as the server.\n"
    );
    s
}

/// The targets the project set itself, each beside this run's figure.
fn targets_section(sum: &Summary) -> String {
    let mut rows = Vec::new();
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    if let (Some(floor), Some(relay)) = (sum.floor_us, sum.relay_us_per_datagram) {
        rows.push(format!(
            "| relay CPU per datagram out, max datagram 1400 | within 1.5x the floor ({:.2} µs) | {relay:.2} µs ({:.2}x) | {} |",
            floor * 1.5,
            relay / floor,
            verdict(relay <= floor * 1.5)
        ));
    }
    if let Some(us) = sum.relay_us_per_frame_65000 {
        rows.push(format!(
            "| server CPU per delivered frame, max datagram 65000 | under 6 µs (half a Python relay's 12) | {us:.2} µs | {} |",
            verdict(us < 6.0)
        ));
    }
    if let Some((out, delivery, p99)) = sum.capacity {
        let ok = out >= 89_000.0 && delivery >= 0.995 && p99 < 1.0;
        rows.push(format!(
            "| capacity at max datagram 1400 | 89,000 datagrams/s, >= 99.5% delivered, p99 < 1 ms | {out:.0}/s, {:.2}%, p99 {p99:.2} ms (largest ramp step with p99 under 1 ms) | {} |",
            delivery * 100.0,
            verdict(ok)
        ));
    }
    if let Some((min, max)) = sum.mix_rate {
        rows.push(format!(
            "| mixed frames per listener per s, meeting of 64 | 100 +/- 2 | {min:.1} to {max:.1} | {} |",
            verdict(min >= 98.0 && max <= 102.0)
        ));
    }
    if let Some((min, max)) = sum.mix_rate_200 {
        rows.push(format!(
            "| mixed frames per listener per s, 200 participants with video (server first) | 100 +/- 2 | {min:.1} to {max:.1} | {} |",
            verdict(min >= 98.0 && max <= 102.0)
        ));
    }
    if let Some(share) = sum.video_in_time {
        rows.push(format!(
            "| video frames whole within 100 ms at 2% loss (NACK) | >= 97% | {:.1}% | {} |",
            share * 100.0,
            verdict(share >= 0.97)
        ));
    }
    if let Some(cpu) = sum.audio_cpu {
        rows.push(format!(
            "| mixer CPU, meeting of 64 | under 5% of a core | {:.2}% (the mixer alone; the whole server is in the audio section) | {} |",
            cpu * 100.0,
            verdict(cpu < 0.05)
        ));
    }
    if let Some(mb) = sum.file_mb_s {
        rows.push(format!(
            "| brokered file transfer, SHA-256 verified | at least 200 MB/s | {mb:.0} MB/s (median of three) | {} |",
            verdict(mb >= 200.0)
        ));
    }
    if let Some(mb) = sum.rss_200_mb {
        rows.push(format!(
            "| server memory, 200 participants | under 30 MB | {mb:.1} MB | {} |",
            verdict(mb < 30.0)
        ));
    }
    if let Some(ms) = sum.chat_p99_ms {
        rows.push(format!(
            "| chat p99 while a receiver has stopped reading | under 50 ms | {ms:.2} ms | {} |",
            verdict(ms < 50.0)
        ));
    }
    if let Some(f) = &sum.screen {
        rows.push(format!(
            "| text PSNR, 1920x1080 code screen, what the viewer holds vs the screen | >= 35 dB at native size | {:.1} dB | {} |",
            f.text_psnr_db,
            verdict(f.text_psnr_db >= 35.0)
        ));
        rows.push(format!(
            "| bytes per viewer per second, still screen | <= 2 KB/s | {:.0} B/s | {} |",
            f.still_bytes_per_viewer,
            verdict(f.still_bytes_per_viewer <= 2000.0)
        ));
        rows.push(format!(
            "| bytes per viewer per second, typing a character every 200 ms | <= 25 KB/s | {:.1} KB/s | {} |",
            f.typing_bytes_per_viewer / 1000.0,
            verdict(f.typing_bytes_per_viewer <= 25_000.0)
        ));
        rows.push(format!(
            "| presenter CPU, 1920x1080, typing | <= 15% of a core | {:.1}% (see the load average in the screen section) | {} |",
            f.typing_presenter_cpu * 100.0,
            verdict(f.typing_presenter_cpu <= 0.15)
        ));
        rows.push(format!(
            "| screen change to viewer's picture, loopback | <= 150 ms p95 | {:.0} ms (keystroke to the next screen message) | {} |",
            f.latency_p95_ms,
            verdict(f.latency_p95_ms <= 150.0)
        ));
    }
    if let Some(c) = &sum.classroom {
        rows.push(format!(
            "| per-receiver traffic, 30 people, grid view (28-29 thumbnails + 1 full speaker + audio) | <= 12 Mbit/s | {:.1} Mbit/s (the busiest receiver) | {} |",
            c.per_receiver_mbit,
            verdict(c.per_receiver_mbit <= 12.0)
        ));
        rows.push(format!(
            "| server egress, 30 people, grid view | <= 400 Mbit/s | {:.0} Mbit/s | {} |",
            c.egress_mbit,
            verdict(c.egress_mbit <= 400.0)
        ));
        rows.push(format!(
            "| subscribed frames delivered on loopback | >= 99.5% | {:.2}% | {} |",
            c.delivery * 100.0,
            verdict(c.delivery >= 0.995)
        ));
        rows.push(format!(
            "| a new speaker shown full size after they start speaking | <= 300 ms | p95 {:.0} ms, max {:.0} ms | {} |",
            c.new_speaker_p95_ms,
            c.new_speaker_max_ms,
            verdict(c.new_speaker_p95_ms <= 300.0)
        ));
        rows.push(match &c.desktop_cpu {
            Ok(cpu) => format!(
                "| desktop client CPU showing 25 others | <= 35% of a core | {:.0}% | {} |",
                cpu * 100.0,
                verdict(*cpu <= 0.35)
            ),
            Err(why) => {
                format!("| desktop client CPU showing 25 others | <= 35% of a core | {why} | – |")
            }
        });
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "## Against the targets\n\n| target | goal | this run | |\n|---|---|---|---|\n{}\n\n{NOTES}",
        rows.join("\n")
    )
}

/// What limits the figures, for whoever reads the report.
const NOTES: &str = "\
## Reading these numbers

- **Per datagram, the relay is at the floor.** Each relayed datagram costs one `send_to`; on \
loopback that system call also does the receiving socket's kernel work, which is most of the \
floor. The loop adds no allocation or copy per datagram. Batching with `sendmmsg` would save \
the system-call entries (about 15% on this machine) but needs `unsafe` or a large dependency; \
it is not done.
- **At the default 1400 bytes a 15 KB frame is 11 datagrams**, so a delivered frame costs about \
11 datagram sends (~45 µs). That is the price of never relying on IP fragmentation (one lost \
piece would lose the whole frame) and of crossing Wi-Fi and VPNs. On a wired LAN, \
`--max-datagram 65000` sends a frame as one datagram: about 7 µs per delivered frame, of \
which ~5 µs is the kernel's cost of one 15 KB send (see the floor).
- **One machine plays every part.** The load generator (senders, sampled receivers) shares \
the 2 cores with the server, and every sampled datagram wakes a receiver thread. Latency \
percentiles therefore include scheduling on a busy 2-core machine; with the server alone on \
a core they would be lower. Past about 30 participants at 30 fps the server's core is the \
limit at 1400 bytes: delivery stays near 100% but frames queue, and p99 rises.
- **200 participants at 20 fps** ask for about 400,000 datagrams a second from one core; the \
server sends what one core can (the *datagrams out* column) and memory stays small.
- **File transfer** moves 64 KiB chunks as base64 inside JSON, as the protocol fixes: the \
sender encodes, the server parses, checks and re-serializes, the downloader parses, decodes and \
hashes. Three busy threads share two cores; the server forwards each chunk as soon as it is \
read so the three overlap.
";

fn floor_section(sum: &mut Summary) -> Result<String, String> {
    let small = floor::send_and_drain(1400, 200_000)?;
    let large = floor::send_and_drain(15_000, 100_000)?;
    sum.floor_us = Some(small);
    Ok(format!(
        "## Floor: one datagram over loopback\n\n\
         A loop that sends a datagram to another socket of this process and reads it back, with \
         nothing else going on. A relay needs at least one send per datagram it relays, plus its \
         share of the receive; on loopback the sender's system call also does the receiver's \
         kernel work.\n\n\
         | datagram | CPU per datagram sent and drained |\n|---|---|\n\
         | 1400 bytes | **{small:.2} µs** |\n| 15000 bytes (one whole frame) | **{large:.2} µs** |\n\n"
    ))
}

fn media_row(name: &str, load: &media::Load, r: &media::Report) -> String {
    format!(
        "| {name} | {} | {} | {:.1} | {} / {} ({:.2}%) | {} / {} / {} | {:.0} / {:.0} ({:.0} due) | {:.1}% | {:.1} MB | {:.1}% |",
        r.participants,
        r.max_datagram,
        r.fragments_per_frame,
        r.delivered_at_sample,
        r.expected_at_sample,
        r.delivery() * 100.0,
        ms(r.latency_p50),
        ms(r.latency_p99),
        ms(r.latency_max),
        r.datagrams_in_per_s,
        r.datagrams_out_per_s,
        r.datagrams_due_per_s,
        r.server_cpu * 100.0,
        r.server_rss as f64 / 1e6,
        r.generator_cpu * 100.0,
    ) + &format!(
        " {:.2} | {} |\n",
        r.cpu_per_datagram_out_us(),
        if load.audio { "–".to_string() } else { format!("{:.2}", r.cpu_per_delivered_frame_us()) }
    )
}

const MEDIA_HEADER: &str = "| run | participants | max datagram | fragments/frame | frames delivered at sample / expected | latency p50 / p99 / max (ms) | datagrams in / out per s | server CPU | server RSS | generator CPU | server µs per datagram out | server µs per delivered frame |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";

fn relay_section(args: &Args, sum: &mut Summary) -> Result<String, String> {
    let mut s = String::from(
        "## Video relay: 8 meetings x 10 participants, 30 fps, 15 KB frames\n\n\
         Every participant sends; two receivers per meeting are read.\n\n",
    );
    s.push_str(MEDIA_HEADER);
    for max in [1400usize, 65000] {
        let load = media::Load::new(8, 10, 30, args.seconds)
            .sampled(2)
            .max_datagram(max);
        let r = media::run(&args.server, &load)?;
        if max == 1400 {
            sum.relay_us_per_datagram = Some(r.cpu_per_datagram_out_us());
        } else {
            sum.relay_us_per_frame_65000 = Some(r.cpu_per_delivered_frame_us());
        }
        s.push_str(&media_row(&format!("--max-datagram {max}"), &load, &r));
    }
    s.push('\n');
    Ok(s)
}

fn core_section() -> String {
    let mut s = String::from(
        "## The core alone\n\n\
         The server's meeting logic driven in-process, no sockets: a 1400-byte video \
         fragment in, relayed to every other participant (best of 5 rounds of 200,000), \
         and a mixer tick with everyone speaking.\n\n\
         | meeting | relay, ns per datagram in | relay, ns per copy out | mixer, µs per tick |\n\
         |---|---|---|---|\n",
    );
    for size in [10, 64] {
        let relay = incore::cost_per_relayed_datagram(size, 200_000, 5);
        let tick = incore::cost_per_tick(size, 2000);
        let _ = writeln!(
            s,
            "| {size} | {relay:.0} | {:.1} | {tick:.1} |",
            relay / (size - 1) as f64
        );
    }
    s.push('\n');
    s
}

fn audio_section(args: &Args, sum: &mut Summary) -> Result<String, String> {
    let load = media::Load::new(1, 64, 0, args.seconds)
        .with_audio()
        .sampled(8);
    let r = media::run(&args.server, &load)?;
    let (min, mean, max) = r.mix_rate;
    let tick_us = incore::cost_per_tick(64, 2000);
    sum.mix_rate = Some((min, max));
    sum.audio_cpu = Some(tick_us / 10_000.0);
    Ok(format!(
        "## Audio: one meeting of 64, everyone speaking\n\n\
         | listeners read | mixed frames per listener per s (min / mean / max) | server CPU | server RSS | generator CPU |\n\
         |---|---|---|---|---|\n\
         | 8 of 64 | {min:.1} / {mean:.1} / {max:.1} | {:.1}% | {:.1} MB | {:.1}% |\n\n\
         The whole server's CPU includes receiving 6,400 audio datagrams a second and sending \
         6,400 mixes. The mixer alone (the core driven in-process, 64 speakers, 2000 ticks, no \
         system calls): **{tick_us:.1} µs per 10 ms tick**, {:.2}% of a core.\n\n{}",
        r.server_cpu * 100.0,
        r.server_rss as f64 / 1e6,
        r.generator_cpu * 100.0,
        tick_us / 100.0,
        audio_schedule_line(&r),
    ))
}

/// How well the generator kept its audio schedule and how much the
/// server's socket dropped: what a mixer figure short of 100 is checked
/// against.
fn audio_schedule_line(r: &media::Report) -> String {
    let (p50, p99, max) = r.audio_send_late;
    format!(
        "Audio generator ({} threads, each microphone on its own phase): sends late against \
         their schedule by {} / {} / {} ms (p50 / p99 / max). Datagrams dropped at the \
         server's full socket: {:.0} a second. Mixed frames the server sent per sampled \
         listener per second, from their sequence numbers: {:.1}. Mixed frames are counted from {} ms after the \
         first send to the last send.\n\n",
        media::AUDIO_THREADS,
        ms(p50),
        ms(p99),
        ms(max),
        r.server_socket_drops_per_s,
        r.mix_sent_rate,
        media::WARM_UP.as_millis(),
    )
}

fn mixed_section(args: &Args, sum: &mut Summary) -> Result<String, String> {
    // Two runs: the load generator below the server's priority (the
    // server served first, as on a machine of its own: the figure for the
    // target), then at the same priority (what this shared machine gives).
    let load = media::Load::new(20, 10, 20, args.seconds).with_audio();
    let first = media::run(&args.server, &load.clone().server_first())?;
    let shared = media::run(&args.server, &load)?;
    sum.rss_200_mb = Some(first.server_rss.max(shared.server_rss) as f64 / 1e6);
    let (min, _, max) = first.mix_rate;
    sum.mix_rate_200 = Some((min, max));
    let mut s = String::from(
        "## 200 participants: 20 meetings x 10, 20 fps video (15 KB) and audio

",
    );
    s.push_str(MEDIA_HEADER);
    s.push_str(&media_row("1400, server first", &load, &first));
    s.push_str(&media_row("1400, same priority", &load, &shared));
    s.push('\n');
    for (name, r) in [
        ("Server first (load generator at nice 5)", &first),
        ("Same priority", &shared),
    ] {
        let (min, mean, max) = r.mix_rate;
        let _ = writeln!(
            s,
            "{name}: mixed audio per sampled listener per second {min:.1} / {mean:.1} / {max:.1} (min / mean / max).\n"
        );
        s.push_str(&audio_schedule_line(r));
    }
    let _ = writeln!(
        s,
        "The load asks for about 400,000 datagrams a second out, more than one core can send, so the \
         server sheds video; audio must still get in. At the same priority as a load generator that \
         needs most of the other core, the server is off its core for stretches, its socket fills \
         and the kernel drops audio with the video: whole ticks then have nothing to mix. With the \
         server served first, as on a machine of its own, the mixer sends its 100 frames a second.\n"
    );
    Ok(s)
}

fn video_loss_section(args: &Args, sum: &mut Summary) -> Result<String, String> {
    let (text, share) = video_loss::section(&args.server)?;
    sum.video_in_time = Some(share);
    Ok(text)
}

fn files_section(args: &Args, sum: &mut Summary) -> Result<String, String> {
    // Three runs: on two shared cores one transfer's rate varies by a
    // quarter from run to run; the median is the figure to compare.
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(files::run(&args.server, 1 << 30)?);
    }
    runs.sort_by(|a, b| a.mb_per_s().total_cmp(&b.mb_per_s()));
    sum.file_mb_s = Some(runs[1].mb_per_s());
    let mut s = String::from(
        "## Brokered file transfer: 1 GiB, three runs\n\n\
         | bytes | time | throughput | SHA-256 verified | server CPU | generator CPU (sender + downloader) |\n\
         |---|---|---|---|---|---|\n",
    );
    for r in &runs {
        let _ = writeln!(
            s,
            "| {} | {:.2} s | **{:.0} MB/s** | {} | {:.0}% | {:.0}% |",
            r.bytes,
            r.elapsed.as_secs_f64(),
            r.mb_per_s(),
            if r.verified { "yes" } else { "**no**" },
            r.server_cpu * 100.0,
            r.generator_cpu * 100.0
        );
    }
    s.push_str(
        "\nEach 64 KiB chunk is base64 inside JSON: the server parses the frame, checks the \
         base64 and that the sender owns the transfer, and writes a new frame for the \
         downloader. The summary uses the median run.\n\n",
    );
    Ok(s)
}

fn chat_section(args: &Args, sum: &mut Summary) -> Result<String, String> {
    let r = chat::run(&args.server, args.seconds.max(5.0))?;
    sum.chat_p99_ms = Some(r.latency_p99.as_secs_f64() * 1000.0);
    let removed = r
        .stuck_removed_after
        .map(|d| format!("{:.2} s", d.as_secs_f64()))
        .unwrap_or_else(|| "not removed".into());
    Ok(format!(
        "## Chat while a receiver has stopped reading\n\n\
         Sixteen participants flood 4000-character lines, each at the chat rate limit \
         (50 a second); one never reads; another sends a stamped line every 25 ms and a \
         last one measures its arrival.\n\n\
         | chat samples | latency p50 / p99 / max (ms) | stuck reader disconnected after | flood sent |\n\
         |---|---|---|---|\n\
         | {} | {} / {} / {} | {removed} | {:.1} MB |\n\n",
        r.samples,
        ms(r.latency_p50),
        ms(r.latency_p99),
        ms(r.latency_max),
        r.flood_bytes as f64 / 1e6
    ))
}

fn soak_section(args: &Args, _sum: &mut Summary) -> Result<String, String> {
    let load = media::Load::new(4, 8, 20, args.seconds).with_audio();
    let r = media::run(&args.server, &load)?;
    // Judge after the first minute (or the first tenth of a short run):
    // pools and buffers grow to their working size first.
    let settle = (args.seconds / 10.0).min(60.0);
    let settled: Vec<u64> = r
        .rss_samples
        .iter()
        .filter(|(t, _)| *t >= settle)
        .map(|(_, b)| *b)
        .collect();
    let (min, max) = (
        settled.iter().copied().min().unwrap_or(0),
        settled.iter().copied().max().unwrap_or(0),
    );
    let spread = if min > 0 {
        (max - min) as f64 / min as f64
    } else {
        0.0
    };
    let verdict = if spread <= 0.10 {
        "flat (within 10%)"
    } else {
        "**grew by more than 10%**"
    };
    let mut s = format!(
        "## Soak: 32 participants, 20 fps video and audio, {:.0} s\n\n\
         Server memory after {settle:.0} s: {:.2} MB to {:.2} MB, {verdict}. \
         Video delivered at the sample: {:.2}%; server CPU {:.1}%.\n\n\
         | time (s) | server RSS (MB) |\n|---|---|\n",
        args.seconds,
        min as f64 / 1e6,
        max as f64 / 1e6,
        r.delivery() * 100.0,
        r.server_cpu * 100.0
    );
    let step = (r.rss_samples.len() / 12).max(1);
    for (t, b) in r.rss_samples.iter().step_by(step) {
        let _ = writeln!(s, "| {t:.0} | {:.2} |", *b as f64 / 1e6);
    }
    s.push('\n');
    if spread > 0.10 {
        return Err(format!("server memory grew by {:.0}%\n{s}", spread * 100.0));
    }
    Ok(s)
}

fn ramp_section(args: &Args, sum: &mut Summary) -> Result<String, String> {
    let mut s = String::from(
        "## Ramp: meetings of 10 at 30 fps, 15 KB frames, max datagram 1400\n\n\
         Meetings are added until video delivery falls under 99.5% or p99 latency reaches 20 ms.\n\n",
    );
    s.push_str(MEDIA_HEADER);
    let mut best = 0;
    for meetings in 1..=16 {
        let load = media::Load::new(meetings, 10, 30, args.seconds.min(4.0));
        let r = media::run(&args.server, &load)?;
        s.push_str(&media_row(&format!("{meetings} meetings"), &load, &r));
        if r.delivery() < 0.995 || r.latency_p99.as_secs_f64() >= 0.020 {
            break;
        }
        best = r.participants;
        let p99_ms = r.latency_p99.as_secs_f64() * 1000.0;
        if p99_ms < 1.0 {
            sum.capacity = Some((r.datagrams_out_per_s, r.delivery(), p99_ms));
        }
    }
    let _ = writeln!(s, "\nLargest passing participant count: **{best}**.\n");
    Ok(s)
}
