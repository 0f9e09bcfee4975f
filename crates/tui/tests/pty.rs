//! The real thing in a pseudo-terminal: the `demo` example (the TUI on the
//! fake backend, tests/common/fake.rs) runs in an 80×24 pty; the test types
//! a query, waits for a known hit to appear (after the fake text tower's
//! delay, so both search stages ran), quits, and checks that the terminal
//! was given back: raw mode off, main screen, cursor shown, mouse and paste
//! modes off. It also checks that nothing printed over the screen: on a
//! machine without sound, ALSA writes errors to stderr, which must end in
//! the log, not on the screen.
//!
//! `cargo test -p hark-tui` builds the example first; a lone
//! `cargo test --test pty` does not, and this test then says so.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

fn demo_binary() -> PathBuf {
    // target/<profile>/deps/pty-<hash> -> target/<profile>/examples/demo
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let demo = profile_dir.join("examples").join("demo");
    assert!(
        demo.is_file(),
        "the demo example is not built at `{}`: run `cargo test -p hark-tui` (which builds examples) or `cargo build -p hark-tui --example demo` first",
        demo.display()
    );
    demo
}

/// The terminal's local flags (ICANON, ECHO, ...), read through the pty master.
fn local_flags(fd: i32) -> libc::tcflag_t {
    // SAFETY: termios is plain data; tcgetattr fills it or fails.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::tcgetattr(fd, &mut t) },
        0,
        "tcgetattr: {}",
        std::io::Error::last_os_error()
    );
    t.c_lflag
}

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until `want` holds for the screen, or fails after `timeout`
    /// showing the screen.
    fn wait_for(&self, what: &str, timeout: Duration, want: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let text = self.text();
            if want(&text) {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "waited {timeout:?} for {what}; the screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn types_a_query_sees_the_hit_and_quits_leaving_the_terminal_as_it_was() {
    let demo = demo_binary();
    let log_dir = tempfile::tempdir().expect("temp dir");
    let log = log_dir.path().join("tui.log");
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let master_fd = pty.master.as_raw_fd().expect("pty master fd");
    let cooked = local_flags(master_fd);
    assert!(
        cooked & libc::ICANON != 0 && cooked & libc::ECHO != 0,
        "a new pty is not in cooked mode"
    );

    let mut cmd = CommandBuilder::new(&demo);
    cmd.args(["--embed-ms", "300", "--log"]);
    cmd.arg(&log);
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).expect("start the demo");
    drop(pty.slave);

    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZero::new(24).unwrap(),
        std::num::NonZero::new(80).unwrap(),
        0,
    )));
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    {
        let parser = Arc::clone(&parser);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.lock().unwrap().process(&buf[..n]);
            }
        });
    }
    let screen = Screen { parser };
    let mut keys = pty.master.take_writer().expect("pty writer");

    screen.wait_for("the library listing", Duration::from_secs(20), |s| {
        s.contains("library, newest first")
    });
    let raw = local_flags(master_fd);
    assert!(
        raw & libc::ICANON == 0 && raw & libc::ECHO == 0,
        "the UI did not put the terminal in raw mode"
    );
    {
        let p = screen.parser.lock().unwrap();
        assert!(
            p.screen().alternate_screen(),
            "the UI is not on the alternate screen"
        );
    }

    keys.write_all(b"thunder").unwrap();
    keys.flush().unwrap();
    screen.wait_for(
        "the thunder hit after both search stages",
        Duration::from_secs(20),
        |s| {
            s.contains("hark › thunder")
                && s.lines()
                    .any(|l| l.contains("THUNDER_Distant Rumble_HARK.wav") && l.contains("both"))
        },
    );
    let text = screen.text();
    assert!(
        !text.contains("UI_Click"),
        "the library is still listed:\n{text}"
    );
    assert!(
        !text.contains("ALSA") && !text.contains("Dropping"),
        "something printed over the screen:\n{text}"
    );

    // Esc leaves the query line, q quits. A pause between them, or the
    // terminal reads them as Alt-q.
    keys.write_all(b"\x1b").unwrap();
    keys.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    keys.write_all(b"q").unwrap();
    keys.flush().unwrap();

    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the demo") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the demo did not quit on q; the screen:\n{}", screen.text());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the demo exited with {status:?}");
    // Let the reader drain the last bytes.
    std::thread::sleep(Duration::from_millis(200));

    let restored = local_flags(master_fd);
    assert!(
        restored & libc::ICANON != 0 && restored & libc::ECHO != 0,
        "raw mode was left on"
    );
    let p = screen.parser.lock().unwrap();
    let s = p.screen();
    assert!(!s.alternate_screen(), "left on the alternate screen");
    assert!(!s.hide_cursor(), "the cursor is still hidden");
    assert!(!s.bracketed_paste(), "bracketed paste is still on");
    assert_eq!(
        s.mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse capture is still on"
    );

    let log_text = std::fs::read_to_string(&log).expect("the log file was not written");
    assert!(
        log_text.contains("hark tui starting") && log_text.contains("hark tui closed"),
        "{log_text}"
    );
}
