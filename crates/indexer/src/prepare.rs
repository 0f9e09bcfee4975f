//! Work on one file before the model: content hash, metadata, decoding to
//! the model's input, a waveform overview and an audio fingerprint. Runs on the decoding thread,
//! beside inference.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use hark_audio::{Metadata, PeakBuilder, SoundFile, DEFAULT_BUCKETS};
use hark_fingerprint::Fingerprinter;
use hark_model::mel::MelFrontEnd;
use hark_store::{FileRecord, FileState, FileStatus, Held, RootId};

use crate::moments::{Moment, MomentCutter, RULE};
use crate::ucs::ucs_fields;
use crate::walk::{mtime_ns, Found};

/// Why a file is being looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Not in the catalog.
    New,
    /// In the catalog, with another size or time.
    Changed,
    /// Unchanged, but it needs a vector from this model.
    Embed,
    /// Unchanged and embedded, but without a fingerprint of this version
    /// (an index made before fingerprints): decoded for that alone.
    Fingerprint,
}

/// One file to process.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub kind: Kind,
    pub root: RootId,
    pub found: Found,
}

/// The result of [`prepare`].
pub(crate) enum Prepared {
    /// A record to store, with the model input when it is to be embedded.
    Record {
        task: Task,
        record: Box<FileRecord>,
        features: Option<Vec<f32>>,
        /// Its vectors are held from a repair (see [`Held`]): read, not
        /// embedded; the commit gives them to the file.
        claim: bool,
        /// The audio fingerprint (hark-fingerprint's bytes), when decoding
        /// succeeded.
        fingerprint: Option<Vec<u8>>,
    },
    /// A new path holding the content of a file that is no longer where the
    /// catalog has it.
    Moved { task: Task, from: FileState },
    /// A moment of the file whose `Record` comes next (see `moments`).
    Moment(Moment),
    /// The file disappeared while it was read: nothing to record.
    Vanished { task: Task, cause: String },
}

/// Missing files by content hash: candidates for a move.
pub(crate) type MissingByHash = HashMap<Vec<u8>, Vec<FileState>>;

/// Vectors held by content hash after a repair, of this run's model.
pub(crate) type HeldByHash = HashMap<Vec<u8>, Held>;

/// The BLAKE3 hash of the whole file (for rename detection: a moved file
/// keeps its hash, so it keeps its vector without being decoded again).
pub fn hash_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut hasher = blake3::Hasher::new();
    let mut file = File::open(path)?;
    hasher.update_reader(&mut file)?;
    Ok(hasher.finalize().as_bytes().to_vec())
}

