//! Rendering tests: the UI drawn into ratatui's `TestBackend` at 80×24 (the
//! design size) and 160×40, compared with insta snapshots
//! (`tests/snapshots/`) and checked for the facts that matter. The hits and
//! details come from the deterministic fake backend (tests/common/fake.rs),
//! driven through the same messages the runtime sends.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::fake::FakeBackend;
use hark_tui::app::{ListRequest, PlaybackEvent};
use hark_tui::{ui, App, Backend, Effect, FileId, Msg, Settings};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

fn fake() -> FakeBackend {
    FakeBackend::new(Path::new("/library/demo"), Duration::ZERO)
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// An app of `size` that ran `query` on the fake to completion (both
/// stages), with the summary and the selected hit's details delivered.
fn app_after(query: Option<&str>, size: (u16, u16)) -> (App, FakeBackend) {
    let backend = fake();
    let settings = Settings {
        color: false,
        ..Settings::default()
    };
    let (mut app, effects) = App::new(query, settings, size);
    let now = Instant::now();
    serve(&mut app, &backend, effects, now);
    (app, backend)
}

/// Answers effects the way the runtime's workers would, synchronously.
fn serve(app: &mut App, backend: &FakeBackend, effects: Vec<Effect>, now: Instant) {
    let mut queue = effects;
    while let Some(effect) = queue.pop() {
        let msgs = match effect {
            Effect::LoadSummary => vec![Msg::Summary(backend.summary().map_err(|e| e.to_string()))],
            Effect::List {
                seq,
                request: ListRequest::Recent,
                k,
            } => vec![Msg::Hits {
                seq,
                result: backend.recent(k).map_err(|e| e.to_string()),
                done: true,
            }],
            Effect::List {
                seq,
                request: ListRequest::Search { text },
                k,
            } => {
                let q = backend.parse(&text).unwrap();
                let v = backend.embed_query(&q).unwrap();
                vec![Msg::Hits {
                    seq,
                    result: backend.run(&q, Some(&v), k).map_err(|e| e.to_string()),
                    done: true,
                }]
            }
            Effect::List {
                seq,
                request: ListRequest::Similar { id },
                k,
            } => vec![Msg::Hits {
                seq,
                result: backend.similar(id, k).map_err(|e| e.to_string()),
                done: true,
            }],
            Effect::List {
                seq,
                request: ListRequest::Copies { id },
                ..
            } => vec![Msg::Copies {
                seq,
                result: backend.copies(id).map_err(|e| e.to_string()),
            }],
            Effect::LoadDetail(id) => vec![Msg::Detail {
                id,
                result: backend.detail(id).map(Box::new).map_err(|e| e.to_string()),
            }],
            _ => vec![],
        };
        for msg in msgs {
            queue.extend(app.update(msg, now));
        }
    }
}

fn render(app: &App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|f| ui::draw(f, app)).unwrap();
    terminal
}

