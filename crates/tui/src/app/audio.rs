//! What the app asks of playback: play and stop the selected hit, seek,
//! volume, loop, audition (play each hit after a short dwell on it), and
//! the player's reports, which move the position shown.

use std::time::{Duration, Instant};

use super::protocol::{Effect, PlaybackEvent};
use super::settings::Settings;
use super::status::StatusLine;
use crate::backend::{FileId, Hit};
use crate::keymap::Action;
use crate::strings;

/// Volume step of `9` / `0`.
const VOLUME_STEP: f32 = 0.1;

/// The audio output as the UI knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// Not known yet (the player is opening it).
    Unknown,
    /// Open.
    Ready,
    /// None: the reason, shown on the status line.
    Missing(String),
}

/// The sound playing (or starting).
#[derive(Debug, Clone, PartialEq)]
pub struct NowPlaying {
    /// The request's token; events for other tokens are old news.
    pub token: u64,
    /// The file.
    pub id: FileId,
    /// Where it is, seconds from the file's start.
    pub position_s: f64,
    /// Its length, when known.
    pub duration_s: Option<f64>,
    /// The first sample has gone out.
    pub started: bool,
}

/// Playback state for the status line and the waveform cursor.
/// Playback state for the status line and the waveform cursor, and the
/// requests to the player.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// The device.
    pub device: Device,
    /// What plays.
    pub playing: Option<NowPlaying>,
    /// Volume, 0 to 1.
    pub volume: f32,
    /// Looping.
    pub looping: bool,
    /// Play each hit as it is selected.
    pub audition: bool,
    next_token: u64,
    /// When audition plays the hit the selection rests on.
    audition_due: Option<Instant>,
    audition_delay: Duration,
    seek_step_s: f64,
    seek_far_s: f64,
}

impl Audio {
    /// Nothing playing, the device not known yet, at the settings' volume.
    pub fn new(settings: &Settings) -> Self {
        Audio {
            device: Device::Unknown,
            playing: None,
            volume: settings.volume,
            looping: false,
            audition: false,
            next_token: 0,
            audition_due: None,
            audition_delay: settings.audition_delay,
            seek_step_s: settings.seek_step_s,
            seek_far_s: settings.seek_far_s,
        }
    }

    /// The playback keys, on the `selected` hit.
    pub(super) fn on_action(
        &mut self,
        action: Action,
        selected: Option<&Hit>,
        status: &mut StatusLine,
        now: Instant,
    ) -> Vec<Effect> {
        match action {
            Action::PlayStop => {
                if self.playing_selected(selected).is_some() {
                    self.playing = None;
                    return vec![Effect::Stop];
                }
                self.play(selected, None, status, now)
            }
            Action::ToggleAudition => {
                self.audition = !self.audition;
                status.say(strings::audition(self.audition).into(), now);
                self.audition_due = None;
                if self.audition && self.playing_selected(selected).is_none() && selected.is_some()
                {
                    return self.play(selected, None, status, now);
                }
                Vec::new()
            }
            Action::SeekBack => self.seek(-self.seek_step_s),
            Action::SeekForward => self.seek(self.seek_step_s),
            Action::SeekBackFar => self.seek(-self.seek_far_s),
            Action::SeekForwardFar => self.seek(self.seek_far_s),
            Action::ToggleLoop => {
                self.looping = !self.looping;
                status.say(strings::looping(self.looping).into(), now);
                vec![Effect::SetLooping(self.looping)]
            }
            Action::VolumeDown | Action::VolumeUp => {
                let step = if action == Action::VolumeUp {
                    VOLUME_STEP
                } else {
                    -VOLUME_STEP
                };
                // Round to the step so repeated presses land on whole tens.
                self.volume = ((self.volume + step) * 10.0).round().clamp(0.0, 10.0) / 10.0;
                status.say(strings::volume(self.volume), now);
                vec![Effect::SetVolume(self.volume)]
            }
            _ => Vec::new(),
        }
    }

    /// The selection moved to `selected`: with audition on, it plays after
    /// a short dwell (scrolling past hits does not start each one).
    pub(super) fn selection_changed(&mut self, selected: Option<&Hit>, now: Instant) {
        if selected.is_some() && self.audition && self.playing_selected(selected).is_none() {
            self.audition_due = Some(now + self.audition_delay);
        }
    }

