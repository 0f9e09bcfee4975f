//! Every word the UI shows, apart from the key help (which lives with the
//! bindings in [`crate::keymap`]): labels, placeholders and status messages.

use std::path::{Path, PathBuf};

/// The prompt before the query.
pub const QUERY_PROMPT: &str = "hark › ";
/// Shown in an empty, unfocused query line.
pub const QUERY_PLACEHOLDER: &str = "type to search (/ to focus)";
/// Shown in an empty, focused query line.
pub const QUERY_PLACEHOLDER_FOCUSED: &str =
    "describe a sound; \"phrases\", -exclusions, field:filters";
/// Title of the library listing.
pub const VIEW_RECENT: &str = "library, newest first";
/// Title of a similar-sounds list: `similar to NAME`.
pub fn view_similar(name: &str) -> String {
    format!("sounds like {name}")
}
/// Title of a list of copies: `copies of NAME` and how many files hold
/// the sound.
pub fn view_copies(name: &str, files: usize) -> String {
    match files {
        0 => format!("copies of {name}"),
        n => format!("copies of {name}: {n} files"),
    }
}
/// Title of a refined list.
pub fn view_refined(wanted: usize, unwanted: usize) -> String {
    format!("re-ranked +{wanted} −{unwanted}")
}
/// The hit count; `more` when the list goes on beyond the hits shown.
pub fn hit_count(n: usize, more: bool) -> String {
    match (n, more) {
        (n, true) => format!("{n}+ hits, more below"),
        (1, false) => "1 hit".into(),
        (n, false) => format!("{n} hits"),
    }
}
/// Title of the library listing while more of it is still to come.
pub fn view_recent_so_far(n: usize) -> String {
    format!("library, newest first: {n} so far, more below")
}
/// The empty list.
pub const NO_HITS: &str = "no hits";
/// The empty list of copies.
pub const NO_COPIES_LISTED: &str = "no copies";
/// The empty list while a search runs.
pub const SEARCHING: &str = "searching…";

/// List column headings.
pub const COL_RANK: &str = "#";
/// Score column heading.
pub const COL_SCORE: &str = "score";
/// Name column heading.
pub const COL_NAME: &str = "name";
/// Duration column heading.
pub const COL_DURATION: &str = "length";
/// Format column heading.
pub const COL_FORMAT: &str = "format";
/// Matched-by column heading.
pub const COL_MATCHED: &str = "by";
/// Matched-by words.
pub const MATCHED_SOUND: &str = "sound";
/// Matched by its words.
pub const MATCHED_WORDS: &str = "words";
/// Matched both ways.
pub const MATCHED_BOTH: &str = "both";
/// Listed by the filters.
pub const MATCHED_FILTER: &str = "filter";

/// Detail pane, nothing selected.
pub const DETAIL_NONE: &str = "nothing selected";
/// Detail pane while loading.
pub const DETAIL_LOADING: &str = "loading…";
/// Detail pane labels.
pub const LABEL_FORMAT: &str = "format";
/// UCS label.
pub const LABEL_UCS: &str = "UCS";
/// Detail pane, a file without stored peaks.
pub const NO_WAVEFORM: &str = "no waveform stored for this file";
/// Detail pane, a file without tags.
pub const NO_TAGS: &str = "no tags";

/// The activity shown with the spinner.
pub const BUSY_SEARCHING: &str = "searching";
/// The text tower is running.
pub const BUSY_EMBEDDING: &str = "embedding text";
/// Similar sounds are being looked up.
pub const BUSY_SIMILAR: &str = "finding similar";
/// A file's copies are being looked up.
pub const BUSY_COPIES: &str = "finding copies";
/// Relevance feedback is running.
pub const BUSY_REFINING: &str = "re-ranking";
/// Files are being copied.
pub const BUSY_EXPORTING: &str = "copying";