fn screen(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn library_at_80x24() {
    let (app, _) = app_after(None, (80, 24));
    let terminal = render(&app);
    let text = screen(&terminal);
    // Newest first, with the selected file's details and waveform.
    assert!(
        text.lines()
            .nth(2)
            .unwrap()
            .contains("UI_Click Soft_HARK.wav"),
        "{text}"
    );
    assert!(text.contains("library, newest first"));
    assert!(text.contains("A soft interface click"));
    assert!(text.contains("9 files (8 indexed, 1 failed)"), "{text}");
    assert!(
        text.contains('⣿') || text.contains('⣤'),
        "no waveform: {text}"
    );
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn search_playing_and_marked_at_80x24() {
    let (mut app, backend) = app_after(Some("storm"), (80, 24));
    let now = Instant::now();
    let mut effects = app.update(key(KeyCode::Esc), now);
    effects.extend(app.update(key(KeyCode::Char('j')), now));
    serve(&mut app, &backend, effects, now);
    let play = app.update(key(KeyCode::Char(' ')), now);
    let Some(Effect::Play { token, start_s, .. }) = play.first().cloned() else {
        panic!("{play:?}")
    };
    assert_eq!(start_s, 31.5, "the long file starts at its match");
    app.update(Msg::Playback(PlaybackEvent::DeviceReady), now);
    app.update(
        Msg::Playback(PlaybackEvent::Started {
            token,
            duration_s: Some(60.0),
        }),
        now,
    );
    app.update(
        Msg::Playback(PlaybackEvent::Position {
            token,
            position_s: 45.0,
        }),
        now,
    );
    app.update(key(KeyCode::Char('r')), now);
    app.update(key(KeyCode::Char('k')), now);
    app.update(key(KeyCode::Char('-')), now);
    app.status.message = None;
    let terminal = render(&app);
    let text = screen(&terminal);
    assert!(text.contains("re-ranked +0 −1"), "{text}");
    assert!(text.contains("▶ 0:45/1:00"), "{text}");
    assert!(text.contains("loop"));
    assert!(
        text.contains("-  THUNDER") || text.contains("- THUNDER"),
        "{text}"
    );
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn wide_terminal_puts_the_detail_beside_the_list() {
    let (app, _) = app_after(Some("water"), (160, 40));
    let terminal = render(&app);
    let text = screen(&terminal);
    let first_hit = text.lines().nth(2).unwrap();
    assert!(first_hit.contains("WATRDrip_Cave Drips_HARK.wav"), "{text}");
    assert!(
        first_hit.contains("│/library/demo/WATRDrip"),
        "the detail pane is not beside the list: {first_hit}"
    );
    assert!(text.contains("WATRDrip · WATER / DRIP · Cave Drips"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn a_list_of_copies_shows_how_each_relates_to_the_keeper() {
    let (mut app, backend) = app_after(Some("thunder"), (80, 24));
    let now = Instant::now();
    app.update(key(KeyCode::Esc), now);
    assert_eq!(app.selected_hit().map(|h| h.id), Some(FileId(2)));
    let effects = app.update(key(KeyCode::Char('d')), now);
    serve(&mut app, &backend, effects, now);
    let terminal = render(&app);
    let text = screen(&terminal);
    assert!(
        text.contains("copies of THUNDER_Distant Rumble_HARK.wav: 2 files"),
        "{text}"
    );
    let rows: Vec<&str> = text.lines().skip(2).take(2).collect();
    assert!(
        rows[0].contains("AMBForst_Birds Morning Long_HARK.wav  keep"),
        "{text}"
    );
    // The name gives way to the relation, cut in its middle.
    assert!(
        rows[1].contains("THUNDER_Dis…ble_HARK.wav  contained at 0:31"),
        "{text}"
    );
    // Not ranked: no score bar, no "by".
    assert!(
        !rows.iter().any(|r| r.contains('█') || r.contains("filter")),
        "{text}"
    );
    // The selection stays on the file asked about.
    assert_eq!(app.selected_hit().map(|h| h.id), Some(FileId(2)));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn help_overlay_at_80x24() {
    let (mut app, _) = app_after(None, (80, 24));
    app.update(key(KeyCode::Esc), Instant::now());
    app.update(key(KeyCode::Char('?')), Instant::now());
    let terminal = render(&app);
    let text = screen(&terminal);
    assert!(text.contains("In the result list"));
    assert!(text.contains("play or stop the selected hit"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn export_prompt_at_80x24() {
    let (mut app, _) = app_after(None, (80, 24));
    let now = Instant::now();
    app.update(key(KeyCode::Esc), now);
    app.update(key(KeyCode::Char('e')), now);
    for c in "~/picks".chars() {
        app.update(key(KeyCode::Char(c)), now);
    }
    let terminal = render(&app);
    let text = screen(&terminal);
    assert!(text.contains("copy 1 file into folder"));
    assert!(text.contains("~/picks"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn searching_with_no_hits_yet_shows_the_spinner() {
    let backend = fake();
    let (mut app, effects) = App::new(
        Some("zzz"),
        Settings {
            color: false,
            ..Settings::default()
        },
        (80, 24),
    );
    let now = Instant::now();
    // Only the summary answers; the search is still running.
    for e in effects {
        if e == Effect::LoadSummary {
            app.update(
                Msg::Summary(backend.summary().map_err(|e| e.to_string())),
                now,
            );
        }
    }
    app.update(
        Msg::Playback(PlaybackEvent::DeviceMissing("no card".into())),
        now,
    );
    app.status.message = None;
    let terminal = render(&app);
    let text = screen(&terminal);
    assert!(text.contains("searching…"), "{text}");
    assert!(text.contains("⠋ searching"), "{text}");
    assert!(text.contains("no audio device"), "{text}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn a_tiny_terminal_gets_a_notice() {
    let (mut app, _) = app_after(None, (80, 24));
    app.update(Msg::Resize(30, 8), Instant::now());
    let terminal = render(&app);
    assert!(screen(&terminal).contains("terminal too small"));
}

#[test]
fn a_missing_detail_says_why_in_the_pane() {
    let (mut app, _) = app_after(None, (80, 24));
    let id = app.selected_hit().unwrap().id;
    app.update(key(KeyCode::Esc), Instant::now());
    // The index changed and the file's row is gone.
    app.update(Msg::IndexChanged, Instant::now());
    app.update(
        Msg::Detail {
            id,
            result: Err(format!("no file with id {}", id.0)),
        },
        Instant::now(),
    );
    let text = screen(&render(&app));
    assert!(
        text.contains("cannot read this file's details: no file with id 8"),
        "{text}"
    );
    assert_eq!(id, FileId(8));
}

/// An app of `size` showing `hits` (the library listing's answer), in
/// colour or not.
fn app_with_hits(hits: Vec<hark_tui::Hit>, size: (u16, u16), color: bool) -> App {
    let settings = Settings {
        color,
        ..Settings::default()
    };
    let (mut app, effects) = App::new(None, settings, size);
    let seq = effects
        .iter()
        .find_map(|e| match e {
            Effect::List { seq, .. } => Some(*seq),
            _ => None,
        })
        .unwrap();
    let now = Instant::now();
    app.update(Msg::Playback(PlaybackEvent::DeviceReady), now);
    app.update(
        Msg::Hits {
            seq,
            result: Ok(hits),
            done: true,
        },
        now,
    );
    app
}

fn named(id: i64, path: &str) -> hark_tui::Hit {
    hark_tui::Hit {
        id: FileId(id),
        path: path.into(),
        score: 1.0,
        duration_s: Some(0.27),
        sample_rate: Some(48_000),
        channels: Some(2),
        offset_s: None,
        matched: hark_tui::Matched::Filter,
    }
}

/// Issue 17 point 12 (and issue 12's TUI part): control characters and
/// bidi marks in a name are shown escaped, never raw; a joined emoji
/// sequence is one glyph and the columns after it stay in place.
#[test]
fn names_with_controls_and_joined_emoji_are_escaped_and_aligned() {
    let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
    let evil = format!("/lib/a\x1b]0;pwned\x07\x1b[2Jb\tc\u{202E}vaw.exe{family}.wav");
    let app = app_with_hits(
        vec![named(1, &evil), named(2, "/lib/plain.wav")],
        (80, 24),
        false,
    );
    let terminal = render(&app);
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert!(
            !cell.symbol().chars().any(hark_types::terminal::is_unsafe),
            "a raw control reached the screen: {:?}",
            cell.symbol()
        );
    }
    let text = screen(&terminal);
    assert!(
        text.contains("a\\e]0;pwned\\x07\\e[2Jb\\tc\\u{202E}vaw.exe"),
        "{text}"
    );
    assert!(text.contains(family), "{text}");
    // The length column is at the same place on both rows.
    let rows: Vec<&str> = text.lines().skip(2).take(2).collect();
    let at = |row: &str| row.find("0.27s").map(|b| row[..b].chars().count());
    // The sequence is one cell's symbol (its second cell follows): as
    // many cells as one character there.
    let joined = family.chars().count() - 1;
    assert_eq!(at(rows[0]).map(|c| c - joined), at(rows[1]), "{text}");
    // The detail pane's title and path are escaped too.
    assert!(text.contains("\\u{202E}"), "{text}");
}

/// Issue 17 point 11: at 40 columns the name was 2 cells wide, cut at its
/// right without an ellipsis.
#[test]
fn a_narrow_list_drops_columns_and_cuts_names_in_the_middle() {
    let long = "/lib/DOORWood_Creaky Old Door Slow Open_HK_Library_Take 12.wav";
    let app = app_with_hits(vec![named(1, long)], (40, 24), false);
    let text = screen(&render(&app));
    let row = text.lines().nth(2).unwrap();
    assert!(row.contains('…'), "{text}");
    assert!(row.contains("12.wav"), "the ending is cut: {text}");
    assert!(row.contains("DOORWood"), "{text}");
    // The detail pane wraps the path rather than cutting it.
    assert!(
        text.lines()
            .any(|l| l.starts_with("│Open_HK_Library_Take 12.wav")),
        "{text}"
    );
}

/// Issue 17 point 10: the selected row's rank was grey on a grey bar while
/// the query line had the focus.
#[test]
fn the_selected_rank_shows_while_the_query_line_has_the_focus() {
    let app = app_with_hits(
        vec![named(1, "/lib/a.wav"), named(2, "/lib/b.wav")],
        (80, 24),
        true,
    );
    assert_eq!(app.focus, hark_tui::app::Focus::Query);
    let terminal = render(&app);
    let buffer = terminal.backend().buffer();
    let rank = &buffer[(1, 2)];
    assert_eq!(rank.symbol(), "1");
    assert_ne!(
        rank.fg, rank.bg,
        "the rank is drawn in its background colour"
    );
    let matched = (0..80u16)
        .map(|x| &buffer[(x, 2)])
        .find(|c| c.symbol() == "f")
        .expect("the matched column");
    assert_ne!(matched.fg, matched.bg);
}

/// Issue 17 point 9: an error's `hint:` line was joined to it and the
/// volume drawn over its end.
#[test]
fn a_long_error_wraps_onto_the_key_line() {
    let settings = Settings {
        color: false,
        ..Settings::default()
    };
    let (mut app, effects) = App::new(Some("kick dur:"), settings, (80, 24));
    let now = Instant::now();
    app.update(Msg::Playback(PlaybackEvent::DeviceReady), now);
    let seq = effects
        .iter()
        .find_map(|e| match e {
            Effect::List { seq, .. } => Some(*seq),
            _ => None,
        })
        .unwrap();
    app.update(
        Msg::Hits {
            seq,
            result: Err("unknown filter `dur:` in the query\nhint: the filters are dur:, rate:, ch:, bits:, fmt:, in:, ext:, cat:".into()),
            done: true,
        },
        now,
    );
    let text = screen(&render(&app));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[22].contains("in the query"), "{text}");
    assert!(lines[22].contains("vol 80%"), "{text}");
    assert!(lines[23].starts_with("hint: the filters are"), "{text}");
    assert!(lines[23].contains("cat:"), "{text}");
}

#[test]
fn the_detail_pane_shows_the_suggested_category_and_its_evidence() {
    let (mut app, backend) = app_after(None, (80, 24));
    let id = app.selected_hit().unwrap().id;
    assert_eq!(id, FileId(8), "the UI click, which has no UCS category");
    let result = backend.suggest_category(id).map(|s| s.map(Box::new));
    app.update(
        Msg::Suggestion {
            id,
            result: result.map_err(|e| e.to_string()),
        },
        Instant::now(),
    );
    let terminal = render(&app);
    let text = screen(&terminal);
    assert!(
        text.contains("suggested  UIClick (USER INTERFACE / CLICK) 0.88  c accepts"),
        "{text}"
    );
    // At 80×24 the tags keep their room; the evidence shows where there is more.
    assert!(text.contains("A soft interface click"), "{text}");
    insta::assert_snapshot!(terminal.backend());
    app.update(Msg::Resize(160, 40), Instant::now());
    let text = screen(&render(&app));
    assert!(
        text.contains("your nearest categorised file is not UIClick (nearest")
            && text.contains("DOORWood, 0.42); zero-shot 88%"),
        "{text}"
    );
    assert!(text.contains("A soft interface click"), "{text}");
    app.update(Msg::Resize(80, 24), Instant::now());

    // Below the threshold: the best guess, and no key to accept it.
    app.update(key(KeyCode::Esc), Instant::now());
    let now = Instant::now();
    let effects = app.update(key(KeyCode::Char('j')), now);
    serve(&mut app, &backend, effects, now);
    let id = app.selected_hit().unwrap().id;
    assert_eq!(id, FileId(7));
    let result = backend.suggest_category(id).map(|s| s.map(Box::new));
    app.update(
        Msg::Suggestion {
            id,
            result: result.map_err(|e| e.to_string()),
        },
        now,
    );
    let text = screen(&render(&app));
    assert!(
        text.contains("suggested  no suggestion (best guess DSGNWhsh 0.31, below 0.5)"),
        "{text}"
    );
    assert!(!text.contains("c accepts"), "{text}");
}
