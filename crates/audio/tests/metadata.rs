//! Reading metadata: WAV files with LIST/INFO, `bext`, iXML written here at
//! test time (damaged in every way we could think of), AIFF text chunks, and
//! the tagged fixtures in `assets/test/` (made by
//! `assets/test/make_fixtures.py` with mutagen: ID3v2 in MP3 and WAV, Vorbis
//! comments in FLAC and Ogg, MP4 `ilst`).

use std::fs;
use std::path::Path;

use hark_audio::{decode_file, read_metadata, Bext, Error, Metadata};

mod common;
use common::{chunk, fixture, TempDir, XorShift};

// ---------------------------------------------------------------------------
// Writing WAV and AIFF files

/// A PCM `fmt ` chunk.
fn fmt(channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let mut body = Vec::new();
    body.extend(1u16.to_le_bytes());
    body.extend(channels.to_le_bytes());
    body.extend(rate.to_le_bytes());
    body.extend((rate * u32::from(block_align)).to_le_bytes());
    body.extend(block_align.to_le_bytes());
    body.extend(bits.to_le_bytes());
    chunk(b"fmt ", &body, false)
}

/// A `data` chunk of `bytes` bytes of silence.
fn data(bytes: usize) -> Vec<u8> {
    chunk(b"data", &vec![0; bytes], false)
}

/// A RIFF WAVE file of these chunks.
fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for c in chunks {
        body.extend(c);
    }
    chunk(b"RIFF", &body, false)
}

/// `text` in a fixed-size, NUL-padded field.
fn field(text: &[u8], len: usize) -> Vec<u8> {
    assert!(text.len() <= len);
    let mut out = text.to_vec();
    out.resize(len, 0);
    out
}

/// The body of a `bext` chunk (EBU Tech 3285 version 2).
fn bext_body(b: &Bext) -> Vec<u8> {
    let mut out = field(b.description.as_bytes(), 256);
    out.extend(field(b.originator.as_bytes(), 32));
    out.extend(field(b.originator_reference.as_bytes(), 32));
    out.extend(field(b.origination_date.as_bytes(), 10));
    out.extend(field(b.origination_time.as_bytes(), 8));
    out.extend(((b.time_reference & 0xFFFF_FFFF) as u32).to_le_bytes());
    out.extend(((b.time_reference >> 32) as u32).to_le_bytes());
    out.extend(b.version.to_le_bytes());
    out.extend([0xAB; 64]); // UMID
    out.extend((-2300i16).to_le_bytes()); // loudness value, LUFS x 100
    out.extend([0; 8]); // loudness range, true peak, momentary, short-term
    out.extend([0; 180]); // reserved
    assert_eq!(out.len(), 602);
    out.extend(b.coding_history.as_bytes());
    out.extend(b"\r\n\0");
    out
}

/// A `LIST` chunk of type `INFO` with these items (NUL-terminated, as
/// writers store them).
fn info(items: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut body = b"INFO".to_vec();
    for (id, value) in items {
        let mut value = value.to_vec();
        value.push(0);
        body.extend(chunk(id, &value, false));
    }
    chunk(b"LIST", &body, false)
}

fn sample_bext() -> Bext {
    Bext {
        description: "Old wooden door, slow creak, close".into(),
        originator: "Sound Devices 833".into(),
        originator_reference: "USID1234567890ABCDEF".into(),
        origination_date: "2024-05-01".into(),
        origination_time: "13:45:07".into(),
        // Past 2^32 samples: both halves of the field matter.
        time_reference: 5_000_000_000,
        version: 2,
        coding_history: "A=PCM,F=48000,W=24,M=stereo,T=833".into(),
    }
}

const IXML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<BWFXML>
  <IXML_VERSION>2.10</IXML_VERSION>
  <PROJECT>Ghost Ship</PROJECT>
  <SCENE>12A</SCENE>
  <TAKE>3</TAKE>
  <NOTE>door slam at the end</NOTE>
  <USER>
    <CATEGORY>DOORS</CATEGORY>
    <SUBCATEGORY>WOOD</SUBCATEGORY>
    <CATID>DOORWood</CATID>
    <FXNAME>Creaky Open Slow</FXNAME>
    <LIBRARY>MyLib</LIBRARY>
    <KEYWORDS>door; wood; creak</KEYWORDS>
  </USER>
  <ASWG><micType>MKH416</micType></ASWG>
</BWFXML>
"#;

