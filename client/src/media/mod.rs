//! The media pipelines and what they are made of, depending only on the
//! traits below and on `common`: no sockets, no threads, no session.
//!
//! ```text
//!  camera:  VideoSource  --> VideoEncoder::send_layers --> 'V' datagrams
//!                                  (and thumb::ThumbEncoder) --> 'T' datagrams
//!  screen:  ScreenSource --> ScreenEncoder::next_update --> screen_frame | screen_patch
//!  viewer:  screen_frame | screen_patch --> ScreenCanvas (the picture held)
//!  mic:     AudioSource  --> VoiceProcessor (echo, noise) --> AudioEncoder --> 'A' datagrams
//!  receive: DecodeJob    --> video::decode_frame      --> RgbImage
//!  speaker: play_frame   --> AudioSink::write_frame
//!  pacing:  Pacer (frame n due at start + n x period)
//! ```
//!
//! The shell runs each pipeline on its own thread and hands it the
//! sockets; `devices` implements the traits for real hardware, and the
//! synthetic sources here (a test pattern, a tone, WAV files, an image
//! file) need none.

pub mod audio;
mod error;
mod font;
pub mod fragment_pace;
pub mod image;
pub mod pace;
pub mod screen;
pub mod thumb;
pub mod tiles;
pub mod video;
pub mod voice;
pub mod wav;

pub use audio::{AudioEncoder, AudioSink, AudioSource, AudioStep, SpeechLike, ToneSource};
pub use error::MediaError;
pub use image::RgbImage;
pub use pace::Pacer;
pub use screen::{
    ImageScreen, ScreenCanvas, ScreenConfig, ScreenEncoder, ScreenSource, ScreenUpdate,
};
pub use thumb::Layers;
pub use video::{TestPattern, VideoConfig, VideoEncoder, VideoFrame, VideoSource};
pub use voice::{VoiceProcessor, VoiceSettings};
