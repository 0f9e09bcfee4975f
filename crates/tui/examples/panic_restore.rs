//! Takes the terminal over the way the TUI does, prints to stdout and
//! stderr (which must land in the log, not on the screen), then panics on
//! the UI thread: for the pseudo-terminal test that checks the panic hook
//! gives the terminal back and leaves the panic message readable.
//!
//! ```sh
//! cargo run -p hark-tui --example panic_restore -- LOG_FILE
//! ```

use std::io::Write;

fn main() {
    let Some(log_path) = std::env::args().nth(1) else {
        eprintln!("usage: panic_restore LOG_FILE");
        std::process::exit(2);
    };
    let log = std::fs::File::create(&log_path).expect("create the log file");
    let (_session, mut screen) =
        hark_tui::terminal::Session::start(&log).expect("take the terminal");
    write!(screen, "drawn on the alternate screen").expect("draw");
    screen.flush().expect("draw");
    println!("printed to stdout while the UI runs");
    eprintln!("printed to stderr while the UI runs");
    panic!("deliberate panic on the UI thread");
}