/// A broadcast WAV with every metadata chunk: 0.1 s of 24-bit stereo at
/// 48 kHz, `bext` and LIST/INFO before the audio, iXML after it (as field
/// recorders write them).
fn bwf() -> Vec<u8> {
    riff(&[
        chunk(b"bext", &bext_body(&sample_bext()), false),
        fmt(2, 48_000, 24),
        info(&[
            (b"INAM", b"Door Creak"),
            (b"ICMT", b"from INFO"),
            (b"IART", b"Jane Doe"),
            (b"ICRD", b"2024-05-01"),
            (b"IGNR", b"Foley"),
            (b"IKEY", b"door; creak"),
            (b"ISFT", b"Wave Agent 1.2"),
            (b"ICOP", b"(c) 2024 Jane Doe"),
            (b"IPRD", b"Doors Vol. 1"),
        ]),
        data(4800 * 2 * 3),
        chunk(b"iXML", IXML.as_bytes(), false),
    ])
}

fn keys(meta: &Metadata) -> Vec<(&str, &str)> {
    meta.tags
        .all
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn value<'a>(meta: &'a Metadata, key: &str) -> Option<&'a str> {
    meta.tags
        .all
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn assert_close(actual: Option<f64>, expected: f64, tolerance: f64) {
    let actual = actual.expect("a duration");
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not {expected} ± {tolerance}"
    );
}

// ---------------------------------------------------------------------------
// WAV

#[test]
fn bwf_wav_round_trips_every_field() {
    let dir = TempDir::new("meta-bwf");
    let path = dir.write("DOORWood_Creak_JD_MyLib.wav", &bwf());
    let meta = read_metadata(&path).unwrap();
    assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
    assert_eq!(meta.format, "wav");
    assert_eq!(meta.codec.as_deref(), Some("pcm_s24le"));
    assert_eq!(meta.sample_rate, Some(48_000));
    assert_eq!(meta.channels, Some(2));
    assert_eq!(meta.bits_per_sample, Some(24));
    assert_close(meta.duration_s, 0.1, 1e-9);

    assert_eq!(meta.tags.bext.as_ref(), Some(&sample_bext()));
    assert_eq!(
        keys(&meta),
        [
            ("bext.Description", "Old wooden door, slow creak, close"),
            ("bext.Originator", "Sound Devices 833"),
            ("bext.OriginatorReference", "USID1234567890ABCDEF"),
            ("bext.OriginationDate", "2024-05-01"),
            ("bext.OriginationTime", "13:45:07"),
            ("bext.TimeReference", "5000000000"),
            ("bext.CodingHistory", "A=PCM,F=48000,W=24,M=stereo,T=833"),
            ("riff.INAM", "Door Creak"),
            ("riff.ICMT", "from INFO"),
            ("riff.IART", "Jane Doe"),
            ("riff.ICRD", "2024-05-01"),
            ("riff.IGNR", "Foley"),
            ("riff.IKEY", "door; creak"),
            ("riff.ISFT", "Wave Agent 1.2"),
            ("riff.ICOP", "(c) 2024 Jane Doe"),
            ("riff.IPRD", "Doors Vol. 1"),
            ("ixml.IXML_VERSION", "2.10"),
            ("ixml.PROJECT", "Ghost Ship"),
            ("ixml.SCENE", "12A"),
            ("ixml.TAKE", "3"),
            ("ixml.NOTE", "door slam at the end"),
            ("ixml.USER.CATEGORY", "DOORS"),
            ("ixml.USER.SUBCATEGORY", "WOOD"),
            ("ixml.USER.CATID", "DOORWood"),
            ("ixml.USER.FXNAME", "Creaky Open Slow"),
            ("ixml.USER.LIBRARY", "MyLib"),
            ("ixml.USER.KEYWORDS", "door; wood; creak"),
            ("ixml.ASWG.micType", "MKH416"),
        ]
    );

    let tags = &meta.tags;
    assert_eq!(tags.title.as_deref(), Some("Door Creak"));
    // bext before INFO, and iXML NOTE last: a recordist's note is no description.
    assert_eq!(
        tags.description.as_deref(),
        Some("Old wooden door, slow creak, close")
    );
    assert_eq!(tags.artist.as_deref(), Some("Jane Doe"));
    assert_eq!(tags.library.as_deref(), Some("MyLib"));
    assert_eq!(tags.genre.as_deref(), Some("Foley"));
    assert_eq!(tags.keywords.as_deref(), Some("door; wood; creak"));
    assert_eq!(tags.date.as_deref(), Some("2024-05-01"));
    assert_eq!(tags.copyright.as_deref(), Some("(c) 2024 Jane Doe"));
    assert_eq!(tags.software.as_deref(), Some("Wave Agent 1.2"));
    assert_eq!(tags.category.as_deref(), Some("DOORS"));
    assert_eq!(tags.subcategory.as_deref(), Some("WOOD"));
    assert_eq!(tags.cat_id.as_deref(), Some("DOORWood"));
}

