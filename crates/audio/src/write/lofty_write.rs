//! Tags written by lofty: Vorbis comments in FLAC, ID3v2 frames in MP3 and
//! in AIFF's `ID3 ` chunk. lofty rewrites only the tag's own bytes (the
//! FLAC metadata blocks, the ID3v2 tag or chunk); the audio hash check of
//! `replace` holds it to that.
//!
//! Field names follow the same conventions as iXML's `USER` block: Vorbis
//! comments `DESCRIPTION`, `KEYWORDS`, `CATID`, `CATEGORY`, `SUBCATEGORY`,
//! `CATEGORYFULL`, `FXNAME`; in ID3v2 the description is a `COMM` frame
//! (language `eng`, no description, as players show it) and the others are
//! `TXXX` frames of those names (what Soundminer's ID3 export uses for
//! fields ID3 has no frame for). lofty writes ID3v2.4: a v2.3 tag comes
//! back as v2.4, its frames kept.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;

use lofty::config::{ParseOptions, WriteOptions};
use lofty::file::AudioFile;
use lofty::id3::v2::{CommentFrame, Frame, Id3v2Tag};
use lofty::ogg::VorbisComments;
use lofty::tag::TagExt;
use lofty::TextEncoding;

use super::{TagEdit, TagError, Target};

/// The keys hark's reader gives the Vorbis comments `edit` writes.
pub(super) fn vorbis_keys(edit: &TagEdit) -> Vec<(String, String)> {
    edit.fields()
        .into_iter()
        .map(|(name, value)| (format!("vorbis.{name}"), value.trim().to_string()))
        .collect()
}

/// The keys hark's reader gives the ID3v2 frames `edit` writes.
pub(super) fn id3_keys(edit: &TagEdit) -> Vec<(String, String)> {
    edit.fields()
        .into_iter()
        .map(|(name, value)| {
            let key = if name == "DESCRIPTION" {
                "id3.COMM".to_string()
            } else {
                format!("id3.TXXX:{name}")
            };
            (key, value.trim().to_string())
        })
        .collect()
}

/// Copies `original` to `out`, then writes `edit`'s tag into `out`.
pub(super) fn rewrite(
    path: &Path,
    target: Target,
    original: &mut File,
    out: &mut File,
    edit: &TagEdit,
) -> Result<(), TagError> {
    original
        .seek(SeekFrom::Start(0))
        .map_err(TagError::io(path, "read"))?;
    std::io::copy(original, out).map_err(TagError::io(path, "copy"))?;
    let tagger = |e: lofty::error::LoftyError| TagError::Tagger {
        path: path.to_path_buf(),
        cause: e.to_string(),
    };
    let rewind = |out: &mut File| {
        out.seek(SeekFrom::Start(0))
            .map_err(TagError::io(path, "read"))
            .map(|_| ())
    };
    rewind(out)?;
    let options = ParseOptions::new()
        .read_properties(false)
        .read_cover_art(true);
    let fields = edit.fields();
    match target {
        Target::Flac => {
            let file = lofty::flac::FlacFile::read_from(out, options).map_err(tagger)?;
            let mut tag: VorbisComments = file.vorbis_comments().cloned().unwrap_or_default();
            for (name, value) in fields {
                tag.insert(name.to_string(), value);
            }
            rewind(out)?;
            tag.save_to(out, WriteOptions::default()).map_err(tagger)
        }
        Target::Mpeg | Target::Aiff => {
            let existing = if target == Target::Mpeg {
                lofty::mpeg::MpegFile::read_from(out, options)
                    .map_err(tagger)?
                    .id3v2()
                    .cloned()
            } else {
                lofty::iff::aiff::AiffFile::read_from(out, options)
                    .map_err(tagger)?
                    .id3v2()
                    .cloned()
            };
            let mut tag: Id3v2Tag = existing.unwrap_or_default();
            for (name, value) in fields {
                if name == "DESCRIPTION" {
                    tag.insert(Frame::Comment(CommentFrame::new(
                        TextEncoding::UTF8,
                        *b"eng",
                        String::new(),
                        value,
                    )));
                } else {
                    tag.insert_user_text(name.to_string(), value);
                }
            }
            rewind(out)?;
            tag.save_to(out, WriteOptions::default()).map_err(tagger)
        }
        Target::Wav => Err(TagError::malformed(path, "WAV is written by hand")),
    }
}