/// Processes one task. `front_end` is `Some` when the file is to be
/// embedded: then the features come back with the record, unless `held`
/// has whole vectors for the file's content (found again after a repair),
/// which it is then given instead.
pub(crate) fn prepare(
    task: Task,
    missing: &mut MissingByHash,
    held: &HeldByHash,
    front_end: Option<&MelFrontEnd>,
    emit: &mut dyn FnMut(Moment),
) -> Prepared {
    let path = task.found.path.clone();
    let mut record = FileRecord::new(task.root, &path, task.found.size, task.found.mtime_ns);
    let failed = |mut record: FileRecord, task: Task, cause: String| {
        record.status = FileStatus::Failed;
        record.error = Some(cause);
        Prepared::Record {
            task,
            record: Box::new(record),
            features: None,
            claim: false,
            fingerprint: None,
        }
    };

    let hash = match hash_file(&path) {
        Ok(hash) => hash,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Prepared::Vanished {
                task,
                cause: format!("deleted before it could be read: {e}"),
            }
        }
        Err(e) => {
            return failed(
                record,
                task,
                format!("cannot read `{}`: {e}", path.display()),
            )
        }
    };
    if task.kind == Kind::New {
        if let Some(candidates) = missing.get_mut(&hash) {
            if let Some(from) = candidates.pop() {
                return Prepared::Moved { task, from };
            }
        }
    }
    record.content_hash = Some(hash);

    // The name's, until `describe` knows the tags.
    record.set_ucs(ucs_fields(&path, &[]));

    // One open and one probe for both the metadata and the audio.
    let opened = SoundFile::open(&path).and_then(|sound| {
        let meta = sound.metadata()?;
        Ok((sound, meta))
    });
    let (sound, mut meta) = match opened {
        Ok(opened) => opened,
        Err(e) => return failed(record, task, e.to_string()),
    };
    // Held vectors serve only if every moment of a file this long is there.
    let claim = front_end.is_some()
        && record
            .content_hash
            .as_ref()
            .and_then(|hash| held.get(hash))
            .is_some_and(|h| RULE.complete(meta.duration_s, h.moments, h.last_end_s));
    let front_end = if claim { None } else { front_end };

    let mut peaks = PeakBuilder::new(DEFAULT_BUCKETS);
    let mut fingerprint = Fingerprinter::new();
    let mut features = front_end.map(MelFrontEnd::stream);
    let mut cutter = front_end.map(MomentCutter::new);
    let mut moment_error = None;
    let decoded = sound.decode_stream(&mut |chunk| {
        peaks.push(chunk);
        fingerprint.push(chunk);
        if let Some(f) = &mut features {
            f.push(chunk);
        }
        if let (Some(c), None) = (&mut cutter, &moment_error) {
            moment_error = c.push(chunk, emit).err();
        }
    });
    // Decoding has the last word on the stream facts; headers can lie.
    if let Ok(info) = &decoded {
        meta.settle(info);
    }
    describe(&mut record, meta);
    if let Err(e) = decoded {
        return failed(record, task, e.to_string());
    }
    record.peaks = peaks.finish().into_iter().map(|p| (p.min, p.max)).collect();
    let moments_done = match moment_error {
        Some(e) => Err(e),
        None => cutter.map_or(Ok(()), |c| c.finish(emit)),
    };
    if let Err(e) = moments_done {
        let cause = format!(
            "cannot compute the spectrogram of a moment of `{}`: {e}",
            path.display()
        );
        return failed(record, task, cause);
    }
    let features = match features.map(|f| f.finish()).transpose() {
        Ok(f) => f,
        Err(e) => {
            let cause = format!(
                "cannot compute the spectrogram of `{}`: {e}",
                path.display()
            );
            return failed(record, task, cause);
        }
    };

    // Rewritten or deleted while being read: what was read may be neither
    // version. Recorded with the size and time seen before reading, so the
    // next run sees a change and reads it again.
    match std::fs::metadata(&path) {
        Err(e) => Prepared::Vanished {
            task,
            cause: format!("deleted while being read: {e}"),
        },
        Ok(m) if m.len() != task.found.size || mtime_ns(&m) != task.found.mtime_ns => failed(
            record,
            task,
            "changed while being indexed; it will be read again on the next run".into(),
        ),
        Ok(_) => {
            record.status = if features.is_some() {
                FileStatus::Ok
            } else {
                FileStatus::Waiting
            };
            Prepared::Record {
                task,
                record: Box::new(record),
                features,
                claim,
                fingerprint: Some(fingerprint.finish().to_bytes()),
            }
        }
    }
}

