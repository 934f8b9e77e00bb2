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
//! three of our own: `stats` at the end, `error` when the session cannot
//! start, and `screen_saved` after `--save-screen` wrote the picture.
//! Arguments are parsed by hand: the options are few and flat.
//!
//! With `--save-screen PATH` the shared screen as this viewer holds it
//! (the keyframe with every patch since painted over it) is written to
//! PATH (PNG; PPM when PATH ends in `.ppm`) when the client leaves, and
//! whenever a line `save-screen` comes on standard input, so a test can
//! compare it with the presenter's screen.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant, SystemTime};

use lanmeet_client::devices;
use lanmeet_client::log::Log;
use lanmeet_client::media::VoiceSettings;
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
                 [--title TITLE] [--listed] [--poll \"QUESTION|OPTION|OPTION...\"]
                 [--poll-anonymous] [--poll-multiple] [--close-poll-after S]
                 [--vote N[,N...]] [--spotlight ID] [--attendance]
                 [--no-echo-cancel] [--no-noise-suppression]
                 [--save-screen PATH]
                 [--subscribe default=thumb,last_n=8,c3=full]
  lanmeet-client --discover [--host HOST] [--port PORT | --udp-port PORT] [--seconds S]
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
  --no-echo-cancel     send the microphone without removing the echo of what we
                       play (echo cancellation is on by default)
  --no-noise-suppression
                       send the microphone without removing steady noise (on by
                       default)
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
  --title TITLE        with --create: the meeting's title (1..80 characters)
  --listed             with --create: list the meeting for --discover and the
                       join window's list of meetings on the network
  --poll SPEC          as host: open a poll after joining; SPEC is the question
                       and 2..10 options separated by |, e.g. \"Done?|Yes|No\"
  --poll-anonymous     the poll's results do not say who chose what
  --poll-multiple      voters may choose several options
  --close-poll-after S close the poll S seconds after opening it (default: just
                       before leaving, when --seconds is given)
  --vote N[,N...]      vote for these options (counting from 0) in the open
                       poll, or in the next one that opens
  --spotlight WHO      as host: put this participant (client id or name) on
                       everyone's stage, now or when they join
  --attendance         as host: ask for the attendance just before leaving
                       (an {\"event\":\"attendance\",...} line)
  --discover           look for servers on the network: probe every broadcast
                       address (and --host, if given) on the UDP port
                       (--udp-port, default --port + 1), print one {\"event\":\"server_found\",...} line per
                       answer and exit after --seconds (default 2)
  --save-screen PATH   write the shared screen as we hold it to PATH (PNG, or PPM
                       for .ppm) on leaving and at each line \"save-screen\" on stdin
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
    /// Look for servers on the network and exit.
    Discover {
        /// Also probe this address (a server that broadcast does not reach).
        host: Option<String>,
        /// The servers' UDP port.
        udp_port: u16,
        /// How long to listen for answers.
        seconds: f64,
    },
}

/// Sections 15-18: what the headless client does with polls, attendance,
/// spotlight and listing.
#[derive(Debug, Default, PartialEq)]
pub struct ClassroomOptions {
    title: Option<String>,
    listed: bool,
    /// The question and the options.
    poll: Option<(String, Vec<String>)>,
    poll_anonymous: bool,
    poll_multiple: bool,
    close_poll_after: Option<f64>,
    vote: Option<Vec<u32>>,
    spotlight: Option<String>,
    attendance: bool,
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
    voice: VoiceSettings,
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
    classroom: ClassroomOptions,
    save_screen: Option<PathBuf>,
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
        voice: VoiceSettings::default(),
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
        classroom: ClassroomOptions::default(),
        save_screen: None,
        subscribe: None,
    };
    let mut discover = false;
    let mut udp_port = None;
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
            "--no-echo-cancel" => o.voice.echo_cancel = false,
            "--no-noise-suppression" => o.voice.noise_suppression = false,
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
            // Sections 15-18
            "--title" => o.classroom.title = Some(value(arg)?),
            "--listed" => o.classroom.listed = true,
            "--poll" => {
                let spec = value(arg)?;
                let mut parts = spec.split('|').map(|p| p.trim().to_string());
                let question = parts.next().unwrap_or_default();
                let options: Vec<String> = parts.collect();
                if question.is_empty() || !(2..=10).contains(&options.len()) {
                    return Err("--poll is \"QUESTION|OPTION|OPTION...\" with 2..10 options".into());
                }
                o.classroom.poll = Some((question, options));
            }
            "--poll-anonymous" => o.classroom.poll_anonymous = true,
            "--poll-multiple" => o.classroom.poll_multiple = true,
            "--close-poll-after" => {
                let s: f64 = number(arg, &value(arg)?)?;
                if !(s >= 0.0 && s.is_finite()) {
                    return Err("--close-poll-after must be 0 or more".into());
                }
                o.classroom.close_poll_after = Some(s);
            }
            "--vote" => {
                let v = value(arg)?;
                let choices: Result<Vec<u32>, String> =
                    v.split(',').map(|n| number(arg, n.trim())).collect();
                o.classroom.vote = Some(choices?);
            }
            "--spotlight" => o.classroom.spotlight = Some(value(arg)?),
            "--attendance" => o.classroom.attendance = true,
            "--discover" => discover = true,
            "--udp-port" => udp_port = Some(number(arg, &value(arg)?)?),
            "--save-screen" => o.save_screen = Some(PathBuf::from(value(arg)?)),
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
    if discover {
        return Ok(Command::Discover {
            host,
            udp_port: udp_port.unwrap_or(port.saturating_add(1)),
            seconds: o.seconds.unwrap_or(2.0),
        });
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
    config.voice = o.voice;
    config.action = o.action.clone();
    config.password = o.password.clone();
    config.download_dir = o.download_dir.clone();
    config.video.width = o.size.0;
    config.video.height = o.size.1;
    config.video.fps = o.fps;
    config.video.quality = o.quality;
    config.log = log.clone();
    config.title = o.classroom.title.clone();
    config.listed = o.classroom.listed;

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
    let mut classroom = Classroom::start(&session, &o.classroom);
    let requests = o.save_screen.as_ref().map(|_| save_requests());
    let mut ended = false;
    loop {
        classroom.tick(&session);
        if let (Some(path), Some(requests)) = (&o.save_screen, &requests) {
            if requests.try_iter().count() > 0 {
                save_screen(&session, path);
            }
        }
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) => left,
                None => break,
            },
            None => Duration::from_secs(3600),
        };
        // Wake for the poll's closing time too.
        let wait = classroom.until_due().map_or(left, |due| due.min(left));
        // Look at standard input's requests at least every 100 ms.
        let wait = match requests {
            Some(_) => wait.min(Duration::from_millis(100)),
            None => wait,
        };
        match events.recv_timeout(wait) {
            Ok(event) => {
                print_line(&event);
                classroom.on_event(&session, &event);
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
    if !ended {
        classroom.before_leaving(&session, &events);
    }
    let mut stats = serde_json::to_value(session.stats()).unwrap_or_default();
    if let Some(map) = stats.as_object_mut() {
        map.insert("event".into(), "stats".into());
    }
    print_line(&stats);
    if let Some(path) = &o.save_screen {
        save_screen(&session, path);
    }
    session.leave();
    if !ended {
        for event in events.try_iter() {
            print_line(&event);
        }
    }
    ExitCode::SUCCESS
}

/// What `--poll`, `--vote`, `--spotlight` and `--attendance` ask for,
/// carried out as the session goes.
struct Classroom<'a> {
    o: &'a ClassroomOptions,
    /// The poll we opened, once the server announced it, and when to close it.
    our_poll: Option<(String, Option<Instant>)>,
    /// Polls we already voted in.
    voted: Vec<String>,
}

impl<'a> Classroom<'a> {
    fn start(session: &Session, o: &'a ClassroomOptions) -> Classroom<'a> {
        let report = |r: Result<(), lanmeet_client::SessionError>| {
            if let Err(e) = r {
                print_error(&e.to_string());
            }
        };
        if let Some(who) = &o.spotlight {
            // Someone already here, by id or name; otherwise when they join.
            let state = session.state();
            if let Some(p) = state
                .participants
                .iter()
                .find(|p| p.client_id == *who || p.username == *who)
            {
                report(session.set_spotlight(Some(&p.client_id)));
            }
        }
        if let Some((question, options)) = &o.poll {
            report(session.create_poll(question, options, o.poll_anonymous, o.poll_multiple));
        }
        let mut c = Classroom {
            o,
            our_poll: None,
            voted: Vec::new(),
        };
        // A poll already open when we joined came in the join reply.
        if let Some(poll) = session.state().poll {
            c.vote_in(session, &poll.info.poll_id);
        }
        c
    }

    fn vote_in(&mut self, session: &Session, poll_id: &str) {
        let Some(choices) = &self.o.vote else {
            return;
        };
        if self.voted.iter().any(|v| v == poll_id) {
            return;
        }
        self.voted.push(poll_id.to_string());
        if let Err(e) = session.vote(poll_id, choices) {
            print_error(&e.to_string());
        }
    }

    fn on_event(&mut self, session: &Session, event: &Event) {
        if let (
            Event::ParticipantJoined {
                client_id,
                username,
            },
            Some(who),
        ) = (event, &self.o.spotlight)
        {
            if client_id == who || username == who {
                if let Err(e) = session.set_spotlight(Some(client_id)) {
                    print_error(&e.to_string());
                }
            }
        }
        if let Event::PollStarted(info) = event {
            if self.o.poll.is_some() && info.by == session.identity().client_id {
                let close_at = self
                    .o
                    .close_poll_after
                    .map(|s| Instant::now() + Duration::from_secs_f64(s));
                self.our_poll = Some((info.poll_id.clone(), close_at));
            }
            self.vote_in(session, &info.poll_id);
        }
    }

    /// How long until the poll is to be closed.
    fn until_due(&self) -> Option<Duration> {
        let (_, at) = self.our_poll.as_ref()?;
        Some(at.as_ref()?.saturating_duration_since(Instant::now()))
    }

    /// Closes our poll when its time has come.
    fn tick(&mut self, session: &Session) {
        if self.until_due().is_some_and(|d| d.is_zero()) {
            if let Some((id, _)) = self.our_poll.take() {
                if let Err(e) = session.close_poll(&id) {
                    print_error(&e.to_string());
                }
            }
        }
    }

    /// Before leaving: close our poll and ask for the attendance, and
    /// print the answers (for a second at most).
    fn before_leaving(&mut self, session: &Session, events: &std::sync::mpsc::Receiver<Event>) {
        let mut waiting_for = 0;
        if let Some((id, _)) = self.our_poll.take() {
            if session.close_poll(&id).is_ok() {
                waiting_for += 1;
            }
        }
        if self.o.attendance && session.request_attendance().is_ok() {
            waiting_for += 1;
        }
        let until = Instant::now() + Duration::from_secs(1);
        while waiting_for > 0 {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            match events.recv_timeout(left) {
                Ok(event) => {
                    print_line(&event);
                    if matches!(event, Event::PollResults(_) | Event::Attendance { .. }) {
                        waiting_for -= 1;
                    }
                }
                Err(_) => break,
            }
        }
    }
}

/// `--discover`: probes, prints one `server_found` line per answer.
pub fn discover(host: Option<&str>, udp_port: u16, seconds: f64) -> ExitCode {
    use std::net::ToSocketAddrs;
    let extra: Vec<std::net::IpAddr> = host
        .and_then(|h| (h, udp_port).to_socket_addrs().ok())
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default();
    let wait = Duration::from_secs_f64(seconds.clamp(0.1, 3600.0));
    match lanmeet_client::discovery::discover(udp_port, &extra, wait) {
        Ok(found) => {
            for server in found {
                let mut line = serde_json::to_value(&server).unwrap_or_default();
                if let Some(map) = line.as_object_mut() {
                    map.insert("event".into(), "server_found".into());
                }
                print_line(&line);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_error(&format!("cannot look for servers: {e}"));
            ExitCode::from(1)
        }
    }
}

/// Lines `save-screen` on standard input, read on a thread of their own.
fn save_requests() -> std::sync::mpsc::Receiver<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { return };
                if line.trim() == "save-screen" && tx.send(()).is_err() {
                    return;
                }
            }
        });
    rx
}

