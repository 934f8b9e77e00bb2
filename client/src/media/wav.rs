//! WAV files: reading one as an audio source, recording the meeting's
//! sound into one as an audio sink.
//!
//! Only 16-bit PCM is read (mono or stereo, any rate: it is downmixed and
//! resampled to the wire's 48 kHz mono). Recordings are 48 kHz mono 16-bit,
//! the wire format itself, so a test can look at exactly what was heard.
//!
//! ```text
//!  "RIFF" size "WAVE" | "fmt " 16 fmt... | "data" size samples...
//! ```

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use lanmeet_common::audio::{Frame, FRAME_SAMPLES, SAMPLE_RATE};

use super::audio::{AudioSink, AudioSource};
use super::error::MediaError;

/// A whole WAV file's sound as mono samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavData {
    /// Samples per second.
    pub rate: u32,
    /// Mono samples (stereo files are averaged).
    pub samples: Vec<i16>,
}

fn format_err(why: &str) -> MediaError {
    MediaError::Format(format!("WAV: {why}"))
}

/// Parses a WAV file held in memory.
pub fn parse_wav(bytes: &[u8]) -> Result<WavData, MediaError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(format_err("not a RIFF/WAVE file"));
    }
    let mut pos = 12;
    let mut format: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let body_start = pos + 8;
        // A recorder killed mid-way leaves a data length of 0 or too big:
        // take what is there.
        let body_end = body_start.saturating_add(len).min(bytes.len());
        let body = &bytes[body_start..body_end];
        if id == b"fmt " {
            if body.len() < 16 {
                return Err(format_err("short fmt chunk"));
            }
            let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            format = Some((u16_at(0), u16_at(2), rate, u16_at(14)));
        } else if id == b"data" {
            let (tag, channels, rate, bits) =
                format.ok_or_else(|| format_err("data before fmt"))?;
            if tag != 1 || bits != 16 {
                return Err(format_err("only 16-bit PCM is read"));
            }
            if channels == 0 || rate == 0 {
                return Err(format_err("no channels or no rate"));
            }
            let frame = usize::from(channels) * 2;
            let samples = body
                .chunks_exact(frame)
                .map(|f| {
                    let sum: i32 = f
                        .chunks_exact(2)
                        .map(|s| i32::from(i16::from_le_bytes([s[0], s[1]])))
                        .sum();
                    (sum / i32::from(channels)) as i16
                })
                .collect();
            return Ok(WavData { rate, samples });
        }
        pos = body_start.saturating_add(len + (len & 1));
    }
    Err(format_err("no data chunk"))
}

/// Reads a WAV file.
pub fn read_wav(path: &Path) -> Result<WavData, MediaError> {
    parse_wav(&std::fs::read(path)?)
}

/// Linear resampling to 48 kHz.
pub fn resample_to_wire(data: &WavData) -> Vec<i16> {
    if data.rate == SAMPLE_RATE || data.samples.is_empty() {
        return data.samples.clone();
    }
    let out_len =
        (data.samples.len() as u64 * u64::from(SAMPLE_RATE) / u64::from(data.rate)) as usize;
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * f64::from(data.rate) / f64::from(SAMPLE_RATE);
            let i0 = pos.floor() as usize;
            let i1 = (i0 + 1).min(data.samples.len() - 1);
            let frac = pos - i0 as f64;
            let a = f64::from(data.samples[i0.min(data.samples.len() - 1)]);
            let b = f64::from(data.samples[i1]);
            (a + (b - a) * frac).round() as i16
        })
        .collect()
}

/// Plays a WAV file once as the microphone, then ends.
///
/// The file is read whole into memory: it is meant for test clips and
/// prompts, not hours of sound.
pub struct WavSource {
    samples: Vec<i16>,
    pos: usize,
    repeat: bool,
}

impl WavSource {
    /// Opens and converts a WAV file; `repeat` loops it forever.
    pub fn open(path: &Path, repeat: bool) -> Result<WavSource, MediaError> {
        let data = read_wav(path)?;
        Ok(WavSource {
            samples: resample_to_wire(&data),
            pos: 0,
            repeat,
        })
    }
}