    /// Plays the `selected` hit if audition's dwell is over.
    pub(super) fn tick(
        &mut self,
        selected: Option<&Hit>,
        status: &mut StatusLine,
        now: Instant,
    ) -> Vec<Effect> {
        if self.audition_due.is_none_or(|t| t > now) {
            return Vec::new();
        }
        self.audition_due = None;
        if self.audition && self.playing_selected(selected).is_none() {
            return self.play(selected, None, status, now);
        }
        Vec::new()
    }

    /// When audition plays.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.audition_due
    }

    /// The playing sound, if it is `selected`'s.
    fn playing_selected(&self, selected: Option<&Hit>) -> Option<&NowPlaying> {
        let id = selected?.id;
        self.playing.as_ref().filter(|p| p.id == id)
    }

    /// Plays `selected` from `from_s` (its match, or its start, when `None`).
    fn play(
        &mut self,
        selected: Option<&Hit>,
        from_s: Option<f64>,
        status: &mut StatusLine,
        now: Instant,
    ) -> Vec<Effect> {
        if let Device::Missing(reason) = &self.device {
            status.say_error(strings::no_audio(reason), now);
            return Vec::new();
        }
        let Some(hit) = selected else {
            status.say_error(strings::NOTHING_SELECTED.into(), now);
            return Vec::new();
        };
        self.next_token += 1;
        let token = self.next_token;
        let start_s = from_s.or(hit.offset_s).unwrap_or(0.0).max(0.0);
        self.playing = Some(NowPlaying {
            token,
            id: hit.id,
            position_s: start_s,
            duration_s: hit.duration_s,
            started: false,
        });
        vec![Effect::Play {
            token,
            path: hit.path.clone(),
            start_s,
        }]
    }

    fn seek(&mut self, by_s: f64) -> Vec<Effect> {
        match &mut self.playing {
            Some(p) => {
                // Shown at once; the player's next position report confirms it.
                p.position_s = (p.position_s + by_s).max(0.0);
                vec![Effect::SeekBy(by_s)]
            }
            None => Vec::new(),
        }
    }

    /// Plays the `selected` hit from `fraction` of its length (seeks if it
    /// plays).
    pub(super) fn click_waveform(
        &mut self,
        fraction: f64,
        selected: Option<&Hit>,
        status: &mut StatusLine,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(duration) = selected.and_then(|h| h.duration_s) else {
            return Vec::new();
        };
        let target = fraction.clamp(0.0, 1.0) * duration;
        if self.playing_selected(selected).is_some() {
            if let Some(p) = self.playing.as_mut() {
                p.position_s = target;
            }
            return vec![Effect::SeekTo(target)];
        }
        self.play(selected, Some(target), status, now)
    }

    /// Applies a report of the player's; reports on earlier sounds are
    /// old news.
    pub(super) fn on_event(&mut self, event: PlaybackEvent, status: &mut StatusLine, now: Instant) {
        let current = self.playing.as_ref().map(|p| p.token);
        let is_current = |token: u64| current == Some(token);
        match event {
            PlaybackEvent::DeviceReady => self.device = Device::Ready,
            PlaybackEvent::DeviceMissing(reason) => {
                status.say_error(strings::no_audio(&reason), now);
                self.device = Device::Missing(reason);
                self.playing = None;
            }
            PlaybackEvent::Started { token, duration_s } if is_current(token) => {
                if let Some(p) = self.playing.as_mut() {
                    p.started = true;
                    p.duration_s = duration_s.or(p.duration_s);
                }
            }
            PlaybackEvent::Position { token, position_s } if is_current(token) => {
                if let Some(p) = self.playing.as_mut() {
                    p.position_s = position_s;
                }
            }
            PlaybackEvent::Finished { token } if is_current(token) => self.playing = None,
            PlaybackEvent::Failed { token, message } if is_current(token) => {
                self.playing = None;
                status.say_error(strings::play_failed(&message), now);
            }
            _ => {} // Old news about an earlier sound.
        }
    }
}
