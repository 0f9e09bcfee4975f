//! The real thing in a pseudo-terminal. The `demo` example (the TUI on the
//! fake backend, tests/common/fake.rs) runs in an 80×24 pty: the test types
//! a query, waits for a known hit to appear (after the fake text tower's
//! delay, so both search stages ran), quits, and checks that the terminal
//! was given back: raw mode off, main screen, cursor shown, mouse and paste
//! modes off. It also checks that nothing printed over the screen: on a
//! machine without sound, ALSA writes errors to stderr, which must end in
//! the log, not on the screen. Two more exits are checked the same way:
//! SIGTERM, and a panic on the UI thread (the `panic_restore` example).
//!
//! `cargo test -p hark-tui` builds the examples first; a lone
//! `cargo test --test pty` does not, and these tests then say so.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, ExitStatus, MasterPty, PtySize};

/// An example binary built beside this test.
fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/pty-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "the {name} example is not built at `{}`: run `cargo test -p hark-tui` (which builds examples) or `cargo build -p hark-tui --examples` first",
        path.display()
    );
    path
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

fn cooked(flags: libc::tcflag_t) -> bool {
    flags & libc::ICANON != 0 && flags & libc::ECHO != 0
}

/// A program running in an 80×24 pty, its screen kept by a vt100 parser.
struct Session {
    master: Option<Box<dyn MasterPty + Send>>,
    child: Box<dyn Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
    keys: Option<Box<dyn Write + Send>>,
    stop_reading: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Session {
    fn start(program: &Path, args: &[&std::ffi::OsStr]) -> Session {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        // Before the program starts (it may switch to raw mode at once).
        let fd = pty.master.as_raw_fd().expect("pty master fd");
        assert!(cooked(local_flags(fd)), "a new pty is not in cooked mode");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).expect("start the program");
        drop(pty.slave);
        let rows = std::num::NonZero::new(24).unwrap();
        let cols = std::num::NonZero::new(80).unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let stop_reading = Arc::new(AtomicBool::new(false));
        let reader = {
            let (parser, stop) = (Arc::clone(&parser), Arc::clone(&stop_reading));
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                // Poll with a timeout so the test can stop reading and close
                // every master descriptor (a hang-up).
                let mut fds = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                while !stop.load(Ordering::Relaxed) {
                    // SAFETY: one valid pollfd; the master outlives this thread.
                    if unsafe { libc::poll(&mut fds, 1, 50) } <= 0 {
                        continue;
                    }
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => parser.lock().unwrap().process(&buf[..n]),
                    }
                }
            })
        };
        let keys = pty.master.take_writer().expect("pty writer");
        Session {
            master: Some(pty.master),
            child,
            parser,
            keys: Some(keys),
            stop_reading,
            reader: Some(reader),
        }
    }

    fn flags(&self) -> libc::tcflag_t {
        let master = self.master.as_ref().expect("the pty was hung up");
        local_flags(master.as_raw_fd().expect("pty master fd"))
    }

    /// Closes every descriptor of the pty's master side, as a terminal
    /// window closing or an ssh connection dropping does.
    fn hang_up(&mut self) {
        self.stop_reading.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the pty reader panicked");
        }
        self.keys = None;
        self.master = None;
    }

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

    fn type_keys(&mut self, bytes: &[u8]) {
        let keys = self.keys.as_mut().expect("the pty was hung up");
        keys.write_all(bytes).unwrap();
        keys.flush().unwrap();
    }

    fn wait_exit(&mut self, why: &str) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the program") {
                // Let the reader drain the last bytes.
                std::thread::sleep(Duration::from_millis(200));
                return status;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                panic!(
                    "the program did not exit on {why}; the screen:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The terminal is as it was before the program: cooked mode, main
    /// screen, cursor shown, no mouse reporting, no bracketed paste.
    fn assert_restored(&self) {
        assert!(cooked(self.flags()), "raw mode was left on");
        let p = self.parser.lock().unwrap();
        let s = p.screen();
        assert!(!s.alternate_screen(), "left on the alternate screen");
        assert!(!s.hide_cursor(), "the cursor is still hidden");
        assert!(!s.bracketed_paste(), "bracketed paste is still on");
        assert_eq!(
            s.mouse_protocol_mode(),
            vt100::MouseProtocolMode::None,
            "mouse capture is still on"
        );
    }

    /// The UI is up: raw mode, alternate screen.
    fn assert_taken_over(&self) {
        assert!(
            !cooked(self.flags()),
            "the UI did not put the terminal in raw mode"
        );
        assert!(
            self.parser.lock().unwrap().screen().alternate_screen(),
            "the UI is not on the alternate screen"
        );
    }
}

