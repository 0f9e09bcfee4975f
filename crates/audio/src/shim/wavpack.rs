//! WavPack (`.wv`), decoded by libwavpack loaded at run time and handed to
//! symphonia's PCM decoder as packets of 32-bit samples.
//!
//! Written by hand because no maintained crate does it without a build
//! step: the `wavpack` and `wavpack-sys` crates build the C library with
//! CMake and a C++ compiler and link it at load time (hark builds with a C
//! compiler alone), and the pure-Rust decoders are early work that has not
//! been shown bit-exact on real files. hark calls twelve functions of
//! libwavpack's stable API (`wavpack.h`, 5.x; the prototypes below follow
//! it), loaded the way the TUI loads ALSA. Without the library, a WavPack
//! file is refused with a cause that names the library to install.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::io::{Read, Seek, SeekFrom};
use std::ptr::NonNull;
use std::sync::OnceLock;

use libloading::Library;
use symphonia::core::audio::Channels;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::{Error as SymphoniaError, Result, SeekErrorKind};
use symphonia::core::formats::{
    Cue, FormatOptions, FormatReader, Packet, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{Metadata, MetadataLog};
use symphonia::core::sample::SampleFormat;
use symphonia::core::units::TimeBase;

use super::raw::{end_of_stream, frame_of};
use super::Refusal;
use crate::codecs::CODEC_TYPE_WAVPACK;
use crate::cursor::FileCursor;

/// The library's file name: its ABI version, which the runtime package
/// installs (Debian and Ubuntu: `libwavpack1`).
#[cfg(all(unix, not(target_os = "macos")))]
pub(crate) const LIBRARY: &str = "libwavpack.so.1";
#[cfg(target_os = "macos")]
pub(crate) const LIBRARY: &str = "libwavpack.1.dylib";
#[cfg(windows)]
pub(crate) const LIBRARY: &str = "wavpack.dll";

/// Frames per packet, as for the other shims' readers.
const FRAMES_PER_PACKET: u32 = 1024;

/// `OPEN_NORMALIZE`: float samples scaled to ±1.0.
const OPEN_NORMALIZE: c_int = 0x10;
/// `OPEN_DSD_AS_PCM`: DSD files decimated to 24-bit PCM.
const OPEN_DSD_AS_PCM: c_int = 0x200;
/// `MODE_FLOAT` in `WavpackGetMode`'s answer.
const MODE_FLOAT: c_int = 0x8;

/// libwavpack's `WavpackContext`, opaque.
#[repr(C)]
struct Context {
    _opaque: [u8; 0],
}

/// `WavpackStreamReader64`: how libwavpack reads the file, through
/// callbacks given the `id` pointer passed at opening.
#[repr(C)]
struct StreamReader64 {
    read_bytes: unsafe extern "C" fn(*mut c_void, *mut c_void, i32) -> i32,
    write_bytes: unsafe extern "C" fn(*mut c_void, *mut c_void, i32) -> i32,
    get_pos: unsafe extern "C" fn(*mut c_void) -> i64,
    set_pos_abs: unsafe extern "C" fn(*mut c_void, i64) -> c_int,
    set_pos_rel: unsafe extern "C" fn(*mut c_void, i64, c_int) -> c_int,
    push_back_byte: unsafe extern "C" fn(*mut c_void, c_int) -> c_int,
    get_length: unsafe extern "C" fn(*mut c_void) -> i64,
    can_seek: unsafe extern "C" fn(*mut c_void) -> c_int,
    /// Null: hark never writes.
    truncate_here: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    /// Null: the reader below owns the file and closes it itself.
    close: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
}

/// The callbacks, shared by every open file (libwavpack keeps a pointer to
/// them for the file's life, and never writes through it).
static READER: StreamReader64 = StreamReader64 {
    read_bytes,
    write_bytes,
    get_pos,
    set_pos_abs,
    set_pos_rel,
    push_back_byte,
    get_length,
    can_seek,
    truncate_here: None,
    close: None,
};

/// The functions hark calls, resolved from the loaded library.
struct Api {
    open: unsafe extern "C" fn(
        *mut StreamReader64,
        *mut c_void,
        *mut c_void,
        *mut c_char,
        c_int,
        c_int,
    ) -> *mut Context,
    mode: unsafe extern "C" fn(*mut Context) -> c_int,
    channels: unsafe extern "C" fn(*mut Context) -> c_int,
    rate: unsafe extern "C" fn(*mut Context) -> u32,
    bits: unsafe extern "C" fn(*mut Context) -> c_int,
    bytes: unsafe extern "C" fn(*mut Context) -> c_int,
    samples: unsafe extern "C" fn(*mut Context) -> i64,
    unpack: unsafe extern "C" fn(*mut Context, *mut i32, u32) -> u32,
    seek: unsafe extern "C" fn(*mut Context, i64) -> c_int,
    errors: unsafe extern "C" fn(*mut Context) -> c_int,
    close: unsafe extern "C" fn(*mut Context) -> *mut Context,
    /// Keeps the function pointers above valid: the library stays loaded
    /// as long as this table lives (for the process, in [`api`]).
    _library: Library,
}

/// Copies a function pointer out of `library`.
///
/// # Safety
/// `T` must be the function's true type.
unsafe fn function<T: Copy>(library: &Library, name: &CStr) -> std::result::Result<T, String> {
    // SAFETY: the caller gives the true type; the copy outlives the symbol's
    // borrow, which `Api` makes sound by owning the library.
    unsafe { library.get::<T>(name) }
        .map(|symbol| *symbol)
        .map_err(|e| e.to_string())
}

impl Api {
    fn load() -> std::result::Result<Api, String> {
        // SAFETY: libwavpack has no initialiser with preconditions, and each
        // type below is the prototype from wavpack.h (5.x).
        unsafe {
            let library = Library::new(LIBRARY).map_err(|e| e.to_string())?;
            Ok(Api {
                open: function(&library, c"WavpackOpenFileInputEx64")?,
                mode: function(&library, c"WavpackGetMode")?,
                channels: function(&library, c"WavpackGetNumChannels")?,
                rate: function(&library, c"WavpackGetSampleRate")?,
                bits: function(&library, c"WavpackGetBitsPerSample")?,
                bytes: function(&library, c"WavpackGetBytesPerSample")?,
                samples: function(&library, c"WavpackGetNumSamples64")?,
                unpack: function(&library, c"WavpackUnpackSamples")?,
                seek: function(&library, c"WavpackSeekSample64")?,
                errors: function(&library, c"WavpackGetNumErrors")?,
                close: function(&library, c"WavpackCloseFile")?,
                _library: library,
            })
        }
    }
}

/// libwavpack, loaded once for the process; `Err` says why it could not be.
fn api() -> std::result::Result<&'static Api, &'static str> {
    static API: OnceLock<std::result::Result<Api, String>> = OnceLock::new();
    API.get_or_init(Api::load).as_ref().map_err(String::as_str)
}

/// The file as libwavpack reads it: a cursor, and the byte it pushed
/// back, if any (its reader API has `ungetc`).
struct Source {
    cursor: FileCursor,
    pushed: Option<u8>,
}

/// # Safety (for every callback below)
/// libwavpack passes back the `id` given at opening: a live, exclusive
/// `Source` owned by the [`WavPackReader`] that opened the file.
unsafe fn source<'a>(id: *mut c_void) -> &'a mut Source {
    // SAFETY: as above.
    unsafe { &mut *id.cast::<Source>() }
}

unsafe extern "C" fn read_bytes(id: *mut c_void, data: *mut c_void, count: i32) -> i32 {
    // SAFETY: see `source`.
    let source = unsafe { source(id) };
    let Ok(count) = usize::try_from(count) else {
        return 0;
    };
    if count == 0 || data.is_null() {
        return 0;
    }
    // SAFETY: libwavpack gives a buffer of `count` writable bytes.
    let buf = unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), count) };
    let mut filled = 0;
    if let Some(byte) = source.pushed.take() {
        buf[0] = byte;
        filled = 1;
    }
    while filled < count {
        match source.cursor.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A read error ends the stream where it happened; libwavpack
            // then reports a short or broken block.
            Err(_) => break,
        }
    }
    i32::try_from(filled).unwrap_or(i32::MAX)
}

