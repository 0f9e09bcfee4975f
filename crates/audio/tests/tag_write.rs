//! Writing tags into files (`write_tags`, `restore`): WAVs shaped like
//! real-world ones (LIST/INFO, `cue `, `smpl`, an existing iXML and `bext`,
//! odd-sized chunks, RF64) are generated here; FLAC and MP3 are copies of
//! the committed fixtures. Each check reads the result back twice: with
//! hark's reader, and with a chunk parser written here that shares no code
//! with hark's.

use std::fs;

use hark_audio::{audio_span, read_metadata, restore, write_tags, TagEdit, TagError, UcsCategory};

mod common;
use common::{chunk, fixture, TempDir, XorShift};

// ---------------------------------------------------------------------------
// An independent RIFF/RF64 parser: (id, body) of every chunk, in order.

fn parse(bytes: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let magic = &bytes[..4];
    assert!(magic == b"RIFF" || magic == b"RF64", "not RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let declared = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as u64;
    let mut data_size = None;
    if magic == b"RIFF" {
        assert_eq!(declared + 8, bytes.len() as u64, "RIFF size");
    }
    let mut out = Vec::new();
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        let mut size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as u64;
        if &id == b"data" && size == u32::MAX as u64 {
            size = data_size.expect("ds64 before data");
        }
        let body = bytes[at + 8..at + 8 + size as usize].to_vec();
        if &id == b"ds64" {
            let riff = u64::from_le_bytes(body[0..8].try_into().unwrap());
            assert_eq!(riff + 8, bytes.len() as u64, "ds64 RIFF size");
            data_size = Some(u64::from_le_bytes(body[8..16].try_into().unwrap()));
        }
        out.push((id, body));
        at += 8 + size as usize + (size as usize % 2);
    }
    assert_eq!(at, bytes.len(), "chunks end where the file does");
    out
}

fn body<'a>(chunks: &'a [([u8; 4], Vec<u8>)], id: &[u8; 4]) -> Option<&'a [u8]> {
    chunks
        .iter()
        .find(|(i, _)| i == id)
        .map(|(_, b)| b.as_slice())
}

/// The chunks other than `bext`, `iXML` and `ds64`, in order.
fn others(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<([u8; 4], Vec<u8>)> {
    chunks
        .iter()
        .filter(|(id, _)| !matches!(id, b"bext" | b"iXML" | b"ds64"))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------
// Real-world-shaped WAVs

fn fmt() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(1u16.to_le_bytes());
    b.extend(2u16.to_le_bytes());
    b.extend(48_000u32.to_le_bytes());
    b.extend((48_000u32 * 6).to_le_bytes());
    b.extend(6u16.to_le_bytes());
    b.extend(24u16.to_le_bytes());
    chunk(b"fmt ", &b, false)
}

fn audio(frames: usize) -> Vec<u8> {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    (0..frames * 6).map(|_| rng.next() as u8).collect()
}

fn info() -> Vec<u8> {
    let mut list = b"INFO".to_vec();
    list.extend(chunk(b"INAM", b"Old door\0", false));
    list.extend(chunk(b"ICMT", b"odd!", false));
    chunk(b"LIST", &list, false)
}

fn cue() -> Vec<u8> {
    let mut b = 1u32.to_le_bytes().to_vec();
    b.extend(1u32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(b"data");
    b.extend([0; 8]);
    b.extend(100u32.to_le_bytes());
    chunk(b"cue ", &b, false)
}

fn smpl() -> Vec<u8> {
    let mut b = vec![0u8; 36];
    b[12..16].copy_from_slice(&60u32.to_le_bytes());
    chunk(b"smpl", &b, false)
}

fn old_bext() -> Vec<u8> {
    let mut b = vec![0u8; 602];
    b[..14].copy_from_slice(b"An old comment");
    b[256..262].copy_from_slice(b"Zoom F");
    b[320..330].copy_from_slice(b"2024-05-01");
    b[338..346].copy_from_slice(&123_456u64.to_le_bytes());
    b[346] = 1;
    b.extend(b"A=PCM,F=48000,W=24,M=stereo\r\n");
    chunk(b"bext", &b, false)
}

fn old_ixml() -> Vec<u8> {
    chunk(
        b"iXML",
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BWFXML><PROJECT>Ghost</PROJECT>\
          <USER><CATID>DOORMetl</CATID><NOTE>keep me</NOTE></USER>\
          <TRACK_LIST><TRACK><NAME>Boom</NAME></TRACK></TRACK_LIST></BWFXML>\0\0\0",
        false,
    )
}

fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32 + 4).to_le_bytes());
    out.extend(b"WAVE");
    out.extend(body);
    out
}

