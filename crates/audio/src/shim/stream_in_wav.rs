//! WAV files whose `data` chunk holds a whole stream of another container:
//! Ogg Vorbis (format tags 0x674F to 0x6771, as LMMS ships some of its
//! samples) or MPEG audio (0x0050, 0x0055). The stream is handed to
//! symphonia's probe as if it were a file of its own.

use crate::chunks::{Chunks, Form};
use crate::cursor::FileCursor;
use crate::wave_format::{holds_stream, WaveFormat};

/// Chunks looked at, at most, before the `data` chunk.
const MAX_CHUNKS: usize = 256;

/// The `data` chunk of a RIFF WAVE file whose format tag says it holds an
/// Ogg or MPEG stream, as a cursor of its own; `None` for any other file
/// (plain WAV included).
/// (A 0 Hz header never comes here: the opener refuses it first.)
pub(crate) fn inner_stream(file: &FileCursor) -> Option<FileCursor> {
    let len = file.len();
    let mut chunks = Chunks::new(file.window(0, len), len).ok()??;
    if chunks.form() == Form::Aiff {
        return None;
    }
    let mut wrapped = false;
    for _ in 0..MAX_CHUNKS {
        let chunk = chunks.next()?.ok()?;
        match &chunk.id {
            b"fmt " => {
                let format = WaveFormat::parse(&chunks.read_body(&chunk, 64).ok()?)?;
                if !holds_stream(format.tag) {
                    return None;
                }
                wrapped = true;
            }
            b"data" if wrapped => return Some(file.window(chunk.body, chunk.present)),
            b"data" => return None,
            _ => {}
        }
    }
    None
}
