//! Taking the terminal over and giving it back, whatever happens.
//!
//! While the UI runs, file descriptors 1 and 2 point at the log file and
//! the UI writes to the terminal through a duplicate of the original fd 1.
//! Why: a dependency that prints (hnsw_rs has `println!`s, ALSA prints
//! "cannot find card" to stderr on a machine without sound, cpal and
//! rodio can `eprintln!`) would write into the middle of the drawn screen
//! and corrupt it; redirected, such output lands in the log, where it is
//! useful. Input does not change: crossterm reads keys from stdin, or
//! `/dev/tty` when stdin is not a terminal.
//!
//! Giving back: [`Session`]'s `Drop` (normal return, `?` errors), a panic
//! hook (a panic on the UI thread: the terminal is restored before the
//! panic message is printed, so the message is readable), and the runtime's
//! handling of SIGTERM, SIGHUP and SIGINT (raw mode turns Ctrl-C into a
//! key). Restoring is idempotent: whichever comes first does it.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::thread::ThreadId;

use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use ratatui::crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::crossterm::{cursor, execute};

/// What restoring needs, kept where the panic hook can reach it.
struct Saved {
    /// The original fd 1 and fd 2, to put back.
    stdout: OwnedFd,
    stderr: OwnedFd,
    /// Another duplicate of the terminal, for the escape sequences that
    /// leave the alternate screen (the UI's own writer may be mid-frame).
    tty: File,
    /// The UI thread: only its panics end the UI (a worker's panic is
    /// caught by the worker and reported on the status line).
    ui_thread: ThreadId,
}

static SAVED: Mutex<Option<Saved>> = Mutex::new(None);

/// The terminal, taken over. Dropping it gives the terminal back.
pub struct Session {
    _private: (),
}

/// `dup(fd)` as an owned descriptor.
fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: dup has no memory-safety preconditions; a valid result is a
    // new descriptor that nothing else owns.
    let new = unsafe { libc::dup(fd) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` was just returned by dup and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Points `target` at the file `source` points at.
fn dup2(source: RawFd, target: RawFd) -> io::Result<()> {
    // SAFETY: dup2 has no memory-safety preconditions; `target` is one of
    // the standard descriptors, which Rust's std handles by number only.
    if unsafe { libc::dup2(source, target) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Session {
    /// Takes the terminal over: fds 1 and 2 to `log`, raw mode, the
    /// alternate screen, mouse and bracketed paste. Returns the session and
    /// the writer the UI draws with (a duplicate of the original fd 1).
    ///
    /// Fails without changing anything when standard output is not a
    /// terminal.
    pub fn start(log: &File) -> io::Result<(Session, File)> {
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(libc::STDOUT_FILENO) } != 1 {
            return Err(io::Error::other("standard output is not a terminal"));
        }
        io::stdout().flush()?;
        io::stderr().flush()?;
        let saved = Saved {
            stdout: dup(libc::STDOUT_FILENO)?,
            stderr: dup(libc::STDERR_FILENO)?,
            tty: File::from(dup(libc::STDOUT_FILENO)?),
            ui_thread: std::thread::current().id(),
        };
        let mut writer = File::from(dup(libc::STDOUT_FILENO)?);
        *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(saved);
        let session = Session { _private: () };

        install_panic_hook();
        dup2(log.as_raw_fd(), libc::STDOUT_FILENO)?;
        dup2(log.as_raw_fd(), libc::STDERR_FILENO)?;
        terminal::enable_raw_mode()?;
        execute!(
            writer,
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste,
            cursor::Hide
        )?;
        Ok((session, writer))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back if it was taken: leaves the alternate screen,
/// turns the mouse, paste mode and raw mode off, shows the cursor, and
/// points fds 1 and 2 back at where they were. Safe to call any number of
/// times, from any thread.
pub fn restore() {
    let Some(mut saved) = SAVED.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    // Best effort, each step on its own: a failing one must not keep the
    // others from running.
    let _ = execute!(
        saved.tty,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = saved.tty.flush();
    let _ = terminal::disable_raw_mode();
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    let _ = dup2(saved.stdout.as_raw_fd(), libc::STDOUT_FILENO);
    let _ = dup2(saved.stderr.as_raw_fd(), libc::STDERR_FILENO);
}

fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!("panic: {info}");
            let on_ui_thread = SAVED
                .lock()
                .map(|s| {
                    s.as_ref()
                        .is_some_and(|s| s.ui_thread == std::thread::current().id())
                })
                .unwrap_or(true);
            if on_ui_thread {
                restore();
            }
            // With the terminal back (or, for a worker, with stderr still
            // going to the log), the usual message goes to stderr.
            previous(info);
        }));
    });
}
