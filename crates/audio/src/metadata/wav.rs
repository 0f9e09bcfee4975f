//! WAV metadata: the stream format, LIST/INFO, `bext`, iXML and embedded
//! ID3 chunks of RIFF, RF64 and BW64 files, found with the crate's chunk
//! walker.
//!
//! Hand-written rather than left to lofty, because lofty 0.24 exposes
//! neither `bext` nor iXML (the two chunks that matter most in sound
//! libraries), does not open RF64/BW64 (long field recordings), drops INFO
//! values that are not UTF-8 (Windows tools write Windows-1252), and gives up
//! a whole file's tags over one malformed chunk. Here each chunk stands
//! alone: a damaged one costs itself and a warning. Only chunk headers and
//! metadata chunks are read; the audio is skipped with a seek. How the
//! file is laid out (RF64 sizes, missing pad bytes, garbage) is the
//! walker's business; what it finds wrong becomes a warning here.

use std::io::{Read, Seek};

use super::ixml;
use super::tags::Bext;
use super::text::decode_text;
use crate::chunks::{is_fourcc, Chunk, Chunks, Form};

/// Metadata chunks larger than this are skipped with a warning, so that a
/// corrupt size field cannot make the reader allocate gigabytes.
const MAX_CHUNK: u64 = 16 << 20;

/// The `fmt ` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fmt {
    /// `wFormatTag`, with `WAVE_FORMAT_EXTENSIBLE` resolved to its sub-format.
    pub format: u16,
    pub channels: u16,
    pub sample_rate: u32,
    pub block_align: u16,
    /// `wBitsPerSample`, or the extensible chunk's valid bits if set.
    pub bits_per_sample: u16,
}

const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_ADPCM: u16 = 0x0002;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
const WAVE_FORMAT_ALAW: u16 = 0x0006;
const WAVE_FORMAT_MULAW: u16 = 0x0007;
const WAVE_FORMAT_IMA_ADPCM: u16 = 0x0011;
const WAVE_FORMAT_MPEGLAYER3: u16 = 0x0055;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

impl Fmt {
    /// The codec's name as symphonia spells it, so that it matches
    /// [`DecodedAudio::codec`](crate::DecodedAudio::codec).
    pub fn codec(&self) -> String {
        let name = match (self.format, self.bits_per_sample) {
            (WAVE_FORMAT_PCM, 1..=8) => "pcm_u8",
            (WAVE_FORMAT_PCM, 9..=16) => "pcm_s16le",
            (WAVE_FORMAT_PCM, 17..=24) => "pcm_s24le",
            (WAVE_FORMAT_PCM, 25..=32) => "pcm_s32le",
            (WAVE_FORMAT_IEEE_FLOAT, 32) => "pcm_f32le",
            (WAVE_FORMAT_IEEE_FLOAT, 64) => "pcm_f64le",
            (WAVE_FORMAT_ALAW, _) => "pcm_alaw",
            (WAVE_FORMAT_MULAW, _) => "pcm_mulaw",
            (WAVE_FORMAT_ADPCM, _) => "adpcm_ms",
            (WAVE_FORMAT_IMA_ADPCM, _) => "adpcm_ima_wav",
            (WAVE_FORMAT_MPEGLAYER3, _) => "mp3",
            (format, bits) => return format!("wav format 0x{format:04x} ({bits} bits)"),
        };
        name.to_string()
    }

    /// Bits per stored sample, for the PCM-like formats only.
    pub fn bits(&self) -> Option<u32> {
        matches!(
            self.format,
            WAVE_FORMAT_PCM | WAVE_FORMAT_IEEE_FLOAT | WAVE_FORMAT_ALAW | WAVE_FORMAT_MULAW
        )
        .then_some(u32::from(self.bits_per_sample))
        .filter(|&bits| bits > 0)
    }

    /// Frames in `data_len` bytes of audio, for formats with fixed-size
    /// frames.
    fn frames_in(&self, data_len: u64) -> Option<u64> {
        let fixed = matches!(
            self.format,
            WAVE_FORMAT_PCM | WAVE_FORMAT_IEEE_FLOAT | WAVE_FORMAT_ALAW | WAVE_FORMAT_MULAW
        );
        (fixed && self.block_align > 0).then(|| data_len / u64::from(self.block_align))
    }
}

/// What [`scan`] found.
#[derive(Debug, Default)]
pub(super) struct WavScan {
    pub fmt: Option<Fmt>,
    /// Bytes of audio in the `data` chunk (as present in the file, if it is
    /// cut short).
    pub data_len: Option<u64>,
    /// The `fact` chunk's (or RF64 `ds64`'s) frame count.
    pub fact_frames: Option<u64>,
    pub bext: Option<Bext>,
    /// `riff.*`, `bext.*` and `ixml.*` entries, in file order.
    pub entries: Vec<(String, String)>,
    /// The bodies of `ID3 `/`id3 ` chunks, for lofty to read.
    pub id3: Vec<Vec<u8>>,
    pub warnings: Vec<String>,
}