unsafe extern "C" fn write_bytes(_: *mut c_void, _: *mut c_void, _: i32) -> i32 {
    0
}

unsafe extern "C" fn get_pos(id: *mut c_void) -> i64 {
    // SAFETY: see `source`.
    let source = unsafe { source(id) };
    match source.cursor.stream_position() {
        Ok(pos) => pos as i64 - i64::from(source.pushed.is_some()),
        Err(_) => -1,
    }
}

unsafe extern "C" fn set_pos_abs(id: *mut c_void, pos: i64) -> c_int {
    // SAFETY: see `source`.
    let source = unsafe { source(id) };
    source.pushed = None;
    match u64::try_from(pos) {
        Ok(pos) if source.cursor.seek(SeekFrom::Start(pos)).is_ok() => 0,
        _ => -1,
    }
}

unsafe extern "C" fn set_pos_rel(id: *mut c_void, delta: i64, whence: c_int) -> c_int {
    // SAFETY: see `source`.
    let source = unsafe { source(id) };
    let from = match whence {
        0 => match u64::try_from(delta) {
            Ok(pos) => SeekFrom::Start(pos),
            Err(_) => return -1,
        },
        // The pushed-back byte counts as not yet read.
        1 => SeekFrom::Current(delta - i64::from(source.pushed.is_some())),
        2 => SeekFrom::End(delta),
        _ => return -1,
    };
    source.pushed = None;
    if source.cursor.seek(from).is_ok() {
        0
    } else {
        -1
    }
}

