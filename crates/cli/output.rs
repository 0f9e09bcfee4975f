//! Messages on stderr in one style: `error: …`, then `  Caused by: …` lines,
//! then any `hint:` the error carries. Colour only on a terminal without NO_COLOR.
//!
//! Every message may hold a file name or tag from the library, so every line
//! goes through [`safe`] (control characters and bidi marks escaped, see
//! `hark_types::terminal`) before it is written, on a terminal or not: a log
//! file is read on a terminal later.

use std::borrow::Cow;
use std::io::IsTerminal;

use hark_types::terminal;

/// `text` with each line escaped for a terminal; the line breaks hark's own
/// messages use (before `hint:`, between causes) stay line breaks.
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && terminal::is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.split('\n')
            .map(terminal::escape)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Writes `path` then `end`: escaped on a terminal (see [`safe`]), its exact
/// bytes anywhere else, since scripts read them back as file names.
pub fn write_path(
    out: &mut impl std::io::Write,
    path: &std::path::Path,
    terminal: bool,
    end: u8,
) -> std::io::Result<()> {
    let mut line = if terminal {
        terminal::escape_path(path).into_owned().into_bytes()
    } else {
        path_bytes(path)
    };
    line.push(end);
    // One write per line: a closed pipe surfaces as an io::Error at once.
    out.write_all(&line)
}

#[cfg(unix)]
fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

/// Whether stderr wants colour.
pub fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn label(text: &str, code: &str) -> String {
    if colour() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Splits a message into its body and the `hint:` part errors may carry at their end.
fn split_hint(message: &str) -> (&str, Option<&str>) {
    match message.find("\nhint:") {
        Some(i) => (
            &message[..i],
            Some(message[i + "\nhint:".len()..].trim_start_matches(' ')),
        ),
        None => (message, None),
    }
}

/// Prints an error, its chain of causes, then the hints any of them carry.
pub fn print_error(e: &anyhow::Error) {
    let mut hints = Vec::new();
    for (i, cause) in e.chain().enumerate() {
        let text = cause.to_string();
        let text = safe(&text);
        let (body, hint) = split_hint(&text);
        if i == 0 {
            eprintln!("{}: {body}", label("error", "1;31"));
        } else {
            eprintln!("  Caused by: {body}");
        }
        hints.extend(hint.map(str::to_owned));
    }
    for hint in hints {
        eprintln!("{}: {hint}", label("hint", "1;36"));
    }
}

/// Prints a note: something the user may want to know that is not wrong.
pub fn note(message: &str) {
    eprintln!("{}: {}", label("note", "1;32"), safe(message));
}

/// Prints a warning.
pub fn warn(message: &str) {
    eprintln!("{}: {}", label("warning", "1;33"), safe(message));
}

/// Whether the error is a closed stdout (`hark … | head`), which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    // serde_json's error wraps an io::Error without exposing it as its source.
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| c.downcast_ref::<serde_json::Error>()?.io_error_kind())
            == Some(std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_their_lines_and_lose_their_escapes() {
        let message = "skipped `a\x1b]0;pwned\x07.wav`: bad\nhint: run `hark index`";
        assert_eq!(
            safe(message),
            "skipped `a\\e]0;pwned\\x07.wav`: bad\nhint: run `hark index`"
        );
        assert!(matches!(safe("plain\nhint: two lines"), Cow::Borrowed(_)));
        assert_eq!(safe("tab\there"), "tab\\there");
    }
}