/// Status: the index summary.
pub fn summary(files: u64, indexed: u64, failed: u64) -> String {
    let mut notes = Vec::new();
    if indexed < files {
        notes.push(format!("{} indexed", thousands(indexed)));
    }
    if failed > 0 {
        notes.push(format!("{} failed", thousands(failed)));
    }
    if notes.is_empty() {
        format!("{} files", thousands(files))
    } else {
        format!("{} files ({})", thousands(files), notes.join(", "))
    }
}
/// Status: no index summary (yet, or it failed).
pub const SUMMARY_UNKNOWN: &str = "index: ?";
/// Status: the audio device is missing.
pub const NO_AUDIO: &str = "no audio device";
/// Status: playback is not built in.
pub const NO_PLAYBACK_BUILD: &str = "built without playback";
/// Status: audition toggle indicator.
pub const AUDITION_ON: &str = "audition";
/// Status: loop indicator.
pub const LOOP_ON: &str = "loop";

/// Message: the clipboard got a path.
pub fn copied(path: &Path) -> String {
    format!("copied `{}` (OSC 52)", path.display())
}
/// Message: an export finished.
pub fn exported(
    copied: usize,
    skipped: usize,
    renamed: &[(PathBuf, String)],
    dir: &Path,
) -> String {
    let files = if copied == 1 { "file" } else { "files" };
    let mut text = format!("copied {copied} {files} to `{}`", dir.display());
    if skipped > 0 {
        text.push_str(&format!(
            " ({skipped} already there, the same content, left as they were)"
        ));
    }
    if !renamed.is_empty() {
        let names: Vec<String> = renamed
            .iter()
            .map(|(from, to)| format!("`{}` as `{to}`", from.display()))
            .collect();
        text.push_str(&format!(
            "; another file had the name, so copied {}",
            names.join(", ")
        ));
    }
    text
}
/// Message: an export stopped on an error.
pub fn export_failed(cause: &str) -> String {
    format!("export failed: {cause}")
}
/// Why a folder could not be opened when no launcher worked.
pub const NO_FOLDER_OPENER: &str =
    "no program to open folders was found (xdg-open, gio, ...; details in the log)";