unsafe extern "C" fn push_back_byte(id: *mut c_void, byte: c_int) -> c_int {
    // SAFETY: see `source`.
    let source = unsafe { source(id) };
    match u8::try_from(byte) {
        Ok(b) if source.pushed.is_none() => {
            source.pushed = Some(b);
            byte
        }
        // EOF, as C's ungetc answers when it cannot push back.
        _ => -1,
    }
}

unsafe extern "C" fn get_length(id: *mut c_void) -> i64 {
    // SAFETY: see `source`.
    let source = unsafe { source(id) };
    i64::try_from(source.cursor.len()).unwrap_or(i64::MAX)
}

unsafe extern "C" fn can_seek(_: *mut c_void) -> c_int {
    1
}

/// Opens the WavPack file behind `cursor`: a reader, or why there is none.
pub(crate) fn open(cursor: FileCursor) -> std::result::Result<WavPackReader, Refusal> {
    let api = api().map_err(|cause| Refusal::NeedsLibrary {
        format: "WavPack".into(),
        library: LIBRARY.into(),
        cause: cause.into(),
    })?;
    let mut source = Box::new(Source {
        cursor,
        pushed: None,
    });
    let mut message = [0 as c_char; 81];
    let id: *mut Source = &mut *source;
    // SAFETY: `READER` lives for the program and libwavpack only reads it;
    // `id` points to the boxed `Source`, which the reader below keeps (at a
    // fixed address) until after the context is closed; the message buffer
    // has the 80 characters and the NUL libwavpack may write.
    let context = unsafe {
        (api.open)(
            std::ptr::addr_of!(READER).cast_mut(),
            id.cast(),
            std::ptr::null_mut(),
            message.as_mut_ptr(),
            OPEN_NORMALIZE | OPEN_DSD_AS_PCM,
            0,
        )
    };
    let Some(context) = NonNull::new(context) else {
        // SAFETY: libwavpack leaves a NUL-terminated message in the zeroed
        // buffer, whose last byte it never writes.
        let said = unsafe { CStr::from_ptr(message.as_ptr()) }.to_string_lossy();
        let said = if said.is_empty() {
            "not a WavPack file".to_string()
        } else {
            said.into_owned()
        };
        return Err(Refusal::Rejected(SymphoniaError::IoError(
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("WavPack: {said}")),
        )));
    };
    // From here the context is closed by the reader's `Drop`, even on an
    // early return.
    let mut reader = WavPackReader {
        api,
        context,
        source,
        tracks: Vec::new(),
        metadata: MetadataLog::default(),
        channels: 0,
        frames: None,
        next: 0,
        errors: 0,
    };
    let ctx = reader.context.as_ptr();
    // SAFETY: `ctx` is the open context.
    let (mode, channels, rate, bits, bytes, samples) = unsafe {
        (
            (api.mode)(ctx),
            (api.channels)(ctx),
            (api.rate)(ctx),
            (api.bits)(ctx),
            (api.bytes)(ctx),
            (api.samples)(ctx),
        )
    };
    if rate == 0 {
        return Err(Refusal::ZeroRate);
    }
    let channel_count = u16::try_from(channels)
        .ok()
        .filter(|&c| c > 0)
        .ok_or_else(|| Refusal::malformed("WavPack: no channels"))?;
    let layout = 1_u64
        .checked_shl(u32::from(channel_count))
        .and_then(|bit| u32::try_from(bit - 1).ok())
        .and_then(Channels::from_bits)
        .ok_or_else(|| Refusal::Unsupported(format!("{channel_count} channels in WavPack")))?;
    let float = mode & MODE_FLOAT != 0;
    // Integer samples come right-justified in the bytes each takes (a
    // 20-bit file gives 24-bit values), so that width tells the PCM decoder
    // how far to shift them.
    let coded = u32::try_from(bytes)
        .ok()
        .filter(|b| (1..=4).contains(b))
        .ok_or_else(|| Refusal::malformed("WavPack: bad sample width"))?
        * 8;
    let bits = u32::try_from(bits).unwrap_or(coded).clamp(1, coded);
    let frames = u64::try_from(samples).ok();
    let mut params = CodecParameters::new();
    params
        .for_codec(CODEC_TYPE_WAVPACK)
        .with_sample_format(if float {
            SampleFormat::F32
        } else {
            SampleFormat::S32
        })
        .with_sample_rate(rate)
        .with_time_base(TimeBase::new(1, rate))
        .with_channels(layout)
        .with_bits_per_sample(if float { 32 } else { bits })
        .with_bits_per_coded_sample(if float { 32 } else { coded })
        .with_max_frames_per_packet(u64::from(FRAMES_PER_PACKET))
        .with_frames_per_block(1);
    if let Some(frames) = frames {
        params.with_n_frames(frames);
    }
    reader.tracks = vec![Track::new(0, params)];
    reader.channels = usize::from(channel_count);
    reader.frames = frames;
    Ok(reader)
}

