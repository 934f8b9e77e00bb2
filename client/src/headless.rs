//! The headless client: a session with synthetic media, driven by
//! command-line options, printing one JSON object per line on stdout.
//!
//! ```text
//!  parse_args --> Session::connect --> {"event":"joined","meeting_code":...}
//!    start test pattern / tone / WAV, playback into a WAV, say, offer, share
//!    loop: every event --> one JSON line (offers auto-requested with
//!          --accept-files) until --seconds pass or the session ends;
//!          a dropped connection is {"event":"reconnecting",...} and then
//!          {"event":"resumed",...}, or the ordinary disconnected line
//!  --> {"event":"stats",...} --> leave --> {"event":"disconnected",...}
//! ```
//!
//! Every line is an [`Event`] serialized as it is, tagged `"event"`, plus
//! two of our own: `stats` at the end and `error` when the session cannot
//! start. Arguments are parsed by hand: the options are few and flat.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant, SystemTime};

use lanmeet_client::devices;
use lanmeet_client::log::Log;
use lanmeet_client::screen::ImageScreen;
use lanmeet_client::wav::{WavSource, WavWriter};
use lanmeet_client::{Config, Event, JoinAction, Session, TestPattern, ToneSource};
use lanmeet_common::limits::DEFAULT_TCP_PORT;

/// The `--help` text.
pub const USAGE: &str = "\
Usage:
  lanmeet-client --headless --host HOST [--port PORT] --name NAME (--create | --join CODE)
                 [--password PASSWORD] [--video test|camera|none]
                 [--audio tone|tone:HZ|wav:PATH|mic|none] [--play] [--record-audio OUT.wav]
                 [--say TEXT] [--share-image IMAGE.jpg|.png|.ppm] [--share-screen]
                 [--camera ID] [--mic ID] [--speaker ID] [--monitor ID]
                 [--offer FILE] [--download-dir DIR] [--accept-files] [--seconds S]
                 [--size WxH] [--fps N] [--quality Q] [--log-dir DIR]
                 [--subscribe default=thumb,last_n=8,c3=full]
  lanmeet-client --list-devices
  lanmeet-client --help

Joins a meeting without a window and prints one JSON object per event on
stdout, e.g. {\"event\":\"joined\",\"meeting_code\":\"K7Q2XZ\",...}.

  --host HOST          server name or address
  --port PORT          server TCP port (default 5001)
  --name NAME          display name (1..32 characters)
  --create             create a meeting (its code is in the joined event)
  --join CODE          join the meeting with this code
  --password PASSWORD  meeting password (sets it with --create)
  --video test|camera|none
                       test: a moving test pattern with frame numbers; camera: the
                       camera (see --camera); none (default)
  --audio SOURCE       tone: a tone whose pitch comes from the name; tone:HZ: that
                       pitch; wav:PATH: play a 16-bit PCM WAV file once; mic: the
                       microphone (see --mic); none (default)
  --play               play what we hear on the speaker (see --speaker)
  --record-audio OUT   record what we hear (48 kHz mono WAV)
  --say TEXT           send a public chat message after joining (repeatable)
  --share-image IMAGE  present this JPEG, PNG or PPM image
  --share-screen       present a monitor (see --monitor)
  --camera ID, --mic ID, --speaker ID, --monitor ID
                       which device to use (ids from --list-devices; default: the
                       system's default). A device that is missing or busy is
                       reported as an error event and the session goes on without it
  --list-devices       list cameras, microphones, speakers and monitors, and exit
  --offer FILE         offer this file to the meeting (repeatable)
  --download-dir DIR   where downloads go (default downloads)
  --accept-files       download every file offered by others
  --seconds S          leave after S seconds (default: stay until the session ends)
  --size WxH           video size (default 640x480)
  --fps N              video frames per second, 1..30 (default 20)
  --quality Q          JPEG quality, 1..100 (default 60)
  --log-dir DIR        log folder (default logs/client)
  --subscribe SPEC     which video layer of whom to receive (section 11):
                       default=full|thumb|none, last_n=N, CLIENT_ID=full|thumb|none;
                       the stats line counts frames and bytes per layer
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print the usage.
    Help,
    /// Open the window (not built yet).
    Gui,
    /// Run headless.
    Headless(Box<Options>),
    /// Print the devices and exit.
    ListDevices,
}

/// Where the microphone sound comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioChoice {
    /// No microphone.
    None,
    /// A tone; `None` picks the pitch from the name.
    Tone(Option<f64>),
    /// A WAV file, played once.
    Wav(PathBuf),
    /// The microphone.
    Mic,
}

