//! Rewriting a WAV (RIFF, RF64, BW64) with a new `bext` Description and
//! iXML `USER` fields, every other chunk kept in order byte for byte.
//!
//! Written by hand, not with lofty: lofty writes RIFF INFO and ID3 chunks
//! into WAV files but neither `bext` nor iXML, and it does not write RF64;
//! no well-kept Rust crate rewrites those while keeping the other chunks
//! (`cue `, `smpl`, `LIST/adtl`, vendor chunks) as they are, so this
//! module copies every chunk it does not change from the old file as raw
//! bytes (header, body and pad byte), and the `data` chunk whole.
//!
//! Layout of the new file: the old header (its RIFF size recomputed; for
//! RF64 the `ds64` RIFF size), then the old chunks in their order, `bext`
//! and `iXML` edited where they are. A new `bext` goes just before `data`
//! (where BWF recorders put it), a new `iXML` after the last chunk. An
//! odd-sized chunk whose pad byte the old file left out gets one. Bytes
//! after the last chunk (past the RIFF's end, such as an appended ID3v1
//! tag) stay after it.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use super::replace::copy_range;
use super::{ixml, TagEdit, TagError};
use crate::chunks::{Chunks, Form};

/// Size of the fixed part of a `bext` chunk (EBU Tech 3285), before the
/// coding history.
const BEXT_FIXED: usize = 602;
/// Size of the Description field, at the start of `bext`.
const BEXT_DESCRIPTION: usize = 256;

/// The keys hark's reader gives the fields `edit` writes into a WAV, and
/// their new values as read back.
pub(super) fn keys(edit: &TagEdit) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    if let Some(d) = &edit.description {
        let clean = super::clean(d);
        let cut = cut_description(&clean);
        keys.push(("bext.Description".to_string(), cut.trim().to_string()));
    }
    for (name, value) in edit.fields() {
        keys.push((format!("ixml.USER.{name}"), value.trim().to_string()));
    }
    keys
}

/// The longest start of `text` that fits the Description field, cut at a
/// character boundary.
fn cut_description(text: &str) -> &str {
    let mut end = text.len().min(BEXT_DESCRIPTION);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One piece of the new file.
enum Piece {
    /// Bytes of the old file: offset and length.
    Copy(u64, u64),
    /// New bytes.
    New(Vec<u8>),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Copy(_, len) => *len,
            Piece::New(bytes) => bytes.len() as u64,
        }
    }
}