impl AudioSource for WavSource {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool, MediaError> {
        if self.pos >= self.samples.len() {
            if !self.repeat || self.samples.is_empty() {
                return Ok(false);
            }
            self.pos = 0;
        }
        let end = (self.pos + FRAME_SAMPLES).min(self.samples.len());
        let n = end - self.pos;
        out[..n].copy_from_slice(&self.samples[self.pos..end]);
        out[n..].fill(0);
        self.pos = end;
        Ok(true)
    }
}

/// Records what it is given into a 48 kHz mono 16-bit WAV file.
pub struct WavWriter {
    out: BufWriter<File>,
    samples: u64,
    finished: bool,
}

impl WavWriter {
    /// Creates the file and writes a header (sizes are patched on finish).
    pub fn create(path: &Path) -> Result<WavWriter, MediaError> {
        let mut w = WavWriter {
            out: BufWriter::new(File::create(path)?),
            samples: 0,
            finished: false,
        };
        w.write_header()?;
        Ok(w)
    }

    fn write_header(&mut self) -> Result<(), MediaError> {
        let data_len = u32::try_from(self.samples * 2).unwrap_or(u32::MAX - 36);
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&(36 + data_len).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes()); // PCM
        h.extend_from_slice(&1u16.to_le_bytes()); // mono
        h.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
        h.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data_len.to_le_bytes());
        self.out.write_all(&h)?;
        Ok(())
    }

    /// Appends samples.
    pub fn write_samples(&mut self, samples: &[i16]) -> Result<(), MediaError> {
        let mut bytes = vec![0u8; samples.len() * 2];
        lanmeet_common::audio::encode_pcm(samples, &mut bytes);
        self.out.write_all(&bytes)?;
        self.samples += samples.len() as u64;
        Ok(())
    }

    /// Patches the sizes and flushes; later calls do nothing.
    pub fn finish(&mut self) -> Result<(), MediaError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        self.out.flush()?;
        self.out.seek(SeekFrom::Start(0))?;
        self.write_header()?;
        self.out.flush()?;
        Ok(())
    }
}

impl AudioSink for WavWriter {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        self.write_samples(frame)
    }

    fn finish(&mut self) -> Result<(), MediaError> {
        WavWriter::finish(self)
    }
}

impl Drop for WavWriter {
    fn drop(&mut self) {
        let _ = WavWriter::finish(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read() {
        let dir = std::env::temp_dir().join(format!("lanmeet-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.wav");
        let mut w = WavWriter::create(&path).unwrap();
        let frame: Frame = std::array::from_fn(|i| i as i16 - 240);
        w.write_frame(&frame).unwrap();
        w.write_frame(&frame).unwrap();
        AudioSink::finish(&mut w).unwrap();
        let data = read_wav(&path).unwrap();
        assert_eq!(data.rate, SAMPLE_RATE);
        assert_eq!(data.samples.len(), 960);
        assert_eq!(data.samples[..480], frame[..]);
        let mut src = WavSource::open(&path, false).unwrap();
        let mut out = [0i16; FRAME_SAMPLES];
        assert!(src.read_frame(&mut out).unwrap());
        assert!(src.read_frame(&mut out).unwrap());
        assert!(!src.read_frame(&mut out).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stereo_and_resampling() {
        let mut bytes = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        bytes.extend_from_slice(&16u32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&24_000u32.to_le_bytes());
        bytes.extend_from_slice(&96_000u32.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&16u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&8u32.to_le_bytes());
        for s in [100i16, 300, 1000, 1000] {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        let data = parse_wav(&bytes).unwrap();
        assert_eq!(data.samples, [200, 1000]);
        assert_eq!(resample_to_wire(&data), [200, 600, 1000, 1000]);
        assert!(parse_wav(b"RIFF").is_err());
        assert!(parse_wav(b"RIFF\0\0\0\0WAVEdata\0\0\0\0").is_err());
    }
}
