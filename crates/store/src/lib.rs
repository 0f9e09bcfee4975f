//! The catalog of a hark index: which files exist, what they say about
//! themselves, their CLAP vectors, and a full-text index over their names,
//! folders and tags, in one SQLite file.
//!
//! A cron job re-indexes while a terminal UI left open all day searches, so
//! the catalog must give many readers a consistent view while one writer
//! commits, across processes, and survive being killed at any moment. SQLite
//! in WAL mode does exactly that (see `index-format.md` and design.md).
//!
//! # Brief overview
//!
//! [`Catalog::open`] creates or opens `<index dir>/catalog.sqlite3` for
//! writing, upgrading its schema ([`SCHEMA_VERSION`]) if it is older;
//! [`Catalog::open_readonly`] is for search and the UI. All access goes
//! through a [`Tx`]: [`Catalog::transaction`] runs a closure in one write
//! transaction, committed if it returns `Ok` (the indexer commits a batch of
//! files per transaction), and [`Catalog::read`] in one read snapshot. The
//! `Catalog` methods of the same names as `Tx`'s reads are shorthands for a
//! one-call snapshot.
//!
//! A file is a [`FileRecord`]: its path (stored as the OS's bytes, so
//! non-UTF-8 names survive), size and mtime for change detection, a content
//! hash for rename detection, format facts, tags, UCS fields, waveform peaks
//! and a [`FileStatus`]. [`Tx::upsert_file`] stores one and keeps the
//! full-text row in step; [`Tx::set_vector`] attaches its embedding, tagged
//! with the model and pipeline that made it; [`Tx::move_file`] renames it
//! without losing the vector. [`Tx::fts_search`] ranks files by BM25 over
//! the words of [`name_tokens`], and [`Tx::vectors`] streams every vector of
//! a model for the nearest-neighbour search.
//!
//! Every vector write and delete is numbered (schema version 2, the vector
//! sequence), which lets the [`ann`] module keep an HNSW graph beside the
//! catalog as a rebuildable cache: [`ann::refresh_ann`] (the indexer, after
//! each run) builds or refreshes it, and [`ann::VectorSearcher`] (search and
//! the UI) answers top-k queries from it, or by an exact scan below
//! [`ann::EXACT_THRESHOLD`] vectors.

#![warn(missing_docs)]

pub mod ann;
pub mod columns;
mod error;
pub mod lookup;
mod schema;
mod tokens;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub use error::{Error, Result};
pub use schema::SCHEMA_VERSION;
pub use tokens::{name_tokens, split_words};

/// The catalog's file name inside the index directory.
pub const FILE_NAME: &str = "catalog.sqlite3";

/// How long a connection waits for a lock before failing. Readers in WAL
/// mode take no lock a writer holds; this covers the moments around a
/// checkpoint and a second writer waiting its turn.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// BM25 weights of the full-text columns: a word in the file name counts
/// more than one in its folders, which counts more than one in its tags.
const BM25_WEIGHTS: (f64, f64, f64) = (10.0, 3.0, 1.0);

pub use hark_types::{FileId, FileStatus};

/// The id of one vector in the catalog, a *point* of the vector space: a
/// file's whole-file vector (segment 0) or one moment of a long file
/// (segment 1 on). It is `file_id * 2^20 + segment` (schema V3), so the
/// file of any point is known without a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PointId(pub i64);

impl PointId {
    /// Bits of a point id that hold the segment.
    pub const SEGMENT_BITS: u32 = 20;
    /// Segments a file can have, the whole-file one included.
    pub const MAX_SEGMENTS: u32 = 1 << Self::SEGMENT_BITS;

    /// The point of a file's whole-file vector.
    pub fn whole(file: FileId) -> PointId {
        PointId(file.0 << Self::SEGMENT_BITS)
    }

    /// The point of segment `segment` of `file` (0 is the whole file).
    /// `segment` must be below [`PointId::MAX_SEGMENTS`].
    pub fn new(file: FileId, segment: u32) -> PointId {
        debug_assert!(segment < Self::MAX_SEGMENTS);
        PointId((file.0 << Self::SEGMENT_BITS) | i64::from(segment & (Self::MAX_SEGMENTS - 1)))
    }

    /// The file the point belongs to.
    pub fn file(self) -> FileId {
        FileId(self.0 >> Self::SEGMENT_BITS)
    }

    /// Its segment: 0 for the whole file, from 1 for a moment.
    pub fn segment(self) -> u32 {
        (self.0 & i64::from(Self::MAX_SEGMENTS - 1)) as u32
    }

    /// Whether this is a moment rather than the whole file.
    pub fn is_moment(self) -> bool {
        self.segment() != 0
    }
}

/// The vector of one moment of a long file: the stretch from `start_s` to
/// `end_s` seconds, embedded on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentVector {
    /// Where the moment starts, in seconds from the start of the file.
    pub start_s: f64,
    /// Where it ends.
    pub end_s: f64,
    /// Its vector.
    pub data: Vec<f32>,
}

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
    /// UCS CatID parsed from the file name (`DOORWood`).
    pub ucs_cat_id: Option<String>,
    /// UCS Category of the CatID (`DOORS`).
    pub ucs_category: Option<String>,
    /// UCS SubCategory of the CatID (`WOOD`).
    pub ucs_subcategory: Option<String>,
    /// UCS FXName block of the file name.
    pub ucs_fx_name: Option<String>,
    /// Waveform overview: (min, max) per bucket, on a ±127 scale.
    pub peaks: Vec<(i8, i8)>,
    /// Indexing status.
    pub status: FileStatus,
    /// Why indexing failed (for [`FileStatus::Failed`]).
    pub error: Option<String>,
}

impl FileRecord {
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

/// A file as stored: its record plus what the catalog assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    /// The file's id.
    pub id: FileId,
    /// When the record was last written, seconds since the Unix epoch.
    pub indexed_at: i64,
    /// The record.
    pub record: FileRecord,
}

