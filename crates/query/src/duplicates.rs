//! Duplicates: groups of indexed files that hold the same sound, each with
//! a suggested keeper and, for every other member, how it relates to the
//! keeper and why. Read from the catalog's fingerprints and content hashes
//! (see hark-fingerprint's `groups` for how pairs are found); nothing is
//! ever deleted, moved or renamed.
//!
//! The keeper of a group is, in this order of preference: lossless over
//! lossy, then the higher sample rate, then the higher bit depth, then the
//! longer, then a UCS-categorised file (a UCS name, `CatID_FXName_...`, or
//! a UCS category in its tags), then the first path.

use std::cmp::Ordering;
use std::fmt;
use std::path::PathBuf;

use hark_fingerprint::{find_groups, Evidence, Fingerprint, Relation, Sound, Thresholds};
use hark_store::{Catalog, FingerprintedFile};
use hark_types::FileId;

use crate::Result;

/// How a member of a group relates to the group's keeper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CopyRelation {
    /// The keeper itself.
    Keeper,
    /// The same bytes.
    Exact,
    /// The same sound from start to end, in another container, codec,
    /// rate, depth, channel layout or gain.
    SameAudio,
    /// The same sound with a little cut at its start or end.
    Trimmed,
    /// An excerpt of the keeper, starting this many seconds into it.
    ContainedAt(f64),
    /// It holds the keeper, which starts this many seconds into it.
    ContainsAt(f64),
}

impl fmt::Display for CopyRelation {
    /// `keep`, `exact`, `same audio`, `trimmed`, `contained at 0:42`,
    /// `contains at 1:05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CopyRelation::Keeper => f.write_str("keep"),
            CopyRelation::Exact => f.write_str("exact"),
            CopyRelation::SameAudio => f.write_str("same audio"),
            CopyRelation::Trimmed => f.write_str("trimmed"),
            CopyRelation::ContainedAt(at) => write!(f, "contained at {}", clock(*at)),
            CopyRelation::ContainsAt(at) => write!(f, "contains at {}", clock(*at)),
        }
    }
}

impl CopyRelation {
    /// Where the excerpt starts in the longer file, in seconds.
    pub fn offset_s(&self) -> Option<f64> {
        match self {
            CopyRelation::ContainedAt(at) | CopyRelation::ContainsAt(at) => Some(*at),
            _ => None,
        }
    }
}

/// `0:42`, `1:02:03`: seconds as a clock, rounded down to the second.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    if s < 3600 {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// A file of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// Whether it is the suggested keeper.
    pub keep: bool,
    /// How it relates to the keeper (`to`, when it does not match the
    /// keeper directly).
    pub relation: CopyRelation,
    /// How much louder than the keeper (or `via`) it is, in dB, when its
    /// audio was compared.
    pub gain_db: Option<f32>,
    /// The member it was linked through, when it does not match the keeper
    /// directly (then `relation` is to that member).
    pub via: Option<PathBuf>,
    /// Why it is kept, or why it is a copy, in words.
    pub why: String,
    /// Container format, codec, duration, rate, depth and channels.
    pub format: Option<String>,
    /// Codec.
    pub codec: Option<String>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Bits per sample.
    pub bits_per_sample: Option<u32>,
    /// Channels.
    pub channels: Option<u32>,
}

/// Files holding the same sound: the keeper first, then the others in
/// keeper-preference order.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateGroup {
    /// The files.
    pub files: Vec<Copy>,
}

/// What [`duplicates`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Duplicates {
    /// The groups, by their keeper's path.
    pub groups: Vec<DuplicateGroup>,
    /// Files looked at.
    pub files: u64,
    /// Files among them without a fingerprint of this hark's format (an
    /// older index; `hark index` computes them): only their bytes were
    /// compared.
    pub unfingerprinted: u64,
    /// Pairs whose fingerprints were compared.
    pub compared: u64,
}

/// Whether a codec keeps every sample: PCM (but for the companded and
/// ADPCM ones), FLAC, ALAC, WavPack.
pub fn is_lossless(codec: Option<&str>) -> bool {
    let Some(codec) = codec else { return false };
    let codec = codec.to_ascii_lowercase();
    (codec.starts_with("pcm_") && !codec.contains("law"))
        || ["flac", "alac", "wavpack", "wv"].contains(&codec.as_str())
}

/// Orders files by keeper preference: the preferred first.
fn preference(a: &FingerprintedFile, b: &FingerprintedFile) -> Ordering {
    let lossless = |f: &FingerprintedFile| is_lossless(f.codec.as_deref());
    lossless(b)
        .cmp(&lossless(a))
        .then(b.sample_rate.cmp(&a.sample_rate))
        .then(b.bits_per_sample.cmp(&a.bits_per_sample))
        .then(
            b.duration_s
                .unwrap_or(0.0)
                .total_cmp(&a.duration_s.unwrap_or(0.0)),
        )
        .then(b.ucs_cat_id.is_some().cmp(&a.ucs_cat_id.is_some()))
        .then_with(|| a.path.cmp(&b.path))
}