#[test]
fn a_wav_without_tags_has_stream_facts_only() {
    let dir = TempDir::new("meta-plain");
    let path = dir.write("a.wav", &riff(&[fmt(1, 44_100, 16), data(44_100 * 2)]));
    let meta = read_metadata(&path).unwrap();
    assert_eq!(
        meta,
        Metadata {
            format: "wav".into(),
            codec: Some("pcm_s16le".into()),
            duration_s: Some(1.0),
            sample_rate: Some(44_100),
            channels: Some(1),
            bits_per_sample: Some(16),
            ..Metadata::default()
        }
    );
}

#[test]
fn metadata_agrees_with_the_decoder() {
    let dir = TempDir::new("meta-agree");
    let wav = dir.write("a.wav", &bwf());
    for path in [
        wav,
        fixture("sine440_44k1_mono_16bit.flac"),
        fixture("sine440_44k1_mono.mp3"),
        fixture("sine440_48k_stereo.ogg"),
    ] {
        let meta = read_metadata(&path).unwrap();
        let audio = decode_file(&path).unwrap();
        assert!(meta.warnings.is_empty(), "{path:?}: {:?}", meta.warnings);
        assert_eq!(
            meta.codec.as_deref(),
            Some(audio.codec.as_str()),
            "{path:?}"
        );
        assert_eq!(meta.sample_rate, Some(audio.source_rate), "{path:?}");
        assert_eq!(meta.channels, Some(audio.channels), "{path:?}");
        assert_eq!(meta.bits_per_sample, audio.bits_per_sample, "{path:?}");
        assert_close(meta.duration_s, audio.duration_secs(), 1e-3);
    }
}

#[test]
fn windows_1252_text_is_read_as_such() {
    let dir = TempDir::new("meta-1252");
    let mut bext = bext_body(&Bext::default());
    bext[..11].copy_from_slice(b"Caf\xE9 \x96 door");
    let path = dir.write(
        "a.wav",
        &riff(&[
            fmt(1, 48_000, 16),
            chunk(b"bext", &bext, false),
            info(&[
                (b"ICMT", b"na\xEFve \x93quote\x94"),
                (b"INAM", "déjà".as_bytes()),
            ]),
            data(96),
        ]),
    );
    let meta = read_metadata(&path).unwrap();
    assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
    assert_eq!(value(&meta, "bext.Description"), Some("Café – door"));
    assert_eq!(
        value(&meta, "riff.ICMT"),
        Some("naïve \u{201C}quote\u{201D}")
    );
    assert_eq!(value(&meta, "riff.INAM"), Some("déjà"));
}

#[test]
fn rf64_sizes_come_from_ds64() {
    // RF64 as field recorders write it: 0xFFFFFFFF sizes, real ones in ds64.
    // symphonia does not read RF64; the chunk walker's facts stand in.
    let audio_bytes = 48_000 * 2 * 2; // 1 s, 16-bit stereo
    let mut ds64 = Vec::new();
    ds64.extend(0u64.to_le_bytes()); // RIFF size, filled in below
    ds64.extend((audio_bytes as u64).to_le_bytes());
    ds64.extend(48_000u64.to_le_bytes());
    ds64.extend(0u32.to_le_bytes());
    let mut file = b"RF64\xFF\xFF\xFF\xFFWAVE".to_vec();
    file.extend(chunk(b"ds64", &ds64, false));
    file.extend(fmt(2, 48_000, 16));
    file.extend(chunk(b"bext", &bext_body(&sample_bext()), false));
    file.extend(b"data\xFF\xFF\xFF\xFF");
    file.extend(vec![0; audio_bytes]);
    file.extend(chunk(b"iXML", b"<BWFXML><SCENE>7</SCENE></BWFXML>", false));
    let riff_size = file.len() as u64 - 8;
    file[20..28].copy_from_slice(&riff_size.to_le_bytes());

    let dir = TempDir::new("meta-rf64");
    let path = dir.write("a.wav", &file);
    let meta = read_metadata(&path).unwrap();
    assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
    assert_eq!(meta.format, "wav");
    assert_eq!(meta.codec.as_deref(), Some("pcm_s16le"));
    assert_eq!((meta.sample_rate, meta.channels), (Some(48_000), Some(2)));
    assert_close(meta.duration_s, 1.0, 1e-9);
    assert_eq!(meta.tags.bext, Some(sample_bext()));
    assert_eq!(value(&meta, "ixml.SCENE"), Some("7"));
}