fn rf64(chunks: &[Vec<u8>], data_len: u64) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut ds64 = Vec::new();
    ds64.extend((body.len() as u64 + 4 + 36).to_le_bytes());
    ds64.extend(data_len.to_le_bytes());
    ds64.extend((data_len / 6).to_le_bytes());
    ds64.extend(0u32.to_le_bytes());
    let mut out = b"RF64".to_vec();
    out.extend(u32::MAX.to_le_bytes());
    out.extend(b"WAVE");
    out.extend(chunk(b"ds64", &ds64, false));
    out.extend(body);
    out
}

/// A `data` chunk; with `rf64`, sized in `ds64`.
fn data(bytes: &[u8], rf64: bool) -> Vec<u8> {
    let mut c = chunk(b"data", bytes, false);
    if rf64 {
        c[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    }
    c
}

fn edit() -> TagEdit {
    TagEdit {
        description: Some("Heavy wooden door creaks open slowly, then slams – hinge squeal".into()),
        keywords: Some("door, wood, creak, slam".into()),
        category: Some(UcsCategory::of("DOORWood").unwrap()),
        fx_name: None,
    }
}

/// Writes `edit()` into `original` and checks everything the issue asks.
fn check_wav(name: &str, original: Vec<u8>) {
    let dir = TempDir::new(name);
    let path = dir.write(&format!("{name}.wav"), &original);
    let before_span = audio_span(&path).unwrap();

    let dry = write_tags(&path, &edit(), true).unwrap();
    assert!(!dry.written && !dry.changes.is_empty());
    assert_eq!(
        fs::read(&path).unwrap(),
        original,
        "a dry run writes nothing"
    );

    let done = write_tags(&path, &edit(), false).unwrap();
    assert!(done.written);
    let new = fs::read(&path).unwrap();
    assert_ne!(new, original);

    // The independent reader: audio and every other chunk kept, in order.
    let (old_chunks, new_chunks) = (parse(&original), parse(&new));
    assert_eq!(body(&old_chunks, b"data"), body(&new_chunks, b"data"));
    assert_eq!(others(&old_chunks), others(&new_chunks));
    let bext = body(&new_chunks, b"bext").unwrap();
    assert!(bext.len() >= 602);
    assert!(bext[..256].starts_with("Heavy wooden door creaks".as_bytes()));
    if let Some(old) = body(&old_chunks, b"bext") {
        assert_eq!(
            &old[256..],
            &bext[256..],
            "bext fields past Description kept"
        );
    }
    let ixml = String::from_utf8(body(&new_chunks, b"iXML").unwrap().to_vec()).unwrap();
    for field in [
        "<CATID>DOORWood</CATID>",
        "<CATEGORY>DOORS</CATEGORY>",
        "<SUBCATEGORY>WOOD</SUBCATEGORY>",
        "<CATEGORYFULL>DOORS-WOOD</CATEGORYFULL>",
        "<KEYWORDS>door, wood, creak, slam</KEYWORDS>",
    ] {
        assert_eq!(ixml.matches(field).count(), 1, "{field} in {ixml}");
    }
    assert!(!ixml.contains("DOORMetl"), "{ixml}");

    // hark's reader.
    let meta = read_metadata(&path).unwrap();
    assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
    let tags = &meta.tags;
    assert_eq!(tags.cat_id.as_deref(), Some("DOORWood"));
    assert_eq!(tags.category.as_deref(), Some("DOORS"));
    assert_eq!(tags.subcategory.as_deref(), Some("WOOD"));
    assert_eq!(tags.keywords.as_deref(), Some("door, wood, creak, slam"));
    assert_eq!(
        tags.description.as_deref(),
        Some("Heavy wooden door creaks open slowly, then slams – hinge squeal")
    );
    assert!(tags
        .bext
        .as_ref()
        .unwrap()
        .description
        .starts_with("Heavy wooden"));
    assert_eq!(audio_span(&path).unwrap().hash, before_span.hash);

    // Writing the same again changes nothing.
    let again = write_tags(&path, &edit(), false).unwrap();
    assert!(
        again.changes.is_empty() && !again.written,
        "{:?}",
        again.changes
    );

    // Undo: byte for byte.
    restore(&path, &done.before).unwrap();
    assert_eq!(fs::read(&path).unwrap(), original, "restored byte for byte");
    assert_eq!(
        fs::read_dir(&dir.0).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn a_plain_wav_gets_bext_and_ixml() {
    check_wav("plain", riff(&[fmt(), data(&audio(1000), false)]));
}

#[test]
fn a_field_recorder_wav_keeps_every_chunk() {
    let chunks = [
        fmt(),
        old_bext(),
        info(),
        chunk(b"JUNK", &[7; 27], false), // odd-sized, padded
        data(&audio(2001), false),       // odd-sized data
        cue(),
        smpl(),
        old_ixml(),
        chunk(b"Xodd", b"abc", false),
    ];
    check_wav("recorder", riff(&chunks));
}

#[test]
fn an_rf64_file_keeps_its_ds64_sizes() {
    let pcm = audio(1500);
    let chunks = [fmt(), info(), data(&pcm, true), cue(), old_ixml()];
    check_wav("rf64", rf64(&chunks, pcm.len() as u64));
}

#[test]
fn a_missing_pad_byte_is_added_and_the_bodies_kept() {
    // A writer that forgot the pad byte after an odd-sized chunk.
    let mut odd = b"Xodd".to_vec();
    odd.extend(3u32.to_le_bytes());
    odd.extend(b"abc");
    // 43 frames: a size whose low byte is not printable, so the header read
    // one byte late is no chunk id and the walk steps back (as hark's does).
    let original = riff(&[fmt(), odd, data(&audio(43), false)]);
    let dir = TempDir::new("pad");
    let path = dir.write("pad.wav", &original);
    let done = write_tags(&path, &edit(), false).unwrap();
    let new = fs::read(&path).unwrap();
    let chunks = parse(&new);
    assert_eq!(body(&chunks, b"Xodd"), Some(&b"abc"[..]));
    assert_eq!(body(&chunks, b"data"), Some(&audio(43)[..]));
    restore(&path, &done.before).unwrap();
    assert_eq!(fs::read(&path).unwrap(), original);
}

#[test]
fn read_only_damaged_and_unsupported_files_are_refused_untouched() {
    let dir = TempDir::new("refused");
    let original = riff(&[fmt(), data(&audio(100), false)]);
    let path = dir.write("ro.wav", &original);
    let mut perms = fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    fs::set_permissions(&path, perms).unwrap();
    let err = write_tags(&path, &edit(), false).unwrap_err();
    assert!(matches!(err, TagError::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("ro.wav"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), original);

    // Truncated: the data chunk runs past the end.
    let mut cut = riff(&[fmt(), data(&audio(100), false)]);
    cut.truncate(cut.len() - 10);
    let path = dir.write("cut.wav", &cut);
    let err = write_tags(&path, &edit(), false).unwrap_err();
    assert!(matches!(err, TagError::Malformed { .. }), "{err}");
    assert_eq!(fs::read(&path).unwrap(), cut);

    let path = dir.write("x.ogg", &fs::read(fixture("tagged_vorbis.ogg")).unwrap());
    let err = write_tags(&path, &edit(), false).unwrap_err();
    assert!(matches!(err, TagError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("Ogg"), "{err}");
    let path = dir.write("x.wv", &fs::read(fixture("sine440_44k1_mono.wv")).unwrap());
    let err = write_tags(&path, &edit(), false).unwrap_err();
    assert!(err.to_string().contains("WavPack"), "{err}");
    assert_eq!(
        fs::read_dir(&dir.0).unwrap().count(),
        4,
        "no temporary file left"
    );
}

#[cfg(unix)]
#[test]
fn hard_linked_files_are_refused() {
    let dir = TempDir::new("links");
    let path = dir.write("a.wav", &riff(&[fmt(), data(&audio(10), false)]));
    fs::hard_link(&path, dir.0.join("b.wav")).unwrap();
    let err = write_tags(&path, &edit(), false).unwrap_err();
    assert!(matches!(err, TagError::HardLinks { links: 2, .. }), "{err}");
}

// ---------------------------------------------------------------------------
// FLAC, MP3 and AIFF through lofty

fn check_lofty(name: &str, original: &[u8], keys: &[(&str, &str)]) {
    let dir = TempDir::new(name);
    let path = dir.write(name, original);
    let span = audio_span(&path).unwrap();
    let done = write_tags(&path, &edit(), false).unwrap();
    assert!(done.written);
    assert_eq!(audio_span(&path).unwrap().hash, span.hash);
    let meta = read_metadata(&path).unwrap();
    for (key, value) in keys {
        assert!(
            meta.tags.all.iter().any(|(k, v)| k == key && v == value),
            "{key} = {value} in {:?}",
            meta.tags.all
        );
    }
    assert_eq!(meta.tags.cat_id.as_deref(), Some("DOORWood"));
    assert_eq!(
        meta.tags.keywords.as_deref(),
        Some("door, wood, creak, slam")
    );
    let new = fs::read(&path).unwrap();
    let audio_bytes = &original[span.offset as usize..(span.offset + span.len) as usize];
    assert!(
        new.windows(audio_bytes.len().min(4096))
            .any(|w| w == &audio_bytes[..w.len()]),
        "the audio bytes are still in the file"
    );
    restore(&path, &done.before).unwrap();
    assert_eq!(fs::read(&path).unwrap(), original, "restored byte for byte");
}

#[test]
fn flac_gets_vorbis_comments() {
    let original = fs::read(fixture("tagged_vorbis.flac")).unwrap();
    check_lofty(
        "x.flac",
        &original,
        &[
            ("vorbis.CATID", "DOORWood"),
            ("vorbis.CATEGORY", "DOORS"),
            (
                "vorbis.DESCRIPTION",
                "Heavy wooden door creaks open slowly, then slams – hinge squeal",
            ),
        ],
    );
}

#[test]
fn mp3_gets_id3_frames() {
    for fixture_name in ["tagged_id3v24.mp3", "sine440_44k1_mono.mp3"] {
        let original = fs::read(fixture(fixture_name)).unwrap();
        check_lofty(
            "x.mp3",
            &original,
            &[
                ("id3.TXXX:CATID", "DOORWood"),
                ("id3.TXXX:SUBCATEGORY", "WOOD"),
                (
                    "id3.COMM",
                    "Heavy wooden door creaks open slowly, then slams – hinge squeal",
                ),
            ],
        );
    }
}

#[test]
fn aiff_gets_an_id3_chunk() {
    let mut comm = Vec::new();
    comm.extend(1u16.to_be_bytes());
    comm.extend(100u32.to_be_bytes());
    comm.extend(16u16.to_be_bytes());
    // 44100 Hz as an 80-bit extended float.
    comm.extend([0x40, 0x0E, 0xAC, 0x44, 0, 0, 0, 0, 0, 0]);
    let mut ssnd = vec![0u8; 8];
    ssnd.extend(audio(100)[..200].to_vec());
    let body = [
        b"AIFF".to_vec(),
        chunk(b"COMM", &comm, true),
        chunk(b"ANNO", b"old note", true),
        chunk(b"SSND", &ssnd, true),
    ]
    .concat();
    let mut original = b"FORM".to_vec();
    original.extend((body.len() as u32).to_be_bytes());
    original.extend(body);
    check_lofty(
        "x.aiff",
        &original,
        &[("id3.TXXX:CATID", "DOORWood"), ("aiff.ANNO", "old note")],
    );
}

#[test]
fn the_span_of_a_wav_is_its_data_body() {
    let dir = TempDir::new("span");
    let pcm = audio(10);
    let path = dir.write("a.wav", &riff(&[fmt(), data(&pcm, false)]));
    let span = audio_span(&path).unwrap();
    assert_eq!((span.offset, span.len), (12 + 24 + 8, pcm.len() as u64));
}
