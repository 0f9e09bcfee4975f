//! ALSA's PCM playback calls, from `libasound.so.2` loaded at run time.
//!
//! Written by hand because no maintained crate does it: the `alsa` and
//! `alsa-sys` crates (and cpal and tinyaudio on top of them) link libasound
//! when building, which needs pkg-config and ALSA's headers, and makes the
//! library a load-time dependency of the binary. hark needs nine functions;
//! their prototypes below follow alsa-lib's `pcm.h` and `error.h`.

use std::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void, CStr};
use std::ptr::NonNull;

use libloading::Library;

/// The sound library's file name: its ABI version, which the runtime
/// package installs (`libasound.so` alone comes with the headers).
pub(super) const LIBRARY: &str = "libasound.so.2";

/// alsa-lib's `snd_pcm_t`, opaque.
#[repr(C)]
struct SndPcm {
    _opaque: [u8; 0],
}

/// `snd_pcm_uframes_t`.
type Frames = c_ulong;

const SND_PCM_STREAM_PLAYBACK: c_uint = 0;
const SND_PCM_ACCESS_RW_INTERLEAVED: c_uint = 3;
#[cfg(target_endian = "little")]
const SND_PCM_FORMAT_S16: c_int = 2;
#[cfg(target_endian = "big")]
const SND_PCM_FORMAT_S16: c_int = 3;
#[cfg(target_endian = "little")]
const SND_PCM_FORMAT_FLOAT: c_int = 14;
#[cfg(target_endian = "big")]
const SND_PCM_FORMAT_FLOAT: c_int = 15;

/// The functions hark calls, resolved from the loaded library.
pub(super) struct Alsa {
    open: unsafe extern "C" fn(*mut *mut SndPcm, *const c_char, c_uint, c_int) -> c_int,
    set_params:
        unsafe extern "C" fn(*mut SndPcm, c_int, c_uint, c_uint, c_uint, c_int, c_uint) -> c_int,
    get_params: unsafe extern "C" fn(*mut SndPcm, *mut Frames, *mut Frames) -> c_int,
    writei: unsafe extern "C" fn(*mut SndPcm, *const c_void, Frames) -> c_long,
    recover: unsafe extern "C" fn(*mut SndPcm, c_int, c_int) -> c_int,
    drop: unsafe extern "C" fn(*mut SndPcm) -> c_int,
    prepare: unsafe extern "C" fn(*mut SndPcm) -> c_int,
    close: unsafe extern "C" fn(*mut SndPcm) -> c_int,
    strerror: unsafe extern "C" fn(c_int) -> *const c_char,
    /// Keeps the function pointers above valid: the library stays loaded
    /// as long as this table lives.
    _library: Library,
}

/// Copies a function pointer out of `library`.
///
/// # Safety
/// `T` must be the function's true type.
unsafe fn function<T: Copy>(library: &Library, name: &CStr) -> Result<T, libloading::Error> {
    // SAFETY: the caller gives the true type; the copy outlives the symbol's
    // borrow, which `Alsa` makes sound by owning the library.
    Ok(unsafe { *library.get::<T>(name)? })
}

impl Alsa {
    /// Loads `library` and resolves the functions hark calls.
    pub(super) fn load(library: &str) -> Result<Alsa, libloading::Error> {
        // SAFETY: alsa-lib's initialisers have no preconditions, and each
        // type below is the prototype from alsa-lib's headers.
        unsafe {
            let library = Library::new(library)?;
            Ok(Alsa {
                open: function(&library, c"snd_pcm_open")?,
                set_params: function(&library, c"snd_pcm_set_params")?,
                get_params: function(&library, c"snd_pcm_get_params")?,
                writei: function(&library, c"snd_pcm_writei")?,
                recover: function(&library, c"snd_pcm_recover")?,
                drop: function(&library, c"snd_pcm_drop")?,
                prepare: function(&library, c"snd_pcm_prepare")?,
                close: function(&library, c"snd_pcm_close")?,
                strerror: function(&library, c"snd_strerror")?,
                _library: library,
            })
        }
    }

    fn error(&self, call: &'static str, code: c_int) -> AlsaError {
        // SAFETY: snd_strerror takes any code and returns a static string.
        let message = unsafe { CStr::from_ptr((self.strerror)(code)) };
        AlsaError {
            call,
            message: message.to_string_lossy().into_owned(),
        }
    }
}

/// A call into ALSA failed.
#[derive(Debug, thiserror::Error)]
#[error("`{call}` failed: {message}")]
pub(super) struct AlsaError {
    call: &'static str,
    /// `snd_strerror`'s words for the error code.
    message: String,
}

/// A sample format the device can be given.
pub(super) trait PcmSample: Copy {
    /// The `snd_pcm_format_t` of this type in the machine's byte order.
    const FORMAT: c_int;
}

impl PcmSample for f32 {
    const FORMAT: c_int = SND_PCM_FORMAT_FLOAT;
}

impl PcmSample for i16 {
    const FORMAT: c_int = SND_PCM_FORMAT_S16;
}

/// The sizes ALSA settled on, in frames.
#[derive(Debug, Clone, Copy)]
pub(super) struct Buffering {
    /// The ring buffer.
    pub(super) buffer: usize,
    /// One period: the device wakes the writer once per period.
    pub(super) period: usize,
}