/// Which real devices to use, and whether to use them.
#[derive(Debug, Default, PartialEq)]
pub struct DeviceOptions {
    camera: bool,
    play: bool,
    share_screen: bool,
    camera_id: Option<String>,
    mic_id: Option<String>,
    speaker_id: Option<String>,
    monitor_id: Option<String>,
}

/// Headless options.
#[derive(Debug, PartialEq)]
pub struct Options {
    host: String,
    port: u16,
    name: String,
    action: JoinAction,
    password: Option<String>,
    video: bool,
    audio: AudioChoice,
    record: Option<PathBuf>,
    say: Vec<String>,
    share_image: Option<PathBuf>,
    offers: Vec<PathBuf>,
    download_dir: PathBuf,
    accept_files: bool,
    seconds: Option<f64>,
    size: (u32, u32),
    fps: u32,
    quality: u8,
    log_dir: PathBuf,
    devices: DeviceOptions,
    /// Section 11: a `video_subscribe` to send after joining.
    subscribe: Option<lanmeet_common::ClientMessage>,
}

fn number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{option} needs a number, not {value:?}"))
}

/// Parses the arguments (without the program name).
pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut headless = false;
    let mut host = None;
    let mut port = DEFAULT_TCP_PORT;
    let mut name = None;
    let mut action = None;
    let mut o = Options {
        host: String::new(),
        port,
        name: String::new(),
        action: JoinAction::Create,
        password: None,
        video: false,
        audio: AudioChoice::None,
        record: None,
        say: Vec::new(),
        share_image: None,
        offers: Vec::new(),
        download_dir: PathBuf::from("downloads"),
        accept_files: false,
        seconds: None,
        size: (640, 480),
        fps: 20,
        quality: 60,
        log_dir: PathBuf::from("logs/client"),
        devices: DeviceOptions::default(),
        subscribe: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |opt: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{opt} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--headless" => headless = true,
            "--host" => host = Some(value(arg)?),
            "--port" => port = number(arg, &value(arg)?)?,
            "--name" => name = Some(value(arg)?),
            "--create" => {
                if action.is_some() {
                    return Err("give --create or --join once".into());
                }
                action = Some(JoinAction::Create);
            }
            "--join" => {
                if action.is_some() {
                    return Err("give --create or --join once".into());
                }
                action = Some(JoinAction::Join(value(arg)?));
            }
            "--password" => o.password = Some(value(arg)?),
            "--video" => {
                (o.video, o.devices.camera) = match value(arg)?.as_str() {
                    "test" => (true, false),
                    "camera" => (false, true),
                    "none" => (false, false),
                    other => return Err(format!("--video is test, camera or none, not {other:?}")),
                }
            }
            "--list-devices" => return Ok(Command::ListDevices),
            "--play" => o.devices.play = true,
            "--share-screen" => o.devices.share_screen = true,
            "--camera" => o.devices.camera_id = Some(value(arg)?),
            "--mic" => o.devices.mic_id = Some(value(arg)?),
            "--speaker" => o.devices.speaker_id = Some(value(arg)?),
            "--monitor" => o.devices.monitor_id = Some(value(arg)?),
            "--audio" => {
                let v = value(arg)?;
                o.audio = if v == "none" {
                    AudioChoice::None
                } else if v == "mic" {
                    AudioChoice::Mic
                } else if v == "tone" {
                    AudioChoice::Tone(None)
                } else if let Some(hz) = v.strip_prefix("tone:") {
                    let hz: f64 = number(arg, hz)?;
                    if !(20.0..=20_000.0).contains(&hz) {
                        return Err("the tone must be 20..20000 Hz".into());
                    }
                    AudioChoice::Tone(Some(hz))
                } else if let Some(path) = v.strip_prefix("wav:") {
                    AudioChoice::Wav(PathBuf::from(path))
                } else {
                    return Err(format!(
                        "--audio is tone, tone:HZ, wav:PATH, mic or none, not {v:?}"
                    ));
                }
            }
            "--record-audio" => o.record = Some(PathBuf::from(value(arg)?)),
            "--say" => o.say.push(value(arg)?),
            "--share-image" => o.share_image = Some(PathBuf::from(value(arg)?)),
            "--offer" => o.offers.push(PathBuf::from(value(arg)?)),
            "--download-dir" => o.download_dir = PathBuf::from(value(arg)?),
            "--accept-files" => o.accept_files = true,
            "--seconds" => {
                let s: f64 = number(arg, &value(arg)?)?;
                if !(s >= 0.0 && s.is_finite()) {
                    return Err("--seconds must be 0 or more".into());
                }
                o.seconds = Some(s);
            }
            "--size" => {
                let v = value(arg)?;
                let (w, h) = v
                    .split_once('x')
                    .ok_or_else(|| format!("--size is WxH, not {v:?}"))?;
                let (w, h): (u32, u32) = (number(arg, w)?, number(arg, h)?);
                if !(16..=4096).contains(&w) || !(16..=4096).contains(&h) {
                    return Err("--size must be between 16x16 and 4096x4096".into());
                }
                o.size = (w, h);
            }
            "--fps" => {
                o.fps = number(arg, &value(arg)?)?;
                if !(1..=30).contains(&o.fps) {
                    return Err("--fps must be 1..30".into());
                }
            }
            "--quality" => {
                o.quality = number(arg, &value(arg)?)?;
                if !(1..=100).contains(&o.quality) {
                    return Err("--quality must be 1..100".into());
                }
            }
            "--log-dir" => o.log_dir = PathBuf::from(value(arg)?),
            "--subscribe" => {
                let v = value(arg)?;
                o.subscribe = Some(
                    lanmeet_client::core::speaking::parse_subscription(&v)
                        .map_err(|e| format!("--subscribe: {e}"))?,
                );
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if !headless {
        return Ok(Command::Gui);
    }
    o.host = host.ok_or("--host is required")?;
    o.port = port;
    o.name = name.ok_or("--name is required")?;
    o.action = action.ok_or("give --create or --join CODE")?;
    Ok(Command::Headless(Box::new(o)))
}

/// Prints one JSON line and flushes (a reader may be waiting for it).
fn print_line(value: &impl serde::Serialize) {
    if let Ok(text) = serde_json::to_string(value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

fn print_error(message: &str) {
    print_line(&serde_json::json!({"event": "error", "message": message}));
}

/// Runs a headless session to the end.
pub fn run(o: Options) -> ExitCode {
    let stamp = lanmeet_common::time::file_stamp(SystemTime::now());
    let log_path = o.log_dir.join(format!("{stamp}.log"));
    let log = match Log::to_file(&log_path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("lanmeet-client: no log file {}: {e}", log_path.display());
            Log::disabled()
        }
    };
    let mut config = Config::create(&o.host, o.port, &o.name);
    config.action = o.action.clone();
    config.password = o.password.clone();
    config.download_dir = o.download_dir.clone();
    config.video.width = o.size.0;
    config.video.height = o.size.1;
    config.video.fps = o.fps;
    config.video.quality = o.quality;
    config.log = log.clone();

    let (session, events) = match Session::connect(config) {
        Ok(s) => s,
        Err(e) => {
            log.write(format_args!("cannot join: {e}"));
            print_error(&e.to_string());
            return ExitCode::from(1);
        }
    };
    let deadline = o
        .seconds
        .map(|s| Instant::now() + Duration::from_secs_f64(s));
    start_media(&session, &o);
    if let Some(sub) = o.subscribe.clone() {
        if let Err(e) = session.send(sub) {
            print_error(&e.to_string());
        }
    }

    let me = session.identity().client_id.clone();
    if o.accept_files {
        // Offers made before we joined come in the join reply, not as events.
        for offer in session.state().offers {
            if offer.sender_id != me {
                if let Err(e) = session.request_file(&offer.sender_id, &offer.file_id) {
                    print_error(&e.to_string());
                }
            }
        }
    }
    let mut ended = false;
    loop {
        let wait = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) => left,
                None => break,
            },
            None => Duration::from_secs(3600),
        };
        match events.recv_timeout(wait) {
            Ok(event) => {
                print_line(&event);
                match &event {
                    Event::FileOffered(offer) if o.accept_files && offer.sender_id != me => {
                        if let Err(e) = session.request_file(&offer.sender_id, &offer.file_id) {
                            print_error(&e.to_string());
                        }
                    }
                    Event::Disconnected { .. } => {
                        ended = true;
                        break;
                    }
                    _ => {}
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let mut stats = serde_json::to_value(session.stats()).unwrap_or_default();
    if let Some(map) = stats.as_object_mut() {
        map.insert("event".into(), "stats".into());
    }
    print_line(&stats);
    session.leave();
    if !ended {
        for event in events.try_iter() {
            print_line(&event);
        }
    }
    ExitCode::SUCCESS
}

fn start_media(session: &Session, o: &Options) {
    let report = |r: Result<(), lanmeet_client::SessionError>| {
        if let Err(e) = r {
            print_error(&e.to_string());
        }
    };
    let d = &o.devices;
    if o.video {
        report(session.start_video(Box::new(TestPattern::new(o.size.0, o.size.1))));
    } else if d.camera {
        // A missing or busy device is an error line; the session goes on.
        match devices::open_camera(d.camera_id.as_deref(), o.size.0, o.size.1, o.fps) {
            Ok(src) => report(session.start_video(src)),
            Err(e) => print_error(&e.to_string()),
        }
    }
    match &o.audio {
        AudioChoice::None => {}
        AudioChoice::Tone(hz) => {
            let hz = hz.unwrap_or_else(|| ToneSource::frequency_for(&o.name));
            report(session.start_audio(Box::new(ToneSource::new(hz))));
        }
        AudioChoice::Wav(path) => match WavSource::open(path, false) {
            Ok(src) => report(session.start_audio(Box::new(src))),
            Err(e) => print_error(&format!("{}: {e}", path.display())),
        },
        AudioChoice::Mic => match devices::open_microphone(d.mic_id.as_deref()) {
            Ok(src) => report(session.start_audio(src)),
            Err(e) => print_error(&e.to_string()),
        },
    }
    if d.play && o.record.is_none() {
        match devices::open_speaker(d.speaker_id.as_deref()) {
            Ok(sink) => report(session.start_playback(sink)),
            Err(e) => print_error(&e.to_string()),
        }
    } else if d.play {
        print_error("--play and --record-audio both take what we hear: recording only");
    }
    if let Some(path) = &o.record {
        match WavWriter::create(path) {
            Ok(w) => report(session.start_playback(Box::new(w))),
            Err(e) => print_error(&format!("{}: {e}", path.display())),
        }
    }
    for text in &o.say {
        report(session.chat(text, None));
    }
    for path in &o.offers {
        if let Err(e) = session.offer_file(path) {
            print_error(&e.to_string());
        }
    }
    if d.share_screen {
        match devices::open_monitor(d.monitor_id.as_deref()) {
            Ok(src) => report(session.start_screen_share(src)),
            Err(e) => print_error(&e.to_string()),
        }
    } else if let Some(path) = &o.share_image {
        match ImageScreen::open(path) {
            Ok(src) => report(session.start_screen_share(Box::new(src))),
            Err(e) => print_error(&format!("{}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_a_full_line() {
        let cmd = parse_args(&args(
            "--headless --host h --port 7 --name Ann --join k7q2xz --password pw --video test \
             --audio tone:440 --record-audio o.wav --say hi --say there --offer a --offer b \
             --accept-files --seconds 2.5 --size 320x240 --fps 10 --quality 50",
        ))
        .unwrap();
        let Command::Headless(o) = cmd else {
            panic!("not headless: {cmd:?}")
        };
        assert_eq!(o.host, "h");
        assert_eq!(o.port, 7);
        assert_eq!(o.action, JoinAction::Join("k7q2xz".into()));
        assert_eq!(o.audio, AudioChoice::Tone(Some(440.0)));
        assert_eq!(o.say, ["hi", "there"]);
        assert_eq!(o.offers.len(), 2);
        assert_eq!(o.seconds, Some(2.5));
        assert_eq!(o.size, (320, 240));
        assert!(o.video && o.accept_files);
    }

    #[test]
    fn parses_device_options() {
        let cmd = parse_args(&args(
            "--headless --host h --name a --create --video camera --audio mic --play \
             --share-screen --camera 0 --mic pulseaudio:in --speaker alsa:default --monitor 7",
        ))
        .unwrap();
        let Command::Headless(o) = cmd else {
            panic!("not headless: {cmd:?}")
        };
        assert!(!o.video && o.devices.camera && o.devices.play && o.devices.share_screen);
        assert_eq!(o.audio, AudioChoice::Mic);
        assert_eq!(o.devices.camera_id.as_deref(), Some("0"));
        assert_eq!(o.devices.mic_id.as_deref(), Some("pulseaudio:in"));
        assert_eq!(o.devices.speaker_id.as_deref(), Some("alsa:default"));
        assert_eq!(o.devices.monitor_id.as_deref(), Some("7"));
        assert_eq!(
            parse_args(&args("--list-devices")).unwrap(),
            Command::ListDevices
        );
        assert!(parse_args(&args("--headless --host h --name a --create --video cam")).is_err());
    }

    #[test]
    fn help_gui_and_errors() {
        assert_eq!(parse_args(&args("--help")).unwrap(), Command::Help);
        assert_eq!(parse_args(&[]).unwrap(), Command::Gui);
        assert!(parse_args(&args("--headless --name a --create")).is_err());
        assert!(parse_args(&args("--headless --host h --name a")).is_err());
        assert!(parse_args(&args("--headless --host h --name a --create --join X")).is_err());
        assert!(parse_args(&args("--headless --host h --name a --create --fps 99")).is_err());
        assert!(parse_args(&args("--headless --host h --name a --create --bogus")).is_err());
        assert!(parse_args(&args("--headless --host")).is_err());
        assert!(parse_args(&args("--headless --host h --name a --create --audio bogus")).is_err());
    }
}
