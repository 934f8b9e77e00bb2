//! What the window sends and plays: the device choices, opening them, and
//! two taps the window needs from the media threads.
//!
//! ```text
//!  DeviceCatalog::discover()  devices::list() (+ test sources when
//!                             LANMEET_TEST_SOURCES=1) --> settings dialog
//!  open_camera(choice)     --> SelfView tap --> session.start_video
//!                                 '--> newest small RGB copy --> our own tile
//!  open_microphone(choice) --> LevelMeter --> push-to-talk gate --> session.start_audio
//!                                 '--> peak level --> active-speaker border
//!  open_speaker(choice)    --> SpeakerMeter --> session.start_playback
//!                                 '--> peak of the meeting's sound
//!  open_monitor(choice)    --> SharePreview tap --> session.start_screen_share
//!                                 '--> the presenter's own view of the share
//! ```
//!
//! The taps run on the session's media threads, so the UI thread never
//! decodes or scales a picture: it only copies the small self-view image
//! the tap already made.
//!
//! Without a device of a kind the choice is `Off` and the toolbar button
//! is greyed out with the reason. Test sources (a test pattern, a tone, a
//! test screen, a silent speaker) are offered only when
//! `LANMEET_TEST_SOURCES=1`, for demos and automated runs on machines
//! without devices.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use lanmeet_client::devices::{self, DeviceInfo};
use lanmeet_client::image::{decode_jpeg, fit_within, resize};
use lanmeet_client::{
    AudioSink, AudioSource, MediaError, RgbImage, ScreenSource, TestPattern, ToneSource,
    VideoSource,
};
use lanmeet_common::audio::Frame;

/// One entry of a device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Do not use this kind of device.
    Off,
    /// The synthetic source (test pattern, tone, test screen, silence).
    Test,
    /// A real device, by its id.
    Device(String),
}

/// Devices of one kind: the entries to offer and, when there is none,
/// why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceOptions {
    /// (choice, label) in the order to show them.
    pub entries: Vec<(Choice, String)>,
    /// The entry to use when nothing was picked.
    pub default: Option<Choice>,
    /// Why none can be used (when `entries` is empty).
    pub missing: Option<String>,
}

/// Every kind of device the window can use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceCatalog {
    /// Cameras.
    pub cameras: DeviceOptions,
    /// Microphones.
    pub microphones: DeviceOptions,
    /// Speakers.
    pub speakers: DeviceOptions,
    /// Screens to share.
    pub monitors: DeviceOptions,
}

/// Builds the options of one kind from the devices found and whether to
/// add the test source.
pub fn options(
    found: &[DeviceInfo],
    test: Option<&str>,
    kind: &str,
    problems: &[String],
) -> DeviceOptions {
    let mut entries: Vec<(Choice, String)> = found
        .iter()
        .map(|d| (Choice::Device(d.id.clone()), d.name.clone()))
        .collect();
    if let Some(label) = test {
        entries.push((Choice::Test, label.to_string()));
    }
    // Test sources are asked for on purpose (demos, automated runs), so
    // they win over whatever the machine has.
    let default = if test.is_some() {
        Some(Choice::Test)
    } else {
        found
            .iter()
            .find(|d| d.is_default)
            .map(|d| Choice::Device(d.id.clone()))
            .or_else(|| entries.first().map(|(c, _)| c.clone()))
    };
    let missing = if entries.is_empty() {
        let why = problems
            .iter()
            .find(|p| p.contains(kind))
            .cloned()
            .unwrap_or_else(|| format!("no {kind} found"));
        Some(format!("Not available: {why}"))
    } else {
        None
    };
    DeviceOptions {
        entries,
        default,
        missing,
    }
}

impl DeviceCatalog {
    /// Lists the devices (and test sources when asked for).
    pub fn discover(test_sources: bool) -> DeviceCatalog {
        let list = devices::list();
        let test = |label| test_sources.then_some(label);
        DeviceCatalog {
            cameras: options(
                &list.cameras,
                test("Test pattern"),
                "camera",
                &list.problems,
            ),
            microphones: options(
                &list.inputs,
                test("Test tone"),
                "microphone",
                &list.problems,
            ),
            speakers: options(
                &list.outputs,
                test("Silent (discard sound)"),
                "speaker",
                &list.problems,
            ),
            monitors: options(
                &list.monitors,
                test("Test screen"),
                "screen",
                &list.problems,
            ),
        }
    }
}

/// The newest self-view picture, small, with a counter that tells a new
/// one from the last.
#[derive(Clone, Default)]
pub struct SelfViewSlot {
    latest: Arc<Mutex<Option<Arc<RgbImage>>>>,
}

