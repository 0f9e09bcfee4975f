//! Messages on stderr in one style: `error: …`, then `  Caused by: …` lines,
//! then any `hint:` the error carries. Colour only on a terminal without NO_COLOR.

use std::io::IsTerminal;

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

/// Prints a warning.
pub fn warn(message: &str) {
    eprintln!("{}: {message}", label("warning", "1;33"));
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
