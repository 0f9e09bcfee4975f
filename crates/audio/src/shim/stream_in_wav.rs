//! WAV files whose `data` chunk holds a whole stream of another container:
//! Ogg Vorbis (format tags 0x674F to 0x6771, as LMMS ships some of its
//! samples) or MPEG audio (0x0050, 0x0055). The stream is handed to
//! symphonia's probe as if it were a file of its own; the WAV's `fact`
//! chunk, where there is one, gives the length.

use symphonia::core::errors::Result;
use symphonia::core::formats::{Cue, FormatOptions, FormatReader, Packet, SeekMode, SeekTo};
use symphonia::core::formats::{SeekedTo, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::Metadata;

use crate::chunks::{Chunks, Form};
use crate::cursor::FileCursor;
use crate::wave_format::{holds_stream, is_ogg_vorbis, WaveFormat};

/// Chunks looked at, at most, before the `data` chunk.
const MAX_CHUNKS: usize = 256;

/// The stream inside a WAV, and the frames its `fact` chunk counts (for
/// Ogg Vorbis).
pub(crate) struct Inner {
    pub stream: FileCursor,
    pub frames: Option<u64>,
}

/// The `data` chunk of a RIFF WAVE file whose format tag says it holds an
/// Ogg or MPEG stream, as a cursor of its own; `None` for any other file
/// (plain WAV included). A 0 Hz header never comes here: the opener
/// refuses it first.
pub(crate) fn inner_stream(file: &FileCursor) -> Option<Inner> {
    let len = file.len();
    let mut chunks = Chunks::new(file.window(0, len), len).ok()??;
    if chunks.form() == Form::Aiff {
        return None;
    }
    let mut wrapped = false;
    let mut vorbis = false;
    let mut frames = None;
    for _ in 0..MAX_CHUNKS {
        let chunk = chunks.next()?.ok()?;
        match &chunk.id {
            b"fmt " => {
                let format = WaveFormat::parse(&chunks.read_body(&chunk, 64).ok()?)?;
                if !holds_stream(format.tag) {
                    return None;
                }
                wrapped = true;
                vorbis = is_ogg_vorbis(format.tag);
            }
            b"fact" => {
                let fact = chunks.read_body(&chunk, 4).ok()?;
                frames = fact
                    .get(..4)
                    .map(|n| u64::from(u32::from_le_bytes(n.try_into().expect("four bytes"))))
                    .filter(|&n| n > 0);
            }
            b"data" if wrapped => {
                return Some(Inner {
                    stream: file.window(chunk.body, chunk.present),
                    // An MPEG stream's own header (LAME's) says its length.
                    frames: frames.filter(|_| vorbis),
                });
            }
            b"data" => return None,
            _ => {}
        }
    }
    None
}

/// `reader` with its tracks' lengths cut to `frames`.
///
/// The Ogg streams in LMMS's WAV files are padded with near-silence (up to
/// half a second) past the length their `fact` chunk gives; decoding stops
/// at a track's length, so the padding is neither embedded nor counted.
pub(crate) fn cut_to(reader: Box<dyn FormatReader>, frames: u64) -> Box<dyn FormatReader> {
    let tracks = reader
        .tracks()
        .iter()
        .map(|track| {
            let mut track = track.clone();
            let n = track
                .codec_params
                .n_frames
                .map_or(frames, |n| n.min(frames));
            track.codec_params.with_n_frames(n);
            track
        })
        .collect();
    Box::new(FactLength { reader, tracks })
}

/// A reader whose tracks say the length of the `fact` chunk.
struct FactLength {
    reader: Box<dyn FormatReader>,
    tracks: Vec<Track>,
}

impl FormatReader for FactLength {
    /// Never used: [`cut_to`] wraps a reader already made.
    fn try_new(_: MediaSourceStream, _: &FormatOptions) -> Result<Self> {
        Err(symphonia::core::errors::Error::Unsupported(
            "a fact-length reader wraps a probed reader",
        ))
    }

    fn cues(&self) -> &[Cue] {
        self.reader.cues()
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.reader.metadata()
    }

    fn seek(&mut self, mode: SeekMode, to: SeekTo) -> Result<SeekedTo> {
        self.reader.seek(mode, to)
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn default_track(&self) -> Option<&Track> {
        let id = self.reader.default_track()?.id;
        self.tracks.iter().find(|track| track.id == id)
    }

    fn next_packet(&mut self) -> Result<Packet> {
        self.reader.next_packet()
    }

    fn into_inner(self: Box<Self>) -> MediaSourceStream {
        self.reader.into_inner()
    }
}
