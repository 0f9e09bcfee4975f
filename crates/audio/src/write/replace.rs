//! The one way a file is rewritten: a new file beside the old one, synced,
//! its audio checked against the old file's, renamed over it, the folder
//! synced. A failure at any step removes the new file; the old one is never
//! opened for writing.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::span::{audio_span_of, AudioSpan};
use super::{TagError, Target};

/// Refuses a file that is not a regular file, is read-only, or (on Unix)
/// has other hard links.
pub(super) fn check_writable(path: &Path, meta: &Metadata) -> Result<(), TagError> {
    if !meta.is_file() {
        return Err(TagError::malformed(path, "not a regular file"));
    }
    if meta.permissions().readonly() {
        return Err(TagError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            return Err(TagError::HardLinks {
                path: path.to_path_buf(),
                links: meta.nlink(),
            });
        }
    }
    Ok(())
}

/// The temporary file; removed on drop unless kept.
struct Temp {
    path: PathBuf,
    keep: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Rewrites `path`: `build` writes the new file from the original (opened
/// for reading), then the new file's audio must equal `audio` (length and
/// hash) before it replaces the original. `meta` is the original's, as
/// checked by [`check_writable`].
pub(super) fn replace(
    path: &Path,
    meta: &Metadata,
    target: Target,
    audio: AudioSpan,
    build: impl FnOnce(&mut File, &mut File) -> Result<(), TagError>,
) -> Result<(), TagError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| TagError::malformed(path, "no file name"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".hark-tag-{}.tmp", std::process::id()));
    let temp = Temp {
        path: dir.join(temp_name),
        keep: false,
    };
    let mut temp = temp;
    let mut out = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&temp.path)
        .map_err(TagError::io(&temp.path, "create the temporary file"))?;
    out.set_permissions(meta.permissions())
        .map_err(TagError::io(&temp.path, "set the permissions of"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Best effort: only root may give a file away.
        let _ = std::os::unix::fs::fchown(&out, Some(meta.uid()), Some(meta.gid()));
    }
    let mut original = File::open(path).map_err(TagError::io(path, "open"))?;
    build(&mut out, &mut original)?;
    out.sync_all()
        .map_err(TagError::io(&temp.path, "sync the temporary file"))?;
    drop(out);

    let written = audio_span_of(&temp.path, target)?;
    if written.len != audio.len || written.hash != audio.hash {
        return Err(TagError::AudioChanged {
            path: path.to_path_buf(),
            cause: format!(
                "{} audio bytes before, {} after, hashes {}",
                audio.len,
                written.len,
                if written.hash == audio.hash {
                    "equal"
                } else {
                    "different"
                }
            ),
        });
    }
    // Changed by someone else while it was being rewritten: what was read
    // may be neither version.
    let now = std::fs::metadata(path).map_err(TagError::io(path, "read"))?;
    if now.len() != meta.len() || now.modified().ok() != meta.modified().ok() {
        return Err(TagError::malformed(
            path,
            "the file changed while it was being rewritten",
        ));
    }
    std::fs::rename(&temp.path, path).map_err(TagError::io(path, "rename the new file over"))?;
    temp.keep = true;
    sync_dir(&dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), TagError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(TagError::io(dir, "sync the folder"))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), TagError> {
    Ok(())
}

/// Copies `len` bytes at `offset` of `from` to `to`; an early end of file
/// is an error.
pub(super) fn copy_range(
    from: &mut File,
    offset: u64,
    len: u64,
    to: &mut impl Write,
    path: &Path,
) -> Result<(), TagError> {
    from.seek(SeekFrom::Start(offset))
        .map_err(TagError::io(path, "read"))?;
    let copied = io::copy(&mut (&mut *from).take(len), to).map_err(TagError::io(path, "copy"))?;
    if copied != len {
        return Err(TagError::malformed(
            path,
            format!("the file ended {} bytes early", len - copied),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(audio: &[u8]) -> Vec<u8> {
        let mut fmt = vec![1, 0, 1, 0];
        fmt.extend(8000u32.to_le_bytes());
        fmt.extend(8000u32.to_le_bytes());
        fmt.extend([1, 0, 8, 0]);
        let mut body = b"WAVEfmt ".to_vec();
        body.extend(16u32.to_le_bytes());
        body.extend(fmt);
        body.extend(b"data");
        body.extend((audio.len() as u32).to_le_bytes());
        body.extend(audio);
        let mut out = b"RIFF".to_vec();
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    /// The abort path: a rewrite whose audio differs by one byte replaces
    /// nothing and leaves no temporary file.
    #[test]
    fn a_rewrite_that_changes_the_audio_is_aborted() {
        let dir = std::env::temp_dir().join(format!("hark-replace-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.wav");
        let original = wav(&[1, 2, 3, 4, 5, 6]);
        std::fs::write(&path, &original).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let audio = audio_span_of(&path, Target::Wav).unwrap();
        let err = replace(&path, &meta, Target::Wav, audio, |out, _| {
            out.write_all(&wav(&[1, 2, 3, 4, 5, 7])).unwrap();
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(err, TagError::AudioChanged { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), original);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        // The same rewrite with the audio intact goes through.
        replace(&path, &meta, Target::Wav, audio, |out, _| {
            out.write_all(&wav(&[1, 2, 3, 4, 5, 6])).unwrap();
            out.write_all(b"JUNK\x02\0\0\0ab").unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), original.len() + 10);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