/// Why `keeper` is preferred over the others of its group, in words.
fn why_kept(keeper: &FingerprintedFile, others: &[&FingerprintedFile]) -> String {
    let mut reasons = Vec::new();
    let lossless = is_lossless(keeper.codec.as_deref());
    if lossless && others.iter().any(|o| !is_lossless(o.codec.as_deref())) {
        reasons.push("lossless".to_string());
    }
    if others.iter().any(|o| o.sample_rate < keeper.sample_rate) {
        if let Some(rate) = keeper.sample_rate {
            reasons.push(format!("highest rate ({rate} Hz)"));
        }
    }
    if others
        .iter()
        .any(|o| o.bits_per_sample < keeper.bits_per_sample)
    {
        if let Some(bits) = keeper.bits_per_sample {
            reasons.push(format!("deepest ({bits}-bit)"));
        }
    }
    if others
        .iter()
        .any(|o| o.duration_s.unwrap_or(0.0) < keeper.duration_s.unwrap_or(0.0) - 0.005)
    {
        reasons.push("longest".into());
    }
    if keeper.ucs_cat_id.is_some() && others.iter().any(|o| o.ucs_cat_id.is_none()) {
        let name = keeper.path.file_name().unwrap_or_default();
        reasons.push(match hark_audio::parse_ucs(&name.to_string_lossy()) {
            Some(_) => "UCS-named".into(),
            None => "UCS category in its tags".into(),
        });
    }
    if reasons.is_empty() {
        "first by path among equals".into()
    } else {
        reasons.join(", ")
    }
}

/// Every readable indexed file under any of `under` (all when empty),
/// for [`duplicates`] or [`copies_of`].
pub fn read_files(catalog: &Catalog, under: &[PathBuf]) -> Result<Vec<FingerprintedFile>> {
    let mut files = Vec::new();
    catalog.fingerprinted_files(|f| {
        if under.is_empty() || under.iter().any(|root| f.path.starts_with(root)) {
            files.push(f);
        }
    })?;
    Ok(files)
}

/// Finds the groups of copies among `files`.
pub fn duplicates(files: Vec<FingerprintedFile>) -> Duplicates {
    group_files(files, None)
}

/// What [`copies_of`] found for one file.
#[derive(Debug, Clone, PartialEq)]
pub struct CopiesOf {
    /// The group as seen from the file: the file itself and the files that
    /// match it directly (or have its bytes), keeper first. Empty when it
    /// has no copy.
    pub files: Vec<Copy>,
    /// Whether the file has a fingerprint of this hark's format. Without
    /// one (an older index; `hark index` computes it), only the files with
    /// its bytes are found.
    pub fingerprinted: bool,
}

/// The copies of the file `id` among `files`; `None` when it is not among
/// them.
pub fn copies_of(files: Vec<FingerprintedFile>, id: FileId) -> Option<CopiesOf> {
    let file = files.iter().find(|f| f.id == id)?;
    let fingerprinted = file
        .fingerprint
        .as_deref()
        .and_then(Fingerprint::from_bytes)
        .is_some();
    let files = group_files(files, Some(id))
        .groups
        .into_iter()
        .find(|g| g.files.iter().any(|c| c.id == id))
        .map(|g| g.files)
        .unwrap_or_default();
    Some(CopiesOf {
        files,
        fingerprinted,
    })
}

