//! The chunks of a RIFF file (WAV, RF64, BW64) or an IFF one (AIFF, AIFC):
//! one walker for everything in hark-audio that reads chunks by hand, the
//! header check before symphonia, the PCM fallback and the WAV metadata.
//!
//! Files in the wild bend the rules, so the walk is defensive: every read
//! stays inside the file, a chunk that runs past the end is given with the
//! bytes it has and ends the walk, a missing pad byte after an odd-sized
//! chunk is forgiven, garbage where a chunk header should be ends the walk,
//! and the number of chunks is bounded. RF64's `ds64` chunk is read on the
//! way, so a `data` chunk whose size field says "see ds64" gets its real
//! size. What looks wrong is kept as a [`Problem`] for readers that report
//! such things; the others ignore it.

use std::io::{self, Read, Seek, SeekFrom};

/// Chunks walked at most: bounded work on a hostile file.
const MAX_CHUNKS: usize = 100_000;

/// The kind of file, from its 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `RIFF` ... `WAVE`: sizes little-endian, 32-bit.
    Riff,
    /// `RF64` or `BW64` ... `WAVE`: as RIFF, with 64-bit sizes in `ds64`.
    Rf64,
    /// `FORM` ... `AIFF` or `AIFC`: sizes big-endian.
    Aiff,
}

impl Form {
    /// The form of a file starting with `head`, if it is one of these.
    pub(crate) fn of(head: &[u8]) -> Option<Form> {
        match (head.get(..4)?, head.get(8..12)?) {
            (b"RIFF", b"WAVE") => Some(Form::Riff),
            (b"RF64" | b"BW64", b"WAVE") => Some(Form::Rf64),
            (b"FORM", b"AIFF" | b"AIFC") => Some(Form::Aiff),
            _ => None,
        }
    }

    fn u32(self, bytes: &[u8]) -> u32 {
        let bytes = [bytes[0], bytes[1], bytes[2], bytes[3]];
        match self {
            Form::Aiff => u32::from_be_bytes(bytes),
            Form::Riff | Form::Rf64 => u32::from_le_bytes(bytes),
        }
    }
}

/// One chunk's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Its four-character id.
    pub id: [u8; 4],
    /// Where its body starts in the file.
    pub body: u64,
    /// The body size its header declares (for a `data` chunk sized in
    /// `ds64`, the size there).
    pub size: u64,
    /// Bytes of the body actually in the file: `size`, or fewer when the
    /// file ends first (then this is the last chunk of the walk).
    pub present: u64,
}

impl Chunk {
    /// Whether the file ends before the chunk does.
    pub(crate) fn truncated(&self) -> bool {
        self.present < self.size
    }

    /// The id as text, for messages.
    pub(crate) fn name(&self) -> String {
        String::from_utf8_lossy(&self.id).into_owned()
    }
}

/// The sizes of the RF64 `ds64` chunk.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ds64 {
    pub riff_size: u64,
    pub data_size: u64,
    pub sample_count: u64,
}

/// Something wrong with the file's structure, seen on the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The RIFF header (or `ds64`) declares more bytes than the file has.
    ShortFile { declared: u64, file_len: u64 },
    /// The `ds64` chunk is too short to hold its sizes.
    ShortDs64,
    /// No chunk header where one should be, inside the declared RIFF; the
    /// walk stopped there.
    Garbage { offset: u64 },
    /// [`MAX_CHUNKS`] chunks walked; the walk stopped at `offset`.
    TooManyChunks { offset: u64 },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::ShortFile { declared, file_len } => write!(
                f,
                "file is truncated: the RIFF header declares {declared} bytes, the file has {file_len}"
            ),
            Problem::ShortDs64 => write!(f, "`ds64` chunk too short; RF64 sizes unknown"),
            Problem::Garbage { offset } => write!(
                f,
                "garbage instead of a chunk at offset {offset}; stopped reading chunks there"
            ),
            Problem::TooManyChunks { offset } => write!(
                f,
                "more than {MAX_CHUNKS} chunks; stopped reading chunks at offset {offset}"
            ),
        }
    }
}

/// Walks the chunks of a file, in file order: an iterator of [`Chunk`]
/// headers, with [`Chunks::read_body`] to read one's body.
///
/// An I/O error is yielded once and ends the walk.
pub(crate) struct Chunks<R> {
    reader: R,
    file_len: u64,
    form: Form,
    /// Where the next chunk header should be.
    pos: u64,
    /// Where the RIFF ends by its header. A size of 0 or 0xFFFFFFFF is a
    /// writer that never came back to fill it in; RF64 keeps the real size
    /// in `ds64`. The walk goes on to the end of the file, since some tools
    /// append chunks without updating the size, but is silent about garbage
    /// past the declared end (an appended ID3v1 tag, say).
    riff_end: u64,
    ds64: Option<Ds64>,
    /// Whether the last chunk had an odd size (its pad byte may be missing).
    previous_odd: bool,
    walked: usize,
    done: bool,
    problems: Vec<Problem>,
}