/// The facts change detection compares against the file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// Size in bytes when indexed.
    pub size: u64,
    /// Modification time when indexed, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Content hash when indexed.
    pub content_hash: Option<Vec<u8>>,
}

/// A root folder of the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// Its id.
    pub id: RootId,
    /// Its path, as added.
    pub path: PathBuf,
    /// When it was added, seconds since the Unix epoch.
    pub added_at: i64,
}

/// A stored vector with the identity of what made it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVector {
    /// Model identity (hub id and revision, or directory).
    pub model: String,
    /// Embedding pipeline version (`hark-clap-1`).
    pub pipeline: String,
    /// The vector.
    pub data: Vec<f32>,
}

/// File counts for `hark status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// All files in the catalog.
    pub files: u64,
    /// Files with a whole-file vector (of any model).
    pub embedded: u64,
    /// Moment vectors of long files (see [`PointId`]).
    pub moments: u64,
    /// Files with status [`FileStatus::Waiting`].
    pub waiting: u64,
    /// Files with status [`FileStatus::Failed`].
    pub failed: u64,
}

/// A file that failed to index, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedFile {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// The cause recorded.
    pub error: String,
}

/// A full-text match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FtsHit {
    /// The matching file.
    pub id: FileId,
    /// Negated FTS5 `bm25()`: higher is a better match.
    pub score: f64,
}

/// An open catalog: one SQLite connection.
pub struct Catalog {
    conn: Connection,
    path: PathBuf,
    writable: bool,
}

