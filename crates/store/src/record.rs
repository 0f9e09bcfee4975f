//! The catalog's record of one file, as the indexer writes it: a
//! [`FileRecord`], the [`FileId`] the catalog gives it, the [`RootId`] of
//! the root it was found under, its [`FileStatus`] (the last two defined
//! once, in hark-types, for every crate), and its [`UcsFields`]. Plain data
//! with no SQL.

use std::path::PathBuf;

pub use hark_types::{FileId, FileStatus};

/// The id of a root folder in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RootId(pub i64);

/// Everything the catalog keeps about one file, as the indexer writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    /// The root the file was found under.
    pub root: RootId,
    /// The file's path (absolute, as walked under its root).
    pub path: PathBuf,
    /// Size in bytes when indexed.
    pub size: u64,
    /// Modification time when indexed, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// A hash of the content, to recognise a moved file; `None` if not
    /// computed (a failed read).
    pub content_hash: Option<Vec<u8>>,
    /// Container format (`wav`, `flac`, ...).
    pub format: Option<String>,
    /// Codec (`pcm_s24le`, `mp3`, ...).
    pub codec: Option<String>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Sample rate of the file, in Hz.
    pub sample_rate: Option<u32>,
    /// Channel count.
    pub channels: Option<u32>,
    /// Bits per sample, for PCM-like codecs.
    pub bits_per_sample: Option<u32>,
    /// Tag items in file order, keyed by source (`bext.Description`).
    pub tags: Vec<(String, String)>,
    /// UCS CatID of the file name, else of the tags (`DOORWood`); see
    /// [`UcsFields`].
    pub ucs_cat_id: Option<String>,
    /// UCS Category of the CatID (`DOORS`).
    pub ucs_category: Option<String>,
    /// UCS SubCategory of the CatID (`WOOD`).
    pub ucs_subcategory: Option<String>,
    /// UCS FXName block of the file name, else the FXNAME tag.
    pub ucs_fx_name: Option<String>,
    /// Waveform overview: (min, max) per bucket, on a ±127 scale.
    pub peaks: Vec<(i8, i8)>,
    /// Indexing status.
    pub status: FileStatus,
    /// Why indexing failed (for [`FileStatus::Failed`]).
    pub error: Option<String>,
}

/// A file's four UCS fields, as the catalog's `ucs_*` columns hold them.
/// The indexer derives them from the file's name, else its tags
/// (`hark_audio::file_ucs`); the catalog stores what it is given. They go
/// together: a rename or a new tag replaces all four.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UcsFields {
    /// The CatID (`DOORWood`).
    pub cat_id: Option<String>,
    /// Its Category (`DOORS`), when the CatID is a known one.
    pub category: Option<String>,
    /// Its SubCategory (`WOOD`), as for `category`.
    pub subcategory: Option<String>,
    /// The FXName.
    pub fx_name: Option<String>,
}

impl FileRecord {
    /// The record's UCS fields.
    pub fn ucs(&self) -> UcsFields {
        UcsFields {
            cat_id: self.ucs_cat_id.clone(),
            category: self.ucs_category.clone(),
            subcategory: self.ucs_subcategory.clone(),
            fx_name: self.ucs_fx_name.clone(),
        }
    }

    /// Replaces the record's UCS fields, all four.
    pub fn set_ucs(&mut self, ucs: UcsFields) {
        self.ucs_cat_id = ucs.cat_id;
        self.ucs_category = ucs.category;
        self.ucs_subcategory = ucs.subcategory;
        self.ucs_fx_name = ucs.fx_name;
    }

    /// A record with the change-detection facts set, no metadata, and
    /// status [`FileStatus::Waiting`].
    pub fn new(root: RootId, path: impl Into<PathBuf>, size: u64, mtime_ns: i64) -> Self {
        FileRecord {
            root,
            path: path.into(),
            size,
            mtime_ns,
            content_hash: None,
            format: None,
            codec: None,
            duration_s: None,
            sample_rate: None,
            channels: None,
            bits_per_sample: None,
            tags: Vec::new(),
            ucs_cat_id: None,
            ucs_category: None,
            ucs_subcategory: None,
            ucs_fx_name: None,
            peaks: Vec::new(),
            status: FileStatus::Waiting,
            error: None,
        }
    }
}