/// Groups `files`: all of them, or the one with id `focus` against the rest.
fn group_files(mut files: Vec<FingerprintedFile>, focus: Option<FileId>) -> Duplicates {
    files.sort_by(preference);
    // Each file's stored bytes are dropped as they are read: the bytes
    // and their decoded form are never both held for the whole library.
    let prints: Vec<Option<Fingerprint>> = files
        .iter_mut()
        .map(|f| {
            f.fingerprint
                .take()
                .as_deref()
                .and_then(Fingerprint::from_bytes)
        })
        .collect();
    let unfingerprinted = prints.iter().filter(|p| p.is_none()).count() as u64;
    let sounds: Vec<Sound<'_>> = files
        .iter()
        .zip(&prints)
        .map(|(f, p)| Sound {
            fingerprint: p.as_ref(),
            content: f.content_hash.as_deref(),
        })
        .collect();
    let focus = focus.and_then(|id| files.iter().position(|f| f.id == id));
    let (found, work) = find_groups(&sounds, &Thresholds::default(), focus);
    let mut groups: Vec<DuplicateGroup> = found
        .into_iter()
        .map(|g| {
            let keeper = &files[g.keeper];
            let others: Vec<&FingerprintedFile> = g.members.iter().map(|m| &files[m.sound]).collect();
            let mut copies = vec![copy(keeper, CopyRelation::Keeper, None, None, why_kept(keeper, &others))];
            for m in &g.members {
                let file = &files[m.sound];
                let via = (m.to != g.keeper).then(|| files[m.to].path.clone());
                let (relation, gain, why) = match &m.evidence {
                    Evidence::Exact => (CopyRelation::Exact, None, "the same bytes (content hash)".to_string()),
                    Evidence::Audio(x) => {
                        let relation = match x.relation {
                            Relation::SameAudio => CopyRelation::SameAudio,
                            Relation::Trimmed => CopyRelation::Trimmed,
                            Relation::ContainedAt(at) => CopyRelation::ContainedAt(at),
                            Relation::ContainsAt(at) => CopyRelation::ContainsAt(at),
                        };
                        let why = format!(
                            "fingerprints agree: {:.0}% of code bits differ (at most {:.0}%), loudness envelope within {:.2} dB, {}",
                            x.bit_errors * 100.0,
                            Thresholds::default().max_bit_errors * 100.0,
                            x.envelope_db,
                            loudness(x.gain_db),
                        );
                        (relation, Some(x.gain_db), why)
                    }
                };
                let why = match &via {
                    Some(through) => format!(
                        "{why}; it does not match the keeper directly but `{}`, which does",
                        through.display()
                    ),
                    None => why,
                };
                copies.push(copy(file, relation, gain, via, why));
            }
            DuplicateGroup { files: copies }
        })
        .collect();
    groups.sort_by(|a, b| a.files[0].path.cmp(&b.files[0].path));
    Duplicates {
        groups,
        files: files.len() as u64,
        unfingerprinted,
        compared: work.compared,
    }
}

/// `6.0 dB quieter`, `2.5 dB louder`, `the same level`.
fn loudness(gain_db: f32) -> String {
    if gain_db.abs() < 0.5 {
        "the same level".into()
    } else if gain_db < 0.0 {
        format!("{:.1} dB quieter", -gain_db)
    } else {
        format!("{gain_db:.1} dB louder")
    }
}

