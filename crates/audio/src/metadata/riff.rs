//! A WAV chunk walker: the stream format, LIST/INFO, `bext`, iXML and
//! embedded ID3 chunks of RIFF, RF64 and BW64 files.
//!
//! Hand-written rather than left to lofty, because lofty 0.24 exposes
//! neither `bext` nor iXML (the two chunks that matter most in sound
//! libraries), does not open RF64/BW64 (long field recordings), drops INFO
//! values that are not UTF-8 (Windows tools write Windows-1252), and gives up
//! a whole file's tags over one malformed chunk. Here each chunk stands
//! alone: a damaged one costs itself and a warning. Only chunk headers and
//! metadata chunks are read; the audio is skipped with a seek.

use std::io::{Read, Seek, SeekFrom};

use super::{decode_text, Bext};

/// Metadata chunks larger than this are skipped with a warning, so that a
/// corrupt size field cannot make the reader allocate gigabytes.
const MAX_CHUNK: u64 = 16 << 20;

/// Chunks walked at most: bounded work on a hostile file.
const MAX_CHUNKS: usize = 100_000;

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

/// The sizes of the RF64 `ds64` chunk.
#[derive(Debug, Default, Clone, Copy)]
struct Ds64 {
    riff_size: u64,
    data_size: u64,
    sample_count: u64,
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
    let mut head = [0; 12];
    reader.seek(SeekFrom::Start(0))?;
    reader.read_exact(&mut head)?;
    let rf64 = &head[..4] != b"RIFF";
    let mut ds64: Option<Ds64> = None;
    // Where the RIFF ends by its header. A size of 0 or 0xFFFFFFFF is a
    // writer that never came back to fill it in; RF64 keeps the real size
    // in `ds64`. The walk goes on to the end of the file, since some tools
    // append chunks without updating the size, but is silent about garbage
    // past the declared end (an appended ID3v1 tag, say).
    let mut riff_end = u64::MAX;
    let riff_size = u32_le(&head[4..8]);
    if !rf64 && riff_size > 4 && riff_size != u32::MAX {
        riff_end = declared_end(u64::from(riff_size), file_len, scan);
    }

    let mut pos = 12_u64;
    let mut previous_odd = false;
    for _ in 0..MAX_CHUNKS {
        if pos + 8 > file_len {
            return Ok(());
        }
        let mut header = [0; 8];
        reader.seek(SeekFrom::Start(pos))?;
        reader.read_exact(&mut header)?;
        if !is_fourcc(&header[..4]) {
            // Some writers forget the pad byte after an odd-sized chunk.
            if previous_odd {
                previous_odd = false;
                pos -= 1;
                continue;
            }
            if pos < riff_end {
                scan.warnings.push(format!(
                    "garbage instead of a chunk at offset {pos}; stopped reading chunks there"
                ));
            }
            return Ok(());
        }
        let id: [u8; 4] = header[..4].try_into().expect("four bytes");
        let body = pos + 8;
        let mut size = u64::from(u32_le(&header[4..]));
        if let Some(d) = ds64.filter(|_| &id == b"data" && size == u64::from(u32::MAX)) {
            size = d.data_size;
        }
        let available = file_len - body;
        let truncated = size > available;
        let present = size.min(available);
        if truncated && pos >= riff_end {
            return Ok(());
        }

        match &id {
            b"ds64" => {
                let bytes = read_body(reader, present, 28, scan, &id)?;
                if bytes.len() >= 24 {
                    let d = Ds64 {
                        riff_size: u64_le(&bytes[0..8]),
                        data_size: u64_le(&bytes[8..16]),
                        sample_count: u64_le(&bytes[16..24]),
                    };
                    if rf64 && d.riff_size > 4 {
                        riff_end = declared_end(d.riff_size, file_len, scan);
                    }
                    ds64 = Some(d);
                } else {
                    scan.warnings
                        .push("`ds64` chunk too short; RF64 sizes unknown".into());
                }
            }
            b"fmt " => {
                let bytes = read_body(reader, present, 40, scan, &id)?;
                match parse_fmt(&bytes) {
                    Some(fmt) if scan.fmt.is_none() => scan.fmt = Some(fmt),
                    Some(_) => {}
                    None => scan
                        .warnings
                        .push(format!("`fmt ` chunk too short ({} bytes)", bytes.len())),
                }
            }
            b"fact" => {
                let bytes = read_body(reader, present, 4, scan, &id)?;
                if bytes.len() == 4 {
                    let frames = u32_le(&bytes);
                    scan.fact_frames = match ds64 {
                        Some(d) if rf64 && frames == u32::MAX => Some(d.sample_count),
                        _ => Some(u64::from(frames)),
                    };
                }
            }
            b"data" => {
                if truncated {
                    scan.warnings.push(format!(
                        "file is truncated: the `data` chunk declares {size} bytes of audio, {present} are present"
                    ));
                }
                scan.data_len.get_or_insert(present);
            }
            b"LIST" | b"bext" | b"iXML" | b"ID3 " | b"id3 " => {
                if present > MAX_CHUNK {
                    scan.warnings.push(format!(
                        "`{}` chunk of {present} bytes skipped: too large",
                        fourcc(&id)
                    ));
                } else {
                    if truncated {
                        scan.warnings.push(format!(
                            "`{}` chunk truncated: declares {size} bytes, {present} are present",
                            fourcc(&id)
                        ));
                    }
                    let bytes = read_body(reader, present, present, scan, &id)?;
                    match &id {
                        b"LIST" => parse_list(&bytes, scan),
                        b"bext" => parse_bext(&bytes, scan),
                        b"iXML" => {
                            super::ixml::parse(&bytes, &mut scan.entries, &mut scan.warnings)
                        }
                        _ => scan.id3.push(bytes),
                    }
                }
            }
            _ => {}
        }

        if truncated {
            return Ok(());
        }
        previous_odd = size % 2 == 1;
        pos = body + size + size % 2;
    }
    scan.warnings.push(format!(
        "more than {MAX_CHUNKS} chunks; stopped reading chunks at offset {pos}"
    ));
    Ok(())
}

/// The end of a RIFF of `riff_size` bytes (after the 8-byte header); a
/// warning if the file is shorter.
fn declared_end(riff_size: u64, file_len: u64, scan: &mut WavScan) -> u64 {
    let declared = riff_size.saturating_add(8);
    // One byte short is a final pad byte left out, not a truncation.
    if declared > file_len + 1 {
        scan.warnings.push(format!(
            "file is truncated: the RIFF header declares {declared} bytes, the file has {file_len}"
        ));
    }
    declared
}

/// Reads up to `want` bytes of a chunk body of which `present` bytes are in
/// the file (the reader is at its start).
fn read_body<R: Read>(
    reader: &mut R,
    present: u64,
    want: u64,
    scan: &mut WavScan,
    id: &[u8; 4],
) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let n = reader.take(present.min(want)).read_to_end(&mut bytes)?;
    if (n as u64) < present.min(want) {
        scan.warnings
            .push(format!("`{}` chunk cut short", fourcc(id)));
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

/// Four printable ASCII bytes, as chunk ids are.
fn is_fourcc(id: &[u8]) -> bool {
    id.len() == 4 && id.iter().all(|b| (0x20..=0x7E).contains(b))
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