/// An open playback PCM. Not `Send`: it stays on the thread that opened it.
pub(super) struct Pcm {
    alsa: Alsa,
    handle: NonNull<SndPcm>,
}

impl Pcm {
    /// Opens the PCM called `name` (`default`: the system's default output)
    /// for blocking playback.
    pub(super) fn open(alsa: Alsa, name: &CStr) -> Result<Pcm, AlsaError> {
        let mut handle = std::ptr::null_mut();
        // SAFETY: valid out pointer and NUL-terminated name.
        let code = unsafe { (alsa.open)(&mut handle, name.as_ptr(), SND_PCM_STREAM_PLAYBACK, 0) };
        if code < 0 {
            return Err(alsa.error("snd_pcm_open", code));
        }
        match NonNull::new(handle) {
            Some(handle) => Ok(Pcm { alsa, handle }),
            None => Err(alsa.error("snd_pcm_open", -libc::EINVAL)),
        }
    }

    /// Sets interleaved samples of type `S`, `channels` and `rate` (letting
    /// ALSA resample if the hardware cannot), and a ring buffer of about
    /// `latency_us`; playback starts once the buffer is full.
    pub(super) fn configure<S: PcmSample>(
        &mut self,
        channels: u32,
        rate: u32,
        latency_us: u32,
    ) -> Result<Buffering, AlsaError> {
        let pcm = self.handle.as_ptr();
        // SAFETY: an open handle; plain values.
        let code = unsafe {
            (self.alsa.set_params)(
                pcm,
                S::FORMAT,
                SND_PCM_ACCESS_RW_INTERLEAVED,
                channels,
                rate,
                1,
                latency_us,
            )
        };
        if code < 0 {
            return Err(self.alsa.error("snd_pcm_set_params", code));
        }
        let (mut buffer, mut period) = (0, 0);
        // SAFETY: an open, configured handle; valid out pointers.
        let code = unsafe { (self.alsa.get_params)(pcm, &mut buffer, &mut period) };
        if code < 0 {
            return Err(self.alsa.error("snd_pcm_get_params", code));
        }
        Ok(Buffering {
            buffer: buffer as usize,
            period: period as usize,
        })
    }

    /// Writes whole frames of `samples` (interleaved, `channels` to a
    /// frame), blocking until the device takes them; returns how many
    /// frames it took, or ALSA's negative error code.
    pub(super) fn write<S: PcmSample>(
        &mut self,
        samples: &[S],
        channels: usize,
    ) -> Result<usize, c_int> {
        let frames = samples.len() / channels.max(1);
        // SAFETY: `samples` holds `frames` whole frames of the configured
        // format (the caller configured `S`).
        let written = unsafe {
            (self.alsa.writei)(
                self.handle.as_ptr(),
                samples.as_ptr().cast(),
                frames as Frames,
            )
        };
        if written < 0 {
            Err(written as c_int)
        } else {
            Ok(written as usize)
        }
    }

    /// Recovers from the error a write returned (an underrun, a suspend).
    pub(super) fn recover(&mut self, code: c_int) -> Result<(), AlsaError> {
        // SAFETY: an open handle; silent = 1 keeps alsa-lib from printing.
        let code = unsafe { (self.alsa.recover)(self.handle.as_ptr(), code, 1) };
        if code < 0 {
            return Err(self.alsa.error("snd_pcm_recover", code));
        }
        Ok(())
    }

    /// Stops the device at once, dropping what is queued, and readies it
    /// for the next write.
    pub(super) fn stop(&mut self) -> Result<(), AlsaError> {
        // SAFETY: an open handle.
        let code = unsafe { (self.alsa.drop)(self.handle.as_ptr()) };
        if code < 0 {
            return Err(self.alsa.error("snd_pcm_drop", code));
        }
        // SAFETY: an open handle.
        let code = unsafe { (self.alsa.prepare)(self.handle.as_ptr()) };
        if code < 0 {
            return Err(self.alsa.error("snd_pcm_prepare", code));
        }
        Ok(())
    }

    /// ALSA's words for an error code a write returned.
    pub(super) fn error(&self, call: &'static str, code: c_int) -> AlsaError {
        self.alsa.error(call, code)
    }
}

impl Drop for Pcm {
    fn drop(&mut self) {
        // SAFETY: an open handle, closed once; nothing uses it after.
        unsafe { (self.alsa.close)(self.handle.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_that_does_not_exist_is_an_error_not_a_crash() {
        let Err(e) = Alsa::load("libasound-hark-test-missing.so.2") else {
            panic!("a library that does not exist loaded");
        };
        let chain = crate::backend::error_chain(&e);
        assert!(
            chain.contains("libasound-hark-test-missing.so.2"),
            "{chain}"
        );
    }

    #[cfg(target_env = "gnu")]
    #[test]
    fn a_library_without_alsa_s_functions_is_an_error() {
        // The C library is loaded in every process and has no snd_pcm_open.
        let Err(e) = Alsa::load("libc.so.6") else {
            panic!("libc passed for libasound");
        };
        let chain = crate::backend::error_chain(&e);
        assert!(chain.contains("snd_pcm_open"), "{chain}");
    }
}