impl<R: Read + Seek> Chunks<R> {
    /// Starts a walk of the file in `reader`, `file_len` bytes long, reading
    /// its 12-byte header. `None` if it is not a RIFF/RF64/BW64 `WAVE` or an
    /// IFF `AIFF`/`AIFC` file.
    pub(crate) fn new(mut reader: R, file_len: u64) -> io::Result<Option<Chunks<R>>> {
        let mut head = [0; 12];
        reader.seek(SeekFrom::Start(0))?;
        reader.read_exact(&mut head)?;
        let Some(form) = Form::of(&head) else {
            return Ok(None);
        };
        let mut chunks = Chunks {
            reader,
            file_len,
            form,
            pos: 12,
            riff_end: u64::MAX,
            ds64: None,
            previous_odd: false,
            walked: 0,
            done: false,
            problems: Vec::new(),
        };
        let size = form.u32(&head[4..8]);
        if form != Form::Rf64 && size > 4 && size != u32::MAX {
            chunks.riff_end = chunks.declared_end(u64::from(size));
        }
        Ok(Some(chunks))
    }

    /// The kind of file.
    pub(crate) fn form(&self) -> Form {
        self.form
    }

    /// The `ds64` chunk's sizes, once the walk has passed it.
    pub(crate) fn ds64(&self) -> Option<Ds64> {
        self.ds64
    }

    /// The problems seen since the last call, in file order.
    pub(crate) fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.problems)
    }

    /// Reads the first `max` bytes of `chunk`'s body, or as many as the
    /// file holds.
    pub(crate) fn read_body(&mut self, chunk: &Chunk, max: u64) -> io::Result<Vec<u8>> {
        self.reader.seek(SeekFrom::Start(chunk.body))?;
        let mut bytes = Vec::new();
        (&mut self.reader)
            .take(chunk.present.min(max))
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// The end of a RIFF of `riff_size` bytes (after the 8-byte header),
    /// noting a problem if the file is shorter.
    fn declared_end(&mut self, riff_size: u64) -> u64 {
        let declared = riff_size.saturating_add(8);
        // One byte short is a final pad byte left out, not a truncation.
        if declared > self.file_len + 1 {
            self.problems.push(Problem::ShortFile {
                declared,
                file_len: self.file_len,
            });
        }
        declared
    }

    /// The next chunk header, or `None` at the end of the walk.
    fn step(&mut self) -> io::Result<Option<Chunk>> {
        loop {
            if self.walked == MAX_CHUNKS {
                self.problems
                    .push(Problem::TooManyChunks { offset: self.pos });
                return Ok(None);
            }
            self.walked += 1;
            if self.pos + 8 > self.file_len {
                return Ok(None);
            }
            let mut header = [0; 8];
            self.reader.seek(SeekFrom::Start(self.pos))?;
            self.reader.read_exact(&mut header)?;
            if !is_fourcc(&header[..4]) {
                // Some writers forget the pad byte after an odd-sized chunk.
                if self.previous_odd {
                    self.previous_odd = false;
                    self.pos -= 1;
                    continue;
                }
                if self.pos < self.riff_end {
                    self.problems.push(Problem::Garbage { offset: self.pos });
                }
                return Ok(None);
            }
            let id: [u8; 4] = header[..4].try_into().expect("four bytes");
            let body = self.pos + 8;
            let mut size = u64::from(self.form.u32(&header[4..]));
            if let Some(d) = self
                .ds64
                .filter(|_| &id == b"data" && size == u64::from(u32::MAX))
            {
                size = d.data_size;
            }
            let present = size.min(self.file_len - body);
            let chunk = Chunk {
                id,
                body,
                size,
                present,
            };
            if chunk.truncated() && self.pos >= self.riff_end {
                return Ok(None);
            }
            if &id == b"ds64" {
                self.read_ds64(&chunk)?;
            }
            if chunk.truncated() {
                self.done = true;
            } else {
                self.previous_odd = size % 2 == 1;
                self.pos = body + size + size % 2;
            }
            return Ok(Some(chunk));
        }
    }

    fn read_ds64(&mut self, chunk: &Chunk) -> io::Result<()> {
        let bytes = self.read_body(chunk, 28)?;
        if bytes.len() < 24 {
            self.problems.push(Problem::ShortDs64);
            return Ok(());
        }
        let d = Ds64 {
            riff_size: u64_le(&bytes[0..8]),
            data_size: u64_le(&bytes[8..16]),
            sample_count: u64_le(&bytes[16..24]),
        };
        if self.form == Form::Rf64 && d.riff_size > 4 {
            self.riff_end = self.declared_end(d.riff_size);
        }
        self.ds64 = Some(d);
        Ok(())
    }
}

impl<R: Read + Seek> Iterator for Chunks<R> {
    type Item = io::Result<Chunk>;

    fn next(&mut self) -> Option<io::Result<Chunk>> {
        if self.done {
            return None;
        }
        let step = self.step();
        if !matches!(step, Ok(Some(_))) {
            self.done = true;
        }
        step.transpose()
    }
}

/// Four printable ASCII bytes, as chunk ids are.
pub(crate) fn is_fourcc(id: &[u8]) -> bool {
    id.len() == 4 && id.iter().all(|b| (0x20..=0x7E).contains(b))
}