impl SelfViewSlot {
    /// The newest picture.
    pub fn latest(&self) -> Option<Arc<RgbImage>> {
        self.latest.lock().ok().and_then(|g| g.clone())
    }

    /// Forgets the picture (camera off).
    pub fn clear(&self) {
        if let Ok(mut g) = self.latest.lock() {
            *g = None;
        }
    }

    fn publish(&self, img: &RgbImage) {
        self.publish_within(img, SELF_VIEW_SIDE);
    }

    fn publish_within(&self, img: &RgbImage, side: u32) {
        let (w, h) = fit_within(img.width, img.height, side);
        let small = Arc::new(resize(img, w, h));
        if let Ok(mut g) = self.latest.lock() {
            *g = Some(small);
        }
    }
}

/// Longest side of the self-view copy: a tile rarely shows more.
const SELF_VIEW_SIDE: u32 = 480;

/// A camera with a tap that keeps a small copy of what it sends.
struct SelfView {
    inner: Box<dyn VideoSource>,
    slot: SelfViewSlot,
    frames: u64,
}

impl VideoSource for SelfView {
    fn next_frame(&mut self) -> Result<RgbImage, MediaError> {
        let img = self.inner.next_frame()?;
        self.slot.publish(&img);
        Ok(img)
    }

    fn next_jpeg(&mut self, width: u32, height: u32) -> Result<Option<Vec<u8>>, MediaError> {
        let jpeg = self.inner.next_jpeg(width, height)?;
        if let Some(bytes) = &jpeg {
            // A camera's own JPEG goes out untouched; decoding every other
            // one for the self-view keeps it smooth enough at half the cost.
            self.frames += 1;
            if self.frames % 2 == 1 {
                if let Ok(img) = decode_jpeg(bytes) {
                    self.slot.publish(&img);
                }
            }
        }
        Ok(jpeg)
    }
}

/// The peak level of the last frame through a tap (the microphone's, or
/// the meeting's sound on its way to the speaker), 0..=32767.
#[derive(Clone, Default)]
pub struct AudioLevel {
    peak: Arc<AtomicU32>,
}

impl AudioLevel {
    /// The last frame's peak.
    pub fn peak(&self) -> u32 {
        self.peak.load(Ordering::Relaxed)
    }

    fn measure(&self, frame: &Frame) {
        let peak = frame
            .iter()
            .map(|s| u32::from(s.unsigned_abs()))
            .max()
            .unwrap_or(0);
        self.peak.store(peak, Ordering::Relaxed);
    }
}

/// Peak above which someone counts as speaking (about -18 dBFS).
pub const SPEAKING_PEAK: u32 = 4000;

/// A microphone with a tap that measures each frame's peak.
struct LevelMeter {
    inner: Box<dyn AudioSource>,
    level: AudioLevel,
}

impl AudioSource for LevelMeter {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool, MediaError> {
        let more = self.inner.read_frame(out)?;
        self.level.measure(out);
        Ok(more)
    }
}

/// A speaker with a tap that measures the meeting's sound.
struct SpeakerMeter {
    inner: Box<dyn AudioSink>,
    level: AudioLevel,
}

impl AudioSink for SpeakerMeter {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        self.level.measure(frame);
        self.inner.write_frame(frame)
    }

    fn finish(&mut self) -> Result<(), MediaError> {
        self.inner.finish()
    }
}

/// A speaker that plays nothing (the test choice).
struct SilentSpeaker;

impl AudioSink for SilentSpeaker {
    fn write_frame(&mut self, _frame: &Frame) -> Result<(), MediaError> {
        Ok(())
    }
}

/// The test pattern as a screen to share.
struct TestScreen(TestPattern, u64);

impl ScreenSource for TestScreen {
    fn capture(&mut self) -> Result<RgbImage, MediaError> {
        self.1 += 1;
        Ok(self.0.draw(self.1))
    }
}

/// Opens the chosen camera behind a self-view tap.
pub fn open_camera(
    choice: &Choice,
    size: (u32, u32),
    fps: u32,
    slot: &SelfViewSlot,
) -> Result<Box<dyn VideoSource>, String> {
    let inner: Box<dyn VideoSource> = match choice {
        Choice::Off => return Err("no camera is chosen (see Settings)".into()),
        Choice::Test => Box::new(TestPattern::new(size.0, size.1)),
        Choice::Device(id) => {
            devices::open_camera(Some(id), size.0, size.1, fps).map_err(|e| e.to_string())?
        }
    };
    Ok(Box::new(SelfView {
        inner,
        slot: slot.clone(),
        frames: 0,
    }))
}