/// A symphonia reader over libwavpack: each packet holds up to
/// [`FRAMES_PER_PACKET`] interleaved frames of little-endian 32-bit
/// samples (integers right-justified, or floats), for the codec
/// `codecs::CODEC_TYPE_WAVPACK`.
pub(crate) struct WavPackReader {
    api: &'static Api,
    context: NonNull<Context>,
    /// What `context` reads through; boxed so that its address stays put.
    source: Box<Source>,
    tracks: Vec<Track>,
    metadata: MetadataLog,
    channels: usize,
    /// Frames in the file, when its header says.
    frames: Option<u64>,
    /// The next frame to unpack.
    next: u64,
    /// libwavpack's count of bad blocks, as last seen.
    errors: c_int,
}

// SAFETY: a libwavpack context belongs to no thread; the reader uses it
// only through `&mut self`, one call at a time, and shares nothing with
// another context.
unsafe impl Send for WavPackReader {}
// SAFETY: the `&self` methods read only the Rust-side fields.
unsafe impl Sync for WavPackReader {}

impl Drop for WavPackReader {
    fn drop(&mut self) {
        // SAFETY: the context is open, and closed once; `source` outlives
        // the call, being dropped after this body.
        unsafe { (self.api.close)(self.context.as_ptr()) };
    }
}

impl FormatReader for WavPackReader {
    /// Never used: [`open`] is the way in (it needs the library).
    fn try_new(_: MediaSourceStream, _: &FormatOptions) -> Result<Self> {
        Err(SymphoniaError::Unsupported(
            "WavPack is opened through its shim",
        ))
    }

    fn cues(&self) -> &[Cue] {
        &[]
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.metadata.metadata()
    }

    fn seek(&mut self, _mode: SeekMode, to: SeekTo) -> Result<SeekedTo> {
        let rate = self.tracks[0].codec_params.sample_rate.unwrap_or(1);
        let ts = frame_of(to, rate);
        if self.frames.is_some_and(|frames| ts > frames) {
            return Err(SymphoniaError::SeekError(SeekErrorKind::OutOfRange));
        }
        let to =
            i64::try_from(ts).map_err(|_| SymphoniaError::SeekError(SeekErrorKind::OutOfRange))?;
        // SAFETY: the context is open.
        if unsafe { (self.api.seek)(self.context.as_ptr(), to) } == 0 {
            return Err(SymphoniaError::SeekError(SeekErrorKind::Unseekable));
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
        let mut samples = vec![0_i32; FRAMES_PER_PACKET as usize * self.channels];
        // SAFETY: the context is open, and the buffer holds
        // FRAMES_PER_PACKET frames of every channel.
        let frames = unsafe {
            (self.api.unpack)(
                self.context.as_ptr(),
                samples.as_mut_ptr(),
                FRAMES_PER_PACKET,
            )
        };
        if frames == 0 {
            return Err(end_of_stream());
        }
        samples.truncate(frames as usize * self.channels);
        let mut data = Vec::with_capacity(samples.len() * 4);
        for sample in samples {
            // Float samples come as their bit patterns in the integers.
            data.extend_from_slice(&sample.to_le_bytes());
        }
        let ts = self.next;
        self.next += u64::from(frames);
        // SAFETY: the context is open.
        let errors = unsafe { (self.api.errors)(self.context.as_ptr()) };
        if errors > self.errors {
            self.errors = errors;
            return Err(SymphoniaError::DecodeError(
                "WavPack block failed its checksum",
            ));
        }
        Ok(Packet::new_from_boxed_slice(
            0,
            ts,
            u64::from(frames),
            data.into(),
        ))
    }

    fn into_inner(self: Box<Self>) -> MediaSourceStream {
        let cursor = self.source.cursor.window(0, self.source.cursor.len());
        MediaSourceStream::new(Box::new(cursor), Default::default())
    }
}
