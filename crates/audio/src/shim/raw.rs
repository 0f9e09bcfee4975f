//! A symphonia [`FormatReader`] over a stretch of interleaved PCM whose
//! layout a container shim read from its header: packets of whole frames
//! for symphonia's own PCM decoder (integer, float, A-law, µ-law, either
//! byte order).

use std::io::{ErrorKind, Read, Seek, SeekFrom};

use symphonia::core::audio::Channels;
use symphonia::core::codecs::{CodecParameters, CodecType};
use symphonia::core::errors::{Error as SymphoniaError, Result, SeekErrorKind};
use symphonia::core::formats::{
    Cue, FormatOptions, FormatReader, Packet, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{Metadata, MetadataLog};
use symphonia::core::units::TimeBase;

use crate::cursor::FileCursor;

/// Frames per packet: about 20 ms at 48 kHz, and few enough that a
/// many-channel file still makes small packets.
const FRAMES_PER_PACKET: u64 = 1024;

/// The layout of the PCM a shim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// symphonia's PCM codec for the samples.
    pub codec: CodecType,
    pub rate: u32,
    pub channels: u16,
    /// Bits per stored sample.
    pub bits: u16,
    /// Where the samples start in the file.
    pub data_start: u64,
    /// Bytes of samples, already cut to what the file holds.
    pub data_len: u64,
}

impl Layout {
    fn frame_bytes(&self) -> u64 {
        u64::from(self.channels) * u64::from(self.bits / 8)
    }
}

/// Interleaved PCM read straight from the file, a packet of
/// [`FRAMES_PER_PACKET`] frames at a time.
pub(crate) struct RawPcmReader {
    file: FileCursor,
    tracks: Vec<Track>,
    metadata: MetadataLog,
    layout: Layout,
    frame_bytes: u64,
    frames: u64,
    /// The next frame to read.
    next: u64,
}

impl RawPcmReader {
    /// A reader of `layout` in `file`; an error if symphonia's channel
    /// bitmask cannot name that many channels, or the layout is empty.
    pub(crate) fn new(file: FileCursor, layout: Layout) -> Result<RawPcmReader> {
        let frame_bytes = layout.frame_bytes();
        if frame_bytes == 0 || layout.rate == 0 {
            return Err(SymphoniaError::DecodeError("no channels or 0-bit samples"));
        }
        let channels = 1_u64
            .checked_shl(u32::from(layout.channels))
            .and_then(|bit| u32::try_from(bit - 1).ok())
            .and_then(Channels::from_bits)
            .ok_or(SymphoniaError::Unsupported(
                "more channels than symphonia names",
            ))?;
        let frames = layout.data_len / frame_bytes;
        let mut params = CodecParameters::new();
        params
            .for_codec(layout.codec)
            .with_sample_rate(layout.rate)
            .with_time_base(TimeBase::new(1, layout.rate))
            .with_channels(channels)
            .with_bits_per_sample(u32::from(layout.bits))
            .with_bits_per_coded_sample(u32::from(layout.bits))
            .with_max_frames_per_packet(FRAMES_PER_PACKET)
            .with_frames_per_block(1)
            .with_n_frames(frames);
        Ok(RawPcmReader {
            file,
            tracks: vec![Track::new(0, params)],
            metadata: MetadataLog::default(),
            layout,
            frame_bytes,
            frames,
            next: 0,
        })
    }
}

impl FormatReader for RawPcmReader {
    /// Never used: the layout comes from a container shim, not from the
    /// stream, so [`RawPcmReader::new`] is the way in.
    fn try_new(_: MediaSourceStream, _: &FormatOptions) -> Result<Self> {
        Err(SymphoniaError::Unsupported(
            "raw PCM needs its layout from a container header",
        ))
    }

    fn cues(&self) -> &[Cue] {
        &[]
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.metadata.metadata()
    }

    fn seek(&mut self, _mode: SeekMode, to: SeekTo) -> Result<SeekedTo> {
        let ts = frame_of(to, self.layout.rate);
        if ts > self.frames {
            return Err(SymphoniaError::SeekError(SeekErrorKind::OutOfRange));
        }
        self.next = ts;
        Ok(SeekedTo {
            track_id: 0,
            required_ts: ts,
            actual_ts: ts,
        })
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn next_packet(&mut self) -> Result<Packet> {
        let frames = FRAMES_PER_PACKET.min(self.frames - self.next);
        if frames == 0 {
            return Err(end_of_stream());
        }
        let start = self.layout.data_start + self.next * self.frame_bytes;
        self.file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((frames * self.frame_bytes) as usize);
        (&mut self.file)
            .take(frames * self.frame_bytes)
            .read_to_end(&mut buf)?;
        // A file that shrank since it was opened ends where it now ends.
        let whole = buf.len() as u64 / self.frame_bytes;
        if whole == 0 {
            return Err(end_of_stream());
        }
        buf.truncate((whole * self.frame_bytes) as usize);
        let ts = self.next;
        self.next += whole;
        Ok(Packet::new_from_boxed_slice(0, ts, whole, buf.into()))
    }

    fn into_inner(self: Box<Self>) -> MediaSourceStream {
        MediaSourceStream::new(Box::new(self.file), Default::default())
    }
}

/// The frame a seek asks for, at `rate` frames a second.
pub(super) fn frame_of(to: SeekTo, rate: u32) -> u64 {
    match to {
        SeekTo::TimeStamp { ts, .. } => ts,
        SeekTo::Time { time, .. } => ((time.seconds as f64 + time.frac) * f64::from(rate)) as u64,
    }
}

/// The end of the stream, as symphonia's readers report it.
pub(super) fn end_of_stream() -> SymphoniaError {
    SymphoniaError::IoError(std::io::Error::new(
        ErrorKind::UnexpectedEof,
        "end of stream",
    ))
}