fn u64_le(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("eight bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn chunk(id: &[u8; 4], body: &[u8], pad: bool) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        if pad && body.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn riff(magic: &[u8; 4], size: u32, chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = magic.to_vec();
        out.extend(size.to_le_bytes());
        out.extend(b"WAVE");
        for c in chunks {
            out.extend(c);
        }
        out
    }

    /// (id, body, size, present) of each chunk.
    type Seen = Vec<(String, u64, u64, u64)>;

    /// Each chunk seen, and the problems.
    fn walk(bytes: &[u8]) -> (Seen, Vec<Problem>) {
        let mut chunks = Chunks::new(Cursor::new(bytes), bytes.len() as u64)
            .unwrap()
            .unwrap();
        let mut seen = Vec::new();
        for c in chunks.by_ref() {
            let c = c.unwrap();
            seen.push((c.name(), c.body, c.size, c.present));
        }
        (seen, chunks.take_problems())
    }

    #[test]
    fn walks_padded_and_unpadded_odd_chunks() {
        let mut body = chunk(b"LIST", b"abc", true);
        body.extend(chunk(b"JUNK", b"xyz", false));
        body.extend(chunk(b"data", b"\x01\x02", true));
        let bytes = riff(b"RIFF", body.len() as u32 + 4, &[body]);
        let (seen, problems) = walk(&bytes);
        assert_eq!(
            seen,
            [
                ("LIST".into(), 20, 3, 3),
                ("JUNK".into(), 32, 3, 3),
                ("data".into(), 43, 2, 2),
            ]
        );
        assert_eq!(problems, []);
    }

    #[test]
    fn a_truncated_chunk_ends_the_walk_with_what_is_present() {
        let mut data = chunk(b"data", &[0; 10], true);
        data.truncate(8 + 6);
        let bytes = riff(b"RIFF", 100, &[chunk(b"fmt ", &[0; 16], true), data]);
        let (seen, problems) = walk(&bytes);
        assert_eq!(seen[1], ("data".into(), 44, 10, 6));
        assert_eq!(
            problems,
            [Problem::ShortFile {
                declared: 108,
                file_len: 50
            }]
        );
    }

    #[test]
    fn garbage_inside_the_riff_is_a_problem_and_after_it_is_not() {
        let mut bytes = riff(b"RIFF", 4 + 12, &[chunk(b"JUNK", &[0; 4], true)]);
        bytes.extend(b"\xff\xfe\0\0\0\0\0\0");
        let (seen, problems) = walk(&bytes);
        assert_eq!(seen.len(), 1);
        assert_eq!(problems, []);
        let size = bytes.len() as u32 - 8;
        bytes[4..8].copy_from_slice(&size.to_le_bytes());
        let (_, problems) = walk(&bytes);
        assert_eq!(problems, [Problem::Garbage { offset: 24 }]);
    }

    #[test]
    fn rf64_data_takes_its_size_from_ds64() {
        let mut ds64 = Vec::new();
        ds64.extend(52_u64.to_le_bytes());
        ds64.extend(4_u64.to_le_bytes());
        ds64.extend(2_u64.to_le_bytes());
        ds64.extend(0_u32.to_le_bytes());
        let mut data = b"data".to_vec();
        data.extend(u32::MAX.to_le_bytes());
        data.extend([0; 4]);
        let bytes = riff(b"RF64", u32::MAX, &[chunk(b"ds64", &ds64, true), data]);
        let mut chunks = Chunks::new(Cursor::new(&bytes), bytes.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(chunks.form(), Form::Rf64);
        let ds = chunks.next().unwrap().unwrap();
        assert_eq!(&ds.id, b"ds64");
        assert_eq!(chunks.ds64().unwrap().sample_count, 2);
        let data = chunks.next().unwrap().unwrap();
        assert_eq!((data.size, data.present), (4, 4));
        assert!(chunks.next().is_none());
        assert_eq!(chunks.take_problems(), []);
    }

    #[test]
    fn aiff_sizes_are_big_endian() {
        let mut bytes = b"FORM".to_vec();
        bytes.extend(16_u32.to_be_bytes());
        bytes.extend(b"AIFF");
        bytes.extend(b"COMM");
        bytes.extend(3_u32.to_be_bytes());
        bytes.extend([1, 2, 3, 0]);
        bytes.extend(b"SSND");
        bytes.extend(0_u32.to_be_bytes());
        let (seen, problems) = walk(&bytes);
        assert_eq!(seen, [("COMM".into(), 20, 3, 3), ("SSND".into(), 32, 0, 0)]);
        assert_eq!(problems, []);
    }

    #[test]
    fn other_files_are_not_walked() {
        let bytes = b"fLaC\0\0\0\x22\0\0\0\0";
        assert!(Chunks::new(Cursor::new(bytes), 12).unwrap().is_none());
        let mut body = chunk(b"data", b"ab", true);
        let mut bytes = b"RIFF\x0c\0\0\0AVI ".to_vec();
        bytes.append(&mut body);
        assert!(Chunks::new(Cursor::new(&bytes), bytes.len() as u64)
            .unwrap()
            .is_none());
    }
}