#[test]
fn metadata_after_a_large_audio_chunk_is_found_by_seeking() {
    // 64 MiB of audio the reader must skip, not read: a sparse file.
    let dir = TempDir::new("meta-large");
    let audio_bytes: u32 = 64 << 20;
    let path = dir.0.join("a.wav");
    let mut head = b"RIFF".to_vec();
    let ixml = chunk(b"iXML", b"<BWFXML><NOTE>after</NOTE></BWFXML>", false);
    let total = 4 + fmt(1, 48_000, 16).len() as u32 + 8 + audio_bytes + ixml.len() as u32;
    head.extend(total.to_le_bytes());
    head.extend(b"WAVE");
    head.extend(fmt(1, 48_000, 16));
    head.extend(b"data");
    head.extend(audio_bytes.to_le_bytes());
    let file = fs::File::create(&path).unwrap();
    file.set_len(head.len() as u64 + u64::from(audio_bytes))
        .unwrap();
    drop(file);
    let mut bytes = fs::read(&path).unwrap();
    bytes[..head.len()].copy_from_slice(&head);
    bytes.extend(&ixml);
    fs::write(&path, &bytes).unwrap();

    let meta = read_metadata(&path).unwrap();
    assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
    assert_eq!(value(&meta, "ixml.NOTE"), Some("after"));
    assert_close(meta.duration_s, f64::from(audio_bytes) / 96_000.0, 1e-9);
}

// ---------------------------------------------------------------------------
// Damaged WAV metadata: warnings, never errors

/// Reads `bytes` as a WAV, expecting success with a warning containing
/// each of `expected`.
fn read_damaged(name: &str, bytes: &[u8], expected: &[&str]) -> Metadata {
    let dir = TempDir::new(name);
    let path = dir.write("a.wav", bytes);
    let meta = read_metadata(&path).unwrap();
    for needle in expected {
        assert!(
            meta.warnings.iter().any(|w| w.contains(needle)),
            "no warning with {needle:?} in {:?}",
            meta.warnings
        );
    }
    assert!(
        !meta.warnings.iter().any(|w| w.contains("panicked")),
        "{:?}",
        meta.warnings
    );
    meta
}

#[test]
fn truncated_bext_keeps_the_fields_it_holds() {
    let body = bext_body(&sample_bext());
    let meta = read_damaged(
        "meta-bext-short",
        &riff(&[
            fmt(1, 48_000, 16),
            chunk(b"bext", &body[..300], false),
            data(96),
        ]),
        &["`bext` chunk truncated"],
    );
    let bext = meta.tags.bext.unwrap();
    assert_eq!(bext.description, "Old wooden door, slow creak, close");
    assert_eq!(bext.originator, "Sound Devices 833");
    assert_eq!(bext.originator_reference, "USID12345678"); // cut at byte 300
    assert_eq!(
        (bext.origination_date.as_str(), bext.time_reference),
        ("", 0)
    );
    assert_eq!(meta.codec.as_deref(), Some("pcm_s16le"));
}

#[test]
fn garbage_in_a_list_info_keeps_the_items_before_it() {
    let mut list = b"INFO".to_vec();
    list.extend(chunk(b"INAM", b"Door\0", false));
    list.extend(b"\x01\x02\x03\x04\x05\x06\x07\x08garbage");
    let meta = read_damaged(
        "meta-info-garbage",
        &riff(&[fmt(1, 48_000, 16), chunk(b"LIST", &list, false), data(96)]),
        &["LIST/INFO chunk holds garbage"],
    );
    assert_eq!(keys(&meta), [("riff.INAM", "Door")]);
    assert_eq!(meta.sample_rate, Some(48_000));

    // An item whose size runs past the list.
    let mut list = b"INFO".to_vec();
    list.extend(b"ICMT\xFF\x00\x00\x00cut short");
    let meta = read_damaged(
        "meta-info-cut",
        &riff(&[fmt(1, 48_000, 16), chunk(b"LIST", &list, false), data(96)]),
        &["LIST/INFO item `ICMT` truncated"],
    );
    assert_eq!(keys(&meta), [("riff.ICMT", "cut short")]);
}

#[test]
fn a_chunk_cut_by_the_end_of_the_file_is_read_as_far_as_it_goes() {
    let mut file = riff(&[fmt(1, 48_000, 16), data(96)]);
    let ixml = chunk(b"iXML", IXML.as_bytes(), false);
    file.extend(&ixml[..ixml.len() - 200]);
    let riff_size = (file.len() - 8 + 200) as u32;
    file[4..8].copy_from_slice(&riff_size.to_le_bytes());
    let meta = read_damaged(
        "meta-ixml-cut",
        &file,
        &[
            "file is truncated",
            "`iXML` chunk truncated",
            "iXML chunk ends inside",
        ],
    );
    assert_eq!(value(&meta, "ixml.PROJECT"), Some("Ghost Ship"));
    assert_eq!(value(&meta, "ixml.USER.CATEGORY"), Some("DOORS"));
    assert_eq!(meta.codec.as_deref(), Some("pcm_s16le"));
}

