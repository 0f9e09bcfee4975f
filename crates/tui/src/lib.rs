//! The terminal UI of hark: `hark tui [QUERY]`. Search a sound library as
//! you type, listen, refine, and hand sounds on to a DAW, without leaving
//! the keyboard.
//!
//! The UI talks to the search engine through the [`Backend`] trait (the
//! hark-query `Engine` contract, method for method), never to the model:
//! this crate builds without candle.
//!
//! # Brief overview
//!
//! [`run`] takes the terminal over ([`terminal`]: raw mode, the alternate
//! screen, stdout and stderr redirected to the log so nothing prints over
//! the screen, a panic hook that gives the terminal back) and runs the
//! event loop ([`runtime`]). The loop feeds messages (keys, mouse, worker
//! answers, ticks) to [`App::update`], a pure state machine ([`app`]) that
//! returns [`Effect`]s for the runtime to carry out on worker threads:
//! searches (the full-text stage at once, the text tower off the UI
//! thread, with a spinner), details, playback, exports. [`ui::draw`]
//! renders the state; [`layout`] decides where things go for the terminal's
//! size; [`keymap`] and [`strings`] hold every key binding and word shown;
//! [`text`] makes names, paths and tags safe and fit to draw.
//! [`playback`] plays sounds through an [`AudioSink`]: the system's device
//! (cargo feature `playback`, on by default) or a silent [`NullSink`].

pub mod app;
pub mod backend;
pub mod files;
pub mod keymap;
pub mod layout;
pub mod playback;
pub mod runtime;
pub mod strings;
pub mod terminal;
pub mod text;
pub mod ui;
pub mod waveform;

pub use app::{App, Effect, Msg, Settings};
pub use backend::{
    Backend, CategoryCandidate, CategorySuggestion, Copies, Duplicate, FileDetail, FileId, Hit,
    IndexSummary, Matched,
};
pub use playback::{AudioSink, NullSink, Player};
pub use runtime::{run, AudioOutput, Error, TuiOptions};
