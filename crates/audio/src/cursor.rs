//! Read cursors on an open file, each with a position of its own, over the
//! whole file or over one stretch of it.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::sync::Arc;

use symphonia::core::io::MediaSource;

/// A read cursor on an open file with a position of its own: it reads at
/// explicit offsets, so several cursors on one file never disturb each
/// other.
///
/// A cursor may see only a window of the file (the Ogg stream inside a
/// WAV `data` chunk, say): positions and length are then relative to the
/// window, and reads stop at its end, so a reader given the window takes it
/// for a whole file.
pub(crate) struct FileCursor {
    file: Arc<File>,
    /// Where the window starts in the file.
    start: u64,
    /// The position, relative to `start`.
    pos: u64,
    /// The window's length.
    len: u64,
}

impl FileCursor {
    /// A cursor over all `len` bytes of `file`, at its start.
    pub(crate) fn new(file: &Arc<File>, len: u64) -> FileCursor {
        FileCursor {
            file: Arc::clone(file),
            start: 0,
            pos: 0,
            len,
        }
    }

    /// A new cursor over `len` bytes from `start` (relative to this
    /// cursor's window), cut at this window's end.
    pub(crate) fn window(&self, start: u64, len: u64) -> FileCursor {
        let start = start.min(self.len);
        FileCursor {
            file: Arc::clone(&self.file),
            start: self.start + start,
            pos: 0,
            len: len.min(self.len - start),
        }
    }

    /// The window's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }
}

impl Read for FileCursor {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let buf = &mut buf[..want];
        let at = self.start + self.pos;
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(&*self.file, buf, at)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(&*self.file, buf, at)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for FileCursor {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let (base, offset) = match to {
            SeekFrom::Start(pos) => {
                self.pos = pos;
                return Ok(pos);
            }
            SeekFrom::End(offset) => (self.len, offset),
            SeekFrom::Current(offset) => (self.pos, offset),
        };
        self.pos = base.checked_add_signed(offset).ok_or_else(|| {
            io::Error::new(ErrorKind::InvalidInput, "seek to a negative position")
        })?;
        Ok(self.pos)
    }
}

impl MediaSource for FileCursor {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