/// Puts what the file says about itself into its record: the container,
/// the stream facts (settled by decoding when it succeeded), the tags and
/// the UCS fields (its name's, else its tags').
fn describe(record: &mut FileRecord, meta: Metadata) {
    record.format = Some(meta.format);
    record.codec = meta.codec;
    record.duration_s = meta.duration_s;
    record.sample_rate = meta.sample_rate;
    record.channels = meta.channels.map(u32::from);
    record.bits_per_sample = meta.bits_per_sample;
    record.tags = meta.tags.all;
    record.set_ucs(ucs_fields(&record.path, &record.tags));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_bytes() -> Vec<u8> {
        let frames = 4800_u32;
        let mut out = Vec::new();
        out.extend(b"RIFF");
        out.extend((36 + frames * 2).to_le_bytes());
        out.extend(b"WAVEfmt ");
        out.extend(16u32.to_le_bytes());
        out.extend(1u16.to_le_bytes());
        out.extend(1u16.to_le_bytes());
        out.extend(48_000u32.to_le_bytes());
        out.extend(96_000u32.to_le_bytes());
        out.extend(2u16.to_le_bytes());
        out.extend(16u16.to_le_bytes());
        out.extend(b"data");
        out.extend((frames * 2).to_le_bytes());
        for i in 0..frames {
            out.extend((((i as f32 * 0.05).sin() * 10_000.0) as i16).to_le_bytes());
        }
        out
    }

    fn task(path: &Path, size: u64, mtime_ns: i64) -> Task {
        Task {
            kind: Kind::New,
            root: RootId(1),
            found: Found {
                path: path.to_path_buf(),
                size,
                mtime_ns,
            },
        }
    }

    fn stat(path: &Path) -> (u64, i64) {
        let m = std::fs::metadata(path).unwrap();
        (m.len(), mtime_ns(&m))
    }

    #[test]
    fn a_readable_file_becomes_a_waiting_record_without_a_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("GUNAuto_Burst_HK_Lib.wav");
        std::fs::write(&path, wav_bytes()).unwrap();
        let (size, mtime) = stat(&path);
        match prepare(
            task(&path, size, mtime),
            &mut MissingByHash::new(),
            &HeldByHash::new(),
            None,
            &mut |_| {},
        ) {
            Prepared::Record {
                record, features, ..
            } => {
                assert_eq!(record.status, FileStatus::Waiting, "{:?}", record.error);
                assert!(features.is_none());
                assert_eq!(record.ucs_cat_id.as_deref(), Some("GUNAuto"));
                assert_eq!(record.duration_s, Some(0.1));
                assert_eq!(record.content_hash, Some(hash_file(&path).unwrap()));
            }
            _ => panic!("expected a record"),
        }
    }

    #[test]
    fn a_file_changed_since_the_walk_is_recorded_for_a_retry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        std::fs::write(&path, wav_bytes()).unwrap();
        let (size, mtime) = stat(&path);
        // The walk saw another size: the file changed between walk and read.
        match prepare(
            task(&path, size - 2, mtime),
            &mut MissingByHash::new(),
            &HeldByHash::new(),
            None,
            &mut |_| {},
        ) {
            Prepared::Record { record, .. } => {
                assert_eq!(record.status, FileStatus::Failed);
                assert!(record
                    .error
                    .as_deref()
                    .unwrap()
                    .contains("changed while being indexed"));
                // The walk's facts are kept, so the next run sees a change.
                assert_eq!(record.size, size - 2);
            }
            _ => panic!("expected a record"),
        }
    }

    #[test]
    fn a_file_deleted_since_the_walk_is_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.wav");
        match prepare(
            task(&path, 10, 0),
            &mut MissingByHash::new(),
            &HeldByHash::new(),
            None,
            &mut |_| {},
        ) {
            Prepared::Vanished { cause, .. } => assert!(cause.contains("deleted"), "{cause}"),
            _ => panic!("expected Vanished"),
        }
    }

    #[test]
    fn a_new_path_with_a_missing_file_s_content_is_a_move() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new name.wav");
        std::fs::write(&path, wav_bytes()).unwrap();
        let (size, mtime) = stat(&path);
        let old = FileState {
            id: hark_store::FileId(7),
            path: dir.path().join("old name.wav"),
            size,
            mtime_ns: mtime,
            content_hash: Some(hash_file(&path).unwrap()),
        };
        let mut missing = MissingByHash::new();
        missing.insert(old.content_hash.clone().unwrap(), vec![old.clone()]);
        match prepare(
            task(&path, size, mtime),
            &mut missing,
            &HeldByHash::new(),
            None,
            &mut |_| {},
        ) {
            Prepared::Moved { from, .. } => assert_eq!(from, old),
            _ => panic!("expected a move"),
        }
        // Claimed once: a second copy is a new file.
        match prepare(
            task(&path, size, mtime),
            &mut missing,
            &HeldByHash::new(),
            None,
            &mut |_| {},
        ) {
            Prepared::Record { .. } => {}
            _ => panic!("expected a record"),
        }
    }
}