#[test]
fn truncated_audio_gives_the_duration_of_what_is_there() {
    let mut file = riff(&[fmt(1, 48_000, 16), info(&[(b"INAM", b"Cut")]), data(96_000)]);
    file.truncate(file.len() - 48_000);
    let meta = read_damaged("meta-data-cut", &file, &["file is truncated"]);
    assert_eq!(value(&meta, "riff.INAM"), Some("Cut"));
    assert_eq!(meta.sample_rate, Some(48_000));
    assert_close(meta.duration_s, 0.5, 0.01);
}

#[test]
fn garbage_instead_of_a_chunk_stops_the_walk_there() {
    let mut body = b"WAVE".to_vec();
    body.extend(fmt(1, 48_000, 16));
    body.extend(info(&[(b"INAM", b"Before")]));
    body.extend(data(96));
    body.extend(b"\x00\x01\x02\x03\xFF\xFF\xFF\xFFjunkjunk");
    let meta = read_damaged(
        "meta-garbage-chunk",
        &chunk(b"RIFF", &body, false),
        &["garbage instead of a chunk"],
    );
    assert_eq!(keys(&meta), [("riff.INAM", "Before")]);
    assert_close(meta.duration_s, 0.001, 1e-9);
}

#[test]
fn chunks_past_the_declared_riff_end_are_read_and_junk_there_is_silent() {
    let mut file = riff(&[fmt(1, 48_000, 16), data(96)]);
    file.extend(info(&[(b"INAM", b"Appended")]));
    file.extend(b"TAGSong title of an appended ID3v1 tag");
    let meta = read_damaged("meta-appended", &file, &[]);
    assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
    assert_eq!(keys(&meta), [("riff.INAM", "Appended")]);
}

#[test]
fn a_missing_pad_byte_is_tolerated() {
    // An odd-sized chunk without its pad byte, then the metadata.
    let mut body = b"WAVE".to_vec();
    body.extend(fmt(1, 48_000, 8));
    body.extend(b"data\x61\x00\x00\x00");
    body.extend(vec![0x80; 97]);
    body.extend(info(&[(b"INAM", b"After")]));
    body.extend(chunk(b"JUNK", b"odd", false));
    // And no pad byte after the last, odd-sized chunk either, which leaves
    // the file one byte shorter than the RIFF size says.
    let mut file = chunk(b"RIFF", &body, false);
    file.pop();
    let meta = read_damaged("meta-no-pad", &file, &[]);
    assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
    assert_eq!(keys(&meta), [("riff.INAM", "After")]);
    assert_eq!(meta.codec.as_deref(), Some("pcm_u8"));
}

#[test]
fn a_broken_ixml_chunk_keeps_its_first_fields_and_the_rest_of_the_file() {
    let ixml = b"<BWFXML><SCENE>4</SCENE><!oops><TAKE>2</TAKE></BWFXML>";
    let meta = read_damaged(
        "meta-ixml-broken",
        &riff(&[
            fmt(1, 48_000, 16),
            chunk(b"iXML", ixml, false),
            info(&[(b"INAM", b"Still here")]),
            data(96),
        ]),
        &["iXML chunk is malformed"],
    );
    assert_eq!(
        keys(&meta),
        [("ixml.SCENE", "4"), ("riff.INAM", "Still here")]
    );
}

#[test]
fn a_damaged_id3_chunk_is_a_warning() {
    for (body, warning) in [
        (
            &b"ID3\x04\x00\x00\x7F\x7F\x7F\x7Fnot a tag"[..],
            "ID3 chunk truncated",
        ),
        (&b"garbage, not a tag"[..], "ID3 chunk holds no ID3v2 tag"),
        (
            &b"ID3\x09\x00\x00\x00\x00\x00\x01"[..],
            "ID3 chunk unreadable",
        ),
    ] {
        let meta = read_damaged(
            "meta-id3-garbage",
            &riff(&[
                fmt(1, 48_000, 16),
                chunk(b"id3 ", body, false),
                info(&[(b"INAM", b"Kept")]),
                data(96),
            ]),
            &[warning],
        );
        assert_eq!(keys(&meta), [("riff.INAM", "Kept")]);
    }
}