/// Message: the file manager was asked to open a folder.
pub fn opened(dir: &Path) -> String {
    format!("opened `{}`", dir.display())
}
/// Message: the folder could not be opened.
pub fn open_failed(dir: &Path, cause: &str) -> String {
    format!("cannot open `{}`: {cause}", dir.display())
}
/// Message: playback failed.
pub fn play_failed(cause: &str) -> String {
    format!("cannot play: {cause}")
}
/// Message: playback is impossible.
pub fn no_audio(reason: &str) -> String {
    format!("no audio device: {reason}; everything else works")
}
/// Message: a search failed.
pub fn search_failed(cause: &str) -> String {
    format!("search failed: {cause}")
}
/// Message: a file has no copy.
pub fn no_copies(name: &str) -> String {
    format!("no copies of {name}: no other indexed file holds this sound")
}
/// Message: a file has no fingerprint, so only files with its bytes were
/// looked for (`found`: some were).
pub fn not_fingerprinted(name: &str, found: bool) -> String {
    let what = if found {
        "only the files with its very bytes are listed"
    } else {
        "no file has its very bytes"
    };
    format!(
        "{name} has no audio fingerprint yet, so {what}; `hark index` computes it (without embedding again)"
    )
}
/// Message: looking up copies failed.
pub fn copies_failed(cause: &str) -> String {
    format!("cannot list copies: {cause}")
}
/// Message: the detail could not be loaded.
pub fn detail_failed(cause: &str) -> String {
    format!("cannot read this file's details: {cause}")
}
/// Message: the search engine panicked (caught; the UI goes on).
pub fn engine_panicked(message: &str) -> String {
    if message.is_empty() {
        "the search engine panicked".into()
    } else {
        format!("the search engine panicked: {message}")
    }
}
/// Detail pane: tags that did not fit.
pub fn more_tags(n: usize) -> String {
    format!("… {n} more tags")
}
/// Status: the volume, short.
pub fn volume_short(v: f32) -> String {
    format!("vol {:.0}%", v * 100.0)
}
/// The list's mark for the hit that plays.
pub const PLAYING_MARK: &str = "▶";
/// Message: checking for a new index failed.
pub fn reload_failed(cause: &str) -> String {
    format!("checking for a new index failed: {cause}")
}
/// Detail pane: the label of the category suggestion.
pub const LABEL_SUGGESTED: &str = "suggested";
/// Detail pane: the key that accepts a suggestion.
pub const ACCEPT_HINT: &str = "c accepts";
/// Detail pane: a suggestion with its confidence, `DOORWood (DOORS / WOOD) 0.92`.
pub fn suggested(cat_id: &str, category: &str, subcategory: &str, confidence: f32) -> String {
    format!("{cat_id} ({category} / {subcategory}) {confidence:.2}")
}
/// Detail pane: a best guess below the threshold.
pub fn best_guess(cat_id: &str, confidence: f32, min_confidence: f32) -> String {
    format!("no suggestion (best guess {cat_id} {confidence:.2}, below {min_confidence})")
}
/// Detail pane and message: no suggestion could be made.
pub fn suggestion_failed(cause: &str) -> String {
    // Its first line: the pane has no room for the hints that follow.
    format!(
        "no category suggestion: {}",
        cause.lines().next().unwrap_or_default()
    )
}
/// Message: `c` on a file whose suggestion is below the threshold.
pub fn no_category_to_accept(best: Option<&crate::backend::CategoryCandidate>, min: f32) -> String {
    match best {
        Some(c) => format!(
            "no category to accept: the best guess, {} at {:.2}, is below {min} (`hark tag --category` writes any)",
            c.cat_id, c.confidence
        ),
        None => "no category to accept for this file".into(),
    }
}
/// Message: `c` while the suggestion is still coming.
pub const CATEGORY_LOADING: &str = "the category suggestion is still being made";
/// Message: `c` on a file that has a category.
pub const HAS_CATEGORY: &str = "this file has a UCS category already";
/// Message: `c` while another write runs.
pub const CATEGORY_BUSY: &str = "still writing the last category; try again in a moment";
/// Message: a category is being written.
pub fn writing_category(cat_id: &str) -> String {
    format!("writing {cat_id} into the file…")
}
/// Message: a category was written.
pub fn category_written(cat_id: &str, name: &str) -> String {
    format!("wrote {cat_id} into `{name}` (`hark tag --undo` undoes it)")
}
/// Message: a category could not be written.
pub fn category_failed(cat_id: &str, cause: &str) -> String {
    format!("cannot write {cat_id}: {cause}")
}
/// Status: a category is being written.
pub const BUSY_TAGGING: &str = "writing category";
/// Message: a new index was picked up.
pub const INDEX_RELOADED: &str = "new index loaded";
/// Message: back pressed on the first list.
pub const NO_EARLIER_LIST: &str = "this is the first list";
/// Message: a command that needs a hit, with none selected.
pub const NOTHING_SELECTED: &str = "no hit selected";
/// Message: export prompt given no folder.
pub const EXPORT_NEEDS_FOLDER: &str = "name a folder to copy into";
/// Message: the audition toggle.
pub fn audition(on: bool) -> &'static str {
    if on {
        "audition on: each hit plays as you select it"
    } else {
        "audition off"
    }
}
/// Message: the loop toggle.
pub fn looping(on: bool) -> &'static str {
    if on {
        "loop on"
    } else {
        "loop off"
    }
}
/// Message: the volume.
pub fn volume(v: f32) -> String {
    format!("volume {:.0}%", v * 100.0)
}