impl Catalog {
    /// Opens `<dir>/catalog.sqlite3` for reading and writing, creating the
    /// directory and the catalog if needed and upgrading an older schema.
    /// A catalog from a newer hark is refused with [`Error::TooNew`].
    pub fn open(dir: &Path) -> Result<Catalog> {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let open = |what| {
            let path = path.clone();
            move |source| Error::Open { path, what, source }
        };
        let mut conn = Connection::open(&path).map_err(open("open the file"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(open("set busy_timeout"))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(open("set journal_mode=WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::NoWal { path, mode });
        }
        // In WAL mode, NORMAL syncs the WAL at checkpoints, not at every
        // commit: a process crash (kill -9) loses nothing committed, and a
        // power loss can roll back only the last transactions, never
        // corrupt the file. FULL would fsync every batch for no safety the
        // indexer needs, since it redoes uncommitted work on the next run.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open("set synchronous=NORMAL"))?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open("set foreign_keys=ON"))?;
        schema::migrate(&mut conn, &path)?;
        Ok(Catalog {
            conn,
            path,
            writable: true,
        })
    }

    /// Opens `<dir>/catalog.sqlite3` read-only, for search and the UI.
    /// Fails with [`Error::Missing`] if there is none, and with
    /// [`Error::TooOld`] or [`Error::TooNew`] unless its schema is
    /// [`SCHEMA_VERSION`] (only a writer may upgrade).
    pub fn open_readonly(dir: &Path) -> Result<Catalog> {
        let path = dir.join(FILE_NAME);
        if !path.is_file() {
            return Err(Error::Missing { path });
        }
        let open = |what| {
            let path = path.clone();
            move |source| Error::Open { path, what, source }
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open("open the file"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(open("set busy_timeout"))?;
        let found = schema::version(&conn).map_err(open("read the schema version"))?;
        if found > SCHEMA_VERSION {
            return Err(Error::TooNew {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            return Err(Error::TooOld {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(Catalog {
            conn,
            path,
            writable: false,
        })
    }

    /// The catalog file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one write transaction, committed if `f` returns `Ok`
    /// and rolled back otherwise. Takes the write lock at the start
    /// (`BEGIN IMMEDIATE`), waiting up to the busy timeout for another
    /// writer; readers are never blocked and see none of it until commit.
    pub fn transaction<T, E: From<Error>>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        if !self.writable {
            return Err(Error::ReadOnly {
                path: self.path.clone(),
                what: "begin a write transaction",
            }
            .into());
        }
        let sqlite = |what| {
            let path = self.path.clone();
            move |source| Error::Sqlite { path, what, source }
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite("begin a write transaction"))?;
        let value = f(&Tx {
            conn: &tx,
            path: &self.path,
            writable: true,
        })?;
        tx.commit().map_err(sqlite("commit"))?;
        Ok(value)
    }

    /// Runs `f` on one consistent snapshot of the catalog: everything it
    /// reads is as of the same commit, whatever a writer does meanwhile.
    /// The `Tx` refuses writes with [`Error::ReadOnly`].
    pub fn read<T, E: From<Error>>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        let sqlite = |what| {
            let path = self.path.clone();
            move |source| Error::Sqlite { path, what, source }
        };
        // `transaction` takes `&mut self`, so no write transaction can be
        // open here; a `read` nested in another fails cleanly in SQLite
        // ("cannot start a transaction within a transaction").
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(sqlite("begin a read transaction"))?;
        let value = f(&Tx {
            conn: &tx,
            path: &self.path,
            writable: false,
        })?;
        tx.finish().map_err(sqlite("end a read transaction"))?;
        Ok(value)
    }

    /// [`Tx::roots`] in its own snapshot.
    pub fn roots(&self) -> Result<Vec<Root>> {
        self.read(|tx| tx.roots())
    }

    /// [`Tx::file_by_path`] in its own snapshot.
    pub fn file_by_path(&self, path: &Path) -> Result<Option<StoredFile>> {
        self.read(|tx| tx.file_by_path(path))
    }

    /// [`Tx::files_under_root`] in its own snapshot.
    pub fn files_under_root(&self, root: RootId) -> Result<Vec<FileState>> {
        self.read(|tx| tx.files_under_root(root))
    }

    /// [`Tx::files_waiting_for_vectors`] in its own snapshot.
    pub fn files_waiting_for_vectors(
        &self,
        model: &str,
        pipeline: &str,
    ) -> Result<Vec<(FileId, PathBuf)>> {
        self.read(|tx| tx.files_waiting_for_vectors(model, pipeline))
    }

    /// [`Tx::vector`] in its own snapshot.
    pub fn vector(&self, id: FileId) -> Result<Option<StoredVector>> {
        self.read(|tx| tx.vector(id))
    }

    /// [`Tx::vectors`] in its own snapshot.
    pub fn vectors(
        &self,
        model: &str,
        pipeline: &str,
        f: impl FnMut(PointId, &[f32]),
    ) -> Result<()> {
        self.read(|tx| tx.vectors(model, pipeline, f))
    }

    /// [`Tx::fts_search`] in its own snapshot.
    pub fn fts_search(&self, query: &str, limit: usize) -> Result<Vec<FtsHit>> {
        self.read(|tx| tx.fts_search(query, limit))
    }

    /// [`Tx::counts`] in its own snapshot.
    pub fn counts(&self) -> Result<Counts> {
        self.read(|tx| tx.counts())
    }

    /// [`Tx::files_per_root`] in its own snapshot.
    pub fn files_per_root(&self) -> Result<Vec<(RootId, u64)>> {
        self.read(|tx| tx.files_per_root())
    }

    /// [`Tx::failed_files`] in its own snapshot.
    pub fn failed_files(&self) -> Result<Vec<FailedFile>> {
        self.read(|tx| tx.failed_files())
    }

    /// [`Tx::meta`] in its own snapshot.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read(|tx| tx.meta(key))
    }

    /// SQLite's `PRAGMA data_version` on this connection: it changes when
    /// another connection commits, so a long-lived reader can tell cheaply
    /// whether to look for new vectors.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|source| Error::Sqlite {
                path: self.path.clone(),
                what: "read data_version",
                source,
            })
    }

    /// Drops tombstones numbered `through` or below, recording first that
    /// they are gone, so a reader whose snapshot predates them knows to
    /// reload in full instead of trusting an incomplete list.
    pub(crate) fn prune_tombstones(&self, through: i64) -> Result<()> {
        let sqlite = |what| {
            let path = self.path.clone();
            move |source| Error::Sqlite { path, what, source }
        };
        if !self.writable {
            return Err(Error::ReadOnly {
                path: self.path.clone(),
                what: "prune vector tombstones",
            });
        }
        // `&self` cannot use `transaction`; and no `Tx` can be alive here,
        // since `transaction` borrows the catalog mutably.
        self.conn
            .execute_batch(&format!(
                "BEGIN IMMEDIATE;
                 UPDATE vector_seq SET pruned_through = max(pruned_through, {through}) WHERE id = 0;
                 DELETE FROM vector_tombstones WHERE seq <= {through};
                 COMMIT;"
            ))
            .inspect_err(|_| {
                let _ = self.conn.execute_batch("ROLLBACK");
            })
            .map_err(sqlite("prune vector tombstones"))
    }

    /// Opens a catalog at an older schema version, for upgrade tests.
    #[cfg(test)]
    fn create_at_version(dir: &Path, version: u32) -> Result<Connection> {
        let path = dir.join(FILE_NAME);
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        schema::migrate_to(&mut conn, &path, version)?;
        Ok(conn)
    }
}

/// A transaction on the catalog, given to the closures of
/// [`Catalog::transaction`] (read-write) and [`Catalog::read`] (read-only).
pub struct Tx<'a> {
    conn: &'a Connection,
    path: &'a Path,
    writable: bool,
}

impl Tx<'_> {
    fn err(&self, what: &'static str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
        move |source| Error::Sqlite {
            path: self.path.to_owned(),
            what,
            source,
        }
    }

    fn check_writable(&self, what: &'static str) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(Error::ReadOnly {
                path: self.path.to_owned(),
                what,
            })
        }
    }

    fn corrupt(&self, what: String) -> Error {
        Error::Corrupt {
            path: self.path.to_owned(),
            what,
        }
    }

    /// Adds a root folder, or finds it if already added, and returns its
    /// id. The path is stored as given; callers pass it canonicalised.
    pub fn add_root(&self, path: &Path) -> Result<RootId> {
        self.check_writable("add a root")?;
        let bytes = path_to_bytes(path);
        self.conn
            .execute(
                "INSERT INTO roots (path, added_at) VALUES (?1, unixepoch())
                 ON CONFLICT (path) DO NOTHING",
                [&bytes],
            )
            .map_err(self.err("add a root"))?;
        self.conn
            .query_row("SELECT id FROM roots WHERE path = ?1", [&bytes], |r| {
                r.get(0).map(RootId)
            })
            .map_err(self.err("add a root"))
    }

    /// All roots, in the order added.
    pub fn roots(&self) -> Result<Vec<Root>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, path, added_at FROM roots ORDER BY id")
            .map_err(self.err("list roots"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Root {
                    id: RootId(r.get(0)?),
                    path: bytes_to_path(r.get(1)?),
                    added_at: r.get(2)?,
                })
            })
            .map_err(self.err("list roots"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err("list roots"))
    }

    /// Inserts a file, or updates the one with the same path (keeping its
    /// id), and refreshes its full-text row. If the file had a vector and
    /// its content hash changed (or either hash is unknown), the vector is
    /// deleted: it described other content. Call [`Tx::set_vector`] after
    /// this, not before.
    pub fn upsert_file(&self, file: &FileRecord) -> Result<FileId> {
        const WHAT: &str = "store a file";
        self.check_writable(WHAT)?;
        let path = path_to_bytes(&file.path);
        let old: Option<(i64, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT id, content_hash FROM files WHERE path = ?1",
                [&path],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err(WHAT))?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO files (root_id, path, path_text, size, mtime_ns, content_hash,
                    format, codec, duration_s, sample_rate, channels, bits_per_sample, tags,
                    ucs_cat_id, ucs_category, ucs_subcategory, ucs_fx_name, peaks, status,
                    error, indexed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                    ?16, ?17, ?18, ?19, ?20, unixepoch())
                 ON CONFLICT (path) DO UPDATE SET
                    root_id = excluded.root_id, path_text = excluded.path_text,
                    size = excluded.size, mtime_ns = excluded.mtime_ns,
                    content_hash = excluded.content_hash, format = excluded.format,
                    codec = excluded.codec, duration_s = excluded.duration_s,
                    sample_rate = excluded.sample_rate, channels = excluded.channels,
                    bits_per_sample = excluded.bits_per_sample, tags = excluded.tags,
                    ucs_cat_id = excluded.ucs_cat_id, ucs_category = excluded.ucs_category,
                    ucs_subcategory = excluded.ucs_subcategory,
                    ucs_fx_name = excluded.ucs_fx_name, peaks = excluded.peaks,
                    status = excluded.status, error = excluded.error,
                    indexed_at = excluded.indexed_at
                 RETURNING id",
            )
            .map_err(self.err(WHAT))?;
        let id: i64 = stmt
            .query_row(
                params![
                    file.root.0,
                    path,
                    file.path.to_string_lossy(),
                    file.size as i64,
                    file.mtime_ns,
                    file.content_hash,
                    file.format,
                    file.codec,
                    file.duration_s,
                    file.sample_rate,
                    file.channels,
                    file.bits_per_sample,
                    tags_to_json(&file.tags),
                    file.ucs_cat_id,
                    file.ucs_category,
                    file.ucs_subcategory,
                    file.ucs_fx_name,
                    peaks_to_bytes(&file.peaks),
                    file.status.as_str(),
                    file.error,
                ],
                |r| r.get(0),
            )
            .map_err(self.err(WHAT))?;
        if let Some((_, old_hash)) = old {
            if old_hash.is_none() || file.content_hash.is_none() || old_hash != file.content_hash {
                self.conn
                    .execute("DELETE FROM vectors WHERE file_id = ?1", [id])
                    .map_err(self.err(WHAT))?;
            }
        }
        self.refresh_fts(FileId(id))?;
        Ok(FileId(id))
    }

    /// Rewrites a file's full-text row from its stored path, root and tags.
    fn refresh_fts(&self, id: FileId) -> Result<()> {
        const WHAT: &str = "update the full-text index";
        let (path, root, tags): (Vec<u8>, Vec<u8>, String) = self
            .conn
            .query_row(
                "SELECT f.path, r.path,
                    concat_ws(' ', f.ucs_category, f.ucs_subcategory,
                        (SELECT group_concat(json_extract(value, '$[1]'), ' ')
                         FROM json_each(f.tags)))
                 FROM files f JOIN roots r ON r.id = f.root_id WHERE f.id = ?1",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(self.err(WHAT))?;
        let path = bytes_to_path(path);
        let root = bytes_to_path(root);
        let name = path
            .file_name()
            .map(|n| name_tokens(&n.to_string_lossy()))
            .unwrap_or_default();
        let folder = folder_tokens(&root, &path);
        self.conn
            .execute("DELETE FROM files_fts WHERE rowid = ?1", [id.0])
            .map_err(self.err(WHAT))?;
        self.conn
            .execute(
                "INSERT INTO files_fts (rowid, name, folder, tags) VALUES (?1, ?2, ?3, ?4)",
                params![id.0, name, folder, tags],
            )
            .map_err(self.err(WHAT))?;
        Ok(())
    }

    /// The stored file at `path`, if any.
    pub fn file_by_path(&self, path: &Path) -> Result<Option<StoredFile>> {
        const WHAT: &str = "read a file";
        let row = self
            .conn
            .query_row(
                "SELECT id, indexed_at, root_id, path, size, mtime_ns, content_hash, format,
                    codec, duration_s, sample_rate, channels, bits_per_sample, tags,
                    ucs_cat_id, ucs_category, ucs_subcategory, ucs_fx_name, peaks, status, error
                 FROM files WHERE path = ?1",
                [path_to_bytes(path)],
                |r| {
                    let size: i64 = r.get(4)?;
                    let status: String = r.get(19)?;
                    let tags: String = r.get(13)?;
                    let peaks: Option<Vec<u8>> = r.get(18)?;
                    let mut record = FileRecord::new(
                        RootId(r.get(2)?),
                        bytes_to_path(r.get(3)?),
                        size as u64,
                        r.get(5)?,
                    );
                    record.content_hash = r.get(6)?;
                    record.format = r.get(7)?;
                    record.codec = r.get(8)?;
                    record.duration_s = r.get(9)?;
                    record.sample_rate = r.get(10)?;
                    record.channels = r.get(11)?;
                    record.bits_per_sample = r.get(12)?;
                    record.ucs_cat_id = r.get(14)?;
                    record.ucs_category = r.get(15)?;
                    record.ucs_subcategory = r.get(16)?;
                    record.ucs_fx_name = r.get(17)?;
                    record.peaks = bytes_to_peaks(&peaks.unwrap_or_default());
                    record.error = r.get(20)?;
                    Ok((FileId(r.get(0)?), r.get(1)?, record, status, tags))
                },
            )
            .optional()
            .map_err(self.err(WHAT))?;
        let Some((id, indexed_at, mut record, status, tags)) = row else {
            return Ok(None);
        };
        record.status = FileStatus::parse(&status)
            .ok_or_else(|| self.corrupt(format!("file {} has status `{status}`", id.0)))?;
        record.tags = self.tags_from_json(&tags)?;
        Ok(Some(StoredFile {
            id,
            indexed_at,
            record,
        }))
    }

    /// Decodes the `tags` column with SQLite's JSON functions.
    fn tags_from_json(&self, json: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                 FROM json_each(?1) ORDER BY key",
            )
            .map_err(self.err("read tags"))?;
        let rows = stmt
            .query_map([json], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err("read tags"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err("read tags"))
    }

    /// The change-detection facts of every file under a root.
    pub fn files_under_root(&self, root: RootId) -> Result<Vec<FileState>> {
        const WHAT: &str = "list a root's files";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, path, size, mtime_ns, content_hash FROM files WHERE root_id = ?1",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([root.0], |r| {
                let size: i64 = r.get(2)?;
                Ok(FileState {
                    id: FileId(r.get(0)?),
                    path: bytes_to_path(r.get(1)?),
                    size: size as u64,
                    mtime_ns: r.get(3)?,
                    content_hash: r.get(4)?,
                })
            })
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Removes files, their vectors and their full-text rows; returns how
    /// many existed.
    pub fn remove_files(&self, ids: &[FileId]) -> Result<usize> {
        const WHAT: &str = "remove files";
        self.check_writable(WHAT)?;
        let mut removed = 0;
        for id in ids {
            self.conn
                .execute("DELETE FROM files_fts WHERE rowid = ?1", [id.0])
                .map_err(self.err(WHAT))?;
            // The vector goes with it: ON DELETE CASCADE.
            removed += self
                .conn
                .execute("DELETE FROM files WHERE id = ?1", [id.0])
                .map_err(self.err(WHAT))?;
        }
        Ok(removed)
    }

    /// Records that a file moved to `new_path` (same content), keeping its
    /// id, metadata and vector. The root becomes the known root that
    /// contains `new_path` most closely; [`Error::NotUnderRoot`] if none.
    pub fn move_file(&self, id: FileId, new_path: &Path) -> Result<()> {
        const WHAT: &str = "move a file";
        self.check_writable(WHAT)?;
        let root = self
            .roots()?
            .into_iter()
            .filter(|root| new_path.starts_with(&root.path))
            .max_by_key(|root| root.path.components().count())
            .ok_or_else(|| Error::NotUnderRoot {
                catalog: self.path.to_owned(),
                path: new_path.to_owned(),
            })?;
        let changed = self
            .conn
            .execute(
                "UPDATE files SET path = ?1, path_text = ?2, root_id = ?3 WHERE id = ?4",
                params![
                    path_to_bytes(new_path),
                    new_path.to_string_lossy(),
                    root.id.0,
                    id.0
                ],
            )
            .map_err(self.err(WHAT))?;
        if changed == 0 {
            return Err(self.corrupt(format!("no file with id {} to move", id.0)));
        }
        self.refresh_fts(id)
    }

    /// Updates the size and modification time recorded for a file, as after
    /// a move that changed them (a copy and delete) but not its content.
    pub fn set_file_stat(&self, id: FileId, size: u64, mtime_ns: i64) -> Result<()> {
        const WHAT: &str = "update a file's size and time";
        self.check_writable(WHAT)?;
        let changed = self
            .conn
            .execute(
                "UPDATE files SET size = ?1, mtime_ns = ?2 WHERE id = ?3",
                params![size as i64, mtime_ns, id.0],
            )
            .map_err(self.err(WHAT))?;
        if changed == 0 {
            return Err(self.corrupt(format!("no file with id {}", id.0)));
        }
        Ok(())
    }

    /// Stores a file's whole-file vector (replacing any), made by `model`
    /// under embedding `pipeline`, as little-endian f32; a file waiting for
    /// its vector becomes [`FileStatus::Ok`].
    pub fn set_vector(
        &self,
        id: FileId,
        model: &str,
        pipeline: &str,
        vector: &[f32],
    ) -> Result<()> {
        const WHAT: &str = "store a vector";
        self.check_writable(WHAT)?;
        self.insert_point(PointId::whole(id), None, model, pipeline, vector, WHAT)?;
        self.conn
            .execute(
                "UPDATE files SET status = 'ok', error = NULL WHERE id = ?1 AND status = 'waiting'",
                [id.0],
            )
            .map_err(self.err(WHAT))?;
        Ok(())
    }

    /// Replaces the moment vectors of a file (segments 1 on, in the order
    /// given) with `moments`; an empty slice removes them. At most
    /// [`PointId::MAX_SEGMENTS`]` - 1` are kept.
    pub fn set_moments(
        &self,
        id: FileId,
        model: &str,
        pipeline: &str,
        moments: &[MomentVector],
    ) -> Result<()> {
        const WHAT: &str = "store moment vectors";
        self.check_writable(WHAT)?;
        self.conn
            .prepare_cached("DELETE FROM vectors WHERE file_id = ?1 AND segment > 0")
            .and_then(|mut s| s.execute([id.0]))
            .map_err(self.err(WHAT))?;
        let kept = moments.len().min(PointId::MAX_SEGMENTS as usize - 1);
        for (i, m) in moments[..kept].iter().enumerate() {
            let point = PointId::new(id, i as u32 + 1);
            let span = Some((m.start_s, m.end_s));
            self.insert_point(point, span, model, pipeline, &m.data, WHAT)?;
        }
        Ok(())
    }

    fn insert_point(
        &self,
        point: PointId,
        span: Option<(f64, f64)>,
        model: &str,
        pipeline: &str,
        vector: &[f32],
        what: &'static str,
    ) -> Result<()> {
        let data: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO vectors
                    (point, file_id, segment, start_s, end_s, model, pipeline, dim, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    point.0,
                    point.file().0,
                    point.segment(),
                    span.map(|s| s.0),
                    span.map(|s| s.1),
                    model,
                    pipeline,
                    vector.len() as i64,
                    data
                ])
            })
            .map_err(self.err(what))?;
        Ok(())
    }

    /// The moments of a file with a vector of `model` under `pipeline`:
    /// (point, start, end) in segment order.
    pub fn moments(
        &self,
        id: FileId,
        model: &str,
        pipeline: &str,
    ) -> Result<Vec<(PointId, f64, f64)>> {
        const WHAT: &str = "list moments";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT point, start_s, end_s FROM vectors
                 WHERE file_id = ?1 AND segment > 0 AND model = ?2 AND pipeline = ?3
                 ORDER BY segment",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map(params![id.0, model, pipeline], |r| {
                Ok((PointId(r.get(0)?), r.get(1)?, r.get(2)?))
            })
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Where each of `points` starts in its file, in seconds: 0 for a
    /// whole-file point, the moment's start otherwise. Points not in the
    /// catalog are left out.
    pub fn point_starts(&self, points: &[PointId]) -> Result<Vec<(PointId, f64)>> {
        const WHAT: &str = "read moment starts";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT coalesce(start_s, 0) FROM vectors WHERE point = ?1")
            .map_err(self.err(WHAT))?;
        let mut out = Vec::with_capacity(points.len());
        for &p in points {
            let start: Option<f64> = stmt
                .query_row([p.0], |r| r.get(0))
                .optional()
                .map_err(self.err(WHAT))?;
            if let Some(start) = start {
                out.push((p, start));
            }
        }
        Ok(out)
    }

    /// A file's vector, whatever model made it.
    pub fn vector(&self, id: FileId) -> Result<Option<StoredVector>> {
        const WHAT: &str = "read a vector";
        let row: Option<(String, String, i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT model, pipeline, dim, data FROM vectors WHERE point = ?1",
                [PointId::whole(id).0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.err(WHAT))?;
        let Some((model, pipeline, dim, bytes)) = row else {
            return Ok(None);
        };
        let mut data = Vec::new();
        self.decode_vector(PointId::whole(id), dim, &bytes, &mut data)?;
        Ok(Some(StoredVector {
            model,
            pipeline,
            data,
        }))
    }

    fn decode_vector(&self, id: PointId, dim: i64, bytes: &[u8], out: &mut Vec<f32>) -> Result<()> {
        if dim < 0 || bytes.len() as u64 != 4 * dim as u64 {
            return Err(self.corrupt(format!(
                "vector {} (segment {} of file {}) has {} bytes for dimension {dim}",
                id.0,
                id.segment(),
                id.file().0,
                bytes.len()
            )));
        }
        out.clear();
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        Ok(())
    }

    /// Calls `f` with every vector made by `model` under `pipeline`, whole
    /// files and moments, in point order, without holding them all in
    /// memory.
    pub fn vectors(
        &self,
        model: &str,
        pipeline: &str,
        f: impl FnMut(PointId, &[f32]),
    ) -> Result<()> {
        const WHAT: &str = "read vectors";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT point, dim, data FROM vectors
                 WHERE model = ?1 AND pipeline = ?2 ORDER BY point",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query(params![model, pipeline])
            .map_err(self.err(WHAT))?;
        self.each_vector(rows, WHAT, f)
    }

    /// The vector sequence: the last number handed out, and the number
    /// through which tombstones were pruned (see `index-format.md`).
    pub(crate) fn seq_state(&self) -> Result<(i64, i64)> {
        self.conn
            .query_row(
                "SELECT last, pruned_through FROM vector_seq WHERE id = 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.err("read the vector sequence"))
    }

    /// How many vectors `model` made under `pipeline`, and how many of
    /// them have a sequence number above `after`.
    ///
    /// Here and in [`Tx::vectors_after`], `+model` keeps SQLite from
    /// answering `seq > ?` through the `(model, pipeline)` index, which
    /// visits every vector row (2 KB each: 0.7 s at 100k vectors) to find
    /// the few above `after`; `vectors_seq` visits only those.
    pub(crate) fn count_vectors(
        &self,
        model: &str,
        pipeline: &str,
        after: i64,
    ) -> Result<(usize, usize)> {
        const WHAT: &str = "count vectors";
        let total: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM vectors WHERE model = ?1 AND pipeline = ?2")
            .and_then(|mut s| s.query_row(params![model, pipeline], |r| r.get(0)))
            .map_err(self.err(WHAT))?;
        let newer: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM vectors WHERE seq > ?3 AND +model = ?1 AND +pipeline = ?2",
            )
            .and_then(|mut s| s.query_row(params![model, pipeline, after], |r| r.get(0)))
            .map_err(self.err(WHAT))?;
        Ok((total as usize, newer as usize))
    }

    /// Calls `f` with every vector of `model`/`pipeline` whose sequence
    /// number is above `after`, in sequence order.
    pub(crate) fn vectors_after(
        &self,
        model: &str,
        pipeline: &str,
        after: i64,
        f: impl FnMut(PointId, &[f32]),
    ) -> Result<()> {
        const WHAT: &str = "read new vectors";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT point, dim, data FROM vectors
                 WHERE seq > ?3 AND +model = ?1 AND +pipeline = ?2 ORDER BY seq",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query(params![model, pipeline, after])
            .map_err(self.err(WHAT))?;
        self.each_vector(rows, WHAT, f)
    }

    /// Calls `f` with each row of `(point, dim, data)` decoded.
    fn each_vector(
        &self,
        mut rows: rusqlite::Rows<'_>,
        what: &'static str,
        mut f: impl FnMut(PointId, &[f32]),
    ) -> Result<()> {
        let mut buf = Vec::new();
        while let Some(row) = rows.next().map_err(self.err(what))? {
            let id = PointId(row.get(0).map_err(self.err(what))?);
            let dim: i64 = row.get(1).map_err(self.err(what))?;
            let bytes = row
                .get_ref(2)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(self.err(what))?;
            self.decode_vector(id, dim, bytes, &mut buf)?;
            f(id, &buf);
        }
        Ok(())
    }

    /// Points whose vector (of any model) was written or deleted after
    /// sequence number `after`: every vector an index built at `after`
    /// holds for them is out of date. Sorted, without duplicates.
    pub(crate) fn vectors_changed_after(&self, after: i64) -> Result<Vec<PointId>> {
        const WHAT: &str = "list changed vectors";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT point FROM vectors WHERE seq > ?1
                 UNION ALL SELECT point FROM vector_tombstones WHERE seq > ?1",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([after], |r| r.get(0).map(PointId))
            .map_err(self.err(WHAT))?;
        let mut ids: Vec<PointId> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))?;
        // Sorted here: an ORDER BY or UNION in SQL makes SQLite scan the
        // whole vectors table instead of the few rows above `after`.
        ids.sort_unstable_by_key(|id| id.0);
        ids.dedup();
        Ok(ids)
    }

    /// Files that need a vector from `model` under `pipeline`: not failed,
    /// and without one (or with one from another model or pipeline).
    pub fn files_waiting_for_vectors(
        &self,
        model: &str,
        pipeline: &str,
    ) -> Result<Vec<(FileId, PathBuf)>> {
        const WHAT: &str = "list files waiting for vectors";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.id, f.path FROM files f
                 LEFT JOIN vectors v ON v.point = f.id * 1048576 AND v.model = ?1 AND v.pipeline = ?2
                 WHERE f.status != 'failed' AND v.point IS NULL ORDER BY f.id",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map(params![model, pipeline], |r| {
                Ok((FileId(r.get(0)?), bytes_to_path(r.get(1)?)))
            })
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Full-text search over file names, folder names and tags, best
    /// match first, at most `limit` hits. The query is plain words, split
    /// like names ([`split_words`]); a file must contain every word. Names
    /// weigh most, then folders, then tags.
    pub fn fts_search(&self, query: &str, limit: usize) -> Result<Vec<FtsHit>> {
        const WHAT: &str = "search names and tags";
        let words: Vec<String> = split_words(query)
            .into_iter()
            // A word of punctuation only would be an empty FTS5 phrase.
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect();
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let (name, folder, tags) = BM25_WEIGHTS;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT rowid, bm25(files_fts, ?1, ?2, ?3) AS rank FROM files_fts
                 WHERE files_fts MATCH ?4 ORDER BY rank LIMIT ?5",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map(
                params![name, folder, tags, words.join(" AND "), limit as i64],
                |r| {
                    Ok(FtsHit {
                        id: FileId(r.get(0)?),
                        score: -r.get::<_, f64>(1)?,
                    })
                },
            )
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// File counts by status, and how many have a vector.
    pub fn counts(&self) -> Result<Counts> {
        const WHAT: &str = "count files";
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM files),
                        (SELECT count(*) FROM vectors WHERE segment = 0),
                        (SELECT count(*) FROM files WHERE status = 'waiting'),
                        (SELECT count(*) FROM files WHERE status = 'failed'),
                        (SELECT count(*) FROM vectors WHERE segment > 0)",
                [],
                |r| {
                    Ok(Counts {
                        files: r.get::<_, i64>(0)? as u64,
                        embedded: r.get::<_, i64>(1)? as u64,
                        waiting: r.get::<_, i64>(2)? as u64,
                        failed: r.get::<_, i64>(3)? as u64,
                        moments: r.get::<_, i64>(4)? as u64,
                    })
                },
            )
            .map_err(self.err(WHAT))
    }

    /// How many files each root has, for every root (0 for an empty one).
    pub fn files_per_root(&self) -> Result<Vec<(RootId, u64)>> {
        const WHAT: &str = "count files per root";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.id, (SELECT count(*) FROM files f WHERE f.root_id = r.id)
                 FROM roots r ORDER BY r.id",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([], |r| Ok((RootId(r.get(0)?), r.get::<_, i64>(1)? as u64)))
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Every failed file with its cause, by path.
    pub fn failed_files(&self) -> Result<Vec<FailedFile>> {
        const WHAT: &str = "list failed files";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, path, coalesce(error, '') FROM files
                 WHERE status = 'failed' ORDER BY path_text",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FailedFile {
                    id: FileId(r.get(0)?),
                    path: bytes_to_path(r.get(1)?),
                    error: r.get(2)?,
                })
            })
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// A value from the `meta` table (model, pipeline, last run, ...).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.err("read meta"))
    }

    /// Sets a value in the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.check_writable("write meta")?;
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map_err(self.err("write meta"))?;
        Ok(())
    }
}