impl WavScan {
    /// The duration in seconds, from the frame count or the data length.
    pub fn duration_s(&self) -> Option<f64> {
        let fmt = self.fmt?;
        let frames = self
            .data_len
            .and_then(|len| fmt.frames_in(len))
            .or(self.fact_frames)?;
        (fmt.sample_rate > 0).then(|| frames as f64 / f64::from(fmt.sample_rate))
    }
}

/// Walks the chunks of the WAV file in `reader`, which starts with a
/// RIFF/RF64/BW64 `WAVE` header and is `file_len` bytes long, from its
/// start.
///
/// Never fails: read errors and malformed chunks end up in
/// [`WavScan::warnings`], next to whatever was read before them.
pub(super) fn scan<R: Read + Seek>(reader: &mut R, file_len: u64) -> WavScan {
    let mut scan = WavScan::default();
    if let Err(e) = walk(reader, file_len, &mut scan) {
        scan.warnings
            .push(format!("reading the WAV chunks failed: {e}"));
    }
    scan
}

fn walk<R: Read + Seek>(reader: &mut R, file_len: u64, scan: &mut WavScan) -> std::io::Result<()> {
    let Some(mut chunks) = Chunks::new(reader, file_len)? else {
        return Ok(());
    };
    let rf64 = chunks.form() == Form::Rf64;
    if chunks.form() == Form::Aiff {
        return Ok(());
    }
    loop {
        let next = chunks.next();
        scan.warnings
            .extend(chunks.take_problems().iter().map(ToString::to_string));
        let Some(chunk) = next.transpose()? else {
            return Ok(());
        };
        let id = chunk.id;
        match &id {
            b"fmt " => {
                let bytes = read_body(&mut chunks, &chunk, 40, scan)?;
                match parse_fmt(&bytes) {
                    Some(fmt) if scan.fmt.is_none() => scan.fmt = Some(fmt),
                    Some(_) => {}
                    None => scan
                        .warnings
                        .push(format!("`fmt ` chunk too short ({} bytes)", bytes.len())),
                }
            }
            b"fact" => {
                let bytes = read_body(&mut chunks, &chunk, 4, scan)?;
                if bytes.len() == 4 {
                    let frames = u32_le(&bytes);
                    scan.fact_frames = match chunks.ds64() {
                        Some(d) if rf64 && frames == u32::MAX => Some(d.sample_count),
                        _ => Some(u64::from(frames)),
                    };
                }
            }
            b"data" => {
                if chunk.truncated() {
                    scan.warnings.push(format!(
                        "file is truncated: the `data` chunk declares {} bytes of audio, {} are present",
                        chunk.size, chunk.present
                    ));
                }
                scan.data_len.get_or_insert(chunk.present);
            }
            b"LIST" | b"bext" | b"iXML" | b"ID3 " | b"id3 " => {
                let present = chunk.present;
                if present > MAX_CHUNK {
                    scan.warnings.push(format!(
                        "`{}` chunk of {present} bytes skipped: too large",
                        chunk.name()
                    ));
                    continue;
                }
                if chunk.truncated() {
                    scan.warnings.push(format!(
                        "`{}` chunk truncated: declares {} bytes, {present} are present",
                        chunk.name(),
                        chunk.size
                    ));
                }
                let bytes = read_body(&mut chunks, &chunk, present, scan)?;
                match &id {
                    b"LIST" => parse_list(&bytes, scan),
                    b"bext" => parse_bext(&bytes, scan),
                    b"iXML" => ixml::parse(&bytes, &mut scan.entries, &mut scan.warnings),
                    _ => scan.id3.push(bytes),
                }
            }
            // `ds64` is read by the walk itself.
            _ => {}
        }
    }
}

/// Reads up to `want` bytes of `chunk`'s body, with a warning if the file
/// gives fewer than it holds.
fn read_body<R: Read + Seek>(
    chunks: &mut Chunks<R>,
    chunk: &Chunk,
    want: u64,
    scan: &mut WavScan,
) -> std::io::Result<Vec<u8>> {
    let bytes = chunks.read_body(chunk, want)?;
    if (bytes.len() as u64) < chunk.present.min(want) {
        scan.warnings
            .push(format!("`{}` chunk cut short", chunk.name()));
    }
    Ok(bytes)
}