#[test]
fn a_missing_format_chunk_leaves_the_stream_facts_unknown() {
    let meta = read_damaged(
        "meta-no-fmt",
        &riff(&[info(&[(b"INAM", b"No format")]), data(96)]),
        &["stream header unreadable"],
    );
    assert_eq!(meta.format, "wav");
    assert_eq!(
        (meta.codec, meta.sample_rate, meta.duration_s),
        (None, None, None)
    );
    assert_eq!(meta.tags.title.as_deref(), Some("No format"));
}

#[test]
fn a_zero_sample_rate_is_a_warning() {
    let meta = read_damaged(
        "meta-zero-rate",
        &riff(&[fmt(1, 0, 16), info(&[(b"INAM", b"Zero")]), data(96)]),
        &["sample rate of 0 Hz"],
    );
    assert_eq!((meta.sample_rate, meta.duration_s), (None, None));
    assert_eq!(meta.tags.title.as_deref(), Some("Zero"));
}

#[test]
fn damaged_files_never_panic_or_fail_on_their_tags() {
    let dir = TempDir::new("meta-fuzz");
    let originals = [
        ("a.wav", bwf()),
        ("b.mp3", fs::read(fixture("tagged_id3v24.mp3")).unwrap()),
        ("c.flac", fs::read(fixture("tagged_vorbis.flac")).unwrap()),
        ("d.ogg", fs::read(fixture("tagged_vorbis.ogg")).unwrap()),
        ("e.m4a", fs::read(fixture("tagged_ilst.m4a")).unwrap()),
        ("f.wav", fs::read(fixture("tagged_id3.wav")).unwrap()),
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for (name, original) in &originals {
        for round in 0..60 {
            let mut bytes = original.clone();
            match round % 3 {
                // Flip bytes in the first 4 KiB, where the headers and tags are.
                0 | 1 => {
                    for _ in 0..1 + rng.next() % 8 {
                        let i = (rng.next() as usize) % bytes.len().min(4096);
                        bytes[i] = rng.next() as u8;
                    }
                }
                // Cut the file short.
                _ => bytes.truncate(1 + (rng.next() as usize) % bytes.len()),
            }
            let path = dir.write(name, &bytes);
            // Err is fine when the magic itself is gone. A panic must not
            // escape, and only symphonia's container readers are known to
            // panic (its MP4 reader overflows on some damaged tables); ours
            // and lofty's must not.
            if let Ok(meta) = read_metadata(&path) {
                assert!(
                    !meta
                        .warnings
                        .iter()
                        .any(|w| w.contains("panicked")
                            && !w.starts_with("reading the stream header")),
                    "{name} round {round}: {:?}",
                    meta.warnings
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// AIFF

#[test]
fn aiff_text_chunks() {
    let mut comm = Vec::new();
    comm.extend(1u16.to_be_bytes()); // channels
    comm.extend(4410u32.to_be_bytes()); // frames
    comm.extend(16u16.to_be_bytes());
    comm.extend([0x40, 0x0E, 0xAC, 0x44, 0, 0, 0, 0, 0, 0]); // 44100 Hz, 80-bit
    let mut body = b"AIFF".to_vec();
    body.extend(chunk(b"COMM", &comm, true));
    body.extend(chunk(b"NAME", b"Door Creak", true));
    body.extend(chunk(b"AUTH", b"Jane Doe", true));
    body.extend(chunk(b"(c) ", b"2024 Jane Doe", true));
    body.extend(chunk(b"ANNO", b"slow, close", true));
    let mut ssnd = vec![0; 8];
    ssnd.extend(vec![0; 4410 * 2]);
    body.extend(chunk(b"SSND", &ssnd, true));
    let dir = TempDir::new("meta-aiff");
    let path = dir.write("a.aif", &chunk(b"FORM", &body, true));

    let meta = read_metadata(&path).unwrap();
    assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
    assert_eq!(meta.format, "aiff");
    assert_eq!(meta.codec.as_deref(), Some("pcm_s16be"));
    assert_eq!(
        (meta.sample_rate, meta.channels, meta.bits_per_sample),
        (Some(44_100), Some(1), Some(16))
    );
    // symphonia 0.5 counts the SSND chunk's 8-byte header as audio: 4 frames.
    assert_close(meta.duration_s, 0.1, 1e-4);
    assert_eq!(
        keys(&meta),
        [
            ("aiff.NAME", "Door Creak"),
            ("aiff.AUTH", "Jane Doe"),
            ("aiff.(c)", "2024 Jane Doe"),
            ("aiff.ANNO", "slow, close"),
        ]
    );
    assert_eq!(meta.tags.title.as_deref(), Some("Door Creak"));
    assert_eq!(meta.tags.artist.as_deref(), Some("Jane Doe"));
    assert_eq!(meta.tags.copyright.as_deref(), Some("2024 Jane Doe"));
    assert_eq!(meta.tags.description.as_deref(), Some("slow, close"));
}

// ---------------------------------------------------------------------------
// Tagged fixtures (values from assets/test/make_fixtures.py)

const COMMENT: &str = "Old wooden door, slow creak – close";

/// The common fields every tagged fixture fills.
fn assert_common_fields(meta: &Metadata) {
    let tags = &meta.tags;
    assert_eq!(tags.title.as_deref(), Some("Door Creak"), "{tags:?}");
    assert_eq!(tags.artist.as_deref(), Some("Jane Doe"), "{tags:?}");
    assert_eq!(tags.library.as_deref(), Some("Doors Vol. 1"), "{tags:?}");
    assert_eq!(tags.date.as_deref(), Some("2024-05-01"), "{tags:?}");
    assert_eq!(tags.description.as_deref(), Some(COMMENT), "{tags:?}");
    assert_eq!(tags.category.as_deref(), Some("DOORS"), "{tags:?}");
    assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
}

/// The ID3v2.4 frames that make_fixtures.py's `tag_id3` writes.
const ID3_ITEMS: [(&str, &str); 9] = [
    ("id3.TIT2", "Door Creak"),
    ("id3.TPE1", "Jane Doe"),
    ("id3.TALB", "Doors Vol. 1"),
    ("id3.TDRC", "2024-05-01"),
    ("id3.COMM", COMMENT),
    ("id3.TXXX:CATEGORY", "DOORS"),
    ("id3.TXXX:SUBCATEGORY", "WOOD"),
    ("id3.TXXX:CATID", "DOORWood"),
    ("id3.TXXX:Foo", "Bar"),
];

fn assert_has_items(meta: &Metadata, expected: &[(&str, &str)]) {
    let mut found = keys(meta);
    let mut expected = expected.to_vec();
    found.sort_unstable();
    expected.sort_unstable();
    assert_eq!(found, expected);
}

#[test]
fn id3v2_in_mp3() {
    let meta = read_metadata(&fixture("tagged_id3v24.mp3")).unwrap();
    assert_eq!(meta.format, "mp3");
    assert_eq!(meta.codec.as_deref(), Some("mp3"));
    assert_eq!((meta.sample_rate, meta.channels), (Some(44_100), Some(1)));
    assert_eq!(meta.bits_per_sample, None);
    assert_close(meta.duration_s, 0.1, 0.03);
    assert_has_items(&meta, &ID3_ITEMS);
    assert_common_fields(&meta);
    assert_eq!(meta.tags.subcategory.as_deref(), Some("WOOD"));
    assert_eq!(meta.tags.cat_id.as_deref(), Some("DOORWood"));
}

#[test]
fn an_mp3_cut_after_its_tag_keeps_the_tag() {
    let mut bytes = fs::read(fixture("tagged_id3v24.mp3")).unwrap();
    let tag_len = 10
        + bytes[6..10]
            .iter()
            .fold(0, |n, &b| (n << 7) | usize::from(b));
    bytes.truncate(tag_len);
    let dir = TempDir::new("meta-mp3-cut");
    let meta = read_metadata(&dir.write("a.mp3", &bytes)).unwrap();
    assert_eq!(meta.format, "mp3");
    assert_has_items(&meta, &ID3_ITEMS);
    assert_eq!((meta.codec, meta.duration_s), (None, None));
    assert_eq!(meta.warnings.len(), 1, "{:?}", meta.warnings);
    assert!(
        meta.warnings[0].starts_with("stream header unreadable"),
        "{:?}",
        meta.warnings
    );
}

#[test]
fn id3v2_in_a_wav_chunk() {
    let meta = read_metadata(&fixture("tagged_id3.wav")).unwrap();
    assert_eq!(meta.format, "wav");
    assert_eq!(meta.codec.as_deref(), Some("pcm_s16le"));
    assert_eq!((meta.sample_rate, meta.channels), (Some(8000), Some(1)));
    assert_close(meta.duration_s, 0.1, 1e-9);
    assert_has_items(&meta, &ID3_ITEMS);
    assert_common_fields(&meta);
}

/// The Vorbis comments that make_fixtures.py's `tag_vorbis` writes, keys as
/// written.
const VORBIS_ITEMS: [(&str, &str); 9] = [
    ("vorbis.TITLE", "Door Creak"),
    ("vorbis.ARTIST", "Jane Doe"),
    ("vorbis.ALBUM", "Doors Vol. 1"),
    ("vorbis.DATE", "2024-05-01"),
    ("vorbis.COMMENT", COMMENT),
    ("vorbis.CATEGORY", "DOORS"),
    ("vorbis.SUBCATEGORY", "WOOD"),
    ("vorbis.CATID", "DOORWood"),
    ("vorbis.Foo", "Bar"),
];

#[test]
fn vorbis_comments_in_flac() {
    let meta = read_metadata(&fixture("tagged_vorbis.flac")).unwrap();
    assert_eq!(meta.format, "flac");
    assert_eq!(meta.codec.as_deref(), Some("flac"));
    assert_eq!(
        (meta.sample_rate, meta.channels, meta.bits_per_sample),
        (Some(44_100), Some(1), Some(16))
    );
    assert_close(meta.duration_s, 0.1, 1e-9);
    assert_has_items(&meta, &VORBIS_ITEMS);
    assert_common_fields(&meta);
}

#[test]
fn vorbis_comments_in_ogg() {
    let meta = read_metadata(&fixture("tagged_vorbis.ogg")).unwrap();
    assert_eq!(meta.format, "ogg");
    assert_eq!(meta.codec.as_deref(), Some("vorbis"));
    assert_eq!((meta.sample_rate, meta.channels), (Some(48_000), Some(1)));
    assert_close(meta.duration_s, 0.1, 1e-3);
    assert_has_items(&meta, &VORBIS_ITEMS);
    assert_common_fields(&meta);
}

#[test]
fn ilst_in_mp4() {
    let meta = read_metadata(&fixture("tagged_ilst.m4a")).unwrap();
    assert_eq!(meta.format, "mp4");
    assert_eq!(meta.codec.as_deref(), Some("aac"));
    assert_eq!((meta.sample_rate, meta.channels), (Some(44_100), Some(1)));
    assert_close(meta.duration_s, 0.1, 0.03);
    assert_has_items(
        &meta,
        &[
            ("mp4.©nam", "Door Creak"),
            ("mp4.©ART", "Jane Doe"),
            ("mp4.©alb", "Doors Vol. 1"),
            ("mp4.©day", "2024-05-01"),
            ("mp4.©cmt", COMMENT),
            ("mp4.----:com.apple.iTunes:CATEGORY", "DOORS"),
            ("mp4.----:com.apple.iTunes:Foo", "Bar"),
        ],
    );
    assert_common_fields(&meta);
}

#[test]
fn untagged_fixtures_have_no_tags_and_no_warnings() {
    for (name, format, codec, rate, channels) in [
        ("sine440_44k1_mono_16bit.flac", "flac", "flac", 44_100, 1),
        ("sine440_44k1_mono.mp3", "mp3", "mp3", 44_100, 1),
        ("sine440_48k_stereo.ogg", "ogg", "vorbis", 48_000, 2),
    ] {
        let meta = read_metadata(&fixture(name)).unwrap();
        assert!(meta.warnings.is_empty(), "{name}: {:?}", meta.warnings);
        assert_eq!(meta.format, format);
        assert_eq!(meta.codec.as_deref(), Some(codec));
        assert_eq!(
            (meta.sample_rate, meta.channels),
            (Some(rate), Some(channels))
        );
        assert_close(meta.duration_s, 0.5, 0.03);
        // soundfile writes only an encoder string, if anything.
        assert!(
            meta.tags.all.iter().all(|(k, _)| k.ends_with("ENCODER")
                || k.ends_with("TSSE")
                || k.ends_with("encoder")),
            "{name}: {:?}",
            meta.tags.all
        );
    }
}

// ---------------------------------------------------------------------------
// Errors

fn assert_error_names_path(path: &Path) -> Error {
    let err = read_metadata(path).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    err
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let err = assert_error_names_path(Path::new("/nonexistent/hark/door.wav"));
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
}

#[test]
fn a_directory_or_empty_file_is_an_error() {
    let dir = TempDir::new("meta-errors");
    let folder = dir.0.join("folder.wav");
    fs::create_dir(&folder).unwrap();
    assert!(matches!(
        assert_error_names_path(&folder),
        Error::Open { .. }
    ));
    let empty = dir.write("empty.wav", b"");
    assert!(matches!(
        assert_error_names_path(&empty),
        Error::Empty { .. }
    ));
}

#[test]
fn a_file_that_is_not_audio_is_an_error() {
    let dir = TempDir::new("meta-not-audio");
    let text = dir.write("notes.wav", b"just some text, not a sound at all\n");
    assert!(matches!(
        assert_error_names_path(&text),
        Error::Format { .. }
    ));
    let noise: Vec<u8> = {
        let mut rng = XorShift(7);
        (0..4096).map(|_| rng.next() as u8).collect()
    };
    let noise = dir.write("noise.bin", &noise);
    assert_error_names_path(&noise);
}