fn start_demo(log: &Path) -> Session {
    let session = Session::start(
        &example("demo"),
        &[
            "--embed-ms".as_ref(),
            "300".as_ref(),
            "--log".as_ref(),
            log.as_os_str(),
        ],
    );
    session.wait_for("the library listing", Duration::from_secs(20), |s| {
        s.contains("library, newest first")
    });
    session.assert_taken_over();
    session
}

#[test]
fn types_a_query_sees_the_hit_and_quits_leaving_the_terminal_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("tui.log");
    let mut demo = start_demo(&log);

    demo.type_keys(b"thunder");
    demo.wait_for(
        "the thunder hit after both search stages",
        Duration::from_secs(20),
        |s| {
            s.contains("hark › thunder")
                && s.lines()
                    .any(|l| l.contains("THUNDER_Distant Rumble_HARK.wav") && l.contains("both"))
        },
    );
    let text = demo.text();
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
    demo.type_keys(b"\x1b");
    std::thread::sleep(Duration::from_millis(300));
    demo.type_keys(b"q");
    let status = demo.wait_exit("q");
    assert!(status.success(), "the demo exited with {status:?}");
    demo.assert_restored();

    let log_text = std::fs::read_to_string(&log).expect("the log file was not written");
    assert!(
        log_text.contains("hark tui starting") && log_text.contains("hark tui closed"),
        "{log_text}"
    );
}

#[test]
fn sigterm_quits_and_gives_the_terminal_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut demo = start_demo(&dir.path().join("tui.log"));
    let pid = demo.child.process_id().expect("the demo's pid") as libc::pid_t;
    // SAFETY: sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = demo.wait_exit("SIGTERM");
    assert!(status.success(), "the demo exited with {status:?}");
    demo.assert_restored();
}

#[test]
fn a_panic_on_the_ui_thread_gives_the_terminal_back_and_the_message_shows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("panic.log");
    let mut program = Session::start(&example("panic_restore"), &[log.as_os_str()]);
    let status = program.wait_exit("its panic");
    assert!(!status.success(), "a panicking program exited with success");
    program.assert_restored();
    let text = program.text();
    assert!(
        text.contains("deliberate panic on the UI thread"),
        "the panic message is not on the screen:\n{text}"
    );
    assert!(
        !text.contains("printed to"),
        "prints reached the screen:\n{text}"
    );
    let log_text = std::fs::read_to_string(&log).expect("the log file was not written");
    assert!(
        log_text.contains("printed to stdout while the UI runs")
            && log_text.contains("printed to stderr while the UI runs"),
        "the prints did not reach the log:\n{log_text}"
    );
}

#[test]
fn a_hung_up_terminal_ends_the_ui() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("tui.log");
    let mut demo = start_demo(&log);
    demo.hang_up();
    // Any exit status will do (drawing on a dead terminal is an error); it must exit.
    demo.wait_exit("a hang-up");
    let log_text = std::fs::read_to_string(&log).expect("the log file was not written");
    assert!(log_text.contains("hark tui"), "{log_text}");
}

/// The `hark` binary built beside this test (by `cargo test --workspace`,
/// which builds every binary before running any test).
fn hark_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = profile_dir.join("hark");
    assert!(
        path.is_file(),
        "the hark binary is not built at `{}`: run `cargo test --workspace` (or `cargo build` first)",
        path.display()
    );
    path
}

