//! Sound files in: mono 48 kHz `f32` samples, metadata and waveform
//! overviews out. The audio front door of hark.
//!
//! CLAP hears mono audio at 48 kHz, so every file hark indexes or is asked
//! about goes through this crate first; the indexer also stores what the
//! file says about itself and a small overview of its waveform.
//!
//! # Brief overview
//!
//! [`decode_file`] opens a file, lets [symphonia] recognise the container by
//! its content (the extension is only a hint), decodes the first decodable
//! audio track, averages all channels to mono, and resamples to
//! [`TARGET_RATE`]. It returns a [`DecodedAudio`]: the samples plus what the
//! catalog wants to know about the source (rate, channels, length, codec, bit
//! depth). [`decode_native`] stops before resampling, and
//! [`resample_to_48k`] is the resampling step on its own.
//!
//! Formats are what symphonia 0.5 reads with its `all` feature: WAV
//! (integer PCM, IEEE float, `WAVE_FORMAT_EXTENSIBLE`, A-law, µ-law, ADPCM),
//! AIFF and AIFC (`NONE`, `sowt`, `twos`, `fl32`, `fl64`, `alaw`, `ulaw`), CAF,
//! FLAC, MP1/2/3, Ogg Vorbis, ALAC and AAC in MP4/M4A, and Matroska/WebM with
//! those codecs; plus Ogg Opus (a pure-Rust decoder registered with
//! symphonia's), and, through small container shims over symphonia's
//! codecs, Sony Wave64 and Sun AU (PCM, float, A-law, µ-law) and WAV files
//! whose `data` chunk holds an Ogg Vorbis or MPEG stream. A format hark
//! recognises but does not decode (WavPack, Monkey's Audio, Musepack, GSM
//! 6.10 or another codec in WAV) is refused by name ([`Error::Unsupported`]).
//!
//! [`read_metadata`] reads headers and tag chunks only, never the audio, and
//! returns a [`Metadata`]: container, codec, duration, rate, channels, bit
//! depth, and [`Tags`], which hold every tag item found under a
//! source-prefixed key (`bext.Description`, `ixml.USER.CATEGORY`,
//! `riff.ICMT`, `id3.TXXX:Foo`, `vorbis.COMMENT`, `mp4.©nam`, ...) plus the
//! common fields (title, description, artist, library, category, ...) and
//! the BWF [`Bext`] chunk. WAV chunks (LIST/INFO, `bext`, iXML) are read by
//! hand, other tags (ID3, Vorbis comments, MP4, APE, AIFF text) by [lofty],
//! the stream facts by symphonia. Damaged metadata yields what could be
//! read plus [`Metadata::warnings`], not an error.
//!
//! Both start from a [`SoundFile`]: [`SoundFile::open`] opens the file,
//! names its container from the first bytes and probes it with symphonia,
//! once. A caller that wants the metadata and the audio, as the indexer
//! does, opens once, reads [`SoundFile::metadata`], decodes with
//! [`SoundFile::decode_stream`] from the same probe, and lets
//! [`Metadata::settle`] put the decoded stream's facts in place of what the
//! headers claimed. WAV and AIFF chunks are walked by one bounds-checked
//! walker (RIFF, RF64 and IFF aware), used for the header check before
//! symphonia, the fallback reader for PCM WAV files symphonia refuses, and
//! the WAV metadata.
//!
//! [`parse_ucs`] splits a Universal Category System file name
//! (`DOORWood_Creaky Open Slow_JD_MyLib`) into its blocks, and with
//! [`ucs_category`] maps a CatID to its Category and SubCategory from the
//! embedded UCS 8.2.1 list; [`ucs_list`] walks that list with each CatID's
//! explanation and synonyms, and [`ucs_cat_id`] and [`ucs_cat_id_of`] read
//! a CatID out of tag values; [`file_ucs`] gives a file's UCS category from
//! its name, else from its tags.
//!
//! [`write_tags`] writes a description, keywords and a UCS category
//! ([`TagEdit`]) back into a file: the `bext` Description and iXML `USER`
//! fields of a WAV (RIFF or RF64, by hand), Vorbis comments in FLAC, ID3v2
//! frames in MP3 and AIFF (by lofty). The file is rewritten beside itself,
//! its audio bytes compared by hash with the original's ([`audio_span`])
//! before it replaces it; [`restore`] puts it back byte for byte from the
//! [`Before`] a write returns.
//!
//! [`peaks`] and the streaming [`PeakBuilder`] turn samples into a waveform
//! overview of [`DEFAULT_BUCKETS`] (min, max) pairs of one byte each, for
//! the terminal UI.
//!
//! Every failure is an [`Error`] that names the file; a decoder or tag
//! reader that panics on a malformed file is caught and reported the same
//! way (or, for metadata, as a warning). The crate never prints.

mod chunks;
mod codecs;
mod cursor;
mod decode;
mod error;
mod metadata;
mod mono;
mod open;
mod panics;
mod pcm_wav;
mod peaks;
mod resample;
mod shim;
mod ucs;
mod wave_format;
mod write;

pub use decode::{
    decode_file, decode_native, decode_stream, AudioInfo, DecodedAudio, MAX_SAMPLE_RATE,
};
pub use error::Error;
pub use metadata::{read_metadata, Bext, Metadata, Tags};
pub use open::SoundFile;
pub use peaks::{peaks, Peak, PeakBuilder, DEFAULT_BUCKETS};
pub use resample::{resample_to_48k, StreamResampler, TARGET_RATE};
pub use ucs::{
    file_ucs, parse_ucs, ucs_cat_id, ucs_cat_id_of, ucs_category, ucs_list, FileUcs, Ucs, UcsEntry,
    FILE_UCS_RULE, UCS_CAT_ID_COUNT,
};
pub use write::{
    audio_span, restore, write_tags, AudioSpan, Before, FieldChange, TagEdit, TagError, TagWrite,
    UcsCategory,
};
