//! The output device outside Linux: rodio's mixer on cpal (on Linux,
//! `device.rs` writes to ALSA through a library loaded at run time).

use super::player::{AudioSink, PlaybackError, Voice};

/// The system's default output device, through rodio's mixer on cpal.
pub struct DeviceSink {
    device: rodio::MixerDeviceSink,
}

impl DeviceSink {
    /// Opens the default output device (falling back to other
    /// configurations it supports). cpal's stream errors go to the log.
    pub fn open() -> Result<DeviceSink, PlaybackError> {
        let no_device = |e: rodio::DeviceSinkError| PlaybackError::NoDevice(e.to_string());
        let mut device = rodio::DeviceSinkBuilder::from_default_device()
            .map_err(no_device)?
            .with_error_callback(|e| tracing::warn!("audio device: {e}"))
            .open_sink_or_fallback()
            .map_err(no_device)?;
        // Its drop message would go to stderr; hark closes it on purpose.
        device.log_on_drop(false);
        Ok(DeviceSink { device })
    }
}

impl AudioSink for DeviceSink {
    fn play(&mut self, voice: Voice) -> Result<(), PlaybackError> {
        self.device.mixer().add(voice);
        Ok(())
    }
}