/// Writes the shared screen as we hold it to `path` and says so (or says
/// why not).
fn save_screen(session: &Session, path: &std::path::Path) {
    let Some(frame) = session.latest_screen_frame() else {
        print_error("--save-screen: no shared screen to save");
        return;
    };
    let img = &frame.image;
    let bytes = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ppm"))
    {
        Ok(lanmeet_client::image::encode_ppm(img))
    } else {
        lanmeet_client::image::encode_png(img)
    };
    let written = bytes
        .map_err(|e| e.to_string())
        .and_then(|b| std::fs::write(path, b).map_err(|e| e.to_string()));
    match written {
        Ok(()) => print_line(&serde_json::json!({
            "event": "screen_saved",
            "path": path.display().to_string(),
            "width": img.width,
            "height": img.height,
        })),
        Err(e) => print_error(&format!("--save-screen {}: {e}", path.display())),
    }
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
             --accept-files --seconds 2.5 --size 320x240 --fps 10 --quality 50 \
             --save-screen held.png",
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
        assert_eq!(o.save_screen, Some(PathBuf::from("held.png")));
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
    fn parses_classroom_options() {
        let cmd = parse_args(
            &[
                "--headless",
                "--host",
                "h",
                "--name",
                "a",
                "--create",
                "--title",
                "CS101 lab",
                "--listed",
                "--poll",
                "Done?|Yes|No",
                "--poll-multiple",
                "--close-poll-after",
                "3",
                "--vote",
                "0,1",
                "--attendance",
            ]
            .map(String::from),
        )
        .unwrap();
        let Command::Headless(o) = cmd else {
            panic!("not headless: {cmd:?}")
        };
        let c = &o.classroom;
        assert_eq!(c.title.as_deref(), Some("CS101 lab"));
        assert!(c.listed && c.poll_multiple && c.attendance && !c.poll_anonymous);
        assert_eq!(
            c.poll,
            Some(("Done?".into(), vec!["Yes".into(), "No".into()]))
        );
        assert_eq!(c.vote, Some(vec![0, 1]));
        assert_eq!(c.close_poll_after, Some(3.0));
        assert!(parse_args(&args("--headless --host h --name a --create --poll Q|only")).is_err());
        assert!(parse_args(&args("--headless --host h --name a --create --vote x")).is_err());
        assert_eq!(
            parse_args(&args("--discover --host 127.0.0.1 --port 6000 --seconds 1")).unwrap(),
            Command::Discover {
                host: Some("127.0.0.1".into()),
                udp_port: 6001,
                seconds: 1.0
            }
        );
    }

    #[test]
    fn voice_processing_is_on_unless_switched_off() {
        let parse = |line: &str| match parse_args(&args(line)).unwrap() {
            Command::Headless(o) => o.voice,
            other => panic!("not headless: {other:?}"),
        };
        let base = "--headless --host h --name a --create --audio mic";
        assert_eq!(parse(base), VoiceSettings::default());
        let off = parse(&format!("{base} --no-echo-cancel"));
        assert!(!off.echo_cancel && off.noise_suppression);
        let off = parse(&format!("{base} --no-noise-suppression --no-echo-cancel"));
        assert_eq!(off, VoiceSettings::OFF);
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
