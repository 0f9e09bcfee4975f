//! The `tag` module as a library: a category written into an indexed WAV,
//! the catalog row following with the same id, the log undone byte for
//! byte; and its typed refusals. (`tests/tag.rs` at the root runs the same
//! through `hark tag`, with real-world-shaped files.)

use std::fs;
use std::path::{Path, PathBuf};

use hark_audio::{TagEdit, UcsCategory};
use hark_indexer::tag::{self, Error, TagBatch, TagOptions};
use hark_store::Catalog;

/// A 16-bit mono 48 kHz WAV of a tone, 0.25 s.
fn wav(hz: f32) -> Vec<u8> {
    let pcm: Vec<u8> = (0..12_000)
        .flat_map(|i| {
            let t = i as f32 / 48_000.0;
            (((t * hz * std::f32::consts::TAU).sin() * 9_000.0) as i16).to_le_bytes()
        })
        .collect();
    let mut fmt = Vec::new();
    for v in [1u16, 1] {
        fmt.extend(v.to_le_bytes());
    }
    fmt.extend(48_000u32.to_le_bytes());
    fmt.extend(96_000u32.to_le_bytes());
    fmt.extend(2u16.to_le_bytes());
    fmt.extend(16u16.to_le_bytes());
    let mut body = b"WAVEfmt ".to_vec();
    body.extend((fmt.len() as u32).to_le_bytes());
    body.extend(fmt);
    body.extend(b"data");
    body.extend((pcm.len() as u32).to_le_bytes());
    body.extend(pcm);
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

fn library() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("Audio 017.wav"), wav(440.0)).unwrap();
    let root = fs::canonicalize(root).unwrap();
    let index = dir.path().join("index");
    let options = hark_indexer::Options {
        add_roots: vec![root.clone()],
        ..hark_indexer::Options::default()
    };
    hark_indexer::run(&index, &options, None, &mut |_: hark_indexer::Event<'_>| {}).unwrap();
    (dir, root, index)
}

fn category(id: &str) -> TagEdit {
    TagEdit {
        category: UcsCategory::of(id),
        ..TagEdit::default()
    }
}

fn tag_value(index: &Path, file: &Path, key: &str) -> Option<String> {
    let stored = Catalog::open_readonly(index)
        .unwrap()
        .file_by_path(file)
        .unwrap()
        .unwrap();
    stored
        .record
        .tags
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

#[test]
fn a_category_is_written_logged_and_undone() {
    let (_dir, root, index) = library();
    let file = root.join("Audio 017.wav");
    let original = fs::read(&file).unwrap();
    let id_of = |file: &Path| {
        Catalog::open_readonly(&index)
            .unwrap()
            .file_by_path(file)
            .unwrap()
            .map(|f| f.id)
    };
    let id = id_of(&file);
    assert!(id.is_some());

    // A dry run says what would change and writes nothing.
    let mut dry = TagBatch::open(&index, true).unwrap();
    let report = dry
        .tag(&file, &category("DOORWood"), &TagOptions::default())
        .unwrap();
    assert!(!report.written);
    assert!(report
        .changes
        .iter()
        .any(|c| c.key == "ixml.USER.CATID" && c.new == "DOORWood" && c.old.is_none()));
    drop(dry);
    assert_eq!(fs::read(&file).unwrap(), original);
    assert!(!index.join("tag-log").exists(), "a dry run logs nothing");

    let mut batch = TagBatch::open(&index, false).unwrap();
    let report = batch
        .tag(&file, &category("DOORWood"), &TagOptions::default())
        .unwrap();
    assert!(report.written);
    assert_eq!(report.format, "wav");
    assert_eq!(report.path, file);
    drop(batch);
    // The catalog row follows, same id.
    assert_eq!(
        tag_value(&index, &file, "ixml.USER.CATID").as_deref(),
        Some("DOORWood")
    );
    assert_eq!(id_of(&file), id);

    let undone = tag::undo_last(&index).unwrap();
    assert_eq!(undone.files.len(), 1);
    assert_eq!(undone.files[0].path, file);
    assert!(
        undone.files[0].result.is_ok(),
        "{:?}",
        undone.files[0].result
    );
    assert_eq!(fs::read(&file).unwrap(), original, "byte for byte");
    assert_eq!(tag_value(&index, &file, "ixml.USER.CATID"), None);
    assert!(undone.batch.join("undone").exists());
    assert!(matches!(
        tag::undo_last(&index),
        Err(Error::NothingToUndo { .. })
    ));
}

#[test]
fn refusals_are_typed_and_name_the_file() {
    let (dir, root, index) = library();
    let mut batch = TagBatch::open(&index, false).unwrap();
    let edit = category("DOORWood");
    let options = TagOptions::default();

    let stray = dir.path().join("stray.wav");
    fs::write(&stray, wav(220.0)).unwrap();
    let e = batch.tag(&stray, &edit, &options).unwrap_err();
    assert!(
        matches!(&e, Error::NotIndexed { path } if path.ends_with("stray.wav")),
        "{e:?}"
    );
    assert!(e.to_string().contains("hint: run `hark index`"), "{e}");

    let e = batch
        .tag(&root.join("gone.wav"), &edit, &options)
        .unwrap_err();
    assert!(matches!(&e, Error::NotFound { .. }), "{e:?}");

    // Changed since it was indexed (same size, other bytes, other time).
    let file = root.join("Audio 017.wav");
    fs::write(&file, wav(880.0)).unwrap();
    let e = batch.tag(&file, &edit, &options).unwrap_err();
    assert!(matches!(&e, Error::ChangedSinceIndexed { .. }), "{e:?}");

    // Renaming needs a CreatorID the file does not have.
    let (_dir2, root2, index2) = library();
    let mut batch2 = TagBatch::open(&index2, false).unwrap();
    let e = batch2
        .tag(
            &root2.join("Audio 017.wav"),
            &edit,
            &TagOptions {
                rename_ucs: true,
                ..TagOptions::default()
            },
        )
        .unwrap_err();
    assert!(matches!(&e, Error::NoCreator { .. }), "{e:?}");

    // The writer lock is held while a batch is open.
    let e = TagBatch::open(&index2, false)
        .err()
        .expect("the lock is held");
    assert!(
        matches!(&e, Error::Index(inner) if matches!(**inner, hark_indexer::Error::Locked { .. })),
        "{e:?}"
    );
}