fn parse_fmt(bytes: &[u8]) -> Option<Fmt> {
    if bytes.len() < 16 {
        return None;
    }
    let mut fmt = Fmt {
        format: u16_le(&bytes[0..2]),
        channels: u16_le(&bytes[2..4]),
        sample_rate: u32_le(&bytes[4..8]),
        block_align: u16_le(&bytes[12..14]),
        bits_per_sample: u16_le(&bytes[14..16]),
    };
    // WAVE_FORMAT_EXTENSIBLE: cbSize (2), valid bits (2), channel mask (4),
    // then a GUID whose first two bytes are the format tag.
    if fmt.format == WAVE_FORMAT_EXTENSIBLE && bytes.len() >= 26 {
        let valid_bits = u16_le(&bytes[18..20]);
        if valid_bits > 0 {
            fmt.bits_per_sample = valid_bits;
        }
        fmt.format = u16_le(&bytes[24..26]);
    }
    Some(fmt)
}

/// A `LIST` chunk; only `INFO` lists are read (`adtl` and others skipped).
fn parse_list(bytes: &[u8], scan: &mut WavScan) {
    let Some(items) = bytes.strip_prefix(b"INFO") else {
        return;
    };
    let mut rest = items;
    while rest.len() >= 8 {
        let (id, size) = (&rest[..4], u32_le(&rest[4..8]) as usize);
        if !is_fourcc(id) {
            scan.warnings
                .push("LIST/INFO chunk holds garbage; kept the items before it".into());
            return;
        }
        let value = &rest[8..];
        let value = if size > value.len() {
            scan.warnings.push(format!(
                "LIST/INFO item `{}` truncated",
                fourcc(id.try_into().expect("four bytes"))
            ));
            value
        } else {
            &value[..size]
        };
        let text = decode_text(value);
        if !text.is_empty() {
            let key = fourcc(id.try_into().expect("four bytes"));
            scan.entries
                .push((format!("riff.{}", key.trim_end()), text));
        }
        let next = (8 + size + size % 2).min(rest.len());
        rest = &rest[next..];
    }
}

/// The `bext` chunk (EBU Tech 3285): fixed-size fields, then the coding
/// history as free text.
fn parse_bext(bytes: &[u8], scan: &mut WavScan) {
    // Field offsets and lengths of BWF version 0-2.
    const DESCRIPTION: (usize, usize) = (0, 256);
    const ORIGINATOR: (usize, usize) = (256, 32);
    const ORIGINATOR_REFERENCE: (usize, usize) = (288, 32);
    const ORIGINATION_DATE: (usize, usize) = (320, 10);
    const ORIGINATION_TIME: (usize, usize) = (330, 8);
    const TIME_REFERENCE: usize = 338;
    const VERSION: usize = 346;
    const CODING_HISTORY: usize = 602;

    if bytes.len() < CODING_HISTORY {
        scan.warnings.push(format!(
            "`bext` chunk truncated: {} of at least {CODING_HISTORY} bytes; kept the fields it holds",
            bytes.len()
        ));
    }
    // A field cut by the end of the chunk keeps its first part.
    let text = |(offset, len): (usize, usize)| {
        bytes
            .get(offset..bytes.len().min(offset + len))
            .map(decode_text)
            .unwrap_or_default()
    };
    let bext = Bext {
        description: text(DESCRIPTION),
        originator: text(ORIGINATOR),
        originator_reference: text(ORIGINATOR_REFERENCE),
        origination_date: text(ORIGINATION_DATE),
        origination_time: text(ORIGINATION_TIME),
        time_reference: bytes
            .get(TIME_REFERENCE..TIME_REFERENCE + 8)
            .map_or(0, u64_le),
        version: bytes.get(VERSION..VERSION + 2).map_or(0, u16_le),
        coding_history: bytes
            .get(CODING_HISTORY..)
            .map(decode_text)
            .unwrap_or_default(),
    };
    let fields = [
        ("Description", bext.description.clone()),
        ("Originator", bext.originator.clone()),
        ("OriginatorReference", bext.originator_reference.clone()),
        ("OriginationDate", bext.origination_date.clone()),
        ("OriginationTime", bext.origination_time.clone()),
        (
            "TimeReference",
            if bext.time_reference > 0 {
                bext.time_reference.to_string()
            } else {
                String::new()
            },
        ),
        ("CodingHistory", bext.coding_history.clone()),
    ];
    for (name, value) in fields {
        if !value.is_empty() {
            scan.entries.push((format!("bext.{name}"), value));
        }
    }
    if scan.bext.is_none() {
        scan.bext = Some(bext);
    }
}

fn fourcc(id: &[u8; 4]) -> String {
    String::from_utf8_lossy(id).into_owned()
}

fn u16_le(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn u64_le(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("eight bytes"))
}
