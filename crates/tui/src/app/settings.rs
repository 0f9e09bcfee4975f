//! The UI core's timing and size settings, read once when the [`App`]
//! starts; each part keeps the ones it needs.
//!
//! [`App`]: super::App

use std::time::Duration;

/// Timing and size settings of the UI core.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Hits asked for per list at first, and how many more each time the
    /// selection nears the end of a list that may go on (a page).
    pub k: usize,
    /// Quiet time after a keystroke in the query line before the search runs.
    pub search_debounce: Duration,
    /// Quiet time after a mark before the list is re-ranked (marks made in
    /// a quick run re-rank once).
    pub refine_debounce: Duration,
    /// Dwell time on a hit before audition plays it (scrolling past hits
    /// does not start each one).
    pub audition_delay: Duration,
    /// How long a status message stays.
    pub message_time: Duration,
    /// Seek step for ←/→, seconds.
    pub seek_step_s: f64,
    /// Seek step for Shift-←/→, seconds.
    pub seek_far_s: f64,
    /// Starting volume, 0 to 1.
    pub volume: f32,
    /// Draw in colour (off when `NO_COLOR` is set).
    pub color: bool,
    /// The confidence a category suggestion needs to be offered (below it,
    /// the detail pane shows the best guess, and `c` accepts nothing):
    /// `hark categorize`'s default `--min-confidence`.
    pub min_confidence: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            k: 200,
            search_debounce: Duration::from_millis(120),
            refine_debounce: Duration::from_millis(350),
            audition_delay: Duration::from_millis(150),
            message_time: Duration::from_secs(5),
            seek_step_s: 1.0,
            seek_far_s: 10.0,
            volume: 0.8,
            color: true,
            min_confidence: 0.5,
        }
    }
}