/// Opens the chosen microphone behind a level meter and the push-to-talk
/// gate.
pub fn open_microphone(
    choice: &Choice,
    name: &str,
    level: &AudioLevel,
    talk: &devices::PushToTalk,
) -> Result<Box<dyn AudioSource>, String> {
    let inner: Box<dyn AudioSource> = match choice {
        Choice::Off => return Err("no microphone is chosen (see Settings)".into()),
        Choice::Test => Box::new(ToneSource::new(ToneSource::frequency_for(name))),
        Choice::Device(id) => devices::open_microphone(Some(id)).map_err(|e| e.to_string())?,
    };
    Ok(talk.gate(Box::new(LevelMeter {
        inner,
        level: level.clone(),
    })))
}

/// Opens the chosen speaker behind a level meter.
pub fn open_speaker(choice: &Choice, level: &AudioLevel) -> Result<Box<dyn AudioSink>, String> {
    let inner: Box<dyn AudioSink> = match choice {
        Choice::Off => return Err("no speaker is chosen (see Settings)".into()),
        Choice::Test => Box::new(SilentSpeaker),
        Choice::Device(id) => devices::open_speaker(Some(id)).map_err(|e| e.to_string())?,
    };
    Ok(Box::new(SpeakerMeter {
        inner,
        level: level.clone(),
    }))
}

/// A screen with a tap that keeps a copy of what is shared, so the
/// presenter sees what the others see.
struct SharePreview {
    inner: Box<dyn ScreenSource>,
    slot: SelfViewSlot,
}

impl ScreenSource for SharePreview {
    fn capture(&mut self) -> Result<RgbImage, MediaError> {
        let img = self.inner.capture()?;
        self.slot.publish_within(&img, SHARE_PREVIEW_SIDE);
        Ok(img)
    }
}

/// Longest side of the presenter's own preview.
const SHARE_PREVIEW_SIDE: u32 = 960;

/// Opens the chosen screen for sharing, behind a preview tap.
pub fn open_monitor(
    choice: &Choice,
    preview: &SelfViewSlot,
) -> Result<Box<dyn ScreenSource>, String> {
    let inner: Box<dyn ScreenSource> = match choice {
        Choice::Off => return Err("no screen can be shared here (see Settings)".into()),
        Choice::Test => Box::new(TestScreen(TestPattern::new(1280, 720), 0)),
        Choice::Device(id) => devices::open_monitor(Some(id)).map_err(|e| e.to_string())?,
    };
    Ok(Box::new(SharePreview {
        inner,
        slot: preview.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: &str, default: bool) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            name: format!("Device {id}"),
            detail: String::new(),
            is_default: default,
        }
    }

    #[test]
    fn the_default_device_is_preferred_unless_test_sources_are_asked_for() {
        let found = [dev("a", false), dev("b", true)];
        let o = options(&found, None, "camera", &[]);
        assert_eq!(o.default, Some(Choice::Device("b".into())));
        // Test sources are asked for on purpose: they are the default then.
        let o = options(&found, Some("Test"), "camera", &[]);
        assert_eq!(o.default, Some(Choice::Test));
        assert_eq!(o.entries.last().unwrap().0, Choice::Test);
        assert_eq!(o.missing, None);
        let o = options(&[], Some("Test"), "camera", &[]);
        assert_eq!(o.default, Some(Choice::Test));
    }

    #[test]
    fn no_device_says_why() {
        let problems = vec!["no microphone can be used here: no sound server".to_string()];
        let o = options(&[], None, "microphone", &problems);
        assert!(o.entries.is_empty());
        assert_eq!(o.default, None);
        assert_eq!(
            o.missing.as_deref(),
            Some("Not available: no microphone can be used here: no sound server")
        );
        let o = options(&[], None, "camera", &problems);
        assert_eq!(o.missing.as_deref(), Some("Not available: no camera found"));
    }

    #[test]
    fn taps_see_what_goes_out() {
        let slot = SelfViewSlot::default();
        let mut cam = open_camera(&Choice::Test, (320, 240), 10, &slot).unwrap();
        cam.next_frame().unwrap();
        let seen = slot.latest().unwrap();
        assert_eq!((seen.width, seen.height), (320, 240));

        let level = AudioLevel::default();
        let talk = devices::PushToTalk::new();
        let mut mic = open_microphone(&Choice::Test, "ann", &level, &talk).unwrap();
        let mut frame = [0i16; 480];
        assert!(mic.read_frame(&mut frame).unwrap());
        assert!(level.peak() > SPEAKING_PEAK);
        assert!(open_camera(&Choice::Off, (320, 240), 10, &slot).is_err());
    }
}