/// The words of the folders between `root` and the file, with the root's
/// own name first (`Boom Library/Doors/Wood` → `boom library doors wood`).
fn folder_tokens(root: &Path, path: &Path) -> String {
    let parent = path.parent().unwrap_or(Path::new(""));
    let relative = parent.strip_prefix(root).unwrap_or(parent);
    root.file_name()
        .into_iter()
        .chain(relative.iter())
        .map(|c| name_tokens(&c.to_string_lossy()))
        .filter(|t| !t.is_empty() && t != "/")
        .collect::<Vec<_>>()
        .join(" ")
}

/// Tags as a JSON array of `[key, value]` pairs, in order.
fn tags_to_json(tags: &[(String, String)]) -> String {
    fn string(out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    let mut out = String::from("[");
    for (i, (key, value)) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        string(&mut out, key);
        out.push(',');
        string(&mut out, value);
        out.push(']');
    }
    out.push(']');
    out
}

/// Peaks as interleaved (min, max) bytes.
fn peaks_to_bytes(peaks: &[(i8, i8)]) -> Vec<u8> {
    peaks
        .iter()
        .flat_map(|&(min, max)| [min as u8, max as u8])
        .collect()
}

fn bytes_to_peaks(bytes: &[u8]) -> Vec<(i8, i8)> {
    bytes
        .chunks_exact(2)
        .map(|p| (p[0] as i8, p[1] as i8))
        .collect()
}