/// Export prompt title: `Copy N files into folder`.
pub fn export_prompt(n: usize) -> String {
    let files = if n == 1 { "file" } else { "files" };
    format!(" copy {n} {files} into folder ")
}
/// Help overlay title.
pub const HELP_TITLE: &str = " keys (Esc closes) ";
/// Help overlay section: the list.
pub const HELP_LIST: &str = "In the result list";
/// Help overlay section: the query line.
pub const HELP_QUERY: &str = "In the query line (letters are text; Esc, Enter, ↓, Tab leave it)";
/// Help overlay section: prompts.
pub const HELP_PROMPT: &str = "In the export prompt (editing keys as in the query line)";
/// Help overlay section: global keys.
pub const HELP_GLOBAL: &str =
    "Everywhere (also: mouse wheel moves, click selects, click on the waveform plays from there)";
/// Shown instead of the UI in a tiny terminal.
pub const TOO_SMALL: &str = "terminal too small for hark (needs 40×10)";

/// `n` with thin separators every three digits: 12,345.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration for the list: `0.42s`, `12.4s`, `3:07`, `1:02:03`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    if seconds < 10.0 {
        format!("{seconds:.2}s")
    } else if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        minutes(seconds)
    }
}

/// A play position: `0:01.2`.
pub fn clock(seconds: f64) -> String {
    let seconds = if seconds.is_finite() {
        seconds.max(0.0)
    } else {
        0.0
    };
    let tenths = (seconds * 10.0).floor() as u64;
    let (m, s, t) = (tenths / 600, (tenths / 10) % 60, tenths % 10);
    format!("{m}:{s:02}.{t}")
}

/// The play clock, position over length, in the list's form and rounding
/// (the length reads as the list shows it): `0.12s/0.27s`, `4.5s/12.0s`,
/// `0:45/1:00`. Without a length, the position alone, in [`clock`]'s form.
pub fn play_clock(position: f64, length: Option<f64>) -> String {
    let Some(length) = length.filter(|l| l.is_finite() && *l >= 0.0) else {
        return clock(position);
    };
    let position = if position.is_finite() {
        position.clamp(0.0, length)
    } else {
        0.0
    };
    let shown = if length < 10.0 {
        format!("{position:.2}s")
    } else if length < 60.0 {
        format!("{position:.1}s")
    } else {
        minutes(position)
    };
    format!("{shown}/{}", duration(length))
}

/// `m:ss` or `h:mm:ss`, rounded like [`duration`].
fn minutes(seconds: f64) -> String {
    let total = seconds.round() as u64;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A sample rate in the list: `48k`, `44.1k`, `96k`.
pub fn rate(hz: u32) -> String {
    if hz.is_multiple_of(1000) {
        format!("{}k", hz / 1000)
    } else {
        format!("{:.1}k", f64::from(hz) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(duration(0.4213), "0.42s");
        assert_eq!(duration(12.44), "12.4s");
        assert_eq!(duration(187.0), "3:07");
        assert_eq!(duration(3723.0), "1:02:03");
        assert_eq!(duration(f64::NAN), "?");
        assert_eq!(clock(61.27), "1:01.2");
        // Issue 17 point 14: the clock of a 0.27 s file said 0:00.2.
        assert_eq!(play_clock(0.27, Some(0.27)), "0.27s/0.27s");
        assert_eq!(play_clock(0.1, Some(0.27)), "0.10s/0.27s");
        assert_eq!(play_clock(4.56, Some(12.0)), "4.6s/12.0s");
        assert_eq!(play_clock(45.0, Some(60.0)), "0:45/1:00");
        assert_eq!(play_clock(99.0, Some(60.0)), "1:00/1:00");
        assert_eq!(play_clock(3723.0, Some(3723.0)), "1:02:03/1:02:03");
        assert_eq!(play_clock(1.25, None), "0:01.2");
        assert_eq!(rate(48000), "48k");
        assert_eq!(rate(44100), "44.1k");
        assert_eq!(summary(12345, 12345, 0), "12,345 files");
        assert_eq!(summary(10, 8, 1), "10 files (8 indexed, 1 failed)");
    }
}