fn copy(
    f: &FingerprintedFile,
    relation: CopyRelation,
    gain_db: Option<f32>,
    via: Option<PathBuf>,
    why: String,
) -> Copy {
    Copy {
        id: f.id,
        path: f.path.clone(),
        keep: relation == CopyRelation::Keeper,
        relation,
        gain_db,
        via,
        why,
        format: f.format.clone(),
        codec: f.codec.clone(),
        duration_s: f.duration_s,
        sample_rate: f.sample_rate,
        bits_per_sample: f.bits_per_sample,
        channels: f.channels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(
        path: &str,
        codec: &str,
        rate: u32,
        bits: Option<u32>,
        dur: f64,
        ucs: bool,
    ) -> FingerprintedFile {
        FingerprintedFile {
            id: FileId(0),
            path: path.into(),
            content_hash: None,
            format: None,
            codec: Some(codec.into()),
            duration_s: Some(dur),
            sample_rate: Some(rate),
            channels: Some(2),
            bits_per_sample: bits,
            ucs_cat_id: ucs.then(|| "DOORWood".into()),
            fingerprint: None,
        }
    }

    #[test]
    fn the_keeper_rule_in_order() {
        let mut files = [
            file("/z/lossy-96k.mp3", "mp3", 96_000, None, 2.0, true),
            file("/z/b.wav", "pcm_s16le", 44_100, Some(16), 2.0, false),
            file("/z/a.wav", "pcm_s16le", 44_100, Some(16), 2.0, false),
            file(
                "/z/DOORWood_Creak.wav",
                "pcm_s16le",
                44_100,
                Some(16),
                2.0,
                true,
            ),
            file("/z/longer.wav", "pcm_s16le", 44_100, Some(16), 2.5, false),
            file("/z/deeper.wav", "pcm_s24le", 44_100, Some(24), 1.0, false),
            file("/z/faster.flac", "flac", 48_000, Some(16), 1.0, false),
        ];
        files.sort_by(preference);
        let order: Vec<&str> = files.iter().map(|f| f.path.to_str().unwrap()).collect();
        assert_eq!(
            order,
            [
                "/z/faster.flac",
                "/z/deeper.wav",
                "/z/longer.wav",
                "/z/DOORWood_Creak.wav",
                "/z/a.wav",
                "/z/b.wav",
                "/z/lossy-96k.mp3",
            ]
        );
        assert!(is_lossless(Some("pcm_f32le")) && is_lossless(Some("alac")));
        assert!(
            !is_lossless(Some("pcm_mulaw")) && !is_lossless(Some("vorbis")) && !is_lossless(None)
        );
    }

    /// A sound of `frames` random codes with an attack and a decay.
    fn sound(seed: u64, frames: usize) -> Fingerprint {
        let mut x = seed;
        let mut next = move || {
            // splitmix64
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let z = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Fingerprint {
            onset: 0,
            codes: (0..frames).map(|_| next() as u16).collect(),
            loudness: (0..frames)
                .map(|f| if f < 2 { 150 } else { 170 - (f / 4) as u8 })
                .collect(),
        }
    }

    fn stored(
        mut f: FingerprintedFile,
        id: i64,
        bytes: &str,
        fp: Option<&Fingerprint>,
    ) -> FingerprintedFile {
        f.id = FileId(id);
        f.content_hash = Some(bytes.as_bytes().to_vec());
        f.fingerprint = fp.map(Fingerprint::to_bytes);
        f
    }

    #[test]
    fn the_copies_of_one_file_and_whether_it_has_a_fingerprint() {
        let original = sound(1, 300);
        let mut lossy = original.clone();
        for (i, code) in lossy.codes.iter_mut().enumerate().step_by(9) {
            *code ^= 1 << (i % 16);
        }
        for level in &mut lossy.loudness {
            *level -= 12;
        }
        let files = vec![
            stored(
                file("/z/a.wav", "pcm_s24le", 48_000, Some(24), 3.0, false),
                1,
                "a",
                Some(&original),
            ),
            stored(
                file("/z/a.mp3", "mp3", 48_000, None, 3.0, false),
                2,
                "m",
                Some(&lossy),
            ),
            stored(
                file("/z/b/a.wav", "pcm_s24le", 48_000, Some(24), 3.0, false),
                3,
                "a",
                None,
            ),
            stored(
                file("/z/c.wav", "pcm_s24le", 48_000, Some(24), 3.0, false),
                4,
                "c",
                Some(&sound(2, 300)),
            ),
        ];
        let relations = |c: &CopiesOf| -> Vec<(String, String)> {
            c.files
                .iter()
                .map(|f| (f.path.display().to_string(), f.relation.to_string()))
                .collect()
        };
        let of_original = copies_of(files.clone(), FileId(1)).expect("indexed");
        assert!(of_original.fingerprinted);
        assert_eq!(
            relations(&of_original),
            [
                ("/z/a.wav", "keep"),
                ("/z/b/a.wav", "exact"),
                ("/z/a.mp3", "same audio")
            ]
            .map(|(p, r)| (p.to_string(), r.to_string()))
        );
        assert_eq!(
            copies_of(files.clone(), FileId(2)).map(|c| relations(&c)),
            Some(
                [("/z/a.wav", "keep"), ("/z/a.mp3", "same audio")]
                    .map(|(p, r)| (p.to_string(), r.to_string()))
                    .to_vec()
            )
        );
        // Without a fingerprint, only its bytes are looked for.
        let unprinted = copies_of(files.clone(), FileId(3)).expect("indexed");
        assert!(!unprinted.fingerprinted);
        assert_eq!(
            relations(&unprinted),
            [("/z/a.wav", "keep"), ("/z/b/a.wav", "exact")]
                .map(|(p, r)| (p.to_string(), r.to_string()))
        );
        let alone = copies_of(files.clone(), FileId(4)).expect("indexed");
        assert!(alone.fingerprinted && alone.files.is_empty(), "{alone:?}");
        assert_eq!(copies_of(files, FileId(9)), None);
    }

    #[test]
    fn a_keeper_categorised_by_name_or_by_tags_says_which() {
        let plain = file("/z/b.wav", "pcm_s16le", 44_100, Some(16), 2.0, false);
        let named = file(
            "/z/DOORWood_Creak_JD_Lib.wav",
            "pcm_s16le",
            44_100,
            Some(16),
            2.0,
            true,
        );
        let tagged = file("/z/a.wav", "pcm_s16le", 44_100, Some(16), 2.0, true);
        assert_eq!(why_kept(&named, &[&plain]), "UCS-named");
        assert_eq!(why_kept(&tagged, &[&plain]), "UCS category in its tags");
        assert_eq!(why_kept(&tagged, &[&named]), "first by path among equals");
    }

    #[test]
    fn relations_read_as_the_cli_prints_them() {
        assert_eq!(
            CopyRelation::ContainedAt(42.7).to_string(),
            "contained at 0:42"
        );
        assert_eq!(
            CopyRelation::ContainsAt(3725.0).to_string(),
            "contains at 1:02:05"
        );
        assert_eq!(CopyRelation::SameAudio.to_string(), "same audio");
        assert_eq!(CopyRelation::ContainedAt(1.5).offset_s(), Some(1.5));
    }
}