#[test]
fn the_real_hark_tui_finds_an_indexed_file_by_name_and_quits_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    for (i, name) in [
        "DOORWood_Creaky Old Door_HK_Lib.wav",
        "RAIN_Heavy On Tin Roof_HK_Lib.wav",
        "THUN_Distant Rumble_HK_Lib.wav",
    ]
    .iter()
    .enumerate()
    {
        let mut w = hound::WavWriter::create(lib.join(name), spec).unwrap();
        for n in 0..11_025 {
            let x = (n as f32 * 0.02 * (i + 1) as f32).sin() * 12_000.0;
            w.write_sample(x as i16).unwrap();
        }
        w.finalize().unwrap();
    }
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clap-tiny");
    assert!(
        model.join("model.safetensors").is_file(),
        "test fixture missing: {}",
        model.display()
    );
    let index = dir.path().join("index");
    let out = std::process::Command::new(hark_binary())
        .arg("--index")
        .arg(&index)
        .arg("--model")
        .arg(&model)
        .args(["index", "--quiet"])
        .arg(&lib)
        .output()
        .expect("run hark index");
    assert!(out.status.success(), "hark index failed: {out:?}");

    let log = dir.path().join("tui.log");
    let args: Vec<&std::ffi::OsStr> = vec![
        "--index".as_ref(),
        index.as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "tui".as_ref(),
        "--silent".as_ref(),
        "--log".as_ref(),
        log.as_os_str(),
    ];
    let mut tui = Session::start(&hark_binary(), &args);
    tui.wait_for("the library listing", Duration::from_secs(30), |s| {
        s.contains("Heavy On Tin Roof")
    });
    tui.assert_taken_over();

    // A cron run adds a file while the UI is open: the listing shows it
    // without a restart.
    let mut w = hound::WavWriter::create(lib.join("WIND_Gusty Gale_HK_Lib.wav"), spec).unwrap();
    for n in 0..11_025 {
        w.write_sample(((n as f32 * 0.13).sin() * 9_000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    let out = std::process::Command::new(hark_binary())
        .arg("--index")
        .arg(&index)
        .arg("--model")
        .arg(&model)
        .args(["index", "--quiet"])
        .output()
        .expect("run hark index");
    assert!(out.status.success(), "hark index failed: {out:?}");
    tui.wait_for(
        "the file a new index run added",
        Duration::from_secs(30),
        |s| s.contains("Gusty Gale"),
    );

    tui.type_keys(b"creaky door");
    tui.wait_for(
        "the door, found by its name",
        Duration::from_secs(30),
        |s| {
            s.lines().any(|l| {
                l.contains("Creaky Old Door") && (l.contains("both") || l.contains("words"))
            })
        },
    );
    // To the list; similar sounds of the door; then mark the first as
    // wanted and re-rank (relevance feedback on a list without a query).
    tui.type_keys(b"\x1b");
    std::thread::sleep(Duration::from_millis(300));
    tui.type_keys(b"s");
    tui.wait_for("the similar list", Duration::from_secs(30), |s| {
        s.contains("sounds like DOORWood_Creaky Old Door")
    });
    tui.type_keys(b"+");
    tui.wait_for("the refined list", Duration::from_secs(30), |s| {
        s.contains("re-ranked +1")
    });
    std::thread::sleep(Duration::from_millis(800));
    let text = tui.text();
    assert!(
        !text.to_lowercase().contains("error") && !text.contains("nothing to refine"),
        "refining failed:\n{text}"
    );
    tui.type_keys(b"q");
    let status = tui.wait_exit("q");
    assert!(status.success(), "hark tui exited with {status:?}");
    tui.assert_restored();
}

/// Writes a short mono WAV whose tone depends on `seed`.
fn write_tone(path: &Path, seed: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let step = 0.01 + 0.0007 * seed as f32;
    for n in 0..4_410 {
        w.write_sample(((n as f32 * step).sin() * 11_000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// The name in the first row of the list (rows start on the screen's third
/// line: the query line, then the heading).
fn first_row_name(screen: &str) -> String {
    let row = screen.lines().nth(2).unwrap_or_default();
    let start = row.find("Tone").expect("a tone in the first row");
    row[start..start + "Tone 000.wav".len()].to_string()
}

/// Issue 17 points 1, 2 and 4 on the real binary: the listing of a library
/// of more than 200 files reaches its end; after a query's sound stage the
/// selection is on hit #1; two marked files of one name both export.
#[test]
fn the_real_hark_tui_pages_selects_hit_one_and_exports_same_named_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lib = dir.path().join("lib");
    for i in 0..205 {
        write_tone(&lib.join(format!("tones/Tone {i:03}.wav")), i);
    }
    write_tone(&lib.join("basses/rave_bass02.wav"), 300);
    write_tone(&lib.join("bassloops/rave_bass02.wav"), 400);
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clap-tiny");
    let index = dir.path().join("index");
    let out = std::process::Command::new(hark_binary())
        .arg("--index")
        .arg(&index)
        .arg("--model")
        .arg(&model)
        .args(["index", "--quiet"])
        .arg(&lib)
        .output()
        .expect("run hark index");
    assert!(out.status.success(), "hark index failed: {out:?}");

    let log = dir.path().join("tui.log");
    let args: Vec<&std::ffi::OsStr> = vec![
        "--index".as_ref(),
        index.as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "tui".as_ref(),
        "--silent".as_ref(),
        "--log".as_ref(),
        log.as_os_str(),
    ];
    let mut tui = Session::start(&hark_binary(), &args);
    let long = Duration::from_secs(60);
    // Point 2: 200 first, and the title says more are coming; G twice
    // reaches the 207th file.
    tui.wait_for("the first page of the library", long, |s| {
        s.contains("200 so far, more below")
    });
    tui.type_keys(b"\x1b");
    std::thread::sleep(Duration::from_millis(300));
    tui.type_keys(b"G");
    tui.wait_for("the whole library", long, |s| {
        s.lines().next().is_some_and(|l| !l.contains("so far"))
    });
    tui.type_keys(b"G");
    tui.wait_for("row 207", long, |s| {
        s.lines().any(|l| l.trim_start().starts_with("207 "))
    });

    // Point 1: a query typed and run at once with Enter; once the sound
    // stage has re-ranked, the selection (whose name titles the detail
    // pane) is hit #1.
    tui.type_keys(b"/");
    tui.type_keys(b"tone\r");
    tui.wait_for("the sound stage", long, |s| {
        s.lines().nth(2).is_some_and(|l| l.contains("both"))
            && !s.contains("embedding")
            && !s.contains("searching")
    });
    std::thread::sleep(Duration::from_millis(500));
    let screen = tui.text();
    let first = first_row_name(&screen);
    let title = screen
        .lines()
        .find(|l| l.starts_with('┌'))
        .unwrap_or_default()
        .to_string();
    assert!(
        title.contains(&first),
        "the selection is not hit #1 ({first}):\n{screen}"
    );

    // Point 4: both rave_bass02.wav marked and exported.
    tui.type_keys(b"/\x15rave_bass02\r");
    tui.wait_for("both basses", long, |s| {
        s.lines().skip(2).take(2).all(|l| l.contains("rave_bass02"))
    });
    std::thread::sleep(Duration::from_millis(800));
    tui.type_keys(b"+");
    std::thread::sleep(Duration::from_millis(1500));
    // The other one: move until the detail pane shows the other folder.
    let marked_in = if tui.text().contains("bassloops") {
        "bassloops"
    } else {
        "basses"
    };
    for _ in 0..5 {
        tui.type_keys(b"j");
        std::thread::sleep(Duration::from_millis(400));
        let s = tui.text();
        if s.lines()
            .any(|l| l.starts_with('┌') && l.contains("rave_bass02"))
            && !s.contains(&format!("/{marked_in}/"))
        {
            break;
        }
    }
    tui.type_keys(b"+");
    tui.wait_for("two marks", long, |s| s.contains("re-ranked +2"));
    std::thread::sleep(Duration::from_millis(800));
    let picks = dir.path().join("picks");
    tui.type_keys(b"e");
    tui.wait_for("the export prompt", long, |s| s.contains("copy 2 files"));
    tui.type_keys(b"\x15");
    tui.type_keys(picks.to_str().unwrap().as_bytes());
    tui.type_keys(b"\r");
    tui.wait_for("the export report", long, |s| s.contains("copied 2 files"));
    let a = std::fs::read(picks.join("rave_bass02.wav")).expect("the first copy");
    let b = std::fs::read(picks.join("rave_bass02 (2).wav")).expect("the second copy");
    assert_ne!(a, b, "the same file was copied twice");

    tui.type_keys(b"q");
    let status = tui.wait_exit("q");
    assert!(status.success(), "hark tui exited with {status:?}");
    tui.assert_restored();
}