/// A chunk with a header for a new body (size little-endian), padded.
fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 9);
    out.extend(id);
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Writes the file `original` with `edit` applied to `out`.
pub(super) fn rewrite(
    path: &Path,
    original: &mut File,
    out: &mut File,
    edit: &TagEdit,
) -> Result<(), TagError> {
    let file_len = original
        .metadata()
        .map_err(TagError::io(path, "read"))?
        .len();
    let mut walk = Chunks::new(BufReader::new(&mut *original), file_len)
        .map_err(TagError::io(path, "read"))?
        .ok_or_else(|| TagError::malformed(path, "not a RIFF WAVE file"))?;
    let form = walk.form();
    let mut chunks = Vec::new();
    for chunk in walk.by_ref() {
        chunks.push(chunk.map_err(TagError::io(path, "read"))?);
    }
    if let Some(problem) = walk.take_problems().into_iter().next() {
        return Err(TagError::malformed(path, problem));
    }
    drop(walk);
    if chunks.is_empty() {
        return Err(TagError::malformed(path, "it has no chunks"));
    }

    let description = edit.description.as_deref().map(super::clean);
    let fields = edit.fields();
    let mut pieces: Vec<Piece> = Vec::new();
    let (mut bext_done, mut ixml_done) = (description.is_none(), fields.is_empty());
    let mut ds64_piece = None;
    let mut end_of_chunks = 12;
    for (i, c) in chunks.iter().enumerate() {
        let start = c.body - 8;
        // Where the chunk's bytes end: the next chunk's header, or for the
        // last one its body and pad byte, as far as the file goes.
        let end = match chunks.get(i + 1) {
            Some(next) => next.body - 8,
            None => (c.body + c.size + c.size % 2).min(file_len),
        };
        end_of_chunks = end;
        let missing_pad = c.size % 2 == 1 && end == c.body + c.size;
        match &c.id {
            b"bext" if !bext_done => {
                let mut body = read(original, c.body, c.size, path)?;
                if body.len() < BEXT_FIXED {
                    return Err(TagError::malformed(
                        path,
                        format!(
                            "its `bext` chunk has {} bytes, fewer than the {BEXT_FIXED} of its fixed fields",
                            body.len()
                        ),
                    ));
                }
                let text = cut_description(description.as_deref().unwrap_or_default());
                body[..BEXT_DESCRIPTION].fill(0);
                body[..text.len()].copy_from_slice(text.as_bytes());
                pieces.push(Piece::New(chunk(b"bext", &body)));
                bext_done = true;
                continue;
            }
            b"iXML" if !ixml_done => {
                let body = read(original, c.body, c.size, path)?;
                let edited =
                    ixml::edit(&body, &fields).map_err(|e| TagError::malformed(path, e))?;
                pieces.push(Piece::New(chunk(b"iXML", &edited)));
                ixml_done = true;
                continue;
            }
            b"ds64" if form == Form::Rf64 => {
                let body = read(original, c.body, c.size, path)?;
                ds64_piece = Some(pieces.len());
                pieces.push(Piece::New(chunk(b"ds64", &body)));
                continue;
            }
            b"data" if !bext_done => {
                let mut body = vec![0; BEXT_FIXED];
                let text = cut_description(description.as_deref().unwrap_or_default());
                body[..text.len()].copy_from_slice(text.as_bytes());
                pieces.push(Piece::New(chunk(b"bext", &body)));
                bext_done = true;
            }
            _ => {}
        }
        pieces.push(Piece::Copy(start, end - start));
        if missing_pad {
            pieces.push(Piece::New(vec![0]));
        }
    }
    if !bext_done {
        return Err(TagError::malformed(path, "it has no `data` chunk"));
    }
    if !ixml_done {
        let doc =
            ixml::edit(ixml::NEW_DOCUMENT, &fields).map_err(|e| TagError::malformed(path, e))?;
        pieces.push(Piece::New(chunk(b"iXML", &doc)));
    }

    let riff_size = 4 + pieces.iter().map(Piece::len).sum::<u64>();
    let mut header = read(original, 0, 12, path)?;
    match form {
        Form::Riff => {
            let size = u32::try_from(riff_size).map_err(|_| {
                TagError::malformed(
                    path,
                    "the new file would pass the 4 GiB limit of RIFF (hark does not convert to RF64)",
                )
            })?;
            header[4..8].copy_from_slice(&size.to_le_bytes());
        }
        Form::Rf64 => {
            let Some(Piece::New(ds64)) = ds64_piece.map(|i| &mut pieces[i]) else {
                return Err(TagError::malformed(
                    path,
                    "it is RF64 without a `ds64` chunk",
                ));
            };
            if ds64.len() < 8 + 24 {
                return Err(TagError::malformed(path, "its `ds64` chunk is too short"));
            }
            ds64[8..16].copy_from_slice(&riff_size.to_le_bytes());
        }
        Form::Aiff => return Err(TagError::malformed(path, "not a RIFF WAVE file")),
    }

    let mut writer = BufWriter::new(out);
    let write = TagError::io(path, "write the new version of");
    writer.write_all(&header).map_err(write)?;
    for piece in &pieces {
        match piece {
            Piece::Copy(offset, len) => copy_range(original, *offset, *len, &mut writer, path)?,
            Piece::New(bytes) => writer
                .write_all(bytes)
                .map_err(TagError::io(path, "write the new version of"))?,
        }
    }
    // Whatever follows the chunks (past the RIFF) stays after them.
    copy_range(
        original,
        end_of_chunks,
        file_len - end_of_chunks,
        &mut writer,
        path,
    )?;
    writer
        .flush()
        .map_err(TagError::io(path, "write the new version of"))
}

fn read(file: &mut File, offset: u64, len: u64, path: &Path) -> Result<Vec<u8>, TagError> {
    let mut bytes = Vec::new();
    copy_range(file, offset, len, &mut bytes, path)?;
    Ok(bytes)
}
