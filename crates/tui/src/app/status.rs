//! The status line's state: the message of the moment (a note or an
//! error, gone after a while), the index summary shown when there is no
//! message, and the spinner's frame.

use std::time::{Duration, Instant};

use crate::backend::IndexSummary;

/// The spinner's (and, while playing, the play position's) frame time.
pub const SPIN_EVERY: Duration = Duration::from_millis(80);

/// A status message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The text.
    pub text: String,
    /// Shown as an error.
    pub error: bool,
    until: Instant,
    /// A list request's error: a later answer makes it old news.
    from_list: bool,
}

/// What the status line shows, apart from playback.
#[derive(Debug, Clone)]
pub struct StatusLine {
    /// The status message.
    pub message: Option<Message>,
    /// The index summary, or why it is missing.
    pub summary: Option<Result<IndexSummary, String>>,
    /// Spinner frame.
    pub spinner: usize,
    /// When the spinner last moved (it moves every [`SPIN_EVERY`], however
    /// often ticks come).
    spun_at: Option<Instant>,
    /// How long a message stays.
    message_time: Duration,
    /// The last note said with [`StatusLine::note_once`].
    noted: Option<String>,
}

impl StatusLine {
    /// An empty status line whose messages stay `message_time`.
    pub fn new(message_time: Duration) -> Self {
        StatusLine {
            message: None,
            summary: None,
            spinner: 0,
            spun_at: None,
            message_time,
            noted: None,
        }
    }

    /// Shows `text` as a note.
    pub(super) fn say(&mut self, text: String, now: Instant) {
        self.show(text, false, now);
    }

    /// Shows `text` as a note unless it is the last one shown this way:
    /// a standing condition (no sound ranking) is said once, not at every
    /// query.
    pub(super) fn note_once(&mut self, text: String, now: Instant) {
        if self.noted.as_deref() != Some(text.as_str()) {
            self.noted = Some(text.clone());
            self.say(text, now);
        }
    }

    /// Shows `text` as an error.
    pub(super) fn say_error(&mut self, text: String, now: Instant) {
        self.show(text, true, now);
    }

    /// Shows `text` as the error of a list request; the next list that
    /// arrives clears it ([`StatusLine::list_arrived`]).
    pub(super) fn say_list_error(&mut self, text: String, now: Instant) {
        self.show(text, true, now);
        if let Some(m) = self.message.as_mut() {
            m.from_list = true;
        }
    }

    /// A list arrived: an error of an earlier list request no longer
    /// holds (the query that caused it was fixed).
    pub(super) fn list_arrived(&mut self) {
        if self.message.as_ref().is_some_and(|m| m.from_list) {
            self.message = None;
        }
    }

    fn show(&mut self, text: String, error: bool, now: Instant) {
        self.message = Some(Message {
            text,
            error,
            until: now + self.message_time,
            from_list: false,
        });
    }

    /// Moves the spinner on when a frame has passed, and lets an old
    /// message go.
    pub(super) fn tick(&mut self, now: Instant) {
        if self
            .spun_at
            .is_none_or(|t| now.saturating_duration_since(t) >= SPIN_EVERY)
        {
            self.spinner = self.spinner.wrapping_add(1);
            self.spun_at = Some(now);
        }
        if self.message.as_ref().is_some_and(|m| m.until <= now) {
            self.message = None;
        }
    }

    /// When the message goes.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.message.as_ref().map(|m| m.until)
    }
}