#[cfg(unix)]
fn path_to_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(unix)]
fn bytes_to_path(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    std::ffi::OsString::from_vec(bytes).into()
}

// Elsewhere paths are stored as UTF-8; a path that is not valid Unicode
// is stored lossily (hark targets unix first).
#[cfg(not(unix))]
fn path_to_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(not(unix))]
fn bytes_to_path(bytes: Vec<u8>) -> PathBuf {
    String::from_utf8_lossy(&bytes).into_owned().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_from_each_older_version() {
        for version in 1..=SCHEMA_VERSION {
            let dir = tempfile::tempdir().unwrap();
            {
                let conn = Catalog::create_at_version(dir.path(), version).unwrap();
                assert_eq!(schema::version(&conn).unwrap(), version);
                // Data as version 1 wrote it must survive every upgrade.
                conn.execute(
                    "INSERT INTO roots (path, added_at) VALUES (CAST('/lib' AS BLOB), 7)",
                    [],
                )
                .unwrap();
            }
            let catalog = Catalog::open(dir.path()).unwrap();
            assert_eq!(schema::version(&catalog.conn).unwrap(), SCHEMA_VERSION);
            let roots = catalog.roots().unwrap();
            assert_eq!(roots.len(), 1);
            assert_eq!(roots[0].path, Path::new("/lib"));
            assert_eq!(roots[0].added_at, 7);
        }
    }

    #[test]
    fn version_2_vectors_and_tombstones_become_whole_file_points() {
        let dir = tempfile::tempdir().unwrap();
        let v = |x: f32| -> Vec<u8> { [x, 0.0].iter().flat_map(|f| f.to_le_bytes()).collect() };
        {
            let conn = Catalog::create_at_version(dir.path(), 2).unwrap();
            conn.execute_batch(
                "INSERT INTO roots (id, path, added_at) VALUES (1, CAST('/lib' AS BLOB), 1);
                 INSERT INTO files (id, root_id, path, path_text, size, mtime_ns, status, indexed_at)
                 VALUES (5, 1, CAST('/lib/a.wav' AS BLOB), '/lib/a.wav', 1, 1, 'ok', 1),
                        (9, 1, CAST('/lib/b.wav' AS BLOB), '/lib/b.wav', 1, 1, 'ok', 1);",
            )
            .unwrap();
            for (id, x) in [(5, 1.0f32), (9, 2.0), (7, 3.0)] {
                if id == 7 {
                    conn.execute_batch(
                        "INSERT INTO files (id, root_id, path, path_text, size, mtime_ns, status, indexed_at)
                         VALUES (7, 1, CAST('/lib/c.wav' AS BLOB), '/lib/c.wav', 1, 1, 'ok', 1)",
                    )
                    .unwrap();
                }
                conn.execute(
                    "INSERT INTO vectors (file_id, model, pipeline, dim, data) VALUES (?1, 'm', 'p', 2, ?2)",
                    params![id, v(x)],
                )
                .unwrap();
            }
            conn.execute("DELETE FROM files WHERE id = 7", []).unwrap();
        }
        let mut catalog = Catalog::open(dir.path()).unwrap();
        let mut got = Vec::new();
        catalog
            .vectors("m", "p", |id, v| got.push((id, v.to_vec())))
            .unwrap();
        assert_eq!(
            got,
            vec![
                (PointId::whole(FileId(5)), vec![1.0, 0.0]),
                (PointId::whole(FileId(9)), vec![2.0, 0.0])
            ]
        );
        let (last, _) = catalog.read(|tx| tx.seq_state()).unwrap();
        let changed = catalog.read(|tx| tx.vectors_changed_after(0)).unwrap();
        assert!(changed.contains(&PointId::whole(FileId(7))), "{changed:?}");
        // The triggers number moments too, and a file's removal takes them.
        let moment = MomentVector {
            start_s: 10.0,
            end_s: 20.0,
            data: vec![0.0, 1.0],
        };
        catalog
            .transaction(|tx| tx.set_moments(FileId(5), "m", "p", &[moment.clone(), moment]))
            .unwrap();
        let moments = catalog.read(|tx| tx.moments(FileId(5), "m", "p")).unwrap();
        assert_eq!(
            moments,
            vec![
                (PointId::new(FileId(5), 1), 10.0, 20.0),
                (PointId::new(FileId(5), 2), 10.0, 20.0)
            ]
        );
        let after = catalog.read(|tx| tx.vectors_changed_after(last)).unwrap();
        assert_eq!(after, vec![moments[0].0, moments[1].0]);
        assert_eq!(catalog.counts().unwrap().embedded, 2);
        catalog
            .transaction(|tx| tx.remove_files(&[FileId(5)]))
            .unwrap();
        let (last2, _) = catalog.read(|tx| tx.seq_state()).unwrap();
        let gone = catalog
            .read(|tx| tx.vectors_changed_after(last2 - 3))
            .unwrap();
        assert_eq!(
            gone,
            vec![PointId::whole(FileId(5)), moments[0].0, moments[1].0]
        );
    }

    #[test]
    fn fresh_file_migrates_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Catalog::create_at_version(dir.path(), 0).unwrap();
        assert_eq!(schema::version(&conn).unwrap(), 0);
        drop(conn);
        let catalog = Catalog::open(dir.path()).unwrap();
        assert_eq!(schema::version(&catalog.conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn readonly_refuses_older_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(Catalog::create_at_version(dir.path(), 0).unwrap());
        match Catalog::open_readonly(dir.path()) {
            Err(Error::TooOld {
                found, supported, ..
            }) => {
                assert_eq!((found, supported), (0, SCHEMA_VERSION));
            }
            other => panic!("expected TooOld, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn tags_json_escapes() {
        assert_eq!(tags_to_json(&[]), "[]");
        assert_eq!(
            tags_to_json(&[("a\"b".into(), "c\\d\n\u{1}é".into())]),
            r#"[["a\"b","c\\d\n\u0001é"]]"#
        );
    }

    #[test]
    fn folder_words_are_relative_to_the_root() {
        assert_eq!(
            folder_tokens(
                Path::new("/home/me/Boom Library"),
                Path::new("/home/me/Boom Library/Doors/WoodCreaks/a.wav")
            ),
            "boom library doors wood creaks woodcreaks"
        );
    }
}
